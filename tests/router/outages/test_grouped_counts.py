"""Concurrent arrivals share the detector's store calls (issue 16), and it decides as when
they come one by one: topic counts in one flush per group, the profile once an hour."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from queues import Channel, Contact, Store, StoreUnavailable
from router.outages import Outages
from router.outages.counts import TopicCounts, Window
from router.outages.detector import ALL_TOPICS, TOPIC_DAYS
from router.outages.profile import KIND as PROFILES
from router.outages.spikes import TOPIC_WINDOW_MIN
from tests.conftest import FakeClock, StoreMaker
from tests.router.outages.test_detector import Counting, outages

#: One outage in four languages, and a quiet morning's other topics.
OUTAGE = ["nie działa internet", "no internet", "не работает интернет", "Awaria światłowodu"]
QUIET = ["faktura za listopad", "jak przenieść domenę?", "proszę o kod authinfo", "modem", "hasło"]


def first(clock: FakeClock, n: int) -> Contact:
    return Contact(channel=Channel.SMS, address=f"+48601{n:06d}", created_at=clock())


async def observe_all(router: Outages, clock: FakeClock, texts: Sequence[str]) -> list[Contact]:
    """The first messages of ``texts``, all at once (as concurrent webhooks)."""
    incidents = await router.incidents.load()
    contacts = [first(clock, n) for n in range(len(texts))]
    await asyncio.gather(
        *(
            router.observe(c, incidents, first_text=t, created=True, queued=False)
            for c, t in zip(contacts, texts, strict=True)
        )
    )
    return contacts


async def test_fifty_concurrent_first_messages_cost_one_flush_of_counts(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> None:
    counting = Counting(await make_store(clock))
    store = cast(Store, counting)
    router = outages(store, clock, tmp_path)
    await router.incidents.load()
    counting.calls.clear()
    await observe_all(router, clock, QUIET * 10)
    # The test's load of the incidents, then one flush: per window (minutes, days), one
    # counter call for the keys added 10 times (each quiet topic) and one for the key
    # added 50 times (all first messages). One by one it was 100 calls.
    assert dict(counting.calls) == {"get_session": 1, "count_window": 4}
    assert await router.listed() == []
    # Nothing lost: every message counted once, in both windows.
    minutes, days = await asyncio.gather(
        store.count_window([ALL_TOPICS], slot_s=60, slots=TOPIC_WINDOW_MIN, add=0, keep_s=3600),
        store.count_window([ALL_TOPICS], slot_s=86400, slots=TOPIC_DAYS, add=0, keep_s=9e5),
    )
    assert minutes == days == [50]


async def decided(router: Outages, contacts: list[Contact]) -> list[dict[str, Any]]:
    """The suggestions but their ids and times; samples as the contacts' arrival numbers."""
    number = {c.id: n for n, c in enumerate(contacts)}
    found = []
    for suggestion in await router.listed():
        data = suggestion.to_dict()
        for varies in ("id", "first_at", "last_at"):
            del data[varies]
        data["sample_contact_ids"] = [number[cid] for cid in data["sample_contact_ids"]]
        found.append(data)
    return found


