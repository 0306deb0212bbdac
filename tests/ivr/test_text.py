"""Every branch of the shipped text flow (SMS, chat, Telegram) on the pure engine."""

from __future__ import annotations

import pytest

from ivr import Enqueue, Expect, Facts, Verify

from .conftest import CODE, Start, Talk

PLAIN = "Dzień dobry, mam pytanie"  # names no team


def test_first_message_is_kept_and_credentials_are_asked(talk: Start) -> None:
    chat = talk("text", text="Dzień dobry, nie działa mi internet")
    assert chat.keys == ["text_welcome", "ask_credentials"]
    assert chat.vars["text"] == "Dzień dobry, nie działa mi internet"
    assert chat.step.state.language == "pl"
    # The answer may be "login code": the router keeps it masked.
    assert chat.step.expect == Expect("text", timeout_s=5.0, secret=True)
    assert chat.node == "login"
    assert chat.texts()[1] == (
        "Aby potwierdzić tożsamość, podaj login i kod autoryzacyjny z panelu klienta, "
        "np.: jan.kowalski 123456"
    )


def test_login_and_code_in_one_answer(talk: Start) -> None:
    chat = talk("text", text=PLAIN).answer(f"jan.kowalski {CODE}")
    assert chat.step.effect == Verify(identifier="jan.kowalski", code=CODE)
    assert chat.vars["login"] == "jan.kowalski"
    assert chat.keys == []


@pytest.mark.parametrize("answer", [f"jan.kowalski, {CODE}", f"  jan.kowalski\n{CODE} "])
def test_one_answer_with_other_separators(talk: Start, answer: str) -> None:
    chat = talk("text", text=PLAIN).answer(answer)
    assert chat.step.effect == Verify(identifier="jan.kowalski", code=CODE)


def test_login_and_code_in_two_answers(talk: Start) -> None:
    chat = talk("text", text=PLAIN).answer("jan.kowalski")
    assert chat.keys == ["ask_code_text"]
    assert chat.node == "code"
    assert chat.step.expect == Expect("text", timeout_s=5.0, secret=True)
    chat.answer(CODE)
    assert chat.step.effect == Verify(identifier="jan.kowalski", code=CODE)


def test_login_and_code_typed_where_only_the_code_was_asked_are_both_taken(talk: Start) -> None:
    # Telegram: /start first, then the problem in words is taken as the login...
    chat = talk("text", text="/start").answer("internet nie działa")
    assert chat.node == "code" and chat.vars["login"] == "internet"
    # ...and the right "login code" must still get in, not be refused as a code.
    chat.answer(f"jan.kowalski {CODE}")
    assert chat.step.effect == Verify(identifier="jan.kowalski", code=CODE)


def test_a_code_alone_where_the_code_was_asked_keeps_the_login(talk: Start) -> None:
    chat = talk("text", text=PLAIN).answer("jan.kowalski").answer(f"{CODE} {CODE}")
    assert chat.step.effect == Verify(identifier="jan.kowalski", code=CODE)


def test_code_that_is_not_digits_is_asked_again(talk: Start) -> None:
    chat = talk("text", text=PLAIN).answer("jan.kowalski kod")
    assert chat.keys == ["invalid_code_text", "ask_code_text"]
    assert chat.node == "code"
    assert chat.step.state.tries == 1
    chat.answer(CODE)
    assert chat.step.effect == Verify(identifier="jan.kowalski", code=CODE)


def test_failure_asks_for_both_again_then_succeeds(talk: Start) -> None:
    chat = talk("text", text=PLAIN).answer("jan.kowalski 111111").result(ok=False)
    assert chat.keys == ["auth_failed_text", "ask_credentials"]
    assert chat.node == "login"
    chat.answer("jan.kowalski").answer(CODE).result(ok=True, account="jan.kowalski")
    assert chat.keys == ["auth_ok", "team_menu_text"]
    assert chat.vars["verified"] == "1"


