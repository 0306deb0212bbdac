"""Key names and record encodings of the Redis store, and loading of its Lua scripts.

Layout (every key starts with ``sb:``; queue keys carry a hash tag per team):

    sb:seq                       counter: queue sequence, FIFO tie-breaker (INCR)
    sb:teams                     set: every team a contact was ever queued in
    sb:contacts                  zset: contact id -> created_at (list_contacts, newest first)
    sb:addr:<address>            zset: contact id -> created_at, per address
    sb:contact:<id>              hash: the contact's fields under short names (FIELDS)
    sb:msgs:<id>                 list: the contact's messages, JSON, oldest first
    sb:events:<id>               list: the ids of the contact's events in sb:events
    sb:events                    stream: every event (fields c k t tm ag d), ids from the
                                 event time; never trimmed, it is the history
    sb:intake:<key>              string: "<message index>:<contact id>" of an idempotency key
    sb:session:<key>             string: {"x": expires_at, "d": data}, with a PX ttl
    {sb:team:<team>}:ready       zset: "<seq:012d>:<id>" -> queue score
    {sb:team:<team>}:leased      zset: contact id -> lease_until
    {sb:team:<team>}:queued      zset: contact id -> queued_at (oldest wait)

The ready score is ``queued_at - priority`` to the microsecond; equal scores are ordered by
member, and the member starts with the zero-padded queue sequence, so ties are FIFO.

Scripts declare their keys in KEYS, except claim: the chosen contact's hash and event list
are known only inside it. On Redis Cluster every script that touches a team's keys and a
contact's keys spans slots; this layout is for one Redis (with replicas), not a cluster.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from queues.models import Channel, Contact, ContactState, Direction, Event, Message

PREFIX = "sb:"
SEQ_KEY = PREFIX + "seq"
TEAMS_KEY = PREFIX + "teams"
CONTACTS_KEY = PREFIX + "contacts"
EVENTS_KEY = PREFIX + "events"
CONTACT_PREFIX = PREFIX + "contact:"
MESSAGES_PREFIX = PREFIX + "msgs:"
CONTACT_EVENTS_PREFIX = PREFIX + "events:"
ADDRESS_PREFIX = PREFIX + "addr:"
INTAKE_PREFIX = PREFIX + "intake:"
SESSION_PREFIX = PREFIX + "session:"
CHANNEL_PREFIX = PREFIX + "pubsub:"

SCRIPTS = (
    "intake",
    "append_message",
    "update_contact",
    "add_event",
    "close",
    "enqueue",
    "claim",
    "heartbeat",
    "ack",
    "release",
    "transfer",
    "remove",
    "requeue_expired",
    "events",
)

#: Contact field -> hash field. ``id`` is in the key; ``sq`` (queue sequence) is internal.
FIELDS: Mapping[str, str] = {
    "channel": "ch",
    "address": "ad",
    "state": "st",
    "team": "tm",
    "priority": "pr",
    "language": "lg",
    "verified": "vf",
    "verify_method": "vm",
    "account": "ac",
    "subject": "sj",
    "queued_at": "qa",
    "sla_due": "sd",
    "agent": "ag",
    "assigned_at": "aa",
    "lease_until": "lu",
    "disposition": "dp",
    "created_at": "ca",
    "closed_at": "cl",
    "meta": "mt",
}
_TIMES = frozenset(
    {"queued_at", "sla_due", "assigned_at", "lease_until", "created_at", "closed_at"}
)


def contact_key(contact_id: str) -> str:
    return CONTACT_PREFIX + contact_id


def messages_key(contact_id: str) -> str:
    return MESSAGES_PREFIX + contact_id


def contact_events_key(contact_id: str) -> str:
    return CONTACT_EVENTS_PREFIX + contact_id


def history_keys(contact_id: str) -> list[str]:
    """The keys every transition writes: the contact, its event ids, the event stream."""
    return [contact_key(contact_id), contact_events_key(contact_id), EVENTS_KEY]


def address_key(address: str) -> str:
    return ADDRESS_PREFIX + address


def intake_key(key: str) -> str:
    return INTAKE_PREFIX + key


def session_key(key: str) -> str:
    return SESSION_PREFIX + key


def team_tag(team: str) -> str:
    return "{" + PREFIX + "team:" + team + "}"


def ready_key(team: str) -> str:
    return team_tag(team) + ":ready"


def leased_key(team: str) -> str:
    return team_tag(team) + ":leased"


def queued_key(team: str) -> str:
    return team_tag(team) + ":queued"


@cache
def script_source(name: str) -> str:
    """A script's text with the shared helpers of ``_common.lua`` in front of it."""
    lua = resources.files("queues") / "lua"
    return (
        (lua / "_common.lua").read_text("utf-8") + "\n" + (lua / f"{name}.lua").read_text("utf-8")
    )


