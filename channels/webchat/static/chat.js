// Switchboard customer chat: a small client of the /chat/ws protocol (see channels/webchat.py).
// Everything shown is set with textContent: what customers and agents write is never markup.
"use strict";

(() => {
  const STRINGS = {
    pl: {
      title: "Czat z obsługą klienta", language: "Język", conversation: "Rozmowa",
      intro: "Napisz, w czym możemy pomóc.", message: "Twoja wiadomość",
      placeholder: "Napisz wiadomość…", send: "Wyślij",
      hint: "Enter wysyła, Shift+Enter to nowa linia.",
      connecting: "Łączenie…", online: "Połączono", offline: "Brak połączenia — łączymy ponownie…",
      busy: "Z Twojej sieci otwarto zbyt wiele czatów — spróbujemy ponownie za chwilę.",
      you: "Ty", agent: "Konsultant", system: "Asystent",
      sending: "Wysyłanie…", delivered: "Dostarczono", failed: "Nie wysłano", retry: "Ponów",
      queued: "Miejsce w kolejce: {position} · około {wait} min",
      joined: "{author} dołącza do rozmowy.", typing: "{author} pisze…",
      closed: "Rozmowa została zakończona. Napisz, aby rozpocząć nową.",
      too_long: "Wiadomość jest za długa (najwyżej {max} znaków).",
      rate_limited: "Za dużo wiadomości naraz — wyślemy ją ponownie za chwilę.",
      error: "Nie udało się wysłać wiadomości.",
    },
    en: {
      title: "Customer support chat", language: "Language", conversation: "Conversation",
      intro: "Tell us how we can help.", message: "Your message",
      placeholder: "Write a message…", send: "Send",
      hint: "Enter sends, Shift+Enter starts a new line.",
      connecting: "Connecting…", online: "Connected", offline: "Connection lost — reconnecting…",
      busy: "Too many chats are open from your network — we will try again shortly.",
      you: "You", agent: "Agent", system: "Assistant",
      sending: "Sending…", delivered: "Delivered", failed: "Not sent", retry: "Retry",
      queued: "Place in queue: {position} · about {wait} min",
      joined: "{author} has joined the conversation.", typing: "{author} is typing…",
      closed: "This conversation has ended. Write to start a new one.",
      too_long: "The message is too long (at most {max} characters).",
      rate_limited: "Too many messages at once — we will send it again in a moment.",
      error: "The message could not be sent.",
    },
    ru: {
      title: "Чат службы поддержки", language: "Язык", conversation: "Разговор",
      intro: "Напишите, чем мы можем помочь.", message: "Ваше сообщение",
      placeholder: "Напишите сообщение…", send: "Отправить",
      hint: "Enter — отправить, Shift+Enter — новая строка.",
      connecting: "Подключение…", online: "Подключено", offline: "Нет соединения — переподключаемся…",
      busy: "Из вашей сети открыто слишком много чатов — попробуем снова через минуту.",
      you: "Вы", agent: "Специалист", system: "Ассистент",
      sending: "Отправка…", delivered: "Доставлено", failed: "Не отправлено", retry: "Повторить",
      queued: "Место в очереди: {position} · около {wait} мин",
      joined: "{author} подключается к разговору.", typing: "{author} печатает…",
      closed: "Разговор завершён. Напишите, чтобы начать новый.",
      too_long: "Сообщение слишком длинное (не более {max} символов).",
      rate_limited: "Слишком много сообщений — отправим его снова через минуту.",
      error: "Не удалось отправить сообщение.",
    },
    he: {
      title: "צ'אט שירות לקוחות", language: "שפה", conversation: "שיחה",
      intro: "כתבו לנו במה נוכל לעזור.", message: "ההודעה שלך",
      placeholder: "כתבו הודעה…", send: "שליחה",
      hint: "Enter שולח, Shift+Enter שורה חדשה.",
      connecting: "מתחבר…", online: "מחובר", offline: "החיבור אבד — מתחבר מחדש…",
      busy: "יותר מדי שיחות פתוחות מהרשת שלך — ננסה שוב בעוד רגע.",
      you: "את/ה", agent: "נציג/ה", system: "עוזר",
      sending: "שולח…", delivered: "נמסר", failed: "לא נשלח", retry: "שליחה חוזרת",
      queued: "מקום בתור: {position} · כ-{wait} דקות",
      joined: "{author} הצטרף/ה לשיחה.", typing: "{author} מקליד/ה…",
      closed: "השיחה הסתיימה. כתבו כדי להתחיל שיחה חדשה.",
      too_long: "ההודעה ארוכה מדי (עד {max} תווים).",
      rate_limited: "יותר מדי הודעות בבת אחת — נשלח אותה שוב בעוד רגע.",
      error: "לא ניתן היה לשלוח את ההודעה.",
    },
  };
  const RTL = new Set(["he"]);
  const KEY_SESSION = "switchboard.chat.session";
  const KEY_LANGUAGE = "switchboard.chat.language";
  const ACK_TIMEOUT_MS = 15000;
  const TYPING_EVERY_MS = 2500;

  const $ = (id) => document.getElementById(id);
  const els = {
    conn: $("conn"), queue: $("queue"), log: $("log"), intro: $("intro"), typing: $("typing"),
    form: $("composer"), text: $("text"), send: $("send"), language: $("language"),
  };

  const storage = {
    get(key) { try { return window.localStorage.getItem(key); } catch { return null; } },
    set(key, value) { try { window.localStorage.setItem(key, value); } catch { /* private mode */ } },
  };

  const state = {
    language: pickLanguage(),
    token: storage.get(KEY_SESSION),
    ws: null,
    ready: false,
    backoffMs: 500,
    maxChars: 2000,
    pending: new Map(),   // frame id -> {text, node, timer}
    replayed: new Set(),  // frame ids acked twice: their prompts are already shown
    shown: new Set(),     // ids of agent replies on screen
    queue: null,          // {position, wait} while queued
    joined: null,         // the agent announced as having joined
    connState: "connecting",
    lastTypingMs: 0,
    typingTimer: 0,
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
    els.language.value = language;
    document.title = t("title");
    for (const node of document.querySelectorAll("[data-i18n]")) {
      if (node !== els.conn) node.textContent = t(node.dataset.i18n);
    }
    for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
      node.placeholder = t(node.dataset.i18nPlaceholder);
    }
    setConn(state.connState);
    renderQueue();
    for (const node of els.log.querySelectorAll(".msg")) {
      node.querySelector(".who").textContent = who(node.dataset.from, node.dataset.author);
      const status = node.querySelector(".status");
      if (status && node.dataset.status) status.textContent = t(node.dataset.status);
      const retry = node.querySelector(".retry");
      if (retry) retry.textContent = t("retry");
    }
  }

  function setConn(which) {
    state.connState = which;
    els.conn.dataset.state = which;
    els.conn.textContent = t(which);
  }

  function renderQueue() {
    if (!state.queue) { els.queue.hidden = true; els.queue.textContent = ""; return; }
    els.queue.textContent = t("queued", state.queue);
    els.queue.hidden = false;
  }

  // -- the log ----------------------------------------------------------------------------
  function who(from, author) {
    if (from === "customer") return t("you");
    if (from === "agent") return author || t("agent");
    return t("system");
  }

  function formatTime(at) {
    const date = at ? new Date(at) : new Date();
    if (Number.isNaN(date.getTime())) return "";
    return new Intl.DateTimeFormat(state.language, { hour: "2-digit", minute: "2-digit" }).format(date);
  }

  function nearBottom() {
    return els.log.scrollHeight - els.log.scrollTop - els.log.clientHeight < 80;
  }

  function addMessage(from, text, { author = null, at = null, id = null } = {}) {
    const stick = nearBottom();
    const item = document.createElement("div");
    item.className = `msg msg-${from}`;
    item.dataset.from = from;
    if (author) item.dataset.author = author;
    if (id) item.dataset.id = id;
    const whoLine = document.createElement("p");
    whoLine.className = "who";
    whoLine.textContent = who(from, author);
    const body = document.createElement("p");
    body.className = "text";
    body.dir = "auto";
    body.textContent = text;
    const meta = document.createElement("p");
    meta.className = "meta";
    const time = document.createElement("time");
    if (at) time.dateTime = at;
    time.textContent = formatTime(at);
    meta.append(time);
    if (from === "customer") {
      const status = document.createElement("span");
      status.className = "status";
      meta.append(" · ", status);
    }
    item.append(whoLine, body, meta);
    els.intro.hidden = true;
    els.log.append(item);
    if (stick || from === "customer") els.log.scrollTop = els.log.scrollHeight;
    return item;
  }

  function addNotice(text) {
    const note = document.createElement("p");
    note.className = "notice";
    note.textContent = text;
    els.intro.hidden = true;
    els.log.append(note);
    els.log.scrollTop = els.log.scrollHeight;
  }

  function setStatus(node, status) {
    node.dataset.status = status;
    const span = node.querySelector(".status");
    span.textContent = t(status);
    const old = node.querySelector(".retry");
    if (old) old.remove();
  }

  function fail(id, reason, canRetry) {
    const entry = state.pending.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    setStatus(entry.node, "failed");
    entry.node.querySelector(".status").textContent = `${t("failed")} — ${reason}`;
    if (canRetry) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "retry";
      button.textContent = t("retry");
      button.addEventListener("click", () => { setStatus(entry.node, "sending"); transmit(id); });
      entry.node.querySelector(".meta").append(button);
    } else {
      state.pending.delete(id);
    }
  }

  // -- the socket -------------------------------------------------------------------------
  function socketUrl() {
    // Relative to the page, so the chat also works under a path prefix behind a proxy.
    const url = new URL("chat/ws", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }

  function connect() {
    setConn(state.connState === "online" ? "offline" : state.connState);
    let ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch {
      reconnectLater();
      return;
    }
    state.ws = ws;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ type: "hello", session: state.token, language: state.language }));
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      if (frame && typeof frame === "object") handle(frame);
    });
    ws.addEventListener("close", (event) => {
      if (state.ws !== ws) return;
      state.ws = null;
      state.ready = false;
      // 1013: the server caps chats open from one address; say so, and try again later.
      if (event.code === 1013) state.backoffMs = Math.max(state.backoffMs, 5000);
      setConn(event.code === 1013 ? "busy" : "offline");
      reconnectLater();
    });
  }

  function reconnectLater() {
    const delay = state.backoffMs + Math.random() * 300;
    state.backoffMs = Math.min(state.backoffMs * 2, 10000);
    window.setTimeout(connect, delay);
  }

  function sendFrame(frame) {
    if (!state.ready || !state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
    state.ws.send(JSON.stringify(frame));
    return true;
  }

  function transmit(id) {
    const entry = state.pending.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    if (entry.node.dataset.status !== "sending") setStatus(entry.node, "sending");
    if (sendFrame({ type: "message", id, text: entry.text, language: state.language })) {
      // No ack in time: send the same frame again; the server stores it once.
      entry.timer = window.setTimeout(() => transmit(id), ACK_TIMEOUT_MS);
    }
  }

  function handle(frame) {
    switch (frame.type) {
      case "welcome": return welcome(frame);
      case "ack": return ack(frame);
      case "prompt":
        if (!state.replayed.has(frame.reply_to)) addMessage("system", String(frame.text ?? ""));
        return;
      case "queued":
        state.queue = { position: Number(frame.position), wait: Number(frame.wait_min) };
        return renderQueue();
      case "joined":
        return joined(frame.author);
      case "agent":
        if (frame.id && state.shown.has(frame.id)) return;
        if (frame.id) state.shown.add(frame.id);
        // No author: the router's own message (a change of the wait), not an agent joining.
        if (!frame.author) return addMessage("system", String(frame.text ?? ""), { at: frame.at, id: frame.id });
        hideTyping();
        joined(frame.author);
        addMessage("agent", String(frame.text ?? ""), { author: frame.author, at: frame.at, id: frame.id });
        return;
      case "agent_typing": return showTyping(frame.author);
      case "closed":
        state.queue = null;
        state.joined = null;
        renderQueue();
        return addNotice(t("closed"));
      case "error": return error(frame);
      default: return undefined;
    }
  }

  // The first word from an agent may come before the news that they took the chat.
  function joined(author) {
    state.queue = null;
    renderQueue();
    if (author && author !== state.joined) {
      state.joined = author;
      addNotice(t("joined", { author: String(author) }));
    }
  }

  function welcome(frame) {
    state.token = frame.session;
    storage.set(KEY_SESSION, frame.session);
    state.ready = true;
    state.backoffMs = 500;
    setConn("online");
    if (frame.limits && frame.limits.max_message_chars) {
      state.maxChars = frame.limits.max_message_chars;
      els.text.maxLength = state.maxChars;
    }
    // The server's history is the truth: draw it again, then what is still unsent.
    for (const node of els.log.querySelectorAll(".msg, .notice")) node.remove();
    state.shown.clear();
    state.queue = null;
    state.joined = null;
    renderQueue();
    for (const item of frame.history || []) {
      if (item.from === "agent" && item.id) state.shown.add(item.id);
      if (item.from === "agent") state.joined = item.author;
      const node = addMessage(item.from, String(item.text ?? ""), { author: item.author, at: item.at, id: item.id });
      node.dataset.history = "1";
      if (item.from === "customer") setStatus(node, "delivered");
    }
    els.intro.hidden = els.log.querySelector(".msg") !== null;
    for (const [id, entry] of state.pending) {
      els.log.append(entry.node);
      transmit(id);
    }
    els.log.scrollTop = els.log.scrollHeight;
  }

  function ack(frame) {
    const entry = state.pending.get(frame.id);
    if (!entry) {
      state.replayed.add(frame.id);
      return;
    }
    clearTimeout(entry.timer);
    state.pending.delete(frame.id);
    if (typeof frame.text === "string") {
      // The server keeps an auth code masked; show it the same way from now on.
      entry.node.querySelector(".text").textContent = frame.text;
      entry.text = frame.text;
    }
    if (frame.duplicate) {
      state.replayed.add(frame.id);
      // Stored before the connection dropped: the history drawn on reconnect has it already.
      const drawn = [...els.log.querySelectorAll(".msg-customer[data-history]")]
        .some((node) => node.querySelector(".text").textContent === entry.text);
      if (drawn) { entry.node.remove(); return; }
    }
    setStatus(entry.node, "delivered");
  }

  function error(frame) {
    const id = frame.id;
    if (!id || !state.pending.has(id)) return;
    const entry = state.pending.get(id);
    clearTimeout(entry.timer);
    if (frame.reason === "rate_limited") {
      entry.node.querySelector(".status").textContent = t("rate_limited");
    }
    if (frame.retry) {
      const delay = Math.max(1, Number(frame.retry_after_s) || 2) * 1000;
      entry.timer = window.setTimeout(() => transmit(id), delay);
      return;
    }
    const reason = frame.reason === "too_long" ? t("too_long", { max: state.maxChars }) : t("error");
    fail(id, reason, frame.reason === "internal");
  }

  function showTyping(author) {
    els.typing.textContent = t("typing", { author: author ? String(author) : t("agent") });
    els.typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = window.setTimeout(hideTyping, 5000);
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    els.typing.hidden = true;
  }

  function newId() {
    const bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // -- the composer -----------------------------------------------------------------------
  function submit(event) {
    event.preventDefault();
    const text = els.text.value.trim();
    if (!text) return;
    const id = newId();
    const node = addMessage("customer", text, { at: new Date().toISOString(), id });
    setStatus(node, "sending");
    if (text.length > state.maxChars) {
      state.pending.set(id, { text, node, timer: 0 });
      fail(id, t("too_long", { max: state.maxChars }), false);
    } else {
      state.pending.set(id, { text, node, timer: 0 });
      transmit(id);
    }
    els.text.value = "";
    resize();
    els.text.focus();
  }

  function resize() {
    els.text.style.height = "auto";
    els.text.style.height = `${Math.min(els.text.scrollHeight + 2, 160)}px`;
  }

  els.form.addEventListener("submit", submit);
  els.text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      els.form.requestSubmit();
    }
  });
  els.text.addEventListener("input", () => {
    resize();
    const now = Date.now();
    if (els.text.value.trim() && now - state.lastTypingMs > TYPING_EVERY_MS) {
      if (sendFrame({ type: "typing" })) state.lastTypingMs = now;
    }
  });
  els.language.addEventListener("change", () => applyLanguage(els.language.value));

  applyLanguage(state.language);
  connect();
})();
