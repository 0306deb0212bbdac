"""The detector and the links on every store: two routers sharing a store see one outage,
and an arrival costs the same store calls however much came before."""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path
from typing import Any, cast

from queues import Channel, Contact, Direction, Message, Store
from router.app.factory import routing_from_config
from router.outages import Outages, linked_contacts
from router.routing import IncidentBook
from tests.conftest import FakeClock, StoreMaker
from tests.router.conftest import repo_config

OUTAGE = ["nie działa internet", "no internet", "не работает интернет", "Awaria światłowodu"]


def outages(store: Store, clock: FakeClock, tmp_path: Path) -> Outages:
    config = repo_config(tmp_path)
    return Outages(
        store,
        IncidentBook(store),
        routing=routing_from_config(config),
        book=config.book,
        clock=clock,
        default_language="pl",
    )


async def two_stores(make_store: StoreMaker, clock: FakeClock) -> tuple[Store, Store]:
    """Two connections to one store (a memory store has one: both routers share it)."""
    one = await make_store(clock)
    return one, one if make_store.backend == "memory" else await make_store(clock, fresh=False)


async def arrive(router: Outages, store: Store, clock: FakeClock, n: int, text: str) -> Contact:
    contact = Contact(channel=Channel.SMS, address=f"+48600{n:06d}", created_at=clock())
    message = Message(Direction.IN, text, clock())
    stored = (await store.intake(contact, message, key=f"k{n}")).contact
    incidents = await router.incidents.load()
    await router.observe(stored, incidents, first_text=text, created=True, queued=False)
    return stored


async def test_two_routers_on_one_store_make_one_suggestion(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> None:
    one, two = await two_stores(make_store, clock)
    first, second = outages(one, clock, tmp_path), outages(two, clock, tmp_path)
    contacts = []
    for n in range(12):  # every other arrival in the other router
        router, store = (first, one) if n % 2 == 0 else (second, two)
        contacts.append(await arrive(router, store, clock, n, OUTAGE[n % 4]))
        clock.advance(4)
        # Alone, neither router has seen enough by the 5th arrival; together they have
        # by the 7th (7 of 7 first messages, a share of a tenth expected).
        if n == 5:
            assert await first.listed() == []
    [a], [b] = await first.listed(), await second.listed()
    assert a == b and a.topic == "internet+outage" and a.count >= 7
    assert set(a.sample_contact_ids) <= {c.id for c in contacts}


async def test_an_opened_suggestion_links_contacts_across_routers(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> None:
    one, two = await two_stores(make_store, clock)
    first, second = outages(one, clock, tmp_path), outages(two, clock, tmp_path)
    for n in range(8):
        await arrive(first if n % 2 else second, one if n % 2 else two, clock, n, OUTAGE[n % 4])
    [found] = await first.listed()
    incident = await second.open(team=None, text=None, from_suggestion=found.id)
    late = await arrive(first, one, clock, 50, "brak internetu")
    other = await arrive(first, one, clock, 51, "faktura")
    linked = await linked_contacts(two, incident.id)
    assert len(linked) == 9 and late.id in {c.id for c in linked}
    assert other.id not in {c.id for c in linked}
    assert await linked_contacts(two, "no-such-incident") == []


class Counting:
    """A store that counts the calls made through it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.calls: Counter[str] = Counter()
        self.kinds: Counter[tuple[str, str]] = Counter()  # (call, its first argument)

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._store, name)
        if not callable(found):
            return found

        @functools.wraps(found)
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            if args and isinstance(args[0], str):
                self.kinds[name, args[0]] += 1
            return found(*args, **kwargs)

        return counted


async def test_an_arrival_costs_the_same_store_calls_after_a_busy_day(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> None:
    counting = Counting(await make_store(clock))
    store = cast(Store, counting)
    router = outages(store, clock, tmp_path)
    words = ["faktura", "domena", "hasło", "ssl", "adres", "umowa", "modem", "kabel"]
    for n in range(200):  # a day of varied first messages, 6 minutes apart
        await arrive(router, store, clock, n, f"{words[n % 8]} {words[(n * 3 + 1) % 8]}")
        clock.advance(360)
    costs = []
    for n in (1000, 1001, 1002):
        clock.advance(180)
        before = sum(counting.calls.values())
        await arrive(router, store, clock, n, "modem kabel")
        costs.append(sum(counting.calls.values()) - before)
    # The test's intake and the incidents' load, then the detector's two counter calls
    # and one read of the last minutes' buckets (and once an hour the profile): the same
    # for every arrival, however many came before.
    assert max(costs) <= 8 and len(set(costs)) == 1


async def test_a_crowd_queued_in_one_second_costs_one_read_of_its_team(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> None:
    """On an outage day every queued contact is tested: those of one second share one read
    of the team's minutes and one of the suggestions, and the alarm still comes."""
    counting = Counting(await make_store(clock))
    store = cast(Store, counting)
    router = outages(store, clock, tmp_path)
    for hour in range(26):  # a quiet day: one billing contact an hour
        await queue(router, store, clock, hour, "billing")
        clock.advance(3600)
    await queue(router, store, clock, 99, "billing")  # (the hour's profile is rolled)
    clock.advance(1.25)  # within one second from here
    counting.calls.clear()
    for n in range(40):
        await queue(router, store, clock, 100 + n, "billing")
        clock.advance(0.01)
    assert counting.calls["minute_buckets"] == 1
    # The suggestions, once the spike shows, and again after this process made one.
    assert counting.calls["all_docs"] <= 2
    [found] = await router.listed()
    # (The suggestion's count is written when it changed enough, not at every arrival.)
    assert found.kind == "rate" and found.team == "billing" and found.count >= 30
    clock.advance(1)  # the next second reads again
    await queue(router, store, clock, 200, "billing")
    assert counting.calls["minute_buckets"] == 2


async def queue(router: Outages, store: Store, clock: FakeClock, n: int, team: str) -> Contact:
    contact = Contact(channel=Channel.SMS, address=f"+48601{n:06d}", created_at=clock())
    stored = (await store.intake(contact, Message(Direction.IN, "x", clock()), key=f"q{n}")).contact
    await store.enqueue(stored.id, team)
    queued = await store.get_contact(stored.id)
    incidents = await router.incidents.load()
    await router.observe(queued, incidents, first_text=None, created=False, queued=True)
    return queued
