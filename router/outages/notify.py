"""Telling an incident's contacts what happens, each on its own channel, once each.

Every update goes through the durable outbox (``channels.Courier``): one parcel per
contact under the id ``incident:<incident>:<update>:<contact>``. The store refuses an id
it has seen (``Store.post_parcel``), so a retried request, or two processes running the
same one, post nothing twice, and a process that dies half-way leaves the rest to the
retry. ``update`` is the caller's id for the update, or one derived from its text: the
same text sent again is the same update (send it again on purpose with a new id).

A call cannot be written to: voice contacts are skipped and counted (``skipped.voice``);
so are contacts of a channel this router does not run (``skipped.channel``). The update
is also kept in each contact's history (an outbound message with ``meta.incident``), once,
by the process whose post was new.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from channels import Courier, Reply
from queues import Channel, Contact, Direction, Message, Store
from router.outages.links import linked_contacts

__all__ = ["RESOLVED_TEXT", "Notified", "notify_linked", "parcel_id", "update_id_for"]

log = structlog.get_logger(__name__)

#: What closing an incident with ``notify`` says when no text is given; ``{incident}`` is
#: the incident's announcement in the contact's language.
RESOLVED_TEXT = {
    "pl": "Awaria została usunięta: {incident}. Dziękujemy za cierpliwość.",
    "en": "The incident is resolved: {incident}. Thank you for your patience.",
    "ru": "Авария устранена: {incident}. Спасибо за терпение.",
    "he": "התקלה תוקנה: {incident}. תודה על הסבלנות.",
}


@dataclass(slots=True)
class Notified:
    """What one update did: how many linked, newly posted, posted before, skipped."""

    incident: str
    update_id: str
    linked: int = 0
    posted: int = 0
    already: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: {"voice": 0, "channel": 0})

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "update_id": self.update_id,
            "linked": self.linked,
            "posted": self.posted,
            "already": self.already,
            "skipped": dict(self.skipped),
        }


def update_id_for(texts: Mapping[str, str]) -> str:
    """The id of an update that names none: derived from its texts."""
    canonical = json.dumps(dict(sorted(texts.items())), ensure_ascii=False)
    return "t" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def parcel_id(incident_id: str, update_id: str, contact_id: str) -> str:
    return f"incident:{incident_id}:{update_id}:{contact_id}"


def text_for(texts: Mapping[str, str], language: str | None, default_language: str) -> str:
    """The update in the contact's language, else the default one, else any."""
    return (
        texts.get(language or "") or texts.get(default_language) or next(iter(texts.values()), "")
    )


async def notify_linked(
    store: Store,
    courier: Courier,
    *,
    incident_id: str,
    texts: Mapping[str, str],
    update_id: str,
    default_language: str,
    at: float,
) -> Notified:
    """Post the update (``texts`` by language) to every contact linked to the incident."""
    done = Notified(incident_id, update_id)
    for contact in await linked_contacts(store, incident_id):
        done.linked += 1
        if contact.channel is Channel.VOICE:
            done.skipped["voice"] += 1
            continue
        if contact.channel not in courier.senders:
            done.skipped["channel"] += 1
            continue
        text = text_for(texts, contact.language, default_language)
        if await _post(
            store, courier, contact, text, (incident_id, update_id), at, default_language
        ):
            done.posted += 1
        else:
            done.already += 1
    log.info("incident_notified", **done.to_dict())
    return done


async def _post(
    store: Store,
    courier: Courier,
    contact: Contact,
    text: str,
    update: tuple[str, str],
    at: float,
    default_language: str,
) -> bool:
    incident_id, update_id = update
    reply = Reply(
        contact_id=contact.id,
        channel=contact.channel,
        address=contact.address,
        text=text,
        language=contact.language or default_language,
        meta={**contact.meta, "incident": incident_id},
        auto=True,
    )
    posted = await courier.post(parcel_id(incident_id, update_id, contact.id), reply, kind="prompt")
    if posted:
        meta = {"incident": incident_id, "update": update_id}
        await store.append_message(contact.id, Message(Direction.OUT, text, at, meta=meta))
    return posted
