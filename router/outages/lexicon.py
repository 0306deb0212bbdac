"""The small multilingual lexicon that makes first messages in pl, en, ru and he one topic.

Each concept is a service (what is affected) or a symptom (what is wrong with it), with
word stems per language and a label per language for the suggested announcement. A stem
matches every word starting with it, after case folding and dropping diacritics (``ł`` as
``l``); a stem ending in ``$`` only the whole word (``no$`` is not ``now``); ``"a b"``
matches two words in a row. "nie działa internet", "no internet",
"не работает интернет" and "Awaria światłowodu" all name ``internet`` and ``outage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["CONCEPTS", "LANGUAGES", "STOPWORDS", "TEMPLATES", "Concept"]

LANGUAGES = ("pl", "en", "ru", "he")


@dataclass(frozen=True, slots=True)
class Concept:
    kind: str  # "service" or "symptom"
    stems: tuple[str, ...]  # every language's, matched alike
    label: Mapping[str, str]


def _stems(*groups: str) -> tuple[str, ...]:
    return tuple(s.strip() for group in groups for s in group.split(",") if s.strip())


CONCEPTS: Mapping[str, Concept] = {
    "internet": Concept(
        "service",
        _stems(
            "internet, łącz, światłow, swiatlow, neostrad, wifi, wi-fi, sieć domow",
            "broadband, fibre, fiber, wifi",
            "интернет, оптоволок, вайфай, вай-фай",
            "אינטרנט, סיבים, אלחוטי",
        ),
        {"pl": "internet", "en": "internet access", "ru": "интернет", "he": "אינטרנט"},
    ),
    "phone": Concept(
        "service",
        _stems(
            "telefon stacjonar, telefonia, sygnał w słuchawce",
            "landline, dial tone, voip, phone line",
            "телефон, телефонн, гудк",
            "טלפון, קו טלפון",
        ),
        {"pl": "telefonia", "en": "phone service", "ru": "телефонная связь", "he": "טלפון"},
    ),
    "tv": Concept(
        "service",
        _stems(
            "telewiz, dekoder, tv$, kanał",
            "television, decoder, set-top, set top, tv$",
            "телевиден, тв$, приставк, канал",
            "טלוויזיה, ממיר, ערוצ",
        ),
        {"pl": "telewizja", "en": "TV", "ru": "телевидение", "he": "טלוויזיה"},
    ),
    "email": Concept(
        "service",
        _stems(
            "poczt, e-mail, email, mail, skrzynk",
            "mailbox, inbox, webmail",
            "почт, имейл, емейл, ящик",
            "דואר, אימייל, מייל",
        ),
        {
            "pl": "poczta e-mail",
            "en": "email",
            "ru": "электронная почта",
            "he": "דואר אלקטרוני",
        },
    ),
    "website": Concept(
        "service",
        _stems(
            "stron, hosting, serwer, www",
            "website, web site, site$, sites$, hosting, server",
            "сайт, хостинг, сервер",
            "אתר, אחסון, שרת",
        ),
        {
            "pl": "hosting stron",
            "en": "website hosting",
            "ru": "хостинг сайтов",
            "he": "אחסון אתרים",
        },
    ),
    "dns": Concept(
        "service",
        _stems("domen, dns", "domain, dns$, nameserver", "домен, днс, dns", "דומיין, dns"),
        {"pl": "obsługa domen (DNS)", "en": "DNS", "ru": "DNS", "he": "DNS"},
    ),
    "panel": Concept(
        "service",
        _stems(
            "panel, zaloguj, logowan, zalogow",
            "customer panel, log in, login, sign in, portal",
            "личн кабинет, кабинет, войти, вход",
            "אזור אישי, התחבר, כניסה",
        ),
        {
            "pl": "panel klienta",
            "en": "the customer panel",
            "ru": "личный кабинет",
            "he": "אזור אישי",
        },
    ),
    "payments": Concept(
        "service",
        _stems(
            "płatnoś, platnos, przelew, karta, karty, blik",
            "payment, card, checkout",
            "оплат, платеж, платёж, карт",
            "תשלום, אשראי",
        ),
        {
            "pl": "system płatności",
            "en": "the payment system",
            "ru": "платёжная система",
            "he": "מערכת תשלומים",
        },
    ),
    "mobile": Concept(
        "service",
        _stems(
            "komórk, zasięg, lte$, 5g$",
            "mobile, cellular, coverage, lte$, 5g$",
            "мобильн, сотов, покрыти",
            "סלולר, קליטה",
        ),
        {
            "pl": "sieć komórkowa",
            "en": "the mobile network",
            "ru": "мобильная связь",
            "he": "רשת סלולרית",
        },
    ),
    "outage": Concept(
        "symptom",
        _stems(
            "nie działa, nie dziala, niedział, awari, brak, nie ma, padł, padl, wysiadł, "
            "przerwa w, nie mam, nie mogę, nie moge, offline",
            "outage, down$, not working, doesn't work, does not work, doesnt work, no$, failure, "
            "offline, dead$, broken, cannot, can't, unavailable",
            "не работает, не работ, авари, нет, пропал, упал, отключ, сбой, не могу, недоступ",
            "לא עובד, לא עובדת, תקלה, אין, נפל, הפסקה, לא מצליח, מושבת",
        ),
        {"pl": "awaria", "en": "outage", "ru": "сбой", "he": "תקלה"},
    ),
    "slow": Concept(
        "symptom",
        _stems(
            "wolno, woln, powoln, laguje, lagi, prędkoś, predkos",
            "slow, speed, lag$, lags$, laggy",
            "медлен, тормоз, скорост",
            "איטי, מהירות",
        ),
        {"pl": "spowolnienie", "en": "slowness", "ru": "низкая скорость", "he": "איטיות"},
    ),
    "intermittent": Concept(
        "symptom",
        _stems(
            "zrywa, rozłącza, rozlacza, przerywa, co chwil",
            "disconnect, dropping, drops, keeps dropping, intermittent, on and off",
            "обрыв, разрыв, пропада, отваливает",
            "ניתוק, מתנתק, קופץ",
        ),
        {
            "pl": "przerwy w działaniu",
            "en": "intermittent drops",
            "ru": "обрывы связи",
            "he": "ניתוקים",
        },
    ),
}

#: Words left out of topics when a message names too few concepts (greetings, pronouns,
#: negations, time words); everything here is already normalised.
_STOPWORDS = """
nie jest mam moj moja moje sie czy jak dzien dobry prosze witam oraz juz jeszcze od do na ze
co to dla mnie przez rana dzis dzisiaj teraz znowu bardzo caly dnia chce chcialbym
the is are my have has not and for with please hello dear you your it can does don't dont
since from this that was what why how help me we our at in on again today now still there
any all morning hours want need
не и в на у меня мой моя что как это по уже опять сегодня здравствуйте добрый день
пожалуйста да с утра хочу
של את זה לא יש אני על עם גם כבר היום שלי שלום בבקשה מהבוקר רוצה
"""
STOPWORDS = frozenset(_STOPWORDS.split())

#: The suggested announcement per language, by the topic's symptom ("" none or a rate
#: spike): ``{what}`` is the service's label (or the topic's words), ``{team}`` the team.
TEMPLATES: Mapping[str, Mapping[str, str]] = {
    "outage": {
        "pl": "{what} nie działa u części klientów",
        "en": "{what} is down for some customers",
        "ru": "{what} не работает у части клиентов",
        "he": "תקלה: {what}, אצל חלק מהלקוחות",
    },
    "slow": {
        "pl": "{what} działa wolniej u części klientów",
        "en": "{what} is slow for some customers",
        "ru": "{what} работает медленно у части клиентов",
        "he": "איטיות: {what}, אצל חלק מהלקוחות",
    },
    "intermittent": {
        "pl": "{what} działa z przerwami u części klientów",
        "en": "{what} keeps dropping for some customers",
        "ru": "{what} работает с перебоями у части клиентов",
        "he": "ניתוקים: {what}, אצל חלק מהלקוחות",
    },
    "": {
        "pl": "zgłoszenia o problemie: {what}",
        "en": "reports of a problem: {what}",
        "ru": "сообщения о проблеме: {what}",
        "he": "דיווחים על בעיה: {what}",
    },
    "rate": {
        "pl": "nietypowo dużo zgłoszeń w dziale: {team}",
        "en": "an unusual number of contacts for {team}",
        "ru": "необычно много обращений: {team}",
        "he": "מספר חריג של פניות: {team}",
    },
}
