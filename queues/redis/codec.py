"""Record encodings of the Redis store: flow records, queue entries, events (messages:
``messages.py``).

A contact is two hashes (``queues/redis/keys.py``): its flow record under its shard and,
once queued, its queue entry under a team. ``decode_contact`` merges them; the entry, when
there is one, decides the state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from queues.models import Channel, Contact, ContactState, Event, Message
from queues.updates import META_MERGE

__all__ = [
    "ALL_META",
    "FLOW_FIELDS",
    "LIVE",
    "META_PREFIX",
    "contact_fields",
    "decode_contact",
    "decode_event",
    "encode_event",
    "encode_field",
    "entry_refs",
    "flow_changes",
    "fmt_time",
    "meta_fields",
    "pairs",
]

#: Flow fields (the ones ``update_contact`` and intake write) -> hash field.
FLOW_FIELDS: Mapping[str, str] = {
    "channel": "ch",
    "address": "ad",
    "created_at": "ca",
    "language": "lg",
    "verified": "vf",
    "verify_method": "vm",
    "account": "ac",
    "subject": "sj",
    "sla_due": "sd",
    "meta": "mt",  # earlier versions: all of it as one JSON; now one m:<key> field each
}
#: Flow fields ``m:<key>`` hold the meta's values (JSON), one each.
META_PREFIX = "m:"
#: In ``update_contact``'s fields to delete: every ``m:`` field.
ALL_META = "m:*"
_TIMES = frozenset(
    {"queued_at", "sla_due", "assigned_at", "lease_until", "created_at", "closed_at"}
)
#: Entry states in which the entry is where the contact stands.
LIVE = frozenset({"waiting", "assigned", "resolved", "abandoned"})
_FLOW_STATES = frozenset({ContactState.IN_FLOW, ContactState.RESOLVED, ContactState.ABANDONED})


def fmt_time(ts: float) -> str:
    """POSIX seconds to the microsecond, as a string that parses back to the same float."""
    return repr(round(float(ts), 6))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def encode_field(name: str, value: Any) -> str | None:
    """A flow field as its hash value; None means "absent" (the field is deleted)."""
    if value is None:
        return None
    if name in _TIMES:
        return fmt_time(value)
    if name == "verified":
        return "1" if value else None
    return str(value)


def meta_fields(meta: Mapping[str, Any]) -> list[str]:
    """The meta as flow fields ``m:<key>`` -> JSON value, flat: one field each rather than
    one JSON of all, so that each value stays short and Redis keeps the record in its
    compact encoding (a hash whose values are all under 64 bytes is a listpack, about a
    quarter of the memory of a hash table)."""
    flat: list[str] = []
    for key, value in meta.items():
        flat += [META_PREFIX + key, _dumps(value)]
    return flat


def flow_changes(changes: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """``update_contact``'s changes as flow fields to set (flat pairs) and to delete; a new
    meta deletes every ``m:`` field first (``ALL_META``) and sets its own; a ``meta_merge``
    sets or deletes the ``m:<key>`` fields it names, one each."""
    to_set: list[str] = []
    to_delete: list[str] = []
    for name, value in changes.items():
        if name == "meta":
            to_delete += [ALL_META, FLOW_FIELDS["meta"]]
            to_set += meta_fields(value or {})
            continue
        if name == META_MERGE:
            to_delete += [META_PREFIX + key for key, v in value.items() if v is None]
            to_set += meta_fields({key: v for key, v in value.items() if v is not None})
            continue
        encoded = encode_field(name, value)
        if encoded is None:
            to_delete.append(FLOW_FIELDS[name])
        else:
            to_set += [FLOW_FIELDS[name], encoded]
    return to_set, to_delete


def contact_fields(contact: Contact) -> list[str]:
    """A new contact's flow record as a flat [field, value, ...] list, absent values left
    out; ``st`` only when it is not in_flow (a contact is created in its flow)."""
    flat: list[str] = []
    for name, short in FLOW_FIELDS.items():
        if name == "meta":
            flat += meta_fields(contact.meta)
            continue
        value = encode_field(name, getattr(contact, name))
        if value is not None:
            flat += [short, value]
    if contact.state in _FLOW_STATES and contact.state is not ContactState.IN_FLOW:
        flat += ["st", str(contact.state)]
    return flat


def pairs(flat: list[Any]) -> dict[str, str]:
    """A flat [field, value, ...] reply as a dict."""
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


def _time(fields: Mapping[str, str], short: str) -> float | None:
    value = fields.get(short)
    return None if value is None else float(value)


def decode_contact(
    contact_id: str,
    flow: Mapping[str, str],
    team: str | None = None,
    entry: Mapping[str, str] | None = None,
    messages: tuple[Message, ...] = (),
) -> Contact:
    """The contact from its flow record and, when it has one, its team's queue entry."""
    created_at = _time(flow, "ca")
    if created_at is None or "ch" not in flow:
        raise ValueError(f"contact {contact_id!r} has no flow record in Redis; it is damaged")
    meta: dict[str, Any] = json.loads(flow["mt"]) if "mt" in flow else {}
    meta.update(
        (field[len(META_PREFIX) :], json.loads(value))
        for field, value in flow.items()
        if field.startswith(META_PREFIX)
    )
    queue: Mapping[str, str] = entry or {}
    state = queue.get("st") or flow.get("st") or ContactState.IN_FLOW
    if state in ("moving", "moved"):  # a move not yet finished: it waits in the destination
        state, team = ContactState.WAITING, queue.get("mv", team)
    return Contact(
        id=contact_id,
        channel=Channel(flow["ch"]),
        address=flow["ad"],
        created_at=created_at,
        state=ContactState(state),
        team=team if queue else None,
        priority=int(queue.get("pr", "0")),
        language=flow.get("lg"),
        verified=flow.get("vf") == "1",
        verify_method=flow.get("vm"),
        account=flow.get("ac"),
        subject=flow.get("sj"),
        queued_at=_time(queue, "qa"),
        sla_due=_time(flow, "sd"),
        agent=queue.get("ag"),
        assigned_at=_time(queue, "aa"),
        lease_until=_time(queue, "lu"),
        disposition=queue.get("dp"),
        closed_at=_time(queue, "cl") if queue else _time(flow, "cl"),
        meta=meta,
        messages=messages,
    )


def entry_refs(team: str, entry: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (team, stream id) of each queue event an entry refers to, oldest first."""
    refs = []
    for n in range(1, int(entry.get("n", "0")) + 1):
        ref = entry.get(str(n))
        if ref is None:
            continue
        where, _, stream_id = ref.rpartition(" ")
        refs.append((where or team, stream_id))
    return refs


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


def decode_event(entry_id: str, fields: Mapping[str, str]) -> Event:
    """An event from its stream entry (fields c, k, t, tm, ag, d; '' when absent). Its time
    t is the microseconds after the entry id's millisecond (digits only: ``stream_add`` in
    ``_common.lua``), or in full (a float's text: an earlier version, or a clock behind)."""
    data, t = fields.get("d"), fields["t"]
    at = (int(entry_id.partition("-")[0]) * 1000 + int(t)) / 1e6 if t.isdigit() else float(t)
    return Event(
        contact_id=fields["c"],
        kind=fields["k"],
        at=at,
        team=fields.get("tm") or None,
        agent=fields.get("ag") or None,
        data=json.loads(data) if data else {},
    )
