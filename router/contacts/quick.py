"""The quick turn: a message that only moves its contact's flow along, in one read and one
write, without the conversation lock.

Most messages are such: a first message (the flow greets and asks), a keypress on a menu, an
answer to a question. For them the router reads the conversation's session, a pending
survey at the address and the incident book in one ``get_sessions`` (and the contact, when
the conversation has one), runs the pure flow engine, and hands the store the whole turn —
the contact when new, the message, the prompts said, the language, the next session — as
one ``Store.apply_turn``: one transaction on SQLite, one script on Redis.

Whatever needs more goes the locked path (``service.py``), which reads everything again:
a flow step with an effect (verify, enqueue, end), a contact out of its flow, a pending
survey, an e-mail reply to a thread, an account and code named in the text, a retry of a
handled message; and a turn the store refused because the session moved on, the lock was
held or the key was seen. The store checks the lock inside the turn, so a turn never lands
while the locked path works on the conversation.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog

from channels import Answer, InboundMessage, Spoken
from ivr import Engine, Prompt, Step
from queues import Contact, ContactState, Direction, Message, Store, Turn, TurnOutcome, fill
from router.contacts.codes import spot
from router.contacts.flow import FLOW_FOR_CHANNEL, FlowHost
from router.contacts.inbound import first_text, history_message, new_contact
from router.contacts.replay import handled_keys, session_record
from router.contacts.survey import survey_key
from router.identity import Account
from router.outages import Outages
from router.routing import INCIDENTS_KEY, Incidents, Routing
from router.stats import Metrics

__all__ = ["KNOWN_CONVERSATIONS", "QuickTurns", "spoken"]

log = structlog.get_logger(__name__)

#: Conversations a process remembers as its quick turns left them (their next message needs
#: no read when it comes back here): a few MB at most.
KNOWN_CONVERSATIONS = 10_000


class _Refused(enum.Enum):
    """``_attempt``'s answer when the store found the conversation other than it was read."""

    CHANGED = "changed"


