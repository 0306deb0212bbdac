"""The keypad survey after a call: when the agent hangs up and the caller stays on the line,
one question (1-5 on the keypad) before the call ends.

The agent's ``<Dial>`` ends by fetching its action URL (``{prefix}/hold?dialed=1``) while
the caller is still there (``CallStatus`` in-progress): the voice channel then asks
``ask``, which answers with a ``<Gather numDigits=1>`` around the question when the router
wants one (``SurveyHost.voice_question``). The key comes to ``POST {prefix}/survey?c=ID``
(X-Twilio-Signature checked, as every voice webhook), the router stores it
(``SurveyHost.voice_answer``) and the caller hears thanks; no key, or another one: the call
ends. A caller who hung up first is never asked. The answer is stored within the ingest
deadline (``channels.deadline``): past it the webhook answers 503 and Twilio retries (a
retried answer is counted once).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import structlog
from aiohttp import web
from twilio.twiml.voice_response import VoiceResponse

from channels.base import Spoken
from channels.deadline import DEFAULT_DEADLINE_S, Deadline
from channels.twilio import twiml
from channels.webhooks import refuse, store_unavailable
from queues import ContactNotFound, StoreUnavailable

__all__ = ["QUESTION_TIMEOUT_S", "SurveyHost", "VoiceSurvey"]

log = structlog.get_logger(__name__)

#: Seconds the caller has to press a key after the question.
QUESTION_TIMEOUT_S = 8
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ENDED = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})

Checked = Callable[[web.Request], Awaitable[dict[str, str] | web.Response]]
Say = Callable[[Any, Spoken], None]


@runtime_checkable
class SurveyHost(Protocol):
    """What the router does for the survey (``router.contacts.survey.Surveys``)."""

    async def voice_question(self, contact_id: str) -> Spoken | None:
        """The question for the contact's caller, recorded as asked; None: do not ask."""

    async def voice_answer(self, contact_id: str, digits: str | None) -> Spoken | None:
        """Store the key pressed; the thanks to say, or None when it is no answer."""


class VoiceSurvey:
    """The keypad survey of the voice channel (``TwilioVoice(survey=...)``)."""

    def __init__(
        self,
        host: SurveyHost,
        *,
        prefix: str = "/twilio/voice",
        deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> None:
        self._host = host
        self._deadline = Deadline(deadline_s)
        self._prefix = prefix.rstrip("/")
        self._checked: Checked | None = None
        self._say: Say | None = None

    def bind(self, checked: Checked, say: Say) -> None:
        """The voice channel's signature check and ``<Say>`` (its voices and locales)."""
        self._checked, self._say = checked, say

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(f"{self._prefix}/survey", self.answer)
        app.on_cleanup.append(self._close)

    async def _close(self, app: web.Application) -> None:
        await self._deadline.aclose()  # answers still running past their deadline

    async def ask(self, response: VoiceResponse, contact_id: str, form: dict[str, str]) -> bool:
        """After the agent's leg ended: the question in ``response`` (True), or nothing
        (False) when the caller is gone or the router asks none."""
        if form.get("CallStatus", "in-progress") in _ENDED or self._say is None:
            return False
        question = await self._host.voice_question(contact_id)
        if question is None:
            return False
        gather = response.gather(
            input="dtmf",
            num_digits=1,
            timeout=QUESTION_TIMEOUT_S,
            action=f"{self._prefix}/survey?c={contact_id}",
            method="POST",
        )
        self._say(gather, question)
        response.hangup()  # no key pressed: the call is over
        log.info("voice_survey_asked", contact_id=contact_id)
        return True

    async def after_call(self, contact_id: str, form: Mapping[str, str], deadline: Deadline) -> str:
        """What follows the agent's leg: the question when it is asked, else a hangup (also
        when the store does not answer within ``deadline``, the voice webhook's)."""
        response = VoiceResponse()
        try:
            asked = await deadline.run(self.ask(response, contact_id, dict(form)))
        except StoreUnavailable as exc:
            log.warning("voice_survey_skipped", contact_id=contact_id, error=str(exc))
            return twiml.HANGUP_DOCUMENT
        return twiml.render(response) if asked else twiml.HANGUP_DOCUMENT

    async def answer(self, request: web.Request) -> web.StreamResponse:
        if self._checked is None or self._say is None:
            return refuse(404, "the voice survey is not bound to the voice channel")
        form = await self._checked(request)
        if isinstance(form, web.Response):
            return form
        contact_id = request.query.get("c", "")
        if not _ID.fullmatch(contact_id):
            return refuse(400, "the survey URL has no valid contact id (c)")
        try:
            thanks = await self._deadline.run(
                self._host.voice_answer(contact_id, form.get("Digits"))
            )
        except ContactNotFound:
            return refuse(404, f"contact {contact_id!r} does not exist")
        except StoreUnavailable as exc:
            return store_unavailable("Twilio", exc)
        response = VoiceResponse()
        if thanks is not None:
            self._say(response, thanks)
        response.hangup()
        log.info("voice_survey_answered", contact_id=contact_id, answered=thanks is not None)
        return web.Response(text=twiml.render(response), content_type="text/xml", charset="utf-8")
