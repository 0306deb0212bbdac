"""Auth codes typed unasked: which messages name an account with a code, and what is masked
(router.contacts.codes; the whole path through every channel: tests/hardening)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels import InboundMessage
from queues import Channel
from router.contacts.codes import mask_digits, spot


@dataclass(frozen=True)
class Account:
    login: str
    number: str


ACCOUNTS = [Account("jan.kowalski", "1001"), Account("firma.nowak", "2002")]


def find(identifier: str) -> Account | None:
    ident = identifier.lower()
    return next((a for a in ACCOUNTS if ident in (a.login, a.number)), None)


def message(text: str, *, subject: str | None = None, **meta: Any) -> InboundMessage:
    return InboundMessage(
        Channel.EMAIL, "jan@example.net", text, key="k", subject=subject, meta={"email": meta}
    )


def test_messages_without_an_account_and_a_code_are_left_alone() -> None:
    assert spot(message("Internet nie działa od rana"), find) is None
    assert spot(message("faktura 20240115 i 998877"), find) is None  # no account named
    assert spot(message("jan.kowalski: nie działa internet"), find) is None  # no digits
    voice = InboundMessage(Channel.VOICE, "+48500", "1001", key="v")
    assert spot(voice, find) is None


def test_a_login_with_a_code_is_spotted_and_every_run_masked() -> None:
    found = spot(message("Mój login Jan.Kowalski, kod 482913, faktura 7755"), find)
    assert found is not None
    assert (found.login, found.codes, found.candidate) == (
        "jan.kowalski",
        ("482913", "7755"),
        "482913",
    )
    assert found.mask("kod 482913, faktura 7755") == "kod ••••••, faktura ••••"


def test_the_number_stays_readable_and_the_run_after_it_is_the_candidate() -> None:
    found = spot(message("zamówienie 5512 — klient 1001 kod 739155"), find)
    assert found is not None and found.login == "jan.kowalski"
    assert found.candidate == "739155" and "1001" not in found.codes
    masked = found.masked(message("zamówienie 5512 — klient 1001 kod 739155"))
    assert masked.text == "zamówienie •••• — klient 1001 kod ••••••"


def test_subject_and_metadata_are_masked_but_identifiers_are_kept() -> None:
    mail = message(
        "Proszę o pomoc",
        subject="jan.kowalski 482913",
        subject_copy="jan.kowalski 482913",
        message_id="<482913.1@example.net>",
        date="Fri, 04 Dec 2026 10:00:00 +0100",
    )
    found = spot(mail, find)
    assert found is not None
    masked = found.masked(mail)
    assert masked.subject == "jan.kowalski ••••••"
    email = masked.meta["email"]
    assert email["subject_copy"] == "jan.kowalski ••••••"
    assert email["message_id"] == "<482913.1@example.net>"  # threading needs it as it came
    assert email["date"].endswith("2026 10:00:00 +0100")


def test_mask_digits_masks_whole_runs_only() -> None:
    assert mask_digits("1482913 482913 4829130", frozenset({"482913"})) == (
        "1482913 •••••• 4829130"
    )
