"""The flow host: every inbound message is stored, then moves its contact through the flow.

Implements the channels' ``Inbox``. For each message: find the conversation's session,
store the message durably (idempotent on its key), advance the pure flow engine, perform
the effects it asks for (verify, enqueue, end), record what the customer is told, and save
the session — all before the channel acknowledges the provider.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from channels import AgentTarget, Answer, HoldStatus, InboundMessage, Spoken
from ivr import Engine, Facts, detect_language
from queues import Channel, Contact, ContactState, Direction, Event, Message, Store
from router.contacts.flow import FLOW_FOR_CHANNEL, QUEUE_PROMPTS, FlowHost, Performed
from router.contacts.replay import replayed, session_record
from router.contacts.status import Announcer
from router.desk import CALL_ENDED, ENDED_CALL_LEASE_S, HandleTimes, Presence, sent_key
from router.identity import AccountDirectory, Verifier
from router.locks import KeyLocks
from router.routing import IncidentBook, Routing
from router.stats import Metrics

__all__ = ["ContactService", "redact_secret"]

log = structlog.get_logger(__name__)

_CODE_RE = re.compile(r"(?<!\d)\d{4,8}(?!\d)")


def redact_secret(text: str) -> str:
    """Mask every run of 4-8 digits: what the customer typed as an auth code is never kept."""
    return _CODE_RE.sub(lambda m: "•" * len(m.group()), text)


@dataclasses.dataclass(slots=True)
class _Conversation:
    """What the store knows of a message's conversation before the message is stored."""

    session: dict[str, Any] | None
    contact: Contact | None
    follow_up_of: str | None = None


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
        agent_target: Callable[[str], AgentTarget | None] = lambda name: AgentTarget(name),
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.engine = engine
        self.routing = routing
        self.presence = presence
        self.incidents = IncidentBook(store)
        self.handle_times = HandleTimes(store, clock)
        self.announcer = Announcer(
            store=store,
            engine=engine,
            routing=routing,
            presence=presence,
            handle_times=self.handle_times,
            clock=clock,
        )
        self.flows = FlowHost(
            store=store,
            engine=engine,
            routing=routing,
            verifier=verifier,
            accounts=accounts,
            announcer=self.announcer,
            clock=clock,
            on_enqueued=on_enqueued,
            metrics=metrics,
        )
        self._clock = clock
        self._default_language = default_language
        self._languages = languages
        self._session_ttl_s = session_ttl_s
        self._agent_target = agent_target
        self._conversations = KeyLocks()

    # -- Inbox -----------------------------------------------------------------------------
    async def receive(self, message: InboundMessage) -> Answer:
        async with self._conversations.hold(message.session_key):
            structlog.contextvars.bind_contextvars(channel=str(message.channel))
            return await self._receive(message)

    async def hang_up(self, channel: Channel, conversation: str) -> Contact | None:
        key = f"{channel}:{conversation}"
        async with self._conversations.hold(key):
            session = await self.store.get_session(key)
            if session is None:
                return None
            contact = await self.store.get_contact(session["contact_id"], messages=False)
            if contact.state in (ContactState.IN_FLOW, ContactState.WAITING):
                await self.store.remove(contact.id)
                log.info("contact_abandoned", contact_id=contact.id, was=str(contact.state))
            else:
                await self._ended_while_held(contact)
            await self.store.delete_session(key)
            return await self.store.get_contact(contact.id, messages=False)

    async def _ended_while_held(self, contact: Contact) -> None:
        """A call that ended while an agent held it stays with that agent until they write
        the disposition, and is never queued again (the desk refuses release and transfer,
        and the long lease keeps the reaper away)."""
        agent = contact.agent
        held = contact.state is ContactState.ASSIGNED and agent is not None
        if contact.channel is not Channel.VOICE or not held or agent is None:
            return
        meta = {**contact.meta, CALL_ENDED: self._clock()}
        await self.store.update_contact(contact.id, meta=meta)
        await self.store.heartbeat(contact.id, agent, lease_s=ENDED_CALL_LEASE_S)
        log.info("call_ended_while_held", contact_id=contact.id, agent=agent)

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
        sent = await self.store.get_session(sent_key(channel, provider_id))
        if sent is None:
            return False
        await self.store.add_event(
            Event(
                contact_id=sent["contact_id"],
                kind="delivery_status",
                at=self._clock(),
                data={
                    "message_id": sent["message_id"],
                    "provider_id": provider_id,
                    "status": status,
                    "detail": detail,
                },
            )
        )
        log.info("delivery_status", contact_id=sent["contact_id"], status=status)
        return True

    # -- the flow --------------------------------------------------------------------------
    async def _receive(self, message: InboundMessage) -> Answer:
        now = self._clock()
        found = await self._conversation(message)
        secret = bool(found.session and found.session.get("secret"))
        contact = found.contact or self._new_contact(message, now, found.follow_up_of)
        intake = await self.store.intake(
            contact, self._inbound(message, now, secret=secret), key=message.key
        )
        contact, session, stored_text = intake.contact, found.session, intake.message.text
        structlog.contextvars.bind_contextvars(contact_id=contact.id)
        handled = list(session.get("handled", ())) if session else []
        if intake.duplicate and session and message.key in handled:
            return replayed(contact, session, message.key, stored_text)
        # A duplicate not yet handled was stored by an attempt that failed before the flow
        # advanced (the store went away): the retry finishes the work.
        new = found.contact is None
        if self.metrics is not None and not intake.duplicate:
            self.metrics.message(str(message.channel), "in")
        log.info("message_received", new_contact=new, retried=intake.duplicate)
        language = contact.language or self._default_language
        incidents = await self.incidents.load()
        facts = self.routing.facts(incidents, at=now, language=language)
        if contact.state is not ContactState.IN_FLOW:
            stale = (session is not None and session.get("flow") is not None) or (
                new and intake.duplicate
            )
            answer = await self._after_flow(contact, message, facts, stale=stale)
            return dataclasses.replace(answer, stored_text=stored_text)
        step = self.flows.step(message, None if new else session, facts=facts, language=language)
        done = await self.flows.perform(contact, step, message.address, incidents, facts)
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
        return Answer(
            done.contact,
            spoken,
            expect,
            position=queued.position if queued else None,
            wait_s=queued.wait_s if queued else None,
            stored_text=stored_text,
        )

    async def _conversation(self, message: InboundMessage) -> _Conversation:
        """The open contact this message continues, by its conversation or a thread id.

        Writing again about a closed matter opens a new contact that points back to it.
        """
        session = await self.store.get_session(message.session_key)
        if session is not None:
            contact = await self.store.get_contact(session["contact_id"], messages=False)
            if not contact.state.is_final:
                return _Conversation(session, contact)
        if message.contact_id is not None:
            contact = await self.store.get_contact(message.contact_id, messages=False)
            if contact.state.is_final:
                return _Conversation(None, None, follow_up_of=contact.id)
            return _Conversation(None, contact)
        return _Conversation(None, None)

    def _inbound(self, message: InboundMessage, now: float, *, secret: bool) -> Message:
        """The message as the history keeps it: auth codes never reach the history (labelled
        lines always, and any digits typed where the flow asked for a code)."""
        text = message.text
        if text is not None:
            text = self.engine.redact(FLOW_FOR_CHANNEL[message.channel], text)
            text = redact_secret(text) if secret else text
        return Message(
            direction=Direction.IN,
            text=text or "",
            at=now,
            meta={**message.meta, "timeout": text is None},
        )

    def _new_contact(
        self, message: InboundMessage, now: float, follow_up_of: str | None
    ) -> Contact:
        language = message.language or detect_language(
            message.text or "", self._languages, self._default_language
        )
        return Contact(
            channel=message.channel,
            address=message.address,
            created_at=now,
            language=language,
            subject=message.subject,
            meta={**message.meta, **({"follow_up_of": follow_up_of} if follow_up_of else {})},
        )

    async def _after_flow(
        self, contact: Contact, message: InboundMessage, facts: Facts, *, stale: bool
    ) -> Answer:
        """A message for a contact whose flow is over.

        An earlier attempt at this very message may have ended the flow, then failed before
        saving the session (``stale``): finish its work. Otherwise the message joins the
        waiting or assigned contact, and a mail may carry the login and code asked for.
        """
        if stale:
            return await self._flow_already_done(contact, message)
        if message.channel is Channel.EMAIL and not contact.verified and message.text:
            contact = await self.flows.verify_reply(contact, message, facts)
        return Answer(contact, (), None)

    async def _flow_already_done(self, contact: Contact, message: InboundMessage) -> Answer:
        prompts: tuple[Spoken, ...] = ()
        position = wait_s = None
        if contact.state is ContactState.WAITING and contact.team is not None:
            key = QUEUE_PROMPTS.get(FLOW_FOR_CHANNEL[message.channel], "queued")
            key = key if key in self.engine.book.prompts else "queued"
            language = contact.language or self._default_language
            status = await self.announcer.status(contact.id, contact.team, key, language)
            prompts, position, wait_s = (status.told,), status.position, status.wait_s
        await self._save_session(
            message, session_record(contact.id, key=message.key, spoken=prompts)
        )
        return Answer(contact, prompts, None, position=position, wait_s=wait_s)

    async def _say(self, done: Performed) -> tuple[Spoken, ...]:
        """Render the turn's prompts in the flow's language and record them as sent."""
        language = done.step.state.language
        if language != done.contact.language:
            done.contact = await self.store.update_contact(done.contact.id, language=language)
        spoken = tuple(
            p
            if isinstance(p, Spoken)
            else Spoken(self.engine.render(p, language), p.language or language)
            for p in done.prompts
        )
        if self.metrics is not None:
            for _ in spoken:
                self.metrics.message(str(done.contact.channel), "out")
        for said in spoken:
            await self.store.append_message(
                done.contact.id,
                Message(
                    direction=Direction.OUT, text=said.text, at=self._clock(), meta={"flow": True}
                ),
            )
        return spoken

    async def _save_session(self, message: InboundMessage, record: dict[str, Any]) -> None:
        await self.store.put_session(message.session_key, record, ttl_s=self._session_ttl_s)
