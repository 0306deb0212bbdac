"""The quick turn: a message that only moves its contact's flow along, in one read and one
write, without the conversation lock.

Most messages are such: a first message (the flow greets and asks), a keypress on a menu, an
answer to a question. For them the router reads the conversation's session, a pending
survey at the address and the incident book in one ``get_sessions`` (and the contact, when
the conversation has one), runs the pure flow engine, and hands the store the whole turn —
the contact when new, the message, the prompts said, the language, the next session — as
one ``Store.apply_turn``: one transaction on SQLite, one script on Redis.

A step whose only effect is to queue the contact (the team menu answered, or a new mail:
the email flow asks nothing and runs to its queue in its first turn) is a quick turn too:
the routing decision is made from the same read, the turn carries the enqueue
(``TurnEnqueue``), and the store answers with the contact's place in the queue. What
cannot be inside the store's unit of work follows it in the locked path's order
(``FlowHost.enqueued``): the hooks, the queue prompt told from that place, the claimers
woken; then the prompt joins the history and the session is written, unless someone wrote
it since. The turn leaves the session as read, so a crash in between leaves what one after
``enqueue`` on the locked path leaves: a retry is told the place again.

What this process knows of a conversation (``recall.py``) spares the read: the next message
of a conversation its quick turn left is turned from that; a new one is guessed new; one
the locked path took, or whose contact was queued, is read first.

A caller's code (the voice flow's code question) is a quick turn too: the code is checked
as the locked path checks it (``FlowHost.verify``: the contact marked verified before the
turn, the lockouts counted), and the flow resumes with the outcome. It is checked only
against the session as read from the store, never a guess: another router may have taken
the call's last step, and digits meant for a menu must never be tried as a code. A call's
steps come one at a time, so nothing else moves its flow meanwhile; a text conversation
may have several messages in flight, and its code goes the locked path, which takes them
in order. The check is named by the message's key, so when the store refuses the turn and
the locked path checks the same message again, a wrong code still counts once.

Whatever needs more goes the locked path (``service.py``), which reads everything again:
a flow step with another effect (end, or one that follows a code's check), a code in a
text conversation or a mail, a contact out of its flow, a pending survey, an e-mail reply to a
thread, an account and code named in the text, a retry of a handled message; and a turn
the store refused because the session moved on, the lock was held or the key was seen.
The store checks the lock inside the turn, so a turn never lands while the locked path
works on the conversation.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from typing import Any

import structlog

from channels import Answer, InboundMessage, Spoken
from ivr import Engine, Enqueue, Expect, Facts, Prompt, Step, Verify
from queues import (
    Channel,
    Contact,
    ContactState,
    Message,
    Turn,
    TurnEnqueue,
    TurnOutcome,
    TurnResult,
    fill,
)
from router.contacts.codes import spot
from router.contacts.flow import FLOW_FOR_CHANNEL
from router.contacts.inbound import first_text, history_message, new_contact
from router.contacts.parts import TurnParts
from router.contacts.recall import KNOWN_CONVERSATIONS, Recall
from router.contacts.replay import handled_keys, session_record
from router.contacts.survey import survey_key
from router.identity import Account
from router.routing import INCIDENTS_KEY, Incidents

__all__ = ["KNOWN_CONVERSATIONS", "QuickTurns", "spoken"]

log = structlog.get_logger(__name__)


class _Refused(enum.Enum):
    """``_attempt``'s answer when the store found the conversation other than it was read."""

    CHANGED = "changed"


_CHANGED = _Refused.CHANGED


@dataclasses.dataclass(frozen=True, slots=True)
class _Read:
    """What the quick turn read: the session (and its tag), the contact, the incidents."""

    session: dict[str, Any] | None
    tag: str
    contact: Contact | None
    incidents: Incidents
    book_tag: str  # the incident book's tag ("" none)


