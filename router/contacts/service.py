"""The flow host: every inbound message is stored, then moves its contact through the flow.

Implements the channels' ``Inbox``. For each message: find the conversation's session,
store the message durably (idempotent on its key), advance the pure flow engine, perform
the effects it asks for (verify, enqueue, end), record what the customer is told, and save
the session — all before the channel acknowledges the provider.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from channels import AgentTarget, Answer, HoldStatus, InboundMessage, Spoken, Standing
from ivr import Engine, Facts
from queues import (
    Channel,
    Contact,
    ContactState,
    Direction,
    Intake,
    Message,
    Store,
)
from router.contacts.codes import Spotted, spot
from router.contacts.delivery import keep_ended_call, record_delivery
from router.contacts.flow import FLOW_FOR_CHANNEL, QUEUE_PROMPTS, FlowHost, Performed
from router.contacts.inbound import (
    Conversation,
    find_conversation,
    first_text,
    history_message,
    new_contact,
)
from router.contacts.quick import QuickTurns, spoken
from router.contacts.replay import replayed, session_record
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
        self._find_account = accounts.find
        self._default_language = default_language
        self._languages = languages
        self._session_ttl_s = session_ttl_s
        self._agent_target = agent_target
        self._conversations = KeyLocks(store, prefix=CONVERSATION_LOCK)
        self._on_left = on_left
        self.announcer, self.flows, self.quick = self._flow_parts(verifier, accounts, on_enqueued)
        self._surveys: Surveys | None = None
        #: Where a waiting customer stands, asked and unasked (``standing.py``).
        self.standing: Standings | None = None

    def _flow_parts(
        self,
        verifier: Verifier,
        accounts: AccountDirectory,
        on_enqueued: Callable[[str], Awaitable[None]] | None,
    ) -> tuple[Announcer, FlowHost, QuickTurns]:
        """The announcer, the flow host, and the quick turns (messages that only move a
        flow along: one store write, no lock; ``quick.py``)."""
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
        quick = QuickTurns(
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
            lock_prefix=CONVERSATION_LOCK,
            metrics=self.metrics,
            standing=lambda: self.standing,
        )
        return announcer, flows, quick

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
            answer = surveyed or await self._receive(message)
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

    async def delivery(
        self, channel: Channel, provider_id: str, status: str, *, detail: str | None = None
    ) -> bool:
        return await record_delivery(
            self.store, self._clock, channel, provider_id, status, detail=detail
        )

    # -- the flow --------------------------------------------------------------------------
    async def _receive(self, message: InboundMessage) -> Answer:
        now = self._clock()
        found = await find_conversation(self.store, message)
        # An account named with code-shaped digits: masked before anything is kept, and
        # tried once (codes.py). The flow gets the digits only when it asked for them.
        spotted = spot(message, self._find_account)
        raw, message = message, spotted.masked(message) if spotted else message
        intake = await self._store_inbound(message, found, now)
        contact, stored_text = intake.contact, intake.message.text
        structlog.contextvars.bind_contextvars(contact_id=contact.id)
        if intake.duplicate and found.session and message.key in found.handled:
            return replayed(contact, found.session, message.key, stored_text)
        # A duplicate not yet handled was stored by an attempt that failed before the flow
        # advanced (the store went away): the retry finishes the work.
        new = found.contact is None
        if self.metrics is not None and not intake.duplicate:
            self.metrics.message(str(message.channel), "in")
        log.info("message_received", new_contact=new, retried=intake.duplicate)
        language = contact.language or self._default_language
        incidents = await self.incidents.load()
        facts = self.routing.facts(incidents, at=now, language=language)
        tried = spotted is None or found.secret
        if contact.state is not ContactState.IN_FLOW:
            stale = found.in_flow_session or (new and intake.duplicate)
            answer = await self._after_flow(contact, message, facts, stale=stale, tried=tried)
            if self.standing is not None and not stale and not answer.prompts:
                told = await self.standing.answer(
                    answer.contact, message, duplicate=intake.duplicate
                )
                answer = told or answer
        else:
            flow_input = raw if found.secret else message
            if spotted is not None and not tried:
                step, tried = self.flows.step_with(
                    message, found.session, spotted, facts=facts, language=language
                )
            else:
                step = self.flows.step(flow_input, found.session, facts=facts, language=language)
            done = await self.flows.perform(contact, step, message.address, incidents, facts)
            answer = await self._finish_turn(message, done, found.handled)
        answer = await self._try_spotted(answer, spotted, message.address, tried=tried)
        # Spikes and incident links (router.outages): after the turn, never failing it.
        await self.outages.observe(
            answer.contact,
            incidents,
            first_text=first_text(message) if new else None,
            created=new,
            queued=answer.position is not None,
        )
        return dataclasses.replace(answer, stored_text=stored_text)

    async def _try_spotted(
        self, answer: Answer, spotted: Spotted | None, address: str, *, tried: bool
    ) -> Answer:
        """The account and code a message named, tried once when the flow did not."""
        if tried or spotted is None or answer.contact.verified or answer.duplicate:
            return answer
        contact = await self.flows.verify_spotted(answer.contact, spotted, address)
        return dataclasses.replace(answer, contact=contact)

    async def _store_inbound(
        self, message: InboundMessage, found: Conversation, now: float
    ) -> Intake:
        """Store the message durably with its contact (a new one when none is open),
        idempotent on the message's key."""
        contact = found.contact or new_contact(
            message,
            now,
            follow_up_of=found.follow_up_of,
            languages=self._languages,
            default_language=self._default_language,
        )
        redact = functools.partial(self.engine.redact, FLOW_FOR_CHANNEL[message.channel])
        kept = history_message(message, now, redact=redact, secret=found.secret, known=contact.meta)
        return await self.store.intake(contact, kept, key=message.key)

    async def _finish_turn(
        self, message: InboundMessage, done: Performed, handled: list[str]
    ) -> Answer:
        """Say the turn's prompts, save the session for the next input, and answer."""
        spoken = await self._say(done)
        expect = None if done.done else done.step.expect
        await self._save_session(
            message,
            session_record(
                done.contact.id,
                key=message.key,
                spoken=spoken,
                flow=None if done.done else done.step.state,
                expect=expect,
                queue_prompt=done.queue_prompt,
                handled=handled,
            ),
        )
        queued = done.queued
        if queued is not None and self.standing is not None:
            await self.standing.told(done.contact, queued)  # for the unasked update
        return Answer(
            done.contact,
            spoken,
            expect,
            position=queued.position if queued else None,
            wait_s=queued.wait_s if queued else None,
        )

    async def _after_flow(
        self,
        contact: Contact,
        message: InboundMessage,
        facts: Facts,
        *,
        stale: bool,
        tried: bool = True,
    ) -> Answer:
        """A message for a contact whose flow is over.

        An earlier attempt at this very message may have ended the flow, then failed before
        saving the session (``stale``): finish its work. Otherwise the message joins the
        waiting or assigned contact, and a mail may carry the login and code asked for.
        """
        if stale:
            return await self._flow_already_done(contact, message)
        # A named account and code (``tried`` False) are tried by the caller instead.
        if message.channel is Channel.EMAIL and not contact.verified and message.text and tried:
            contact = await self.flows.verify_reply(contact, message, facts)
        return Answer(contact, (), None)

    async def _flow_already_done(self, contact: Contact, message: InboundMessage) -> Answer:
        """An earlier attempt ended the flow and lost the session: tell a waiting contact
        its place again, and save the session the flow's last turn would have saved."""
        prompts: tuple[Spoken, ...] = ()
        position = wait_s = queue_prompt = None
        if contact.state is ContactState.WAITING and contact.team is not None:
            queue_prompt = QUEUE_PROMPTS.get(FLOW_FOR_CHANNEL[message.channel], "queued")
            if queue_prompt not in self.engine.book.prompts:
                queue_prompt = "queued"
            language = contact.language or self._default_language
            status = await self.announcer.status(contact.id, contact.team, queue_prompt, language)
            prompts, position, wait_s = (status.told,), status.position, status.wait_s
        # Kept so a hold refresh tells the same words as this answer: a chat or Telegram
        # customer is not told the voice prompt's "please stay on the line".
        record = session_record(
            contact.id, key=message.key, spoken=prompts, queue_prompt=queue_prompt
        )
        await self._save_session(message, record)
        return Answer(contact, prompts, None, position=position, wait_s=wait_s)

    async def _say(self, done: Performed) -> tuple[Spoken, ...]:
        """Render the turn's prompts in the flow's language and record them as sent."""
        language = done.step.state.language
        if language != done.contact.language:
            done.contact = await self.store.update_contact(done.contact.id, language=language)
        told = tuple(
            p if isinstance(p, Spoken) else spoken(self.engine, p, language) for p in done.prompts
        )
        if self.metrics is not None:
            for _ in told:
                self.metrics.message(str(done.contact.channel), "out")
        for said in told:
            await self.store.append_message(
                done.contact.id,
                Message(
                    direction=Direction.OUT,
                    text=said.text,
                    at=self._clock(),
                    meta={"flow": True},
                    template=said.template,
                    params=said.params,
                ),
            )
        return told

    async def _save_session(self, message: InboundMessage, record: dict[str, Any]) -> None:
        await self.store.put_session(message.session_key, record, ttl_s=self._session_ttl_s)
