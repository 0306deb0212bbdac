"""What a voice webhook's query and form say: whole numbers in the query (a step, a wait, a
try) and the caller's answer to a step as an inbound message."""

from __future__ import annotations

from collections.abc import Mapping

from channels.base import InboundMessage
from queues import Channel

__all__ = ["ascii_digits", "step_message", "whole"]


def step_message(form: Mapping[str, str], n: int, digits: str | None) -> InboundMessage:
    call_sid = form["CallSid"]
    return InboundMessage(
        channel=Channel.VOICE,
        address=form.get("From") or "anonymous",
        text=digits,
        key=f"voice:{call_sid}:{n}",
        conversation=call_sid,
        meta={"call_sid": call_sid, "to": form.get("To", "")},
    )


def whole(raw: str | None) -> int:
    return int(raw) if raw and ascii_digits(raw, 8) else 0


def ascii_digits(raw: str, most: int) -> bool:
    """1 to ``most`` ASCII digits (``"²".isdigit()`` is true, yet int() refuses it)."""
    return 0 < len(raw) <= most and raw.isascii() and raw.isdigit()
