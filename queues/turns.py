"""A turn: an inbound message of a contact in its flow, with everything it changes, kept as
one unit (``Store.apply_turn``).

A message that only moves a flow along (a first message, a keypress on a menu, an answer to
a question) changes four things: the contact (created by its first message), its history
(the message and the prompts said back), the contact's language, and the conversation's
session (the flow's next state). The router computes all of it from one read and hands it
to the store as a ``Turn``; the store applies it whole or not at all:

- the session must still carry ``session_tag`` (what the router read; "" for none), and
  so must the other sessions the turn names (``unchanged``), the turn's ``lock`` must be
  free, and a contact the turn does not create must exist and still
  be in its flow: otherwise nothing is written (``CHANGED``; another message of the
  conversation came first, or the flow was ended from outside) and the router takes its
  locked path;
- a ``key`` already seen writes nothing (``SEEN``): the provider retried, and the router
  answers it as a retry.

A flow step whose only effect is to queue the contact carries it as ``enqueue``
(``TurnEnqueue``): the contact's SLA due time and meta keys are set and it joins the team's
queue (its event, its buckets) in the same unit, as ``update_contact`` and ``enqueue`` would,
and the result says where it stands (``position``). Such a turn usually leaves the session
as it is (``session`` None: its tag is still checked): what the customer is told next
depends on that position, so the router writes the session after the turn lands, and a
router killed in between leaves what a crash after ``enqueue`` leaves on the locked path (a
session still in its flow for a queued contact: a retry tells the position again).

Memory applies it in one step of the event loop; SQLite in one transaction; Redis in one
script on one server (``queues/redis/lua/turn.lua``). On a Redis Cluster the keys of a turn
live on several slots, so the store applies it step by step (``apply_in_steps``), holding
the turn's lock meanwhile so that the locked path and other turns of the conversation keep
out: three more round trips, and a process killed between the steps leaves what a crash
leaves on the locked path (a message stored, not yet handled: its retry finishes the work).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from queues.errors import ContactNotFound
from queues.models import Contact, ContactState, Message, Position

if TYPE_CHECKING:
    from queues.base import Store

__all__ = ["Turn", "TurnEnqueue", "TurnOutcome", "TurnResult", "apply_in_steps"]

#: How long ``apply_in_steps`` may hold a turn's lock (a process that dies holding it).
LOCK_TTL_S = 30.0


@dataclass(frozen=True, slots=True)
class TurnEnqueue:
    """The turn queues its contact: ``update_contact(sla_due=..., meta_merge=...)`` then
    ``enqueue(team, delay_s=...)``, after the message and the prompts."""

    team: str
    delay_s: int = 0
    sla_due: float | None = None
    #: Meta keys to set (None: to remove), the rest of the meta as the store holds it.
    meta_merge: Mapping[str, Any] = field(default_factory=dict)

    def changes(self) -> dict[str, Any]:
        """What ``update_contact`` is given."""
        changes: dict[str, Any] = {"sla_due": self.sla_due}
        if self.meta_merge:
            changes["meta_merge"] = dict(self.meta_merge)
        return changes


@dataclass(frozen=True, slots=True)
class Turn:
    """What one inbound message changes while its contact is in its flow."""

    session_key: str
    #: The session's tag when the router read it ("" when there was none).
    session_tag: str
    #: The session to keep for the conversation's next message; None leaves it as it is
    #: (its tag is checked all the same).
    session: dict[str, Any] | None
    session_ttl_s: float
    #: The contact: created by this turn when ``new``, else only its ``id`` is read.
    contact: Contact
    new: bool
    #: The inbound message as the history keeps it, and its idempotency key.
    message: Message
    key: str | None = None
    #: The prompts said back, in order, after the message.
    said: tuple[Message, ...] = ()
    #: The contact's language after the turn, when the flow changed it.
    language: str | None = None
    #: A lock (``Store.acquire_lock``) that must be free: whoever holds it works on the
    #: conversation in steps of their own (the router's locked path).
    lock: str | None = None
    #: Other sessions that must still carry the tag the router knows ("" for none): what
    #: the turn was computed from (the incident book; no survey waiting for an answer).
    unchanged: tuple[tuple[str, str], ...] = ()
    #: The contact joins a team's queue in the turn, after its message and prompts.
    enqueue: TurnEnqueue | None = None


class TurnOutcome(StrEnum):
    APPLIED = "applied"
    #: The session or the contact moved on since they were read: nothing written.
    CHANGED = "changed"
    #: The message's key was seen before: nothing written.
    SEEN = "seen"


@dataclass(frozen=True, slots=True)
class TurnResult:
    outcome: TurnOutcome
    #: The contact after the turn (no messages), when applied.
    contact: Contact | None = None
    #: The tag of the session the turn wrote, when applied ("" when it wrote none).
    session_tag: str = ""
    #: Where the contact stands in its team's queue, when the turn queued it.
    position: Position | None = None

    @property
    def applied(self) -> bool:
        return self.outcome is TurnOutcome.APPLIED


CHANGED = TurnResult(TurnOutcome.CHANGED)
SEEN = TurnResult(TurnOutcome.SEEN)


async def apply_in_steps(store: Store, turn: Turn) -> TurnResult:
    """The turn through the store's single operations, checks first, holding its lock.

    Atomic on the memory store (none of its operations yields to the event loop); on a
    Redis Cluster, see the module's docstring.
    """
    if turn.lock is None:
        return await _steps(store, turn)
    owner = uuid.uuid4().hex  # held while the steps run: a locked path waits, or is waited for
    if not await store.acquire_lock(turn.lock, owner, ttl_s=LOCK_TTL_S):
        return CHANGED
    try:
        return await _steps(store, turn)
    finally:
        await store.release_lock(turn.lock, owner)


async def _steps(store: Store, turn: Turn) -> TurnResult:
    keys = [turn.session_key, *(key for key, _ in turn.unchanged)]
    tags = [tag for _, tag in await store.get_sessions(keys)]
    if tags != [turn.session_tag, *(tag for _, tag in turn.unchanged)]:
        return CHANGED
    if not turn.new:
        try:
            current = await store.get_contact(turn.contact.id, messages=False)
        except ContactNotFound:
            return CHANGED
        if current.state is not ContactState.IN_FLOW:
            return CHANGED
    intake = await store.intake(turn.contact, turn.message, key=turn.key)
    if intake.duplicate:
        return SEEN
    contact = intake.contact
    for said in turn.said:
        await store.append_message(contact.id, said)
    if turn.language is not None and turn.language != contact.language:
        contact = await store.update_contact(contact.id, language=turn.language)
    tag = ""
    if turn.session is not None:
        stored = await store.put_session_if(
            turn.session_key, turn.session, tag=turn.session_tag, ttl_s=turn.session_ttl_s
        )
        if not stored:
            return CHANGED
        _, tag = await store.get_session_tagged(turn.session_key)
    if turn.enqueue is None:
        return TurnResult(TurnOutcome.APPLIED, contact, tag)
    queue = turn.enqueue
    await store.update_contact(contact.id, **queue.changes())
    contact = await store.enqueue(contact.id, queue.team, delay_s=queue.delay_s)
    return TurnResult(TurnOutcome.APPLIED, contact, tag, await store.position(contact.id))
