"""The contact record: what every channel turns its input into, and what queues keep.

Records are frozen dataclasses with slots. Times are POSIX seconds (float, UTC) in the
records and ISO-8601 strings in JSON; ``to_dict``/``from_dict`` round-trip exactly to the
microsecond, which is the precision every store keeps.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "Channel",
    "Claim",
    "Contact",
    "ContactState",
    "Direction",
    "Event",
    "Intake",
    "Message",
    "Parcel",
    "Position",
    "QueueStats",
    "fill",
    "from_iso",
    "new_id",
    "now_s",
    "to_iso",
]


class _Keep(dict[str, str]):
    """Format parameters that leave an unknown {placeholder} visible instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, params: Mapping[str, str]) -> str:
    """``template`` with its {placeholders} filled from ``params``: an unknown one stays as
    typed, and a template with stray braces is the text as it is."""
    try:
        return template.format_map(_Keep(params))
    except (ValueError, IndexError, AttributeError, KeyError, TypeError):
        return template


class Channel(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    EMAIL = "email"
    CHAT = "chat"
    TELEGRAM = "telegram"
    #: A written complaint from the ``/complaint`` page: no conversation and no flow; the
    #: router answers it by email when the holder gave one (``router.complaints``).
    FORM = "form"


class ContactState(StrEnum):
    IN_FLOW = "in_flow"
    WAITING = "waiting"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    ABANDONED = "abandoned"

    @property
    def is_final(self) -> bool:
        return self in (ContactState.RESOLVED, ContactState.ABANDONED)


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


def now_s() -> float:
    """Wall-clock time rounded to the microsecond, the precision every store keeps."""
    return round(time.time(), 6)


class _Entropy(threading.local):
    """Random hex digits from the OS's generator, fetched 2 KiB at a time per thread (one
    system call per 512 ids rather than one per id); a forked child starts afresh."""

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        self.digits = ""
        self.used = 0

    def take8(self) -> str:
        if self.used >= len(self.digits):
            self.digits, self.used = os.urandom(2048).hex(), 0
        start = self.used
        self.used = start + 8
        return self.digits[start : start + 8]


_ENTROPY = _Entropy()
os.register_at_fork(after_in_child=_ENTROPY.forget)


def new_id() -> str:
    """A sortable unique id: 12 hex digits of milliseconds, then 8 random hex digits."""
    return f"{int(time.time() * 1000):012x}{_ENTROPY.take8()}"


def to_iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def from_iso(value: str | float | int | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return round(float(value), 6)
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp(), 6)


def _required_time(data: Mapping[str, Any], key: str) -> float:
    value = from_iso(data.get(key))
    if value is None:
        raise ValueError(f"record field {key!r} is missing; every record carries it")
    return value


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a conversation, inbound from the customer or outbound to them."""

    direction: Direction
    text: str
    at: float
    id: str = field(default_factory=new_id)
    author: str | None = None  # agent name for outbound replies, None for the flow/customer
    meta: Mapping[str, Any] = field(default_factory=dict)
    #: For a prompt: the template and the parameters the text was made from
    #: (``fill(template, params) == text``); a store may keep these instead of the text.
    template: str | None = field(default=None, compare=False, repr=False)
    params: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "direction": str(self.direction),
            "text": self.text,
            "at": to_iso(self.at),
            "author": self.author,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        at = _required_time(data, "at")
        return cls(
            id=str(data["id"]),
            direction=Direction(data["direction"]),
            text=str(data["text"]),
            at=at,
            author=data.get("author"),
            meta=dict(data.get("meta") or {}),
        )


@dataclass(frozen=True, slots=True)
class Contact:
    """A customer's contact: one conversation on one channel, from arrival to resolution.

    ``priority`` is the priority delay in seconds; the queue score is
    ``queued_at - priority``. ``messages`` is filled when the store is asked for it.
    """

    channel: Channel
    address: str
    created_at: float
    id: str = field(default_factory=new_id)
    state: ContactState = ContactState.IN_FLOW
    team: str | None = None
    priority: int = 0
    language: str | None = None
    verified: bool = False
    verify_method: str | None = None
    account: str | None = None
    subject: str | None = None
    queued_at: float | None = None
    sla_due: float | None = None
    agent: str | None = None
    assigned_at: float | None = None
    lease_until: float | None = None
    disposition: str | None = None
    closed_at: float | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    messages: tuple[Message, ...] = ()

    @property
    def score(self) -> float | None:
        """Queue score: lower is served first. None until the contact is queued."""
        if self.queued_at is None:
            return None
        return round(self.queued_at - self.priority, 6)

    def replace(self, **changes: Any) -> Contact:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": str(self.channel),
            "address": self.address,
            "state": str(self.state),
            "team": self.team,
            "priority": self.priority,
            "language": self.language,
            "verified": self.verified,
            "verify_method": self.verify_method,
            "account": self.account,
            "subject": self.subject,
            "agent": self.agent,
            "disposition": self.disposition,
            "created_at": to_iso(self.created_at),
            "queued_at": to_iso(self.queued_at),
            "sla_due": to_iso(self.sla_due),
            "assigned_at": to_iso(self.assigned_at),
            "lease_until": to_iso(self.lease_until),
            "closed_at": to_iso(self.closed_at),
            "meta": dict(self.meta),
            "messages": [m.to_dict() for m in self.messages],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Contact:
        created_at = _required_time(data, "created_at")
        return cls(
            id=str(data["id"]),
            channel=Channel(data["channel"]),
            address=str(data["address"]),
            state=ContactState(data.get("state", ContactState.IN_FLOW)),
            team=data.get("team"),
            priority=int(data.get("priority") or 0),
            language=data.get("language"),
            verified=bool(data.get("verified", False)),
            verify_method=data.get("verify_method"),
            account=data.get("account"),
            subject=data.get("subject"),
            agent=data.get("agent"),
            disposition=data.get("disposition"),
            created_at=created_at,
            queued_at=from_iso(data.get("queued_at")),
            sla_due=from_iso(data.get("sla_due")),
            assigned_at=from_iso(data.get("assigned_at")),
            lease_until=from_iso(data.get("lease_until")),
            closed_at=from_iso(data.get("closed_at")),
            meta=dict(data.get("meta") or {}),
            messages=tuple(Message.from_dict(m) for m in data.get("messages") or ()),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Contact:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True, slots=True)
class Event:
    """One fact in a contact's history (``contact_enqueued``, ``contact_claimed``, ...)."""

    contact_id: str
    kind: str
    at: float
    team: str | None = None
    agent: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "kind": self.kind,
            "at": to_iso(self.at),
            "team": self.team,
            "agent": self.agent,
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        at = _required_time(data, "at")
        return cls(
            contact_id=str(data["contact_id"]),
            kind=str(data["kind"]),
            at=at,
            team=data.get("team"),
            agent=data.get("agent"),
            data=dict(data.get("data") or {}),
        )


@dataclass(frozen=True, slots=True)
class Intake:
    """What storing an inbound message gave: the contact, and whether it was a duplicate."""

    contact: Contact
    message: Message
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Claim:
    """A lease on a contact: the agent holds it until ``lease_until`` unless renewed."""

    contact_id: str
    team: str
    agent: str
    lease_until: float
    score: float


@dataclass(frozen=True, slots=True)
class Position:
    """Where a waiting contact stands: ``ahead`` contacts are served before it."""

    team: str
    ahead: int
    waiting: int


@dataclass(frozen=True, slots=True)
class QueueStats:
    team: str
    waiting: int
    assigned: int
    oldest_wait_s: float | None


@dataclass(frozen=True, slots=True)
class Parcel:
    """One outgoing message in the store's outbox, waiting to reach a provider.

    ``payload`` is the sender's (the store keeps it as JSON and never reads it). A taker
    holds the parcel until ``due_at``; ``attempts`` counts the takes and fences the
    holder: settling or deferring with a stale count does nothing.
    """

    id: str
    payload: Mapping[str, Any]
    attempts: int
    due_at: float
    posted_at: float
