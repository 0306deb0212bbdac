"""Sending to Telegram: ``Bot.send_message`` with errors translated.

Everything sent goes through the store's outbox (``channels.courier``): agent replies are
tried at once and the agent told when they still fail; the flow's prompts are retried in
the background, per chat in order, until they are sent or refused for good.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from channels.base import Reply
from channels.errors import TelegramSendFailed
from channels.length import check_length, pack
from queues import Channel

__all__ = ["MAX_TEXT_CHARS", "TelegramOutbox", "split_text", "translate"]

log = structlog.get_logger(__name__)

#: The Bot API's limit for one message's text.
MAX_TEXT_CHARS = 4096


def translate(exc: TelegramError) -> TelegramSendFailed:
    """python-telegram-bot's error as ours: 5xx, 429 and network trouble are retryable."""
    if isinstance(exc, RetryAfter):
        wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return TelegramSendFailed(
            f"flood control: Telegram asks to wait {seconds:g} s",
            retryable=True,
            retry_after_s=seconds,
        )
    if isinstance(exc, Forbidden):  # blocked by the user, kicked from the chat
        return TelegramSendFailed(f"Telegram refused: {exc.message}", retryable=False)
    if isinstance(exc, BadRequest):  # chat not found, text too long, ...; also a NetworkError
        return TelegramSendFailed(f"Telegram refused: {exc.message}", retryable=False)
    if isinstance(exc, InvalidToken):
        # PTB's message may carry the token; never repeat it.
        return TelegramSendFailed(
            "Telegram rejected the bot token; check TELEGRAM_BOT_TOKEN", retryable=False
        )
    if isinstance(exc, ChatMigrated):
        return TelegramSendFailed(
            f"the chat moved to {exc.new_chat_id}; it is a supergroup now", retryable=False
        )
    if isinstance(exc, Conflict):
        return TelegramSendFailed(f"Telegram refused: {exc.message}", retryable=False)
    if isinstance(exc, NetworkError):  # 5xx, timeouts, connection errors
        return TelegramSendFailed(f"Telegram could not be reached: {exc.message}", retryable=True)
    return TelegramSendFailed(f"Telegram failed: {exc.message}", retryable=True)


def split_text(texts: list[str], limit: int = MAX_TEXT_CHARS) -> list[str]:
    """Texts joined by blank lines into as few messages as ``limit`` allows."""
    return pack(texts, limit=limit, separator="\n\n")


class TelegramOutbox:
    """Agent replies through ``Bot.send_message``; returns ``chat_id:message_id``."""

    channel = Channel.TELEGRAM

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_text(self, chat_id: int | str, text: str) -> str:
        try:
            sent = await self.bot.send_message(chat_id=chat_id, text=text)
        except TelegramError as exc:
            raise translate(exc) from exc
        return f"{sent.chat_id}:{sent.message_id}"

    async def send(self, reply: Reply) -> str:
        check_length("telegram", reply.text, limit=MAX_TEXT_CHARS, one_message="a Telegram message")
        return await self.send_text(reply.meta.get("chat_id", reply.address), reply.text)
