// Switchboard written complaint form: posts to /api/complaints and shows the number and the
// due date. Everything shown is set with textContent: nothing the server or the holder
// wrote is ever markup.
"use strict";

(() => {
  const STRINGS = {
    pl: {
      title: "Reklamacja", language: "Język",
      intro: "Opisz, co się stało. Odpowiemy na piśmie w ciągu {days} dni roboczych.",
      holder: "Posiadacz umowy", full_name: "Imię i nazwisko", contract_number: "Numer umowy",
      phone: "Telefon kontaktowy", email: "E-mail", email_hint: "Wyślemy na niego potwierdzenie.",
      postal_address: "Adres do korespondencji", matter: "Sprawa", topic: "Czego dotyczy",
      topic_unknown: "Nie wiem", date_from: "Data zdarzenia (lub początek)",
      date_to: "Koniec (jeśli trwało dłużej)", specialist: "Konsultant, który prowadził sprawę",
      what_happened: "Co się stało", answer_by: "Jak mamy odpowiedzieć", by_email: "E-mailem",
      by_letter: "Listownie", by_phone: "Telefonicznie",
      confirm: "Potwierdzam, że podane dane są prawdziwe.", submit: "Wyślij reklamację",
      sending: "Wysyłanie…", received: "Przyjęliśmy reklamację", number: "Numer reklamacji",
      due: "Odpowiemy najpóźniej", ack: "Potwierdzenie wysłaliśmy na adres {email}.",
      keep: "Zachowaj numer: podaj go, kontaktując się z nami w tej sprawie.",
      count: "{n} / {max} znaków",
      required: "To pole jest wymagane.", invalid: "Sprawdź to pole.",
      need_email: "Podaj e-mail, aby dostać odpowiedź e-mailem.",
      need_address: "Podaj adres, aby dostać odpowiedź listownie.",
      need_confirm: "Potwierdź, że dane są prawdziwe.", future: "Ta data jeszcze nie nastąpiła.",
      order: "Koniec nie może być przed początkiem.",
      fix: "Popraw zaznaczone pola.", too_many: "Za dużo zgłoszeń z tego adresu. Spróbuj później.",
      failed: "Nie udało się wysłać reklamacji. Spróbuj ponownie za chwilę.",
    },
    en: {
      title: "Complaint", language: "Language",
      intro: "Tell us what happened. We will answer in writing within {days} business days.",
      holder: "Contract holder", full_name: "Full name", contract_number: "Contract number",
      phone: "Contact phone", email: "Email", email_hint: "We will send the confirmation there.",
      postal_address: "Postal address", matter: "The matter", topic: "What it is about",
      topic_unknown: "Not sure", date_from: "Date (or start) of what happened",
      date_to: "End (if it lasted longer)", specialist: "Specialist who handled it",
      what_happened: "What happened", answer_by: "How should we answer", by_email: "By email",
      by_letter: "By letter", by_phone: "By phone",
      confirm: "I confirm that these details are true.", submit: "Send the complaint",
      sending: "Sending…", received: "We have received your complaint",
      number: "Complaint number", due: "We will answer by",
      ack: "We have sent a confirmation to {email}.",
      keep: "Keep the number: give it whenever you contact us about this matter.",
      count: "{n} / {max} characters",
      required: "This field is required.", invalid: "Please check this field.",
      need_email: "Give an email to get the answer by email.",
      need_address: "Give a postal address to get the answer by letter.",
      need_confirm: "Please confirm that the details are true.",
      future: "This date has not come yet.", order: "The end cannot be before the start.",
      fix: "Please correct the marked fields.",
      too_many: "Too many complaints from this address. Please try later.",
      failed: "The complaint could not be sent. Please try again in a moment.",
    },
    ru: {
      title: "Жалоба", language: "Язык",
      intro: "Опишите, что произошло. Мы ответим письменно в течение {days} рабочих дней.",
      holder: "Владелец договора", full_name: "ФИО", contract_number: "Номер договора",
      phone: "Контактный телефон", email: "Эл. почта",
      email_hint: "На неё придёт подтверждение.",
      postal_address: "Почтовый адрес", matter: "Суть дела", topic: "Чего касается",
      topic_unknown: "Не знаю", date_from: "Дата события (или начало)",
      date_to: "Окончание (если длилось дольше)", specialist: "Специалист, который вёл обращение",
      what_happened: "Что произошло", answer_by: "Как нам ответить",
      by_email: "По электронной почте", by_letter: "Письмом", by_phone: "По телефону",
      confirm: "Подтверждаю, что указанные данные верны.", submit: "Отправить жалобу",
      sending: "Отправка…", received: "Мы приняли жалобу", number: "Номер жалобы",
      due: "Ответим не позднее", ack: "Подтверждение отправлено на {email}.",
      keep: "Сохраните номер: называйте его, обращаясь к нам по этому делу.",
      count: "{n} / {max} символов",
      required: "Это поле обязательно.", invalid: "Проверьте это поле.",
      need_email: "Укажите эл. почту, чтобы получить ответ по ней.",
      need_address: "Укажите почтовый адрес, чтобы получить ответ письмом.",
      need_confirm: "Подтвердите, что данные верны.", future: "Эта дата ещё не наступила.",
      order: "Окончание не может быть раньше начала.",
      fix: "Исправьте отмеченные поля.",
      too_many: "Слишком много жалоб с этого адреса. Попробуйте позже.",
      failed: "Не удалось отправить жалобу. Попробуйте ещё раз через минуту.",
    },
    he: {
      title: "תלונה", language: "שפה",
      intro: "ספרו לנו מה קרה. נשיב בכתב תוך {days} ימי עבודה.",
      holder: "בעל/ת החוזה", full_name: "שם מלא", contract_number: "מספר חוזה",
      phone: "טלפון ליצירת קשר", email: "דואר אלקטרוני", email_hint: "נשלח אליו אישור.",
      postal_address: "כתובת למשלוח דואר", matter: "הפנייה", topic: "במה מדובר",
      topic_unknown: "לא בטוח/ה", date_from: "תאריך האירוע (או תחילתו)",
      date_to: "סיום (אם נמשך יותר)", specialist: "הנציג/ה שטיפל/ה בפנייה",
      what_happened: "מה קרה", answer_by: "כיצד להשיב", by_email: "בדואר אלקטרוני",
      by_letter: "בדואר", by_phone: "בטלפון",
      confirm: "אני מאשר/ת שהפרטים נכונים.", submit: "שליחת התלונה",
      sending: "שולח…", received: "קיבלנו את התלונה", number: "מספר התלונה",
      due: "נשיב לכל המאוחר עד", ack: "שלחנו אישור אל {email}.",
      keep: "שמרו את המספר וציינו אותו בכל פנייה בעניין זה.",
      count: "{n} / {max} תווים",
      required: "שדה חובה.", invalid: "נא לבדוק שדה זה.",
      need_email: "נא למסור דואר אלקטרוני כדי לקבל תשובה בדואר אלקטרוני.",
      need_address: "נא למסור כתובת כדי לקבל תשובה בדואר.",
      need_confirm: "נא לאשר שהפרטים נכונים.", future: "תאריך זה עוד לא הגיע.",
      order: "הסיום אינו יכול להיות לפני ההתחלה.",
      fix: "נא לתקן את השדות המסומנים.",
      too_many: "יותר מדי תלונות מכתובת זו. נסו שוב מאוחר יותר.",
      failed: "לא ניתן היה לשלוח את התלונה. נסו שוב בעוד רגע.",
    },
  };
  const RTL = new Set(["he"]);
  const KEY_LANGUAGE = "switchboard.complaint.language";
  const FIELDS = ["full_name", "contract_number", "phone", "email", "postal_address", "topic",
    "date_from", "date_to", "specialist", "what_happened", "answer_by", "confirm"];

  const $ = (id) => document.getElementById(id);
  const storage = {
    get(key) { try { return window.localStorage.getItem(key); } catch { return null; } },
    set(key, value) { try { window.localStorage.setItem(key, value); } catch { /* private */ } },
  };

  const state = {
    language: pickLanguage(),
    teams: [],
    days: 14,
    maxChars: 5000,
    requestId: newRequestId(),
    problems: {},     // field -> i18n key, or {text} from the server
    receipt: null,
    error: null,      // i18n key of the form's error line
  };

  function pickLanguage() {
    const wanted = [new URLSearchParams(window.location.search).get("lang"), storage.get(KEY_LANGUAGE),
      ...(navigator.languages || [navigator.language])];
    for (const code of wanted) {
      const short = String(code || "").slice(0, 2).toLowerCase();
      if (Object.hasOwn(STRINGS, short)) return short;
    }
    return "pl";
  }

  function newRequestId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function t(key, params) {
    let text = (STRINGS[state.language] || STRINGS.pl)[key] || STRINGS.en[key] || key;
    for (const [name, value] of Object.entries(params || {})) text = text.replaceAll(`{${name}}`, String(value));
    return text;
  }

  // -- language ---------------------------------------------------------------------------
  function applyLanguage(language) {
    state.language = language;
    storage.set(KEY_LANGUAGE, language);
    const root = document.documentElement;
    root.lang = language;
    root.dir = RTL.has(language) ? "rtl" : "ltr";
    $("language").value = language;
    document.title = t("title");
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    $("intro").textContent = t("intro", { days: state.days });
    renderTeams();
    renderCount();
    renderProblems();
    renderReceipt();
  }

  function teamName(team) {
    return team.names[state.language] || team.names.en || team.id;
  }

  function renderTeams() {
    const select = $("topic");
    const chosen = select.value;
    for (const option of Array.from(select.options).slice(1)) option.remove();
    for (const team of state.teams) {
      const option = document.createElement("option");
      option.value = team.id;
      option.textContent = teamName(team);
      select.append(option);
    }
    select.value = chosen;
  }

  function renderCount() {
    const text = $("what_happened");
    text.maxLength = state.maxChars;
    $("count").textContent = t("count", { n: text.value.length, max: state.maxChars });
  }

  // -- problems ---------------------------------------------------------------------------
  function renderProblems() {
    for (const field of FIELDS) {
      const problem = state.problems[field];
      const line = $(`${field}-problem`);
      const input = field === "answer_by" ? null : $(field);
      if (input) {
        // The field's own description (a hint, the count) and, while there is one, its problem.
        const own = input.dataset.describedby ?? (input.dataset.describedby = input.getAttribute("aria-describedby") || "");
        const describedBy = [own, problem ? line.id : ""].filter(Boolean).join(" ");
        if (describedBy) input.setAttribute("aria-describedby", describedBy);
        else input.removeAttribute("aria-describedby");
        input.setAttribute("aria-invalid", problem ? "true" : "false");
      }
      if (!problem) { line.hidden = true; line.textContent = ""; continue; }
      line.textContent = typeof problem === "string" ? t(problem) : problem.text;
      line.hidden = false;
    }
    const error = $("error");
    error.hidden = !state.error;
    error.textContent = state.error ? t(state.error) : "";
  }

  function today() {
    const now = new Date();
    const local = new Date(now.getTime() - now.getTimezoneOffset() * 60000);
    return local.toISOString().slice(0, 10);
  }

  function value(id) {
    const text = $(id).value.trim();
    return text === "" ? null : text;
  }

  function answerBy() {
    const chosen = document.querySelector("input[name=answer_by]:checked");
    return chosen ? chosen.value : "email";
  }

  // What the page can tell before asking the server (the server checks all of it again).
  function localProblems(body) {
    const problems = {};
    for (const field of ["full_name", "contract_number", "phone", "date_from", "what_happened"]) {
      if (!body[field]) problems[field] = "required";
    }
    for (const field of ["full_name", "contract_number", "phone", "email", "what_happened"]) {
      if (!problems[field] && body[field] !== null && !$(field).checkValidity()) problems[field] = "invalid";
    }
    if (body.answer_by === "email" && !body.email) problems.email = "need_email";
    if (body.answer_by === "letter" && !body.postal_address) problems.postal_address = "need_address";
    if (body.date_from && body.date_from > today()) problems.date_from = "future";
    if (body.date_to && body.date_to > today()) problems.date_to = "future";
    if (body.date_from && body.date_to && body.date_to < body.date_from) problems.date_to = "order";
    if (!body.confirm) problems.confirm = "need_confirm";
    return problems;
  }

  function collect() {
    return {
      full_name: value("full_name"),
      contract_number: value("contract_number"),
      phone: value("phone"),
      email: value("email"),
      postal_address: value("postal_address"),
      topic: value("topic"),
      date_from: value("date_from"),
      date_to: value("date_to"),
      specialist: value("specialist"),
      what_happened: value("what_happened"),
      answer_by: answerBy(),
      confirm: $("confirm").checked,
      language: state.language,
      request_id: state.requestId,
    };
  }

  function focusFirstProblem() {
    const first = FIELDS.find((field) => state.problems[field]);
    if (!first) return;
    const input = first === "answer_by" ? document.querySelector("input[name=answer_by]") : $(first);
    if (input) input.focus();
  }

  // -- sending ----------------------------------------------------------------------------
  async function submit(event) {
    event.preventDefault();
    const body = collect();
    state.problems = localProblems(body);
    state.error = Object.keys(state.problems).length ? "fix" : null;
    renderProblems();
    if (state.error) { focusFirstProblem(); return; }
    const button = $("submit");
    button.disabled = true;
    button.textContent = t("sending");
    try {
      const response = await fetch("/api/complaints", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        state.receipt = { ...answer, email: body.email };
        renderReceipt();
        return;
      }
      if (response.status === 422 && answer.fields) {
        state.problems = {};
        for (const [field, text] of Object.entries(answer.fields)) {
          state.problems[FIELDS.includes(field) ? field : "what_happened"] = { text: String(text) };
        }
        state.error = "fix";
      } else {
        state.error = response.status === 429 ? "too_many" : "failed";
      }
      renderProblems();
      focusFirstProblem();
    } catch {
      state.error = "failed";  // the same request_id: sending again stores it once
      renderProblems();
    } finally {
      button.disabled = false;
      button.textContent = t("submit");
    }
  }

  function formatDate(iso) {
    const [year, month, day] = String(iso || "").split("-").map(Number);
    if (!year) return String(iso || "");
    const date = new Date(Date.UTC(year, month - 1, day));
    return new Intl.DateTimeFormat(state.language, { dateStyle: "long", timeZone: "UTC" }).format(date);
  }

  function renderReceipt() {
    const receipt = state.receipt;
    $("receipt").hidden = !receipt;
    $("complaint-form").hidden = Boolean(receipt);
    if (!receipt) return;
    $("receipt-number").textContent = receipt.number;
    const due = $("receipt-due");
    due.textContent = formatDate(receipt.due_date);
    due.title = receipt.due_date;
    const ack = $("receipt-ack");
    ack.hidden = receipt.acknowledged_by !== "email";
    ack.textContent = ack.hidden ? "" : t("ack", { email: receipt.email || "" });
  }

  async function loadForm() {
    try {
      const response = await fetch("/api/complaints/form");
      if (!response.ok) return;
      const form = await response.json();
      state.teams = Array.isArray(form.teams) ? form.teams : [];
      state.days = Number(form.due_business_days) || state.days;
      state.maxChars = Number(form.max_text_chars) || state.maxChars;
      applyLanguage(state.language);
    } catch { /* the form works without the team list: the text decides the team */ }
  }

  // -- start ------------------------------------------------------------------------------
  $("language").addEventListener("change", (event) => applyLanguage(event.target.value));
  $("what_happened").addEventListener("input", renderCount);
  $("complaint-form").addEventListener("submit", submit);
  // A field's problem goes as it is corrected (on input: a problem that went on blur
  // would move the page under the pointer as the next field is clicked).
  for (const field of FIELDS) {
    const input = field === "answer_by" ? $("answer_by") : $(field);
    input.addEventListener("input", () => {
      if (!state.problems[field]) return;
      delete state.problems[field];
      renderProblems();
    });
  }
  $("date_from").max = today();
  $("date_to").max = today();
  applyLanguage(state.language);
  loadForm();
  document.body.dataset.ready = "1";
})();
