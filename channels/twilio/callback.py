"""Callback keeping the place (virtual hold): the offer on hold, the booking, the call back.

A caller on hold hears, with each position announcement, "press 1 to be called back; you
keep your place" (a ``<Gather numDigits=1>`` around the announcement). Pressing 1 asks for
the number: ``#`` keeps the caller's own, or they type another with its country code and
``#``. Then the call ends, and the contact stays in its queue with its score, untouched: the
router forgets the call (``CallbackHost.keep_place``), so its end does not abandon the
contact, and the callback is booked in the store (``callback_book``); out of hours it is due
at the opening. When an agent claims the contact, the router calls the customer through
Twilio's REST API (``callback_dial``); the answer fetches ``/callback/answer``, which puts
the customer through to the agent like any call (``<Dial>``); the end of the try comes to
``/callback/status``, where an unanswered try is retried or, after the last, the callback
fails and the customer gets an SMS.

Webhooks (all X-Twilio-Signature checked, as every voice webhook):
``POST {prefix}/callback?w=N`` the key pressed at the offer; ``{prefix}/callback/number?t=N``
the number; ``{prefix}/callback/answer?c=CONTACT&a=TRY`` the customer answered try TRY;
``{prefix}/callback/status?c=CONTACT&a=TRY`` how try TRY ended. Each answers within the
ingest deadline (``channels.deadline``; 503 past it, so Twilio retries), whatever the store
does: what the webhook does is idempotent, so the retry finds it done or does it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from aiohttp import web
from twilio.twiml.voice_response import VoiceResponse

from channels.base import HoldStatus, Inbox, Spoken
from channels.courier import Courier
from channels.deadline import DEFAULT_DEADLINE_S, Deadline
from channels.twilio import twiml
from channels.twilio.callback_book import Callback, CallbackState
from channels.twilio.callback_dial import CallbackSettings, Dialer
from channels.twilio.callback_parts import (
    CALLBACK_PROMPTS,
    CallbackHost,
    VoiceParts,
    e164,
    last_digits,
    typed_number,
)
from channels.twilio.calls import CallControl
from channels.twilio.steps import whole
from channels.webhooks import refuse, store_unavailable
from queues import Channel, Contact, ContactState, Store, StoreUnavailable, fill

__all__ = ["CALLBACK_PROMPTS", "CallbackHost", "Callbacks", "VoiceParts"]

log = structlog.get_logger(__name__)

#: Seconds the caller has to press 1 after the offer before the hold music goes on.
OFFER_TIMEOUT_S = 3
NUMBER_TIMEOUT_S = 10
#: Tries at typing a valid number before the caller is simply kept on hold.
NUMBER_TRIES = 2
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CALLBACK_ENDED = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


class Callbacks:
    """The callback webhooks and the offer; the dialing is ``self.dialer``'s."""

    def __init__(
        self,
        *,
        inbox: Inbox,
        host: CallbackHost,
        store: Store,
        calls: CallControl,
        public_url: str,
        prompts: Mapping[str, Mapping[str, str]],
        settings: CallbackSettings | None = None,
        courier: Courier | None = None,
        changed: Callable[[str], Awaitable[None]] | None = None,
        clock: Callable[[], float],
        default_language: str = "pl",
        prefix: str = "/twilio/voice",
        deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> None:
        missing = [key for key in CALLBACK_PROMPTS if key not in prompts]
        if missing:
            raise ValueError(f"callbacks need the prompts {', '.join(missing)} in config.yaml")
        self._inbox = inbox
        self._host = host
        self._deadline = Deadline(deadline_s)  # every webhook answered within it
        self._calls = calls
        self._prompts = {key: dict(prompts[key]) for key in CALLBACK_PROMPTS}
        self._clock = clock
        self._default_language = default_language
        self._prefix = prefix.rstrip("/")
        base = public_url.rstrip("/") + self._prefix
        self.dialer = Dialer(
            store=store,
            calls=calls,
            settings=settings or CallbackSettings(),
            answer_url=lambda cid, n: f"{base}/callback/answer?c={cid}&a={n}",
            status_url=lambda cid, n: f"{base}/callback/status?c={cid}&a={n}",
            hold_url=f"{base}/hold",
            opens_at=host.opens_at,
            sms_text=lambda cb: self.text("callback_failed_sms", cb.language, attempts=cb.attempts),
            courier=courier,
            changed=changed,
            clock=clock,
        )
        self.book = self.dialer.book
        self._voice: VoiceParts | None = None

    def bind(self, voice: VoiceParts) -> None:
        self._voice = voice

    @property
    def voice(self) -> VoiceParts:
        if self._voice is None:
            raise RuntimeError("Callbacks.bind(VoiceParts) was not called by the voice channel")
        return self._voice

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(f"{self._prefix}/callback", self.pressed)
        app.router.add_post(f"{self._prefix}/callback/number", self.number)
        app.router.add_post(f"{self._prefix}/callback/answer", self.answered)
        app.router.add_post(f"{self._prefix}/callback/status", self.ended)

    async def start(self) -> None:
        settings = self.dialer.settings
        log.info("voice_callbacks_on", attempts=settings.attempts, retry_s=settings.retry_s)
        await self.dialer.start()

    async def aclose(self) -> None:
        await self._deadline.aclose()
        await self.dialer.aclose()
        await self._calls.aclose()

    async def claimed(self, contact: Contact) -> bool:
        """An agent claimed ``contact``: True when it is a callback (dialled by us now or
        when due), False when the caller is on the line (the voice channel redirects it)."""
        return await self.dialer.claimed(contact)

    # -- the offer ---------------------------------------------------------------------------
    def offer(self, response: VoiceResponse, waited_s: int) -> Any:
        """A Gather for what the caller hears now: the offer is said last in it."""
        return response.gather(
            input="dtmf",
            num_digits=1,
            timeout=OFFER_TIMEOUT_S,
            action=f"{self._prefix}/callback?w={waited_s}",
            method="POST",
        )

    def text(self, key: str, language: str, **params: object) -> str:
        texts = self._prompts[key]
        template = texts.get(language) or texts.get(self._default_language)
        if template is None:
            template = next(iter(texts.values()))
        return fill(template, {name: str(value) for name, value in params.items()})

    def spoken(self, key: str, language: str, **params: object) -> Spoken:
        return Spoken(self.text(key, language, **params), language)

    # -- webhooks ----------------------------------------------------------------------------
    async def pressed(self, request: web.Request) -> web.StreamResponse:
        """A key at the offer: 1 asks for the number; anything else goes back to holding."""
        form = await self.voice.checked(request)
        if isinstance(form, web.Response):
            return form
        waited_s = whole(request.query.get("w"))
        try:
            status = await self._deadline.run(self._inbox.hold(Channel.VOICE, form["CallSid"]))
        except StoreUnavailable as exc:
            return store_unavailable("Twilio", exc)
        response = VoiceResponse()
        if status is None:
            response.hangup()
        elif form.get("Digits") != "1" or not _waiting(status):
            response.redirect(f"{self._prefix}/hold?w={max(1, waited_s)}", method="POST")
        else:
            log.info("callback_asked", contact_id=status.contact.id)
            self._ask_number(response, self._language(status), e164(form.get("From")), 0)
        return _twiml(response)

    async def number(self, request: web.Request) -> web.StreamResponse:
        """The number to call back (``#`` alone: the caller's own): the callback is booked
        and the call ends; a bad number is asked again, silence goes back to holding."""
        form = await self.voice.checked(request)
        if isinstance(form, web.Response):
            return form
        tries = whole(request.query.get("t"))
        try:
            response = await self._deadline.run(self._take_number(form, tries))
        except StoreUnavailable as exc:
            return store_unavailable("Twilio", exc)
        return _twiml(response)

    async def _take_number(self, form: Mapping[str, str], tries: int) -> VoiceResponse:
        digits, finished = form.get("Digits", ""), form.get("FinishedOnKey", "")
        status = await self._inbox.hold(Channel.VOICE, form["CallSid"])
        response = VoiceResponse()
        if status is None:
            response.hangup()
            return response
        language = self._language(status)
        if not _waiting(status) or (not digits and finished != "#"):
            response.redirect(f"{self._prefix}/hold?w=1", method="POST")
            return response
        number = typed_number(digits) if digits else e164(form.get("From"))
        if number is None:
            self.voice.say(response, self.spoken("callback_invalid_number", language))
            if tries + 1 >= NUMBER_TRIES:
                response.redirect(f"{self._prefix}/hold?w=1", method="POST")
            else:
                self._ask_number(response, language, None, tries + 1)
            return response
        await self._book(response, status, form, number)
        return response

    async def answered(self, request: web.Request) -> web.StreamResponse:
        """The customer picked up try ``a``: put them through to the agent who holds the
        contact (or back on hold in their place, when the agent let it go meanwhile)."""
        form = await self.voice.checked(request)
        if isinstance(form, web.Response):
            return form
        contact_id, attempt = request.query.get("c", ""), whole(request.query.get("a"))
        if not _ID.fullmatch(contact_id) or attempt < 1:
            return refuse(400, "the callback URL names no contact (c) or try (a)")
        response = VoiceResponse()
        try:
            taken = await self._deadline.run(self._connected(contact_id, attempt, form["CallSid"]))
        except StoreUnavailable as exc:
            return store_unavailable("Twilio", exc)
        if taken is None:
            response.hangup()
            return _twiml(response)
        callback, status = taken
        language = callback.language
        self.voice.say(response, self.spoken("callback_hello", language))
        if status is not None and status.agent is not None:
            log.info("callback_connecting", contact_id=contact_id, agent=status.agent.name)
            self.voice.connect(response, status.agent, language)
        elif status is not None and status.contact.state is ContactState.WAITING:
            response.redirect(f"{self._prefix}/hold?w=1", method="POST")
        else:
            response.hangup()
        return _twiml(response)

    async def _connected(
        self, contact_id: str, attempt: int, call_sid: str
    ) -> tuple[Callback, HoldStatus | None] | None:
        """Try ``attempt`` was answered: the callback and the contact's hold status now, or
        None when that try is no longer live."""
        callback = await self.book.get(contact_id)
        live = (CallbackState.CALLING, CallbackState.CONNECTED)
        if callback is None or callback.attempts != attempt or callback.state not in live:
            log.info("callback_answer_stale", contact_id=contact_id, attempt=attempt)
            return None
        await self._host.attach(Channel.VOICE, call_sid, contact_id)
        await self.book.change(contact_id, lambda cb: cb.connected(attempt, call_sid))
        await self.dialer.record(contact_id, "callback_answered", callback.agent, attempt=attempt)
        return callback, await self._inbox.hold(Channel.VOICE, call_sid)

    async def ended(self, request: web.Request) -> web.StreamResponse:
        """How try ``a`` ended: after a conversation the call is over (the agent writes the
        disposition); a try that reached nobody is retried, or the callback fails."""
        form = await self.voice.checked(request)
        if isinstance(form, web.Response):
            return form
        contact_id, attempt = request.query.get("c", ""), whole(request.query.get("a"))
        if not _ID.fullmatch(contact_id) or attempt < 1:
            return refuse(400, "the callback URL names no contact (c) or try (a)")
        call_status = form.get("CallStatus", "")
        if call_status not in _CALLBACK_ENDED:
            return web.Response(status=204)
        try:
            await self._deadline.run(self._end(contact_id, attempt, form["CallSid"], call_status))
        except StoreUnavailable as exc:
            return store_unavailable("Twilio", exc)
        return web.Response(status=204)

    async def _end(self, contact_id: str, attempt: int, call_sid: str, call_status: str) -> None:
        callback = await self.book.get(contact_id)
        if callback is None or callback.attempts != attempt:
            return
        if callback.state is CallbackState.CONNECTED:
            await self._inbox.hang_up(Channel.VOICE, call_sid)
            log.info("callback_call_ended", contact_id=contact_id, call_status=call_status)
        else:
            await self.dialer.unanswered(contact_id, attempt, call_status)

    # -- helpers -----------------------------------------------------------------------------
    def _ask_number(
        self, response: VoiceResponse, language: str, own: str | None, tries: int
    ) -> None:
        gather = response.gather(
            input="dtmf",
            action=f"{self._prefix}/callback/number?t={tries}",
            method="POST",
            timeout=NUMBER_TIMEOUT_S,
            finish_on_key="#",
            action_on_empty_result=True,
        )
        if own is not None:
            self.voice.say(
                gather, self.spoken("callback_confirm", language, digits=last_digits(own))
            )
        else:
            self.voice.say(gather, self.spoken("callback_enter_number", language))
        response.redirect(f"{self._prefix}/hold?w=1", method="POST")

    async def _book(
        self, response: VoiceResponse, status: HoldStatus, form: Mapping[str, str], number: str
    ) -> None:
        """Book the callback and end the call; or, when an agent took the call meanwhile,
        put the caller through (the claim saw no callback, and redirected the call)."""
        contact, call_sid = status.contact, form["CallSid"]
        language, now = self._language(status), self._clock()
        due_at = self._host.opens_at(contact.team, now) if contact.team else now
        callback = Callback(
            number=number,
            caller_id=form.get("To", ""),
            language=language,
            booked_at=now,
            due_at=due_at,
            call_sid=call_sid,
        )
        if not await self.book.create(contact.id, callback):
            # Booked before: by this very webhook (Twilio retrying it), or by an earlier
            # call of this contact (back on hold after a call back): book it afresh.
            await self.book.change(contact.id, callback.replacing)
        again = await self._inbox.hold(Channel.VOICE, call_sid)
        if again is not None and not _waiting(again):
            cancelled = await self.book.change(contact.id, Callback.cancelled)
            if cancelled is not None:
                log.info("callback_cancelled", contact_id=contact.id, reason="claimed meanwhile")
                response.redirect(f"{self._prefix}/hold?w=1", method="POST")
                return
        await self._host.keep_place(Channel.VOICE, call_sid)
        await self.dialer.record(contact.id, "callback_booked", None, due_at=due_at)
        log.info("callback_booked", contact_id=contact.id, in_s=round(due_at - now))
        position = status.position.ahead + 1 if status.position else 1
        if due_at > now and contact.team is not None:
            opens = self._host.opening_label(contact.team, due_at, language)
            key, params = "callback_booked_closed", {"opens": opens}
        else:
            key, params = "callback_booked", {}
        said = self.spoken(key, language, digits=last_digits(number), position=position, **params)
        self.voice.say(response, said)
        response.hangup()

    def _language(self, status: HoldStatus) -> str:
        return status.contact.language or self._default_language


def _waiting(status: HoldStatus) -> bool:
    return status.agent is None and status.contact.state is ContactState.WAITING


def _twiml(response: VoiceResponse) -> web.Response:
    return web.Response(text=twiml.render(response), content_type="text/xml", charset="utf-8")
