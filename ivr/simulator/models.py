"""What a simulated call is given and what it gives back (``ivr.simulator.call`` runs it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ivr.errors import CallFailed

__all__ = [
    "CallFailed",
    "CallResult",
    "CallSpec",
    "Echo",
    "Outcome",
    "Signer",
    "new_call_sid",
]

#: ``sign(url, form) -> X-Twilio-Signature`` for a POST of ``form`` to ``url``.
Signer = Callable[[str, Mapping[str, str]], str]
Echo = Callable[[str], None]


class Outcome(StrEnum):
    CONNECTED = "connected"  # a <Dial> put the caller through to an agent
    ABANDONED = "abandoned"  # the caller hung up while on hold
    HUNG_UP = "hung_up"  # the caller hung up before being queued
    ENDED = "ended"  # the IVR hung up (or its document ran out)
    ERROR = "error"  # an HTTP error, malformed TwiML or an unknown verb


def new_call_sid() -> str:
    return "CA" + uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class CallSpec:
    """Who calls where. ``signed_base`` is the public URL the server checks signatures
    against (``http.public_url``); None signs the URL actually requested. A call the router
    placed (``direction`` outbound-api: a call back) fetches ``answer_url`` when answered
    and posts its end to ``status_url`` (both as the router gave them)."""

    url: str = "http://127.0.0.1:8080"
    from_number: str = "+48500100200"
    to_number: str = "+48221234567"
    call_sid: str = field(default_factory=new_call_sid)
    account_sid: str = "AC" + "0" * 32
    voice_path: str = "/twilio/voice"
    status_path: str = "/twilio/voice/status"
    signed_base: str | None = None
    speed: float = 1.0
    max_hold_s: float | None = None
    max_requests: int = 5000
    transcript: bool = True  # keep every request and verb (off for crowds: memory)
    direction: str = "inbound"
    answer_url: str | None = None
    status_url: str | None = None
    #: Twilio's defaults for a webhook (its connection overrides ``ct`` and ``rt``): 5 s to
    #: connect, 15 s for the answer's first bytes; past either the call ends.
    connect_timeout_s: float = 5.0
    answer_timeout_s: float = 15.0


@dataclass(slots=True)
class CallResult:
    """How a call went, with its whole transcript (every request, verb and key)."""

    call_sid: str
    from_number: str
    outcome: Outcome = Outcome.ERROR
    agent: str | None = None
    error: str | None = None
    reason: str | None = None
    duration_s: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    asked_at_s: float | None = None  # call seconds when the IVR first asked something
    queued_at_s: float | None = None  # call seconds when first put on hold (or last answer)
    connected_at_s: float | None = None  # ... and when put through to an agent
    callback: CallResult | None = None  # the router's call back, answered (``--callback``)

    @property
    def waited_s(self) -> float | None:
        """How long the caller held before an agent took the call (connected calls)."""
        if self.queued_at_s is None or self.connected_at_s is None:
            return None
        return self.connected_at_s - self.queued_at_s

    @property
    def exit_code(self) -> int:
        """0 connected to an agent, 1 an error, 3 the call ended without an agent (with a
        call back answered: how that one went)."""
        if self.callback is not None:
            return self.callback.exit_code
        if self.outcome is Outcome.CONNECTED:
            return 0
        return 1 if self.outcome is Outcome.ERROR else 3

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "call_sid": self.call_sid,
            "from": self.from_number,
            "outcome": str(self.outcome),
            "agent": self.agent,
            "reason": self.reason,
            "error": self.error,
            "duration_s": round(self.duration_s, 3),
            "waited_s": None if self.waited_s is None else round(self.waited_s, 3),
            "events": self.events,
        }
        if self.callback is not None:
            body["callback"] = self.callback.to_json()
        return body
