"""What the desk writes about a complaint, in the holder's language (pl, en, ru, he): the
complaint as the agent reads it, the acknowledgement and the delay notice."""

from __future__ import annotations

from collections.abc import Mapping

from queues import fill
from router.complaints.record import Complaint

__all__ = ["ack_text", "describe", "notice_text", "subject", "text"]

_TEXTS: Mapping[str, Mapping[str, str]] = {
    "pl": {
        "subject": "Reklamacja nr {number}",
        "ack": "Dziękujemy, przyjęliśmy Twoją reklamację nr {number} z dnia {date}.\n"
        "Odpowiemy najpóźniej {due} ({answer_by}). Jeśli odpowiedź się opóźni, "
        "poinformujemy Cię o tym przed tym terminem.\n\nTreść reklamacji:\n{summary}",
        "notice": "Twoja reklamacja nr {number} jest wciąż rozpatrywana. Termin odpowiedzi "
        "mija {due}. Jeśli nie zdążymy, poinformujemy o przyczynie i nowym terminie. "
        "Przepraszamy za oczekiwanie.",
        "letter": "listownie",
        "email": "e-mailem",
        "phone": "telefonicznie",
        "full_name": "Imię i nazwisko",
        "contract_number": "Numer umowy",
        "phone_label": "Telefon",
        "email_label": "E-mail",
        "postal_address": "Adres do korespondencji",
        "period": "Data lub okres zdarzenia",
        "specialist": "Konsultant, który prowadził sprawę",
        "answer_by": "Preferowana forma odpowiedzi",
        "topic": "Dotyczy",
        "what_happened": "Opis",
    },
    "en": {
        "subject": "Complaint no. {number}",
        "ack": "Thank you, we have received your complaint no. {number} of {date}.\n"
        "We will answer by {due} at the latest ({answer_by}). If the answer is delayed, "
        "we will tell you before that date.\n\nYour complaint:\n{summary}",
        "notice": "Your complaint no. {number} is still being handled. The answer is due by "
        "{due}. If we cannot make it, we will tell you why and when to expect it. We "
        "apologise for the wait.",
        "letter": "by letter",
        "email": "by email",
        "phone": "by phone",
        "full_name": "Full name",
        "contract_number": "Contract number",
        "phone_label": "Phone",
        "email_label": "Email",
        "postal_address": "Postal address",
        "period": "Date or period",
        "specialist": "Specialist who handled it",
        "answer_by": "Preferred answer",
        "topic": "About",
        "what_happened": "What happened",
    },
    "ru": {
        "subject": "Жалоба № {number}",
        "ack": "Спасибо, мы приняли вашу жалобу № {number} от {date}.\n"
        "Мы ответим не позднее {due} ({answer_by}). Если ответ задержится, мы сообщим "
        "об этом до этого срока.\n\nТекст жалобы:\n{summary}",
        "notice": "Ваша жалоба № {number} всё ещё рассматривается. Срок ответа — {due}. "
        "Если мы не успеем, сообщим причину и новый срок. Приносим извинения за ожидание.",
        "letter": "письмом",
        "email": "по электронной почте",
        "phone": "по телефону",
        "full_name": "ФИО",
        "contract_number": "Номер договора",
        "phone_label": "Телефон",
        "email_label": "Эл. почта",
        "postal_address": "Почтовый адрес",
        "period": "Дата или период",
        "specialist": "Специалист, который вёл обращение",
        "answer_by": "Предпочтительный способ ответа",
        "topic": "Тема",
        "what_happened": "Описание",
    },
    "he": {
        "subject": "תלונה מס' {number}",
        "ack": "תודה, קיבלנו את תלונתך מס' {number} מתאריך {date}.\n"
        "נשיב לכל המאוחר עד {due} ({answer_by}). אם התשובה תתעכב, נודיע לך על כך לפני "
        "מועד זה.\n\nפרטי התלונה:\n{summary}",
        "notice": "תלונתך מס' {number} עדיין בטיפול. מועד התשובה הוא {due}. אם לא נספיק, "
        "נודיע לך על הסיבה ועל המועד החדש. אנו מתנצלים על ההמתנה.",
        "letter": "בדואר",
        "email": "בדואר אלקטרוני",
        "phone": "בטלפון",
        "full_name": "שם מלא",
        "contract_number": "מספר חוזה",
        "phone_label": "טלפון",
        "email_label": "דואר אלקטרוני",
        "postal_address": "כתובת למשלוח דואר",
        "period": "תאריך או תקופת האירוע",
        "specialist": "הנציג/ה שטיפל/ה בפנייה",
        "answer_by": "אופן המענה המועדף",
        "topic": "נושא",
        "what_happened": "תיאור",
    },
}


def text(language: str, key: str, **params: str) -> str:
    """The text ``key`` in ``language`` (English for a language without one), filled."""
    texts = _TEXTS.get(language) or _TEXTS["en"]
    return fill(texts[key], params)


def subject(language: str, number: str) -> str:
    return text(language, "subject", number=number)


def describe(complaint: Complaint, team_name: str) -> str:
    """The complaint as one message, the way the agent reads it in the contact's history."""
    lang = complaint.language
    period = complaint.date_from.isoformat()
    if complaint.date_to is not None and complaint.date_to != complaint.date_from:
        period += f" – {complaint.date_to.isoformat()}"
    rows = [
        ("full_name", complaint.full_name),
        ("contract_number", complaint.contract_number),
        ("phone_label", complaint.phone),
        ("email_label", complaint.email),
        ("postal_address", complaint.postal_address),
        ("period", period),
        ("specialist", complaint.specialist),
        ("answer_by", text(lang, str(complaint.answer_by))),
        ("topic", team_name),
    ]
    lines = [f"{text(lang, label)}: {value}" for label, value in rows if value]
    return "\n".join([*lines, "", f"{text(lang, 'what_happened')}:", complaint.what_happened])


def ack_text(complaint: Complaint, number: str, day: str, due: str, summary: str) -> str:
    answer_by = text(complaint.language, str(complaint.answer_by))
    params = {"number": number, "date": day, "due": due, "answer_by": answer_by}
    return text(complaint.language, "ack", summary=summary, **params)


def notice_text(language: str, number: str, due: str) -> str:
    return text(language, "notice", number=number, due=due)
