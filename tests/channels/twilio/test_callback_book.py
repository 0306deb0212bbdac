"""The callback record and its store: transitions, and compare-and-set changes that never
lose one or run one twice, however they interleave; on every store."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from channels.twilio import Callback, CallbackBook, CallbackState
from queues import Store
from tests.conftest import FakeClock
from tests.router.config.test_config import problems, shipped

STORE_BACKENDS = ["memory", "sqlite", "redis"]
NOW = 1_795_000_000.0


def booked(**changes: object) -> Callback:
    fresh = Callback(
        number="+48500100200",
        caller_id="+48221234567",
        language="en",
        booked_at=NOW,
        due_at=NOW,
        call_sid="CA1",
    )
    return dataclasses.replace(fresh, **changes)  # type: ignore[arg-type]


def test_tries_ring_out_until_the_last_then_the_callback_fails() -> None:
    first = booked().dialing("tomek", NOW)
    assert (first.state, first.attempts, first.agent) == (CallbackState.CALLING, 1, "tomek")
    again = first.unanswered("no-answer", NOW, attempts=2, retry_s=120)
    assert (again.state, again.due_at, again.last_status) == (
        CallbackState.BOOKED,
        NOW + 120,
        "no-answer",
    )
    last = again.dialing("tomek", NOW + 120).unanswered("busy", NOW + 121, attempts=2, retry_s=120)
    assert (last.state, last.attempts, last.last_status) == (CallbackState.FAILED, 2, "busy")


def test_only_the_try_under_way_connects_and_only_a_fresh_booking_is_cancelled() -> None:
    calling = booked().dialing("tomek", NOW)
    assert calling.connected(2, "CA9") is None  # an older or made-up try
    connected = calling.connected(1, "CA9")
    assert connected is not None and connected.state is CallbackState.CONNECTED
    assert connected.attempt_sid == "CA9"
    assert calling.cancelled() is None  # dialled already: the call back goes on
    cancelled = booked().cancelled()
    assert cancelled is not None and cancelled.state is CallbackState.CANCELLED


def test_a_booking_replaces_an_earlier_one_but_not_its_own_retry_nor_a_call_under_way() -> None:
    earlier = booked(call_sid="CA0", state=CallbackState.CONNECTED, attempts=1)
    fresh = booked()
    assert fresh.replacing(earlier) is fresh
    assert fresh.replacing(booked()) is None
    assert fresh.replacing(dataclasses.replace(earlier, state=CallbackState.CALLING)) is None


def test_a_record_reads_back_and_shows_what_the_agent_needs() -> None:
    record = booked(attempts=2, last_status="busy", agent="ania")
    assert Callback.from_dict({**record.to_dict(), "unknown": 1}) == record
    shown = record.public(max_attempts=3)
    assert (shown["number"], shown["state"], shown["attempts"], shown["max_attempts"]) == (
        "+48500100200",
        "booked",
        2,
        3,
    )
    assert shown["due_at"].endswith("Z")


async def test_a_contact_is_booked_once(store: Store) -> None:
    book = CallbackBook(store)
    assert await book.create("c1", booked())
    assert not await book.create("c1", booked(number="+48600111222"))
    stored = await book.get("c1")
    assert stored is not None and stored.number == "+48500100200"
    assert await book.get("c2") is None


async def test_concurrent_changes_are_all_kept(store: Store) -> None:
    book = CallbackBook(store)
    await book.create("c1", booked())

    def one_more(callback: Callback) -> Callback:
        return dataclasses.replace(callback, attempts=callback.attempts + 1)

    await asyncio.gather(*(book.change("c1", one_more) for _ in range(15)))
    stored = await book.get("c1")
    assert stored is not None and stored.attempts == 15


async def test_one_dial_wins_when_two_start_the_same_try(store: Store) -> None:
    book = CallbackBook(store)
    await book.create("c1", booked())

    def start(callback: Callback) -> Callback | None:
        if callback.state is not CallbackState.BOOKED:
            return None
        return callback.dialing("tomek", NOW)

    won = await asyncio.gather(*(book.change("c1", start) for _ in range(8)))
    assert sum(1 for w in won if w is not None) == 1
    stored = await book.get("c1")
    assert stored is not None and stored.attempts == 1


async def test_each_due_try_is_taken_once(store: Store, clock: FakeClock) -> None:
    book = CallbackBook(store)
    for n in range(10):
        await book.schedule(f"c{n}", NOW + n)
    assert await book.next_due() == NOW
    takers = await asyncio.gather(*(book.take_due(NOW + 4) for _ in range(4)))
    taken = [cid for batch in takers for cid in batch]
    assert sorted(taken) == [f"c{n}" for n in range(5)]
    assert await book.next_due() == NOW + 5
    assert await book.take_due(NOW + 4) == []


@pytest.mark.parametrize("retry_s", [1, 3600])
def test_a_retry_is_due_retry_s_after_the_try_rang_out(retry_s: int) -> None:
    again = (
        booked().dialing("ola", NOW).unanswered("no-answer", NOW + 30, attempts=3, retry_s=retry_s)
    )
    assert again.due_at == NOW + 30 + retry_s


def test_the_callback_settings_are_checked_naming_the_key() -> None:
    data = shipped()
    data["channels"]["twilio"]["callback"].update(attempts=0, ring_s=2, colour="red")
    assert problems(data) == [
        ("channels.twilio.callback.attempts", "0 should be greater than or equal to 1"),
        ("channels.twilio.callback.ring_s", "2 should be greater than or equal to 5"),
        (
            "channels.twilio.callback.colour",
            "unknown key; use one of offer, attempts, retry_s, ring_s, sms",
        ),
    ]
