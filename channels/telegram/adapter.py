"""Telegram: ``POST /telegram/webhook`` in, ``Bot.send_message`` out (webhook only, no polling).

Telegram sends the secret token it was given with ``setWebhook`` in
X-Telegram-Bot-Api-Secret-Token; anything else is refused (403). An update is answered
200 only once its message is stored; when the store is down the answer is 503 and Telegram
delivers the update again, which ``update_id`` makes one message. The flow's prompts are
posted to the store's outbox (``channels.courier``) before the answer, under ids made from
the ``update_id``: a redelivered update never sends them twice, and a process that dies
after answering leaves them to the courier of another process (or of the next start).
"""

from __future__ import annotations

import hmac

import structlog
from aiohttp import web
from telegram import Bot, Message, Update
from telegram.error import TelegramError

from channels.base import Answer, InboundMessage, Inbox, Outbox, Reply
from channels.courier import Courier
from channels.deadline import DEFAULT_DEADLINE_S, Deadline
from channels.inputs import BadInput, load_json
from channels.telegram.parse import check_message, inbound_message, is_start
from channels.telegram.send import TelegramOutbox, split_text, translate
from channels.webhooks import refuse, store_unavailable
from queues import Channel, ContactState, StoreUnavailable

__all__ = ["SECRET_HEADER", "WEBHOOK_PATH", "TelegramAdapter"]

log = structlog.get_logger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: The updates the bot asks for; others are acknowledged and ignored.
ALLOWED_UPDATES = ("message",)


class TelegramAdapter:
    """The Telegram channel for one bot.

    ``webhook_url`` (the public URL of ``/telegram/webhook``), when given, is registered
    with ``setWebhook`` at start, with the secret token; otherwise the operator does it.
    """

    channel = Channel.TELEGRAM

    def __init__(
        self,
        inbox: Inbox,
        *,
        courier: Courier,
        bot_token: str,
        secret_token: str,
        api_base_url: str | None = None,
        webhook_url: str | None = None,
        languages: tuple[str, ...] = ("pl", "en", "ru", "he"),
        deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> None:
        if not bot_token:
            raise ValueError("the Telegram bot token is empty; set TELEGRAM_BOT_TOKEN")
        if not secret_token:
            raise ValueError("the webhook secret token is empty; set TELEGRAM_SECRET_TOKEN")
        self._inbox = inbox
        self._deadline = Deadline(deadline_s)
        self._secret = secret_token.encode()
        self._webhook_url = webhook_url
        self._languages = languages
        base = api_base_url.rstrip("/") if api_base_url else "https://api.telegram.org"
        self.bot = Bot(bot_token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")
        self.sender = TelegramOutbox(self.bot)
        self.outbox: Outbox | None = self.sender
        self.courier = courier

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(WEBHOOK_PATH, self.webhook)

    async def start(self) -> None:
        bot: str | None = None
        try:
            await self.bot.initialize()  # getMe: checks the token, learns the bot's name
            bot = self.bot.username
        except TelegramError as exc:
            # Sending works without it; the webhook keeps taking messages meanwhile.
            log.warning("telegram_get_me_failed", reason=translate(exc).reason)
        log.info("channel_on", channel="telegram", bot=bot, path=WEBHOOK_PATH)
        if self._webhook_url is None:
            log.info(
                "telegram_webhook_not_set",
                hint="set http.public_url so the webhook is registered at start, or call "
                "setWebhook with the secret token yourself",
            )
            return
        try:
            await self.bot.set_webhook(
                self._webhook_url,
                secret_token=self._secret.decode(),
                allowed_updates=list(ALLOWED_UPDATES),
            )
        except TelegramError as exc:
            log.warning("telegram_set_webhook_failed", reason=translate(exc).reason)
        else:
            log.info("telegram_webhook_set", url=self._webhook_url)

    async def aclose(self) -> None:
        await self._deadline.aclose()
        await self.bot.shutdown()

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("telegram_secret_refused")
            return refuse(403, f"the {SECRET_HEADER} header is missing or wrong", ok=False)
        # 400 tells Telegram the update can never be taken, so it stops sending it.
        try:
            data = load_json(await request.read())
        except BadInput as exc:
            return refuse(400, str(exc), ok=False)
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return refuse(400, "the body is not a Telegram update: no integer update_id", ok=False)
        problem = check_message(data["message"]) if data.get("message") is not None else None
        if problem is not None:
            return refuse(400, problem, ok=False)
        try:
            update = Update.de_json(data, self.bot)
        except KeyError as exc:
            return refuse(
                400, f"the update is malformed: the field {exc.args[0]!r} is missing", ok=False
            )
        except Exception as exc:  # whatever python-telegram-bot makes of a bad field
            return refuse(400, f"the update is malformed: {type(exc).__name__}", ok=False)
        message = update.message
        if message is None or message.chat.type != "private":
            kinds = sorted(k for k, v in data.items() if k != "update_id" and v)
            log.info("telegram_update_ignored", update_id=update_id, kinds=kinds[:10])
            return web.json_response({"ok": True})
        try:
            inbound = inbound_message(update_id, message, languages=self._languages)
        except (TypeError, ValueError, AttributeError) as exc:
            return refuse(400, f"the update is malformed: {type(exc).__name__}", ok=False)
        try:
            answer, texts = await self._deadline.run(self._take(inbound, message))
        except StoreUnavailable as exc:
            return store_unavailable("Telegram", exc, ok=False)
        log.info(
            "telegram_received",
            contact_id=answer.contact.id,
            update_id=update_id,
            duplicate=answer.duplicate,
            prompts=len(texts),
        )
        return web.json_response({"ok": True})

    async def _take(self, inbound: InboundMessage, message: Message) -> tuple[Answer, list[str]]:
        """Store the message, run the flow, post its prompts to the outbox."""
        waiting = await self._restart(inbound) if is_start(message) else None
        answer = await self._inbox.receive(inbound)
        texts = [p.text for p in answer.prompts if p.text.strip()]
        if not texts and waiting is not None:
            texts = [waiting]  # /start while queued: where they stand
        language = answer.prompts[0].language if answer.prompts else inbound.language
        for n, text in enumerate(split_text(texts)):
            # A redelivered update posts the same ids again, which the store refuses.
            reply = Reply(
                contact_id=answer.contact.id,
                channel=Channel.TELEGRAM,
                address=inbound.address,
                text=text,
                language=language or "pl",
                meta={"chat_id": message.chat.id},
            )
            await self.courier.post(
                f"telegram:{inbound.meta['update_id']}:{n}", reply, kind="prompt"
            )
        return answer, texts

    async def _restart(self, inbound: InboundMessage) -> str | None:
        """``/start`` in the middle of the flow begins it again; a queued contact stays
        queued, and the position announcement is returned to tell the customer."""
        conversation = str(inbound.conversation)
        status = await self._inbox.hold(Channel.TELEGRAM, conversation)
        if status is None or status.contact.state is not ContactState.IN_FLOW:
            return status.prompt.text if status and status.prompt else None
        if status.contact.meta.get("update_id") == inbound.meta["update_id"]:
            return None  # this very update started it: a redelivery, not a new /start
        await self._inbox.hang_up(Channel.TELEGRAM, conversation)
        log.info("telegram_flow_restarted", contact_id=status.contact.id)
        return None
