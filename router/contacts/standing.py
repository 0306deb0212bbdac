"""Where a waiting customer stands, on every text channel: told when they ask, and once,
unasked, when their wait changes a lot.

Asked. A waiting customer's message that only asks where they stand ("status", "?", or a
word of ``queue_status.keywords`` in any shipped language: ``StatusWords``) is answered with
their position and wait on every text channel; on the channels of ``queue_status.answer``
(shipped: SMS, Telegram, email) every message of a waiting customer is. The answer is the
``queue_status`` prompt (``queue_status_closed`` while the team is closed), kept in the
history as the flow's prompts are.

Unasked. When the wait a customer was last told has changed a lot (``ChangeRule``: the
rounded minutes moved by at least ``large_change_share`` of it and by at least
``large_change_min``), the ``queue_update`` prompt is posted to the durable outbox
(``channels.courier``) as ``standing:<contact>:<n>``, the contact's n-th update: whichever
process finds the change, and however often, it goes out once.

What that costs: nothing per waiting contact per second, and a bounded amount per claim.
The wait is linear in the place (``Pace``), so from what a customer was told and where they
stand, ``ChangeRule.departures_until`` says how many contacts must leave the queue before
the change can be large. Each team counts the contacts claimed from it in the store (a
``count_window`` of two slots of 10^9 s: a counter every process adds to atomically), and a
contact is filed under the count at which it is due (documents of kind
``standing-due:<team>:<count>``). Each claim adds one to its team's count and looks only at
the contacts filed under the new count: where they stand now, whether the change is large
(the update goes out), and when to look again. A contact is looked at about log2(place)
times while it waits, never on a timer. The session ``standing:<contact>`` holds what the
customer was last told and which filing is current (a status answer files it anew).

A look runs after its claim has answered the agent, and tells the place the customer has
then: a burst of claims may leave a step out, and a contact claimed before its look is told
nothing. Not noticed at once: a wait that grows with no claim (agents going on a break) is
seen at the contact's next look; out of hours nothing is sent. A contact moved to another
team is not followed there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from typing import Any

import structlog

from channels import Answer, Courier, InboundMessage, Reply, Spoken
from ivr import Engine
from queues import (
    Channel,
    Claim,
    Contact,
    ContactNotFound,
    ContactState,
    Direction,
    Message,
    Position,
    Store,
    StoreUnavailable,
)
from router.contacts.asking import ChangeRule, StatusWords
from router.contacts.flow import FLOW_FOR_CHANNEL, QUEUE_PROMPTS
from router.contacts.status import Announcer, Pace, QueueStatus
from router.routing import round_wait_min
from router.stats import Metrics

__all__ = ["Standings", "due_kind", "standing_key"]

log = structlog.get_logger(__name__)

STATUS_PROMPT = "queue_status"
UPDATE_PROMPT = "queue_update"
#: The team's claim counter: a windowed count of two slots this long (2001-2033-2065), so
#: the total never drops while this code runs.
_COUNTER_SLOT_S = 10**9
_COUNTER_KEEP_S = 3 * 10**9
SESSION_TTL_S = 7 * 86400.0
#: Filings overtaken by claims (a burst through several processes) try again this often.
_FILE_TRIES = 3


def standing_key(contact_id: str) -> str:
    """The session with what the customer was last told, and their current filing."""
    return f"standing:{contact_id}"


def due_kind(team: str, count: int) -> str:
    """The document kind of ``team``'s contacts to look at when its count reaches ``count``."""
    return f"standing-due:{team}:{count}"


