"""Record encodings of the Redis store: flow records, queue entries, messages, events.

A contact is two hashes (``queues/redis/keys.py``): its flow record under its shard and,
once queued, its queue entry under a team. ``decode_contact`` merges them; the entry, when
there is one, decides the state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from queues.models import Channel, Contact, ContactState, Direction, Event, Message, fill
from queues.updates import META_MERGE

__all__ = [
    "ALL_META",
    "FLOW_FIELDS",
    "LIVE",
    "META_PREFIX",
    "contact_fields",
    "decode_contact",
    "decode_event",
    "decode_message",
    "encode_event",
    "encode_field",
    "encode_message",
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


#: A message's direction in its encoding; "f" is an outbound flow prompt (meta {"flow": true}).
_DIRECTIONS = {"i": Direction.IN, "o": Direction.OUT, "f": Direction.OUT}
_FLOW_META = {"flow": True}
_NEW_ID = re.compile(r"[0-9a-f]{20}")


def _base_us(contact_id: str | None) -> int | None:
    """The time in an id's first 12 hex digits (``new_id``), in microseconds."""
    if contact_id is None or not _NEW_ID.fullmatch(contact_id):
        return None
    return int(contact_id[:12], 16) * 1000


def _compact_id_and_time(message: Message, contact_id: str | None) -> tuple[str, Any]:
    """The message's id and time as kept: ``"~<8 hex>"`` and microseconds after its
    contact's id time when the id's time is the message's millisecond (as ``new_id`` makes
    it) and both read back exactly; else the id and the time as they are."""
    at = round(message.at, 6)
    base = _base_us(contact_id)
    if base is not None and _NEW_ID.fullmatch(message.id):
        at_us = round(at * 1_000_000)
        if at_us / 1_000_000 == at and f"{at_us // 1000:012x}" == message.id[:12]:
            return "~" + message.id[12:], at_us - base
    return message.id, at


def encode_message(
    message: Message,
    template: tuple[str, Mapping[str, str]] | None = None,
    contact_id: str | None = None,
) -> str:
    """A message as a JSON array: [id, direction, text, at(, author(, meta))].

    Positional and with one-letter directions, as a waiting crowd's histories are most of
    what Redis holds; with a ``template`` (its id and the params it uses, ``texts.py``)
    the text is ``{"T": id, "p": params}``; with its ``contact_id``, an id made in the
    message's millisecond is "~" and its last 8 hex digits, and the time is whole
    microseconds after the contact id's time. ``decode_message`` also reads the older
    object form.
    """
    meta = dict(message.meta)
    if message.direction is Direction.IN:
        code = "i"
    elif meta == _FLOW_META and message.author is None:
        code, meta = "f", {}
    else:
        code = "o"
    text: Any = message.text
    if template is not None:
        text = {"T": template[0]}
        if template[1]:
            text["p"] = dict(template[1])
    kept_id, at = _compact_id_and_time(message, contact_id)
    data: list[Any] = [kept_id, code, text, at]
    if meta:
        data += [message.author, meta]
    elif message.author is not None:
        data.append(message.author)
    return _dumps(data)


def decode_message(
    raw: str, templates: Mapping[str, str] | None = None, contact_id: str | None = None
) -> Message:
    """The message from its encoding; ``templates`` (id -> template) fill a prompt kept as
    a template id and params (one missing says so in its text rather than failing), and
    ``contact_id`` gives a compact id and time theirs."""
    if raw.startswith("["):
        data = json.loads(raw)
        code, text = data[1], data[2]
        message_id, at = data[0], float(data[3])
        if message_id.startswith("~"):
            base = _base_us(contact_id)
            if base is None:
                raise ValueError(f"message {message_id!r} needs its contact's id to be read")
            at_us = base + int(data[3])
            message_id, at = f"{at_us // 1000:012x}{message_id[1:]}", at_us / 1_000_000
        meta = data[5] if len(data) > 5 else {}
        template: str | None = None
        params: dict[str, str] = {}
        if isinstance(text, dict):
            params = text.get("p") or {}
            template = (templates or {}).get(text["T"])
            if template is None:
                text = f"(prompt {text['T']} is missing from the store)"
            else:
                text = fill(template, params)
        return Message(
            id=message_id,
            direction=_DIRECTIONS[code],
            text=text,
            at=at,
            author=data[4] if len(data) > 4 else None,
            meta=dict(_FLOW_META) if code == "f" else meta,
            template=template,
            params=params,
        )
    data = json.loads(raw)  # the object form of earlier versions
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
