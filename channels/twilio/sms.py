"""SMS through Twilio: ``POST /twilio/sms`` in, TwiML ``<Message>`` for the flow, REST out.

Every webhook is signature-checked (``channels.twilio.auth``). A message is stored before
Twilio gets its answer; when the store is down the answer is 503, so Twilio's retry (or the
fallback URL) brings it again, and the MessageSid makes the repeat one message that replays
the same TwiML. Delivery reports of agent replies arrive at ``POST /twilio/sms/status``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from channels.base import Answer, InboundMessage, Inbox, Outbox, Spoken
from channels.deadline import DEFAULT_DEADLINE_S, Deadline
from channels.length import pack
from channels.twilio import twiml
from channels.twilio.auth import TwilioSignature
from channels.twilio.sms_send import MAX_SMS_CHARS, SmsOutbox
from channels.webhooks import refuse, store_unavailable
from queues import Channel, StoreUnavailable, stop_tasks

__all__ = ["INBOUND_PATH", "STATUS_PATH", "SmsAdapter", "render_twiml"]

log = structlog.get_logger(__name__)

INBOUND_PATH = "/twilio/sms"
STATUS_PATH = "/twilio/sms/status"
#: A delivery report can overtake the desk's record of the reply it reports on; look again.
STATUS_RETRY_DELAYS_S = (0.5, 2.0, 8.0)
MAX_DEFERRED_REPORTS = 1000


def render_twiml(prompts: Iterable[Spoken]) -> str:
    """The prompts as TwiML: joined into as few ``<Message>``s as the SMS length allows."""
    texts = [p.text for p in prompts if p.text.strip()]
    chunks = pack(texts, limit=MAX_SMS_CHARS, separator="\n")
    return twiml.document("".join(map(twiml.message, chunks)))


class SmsAdapter:
    """The SMS channel: Twilio webhooks in, the REST API out."""

    channel = Channel.SMS

    def __init__(
        self,
        inbox: Inbox,
        *,
        auth_token: str,
        account_sid: str | None,
        public_url: str | None = None,
        trust_proxy: bool = False,
        api_base_url: str | None = None,
        timeout_s: float = 10.0,
        deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> None:
        self._inbox = inbox
        self._deadline = Deadline(deadline_s)
        self._signature = TwilioSignature(
            auth_token, public_url=public_url, trust_proxy=trust_proxy
        )
        callback = public_url.rstrip("/") + STATUS_PATH if public_url else None
        self.sender = SmsOutbox(
            account_sid=account_sid,
            auth_token=auth_token,
            api_base_url=api_base_url,
            status_callback_url=callback,
            timeout_s=timeout_s,
        )
        self.outbox: Outbox | None = self.sender
        self._deferred: set[asyncio.Task[None]] = set()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(INBOUND_PATH, self.inbound)
        app.router.add_post(STATUS_PATH, self.status)

    async def start(self) -> None:
        log.info("channel_on", channel="sms", path=INBOUND_PATH)

    async def aclose(self) -> None:
        await stop_tasks(*self._deferred)
        await self._deadline.aclose()
        await self.sender.aclose()

    # -- inbound messages ------------------------------------------------------------------
    async def inbound(self, request: web.Request) -> web.Response:
        form = await self._signature.signed_form(request)
        if isinstance(form, web.Response):
            log.warning("sms_refused", status=form.status)
            return form
        sid = form.get("MessageSid") or form.get("SmsMessageSid")
        sender = form.get("From")
        if not sid or not sender:
            missing = " and ".join(k for k, v in (("MessageSid", sid), ("From", sender)) if not v)
            return refuse(400, f"the message has no {missing}; it is not an SMS webhook")
        message = InboundMessage(
            channel=Channel.SMS,
            address=sender,
            text=_text(form),
            key=f"sms:{sid}",
            conversation=sender,
            meta=self._meta(request, form),
        )
        opt_out = form.get("OptOutType", "").upper() == "STOP"
        try:
            answer = await self._deadline.run(self._take(message, opt_out=opt_out))
        except StoreUnavailable as exc:
            return store_unavailable("Twilio", exc)
        if answer is None:
            log.info("sms_opt_out", message_sid=sid)
            return _twiml(twiml.document(""))
        log.info(
            "sms_received",
            contact_id=answer.contact.id,
            message_sid=sid,
            duplicate=answer.duplicate,
            prompts=len(answer.prompts),
        )
        return _twiml(render_twiml(answer.prompts))

    async def _take(self, message: InboundMessage, *, opt_out: bool) -> Answer | None:
        if opt_out:
            # The customer opted out; Twilio blocks messages to them from now on.
            await self._inbox.hang_up(Channel.SMS, message.address)
            return None
        return await self._inbox.receive(message)

    def _meta(self, request: web.Request, form: Mapping[str, str]) -> dict[str, object]:
        meta: dict[str, object] = {
            "twilio_to": form.get("To", ""),
            "message_sid": form.get("MessageSid") or form.get("SmsMessageSid"),
            # The URL Twilio reached us at is where it can report deliveries.
            "status_callback": urlsplit(self._signature.url_of(request))
            ._replace(path=STATUS_PATH, query="", fragment="")
            .geturl(),
        }
        if form.get("FromCountry"):
            meta["from_country"] = form["FromCountry"]
        media = _media(form)
        if media:
            meta["media"] = media
        return meta

    # -- delivery reports ------------------------------------------------------------------
    async def status(self, request: web.Request) -> web.Response:
        form = await self._signature.signed_form(request)
        if isinstance(form, web.Response):
            log.warning("sms_refused", path=STATUS_PATH, status=form.status)
            return form
        sid = form.get("MessageSid") or form.get("SmsSid")
        status = form.get("MessageStatus") or form.get("SmsStatus")
        if not sid or not status:
            return refuse(400, "the report has no MessageSid or MessageStatus")
        detail = form.get("ErrorCode") or None
        try:
            known = await self._deadline.run(
                self._inbox.delivery(Channel.SMS, sid, status, detail=detail)
            )
        except StoreUnavailable as exc:
            return store_unavailable("Twilio", exc)
        if not known:
            self._defer(sid, status, detail)
        return web.Response(status=204)

    def _defer(self, sid: str, status: str, detail: str | None) -> None:
        if len(self._deferred) >= MAX_DEFERRED_REPORTS:
            log.warning("sms_status_unknown", message_sid=sid, status=status)
            return
        task = asyncio.create_task(self._report_later(sid, status, detail))
        self._deferred.add(task)
        task.add_done_callback(self._deferred.discard)

    async def _report_later(self, sid: str, status: str, detail: str | None) -> None:
        for delay_s in STATUS_RETRY_DELAYS_S:
            await asyncio.sleep(delay_s)
            try:
                if await self._inbox.delivery(Channel.SMS, sid, status, detail=detail):
                    return
            except StoreUnavailable:
                continue
        log.info("sms_status_unknown", message_sid=sid, status=status)


def _twiml(body: str) -> web.Response:
    return web.Response(text=body, content_type="application/xml")


def _media(form: Mapping[str, str]) -> list[dict[str, str]]:
    try:
        count = int(form.get("NumMedia", "0"))
    except ValueError:
        count = 0
    found = []
    for i in range(min(count, 10)):  # Twilio delivers at most 10 media per message
        url = form.get(f"MediaUrl{i}")
        if url:
            found.append({"url": url, "content_type": form.get(f"MediaContentType{i}", "")})
    return found


def _text(form: Mapping[str, str]) -> str:
    body = form.get("Body", "")
    if body.strip():
        return body
    media = _media(form)
    if media:  # an MMS without text is still taken; the agent sees what came
        return " ".join(f"[{m['content_type'] or 'media'}]" for m in media)
    return body
