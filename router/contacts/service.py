"""The flow host: every inbound message is stored, then moves its contact through the flow.

Implements the channels' ``Inbox``. A message goes the quick path when it can (one store
write, no lock: ``quick.py``), else the locked path under its conversation's store lock
(``locked.py``): either way it is stored durably (idempotent on its key), the pure flow
engine advances, the effects it asks for are performed (verify, enqueue, end), what the
customer is told is recorded and the session saved, all before the channel acknowledges
the provider. Also here: hang-ups, a caller's hold, the standings of a team's queue and
delivery receipts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from channels import AgentTarget, Answer, HoldStatus, InboundMessage, Standing
from ivr import Engine
from queues import (
    Channel,
    Contact,
    ContactState,
    Store,
)
from router.contacts.delivery import keep_ended_call, record_delivery
from router.contacts.flow import FlowHost
from router.contacts.locked import LockedTurns
from router.contacts.parts import TurnParts
from router.contacts.quick import QuickTurns
from router.contacts.standing import Standings
from router.contacts.status import Announcer
from router.contacts.survey import Surveys
from router.desk import (
    HandleTimes,
    Presence,
    announce_change,
)
from router.identity import AccountDirectory, Verifier
from router.locks import KeyLocks
from router.outages import Outages
from router.routing import IncidentBook, Routing
from router.stats import Metrics

__all__ = ["CONVERSATION_LOCK", "ContactService"]

#: The store lock of a conversation's locked path (and the lock a quick turn checks).
CONVERSATION_LOCK = "conversation:"
#: How long the store remembers that a caller from a lobby was let in (``let_in``): longer
#: than a caller stays in any router's line.
LET_IN_TTL_S = 600.0

log = structlog.get_logger(__name__)


class ContactService:
    """The router's ``Inbox``: contacts in, flows run, queues filled."""

    def __init__(
        self,
        *,
        store: Store,
        engine: Engine,
        routing: Routing,
        verifier: Verifier,
        accounts: AccountDirectory,
        presence: Presence,
        clock: Callable[[], float],
        default_language: str,
        languages: tuple[str, ...],
        session_ttl_s: float = 86400.0,
        on_enqueued: Callable[[str], Awaitable[None]] | None = None,
        on_left: Callable[[str], Awaitable[None]] | None = None,
        agent_target: Callable[[str], AgentTarget | None] = lambda name: AgentTarget(name),
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.engine = engine
        self.routing = routing
        self.presence = presence
        self.incidents = IncidentBook(store)
        self.outages = Outages(
            store,
            self.incidents,
            routing=routing,
            book=engine.book,
            clock=clock,
            default_language=default_language,
        )
        self.handle_times = HandleTimes(store, clock)
        self._clock = clock
        self._default_language = default_language
        self._languages = languages
        self._session_ttl_s = session_ttl_s
        self._agent_target = agent_target
        self._conversations = KeyLocks(store, prefix=CONVERSATION_LOCK)
        self._on_left = on_left
        self.announcer, self.flows, self.quick, self.locked = self._paths(
            verifier, accounts, on_enqueued
        )
        self._surveys: Surveys | None = None
        #: Where a waiting customer stands, asked and unasked (``standing.py``).
        self.standing: Standings | None = None

    def _paths(
        self,
        verifier: Verifier,
        accounts: AccountDirectory,
        on_enqueued: Callable[[str], Awaitable[None]] | None,
    ) -> tuple[Announcer, FlowHost, QuickTurns, LockedTurns]:
        """The announcer, the flow host, and a message's two paths: the quick turn (a
        message that only moves its flow along: one store write, no lock; ``quick.py``)
        and the locked path (``locked.py``)."""
        store, engine, routing = self.store, self.engine, self.routing
        announcer = Announcer(
            store=store,
            engine=engine,
            routing=routing,
            presence=self.presence,
            handle_times=self.handle_times,
            clock=self._clock,
        )
        flows = FlowHost(
            store=store,
            engine=engine,
            routing=routing,
            verifier=verifier,
            accounts=accounts,
            announcer=announcer,
            clock=self._clock,
            on_enqueued=on_enqueued,
            metrics=self.metrics,
        )
        parts = TurnParts(
            store=store,
            engine=engine,
            routing=routing,
            flows=flows,
            outages=self.outages,
            find_account=accounts.find,
            clock=self._clock,
            default_language=self._default_language,
            languages=self._languages,
            session_ttl_s=self._session_ttl_s,
            metrics=self.metrics,
            standing=lambda: self.standing,
        )
        quick = QuickTurns(parts, lock_prefix=CONVERSATION_LOCK)
        locked = LockedTurns(parts, announcer=announcer, incidents=self.incidents)
        return announcer, flows, quick, locked

    @property
    def surveys(self) -> Surveys | None:
        """CSAT after a resolve (``survey.py``); its answer is taken before the flow."""
        return self._surveys

    @surveys.setter
    def surveys(self, surveys: Surveys | None) -> None:
        self._surveys = surveys
        self.quick.surveys = surveys is not None

    # -- Inbox -----------------------------------------------------------------------------
    async def receive(self, message: InboundMessage) -> Answer:
        structlog.contextvars.bind_contextvars(channel=str(message.channel))
        quick = await self.quick.receive(message)
        if quick is not None:
            return quick
        self.quick.forget(message.session_key)  # what it knew of the conversation changes
        async with self._conversations.hold(message.session_key):
            surveyed = await self.surveys.take_answer(message) if self.surveys else None
            answer = surveyed or await self.locked.receive(message)
        if answer.contact.state is ContactState.ASSIGNED and not answer.duplicate:
            await announce_change(self.store, answer.contact.id)  # the agent's console
        return answer

    async def hang_up(self, channel: Channel, conversation: str) -> Contact | None:
        key = f"{channel}:{conversation}"
        self.quick.forget(key)
        async with self._conversations.hold(key):
            session = await self.store.get_session(key)
            if session is None:
                return None
            contact = await self.store.get_contact(session["contact_id"], messages=False)
            if contact.state in (ContactState.IN_FLOW, ContactState.WAITING):
                await self.store.remove(contact.id)
                log.info("contact_abandoned", contact_id=contact.id, was=str(contact.state))
                if contact.state is ContactState.WAITING and self._on_left and contact.team:
                    await self._on_left(contact.team)
            else:
                await keep_ended_call(self.store, self._clock, contact)
            await self.store.delete_session(key)
            return await self.store.get_contact(contact.id, messages=False)

    async def standings(self, team: str | None = None) -> dict[str, Standing]:
        """Every waiting contact of ``team`` (None: of every team) with its position and
        wait: one store read per team, whatever the crowd."""
        standings: dict[str, Standing] = {}
        for name in [team] if team is not None else self.routing.teams:
            order = await self.store.waiting_order(name)
            if not order:
                continue
            waits = await self.announcer.estimates_s(name, len(order))
            for ahead, (contact_id, wait_s) in enumerate(zip(order, waits, strict=True)):
                standings[contact_id] = Standing(name, ahead + 1, wait_s)
        return standings

    async def let_in(self, channel: Channel, conversation: str, *, undo: bool = False) -> bool:
        key = f"lobby:{channel}:{conversation}"
        if undo:
            await self.store.delete_session(key)
            return True
        let_in = {"at": self._clock()}
        return await self.store.put_session_if(key, let_in, tag="", ttl_s=LET_IN_TTL_S)

    async def hold(self, channel: Channel, conversation: str) -> HoldStatus | None:
        session = await self.store.get_session(f"{channel}:{conversation}")
        if session is None:
            return None
        contact = await self.store.get_contact(session["contact_id"], messages=False)
        if contact.state is ContactState.ASSIGNED and contact.agent:
            return HoldStatus(contact, agent=self._agent_target(contact.agent))
        if contact.state is not ContactState.WAITING or contact.team is None:
            return HoldStatus(contact)
        language = contact.language or self._default_language
        prompt = session.get("queue_prompt") or "queued"
        status = await self.announcer.status(contact.id, contact.team, prompt, language)
        return HoldStatus(contact, status.position, status.wait_s, status.told)

    def agent_target(self, agent: str) -> AgentTarget | None:
        return self._agent_target(agent)

    async def delivery(
        self, channel: Channel, provider_id: str, status: str, *, detail: str | None = None
    ) -> bool:
        return await record_delivery(
            self.store, self._clock, channel, provider_id, status, detail=detail
        )