# -- values ---------------------------------------------------------------------------------
def fmt_time(ts: float) -> str:
    """POSIX seconds to the microsecond, as a string that parses back to the same float."""
    return repr(round(float(ts), 6))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def encode_field(name: str, value: Any) -> str | None:
    """A contact field as its hash value; None means "absent" (the field is deleted)."""
    if value is None:
        return None
    if name in _TIMES:
        return fmt_time(value)
    if name == "verified":
        return "1" if value else None
    if name == "meta":
        return _dumps(dict(value)) if value else None
    if name == "priority":
        return str(int(value))
    return str(value)


def contact_fields(contact: Contact) -> list[str]:
    """The contact as a flat [field, value, ...] list for HSET, absent values left out."""
    flat: list[str] = []
    for name, short in FIELDS.items():
        value = encode_field(name, getattr(contact, name))
        if value is not None:
            flat += [short, value]
    return flat


def pairs(flat: list[Any]) -> dict[str, str]:
    """A flat [field, value, ...] reply as a dict."""
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


def _time(fields: Mapping[str, str], short: str) -> float | None:
    value = fields.get(short)
    return None if value is None else float(value)


def decode_contact(
    contact_id: str, fields: Mapping[str, str], messages: tuple[Message, ...] = ()
) -> Contact:
    created_at = _time(fields, "ca")
    if created_at is None:
        raise ValueError(
            f"contact {contact_id!r} has no created_at in Redis; the record is damaged"
        )
    meta = fields.get("mt")
    return Contact(
        id=contact_id,
        channel=Channel(fields["ch"]),
        address=fields["ad"],
        created_at=created_at,
        state=ContactState(fields.get("st", ContactState.IN_FLOW)),
        team=fields.get("tm"),
        priority=int(fields.get("pr", "0")),
        language=fields.get("lg"),
        verified=fields.get("vf") == "1",
        verify_method=fields.get("vm"),
        account=fields.get("ac"),
        subject=fields.get("sj"),
        queued_at=_time(fields, "qa"),
        sla_due=_time(fields, "sd"),
        agent=fields.get("ag"),
        assigned_at=_time(fields, "aa"),
        lease_until=_time(fields, "lu"),
        disposition=fields.get("dp"),
        closed_at=_time(fields, "cl"),
        meta=json.loads(meta) if meta else {},
        messages=messages,
    )


def encode_message(message: Message) -> str:
    data: dict[str, Any] = {
        "i": message.id,
        "d": str(message.direction),
        "x": message.text,
        "t": round(message.at, 6),
    }
    if message.author is not None:
        data["a"] = message.author
    if message.meta:
        data["m"] = dict(message.meta)
    return _dumps(data)


def decode_message(raw: str) -> Message:
    data = json.loads(raw)
    return Message(
        id=data["i"],
        direction=Direction(data["d"]),
        text=data["x"],
        at=float(data["t"]),
        author=data.get("a"),
        meta=data.get("m") or {},
    )


def encode_event(event: Event) -> list[str]:
    """An event as the stream entry's values: id, kind, time, team, agent, data JSON."""
    data = _dumps(dict(event.data)) if event.data else ""
    return [
        event.contact_id,
        event.kind,
        fmt_time(event.at),
        event.team or "",
        event.agent or "",
        data,
    ]


def decode_event(fields: Mapping[str, str]) -> Event:
    """An event from its stream entry (fields c, k, t, tm, ag, d; '' when absent)."""
    data = fields.get("d")
    return Event(
        contact_id=fields["c"],
        kind=fields["k"],
        at=float(fields["t"]),
        team=fields.get("tm") or None,
        agent=fields.get("ag") or None,
        data=json.loads(data) if data else {},
    )
