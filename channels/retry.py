"""Retrying sends with exponential backoff: a provider's hiccup does not lose a reply."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import structlog

from channels.base import Outbox, Reply
from channels.errors import SendFailed
from queues import Channel

__all__ = ["RetryingOutbox", "backoff_s"]

log = structlog.get_logger(__name__)


def backoff_s(attempt: int, *, first_delay_s: float, max_delay_s: float) -> float:
    """The wait after failed ``attempt`` (1, 2, ...): full jitter under a ceiling that doubles
    from ``first_delay_s`` up to ``max_delay_s``, so many failing sends do not retry in
    lockstep."""
    ceiling = min(first_delay_s * 2 ** (attempt - 1), max_delay_s)
    return random.uniform(0, ceiling)  # jitter, not crypto


class RetryingOutbox:
    """Wraps an Outbox: retryable ``SendFailed`` are tried again, the last one is raised.

    The caller (the agent desk) records a reply that still failed and tells the agent, so
    nothing is dropped silently. The waits between attempts are ``backoff_s``.
    """

    def __init__(
        self,
        inner: Outbox,
        *,
        attempts: int = 4,
        first_delay_s: float = 0.25,
        max_delay_s: float = 4.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be 1 or more, not {attempts}")
        self.inner = inner
        self.channel: Channel = inner.channel
        self._attempts = attempts
        self._first_delay_s = first_delay_s
        self._max_delay_s = max_delay_s
        self._sleep = sleep

    async def send(self, reply: Reply) -> str | None:
        for attempt in range(1, self._attempts + 1):
            try:
                return await self.inner.send(reply)
            except SendFailed as exc:
                if not exc.retryable or attempt == self._attempts:
                    log.warning(
                        "send_failed",
                        channel=str(self.channel),
                        contact_id=reply.contact_id,
                        attempts=attempt,
                        reason=exc.reason,
                    )
                    raise
                log.info(
                    "send_retry", channel=str(self.channel), attempt=attempt, reason=exc.reason
                )
                first_s, max_s = self._first_delay_s, self._max_delay_s
                await self._sleep(backoff_s(attempt, first_delay_s=first_s, max_delay_s=max_s))
        raise AssertionError("unreachable")  # pragma: no cover
