"""The store contract for windowed counters (``count_window``): counts per key in slots of
time, summed over a window, atomic across processes. Every backend passes the same suite."""

from __future__ import annotations

import asyncio

import pytest

from queues import Store
from tests.conftest import FakeClock


async def minutes(store: Store, keys: list[str], *, add: int = 1) -> list[int]:
    """A window of ten minute slots."""
    return await store.count_window(keys, slot_s=60, slots=10, add=add, keep_s=3600.0)


async def test_counts_add_up_per_key_in_the_window(store: Store, clock: FakeClock) -> None:
    clock.now = 1_795_000_020.0  # 20 s into a minute
    assert await minutes(store, ["a", "b"]) == [1, 1]
    assert await minutes(store, ["a"]) == [2]
    assert await minutes(store, ["a"], add=3) == [5]
    clock.advance(60)  # the next minute: the window still holds the first
    assert await minutes(store, ["a", "c"]) == [6, 1]
    assert await minutes(store, ["a", "b", "c", "d"], add=0) == [6, 1, 1, 0]


async def test_a_slot_leaves_the_window_when_it_is_older_than_the_window(
    store: Store, clock: FakeClock
) -> None:
    clock.now = 1_795_000_020.0
    await minutes(store, ["a"], add=4)
    clock.advance(9 * 60)  # the tenth minute: still in a window of ten
    assert await minutes(store, ["a"], add=0) == [4]
    clock.advance(60)  # the eleventh: gone from the window
    assert await minutes(store, ["a"], add=0) == [0]
    assert await store.count_window(["a"], add=0, slot_s=60, slots=11, keep_s=3600) == [4]


async def test_slots_start_on_the_slot_boundary(store: Store, clock: FakeClock) -> None:
    clock.now = 1_795_000_019.5  # 59.5 s into its minute
    await minutes(store, ["a"])
    clock.advance(1.0)  # a new minute, 1 s later
    assert await store.count_window(["a"], add=0, slot_s=60, slots=1, keep_s=60) == [0]
    assert await store.count_window(["a"], add=0, slot_s=60, slots=2, keep_s=120) == [1]


async def test_different_slot_sizes_are_different_counters_only_by_key(
    store: Store, clock: FakeClock
) -> None:
    clock.now = 1_795_000_000.0 - 1_795_000_000.0 % 86400 + 3600  # 01:00 UTC
    await store.count_window(["day:a"], slot_s=86400, slots=7, keep_s=8 * 86400)
    clock.advance(86400)
    await store.count_window(["day:a"], slot_s=86400, slots=7, keep_s=8 * 86400)
    assert await store.count_window(["day:a"], add=0, slot_s=86400, slots=1, keep_s=86400) == [1]
    assert await store.count_window(["day:a"], add=0, slot_s=86400, slots=7, keep_s=8 * 86400) == [
        2
    ]


async def test_concurrent_adds_lose_no_count(store: Store) -> None:
    got = await asyncio.gather(*(minutes(store, ["x", "y"]) for _ in range(40)))
    assert sorted(g[0] for g in got) == list(range(1, 41))
    assert await minutes(store, ["x", "y"], add=0) == [40, 40]


async def test_keys_with_any_characters_are_kept_apart(store: Store) -> None:
    keys = ["topic:internet+outage", "topic:{a}", "topic:a}", "тема:интернет", "נושא"]
    for n, key in enumerate(keys, start=1):
        assert await minutes(store, [key], add=n) == [n]
    assert await minutes(store, keys, add=0) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("slot_s", "slots", "add", "keep_s"),
    [(0, 1, 1, 60.0), (60, 0, 1, 60.0), (60, 1, -1, 60.0), (60, 10, 1, 599.0)],
)
async def test_a_window_that_cannot_be_counted_is_refused(
    store: Store, slot_s: int, slots: int, add: int, keep_s: float
) -> None:
    with pytest.raises(ValueError, match=r"slot|keep_s"):
        await store.count_window(["a"], slot_s=slot_s, slots=slots, add=add, keep_s=keep_s)