def test_three_failures_go_on_unverified(talk: Start) -> None:
    chat = talk("text", text="Nie działa internet")
    for _ in range(2):
        chat.answer("jan.kowalski 000000").result(ok=False)
        assert chat.keys == ["auth_failed_text", "ask_credentials"]
    chat.answer("jan.kowalski 000000").result(ok=False)
    assert chat.keys == ["auth_exhausted"]
    assert chat.vars["verified"] == "0"
    assert chat.step.effect == Enqueue("technical", complaint=False, prompt="queued_text")


def test_locked_account_goes_on_unverified_at_once(talk: Start) -> None:
    chat = talk("text", text="Problem z fakturą").answer(f"jan.kowalski {CODE}")
    chat.result(ok=False, locked=True)
    assert chat.keys == ["auth_locked"]
    assert chat.step.effect == Enqueue("billing", complaint=False, prompt="queued_text")


def test_no_credentials_after_the_tries_go_on_unverified(talk: Start) -> None:
    chat = talk("text", text="Problem z fakturą").answer(None)
    assert chat.keys == ["no_answer_text", "ask_credentials"]
    chat.answer("x")
    assert chat.keys == ["invalid_login_text", "ask_credentials"]
    chat.answer("")
    assert chat.keys == ["verify_skipped"]
    assert chat.step.effect == Enqueue("billing", complaint=False, prompt="queued_text")


@pytest.mark.parametrize(
    ("message", "language", "team"),
    [
        ("Dzień dobry, nie mogę opłacić faktury za październik", "pl", "billing"),
        ("Od wczoraj internet działa bardzo wolno, router miga na czerwono", "pl", "technical"),
        ("Moja domena jankowalski.pl nie działa, chyba coś z DNS", "pl", "domains_hosting"),
        ("Hello, I was charged twice on my last invoice", "en", "billing"),
        ("My internet connection keeps dropping and the router is blinking", "en", "technical"),
        ("Hi, my website is down and the SSL certificate has expired", "en", "domains_hosting"),
        ("Здравствуйте, не прошла оплата по счёту", "ru", "billing"),
        ("Не работает интернет, роутер не видит сеть", "ru", "technical"),
        ("Сайт не открывается, на домене истёк SSL сертификат", "ru", "domains_hosting"),
        ("קיבלתי חשבונית עם חיוב כפול", "he", "billing"),
        ("האינטרנט לא עובד והראוטר מהבהב", "he", "technical"),
        ("האתר שלי לא עולה, יש בעיה עם הדומיין", "he", "domains_hosting"),
    ],
)
def test_keywords_of_the_first_message_decide_the_team(
    talk: Start, message: str, language: str, team: str
) -> None:
    chat = talk("text", text=message)
    assert chat.step.state.language == language
    chat.answer(f"jan.kowalski {CODE}").result(ok=True, account="jan.kowalski")
    assert chat.keys == ["auth_ok"]
    assert chat.step.effect == Enqueue(team, complaint=False, prompt="queued_text")
    assert chat.step.prompts[0].language == language


@pytest.mark.parametrize(
    ("message", "team"),
    [
        ("Składam reklamację, faktura jest błędna", "billing"),
        ("I want to make a complaint about my internet", "technical"),
        ("Хочу подать жалобу: сайт на хостинге не работает", "domains_hosting"),
        ("אני רוצה להגיש תלונה על החשבונית", "billing"),
    ],
)
def test_complaint_keywords_mark_a_complaint(talk: Start, message: str, team: str) -> None:
    chat = talk("text", text=message).answer(f"jan.kowalski {CODE}").result(ok=True)
    assert chat.keys == ["auth_ok", "complaint_registered"]
    assert chat.step.effect == Enqueue(team, complaint=True, prompt="queued_text")


def _undecided(talk: Start) -> Talk:
    chat = talk("text", text=PLAIN).answer(f"jan.kowalski {CODE}").result(ok=True)
    assert chat.keys == ["auth_ok", "team_menu_text"]
    assert chat.node == "team"
    return chat


@pytest.mark.parametrize(
    ("answer", "team"),
    [
        ("1", "billing"),
        ("2", "technical"),
        ("3.", "domains_hosting"),
        ("2 proszę", "technical"),
        ("domeny", "domains_hosting"),
        ("Rozliczenia", "billing"),
        ("chodzi o fakturę", "billing"),
        ("router nie łączy", "technical"),
    ],
)
def test_undecided_keywords_ask_the_menu(talk: Start, answer: str, team: str) -> None:
    chat = _undecided(talk).answer(answer)
    assert chat.step.effect == Enqueue(team, complaint=False, prompt="queued_text")


