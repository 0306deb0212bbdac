"""The outage watch reads a new contact's first message with its subject once: a new mail's
text already starts with its subject (channels/email/intake.py), so joining them again
counted the subject's words twice in the watch's guess of the team."""

from __future__ import annotations

from channels import InboundMessage
from queues import Channel
from router.contacts.inbound import first_text


def message(text: str | None, subject: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL if subject else Channel.SMS,
        address="jan@example.com",
        text=text,
        key="k1",
        subject=subject,
    )


def test_a_new_mail_says_its_subject_once() -> None:
    mail = message("Faktura za marzec\n\nNie działa mi internet.", "Faktura za marzec")
    assert first_text(mail) == "Faktura za marzec\n\nNie działa mi internet."
    assert first_text(mail).count("Faktura") == 1


def test_a_subject_the_text_does_not_start_with_is_put_in_front() -> None:
    assert first_text(message("Nie działa.", "Awaria")) == "Awaria Nie działa."
    assert first_text(message(None, "Awaria")) == "Awaria"


def test_a_message_without_a_subject_is_its_text() -> None:
    assert first_text(message("Awaria światłowodu")) == "Awaria światłowodu"
    assert first_text(message(None)) == ""
