"""Which contacts an incident affects: links between open incidents and matching contacts.

A contact matches an open incident when the incident is on the contact's team or on every
team (``"*"``); for an incident opened from a topic suggestion (it has a ``topic``), when
the contact's first message is about that topic, whatever team it ends up in (a topic such
as ``internet+outage`` is specific; the incident's team is where it is handled). A contact
with no first text (a call) cannot be matched by topic and is matched by team alone.
Contacts are linked when they arrive (``link_arrival``: at their first message, by topic
or ``"*"``, and again when they are queued, by team) and, when an incident opens, the ones
already open (``link_open_contacts``).

The links are store documents, so every router process sees the same links, linking is
idempotent and nothing new is indexed: documents already are a (kind, key) index.

* kind ``incident_links:<incident id>``, key = contact id: the incident's contacts
  (``all_docs`` lists them in O(linked), on every backend; on Redis one hash per incident);
* kind ``contact_incident``, key = contact id: ``{"incident": id}``, the first incident the
  contact was linked to (what the contact's JSON shows as ``incident``).

Both are written with ``put_doc(..., tag="")`` (only when absent): two processes linking
the same contact at once write the link once, and a retried link changes nothing. Linking
costs a few store calls per arriving contact and one pass over the open contacts when an
incident opens; nothing runs per waiting contact per second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable
from typing import Any

import structlog

from queues import Channel, Contact, ContactNotFound, ContactState, Direction, Event, Store
from router.outages.topics import topics_of
from router.routing import ALL_TEAMS, Incident, Incidents

__all__ = [
    "LINKS_PREFIX",
    "REVERSE_KIND",
    "incident_of",
    "link",
    "link_arrival",
    "link_open_contacts",
    "linked_contacts",
    "linked_ids",
    "matches",
]

log = structlog.get_logger(__name__)

LINKS_PREFIX = "incident_links:"
REVERSE_KIND = "contact_incident"
#: When an incident opens: at most this many waiting (and held) contacts per team are
#: linked, and contacts in their flow are looked for among this many newest contacts.
OPEN_SCAN_LIMIT = 10_000
RECENT_SCAN = 2_000
_READ_CHUNK = 100


def _links_kind(incident_id: str) -> str:
    return LINKS_PREFIX + incident_id


def matches(
    incident: Incident,
    *,
    team: str | None,
    topics: Collection[str],
    has_text: bool,
    at: float | None = None,
) -> bool:
    """Whether a contact in ``team``'s queue (None: not queued yet) whose first message is
    about ``topics`` belongs to ``incident`` (open at ``at``, or now)."""
    if not incident.is_open(at):
        return False
    if incident.topic is not None and has_text:
        return incident.topic in topics  # the topic is specific: whatever team it ends in
    return incident.team == ALL_TEAMS or (team is not None and team == incident.team)


async def link(store: Store, incident: Incident, contact: Contact, *, at: float) -> bool:
    """Link ``contact`` to ``incident``; False when it already was (nothing changes)."""
    data = {
        "contact_id": contact.id,
        "channel": str(contact.channel),
        "address": contact.address,
        "account": contact.account,
        "linked_at": at,
    }
    added = await store.put_doc(_links_kind(incident.id), contact.id, data, tag="") is not None
    await store.put_doc(REVERSE_KIND, contact.id, {"incident": incident.id}, tag="")
    if added:
        await store.add_event(
            Event(
                contact_id=contact.id,
                kind="incident_linked",
                at=at,
                team=contact.team,
                data={"incident": incident.id},
            )
        )
        log.info("incident_linked", incident_id=incident.id, contact_id=contact.id)
    return added


async def link_arrival(
    store: Store,
    incidents: Incidents,
    contact: Contact,
    *,
    team: str | None,
    topics: Collection[str],
    has_text: bool,
    at: float,
) -> list[str]:
    """Link an arriving contact to every open incident it matches; the ids it was newly
    linked to. Called at its first message (``team`` None, ``topics`` its text's) and when
    it is queued (``team`` its queue, no ``topics``: the first message had its turn)."""
    linked = []
    for incident in incidents.items:
        if matches(incident, team=team, topics=topics, has_text=has_text, at=at) and await link(
            store, incident, contact, at=at
        ):
            linked.append(incident.id)
    return linked


async def link_open_contacts(
    store: Store, incident: Incident, teams: Iterable[str], *, at: float
) -> int:
    """Link the contacts already open (in their flow, waiting or with an agent) that match
    a newly opened ``incident``; returns how many were newly linked."""
    scope = list(teams) if incident.team == ALL_TEAMS else [incident.team]
    # Contacts in their flow are among the newest (a flow takes minutes): the newest
    # RECENT_SCAN of every state, not a search of the whole history for that state.
    recent = await store.list_contacts(limit=RECENT_SCAN)
    candidates = {c.id: c for c in recent if c.state is ContactState.IN_FLOW}
    for state in (ContactState.WAITING, ContactState.ASSIGNED):  # indexed by team
        for team in scope:
            found = await store.list_contacts(state=str(state), team=team, limit=OPEN_SCAN_LIMIT)
            candidates.update((c.id, c) for c in found)
    linked = 0
    for contact in candidates.values():
        has_text = contact.channel is not Channel.VOICE
        topics: frozenset[str] = frozenset()
        if incident.topic is not None and has_text:
            topics = topics_of(await _first_text(store, contact.id))
        if matches(incident, team=contact.team, topics=topics, has_text=has_text, at=at):
            linked += await link(store, incident, contact, at=at)
    log.info("incident_linked_open", incident_id=incident.id, linked=linked)
    return linked


async def _first_text(store: Store, contact_id: str) -> str:
    contact = await store.get_contact(contact_id)
    for message in contact.messages:
        if message.direction is Direction.IN and message.text:
            return message.text
    return ""


async def linked_ids(store: Store, incident_id: str) -> list[str]:
    """The ids of the contacts linked to ``incident_id``, in the order they were linked."""
    docs = await store.all_docs(_links_kind(incident_id))
    return sorted(docs, key=lambda cid: (_linked_at(docs[cid]), cid))


def _linked_at(data: dict[str, Any]) -> float:
    value = data.get("linked_at")
    return float(value) if isinstance(value, int | float) else 0.0


async def linked_contacts(store: Store, incident_id: str) -> list[Contact]:
    """The contacts linked to ``incident_id`` (without messages), in the order they were
    linked; an unknown incident has none. A contact the store no longer has is left out."""
    ids = await linked_ids(store, incident_id)
    found: list[Contact] = []
    for start in range(0, len(ids), _READ_CHUNK):
        chunk = ids[start : start + _READ_CHUNK]
        got = await asyncio.gather(
            *(store.get_contact(cid, messages=False) for cid in chunk), return_exceptions=True
        )
        for cid, contact in zip(chunk, got, strict=True):
            if isinstance(contact, ContactNotFound):
                log.warning("incident_linked_contact_missing", contact_id=cid)
            elif isinstance(contact, BaseException):
                raise contact
            else:
                found.append(contact)
    return found


async def incident_of(store: Store, contact_id: str) -> str | None:
    """The incident the contact was first linked to, or None."""
    data, _ = await store.get_doc(REVERSE_KIND, contact_id)
    incident = data.get("incident") if data else None
    return str(incident) if incident else None
