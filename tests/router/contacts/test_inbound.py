"""The message as the history keeps it: what looks like an auth code is masked."""

from __future__ import annotations

from channels import InboundMessage
from queues import Channel
from router.contacts.inbound import history_message, redact_secret


def test_redact_secret_masks_runs_of_four_to_eight_digits_only() -> None:
    text = "kod 482913, pin 1234, nr 12345678, tel 123, konto 123456789"
    assert redact_secret(text) == ("kod ••••••, pin ••••, nr ••••••••, tel 123, konto 123456789")


def test_history_masks_digits_only_where_a_code_was_asked() -> None:
    message = InboundMessage(Channel.SMS, "+48500000301", "jan.kowalski 482913", "SM-1")
    asked = history_message(message, 1.0, redact=str.strip, secret=True)
    told = history_message(message, 1.0, redact=str.strip, secret=False)
    assert asked.text == "jan.kowalski ••••••" and told.text == "jan.kowalski 482913"
    timeout = InboundMessage(Channel.VOICE, "+48500000301", None, "CA1:2")
    silent = history_message(timeout, 1.0, redact=str.strip, secret=True)
    assert silent.text == "" and silent.meta["timeout"] is True