class QuickTurns:
    """Takes the messages that only move a flow along; None for every other."""

    def __init__(self, parts: TurnParts, *, lock_prefix: str) -> None:
        self._parts = parts
        self._lock_prefix = lock_prefix
        #: Whether a survey may be pending at an address (the router asks surveys).
        self.surveys = False
        #: The incident book as last read, with its tag (a turn checks it is still so).
        self._book: tuple[Incidents, str] | None = None
        #: What this process's quick turns and the locked path left of conversations.
        self._recall = Recall()

    async def receive(self, message: InboundMessage) -> Answer | None:
        answer = await self._receive(message)
        if answer is None:  # the locked path takes it: a session is there afterwards
            self._recall.goes_on(message.session_key)
        return answer

    async def _receive(self, message: InboundMessage) -> Answer | None:
        guessed = self._guess(message)
        if guessed is not None:
            answer = await self._attempt(message, guessed, guessed=True)
            if not isinstance(answer, _Refused):
                return answer
        read = await self._read(message)
        if read is None:
            return None
        answer = await self._attempt(message, read)
        return None if isinstance(answer, _Refused) else answer

    def forget(self, conversation: str) -> None:
        """The locked path took a message of ``conversation``: what this process knew of
        it is old now (a turn from it would only be refused)."""
        self._recall.forget(conversation)

    def _guess(self, message: InboundMessage) -> _Read | None:
        """The conversation as this process last left it, with no read: its last turn
        here, or for a conversation it does not know, none at all (a new one). The store
        checks the guess in the turn itself; None when there is nothing to guess from."""
        if self._book is None:
            return None
        incidents, book_tag = self._book
        known = self._recall.left(message.session_key)
        if known is not None:
            session, tag, contact = known
            return _Read(session, tag, contact, incidents, book_tag)
        if message.contact_id is not None or self._recall.going_on(message.session_key):
            return None  # a reply in a thread (its contact is found by a read), or not new
        return _Read(None, "", None, incidents, book_tag)

    async def _read(self, message: InboundMessage) -> _Read | None:
        """The conversation as the quick turn needs it, or None: the locked path's."""
        keys = [message.session_key, INCIDENTS_KEY]
        if self.surveys:
            keys.append(survey_key(message.channel, message.address))
        (session, tag), (book, book_tag), *survey = await self._parts.store.get_sessions(keys)
        incidents = Incidents.from_dict(book) if book else Incidents()
        self._book = (incidents, book_tag)
        if survey and survey[0][0] is not None:
            return None
        if session is None:
            if message.contact_id is not None:
                return None  # a reply in a thread: the locked path finds its contact
            return _Read(None, "", None, incidents, book_tag)
        if session.get("flow") is None:
            return None
        contact = await self._parts.store.get_contact(str(session["contact_id"]), messages=False)
        if contact.state is not ContactState.IN_FLOW:
            return None
        return _Read(session, tag, contact, incidents, book_tag)

    async def _attempt(
        self, message: InboundMessage, read: _Read, *, guessed: bool = False
    ) -> Answer | _Refused | None:
        """The turn from ``read``: the answer, None for the locked path, or ``_CHANGED``
        when the store found the conversation other than read."""
        if read.session is not None and (
            read.session.get("flow") is None or message.key in handled_keys(read.session)
        ):
            return None  # over, or a retry: answered again on the locked path
        if spot(message, self._parts.find_account) is not None:
            return None
        now = self._parts.clock()
        contact = read.contact or new_contact(
            message,
            now,
            follow_up_of=None,
            languages=self._parts.languages,
            default_language=self._parts.default_language,
        )
        language = contact.language or self._parts.default_language
        facts = self._parts.routing.facts(read.incidents, at=now, language=language)
        step = self._parts.flows.step(message, read.session, facts=facts, language=language)
        account: Account | None = None
        if isinstance(step.effect, Verify):
            if message.channel is not Channel.VOICE or read.contact is None:
                return None
            if guessed:  # checked only against the session as stored: read it first
                return _CHANGED
            step, account = await self._verified(message, contact, step, step.effect, facts)
        if step.effect is not None and not isinstance(step.effect, Enqueue):
            return None
        return await self._apply(message, read, contact, step, now, account)

    async def _verified(
        self, message: InboundMessage, contact: Contact, step: Step, effect: Verify, facts: Facts
    ) -> tuple[Step, Account | None]:
        """The code the flow asked for, checked as the locked path checks it (the contact
        is marked verified before the turn), and the flow resumed with the outcome. The
        check is named by the message's key: when the store refuses the turn, the locked
        path checks it again, and a wrong code still counts once."""
        result, account = await self._parts.flows.verify(
            contact, effect, message.address, message.key
        )
        resumed = self._parts.engine.resume(step.state, result, facts=facts)
        return dataclasses.replace(resumed, prompts=step.prompts + resumed.prompts), account

    async def _apply(
        self,
        message: InboundMessage,
        read: _Read,
        contact: Contact,
        step: Step,
        now: float,
        account: Account | None = None,
    ) -> Answer | _Refused | None:
        redact = functools.partial(self._parts.engine.redact, FLOW_FOR_CHANNEL[message.channel])
        # Digits typed where the flow asked for a code are masked; the flow reads them.
        secret = bool(read.session and read.session.get("secret"))
        kept = history_message(message, now, redact=redact, secret=secret, known=contact.meta)
        if isinstance(step.effect, Enqueue):
            return await self._apply_queueing(
                message, read, contact, step, step.effect, kept, account
            )
        said_now = tuple(spoken(self._parts.engine, p, step.state.language) for p in step.prompts)
        session = session_record(
            contact.id,
            key=message.key,
            spoken=said_now,
            flow=step.state,
            expect=step.expect,
            handled=handled_keys(read.session),
        )
        done = await self._turn(message, read, contact, step, kept, said_now, session=session)
        if done.contact is None:
            return _CHANGED if done.outcome is TurnOutcome.CHANGED else None
        self._recall.remember(message.session_key, (session, done.session_tag, done.contact))
        return await self._answered(message, done.contact, said_now, step.expect, read, kept)

    async def _apply_queueing(
        self,
        message: InboundMessage,
        read: _Read,
        contact: Contact,
        step: Step,
        effect: Enqueue,
        kept: Message,
        account: Account | None,
    ) -> Answer | _Refused | None:
        """A step that queues the contact: the turn with its enqueue, then what the locked
        path does after ``enqueue`` (``FlowHost.enqueued``) from the place the store gave,
        the queue prompt kept and the session saved (``account``: one verified in this
        turn, which the routing decision reads)."""
        said_now = tuple(spoken(self._parts.engine, p, step.state.language) for p in step.prompts)
        queue = self._parts.flows.queueing(contact, effect, account, read.incidents)
        done = await self._turn(message, read, contact, step, kept, said_now, enqueue=queue)
        if done.contact is None:
            return _CHANGED if done.outcome is TurnOutcome.CHANGED else None
        self.forget(message.session_key)  # its flow is over: no quick turn follows
        self._recall.goes_on(message.session_key)
        queued, language = done.contact, step.state.language
        status = await self._parts.flows.enqueued(
            queued, queue, effect.prompt, language, done.position
        )
        told = (*said_now, status.told)
        await self._parts.store.append_message(queued.id, self._parts.said(status.told))
        session = session_record(
            queued.id,
            key=message.key,
            spoken=told,
            queue_prompt=effect.prompt,
            handled=handled_keys(read.session),
        )
        # Only over the session the turn was computed from: a locked path that came in
        # between (it found the contact queued, its session not yet saved) saved its own.
        saved = await self._parts.store.put_session_if(
            message.session_key, session, tag=read.tag, ttl_s=self._parts.session_ttl_s
        )
        if not saved:  # seen once in an outage run; a retry takes the locked path
            log.info("queued_session_kept_newer", contact_id=queued.id, team=queue.team)
        standing = self._parts.standing()
        if standing is not None:
            await standing.told(queued, status)  # for the unasked update
        answer = await self._answered(message, queued, told, None, read, kept, queued=True)
        return dataclasses.replace(answer, position=status.position, wait_s=status.wait_s)

    async def _turn(
        self,
        message: InboundMessage,
        read: _Read,
        contact: Contact,
        step: Step,
        kept: Message,
        said_now: tuple[Spoken, ...],
        *,
        session: dict[str, Any] | None = None,
        enqueue: TurnEnqueue | None = None,
    ) -> TurnResult:
        """The turn applied by the store; what this process knew of the conversation is
        forgotten when it is refused."""
        language = step.state.language
        turn = Turn(
            session_key=message.session_key,
            session_tag=read.tag,
            session=session,
            session_ttl_s=self._parts.session_ttl_s,
            contact=contact,
            new=read.contact is None,
            message=kept,
            key=message.key,
            said=tuple(self._parts.said(s) for s in said_now),
            language=language if language != contact.language else None,
            lock=self._lock_prefix + message.session_key,
            unchanged=self._unchanged(message, read),
            enqueue=enqueue,
        )
        done = await self._parts.store.apply_turn(turn)
        if done.contact is None:
            self.forget(message.session_key)
        return done

    def _unchanged(self, message: InboundMessage, read: _Read) -> tuple[tuple[str, str], ...]:
        """What the turn was computed from besides its session: the incident book as read,
        and no survey waiting for an answer at the address."""
        book = ((INCIDENTS_KEY, read.book_tag),)
        if not self.surveys:
            return book
        return (*book, (survey_key(message.channel, message.address), ""))

    async def _answered(
        self,
        message: InboundMessage,
        contact: Contact,
        prompts: tuple[Spoken, ...],
        expect: Expect | None,
        read: _Read,
        kept: Message,
        *,
        queued: bool = False,
    ) -> Answer:
        structlog.contextvars.bind_contextvars(contact_id=contact.id)
        new = read.contact is None
        if self._parts.metrics is not None:
            self._parts.metrics.message(str(message.channel), "in")
            for _ in prompts:
                self._parts.metrics.message(str(message.channel), "out")
        log.info("message_received", new_contact=new, retried=False)
        await self._parts.outages.observe(
            contact,
            read.incidents,
            first_text=first_text(message) if new else None,
            created=new,
            queued=queued,
        )
        return Answer(contact, prompts, expect, stored_text=kept.text)


def spoken(engine: Engine, prompt: Prompt, language: str) -> Spoken:
    """A prompt rendered in ``language`` (or its own), with its template and params."""
    template, params = engine.compose(prompt, language)
    return Spoken(fill(template, params), prompt.language or language, template, params)
