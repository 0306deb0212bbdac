"""The locked path: a message that needs more than a quick turn (``quick.py``), worked on
under its conversation's store lock, reading everything again.

Such a message is stored durably (idempotent on its key); a retry of a message already
answered is answered as the first time (``replay.py``). Then the flow engine advances and
the effects it asks for are performed (verify, enqueue, end: ``flow.py``), what the
customer is told is recorded, and the session saved, all before the channel acknowledges
the provider. A message for a contact whose flow is over joins it (and a waiting customer
may be told where they stand: ``standing.py``); an account and code a text names are tried
once (``codes.py``); the outage watch sees the message last, never failing it.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import structlog

from channels import Answer, InboundMessage, Spoken
from ivr import Facts
from queues import Channel, Contact, ContactState, Intake
from router.contacts.codes import Spotted, spot
from router.contacts.flow import FLOW_FOR_CHANNEL, QUEUE_PROMPTS, Performed
from router.contacts.inbound import (
    Conversation,
    find_conversation,
    first_text,
    history_message,
    new_contact,
)
from router.contacts.parts import TurnParts
from router.contacts.quick import spoken
from router.contacts.replay import replayed, session_record
from router.contacts.status import Announcer
from router.routing import IncidentBook

__all__ = ["LockedTurns"]

log = structlog.get_logger(__name__)


class LockedTurns:
    """The messages the quick path leaves, one conversation at a time (the caller holds
    the conversation's lock)."""

    def __init__(self, parts: TurnParts, *, announcer: Announcer, incidents: IncidentBook) -> None:
        self._parts = parts
        self._announcer = announcer
        self._incidents = incidents

    async def receive(self, message: InboundMessage) -> Answer:
        """The message under its conversation's lock (the caller holds it)."""
        now = self._parts.clock()
        found = await find_conversation(self._parts.store, message)
        # An account named with code-shaped digits: masked before anything is kept, and
        # tried once (codes.py). The flow gets the digits only when it asked for them.
        spotted = spot(message, self._parts.find_account)
        raw, message = message, spotted.masked(message) if spotted else message
        intake = await self._store_inbound(message, found, now)
        contact, stored_text = intake.contact, intake.message.text
        structlog.contextvars.bind_contextvars(contact_id=contact.id)
        if intake.duplicate and found.session and message.key in found.handled:
            return replayed(contact, found.session, message.key, stored_text)
        # A duplicate not yet handled was stored by an attempt that failed before the flow
        # advanced (the store went away): the retry finishes the work.
        new = found.contact is None
        if self._parts.metrics is not None and not intake.duplicate:
            self._parts.metrics.message(str(message.channel), "in")
        log.info("message_received", new_contact=new, retried=intake.duplicate)
        language = contact.language or self._parts.default_language
        incidents = await self._incidents.load()
        facts = self._parts.routing.facts(incidents, at=now, language=language)
        tried = spotted is None or found.secret
        if contact.state is not ContactState.IN_FLOW:
            stale = found.in_flow_session or (new and intake.duplicate)
            answer = await self._after_flow(contact, message, facts, stale=stale, tried=tried)
            standing = self._parts.standing()
            if standing is not None and not stale and not answer.prompts:
                told = await standing.answer(answer.contact, message, duplicate=intake.duplicate)
                answer = told or answer
        else:
            flow_input = raw if found.secret else message
            if spotted is not None and not tried:
                step, tried = self._parts.flows.step_with(
                    message, found.session, spotted, facts=facts, language=language
                )
            else:
                step = self._parts.flows.step(
                    flow_input, found.session, facts=facts, language=language
                )
            done = await self._parts.flows.perform(
                contact, step, message.address, incidents, facts, message.key
            )
            answer = await self._finish_turn(message, done, found.handled)
        answer = await self._try_spotted(answer, spotted, message, tried=tried)
        # Spikes and incident links (router.outages): after the turn, never failing it.
        await self._parts.outages.observe(
            answer.contact,
            incidents,
            first_text=first_text(message) if new else None,
            created=new,
            queued=answer.position is not None,
        )
        return dataclasses.replace(answer, stored_text=stored_text)

    async def _try_spotted(
        self, answer: Answer, spotted: Spotted | None, message: InboundMessage, *, tried: bool
    ) -> Answer:
        """The account and code a message named, tried once when the flow did not."""
        if tried or spotted is None or answer.contact.verified or answer.duplicate:
            return answer
        contact = await self._parts.flows.verify_spotted(
            answer.contact, spotted, message.address, message.key
        )
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
            languages=self._parts.languages,
            default_language=self._parts.default_language,
        )
        redact = functools.partial(self._parts.engine.redact, FLOW_FOR_CHANNEL[message.channel])
        kept = history_message(message, now, redact=redact, secret=found.secret, known=contact.meta)
        return await self._parts.store.intake(contact, kept, key=message.key)

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
        queued, standing = done.queued, self._parts.standing()
        if queued is not None and standing is not None:
            await standing.told(done.contact, queued)  # for the unasked update
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
            contact = await self._parts.flows.verify_reply(contact, message, facts)
        return Answer(contact, (), None)

    async def _flow_already_done(self, contact: Contact, message: InboundMessage) -> Answer:
        """An earlier attempt ended the flow and lost the session: tell a waiting contact
        its place again, and save the session the flow's last turn would have saved."""
        prompts: tuple[Spoken, ...] = ()
        position = wait_s = queue_prompt = None
        if contact.state is ContactState.WAITING and contact.team is not None:
            queue_prompt = QUEUE_PROMPTS.get(FLOW_FOR_CHANNEL[message.channel], "queued")
            if queue_prompt not in self._parts.engine.book.prompts:
                queue_prompt = "queued"
            language = contact.language or self._parts.default_language
            status = await self._announcer.status(contact.id, contact.team, queue_prompt, language)
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
            done.contact = await self._parts.store.update_contact(
                done.contact.id, language=language
            )
        told = tuple(
            p if isinstance(p, Spoken) else spoken(self._parts.engine, p, language)
            for p in done.prompts
        )
        if self._parts.metrics is not None:
            for _ in told:
                self._parts.metrics.message(str(done.contact.channel), "out")
        for said in told:
            await self._parts.store.append_message(done.contact.id, self._parts.said(said))
        return told

    async def _save_session(self, message: InboundMessage, record: dict[str, Any]) -> None:
        await self._parts.store.put_session(
            message.session_key, record, ttl_s=self._parts.session_ttl_s
        )
