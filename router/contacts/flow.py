"""Hosting the pure flow engine: start or advance a contact's flow and perform the effects
it asks for (verify a login and code, enqueue on a team, end), feeding results back."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from channels import InboundMessage, Spoken
from ivr import End, Engine, Enqueue, Facts, FlowState, Prompt, Step, Verify, VerifyResult
from queues import Channel, Contact, ContactState, Position, Store, TurnEnqueue
from router.contacts.codes import Spotted
from router.contacts.status import Announcer, QueueStatus
from router.identity import Account, AccountDirectory, Verifier
from router.routing import Incidents, Routing
from router.stats import Metrics

__all__ = ["FLOW_FOR_CHANNEL", "QUEUE_PROMPTS", "FlowHost", "Performed"]

log = structlog.get_logger(__name__)

FLOW_FOR_CHANNEL = {
    Channel.VOICE: "voice",
    Channel.EMAIL: "email",
    Channel.SMS: "text",
    Channel.TELEGRAM: "text",
    Channel.CHAT: "text",
}
#: How many tries' keys ``FlowHost`` keeps to count each try's outcome once.
_COUNTED_KEPT = 4096
#: The queue announcement of each shipped flow, for a flow that ended in a failed attempt.
QUEUE_PROMPTS = {"voice": "queued", "text": "queued_text", "email": "queued_email"}


def verified(contact: Contact, login: str) -> Contact:
    """``contact`` as a right code for ``login`` leaves it."""
    method = f"{contact.channel}:login+code"
    return contact.replace(verified=True, verify_method=method, account=login)


@dataclass(slots=True)
class Performed:
    """A turn of the flow with its effects done: what to say, and where the contact is."""

    contact: Contact
    step: Step
    prompts: list[Prompt | Spoken] = field(default_factory=list)
    queue_prompt: str | None = None
    queued: QueueStatus | None = None

    @property
    def done(self) -> bool:
        """The flow is over: the contact was queued or closed."""
        return self.step.effect is not None


class FlowHost:
    """Runs a contact's flow on the engine and performs its effects against the store."""

    def __init__(
        self,
        *,
        store: Store,
        engine: Engine,
        routing: Routing,
        verifier: Verifier,
        accounts: AccountDirectory,
        announcer: Announcer,
        clock: Callable[[], float],
        on_enqueued: Callable[[str], Awaitable[None]] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._engine = engine
        self._routing = routing
        self._verifier = verifier
        self._accounts = accounts
        self._announcer = announcer
        self._clock = clock
        self._on_enqueued = on_enqueued
        #: Told of every contact the flow queues, right after it is queued.
        self.after_enqueue: list[Callable[[Contact], Awaitable[None]]] = []
        #: Told of every contact verified, with the login (earlier contacts join it:
        #: ``joining.py``).
        self.after_verify: list[Callable[[Contact, str], Awaitable[object]]] = []
        # The tries whose outcome the metrics counted (the last ``_COUNTED_KEPT``): the
        # locked path checks again a code whose quick turn the store refused.
        self._counted: dict[str, None] = {}

    def step(
        self,
        message: InboundMessage,
        session: dict[str, Any] | None,
        *,
        facts: Facts,
        language: str,
    ) -> Step:
        """The next turn: a new flow for a new conversation, else the saved one advanced."""
        if session is None or session.get("flow") is None:
            return self._engine.start(
                FLOW_FOR_CHANNEL[message.channel], facts=facts, language=language, text=message.text
            )
        state = FlowState.from_dict(session["flow"])
        return self._engine.advance(state, message.text, facts=facts)

    def step_with(
        self,
        message: InboundMessage,
        session: dict[str, Any] | None,
        spotted: Spotted,
        *,
        facts: Facts,
        language: str,
    ) -> tuple[Step, bool]:
        """The next turn of a message that named an account with a code (``codes.py``;
        ``message`` is masked): a new flow is given the login and code to verify, as the
        answer to its credentials question (text flows) or as the labelled lines it reads
        (email). True when the flow was given them, so they are not tried twice."""
        if session is not None and session.get("flow") is not None:
            return self.step(message, session, facts=facts, language=language), False
        name = FLOW_FOR_CHANNEL[message.channel]
        flow = self._engine.book.flows.get(name)
        asking = _credentials_node(flow.nodes) if flow is not None else None
        if flow is None or asking is None:
            return self.step(message, session, facts=facts, language=language), False
        login_node, code_node = asking
        if flow.input == "none" and login_node.labels and code_node.labels:
            lines = f"{login_node.labels[0]}: {spotted.login}\n{code_node.labels[0]}: "
            text = f"{lines}{spotted.candidate}\n\n{message.text or ''}"
            started = self._engine.start(name, facts=facts, language=language, text=text)
            return started, True
        started = self._engine.start(name, facts=facts, language=language, text=message.text)
        node = flow.nodes.get(started.state.node)
        if flow.input != "text" or node is not login_node or started.effect is not None:
            return started, False
        answered = self._engine.advance(
            started.state, f"{spotted.login} {spotted.candidate}", facts=facts
        )
        # Said together: the welcome, then what the answer led to (not the question).
        asked = getattr(login_node, "prompt", None)
        said = tuple(p for p in started.prompts if p.key != asked) + answered.prompts
        return dataclasses.replace(answered, prompts=said), True

    async def verify_spotted(
        self, contact: Contact, spotted: Spotted, address: str, attempt: str | None
    ) -> Contact:
        """One try of an account and code named in a message the flow did not ask for."""
        await self.verify(contact, Verify(spotted.login, spotted.candidate), address, attempt)
        return await self._store.get_contact(contact.id, messages=False)

    async def perform(
        self,
        contact: Contact,
        step: Step,
        address: str,
        incidents: Incidents,
        facts: Facts,
        attempt: str | None = None,
    ) -> Performed:
        """Perform the step's effects until the flow waits for input or is over
        (``attempt``: the message's key, naming its verification)."""
        done = Performed(contact, step, list(step.prompts))
        account: Account | None = None
        while done.step.effect is not None:
            effect = done.step.effect
            if isinstance(effect, Verify):
                result, account = await self.verify(done.contact, effect, address, attempt)
                if account is not None:  # as verify stored it: the answer tells it so
                    done.contact = verified(done.contact, account.login)
                done.step = self._engine.resume(done.step.state, result, facts=facts)
                done.prompts += done.step.prompts
            elif isinstance(effect, Enqueue):
                done.queue_prompt = effect.prompt
                language = done.step.state.language
                done.contact, done.queued = await self._enqueue(
                    done.contact, effect, account, incidents, language
                )
                done.prompts.append(done.queued.told)
                break
            elif isinstance(effect, End):
                done.contact = await self._store.close(
                    contact.id, ContactState.RESOLVED, reason=effect.reason
                )
                break
            else:  # pragma: no cover - the engine has no other effects
                raise TypeError(f"unknown flow effect {effect!r}")
        return done

    async def verify_reply(
        self, contact: Contact, message: InboundMessage, facts: Facts
    ) -> Contact:
        """A mail joining an unverified contact may carry the Login:/Auth code: lines asked
        for; the email flow reads them, and only its verification is performed."""
        step = self._engine.start(
            FLOW_FOR_CHANNEL[Channel.EMAIL],
            facts=facts,
            language=contact.language,
            text=message.text,
        )
        if isinstance(step.effect, Verify):
            await self.verify(contact, step.effect, message.address, message.key)
            return await self._store.get_contact(contact.id, messages=False)
        return contact

    async def verify(
        self, contact: Contact, effect: Verify, address: str, attempt: str | None = None
    ) -> tuple[VerifyResult, Account | None]:
        outcome = await self._verifier.verify(
            effect.identifier, effect.code, address=address, attempt=attempt
        )
        if self._metrics is not None and self._first_check(attempt):
            self._metrics.verification(str(outcome.reason))
        account = outcome.account
        if outcome.ok and account is not None:
            marked = verified(contact, account.login)
            await self._store.update_contact(
                contact.id,
                verified=True,
                verify_method=marked.verify_method,
                account=account.login,
            )
            log.info("contact_verified", account=account.login)
            for hook in self.after_verify:
                await hook(contact, account.login)
            result = VerifyResult(
                ok=True,
                account=account.login,
                tier=account.tier,
                balance_negative=account.balance < 0,
            )
            return result, account
        log.info("verification_refused", reason=outcome.reason)
        return VerifyResult(ok=False, locked=outcome.locked or outcome.throttled), None

    def _first_check(self, attempt: str | None) -> bool:
        """Whether this process has not counted the try ``attempt`` (a message's key)
        yet: the same try checked again counts once, as its failure does in the lockouts."""
        if attempt is None:
            return True
        if attempt in self._counted:
            return False
        if len(self._counted) >= _COUNTED_KEPT:
            del self._counted[next(iter(self._counted))]
        self._counted[attempt] = None
        return True

    def queueing(
        self, contact: Contact, effect: Enqueue, account: Account | None, incidents: Incidents
    ) -> TurnEnqueue:
        """Where and how urgently ``contact`` waits (the routing policy's decision), as the
        store takes it: ``account`` is one verified in this turn, else the contact's own."""
        # ``contact`` is as this turn read it (on the locked path: as its intake stored it,
        # under the conversation's lock): an account verified in an earlier turn is on it.
        if account is None and contact.account:
            account = self._accounts.find(contact.account)
        decision = self._routing.decide(
            str(contact.channel),
            effect.team,
            at=self._clock(),
            account=account,
            incidents=incidents,
            complaint=effect.complaint,
        )
        merge = {"complaint": effect.complaint}  # the rest of the meta as it is then
        return TurnEnqueue(decision.team, decision.delay_s, decision.sla_due, merge)

    async def enqueued(
        self,
        queued: Contact,
        queue: TurnEnqueue,
        prompt: str,
        language: str,
        position: Position | None,
    ) -> QueueStatus:
        """What follows a contact's enqueue (``queued``, at ``position``): the hooks, the
        queue prompt with its position and wait, the claimers woken."""
        for hook in self.after_enqueue:  # first-contact resolution (survey.py)
            await hook(queued)
        pace = await self._announcer.pace(queue.team)
        ahead = position.ahead if position else 0
        wait_s = pace.wait_s(ahead)
        told = self._announcer.render(prompt, language, queue.team, ahead, wait_s)
        log.info("contact_enqueued", team=queue.team, delay_s=queue.delay_s, ahead=ahead)
        if self._on_enqueued is not None:
            await self._on_enqueued(queue.team)
        return QueueStatus(position, wait_s, told, pace)

    async def _enqueue(
        self,
        contact: Contact,
        effect: Enqueue,
        account: Account | None,
        incidents: Incidents,
        language: str,
    ) -> tuple[Contact, QueueStatus]:
        queue = self.queueing(contact, effect, account, incidents)
        await self._store.update_contact(contact.id, **queue.changes())
        queued = await self._store.enqueue(contact.id, queue.team, delay_s=queue.delay_s)
        position = await self._store.position(contact.id)  # a quick turn's comes with it
        return queued, await self.enqueued(queued, queue, effect.prompt, language, position)


def _credentials_node(nodes: Mapping[str, Any]) -> tuple[Any, Any] | None:
    """The flow's (login, code) collect nodes: a collect whose answer may carry the code
    too (``rest_to``) or that leads to a secret one; None when the flow has none."""
    for node in nodes.values():
        if getattr(node, "kind", None) != "collect" or node.secret:
            continue
        following = nodes.get(node.rest_to or "") or nodes.get(getattr(node.next, "next", ""))
        if getattr(following, "kind", None) == "collect" and getattr(following, "secret", False):
            return node, following
    return None
