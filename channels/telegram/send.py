"""Sending to Telegram: ``Bot.send_message`` with errors translated, and a retry queue.

Agent replies go through ``TelegramOutbox`` (the app's ``RetryingOutbox`` retries them and
the desk tells the agent when they still fail). The flow's prompts have no agent waiting
on them, so ``PromptQueue`` keeps the ones that failed and tries again in the background,
per chat in order, until they are sent or refused for good.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
from channels.errors import SendFailed, TelegramSendFailed
from channels.length import check_length, pack
from channels.retry import backoff_s
from queues import Channel

__all__ = ["MAX_TEXT_CHARS", "PromptQueue", "TelegramOutbox", "split_text", "translate"]

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


@dataclass(slots=True)
class _Pending:
    chat_id: int | str
    text: str
    contact_id: str | None
    attempts: int = 0


class PromptQueue:
    """Per process: the flow's prompts, sent in order per chat, retried with backoff.

    ``submit`` never blocks the webhook. A retryable failure waits (full jitter, doubling up
    to ``max_delay_s``, or Telegram's own ``retry_after``) and tries again, up to
    ``attempts``; a refusal (blocked bot, unknown chat) is logged and the prompt dropped —
    it is still in the contact's history.
    """

    def __init__(
        self,
        send: Callable[[int | str, str], Awaitable[object]],
        *,
        attempts: int = 8,
        first_delay_s: float = 0.5,
        max_delay_s: float = 60.0,
        max_pending: int = 10_000,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._send = send
        self._attempts = attempts
        self._first_delay_s = first_delay_s
        self._max_delay_s = max_delay_s
        self._max_pending = max_pending
        self._sleep = sleep
        self._chats: dict[int | str, deque[_Pending]] = {}
        self._tasks: dict[int | str, asyncio.Task[None]] = {}
        self._pending = 0

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, chat_id: int | str, text: str, *, contact_id: str | None = None) -> bool:
        """Queue ``text`` for ``chat_id``; False when the queue is full (logged)."""
        if self._pending >= self._max_pending:
            log.error("telegram_prompt_queue_full", contact_id=contact_id, pending=self._pending)
            return False
        self._chats.setdefault(chat_id, deque()).append(_Pending(chat_id, text, contact_id))
        self._pending += 1
        if chat_id not in self._tasks:
            self._tasks[chat_id] = asyncio.create_task(self._drain(chat_id))
        return True

    async def _drain(self, chat_id: int | str) -> None:
        queue = self._chats[chat_id]
        try:
            while queue:
                item = queue[0]
                try:
                    await self._send(item.chat_id, item.text)
                except SendFailed as exc:
                    item.attempts += 1
                    if not exc.retryable or item.attempts >= self._attempts:
                        log.error(
                            "telegram_prompt_failed",
                            contact_id=item.contact_id,
                            attempts=item.attempts,
                            reason=exc.reason,
                        )
                    else:
                        log.info(
                            "telegram_prompt_retry",
                            contact_id=item.contact_id,
                            attempt=item.attempts,
                            reason=exc.reason,
                        )
                        await self._sleep(self._delay(item.attempts, exc))
                        continue
                queue.popleft()
                self._pending -= 1
        finally:
            del self._tasks[chat_id]
            if not queue:
                del self._chats[chat_id]

    def _delay(self, attempt: int, exc: SendFailed) -> float:
        if isinstance(exc, TelegramSendFailed) and exc.retry_after_s is not None:
            return min(exc.retry_after_s, self._max_delay_s)
        return backoff_s(attempt, first_delay_s=self._first_delay_s, max_delay_s=self._max_delay_s)

    async def join(self, timeout_s: float | None = None) -> bool:
        """Wait until nothing is pending (or ``timeout_s`` passes); True when drained."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while self._tasks:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return False
            await asyncio.wait(list(self._tasks.values()), timeout=left)
        return True

    async def aclose(self, grace_s: float = 2.0) -> None:
        """Give pending prompts ``grace_s`` to go out, then stop and say how many did not."""
        await self.join(grace_s)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._pending:
            log.error("telegram_prompts_unsent", pending=self._pending)
