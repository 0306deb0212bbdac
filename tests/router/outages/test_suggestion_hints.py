"""During a spike every arrival of its topic is an alarm: a process reads the suggestion
once every few seconds, not once per alarm, and still writes what is worth writing."""

from __future__ import annotations

from typing import cast

from queues import Store
from router.outages.spikes import Spike
from router.outages.suggestions import HINT_S, KIND, REFRESH_S, SuggestionBook, slot_key
from tests.conftest import FakeClock, StoreMaker
from tests.router.outages.test_detector import Counting


async def alarm(book: SuggestionBook, clock: FakeClock, count: int, contact: str) -> None:
    spike = Spike(count=count, window_s=600.0, expected=1.0, p_value=1e-9)
    await book.record(
        kind="topic",
        team="technical",
        topic="internet+outage",
        spike=spike,
        contact_id=contact,
        at=clock(),
        text=lambda: {"en": "Internet outage"},
    )


async def test_alarms_that_change_nothing_worth_writing_read_the_store_once_a_hint(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    store = Counting(await make_store(clock))
    book = SuggestionBook(cast(Store, store))
    for n in range(5):  # the first samples are worth writing
        await alarm(book, clock, 20, f"c{n}")
    store.calls.clear()
    for n in range(200):  # a crowd of the same spike within the hint's time
        clock.advance(HINT_S / 400)
        await alarm(book, clock, 20, f"d{n}")
    assert store.calls["get_doc"] == 0 and store.calls["put_doc"] == 0
    clock.advance(HINT_S)  # the copy is old: read again
    await alarm(book, clock, 20, "e")
    assert store.calls["get_doc"] == 1
    clock.advance(1)
    await alarm(book, clock, 40, "f")  # the count grew: worth writing, read and written
    assert store.calls["put_doc"] == 1
    stored, _ = await store.get_doc(KIND, slot_key("technical", "internet+outage"))
    assert stored is not None and stored["count"] == 40


async def test_a_hint_never_hides_the_refresh_of_a_suggestion(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    store = Counting(await make_store(clock))
    book = SuggestionBook(cast(Store, store))
    for n in range(5):
        await alarm(book, clock, 20, f"c{n}")
    stored, _ = await store.get_doc(KIND, slot_key("technical", "internet+outage"))
    assert stored is not None
    last_at = stored["last_at"]
    for _ in range(int(REFRESH_S / (HINT_S / 2)) + 2):
        clock.advance(HINT_S / 2)
        await alarm(book, clock, 20, "again")
    stored, _ = await store.get_doc(KIND, slot_key("technical", "internet+outage"))
    assert stored is not None and stored["last_at"] >= last_at + REFRESH_S