class Standings:
    """Status answers, and the unasked updates filed against each team's claims."""

    def __init__(
        self,
        *,
        store: Store,
        engine: Engine,
        announcer: Announcer,
        courier: Courier,
        clock: Callable[[], float],
        default_language: str,
        words: StatusWords,
        rule: ChangeRule,
        answer: Collection[str],
        updates: Collection[str],
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._engine = engine
        self._announcer = announcer
        self._courier = courier
        self._clock = clock
        self._default_language = default_language
        self._words = words
        self._rule = rule
        self._answer = frozenset(Channel(c) for c in answer)
        # Updates need their prompt; a config without it sends none.
        on = UPDATE_PROMPT in engine.book.prompts
        self._updates = frozenset(Channel(c) for c in updates) if on else frozenset()
        self._metrics = metrics
        self._looks: set[asyncio.Task[None]] = set()
        self.looked = 0  # contacts looked at after claims (tests and benchmarks count them)

    # -- asked ------------------------------------------------------------------------------
    async def answer(
        self, contact: Contact, message: InboundMessage, *, duplicate: bool
    ) -> Answer | None:
        """The place and wait for a waiting customer's message that asks for them (on an
        ``answer`` channel: any message); None when it gets no such answer."""
        team = contact.team
        if contact.state is not ContactState.WAITING or team is None:
            return None
        if message.channel is Channel.VOICE:
            return None
        if message.channel not in self._answer and not self._words.asks(message.text):
            return None
        language = contact.language or self._default_language
        status = await self._announcer.status(contact.id, team, self._prompt(message), language)
        if status.position is None:  # claimed meanwhile: the agent answers
            return None
        if not duplicate:  # a provider's retry was told, and filed, the first time
            await self._record(contact, status.told, "asked")
            if contact.channel in self._updates:
                await self.told(contact, status, sent=await self._sent(contact.id))
        log.info("standing_told", contact_id=contact.id, position=status.ahead + 1)
        return Answer(
            contact,
            (status.told,),
            None,
            duplicate=duplicate,
            position=status.position,
            wait_s=status.wait_s,
        )

    def _prompt(self, message: InboundMessage) -> str:
        if STATUS_PROMPT in self._engine.book.prompts:
            return STATUS_PROMPT
        prompt = QUEUE_PROMPTS.get(FLOW_FOR_CHANNEL[message.channel], "queued")
        return prompt if prompt in self._engine.book.prompts else "queued"

    # -- filing -----------------------------------------------------------------------------
    async def told(self, contact: Contact, status: QueueStatus, *, sent: int | None = None) -> None:
        """``contact`` was just told ``status`` (queued, or asked): file it for its next
        look. ``sent``: its updates so far; None for a contact just queued, whose filing
        needs no session (it is the only one)."""
        if contact.channel not in self._updates or status.position is None or status.pace is None:
            return
        position, pace = status.position, status.pace
        told_min = round_wait_min(pace.wait_s(position.ahead, open_hours=True))
        await self._file(contact.id, position.team, position.ahead + 1, told_min, pace, sent=sent)

    async def _file(
        self,
        contact_id: str,
        team: str,
        position: int,
        told_min: int,
        pace: Pace,
        *,
        sent: int | None,
    ) -> None:
        """File the contact under the count at which its next look is due (its session, when
        ``sent`` is given, says which filing is current)."""
        departures = self._rule.departures_until(position, told_min, pace.first_s)
        if departures is None:  # no large change is coming: no more looks
            if sent is not None:
                await self._told(contact_id, team, told_min, None, sent)
            return
        count = await self._count(team, add=0)
        for _ in range(_FILE_TRIES):
            due = count + departures
            if sent is not None:
                await self._told(contact_id, team, told_min, due, sent)
            entry = {"told_min": told_min, "sent": sent or 0}
            await self._store.put_doc(due_kind(team, due), contact_id, entry)
            count = await self._count(team, add=0)
            if count < due:
                return
            # Claims reached that count while this was filed: its look may have missed it.
            # File for the next count; the session makes this filing the current one.
            departures, sent = 1, sent or 0
        log.warning("standing_filing_overtaken", contact_id=contact_id, team=team)

    async def _told(
        self, contact_id: str, team: str, told_min: int, due: int | None, sent: int
    ) -> None:
        record = {"team": team, "told_min": told_min, "due": due, "sent": sent}
        await self._store.put_session(standing_key(contact_id), record, ttl_s=SESSION_TTL_S)

    async def _sent(self, contact_id: str) -> int:
        session = await self._store.get_session(standing_key(contact_id))
        return int(session.get("sent", 0)) if session else 0

    async def _count(self, team: str, *, add: int) -> int:
        (total,) = await self._store.count_window(
            [f"standing:claimed:{team}"],
            slot_s=_COUNTER_SLOT_S,
            slots=2,
            add=add,
            keep_s=_COUNTER_KEEP_S,
        )
        return total

    # -- unasked ----------------------------------------------------------------------------
    async def claimed(self, claim: Claim) -> None:
        """A contact left ``claim.team``'s queue: look at those filed for the new count, in
        the background (the agent does not wait for it)."""
        if not self._updates:
            return
        task = asyncio.create_task(self._look(claim.team))
        self._looks.add(task)
        task.add_done_callback(self._looks.discard)

    async def drain(self) -> None:
        """Wait for the looks under way (tests, shutdown)."""
        while self._looks:
            await asyncio.wait(list(self._looks))

    async def aclose(self) -> None:
        for task in list(self._looks):
            task.cancel()
        await asyncio.gather(*self._looks, return_exceptions=True)

    async def _look(self, team: str) -> None:
        try:
            count = await self._count(team, add=1)
            kind = due_kind(team, count)
            due = await self._store.all_docs(kind)
            if not due:
                return
            pace = await self._announcer.pace(team)
            for contact_id, entry in due.items():
                await self._check(team, count, contact_id, entry, pace)
                await self._store.delete_doc(kind, contact_id)
        except StoreUnavailable as exc:
            log.warning("standing_look_failed", team=team, error=str(exc))

    async def _check(
        self, team: str, count: int, contact_id: str, entry: Mapping[str, Any], pace: Pace
    ) -> None:
        self.looked += 1
        session = await self._store.get_session(standing_key(contact_id))
        told = session or entry
        if session is not None and (session.get("due") != count or session.get("team") != team):
            return  # told again since: a later filing is the current one
        told_min, sent = int(told["told_min"]), int(told.get("sent") or 0)
        position = await self._store.position(contact_id)
        if position is None or position.team != team:
            return  # claimed, gone, or moved to another team
        now_min = round_wait_min(pace.wait_s(position.ahead, open_hours=True))
        large = pace.is_open and self._rule.large(told_min, now_min)
        if large and await self._update(contact_id, position, pace, number=sent + 1):
            told_min, sent = now_min, sent + 1
        await self._file(contact_id, team, position.ahead + 1, told_min, pace, sent=sent)

    async def _update(
        self, contact_id: str, position: Position, pace: Pace, *, number: int
    ) -> bool:
        """Post the ``number``-th update; True once it is in the outbox (from here or from
        another process that found the same change)."""
        try:
            contact = await self._store.get_contact(contact_id, messages=False)
        except ContactNotFound:
            return False
        if contact.channel not in self._courier.senders:
            return False  # the channel is off in this process
        language = contact.language or self._default_language
        wait_s = pace.wait_s(position.ahead)
        told = self._announcer.render(
            UPDATE_PROMPT, language, position.team, position.ahead, wait_s
        )
        reply = Reply(
            contact_id=contact.id,
            channel=contact.channel,
            address=contact.address,
            text=told.text,
            language=language,
            meta={**contact.meta, "standing": "update"},
            auto=True,
        )
        if await self._courier.post(f"standing:{contact.id}:{number}", reply, kind="prompt"):
            await self._record(contact, told, "update")
            log.info(
                "standing_update_sent",
                contact_id=contact.id,
                position=position.ahead + 1,
                wait_min=round_wait_min(wait_s),
            )
        return True

    async def _record(self, contact: Contact, told: Spoken, why: str) -> None:
        """Keep what the router said in the history (and count it, as the flow's prompts)."""
        said = Message(
            direction=Direction.OUT,
            text=told.text,
            at=self._clock(),
            meta={"flow": True, "standing": why},
            template=told.template,
            params=told.params,
        )
        await self._store.append_message(contact.id, said)
        if self._metrics is not None:
            self._metrics.message(str(contact.channel), "out")
