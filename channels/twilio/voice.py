"""Phone calls through Twilio: the voice webhooks, answered with TwiML.

``POST /twilio/voice`` a call comes in; ``/twilio/voice/step?n=N`` the caller's answer to the
N-th prompt (``&timeout=1``: nothing was pressed); ``/twilio/voice/hold`` the hold loop;
``/twilio/voice/status`` the call status callback. Every webhook must carry a valid
X-Twilio-Signature (403 otherwise); one without a CallSid is refused with 400; when the store
is down the answer is 503, so Twilio retries and nothing is lost.

A caller is not dropped because the router is slow for a moment (a burst on the day of an
outage, a store that stalls): a 503 would end the call with Twilio's "application error".
A step whose work passes the ingest deadline is answered with a redirect to the same step
(``&late=K``); that request waits another deadline for the same work (the answer Twilio gets
is the step's own) or, on another router, replays it from the store. The caller hears a few
seconds of silence. Only after ``LATE_TRIES`` such waits is the answer 503. A look at the hold
that the store does not answer in time keeps the caller holding: it looks again a poll later.

Idempotency: the step number travels in the Gather's action URL and the message key is
``voice:{CallSid}:{n}``, so a webhook Twilio retries replays the same answer (the router
replays its prompts) and never advances the flow twice.

Hold: the caller hears their position and wait every ``hold_refresh_s`` (45 s), the only
webhook while they wait: the TwiML pauses that long and comes back to the hold URL. When an
agent claims the call, ``changed`` updates the live call through Twilio's REST API
(``CallControl``) with the ``<Dial>`` to the agent: no webhook back on the way to the agent;
when the dial cannot be prepared, with the hold URL, which dials. Without the REST API (no
account SID or no public URL) the hold polls: it pauses ``hold_poll_s`` between looks, and
the next look after a claim dials. With callbacks on, each announcement ends with "press 1
to be called back; you keep your place" (``channels.twilio.callback``).

New calls wait in a lobby while many webhooks are answered at once (``lobby.py``). Answers
are TwiML strings prepared once (``twiml.py``; ``<Say>`` and ``<Dial>``: ``speech.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext

import structlog
from aiohttp import web
from twilio.twiml.voice_response import VoiceResponse

from channels.base import (
    CLAIMED,
    Answer,
    HoldStatus,
    Inbox,
    Outbox,
)
from channels.deadline import DEFAULT_DEADLINE_S, Deadline, DeadlinePassed
from channels.twilio import twiml
from channels.twilio.auth import TwilioSignature
from channels.twilio.callback import Callbacks, VoiceParts
from channels.twilio.calls import CallControl
from channels.twilio.lobby import BUSY, LOBBY_IN_FLIGHT, LOBBY_PAUSE_S, Admission, lobby_for
from channels.twilio.speech import CONNECTING, LOCALES, Speech
from channels.twilio.steps import ascii_digits, step_message, whole
from channels.twilio.survey import VoiceSurvey
from channels.webhooks import refuse, store_unavailable
from queues import Channel, Contact, ContactState, StoreUnavailable

__all__ = ["BUSY", "CONNECTING", "ENDED_STATUSES", "LOCALES", "TwilioVoice"]

log = structlog.get_logger(__name__)

#: CallStatus values of a call that is over: the caller is gone.
ENDED_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
_SID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_STEP = 10_000
#: Redirects of a step whose work passed the ingest deadline, before the answer is 503.
LATE_TRIES = 3
_WAITING = (ContactState.WAITING, ContactState.ASSIGNED)


class TwilioVoice:
    """The voice channel adapter: Twilio's voice webhooks in, TwiML out; no outbox."""

    channel = Channel.VOICE
    outbox: Outbox | None = None

    def __init__(
        self,
        inbox: Inbox,
        *,
        auth_token: str,
        public_url: str | None = None,
        trust_proxy: bool = False,
        hold_refresh_s: float = 45.0,
        hold_poll_s: int = 5,
        default_language: str = "pl",
        locales: Mapping[str, str] = LOCALES,
        voices: Mapping[str, str] | None = None,
        connecting: Mapping[str, str] = CONNECTING,
        prefix: str = "/twilio/voice",
        calls: CallControl | None = None,
        callbacks: Callbacks | None = None,
        deadline_s: float = DEFAULT_DEADLINE_S,
        survey: VoiceSurvey | None = None,
        lobby_in_flight: int | None = LOBBY_IN_FLIGHT,
        lobby_pause_s: int = LOBBY_PAUSE_S,
        busy: Mapping[str, str] = BUSY,
    ) -> None:
        _check_hold(hold_poll_s, hold_refresh_s)
        self._inbox = inbox
        self._deadline = Deadline(deadline_s)  # every answer within it (503 past it)
        self._signature = TwilioSignature(
            auth_token, public_url=public_url, trust_proxy=trust_proxy
        )
        self._refresh_s = hold_refresh_s
        self._poll_s = hold_poll_s
        self._prefix = prefix.rstrip("/")
        self._speech = Speech(
            default_language=default_language,
            locales=locales,
            voices=voices or {},
            connecting=connecting,
            hold_path=f"{self._prefix}/hold",
        )
        self._default_language = default_language
        # New calls wait in the lobby while this many webhooks are answered (lobby.py).
        self.lobby = lobby_for(
            lobby_in_flight, lobby_pause_s, self._prefix, busy, default_language, self._speech.said
        )
        # Pushed hold needs the REST API and a URL Twilio can fetch; else the hold polls.
        self._calls = calls if public_url else None
        self._public_url = public_url.rstrip("/") if public_url else ""
        self._hold_url = f"{self._public_url}{self._prefix}/hold" if public_url else None
        if self.lobby is not None and calls is not None and public_url:  # a line: FIFO
            admitted = Admission(inbox, calls, f"{self._public_url}{self._prefix}?admitted=1")
            self.lobby.push(admitted, self._deadline, math.ceil(hold_refresh_s))
        # Callbacks keeping the place (channels.twilio.callback): offered on hold when set.
        self.callbacks = callbacks
        if callbacks is not None:
            callbacks.bind(VoiceParts(self._checked, self._speech.connect, self._speech.say))
        # The keypad survey after the agent hangs up (channels.twilio.survey), when set.
        self.survey = survey
        if survey is not None:
            survey.bind(self._checked, self._speech.say)

    # -- ChannelAdapter --------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(self._prefix, self.incoming)
        app.router.add_post(f"{self._prefix}/step", self.step)
        app.router.add_post(f"{self._prefix}/hold", self.hold)
        app.router.add_post(f"{self._prefix}/status", self.status)
        if self.callbacks is not None:
            self.callbacks.add_routes(app)
        if self.survey is not None:
            self.survey.add_routes(app)

    @property
    def pushed(self) -> bool:
        """Whether a claim redirects the call (else the hold polls)."""
        return self._calls is not None

    async def start(self) -> None:
        hold = "pushed" if self.pushed else f"polled every {self._poll_s} s"
        log.info("channel_on", channel=str(self.channel), path=self._prefix, hold=hold)
        if self.callbacks is not None:
            await self.callbacks.start()

    async def aclose(self) -> None:
        await self._deadline.aclose()
        if self.lobby is not None:
            await self.lobby.aclose()
        if self.callbacks is not None:
            await self.callbacks.aclose()
        if self._calls is not None:
            await self._calls.aclose()

    async def changed(self, contact: Contact, change: str) -> None:
        """An agent took a caller on hold: update the call now with the dial to them (TwiML
        given to the REST API: no webhook back), or, when the dial cannot be prepared, with
        the hold URL (it dials). One with a callback booked is called back instead."""
        if change == CLAIMED and self.callbacks and await self.callbacks.claimed(contact):
            return
        call_sid = contact.meta.get("call_sid")
        if change != CLAIMED or self._calls is None or self._hold_url is None:
            return
        if not isinstance(call_sid, str):
            return
        status = await self._claimed_status(contact, call_sid)
        dial = None
        if status is not None and status.agent is not None:  # given to the API: absolute URLs
            dial = self._speech.dial(status.contact, status.agent, self._public_url)
        await self._calls.redirect(call_sid, f"{self._hold_url}?w=0", twiml=dial)

    async def _claimed_status(self, contact: Contact, call_sid: str) -> HoldStatus | None:
        """The claimed contact and its agent: as the claim gave them (no store call), or,
        when that does not say who, as the store has them now."""
        if contact.state is ContactState.ASSIGNED and contact.agent:
            agent = self._inbox.agent_target(contact.agent)
            if agent is not None:
                return HoldStatus(contact, agent=agent)
        try:
            return await self._deadline.run(self._inbox.hold(Channel.VOICE, call_sid))
        except StoreUnavailable as exc:
            log.warning("voice_dial_unprepared", error=str(exc))
            return None

    # -- webhooks --------------------------------------------------------------------------
    async def incoming(self, request: web.Request) -> web.StreamResponse:
        form = await self._checked(request)
        if isinstance(form, web.Response):
            return form
        lobby = self.lobby
        if lobby is None:
            return await self._advance(form, 0, None)
        waiting = await lobby.waits(form["CallSid"], request.query, self._deadline.late)
        if waiting is not None:  # all lines busy: the lobby (nothing stored)
            return _twiml(waiting)
        with lobby.answering():
            return await self._advance(form, 0, None)

    async def step(self, request: web.Request) -> web.StreamResponse:
        form = await self._checked(request)
        if isinstance(form, web.Response):
            return form
        raw = request.query.get("n", "")
        late = whole(request.query.get("late"))
        least = 0 if late else 1  # step 0 (the call coming in) comes back only when late
        if not ascii_digits(raw, 5) or not least <= int(raw) <= _MAX_STEP:
            return refuse(400, f"the step number n={raw!r} is not {least}..{_MAX_STEP}")
        with self._answering():
            if late:
                return await self._rejoin(form, int(raw), late)
            timed_out = "timeout" in request.query
            digits = None if timed_out else (form.get("Digits") or None)
            return await self._advance(form, int(raw), digits)

    async def hold(self, request: web.Request) -> web.StreamResponse:
        form = await self._checked(request)
        if isinstance(form, web.Response):
            return form
        call_sid = form["CallSid"]
        waited_s = whole(request.query.get("w"))
        try:
            with self._answering():
                status = await self._deadline.run(self._inbox.hold(Channel.VOICE, call_sid))
        except StoreUnavailable as exc:
            # A look at the hold changes nothing: the caller keeps holding and looks again
            # a poll later (a 503 would end the call).
            log.warning("voice_hold_unavailable", error=str(exc))
            return _twiml(twiml.document(self._look_again(waited_s)))
        if status is None:
            return _twiml(twiml.HANGUP_DOCUMENT)
        structlog.contextvars.bind_contextvars(contact_id=status.contact.id)
        if "dialed" not in request.query:
            return _twiml(self.render_hold(status, waited_s))
        if form.get("DialCallStatus") == "completed":
            # The caller talked to the agent: a caller still there is asked the survey.
            if self.survey is None:
                return _twiml(twiml.HANGUP_DOCUMENT)
            return _twiml(await self.survey.after_call(status.contact.id, form, self._deadline))
        # The agent did not pick up: wait a poll, then dial again or keep holding.
        log.info("voice_dial_unanswered", status=form.get("DialCallStatus", ""))
        return _twiml(twiml.document(self._keep_holding(0)))

    async def status(self, request: web.Request) -> web.StreamResponse:
        form = await self._checked(request)
        if isinstance(form, web.Response):
            return form
        call_status = form.get("CallStatus", "")
        if call_status in ENDED_STATUSES and not (self.lobby and self.lobby.gone(form["CallSid"])):
            try:
                contact = await self._deadline.run(
                    self._inbox.hang_up(Channel.VOICE, form["CallSid"])
                )
            except StoreUnavailable as exc:
                return store_unavailable("Twilio", exc)
            if contact is not None:
                log.info(
                    "voice_call_ended",
                    contact_id=contact.id,
                    call_status=call_status,
                    state=str(contact.state),
                )
        return web.Response(status=204)

    # -- helpers ---------------------------------------------------------------------------
    def _answering(self) -> AbstractContextManager[None]:
        """Around a webhook's work: counted in flight for the lobby (when there is one)."""
        return self.lobby.answering() if self.lobby is not None else nullcontext()

    async def _checked(self, request: web.Request) -> dict[str, str] | web.Response:
        structlog.contextvars.bind_contextvars(channel=str(self.channel))
        form = await self._signature.signed_form(request)
        if isinstance(form, web.Response):
            log.warning("voice_refused", path=request.path, status=form.status)
            return form
        if not _SID.fullmatch(form.get("CallSid", "")):
            return refuse(400, "the form has no valid CallSid")
        return form

    async def _advance(self, form: Mapping[str, str], n: int, digits: str | None) -> web.Response:
        message = step_message(form, n, digits)
        try:
            answer = await self._deadline.run(self._inbox.receive(message), key=message.key)
        except DeadlinePassed:
            return self._late(n, 1)
        except StoreUnavailable as exc:
            return store_unavailable("Twilio", exc)
        structlog.contextvars.bind_contextvars(contact_id=answer.contact.id)
        log.info("voice_step", step=n, duplicate=answer.duplicate, no_input=digits is None)
        return _twiml(self.render(answer, n))

    async def _rejoin(self, form: Mapping[str, str], n: int, late: int) -> web.Response:
        """Step ``n`` again, after its work passed the deadline: wait for that work when it
        still runs here; otherwise the step's key replays its answer from the store (a step
        whose work was lost is taken as nothing pressed: the flow asks again)."""
        message = step_message(form, n, None)
        running = self._deadline.running(message.key)
        try:
            if running is not None:
                answer: Answer = await self._deadline.rejoin(running)
            else:
                answer = await self._deadline.run(self._inbox.receive(message), key=message.key)
        except DeadlinePassed as exc:
            if late < LATE_TRIES:
                return self._late(n, late + 1)
            return store_unavailable("Twilio", exc)
        except StoreUnavailable as exc:
            return store_unavailable("Twilio", exc)
        structlog.contextvars.bind_contextvars(contact_id=answer.contact.id)
        log.info("voice_step", step=n, duplicate=answer.duplicate, late=late)
        return _twiml(self.render(answer, n))

    def _late(self, n: int, late: int) -> web.Response:
        """Step ``n`` again, at once: the redirected request waits for the work (no Pause,
        which Twilio would play as silence on top of that wait)."""
        log.warning("voice_step_late", step=n, late=late)
        return _twiml(twiml.document(twiml.redirect(f"{self._prefix}/step?n={n}&late={late}")))

    def render(self, answer: Answer, n: int) -> str:
        """The TwiML for ``answer`` to step ``n``: a Gather for the next answer (n + 1), or
        the way to hold once queued, or a hangup once the flow is over."""
        says = tuple(map(self._speech.said, answer.prompts))
        expect = answer.expect
        if expect is not None:
            # Twilio falls through to the step's Redirect when nothing was pressed: the flow
            # gets None. The answer is prepared once per action, input shape and prompts.
            action = f"{self._prefix}/step?n={n + 1}"
            timeout_s = max(1, math.ceil(expect.timeout_s))
            finish_on_key = expect.finish_on_key or ""
            return twiml.step(action, timeout_s, finish_on_key, expect.num_digits, says)
        if answer.contact.state in _WAITING:
            return twiml.document("".join(says) + twiml.redirect(f"{self._prefix}/hold?w=0"))
        return twiml.document("".join(says) + twiml.HANGUP)

    def render_hold(self, status: HoldStatus, waited_s: int) -> str:
        """The TwiML for a look at the hold ``waited_s`` after the last announcement: the
        dial once an agent took the call; while the contact waits, the announcement when it
        is due and the wait for the next look; a hangup once it no longer waits."""
        if status.agent is not None:
            return self._speech.dial(status.contact, status.agent)
        language = status.contact.language or self._default_language
        if status.contact.state not in _WAITING:
            return twiml.HANGUP_DOCUMENT  # resolved or abandoned meanwhile: nothing to wait for
        said, waited_s = self._announce(status, language, waited_s)
        return twiml.document(said + self._keep_holding(waited_s))

    def _announce(self, status: HoldStatus, language: str, waited_s: int) -> tuple[str, int]:
        """Position and wait every ``hold_refresh_s``; with callbacks, said in a Gather
        that ends with the offer (right after queueing too, w=0). Returns the TwiML said
        and the seconds waited since the last announcement."""
        prompt = status.prompt if waited_s >= self._refresh_s else None
        waited_s = 0 if prompt is not None else waited_s
        offer = waited_s == 0 and status.contact.state is ContactState.WAITING
        if not offer or self.callbacks is None:
            return (self._speech.said(prompt) if prompt is not None else ""), waited_s
        gather = self.callbacks.offer(VoiceResponse(), waited_s)
        if prompt is not None:
            self._speech.say(gather, prompt)
        self._speech.say(gather, self.callbacks.spoken("callback_offer", language))
        return twiml.serialize(gather), waited_s

    def _keep_holding(self, waited_s: float) -> str:
        # Pushed: wait until the next announcement (a claim interrupts it); polled: a look.
        wait = max(1, math.ceil(self._refresh_s - waited_s)) if self.pushed else self._poll_s
        return twiml.pause(wait) + twiml.redirect(f"{self._prefix}/hold?w={int(waited_s) + wait}")

    def _look_again(self, waited_s: int) -> str:
        return twiml.pause(self._poll_s) + twiml.redirect(
            f"{self._prefix}/hold?w={waited_s + self._poll_s}"
        )


def _check_hold(poll_s: int, refresh_s: float) -> None:
    if poll_s < 1 or refresh_s < poll_s:
        raise ValueError(
            f"hold_poll_s ({poll_s}) must be 1 or more and at most hold_refresh_s ({refresh_s})"
        )


def _twiml(document: str) -> web.Response:
    return web.Response(text=document, content_type="text/xml", charset="utf-8")