def test_undecided_menu_without_usable_answer_takes_the_default_team(talk: Start) -> None:
    chat = _undecided(talk).answer("nie wiem")
    assert chat.keys == ["invalid_choice", "team_menu_text"]
    chat.answer(None)
    assert chat.keys == ["team_default"]
    assert chat.texts() == ["Nie wybrano działu. Łączymy z działem: Wsparcie techniczne."]
    assert chat.step.effect == Enqueue("technical", complaint=False, prompt="queued_text")


def test_tie_between_teams_is_undecided(talk: Start) -> None:
    chat = talk("text", text="faktura za internet").answer(f"jan.kowalski {CODE}")
    chat.result(ok=True)
    assert chat.keys == ["auth_ok", "team_menu_text"]


@pytest.mark.parametrize(("answer", "team"), [("1", "billing"), ("2", "technical")])
def test_negative_balance_asking_technical_is_offered_billing(
    talk: Start, answer: str, team: str
) -> None:
    chat = talk("text", text="Nie działa internet").answer(f"jan.kowalski {CODE}")
    chat.result(ok=True, balance_negative=True)
    assert chat.keys == ["auth_ok", "negative_balance_offer_text"]
    chat.answer(answer)
    assert chat.step.effect == Enqueue(team, complaint=False, prompt="queued_text")


def test_negative_balance_offer_without_answer_stays_with_technical(talk: Start) -> None:
    chat = talk("text", text="Nie działa internet").answer(f"jan.kowalski {CODE}")
    chat.result(ok=True, balance_negative=True).answer("hmm").answer("?")
    assert chat.step.effect == Enqueue("technical", complaint=False, prompt="queued_text")


def test_team_incident_is_announced_after_classification(talk: Start) -> None:
    facts = Facts(
        open_teams=frozenset({"technical"}),
        incidents={"technical": "Awaria w Krakowie", "billing": "Przerwa w płatnościach"},
    )
    chat = talk("text", facts, text="Nie działa internet").answer(f"jan.kowalski {CODE}")
    chat.result(ok=True)
    assert chat.keys == ["auth_ok", "incident"]
    assert chat.step.prompts[1].params["incident"] == "Awaria w Krakowie"


def test_incident_of_another_team_is_not_announced(talk: Start) -> None:
    facts = Facts(open_teams=frozenset({"technical"}), incidents={"billing": "Przerwa"})
    chat = talk("text", facts, text="Nie działa internet").answer(f"jan.kowalski {CODE}")
    assert chat.result(ok=True).keys == ["auth_ok"]


def test_out_of_hours_is_told_and_still_queued(talk: Start) -> None:
    facts = Facts(hours={"technical": "Mon–Fri 10:00–18:00"})
    chat = talk("text", facts, text="My internet is down").answer(f"jan.kowalski {CODE}")
    chat.result(ok=True)
    assert chat.keys == ["auth_ok", "out_of_hours"]
    assert chat.texts()[1] == (
        "Our Technical support team is available Mon–Fri 10:00–18:00. "
        "We are taking your request now and will handle it as soon as we open."
    )
    assert chat.step.effect == Enqueue("technical", complaint=False, prompt="queued_text")


def test_language_given_by_the_channel_wins_over_detection(talk: Start) -> None:
    chat = talk("text", language="ru", text="Nie działa internet")
    assert chat.step.state.language == "ru"
    assert chat.texts()[0] == "Здравствуйте! Спасибо за сообщение, мы его сохранили."


def test_code_line_in_the_first_message_is_masked(talk: Start) -> None:
    chat = talk("text", text="Login: jan.kowalski\nKod: 482913\nnie działa internet")
    assert chat.vars["text"] == "Login: jan.kowalski\nKod: ******\nnie działa internet"
    assert chat.engine.redact("text", "Kod autoryzacyjny: 482913") == "Kod autoryzacyjny: ******"
    assert chat.engine.redact("voice", "Kod: 482913") == "Kod: 482913"  # voice reads no lines
