from __future__ import annotations

import pytest

from channels.base import Reply
from channels.errors import SendFailed
from channels.retry import RetryingOutbox, backoff_s
from queues import Channel

REPLY = Reply("c1", Channel.SMS, "+48500", "hi", "pl")


class Flaky:
    channel = Channel.SMS

    def __init__(self, failures: int, *, retryable: bool = True) -> None:
        self.failures = failures
        self.retryable = retryable
        self.calls = 0

    async def send(self, reply: Reply) -> str | None:
        self.calls += 1
        if self.calls <= self.failures:
            raise SendFailed("sms", f"attempt {self.calls} refused", retryable=self.retryable)
        return f"SM{self.calls}"


async def no_sleep(_: float) -> None:
    return None


async def test_retries_until_sent() -> None:
    inner = Flaky(2)
    outbox = RetryingOutbox(inner, attempts=4, sleep=no_sleep)
    assert await outbox.send(REPLY) == "SM3"
    assert inner.calls == 3


async def test_raises_the_last_failure_after_all_attempts() -> None:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    inner = Flaky(10)
    outbox = RetryingOutbox(inner, attempts=3, first_delay_s=1, max_delay_s=1.5, sleep=sleep)
    with pytest.raises(SendFailed, match="attempt 3"):
        await outbox.send(REPLY)
    assert inner.calls == 3
    assert len(delays) == 2 and all(0 <= d <= 1.5 for d in delays)


async def test_permanent_failure_is_not_retried() -> None:
    inner = Flaky(1, retryable=False)
    with pytest.raises(SendFailed):
        await RetryingOutbox(inner, sleep=no_sleep).send(REPLY)
    assert inner.calls == 1


def test_backoff_doubles_its_ceiling_up_to_the_maximum() -> None:
    for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)):
        waits = [backoff_s(attempt, first_delay_s=0.5, max_delay_s=3.0) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2  # jittered across the range, not pinned at zero
