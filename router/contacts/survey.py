"""CSAT and first-contact resolution: one question after a resolve, on the contact's own
channel, and the counts the KPIs read (``queues.outcomes``, ``router.stats.csat``).

After an agent resolves a contact (``AgentDesk.on_resolved``):

- a verified customer's resolve is counted for first-contact resolution and their account
  watched on the team for ``fcr_days``; a new contact of theirs queued on that team in that
  time is counted as a repeat (``arrived``, on every enqueue);
- a text contact (SMS, chat, Telegram, email) gets the question (prompt
  ``survey_question``, in its language) through the durable outbox (parcel
  ``survey:<contact id>``: posted once, sent at least once), recorded in its history and
  counted as asked; its next message of just 1-5 within ``answer_window_s`` is the answer
  (``take_answer``: stored on the contact, thanked, no new contact), anything else starts a
  new contact as usual. A caller is asked on the keypad after the agent hangs up, when they
  stay on the line (``voice_question``/``voice_answer``, for ``channels.twilio.survey``).

The answer is stored on the contact (meta ``survey``: score and when), recorded as its
``survey_answered`` event and counted in its team's bucket, once: a second answer, or a
provider's retry of the first, changes nothing. The answer as kept is masked like any
message (``router.contacts.codes``): a reply that names an account with code-shaped digits
(a mail's ``5`` above ``Login: jan.kowalski Kod: 482913``) keeps none of those digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

import structlog

from channels import Answer, Courier, InboundMessage, Reply, Spoken
from ivr import Engine, Prompt
from queues import (
    Channel,
    Contact,
    ContactState,
    Direction,
    InvalidTransition,
    Message,
    Store,
    fill,
    to_iso,
)
from router.contacts.codes import spot
from router.identity import Account

__all__ = ["Surveys", "parse_score", "survey_key"]

log = structlog.get_logger(__name__)

_SCORE = re.compile(r"\s*([1-5])\s*(?:/\s*5)?\s*[.!]?\s*")


def parse_score(text: str | None) -> int | None:
    """The score a reply gives: one ASCII digit 1-5 (``4``, `` 5!``, ``3/5``); else None."""
    if not text or len(text) > 16:
        return None
    found = _SCORE.fullmatch(text)
    return int(found.group(1)) if found else None


def _answer_text(message: InboundMessage) -> str | None:
    """What may be the answer: the text, or of a mail the first line after its subject (a
    reply quotes the question below it)."""
    text = message.text
    if message.channel is not Channel.EMAIL or not text:
        return text
    subject = message.subject or ""
    if subject and text.startswith(subject):
        text = text[len(subject) :]
    return next((line for line in text.splitlines() if line.strip()), "")


def survey_key(channel: Channel | str, address: str) -> str:
    """The session that marks a survey waiting for its answer at ``address``."""
    return f"survey:{channel}:{address}"


class Surveys:
    """The question after a resolve, its answer, and first-contact resolution."""

    def __init__(
        self,
        *,
        store: Store,
        courier: Courier,
        engine: Engine,
        channels: Collection[str],
        answer_window_s: float,
        fcr_window_s: float,
        clock: Any,
        default_language: str,
        find_account: Callable[[str], Account | None] = lambda _: None,
    ) -> None:
        self._store = store
        self._courier = courier
        self._engine = engine
        self._channels = frozenset(channels)
        self._answer_window_s = answer_window_s
        self._fcr_window_s = fcr_window_s
        self._clock = clock
        self._default_language = default_language
        self._find_account = find_account  # by login or number: what codes.spot needs

    # -- after a resolve, and on every enqueue --------------------------------------------
    async def after_resolve(self, contact: Contact) -> None:
        """Count the resolve for FCR and, on a text channel, ask the question."""
        if contact.state is not ContactState.RESOLVED:
            return
        if contact.verified and contact.account:
            await self._store.fcr_resolved(contact.id, contact.account, within_s=self._fcr_window_s)
        if contact.channel is not Channel.VOICE and str(contact.channel) in self._channels:
            await self._ask(contact)

    async def arrived(self, contact: Contact) -> None:
        """A contact was queued: a verified customer coming back is counted as a repeat."""
        if not contact.account:
            return
        if await self._store.fcr_arrived(contact.id, contact.account, within_s=self._fcr_window_s):
            log.info("contact_repeated", contact_id=contact.id, team=contact.team)

    async def _ask(self, contact: Contact) -> None:
        if contact.channel not in self._courier.senders:
            return  # the channel is off here; a survey is not worth a retry elsewhere
        language = contact.language or self._default_language
        question = self._spoken("survey_question", language)
        reply = Reply(
            contact_id=contact.id,
            channel=contact.channel,
            address=contact.address,
            text=question.text,
            language=language,
            meta={**contact.meta, "survey": "question"},
            auto=True,
        )
        if not await self._courier.post(f"survey:{contact.id}", reply, kind="prompt"):
            return  # asked before
        meta = {"flow": True, "survey": "question"}
        asked = Message(Direction.OUT, question.text, self._clock(), meta=meta)
        await self._store.append_message(contact.id, asked)
        await self._store.record_survey(contact.id)
        record = {"contact_id": contact.id, "language": language}
        await self._store.put_session(
            survey_key(contact.channel, contact.address), record, ttl_s=self._answer_window_s
        )
        log.info("survey_asked", contact_id=contact.id, channel=str(contact.channel))

    # -- the answer -------------------------------------------------------------------------
    async def take_answer(self, message: InboundMessage) -> Answer | None:
        """The answer to a survey asked at the message's address, or None: the message is
        not one (it starts or continues a contact as usual, and the survey is let go)."""
        key = survey_key(message.channel, message.address)
        pending = await self._store.get_session(key)
        if pending is None:
            return None
        contact = await self._store.get_contact(str(pending["contact_id"]), messages=False)
        language = str(pending.get("language") or contact.language or self._default_language)
        thanks = self._spoken("survey_thanks", language)
        if message.key is not None and pending.get("answered_key") == message.key:
            return Answer(contact, (thanks,), None, duplicate=True)  # the provider retried
        score = parse_score(_answer_text(message))
        if score is None or pending.get("answered"):
            await self._store.delete_session(key)
            return None
        spotted = spot(message, self._find_account)  # never kept in clear (codes.py)
        text = (spotted.masked(message) if spotted else message).text or ""
        intake = await self._store.intake(
            contact, Message(Direction.IN, text, self._clock()), key=message.key
        )
        if intake.duplicate:
            return Answer(contact, (thanks,), None, duplicate=True)
        contact = await self._record(contact, score)
        at = self._clock()
        said = Message(Direction.OUT, thanks.text, at, meta={"flow": True, "survey": "thanks"})
        await self._store.append_message(contact.id, said)
        answered = {**pending, "answered": True, "answered_key": message.key}
        await self._store.put_session(key, answered, ttl_s=self._answer_window_s)
        return Answer(contact, (thanks,), None)

    async def voice_question(self, contact_id: str) -> Spoken | None:
        """The keypad question for a caller still on the line after the agent hung up;
        None when calls are not surveyed or this one was answered."""
        if str(Channel.VOICE) not in self._channels:
            return None
        contact = await self._store.get_contact(contact_id, messages=False)
        if contact.channel is not Channel.VOICE or "survey" in contact.meta:
            return None
        try:
            await self._store.record_survey(contact_id)
        except InvalidTransition:
            return None  # never queued
        return self._spoken("survey_question_voice", contact.language or self._default_language)

    async def voice_answer(self, contact_id: str, digits: str | None) -> Spoken | None:
        """The caller's key: thanks for a 1-5 (stored and counted once); None otherwise."""
        score = parse_score(digits)
        if score is None:
            return None
        contact = await self._store.get_contact(contact_id, messages=False)
        if contact.channel is not Channel.VOICE:
            return None
        await self._record(contact, score)
        return self._spoken("survey_thanks", contact.language or self._default_language)

    async def _record(self, contact: Contact, score: int) -> Contact:
        if await self._store.record_survey(contact.id, score=score):
            survey = {"score": score, "at": to_iso(self._clock())}
            # Merged: a note or tag added since ``contact`` was read is kept.
            contact = await self._store.update_contact(contact.id, meta_merge={"survey": survey})
            log.info("survey_answered", contact_id=contact.id, score=score)
        return contact

    def _spoken(self, key: str, language: str) -> Spoken:
        template, params = self._engine.compose(Prompt(key), language)
        return Spoken(fill(template, params), language, template, params)
