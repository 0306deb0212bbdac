"""The shipped email flow: nothing is asked, every step runs without waiting for input."""

from __future__ import annotations

import pytest

from ivr import TERMINAL, Enqueue, Expect, Facts, Verify

from .conftest import CODE, Start

BODY = "Re: faktura za marzec\n\nDzień dobry,\nproszę o korektę faktury.\n\n{credentials}\nJan"


@pytest.mark.parametrize(
    "credentials",
    [
        f"Login: jan.kowalski\nAuth code: {CODE}",
        f"login: jan.kowalski\nKod: {CODE}",
        f"Login = jan.kowalski\nKod autoryzacyjny: {CODE}",
        f"> Login: jan.kowalski\n> Authorization code: {CODE}",
        f"Логин: jan.kowalski\nКод: {CODE}",
        f"LOGIN:   jan.kowalski  \nKod autoryzacyjny:  {CODE[:3]} {CODE[3:]}",
    ],
)
def test_login_and_code_lines_are_verified(talk: Start, credentials: str) -> None:
    mail = talk("email", text=BODY.format(credentials=credentials))
    first = mail.step
    assert first.effect == Verify(identifier="jan.kowalski", code=CODE)
    assert first.expect == Expect("none")
    assert first.prompts == ()
    mail.result(ok=True, account="jan.kowalski")
    assert mail.keys == ["auth_ok"]
    assert mail.step.effect == Enqueue("billing", complaint=False, prompt="queued_email")
    assert mail.vars["verified"] == "1"
    assert mail.node == TERMINAL


def test_kept_text_has_the_code_masked(talk: Start) -> None:
    text = BODY.format(credentials=f"Login: jan.kowalski\nAuth code: {CODE}")
    mail = talk("email", text=text)
    assert mail.vars["text"] == text.replace(CODE, "******")


def test_mail_without_credentials_is_queued_unverified(talk: Start) -> None:
    mail = talk("email", text="Subject: router\n\nMój router nie łączy się z internetem.")
    assert mail.keys == ["email_unverified"]
    assert mail.step.effect == Enqueue("technical", complaint=False, prompt="queued_email")
    assert mail.vars["verified"] == "0"
    assert mail.texts()[0].startswith("W wiadomości nie znaleźliśmy loginu")


@pytest.mark.parametrize(
    "credentials", ["Login: jan.kowalski", f"Kod: {CODE}", "Login: jan.kowalski\nKod: brak"]
)
def test_mail_with_half_the_credentials_is_queued_unverified(talk: Start, credentials: str) -> None:
    mail = talk("email", text=BODY.format(credentials=credentials))
    assert mail.keys == ["email_unverified"]
    assert mail.step.effect == Enqueue("billing", complaint=False, prompt="queued_email")
    assert CODE not in mail.vars["text"]


def test_wrong_code_is_queued_unverified(talk: Start) -> None:
    text = BODY.format(credentials="Login: jan.kowalski\nKod: 111111")
    mail = talk("email", text=text).result(ok=False)
    assert mail.keys == ["auth_failed_email"]
    assert mail.step.effect == Enqueue("billing", complaint=False, prompt="queued_email")
    assert mail.vars["verified"] == "0"


def test_locked_account_is_queued_unverified(talk: Start) -> None:
    text = BODY.format(credentials=f"Login: jan.kowalski\nKod: {CODE}")
    mail = talk("email", text=text).result(ok=False, locked=True)
    assert mail.keys == ["auth_locked"]
    assert mail.step.effect == Enqueue("billing", complaint=False, prompt="queued_email")


def test_undecided_mail_goes_to_the_default_team(talk: Start) -> None:
    mail = talk("email", text="Hello,\n\nplease call me back.\n\nThanks")
    assert mail.step.state.language == "en"
    assert mail.step.effect == Enqueue("technical", complaint=False, prompt="queued_email")


def test_complaint_mail_is_marked(talk: Start) -> None:
    mail = talk("email", text="Reklamacja\n\nSkładam reklamację dotyczącą hostingu strony.")
    assert mail.keys == ["email_unverified", "complaint_registered"]
    assert mail.step.effect == Enqueue("domains_hosting", complaint=True, prompt="queued_email")


def test_mail_hears_of_the_team_incident_and_hours(talk: Start) -> None:
    facts = Facts(incidents={"*": "Prace serwisowe"}, hours={"technical": "pn–pt 10–18"})
    mail = talk("email", facts, text="Internet nie działa")
    assert mail.keys == ["email_unverified", "incident", "out_of_hours"]
    assert mail.step.effect == Enqueue("technical", complaint=False, prompt="queued_email")
