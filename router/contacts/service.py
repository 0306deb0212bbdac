"""The flow host: every inbound message is stored, then moves its contact through the flow.

Implements the channels' ``Inbox``. For each message: find the conversation's session,
store the message durably (idempotent on its key), advance the pure flow engine, perform
the effects it asks for (verify, enqueue, end), record what the customer is told, and save
the session — all before the channel acknowledges the provider.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import structlog

from channels import AgentTarget, Answer, HoldStatus, InboundMessage, Spoken
from ivr import End as EndFlow
from ivr import (
    Engine,
    Enqueue,
    Expect,
    Facts,
    FlowState,
    Prompt,
    Verify,
    VerifyResult,
    detect_language,
)
from queues import (
    Channel,
    Contact,
    ContactState,
    Direction,
    Event,
    Message,
    Position,
    Store,
)
from router.desk import HandleTimes, Presence, sent_key
from router.identity import Account, AccountDirectory, Verifier
from router.locks import KeyLocks
from router.routing import IncidentBook, Incidents, Routing, round_wait_min

__all__ = ["ContactService", "redact_secret"]

log = structlog.get_logger(__name__)

FLOW_FOR_CHANNEL = {
    Channel.VOICE: "voice",
    Channel.EMAIL: "email",
    Channel.SMS: "text",
    Channel.TELEGRAM: "text",
    Channel.CHAT: "text",
}
#: The queue announcement of each shipped flow, for a flow that ended in a failed attempt.
QUEUE_PROMPTS = {"voice": "queued", "text": "queued_text", "email": "queued_email"}
#: Idempotency keys remembered per conversation as answered (a retry of one replays).
HANDLED_KEYS = 32
_CODE_RE = re.compile(r"(?<!\d)\d{4,8}(?!\d)")


def redact_secret(text: str) -> str:
    """Mask every run of 4-8 digits: what the customer typed as an auth code is never kept."""
    return _CODE_RE.sub(lambda m: "•" * len(m.group()), text)


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
        on_enqueued: Callable[[str], None] | None = None,
        agent_target: Callable[[str], AgentTarget | None] = lambda name: AgentTarget(name),
    ) -> None:
        self.store = store
        self.engine = engine
        self.routing = routing
        self.verifier = verifier
        self.accounts = accounts
        self.presence = presence
        self.incidents = IncidentBook(store)
        self.handle_times = HandleTimes(store, clock)
        self._clock = clock
        self._default_language = default_language
        self._languages = languages
        self._session_ttl_s = session_ttl_s
        self._on_enqueued = on_enqueued
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
            await self.store.delete_session(key)
            return await self.store.get_contact(contact.id, messages=False)

    async def hold(self, channel: Channel, conversation: str) -> HoldStatus | None:
        session = await self.store.get_session(f"{channel}:{conversation}")
        if session is None:
            return None
        contact = await self.store.get_contact(session["contact_id"], messages=False)
        if contact.state is ContactState.ASSIGNED and contact.agent:
            return HoldStatus(contact, agent=self._agent_target(contact.agent))
        if contact.state is not ContactState.WAITING or contact.team is None:
            return HoldStatus(contact)
        position = await self.store.position(contact.id)
        ahead = position.ahead if position else 0
        wait_s = await self._estimate(contact.team, ahead)
        language = contact.language or self._default_language
        prompt = self.render_position(
            session.get("queue_prompt") or "queued", language, contact.team, ahead, wait_s
        )
        return HoldStatus(contact, position, wait_s, prompt)

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

    async def _estimate(self, team: str, ahead: int) -> float:
        available = self.presence.load([team])[team].available
        wait_s = await self.handle_times.estimate_s(team, ahead, available)
        return max(wait_s, self.routing.hours[team].next_open(self._clock()) - self._clock())

    # -- the flow --------------------------------------------------------------------------
    async def _receive(self, message: InboundMessage) -> Answer:
        now = self._clock()
        session = await self.store.get_session(message.session_key)
        contact: Contact | None = None
        if session is not None:
            contact = await self.store.get_contact(session["contact_id"], messages=False)
            if contact.state.is_final:
                contact, session = None, None
        follow_up_of: str | None = None
        if contact is None and message.contact_id is not None:
            contact = await self.store.get_contact(message.contact_id, messages=False)
            if contact.state.is_final:
                # Writing again about a closed matter opens a new contact that points back.
                follow_up_of, contact = contact.id, None
        secret = bool(session and session.get("secret"))
        text = message.text
        if text is not None:
            # Auth codes never reach the history: labelled lines ("Auth code: ...") always,
            # and any digits typed where the flow asked for a code.
            text = self.engine.redact(FLOW_FOR_CHANNEL[message.channel], text)
            text = redact_secret(text) if secret else text
        stored = Message(
            direction=Direction.IN,
            text=text or "",
            at=now,
            meta={**message.meta, "timeout": text is None},
        )
        new = contact is None
        if contact is None:
            language = message.language or detect_language(
                message.text or "", self._languages, self._default_language
            )
            contact = Contact(
                channel=message.channel,
                address=message.address,
                created_at=now,
                language=language,
                subject=message.subject,
                meta={**message.meta, **({"follow_up_of": follow_up_of} if follow_up_of else {})},
            )
        intake = await self.store.intake(contact, stored, key=message.key)
        contact = intake.contact
        structlog.contextvars.bind_contextvars(contact_id=contact.id)
        handled = list(session.get("handled", ())) if session else []
        if intake.duplicate and message.key in handled:
            replay = session.get("answer", {}) if session else {}
            if replay.get("key") != message.key:
                replay = {}  # an older input: already answered, nothing to say again
            replayed = tuple(Spoken(t, lang) for t, lang in replay.get("prompts", ()))
            return Answer(
                contact,
                replayed,
                _expect(replay.get("expect")),
                duplicate=True,
                stored_text=intake.message.text,
            )
        # A duplicate not yet handled was stored by an attempt that failed before the flow
        # advanced (the store went away): the retry finishes the work.
        log.info("message_received", new_contact=new, retried=intake.duplicate)

        language = contact.language or self._default_language
        incidents = await self.incidents.load()
        facts = self.routing.facts(incidents, at=now, language=language)
        if contact.state is not ContactState.IN_FLOW:
            # An earlier attempt at this very message may have ended the flow, then failed
            # before saving the session: finish its work. Otherwise the flow is over and
            # later messages join the waiting or assigned contact.
            stale = (session is not None and session.get("flow") is not None) or (
                new and intake.duplicate
            )
            if stale:
                answer = await self._flow_already_done(contact, message)
                return dataclasses.replace(answer, stored_text=intake.message.text)
            if message.channel is Channel.EMAIL and not contact.verified and message.text:
                contact = await self._verify_reply(contact, message, facts)
            return Answer(contact, (), None, stored_text=intake.message.text)
        if new or session is None or session.get("flow") is None:
            step = self.engine.start(
                FLOW_FOR_CHANNEL[message.channel],
                facts=facts,
                language=language,
                text=message.text,
            )
        else:
            state = FlowState.from_dict(session["flow"])
            step = self.engine.advance(state, message.text, facts=facts)

        prompts: list[Prompt | Spoken] = list(step.prompts)
        queue_prompt: str | None = None
        account: Account | None = None
        position: Position | None = None
        wait_s: float | None = None
        while step.effect is not None:
            effect = step.effect
            if isinstance(effect, Verify):
                result, account = await self._verify(contact, effect, message.address)
                step = self.engine.resume(step.state, result, facts=facts)
                prompts += step.prompts
            elif isinstance(effect, Enqueue):
                queue_prompt = effect.prompt
                contact, position, wait_s, told = await self._enqueue(
                    contact, effect, account, incidents, step.state.language, facts
                )
                prompts.append(told)
                break
            elif isinstance(effect, EndFlow):
                contact = await self.store.close(
                    contact.id, ContactState.RESOLVED, reason=effect.reason
                )
                break
            else:  # pragma: no cover - the engine has no other effects
                raise TypeError(f"unknown flow effect {effect!r}")

        done = step.effect is not None
        language = step.state.language
        if language != contact.language:
            contact = await self.store.update_contact(contact.id, language=language)
        spoken = tuple(
            p
            if isinstance(p, Spoken)
            else Spoken(self.engine.render(p, language), p.language or language)
            for p in prompts
        )
        for said in spoken:
            await self.store.append_message(
                contact.id,
                Message(
                    direction=Direction.OUT, text=said.text, at=self._clock(), meta={"flow": True}
                ),
            )
        expect = None if done else step.expect
        await self.store.put_session(
            message.session_key,
            {
                "contact_id": contact.id,
                "flow": None if done else step.state.to_dict(),
                "secret": bool(expect and expect.secret),
                "queue_prompt": queue_prompt,
                "handled": [*handled, message.key][-HANDLED_KEYS:],
                "answer": {
                    "key": message.key,
                    "prompts": [[s.text, s.language] for s in spoken],
                    "expect": _expect_dict(expect),
                },
            },
            ttl_s=self._session_ttl_s,
        )
        return Answer(
            contact,
            spoken,
            expect,
            position=position,
            wait_s=wait_s,
            stored_text=intake.message.text,
        )

    async def _verify_reply(
        self, contact: Contact, message: InboundMessage, facts: Facts
    ) -> Contact:
        """A mail joining an unverified contact may carry the Login:/Auth code: lines asked
        for; the email flow reads them, and only its verification is performed."""
        step = self.engine.start(
            FLOW_FOR_CHANNEL[Channel.EMAIL],
            facts=facts,
            language=contact.language,
            text=message.text,
        )
        if isinstance(step.effect, Verify):
            await self._verify(contact, step.effect, message.address)
            return await self.store.get_contact(contact.id, messages=False)
        return contact

    async def _flow_already_done(self, contact: Contact, message: InboundMessage) -> Answer:
        language = contact.language or self._default_language
        prompts: tuple[Spoken, ...] = ()
        position = wait_s = None
        if contact.state is ContactState.WAITING and contact.team is not None:
            position = await self.store.position(contact.id)
            ahead = position.ahead if position else 0
            wait_s = await self._estimate(contact.team, ahead)
            key = QUEUE_PROMPTS.get(FLOW_FOR_CHANNEL[message.channel], "queued")
            key = key if key in self.engine.book.prompts else "queued"
            prompts = (self.render_position(key, language, contact.team, ahead, wait_s),)
        await self.store.put_session(
            message.session_key,
            {
                "contact_id": contact.id,
                "flow": None,
                "handled": [message.key],
                "answer": {
                    "key": message.key,
                    "prompts": [[s.text, s.language] for s in prompts],
                    "expect": None,
                },
            },
            ttl_s=self._session_ttl_s,
        )
        return Answer(contact, prompts, None, position=position, wait_s=wait_s)

    async def _verify(
        self, contact: Contact, effect: Verify, address: str
    ) -> tuple[VerifyResult, Account | None]:
        outcome = await self.verifier.verify(effect.identifier, effect.code, address=address)
        account = outcome.account
        if outcome.ok and account is not None:
            await self.store.update_contact(
                contact.id,
                verified=True,
                verify_method=f"{contact.channel}:login+code",
                account=account.login,
            )
            log.info("contact_verified", account=account.login)
            return (
                VerifyResult(
                    ok=True,
                    account=account.login,
                    tier=account.tier,
                    balance_negative=account.balance < 0,
                ),
                account,
            )
        log.info("verification_refused", reason=outcome.reason)
        return VerifyResult(ok=False, locked=outcome.locked or outcome.throttled), None

    async def _enqueue(
        self,
        contact: Contact,
        effect: Enqueue,
        account: Account | None,
        incidents: Incidents,
        language: str,
        facts: Facts,
    ) -> tuple[Contact, Position | None, float, Spoken]:
        now = self._clock()
        current = await self.store.get_contact(contact.id, messages=False)
        if account is None and current.account:
            account = self.accounts.find(current.account)
        decision = self.routing.decide(
            str(contact.channel),
            effect.team,
            at=now,
            account=account,
            incidents=incidents,
            complaint=effect.complaint,
        )
        meta = {**current.meta, "complaint": effect.complaint}
        await self.store.update_contact(contact.id, sla_due=decision.sla_due, meta=meta)
        queued = await self.store.enqueue(contact.id, decision.team, delay_s=decision.delay_s)
        position = await self.store.position(contact.id)
        ahead = position.ahead if position else 0
        wait_s = await self._estimate(decision.team, ahead)
        log.info("contact_enqueued", team=decision.team, delay_s=decision.delay_s, ahead=ahead)
        if self._on_enqueued is not None:
            self._on_enqueued(decision.team)
        told = self.render_position(effect.prompt, language, decision.team, ahead, wait_s)
        return queued, position, wait_s, told

    def render_position(
        self, prompt: str, language: str, team: str, ahead: int, wait_s: float
    ) -> Spoken:
        """The queue prompt: position (1 = next) and the estimated wait in minutes.

        While the team is closed, the ``<prompt>_closed`` variant (when the config has one)
        says when it opens, {opens}, rather than a wait of many hours in minutes.
        """
        now = self._clock()
        hours = self.routing.hours[team]
        opens_at = hours.next_open(now)
        params = {
            "team": team,
            "position": str(ahead + 1),
            "wait_min": str(round_wait_min(wait_s)),
            "opens": hours.local_label(opens_at, language),
        }
        if opens_at > now and f"{prompt}_closed" in self.engine.book.prompts:
            prompt = f"{prompt}_closed"
        return Spoken(self.engine.render(Prompt(prompt, params), language), language)


def _expect_dict(expect: Expect | None) -> dict[str, Any] | None:
    if expect is None:
        return None
    return {
        "kind": expect.kind,
        "num_digits": expect.num_digits,
        "finish_on_key": expect.finish_on_key,
        "timeout_s": expect.timeout_s,
        "secret": expect.secret,
    }


def _expect(data: dict[str, Any] | None) -> Expect | None:
    return None if data is None else Expect(**data)