async def test_a_concurrent_burst_suggests_what_the_same_burst_one_by_one_does(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> None:
    store = await make_store(clock)
    router = outages(store, clock, tmp_path)
    texts = [t for pair in zip(OUTAGE * 3, QUIET * 3, strict=False) for t in pair] + OUTAGE
    incidents = await router.incidents.load()
    contacts = [first(clock, n) for n in range(len(texts))]
    for contact, text in zip(contacts, texts, strict=True):  # one by one, at one instant
        await router.observe(contact, incidents, first_text=text, created=True, queued=False)
    one_by_one = await decided(router, contacts)
    # The same burst nine days later (the first one's counts and suggestion out of every
    # window), all at once, through a new router on the same store.
    clock.advance(9 * 86400)
    later = outages(store, clock, tmp_path)
    together = await decided(later, await observe_all(later, clock, texts))
    [found] = one_by_one
    assert found["topic"] == "internet+outage" and found["count"] == 16
    # The same spike (count, p-value, expected) and the same samples: the messages that
    # crossed the threshold first, in arrival order.
    assert together == one_by_one


class Gate:
    """A store whose ``count_window`` waits for the test to open it (a slow round trip)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.opened = asyncio.Event()
        self.calls = 0
        self.fail = 0

    async def count_window(self, keys: Sequence[str], **kwargs: Any) -> list[int]:
        self.calls += 1
        await self.opened.wait()
        if self.fail:
            self.fail -= 1
            raise StoreUnavailable("the test's store is down")
        return await self.store.count_window(keys, **kwargs)


async def until(done: Callable[[], bool]) -> None:
    for _ in range(100):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError("never happened")


WINDOWS = [Window(slot_s=60, slots=10, keep_s=660.0)]


async def test_messages_arriving_during_a_flush_go_in_the_next_one(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    gate = Gate(await make_store(clock))
    counts = TopicCounts(cast(Store, gate), WINDOWS)
    head = asyncio.create_task(counts.count(["all", "a"]))
    await until(lambda: gate.calls == 1)  # in flight
    rest = [asyncio.create_task(counts.count(["all", "a" if n % 2 else "b"])) for n in range(6)]
    await asyncio.sleep(0)
    assert gate.calls == 1 and not any(t.done() for t in (head, *rest))
    gate.opened.set()
    seen = [(await t).counts[0] for t in (head, *rest)]
    # The second flush: "all" and "a"+"b" (3 each): one call each, 1 + 2 in all.
    assert gate.calls == 3
    assert seen == [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3), (7, 4)]


async def test_a_failed_flush_fails_the_messages_it_carried_and_the_next_one_counts(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    gate = Gate(await make_store(clock))
    gate.fail = 1
    gate.opened.set()
    counts = TopicCounts(cast(Store, gate), WINDOWS)
    failed = await asyncio.gather(
        *(counts.count(["all"]) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(e, StoreUnavailable) for e in failed)
    assert (await counts.count(["all"])).counts == ((1,),)


async def test_a_caller_that_gives_up_is_counted_all_the_same(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    gate = Gate(await make_store(clock))
    counts = TopicCounts(cast(Store, gate), WINDOWS)
    gone = asyncio.create_task(counts.count(["all"]))
    await until(lambda: gate.calls == 1)
    gone.cancel()
    stays = asyncio.create_task(counts.count(["all"]))
    await asyncio.sleep(0)
    gate.opened.set()
    assert (await stays).counts == ((2,),)
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_the_profile_is_read_once_an_hour_however_many_arrive_at_once(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> None:
    counting = Counting(await make_store(clock))
    store = cast(Store, counting)
    router = outages(store, clock, tmp_path)
    incidents = await router.incidents.load()

    async def queued(n: int) -> None:
        contact = Contact(
            channel=Channel.VOICE, address=f"+48602{n:06d}", created_at=clock(), team="billing"
        )
        await router.observe(contact, incidents, first_text=None, created=False, queued=True)

    reads = []
    for _ in range(3):  # this hour, again this hour, the next hour
        counting.kinds.clear()
        await asyncio.gather(*(queued(n) for n in range(20)))
        reads.append((counting.kinds["get_doc", PROFILES], counting.kinds["put_doc", PROFILES]))
        clock.advance(1200)
    clock.advance(1200)  # from 11:06:40 UTC to 12:26:40: the next hour
    counting.kinds.clear()
    await asyncio.gather(*(queued(n) for n in range(20)))
    reads.append((counting.kinds["get_doc", PROFILES], counting.kinds["put_doc", PROFILES]))
    # The first arrivals of an hour read the profile and write it rolled, once for all
    # twenty; the others read nothing. (Twenty at once are a spike: its suggestion is a
    # document of its own.)
    assert reads[0] == (1, 1) and reads[1] == reads[2] == (0, 0) and reads[3] == (1, 1)
