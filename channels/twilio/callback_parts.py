"""What the callback webhooks (``channels.twilio.callback``) work with: the router's side
(``CallbackHost``), what the voice channel lends them (``VoiceParts``), the prompts they need,
and phone numbers as a keypad gives them."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aiohttp import web
from twilio.twiml.voice_response import VoiceResponse

from channels.base import AgentTarget, Spoken
from queues import Channel, Contact

__all__ = [
    "CALLBACK_PROMPTS",
    "CallbackHost",
    "VoiceParts",
    "e164",
    "last_digits",
    "typed_number",
]

#: The prompts (config.yaml ``prompts:``) callbacks need; without them none is offered.
CALLBACK_PROMPTS = (
    "callback_offer",
    "callback_confirm",
    "callback_enter_number",
    "callback_invalid_number",
    "callback_booked",
    "callback_booked_closed",
    "callback_hello",
    "callback_failed_sms",
)
_E164 = re.compile(r"\+[1-9]\d{6,14}")


@runtime_checkable
class CallbackHost(Protocol):
    """What the router does for callbacks (the channel's other side, like ``Inbox``)."""

    async def keep_place(self, channel: Channel, conversation: str) -> Contact | None:
        """The customer leaves the conversation yet keeps the contact's place: forget the
        conversation, so that its end abandons nothing; the contact, or None."""

    async def attach(self, channel: Channel, conversation: str, contact_id: str) -> None:
        """A new conversation (the call back) continues ``contact_id``: its hold and its
        end act on that contact."""

    def opens_at(self, team: str, at: float) -> float:
        """When ``team`` is next open at or after ``at`` (``at`` while it is open)."""

    def opening_label(self, team: str, at: float, language: str) -> str:
        """``at`` as the customer is told it ("Mon 10:00"), in ``language``."""


@dataclass(frozen=True, slots=True)
class VoiceParts:
    """What the voice channel lends the callback webhooks: its signature and form checks,
    and how it puts a call through to an agent and says a prompt."""

    checked: Callable[[web.Request], Awaitable[dict[str, str] | web.Response]]
    connect: Callable[[VoiceResponse, AgentTarget, str], None]
    say: Callable[[Any, Spoken], None]


def e164(raw: str | None) -> str | None:
    """The caller's own number when it is one we can call (not "anonymous")."""
    return raw if raw and _E164.fullmatch(raw) else None


def typed_number(digits: str) -> str | None:
    """A number typed on the keypad, with its country code (``00`` before it is allowed)."""
    digits = digits[2:] if digits.startswith("00") else digits
    return e164("+" + digits) if digits.isascii() and digits.isdigit() else None


def last_digits(number: str) -> str:
    """The last four digits, one by one, as a voice says them."""
    return " ".join(number[-4:])