_CHANGED = _Refused.CHANGED
_Known = tuple[dict[str, Any], str, Contact]


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

    def __init__(
        self,
        *,
        store: Store,
        engine: Engine,
        routing: Routing,
        flows: FlowHost,
        outages: Outages,
        find_account: Callable[[str], Account | None],
        clock: Callable[[], float],
        default_language: str,
        languages: tuple[str, ...],
        session_ttl_s: float,
        lock_prefix: str,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._engine = engine
        self._routing = routing
        self._flows = flows
        self._outages = outages
        self._find_account = find_account
        self._clock = clock
        self._default_language = default_language
        self._languages = languages
        self._session_ttl_s = session_ttl_s
        self._lock_prefix = lock_prefix
        self._metrics = metrics
        #: Whether a survey may be pending at an address (the router asks surveys).
        self.surveys = False
        #: The incident book as last read, with its tag (a turn checks it is still so).
        self._book: tuple[Incidents, str] | None = None
        #: The conversations this process's quick turns last left: session, tag, contact.
        self._recent: OrderedDict[str, _Known] = OrderedDict()
        # A flow that takes no input (email) runs to its effect in its first turn, which a
        # quick turn never takes: its messages go the locked path without trying one.
        self._unasked = frozenset(
            channel
            for channel, name in FLOW_FOR_CHANNEL.items()
            if (flow := engine.book.flows.get(name)) is not None and flow.input == "none"
        )

    async def receive(self, message: InboundMessage) -> Answer | None:
        if message.channel in self._unasked:
            return None
        guessed = self._guess(message)
        if guessed is not None:
            answer = await self._attempt(message, guessed)
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
        self._recent.pop(conversation, None)

    def _guess(self, message: InboundMessage) -> _Read | None:
        """The conversation as this process last left it, with no read: its last turn
        here, or for a conversation it does not know, none at all (a new one). The store
        checks the guess in the turn itself; None when there is nothing to guess from."""
        if self._book is None:
            return None
        incidents, book_tag = self._book
        known = self._recent.get(message.session_key)
        if known is not None:
            session, tag, contact = known
            return _Read(session, tag, contact, incidents, book_tag)
        if message.contact_id is not None:
            return None  # a reply in a thread: its contact is found by a read
        return _Read(None, "", None, incidents, book_tag)

    async def _read(self, message: InboundMessage) -> _Read | None:
        """The conversation as the quick turn needs it, or None: the locked path's."""
        keys = [message.session_key, INCIDENTS_KEY]
        if self.surveys:
            keys.append(survey_key(message.channel, message.address))
        (session, tag), (book, book_tag), *survey = await self._store.get_sessions(keys)
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
        contact = await self._store.get_contact(str(session["contact_id"]), messages=False)
        if contact.state is not ContactState.IN_FLOW:
            return None
        return _Read(session, tag, contact, incidents, book_tag)

    async def _attempt(self, message: InboundMessage, read: _Read) -> Answer | _Refused | None:
        """The turn from ``read``: the answer, None for the locked path, or ``_CHANGED``
        when the store found the conversation other than read."""
        if read.session is not None and (
            read.session.get("flow") is None or message.key in handled_keys(read.session)
        ):
            return None  # over, or a retry: answered again on the locked path
        if spot(message, self._find_account) is not None:
            return None
        now = self._clock()
        contact = read.contact or new_contact(
            message,
            now,
            follow_up_of=None,
            languages=self._languages,
            default_language=self._default_language,
        )
        language = contact.language or self._default_language
        facts = self._routing.facts(read.incidents, at=now, language=language)
        step = self._flows.step(message, read.session, facts=facts, language=language)
        if step.effect is not None:
            return None
        return await self._apply(message, read, contact, step, now)

    async def _apply(
        self, message: InboundMessage, read: _Read, contact: Contact, step: Step, now: float
    ) -> Answer | _Refused | None:
        redact = functools.partial(self._engine.redact, FLOW_FOR_CHANNEL[message.channel])
        # Digits typed where the flow asked for a code are masked; the flow reads them.
        secret = bool(read.session and read.session.get("secret"))
        kept = history_message(message, now, redact=redact, secret=secret, known=contact.meta)
        language = step.state.language
        said_now = tuple(spoken(self._engine, p, language) for p in step.prompts)
        said = tuple(
            Message(
                direction=Direction.OUT,
                text=s.text,
                at=self._clock(),
                meta={"flow": True},
                template=s.template,
                params=s.params,
            )
            for s in said_now
        )
        session = session_record(
            contact.id,
            key=message.key,
            spoken=said_now,
            flow=step.state,
            expect=step.expect,
            handled=handled_keys(read.session),
        )
        turn = Turn(
            session_key=message.session_key,
            session_tag=read.tag,
            session=session,
            session_ttl_s=self._session_ttl_s,
            contact=contact,
            new=read.contact is None,
            message=kept,
            key=message.key,
            said=said,
            language=language if language != contact.language else None,
            lock=self._lock_prefix + message.session_key,
            unchanged=self._unchanged(message, read),
        )
        done = await self._store.apply_turn(turn)
        if done.contact is None:
            self.forget(message.session_key)
            return _CHANGED if done.outcome is TurnOutcome.CHANGED else None
        self._remember(message.session_key, (session, done.session_tag, done.contact))
        return await self._answered(message, done.contact, said_now, step, read, kept)

    def _remember(self, conversation: str, known: _Known) -> None:
        self._recent[conversation] = known
        self._recent.move_to_end(conversation)
        while len(self._recent) > KNOWN_CONVERSATIONS:
            self._recent.popitem(last=False)

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
        step: Step,
        read: _Read,
        kept: Message,
    ) -> Answer:
        structlog.contextvars.bind_contextvars(contact_id=contact.id)
        new = read.contact is None
        if self._metrics is not None:
            self._metrics.message(str(message.channel), "in")
            for _ in prompts:
                self._metrics.message(str(message.channel), "out")
        log.info("message_received", new_contact=new, retried=False)
        await self._outages.observe(
            contact,
            read.incidents,
            first_text=first_text(message) if new else None,
            created=new,
            queued=False,
        )
        return Answer(contact, prompts, step.expect, stored_text=kept.text)


def spoken(engine: Engine, prompt: Prompt, language: str) -> Spoken:
    """A prompt rendered in ``language`` (or its own), with its template and params."""
    template, params = engine.compose(prompt, language)
    return Spoken(fill(template, params), prompt.language or language, template, params)
