"""The durable outbox on every store: sent once, in order per address, retried after a
failure or a dead process, and given up with a report."""

from __future__ import annotations

import asyncio

import pytest

from channels.base import Reply
from channels.courier import Courier, Delivery
from channels.errors import SendFailed
from channels.retry import backoff_s
from queues import Channel, Store
from tests.conftest import FakeClock


class Flaky:
    """An Outbox that refuses its first ``failures`` sends."""

    channel = Channel.SMS

    def __init__(self, failures: int = 0, *, retryable: bool = True) -> None:
        self.failures = failures
        self.retryable = retryable
        self.calls: list[str] = []
        self.sent: list[str] = []

    async def send(self, reply: Reply) -> str | None:
        self.calls.append(reply.text)
        if len(self.calls) <= self.failures:
            raise SendFailed("sms", f"attempt {len(self.calls)} refused", retryable=self.retryable)
        self.sent.append(reply.text)
        return f"SM{len(self.calls)}"


async def no_sleep(_: float) -> None:
    return None


def reply(text: str, address: str = "+48500100200") -> Reply:
    return Reply("c1", Channel.SMS, address, text, "pl", author="ania")


def courier(store: Store, clock: FakeClock, outbox: Flaky, **kw: float) -> Courier:
    made = Courier(store, clock=clock, sleep=no_sleep, lease_s=30, **kw)  # type: ignore[arg-type]
    made.senders[Channel.SMS] = outbox
    return made


def reporting(made: Courier) -> list[Delivery]:
    settled: list[Delivery] = []

    async def keep(delivery: Delivery) -> None:
        settled.append(delivery)

    made.on_settled = keep
    return settled


async def drain_all(made: Courier, clock: FakeClock, rounds: int = 20) -> None:
    for _ in range(rounds):
        await made.drain()
        clock.advance(61)  # past any backoff


async def test_send_now_retries_within_the_lease_until_sent(store: Store, clock: FakeClock) -> None:
    outbox = Flaky(failures=2)
    made = courier(store, clock, outbox)
    settled = reporting(made)
    assert await made.post("m1", reply("Sprawdzam."), kind="reply", retry=False)
    delivery = await made.send_now("m1")
    assert delivery is not None and delivery.sent and delivery.provider_id == "SM3"
    assert outbox.calls == ["Sprawdzam."] * 3 and settled == [delivery]
    assert await store.parcels_pending() == 0
    assert await made.send_now("m1") is None  # settled: nothing to take


async def test_send_now_reports_the_last_failure_and_gives_up(
    store: Store, clock: FakeClock
) -> None:
    made = courier(store, clock, Flaky(failures=9))
    await made.post("m1", reply("Halo?"), kind="reply", retry=False)
    delivery = await made.send_now("m1", attempts=3)
    assert delivery is not None and not delivery.sent and delivery.retryable
    assert delivery.reason == "attempt 3 refused"
    assert await store.parcels_pending() == 0  # an agent reply is not retried unasked


async def test_a_refusal_is_not_retried(store: Store, clock: FakeClock) -> None:
    outbox = Flaky(failures=1, retryable=False)
    made = courier(store, clock, outbox)
    settled = reporting(made)
    await made.post("p1", reply("Dzień dobry"), kind="prompt")
    await drain_all(made, clock)
    assert outbox.calls == ["Dzień dobry"] and outbox.sent == []
    assert [(d.sent, d.attempts) for d in settled] == [(False, 1)]


async def test_background_retries_keep_the_order_of_one_address(
    store: Store, clock: FakeClock
) -> None:
    outbox = Flaky(failures=2)
    made = courier(store, clock, outbox)
    for n, text in enumerate(["one", "two", "three"]):
        await made.post(f"p{n}", reply(text), kind="prompt")
        clock.advance(0.001)
    await made.drain()
    assert outbox.calls == ["one"]  # failed: two and three wait behind it
    await drain_all(made, clock)
    assert outbox.sent == ["one", "two", "three"]
    assert await store.parcels_pending() == 0


async def test_background_retries_give_up_after_their_attempts(
    store: Store, clock: FakeClock
) -> None:
    outbox = Flaky(failures=99)
    made = courier(store, clock, outbox, attempts=3)
    settled = reporting(made)
    await made.post("p1", reply("one"), kind="prompt")
    await drain_all(made, clock)
    assert outbox.calls == ["one"] * 3
    assert [(d.sent, d.attempts, d.reason) for d in settled] == [(False, 3, "attempt 3 refused")]


async def test_a_parcel_is_sent_once_however_often_it_is_posted(
    store: Store, clock: FakeClock
) -> None:
    outbox = Flaky()
    made = courier(store, clock, outbox)
    assert await made.post("telegram:7:0", reply("hello"), kind="prompt")
    await drain_all(made, clock, rounds=2)
    assert not await made.post("telegram:7:0", reply("hello"), kind="prompt")  # redelivery
    await drain_all(made, clock, rounds=2)
    assert outbox.sent == ["hello"]


async def test_what_a_dead_process_took_goes_out_from_another_after_the_lease(
    store: Store, clock: FakeClock
) -> None:
    await Courier(store, clock=clock).post("p1", reply("hello"), kind="prompt")
    # Process A takes it and dies before sending (nothing settles it).
    assert len(await store.take_parcels(lease_s=30, limit=10)) == 1
    outbox = Flaky()
    other = courier(store, clock, outbox)
    assert await other.drain() == 0
    clock.advance(30)
    assert await other.drain() == 1
    assert outbox.sent == ["hello"] and await store.parcels_pending() == 0


async def test_addresses_do_not_wait_for_each_other(store: Store, clock: FakeClock) -> None:
    class OneBad(Flaky):
        async def send(self, reply: Reply) -> str | None:
            if reply.address == "bad":
                raise SendFailed("sms", "down")
            return await super().send(reply)

    outbox = OneBad()
    made = courier(store, clock, outbox)
    await made.post("a", reply("to bad", "bad"), kind="prompt")
    await made.post("b", reply("to good", "good"), kind="prompt")
    await made.drain()
    assert outbox.sent == ["to good"]


async def test_a_channel_not_running_here_is_left_for_another_process(
    store: Store, clock: FakeClock
) -> None:
    made = Courier(store, clock=clock, sleep=no_sleep)
    await made.post("p1", reply("hello"), kind="prompt")
    await made.drain()
    assert await store.parcels_pending() == 1  # deferred, not given up


def test_backoff_doubles_its_ceiling_up_to_the_maximum() -> None:
    for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)):
        waits = [backoff_s(attempt, first_delay_s=0.5, max_delay_s=3.0) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2  # jittered across the range, not pinned at zero


async def test_a_stop_cancelled_while_a_send_is_under_way_stops_the_deliveries_too(
    store: Store, clock: FakeClock
) -> None:
    sending, release = asyncio.Event(), asyncio.Event()

    class Slow(Flaky):
        async def send(self, reply: Reply) -> str | None:
            sending.set()
            await release.wait()
            return await super().send(reply)

    made = Courier(store, clock=clock, lease_s=30)
    made.senders[Channel.SMS] = Slow()
    await made.post("p1", reply("hello"), kind="prompt", retry=True)
    await made.start()
    delivering = made._task
    assert delivering is not None
    await sending.wait()
    stopping = asyncio.create_task(made.stop(timeout_s=30))
    await asyncio.sleep(0)
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert delivering.done()  # not left running with no one to stop it
