"""Occupancy as agent time kept in each agent's presence ledger: the arithmetic by hand,
then a scripted day through a real store, read by a second process."""

from __future__ import annotations

from queues import Channel, Contact, Direction, Message
from router.desk import AgentStatus, Presence
from router.stats import AgentTime, KpiBoard, accrue, prune, window_time
from tests.conftest import FakeClock, StoreMaker

T0 = 1_794_999_980.0  # 20 s into a minute: intervals cross minute boundaries
MIN = 60.0


def test_accrue_splits_an_interval_at_minute_boundaries() -> None:
    ledger = accrue({}, T0, T0 + 100, busy=True)
    first = int(T0 // 60)
    assert ledger == {first: (40.0, 40.0), first + 1: (60.0, 60.0)}
    ledger = accrue(ledger, T0 + 100, T0 + 130, busy=False)
    assert ledger[first + 1] == (60.0, 60.0) and ledger[first + 2] == (0.0, 30.0)
    assert sum(b for b, _ in ledger.values()) == 100 and sum(lg for _, lg in ledger.values()) == 130


def test_prune_keeps_two_hours() -> None:
    ledger = accrue({}, T0, T0 + 4 * 3600, busy=False)
    kept = prune(ledger, T0 + 4 * 3600)
    assert len(kept) == 121 and min(kept) == int((T0 + 4 * 3600) // 60) - 120


def test_window_time_adds_the_open_interval_busy_or_logged_in_until_expiry() -> None:
    ledger = accrue({}, T0, T0 + 30 * MIN, busy=True)  # busy 30 min
    busy_now = window_time(
        ledger, start=T0, now=T0 + 40 * MIN, open_since=T0 + 30 * MIN, busy=True, logged_until=0
    )
    assert busy_now == AgentTime(busy_s=40 * MIN, logged_in_s=40 * MIN)
    idle = window_time(
        ledger,
        start=T0,
        now=T0 + 40 * MIN,
        open_since=T0 + 30 * MIN,
        busy=False,
        logged_until=T0 + 32 * MIN,  # the presence expired at 32
    )
    assert idle == AgentTime(busy_s=30 * MIN, logged_in_s=32 * MIN)
    on_break = window_time(
        ledger,
        start=T0,
        now=T0 + 40 * MIN,
        open_since=T0 + 30 * MIN,
        busy=False,
        logged_until=T0 + 30 * MIN,
    )
    assert on_break == AgentTime(busy_s=30 * MIN, logged_in_s=30 * MIN)
    # Minutes before the window's first minute are left out.
    later = window_time(
        ledger, start=T0 + 20 * MIN, now=T0 + 40 * MIN, open_since=T0 + 30 * MIN, busy=False,
        logged_until=T0 + 30 * MIN,
    )  # fmt: skip
    assert later.busy_s == 10 * MIN + 20  # from the start of the minute holding T0 + 20 min


async def test_an_agent_of_two_teams_counts_in_each_and_once_overall(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    store = await make_store(clock)
    presence = Presence(store, clock, snapshot_s=0.0)
    start = clock()
    await presence.seen("ania", ["billing", "technical"], status=AgentStatus.AVAILABLE)
    await presence.seen("tomek", ["technical"], status=AgentStatus.AVAILABLE)
    await presence.holding("ania", +1)
    clock.advance(10 * MIN)
    await presence.holding("ania", -1)
    await presence.seen("ania", ["billing", "technical"])  # her console, at the resolve
    await presence.seen("tomek", ["technical"])
    clock.advance(MIN)
    times, total = await presence.agent_time(
        ["billing", "technical", "domains_hosting"], start=start, now=clock()
    )
    assert times["billing"] == AgentTime(busy_s=600.0, logged_in_s=660.0)
    # tomek, not seen for 10 minutes, was logged in until his presence expired (2 min),
    # and again since he was seen.
    assert times["technical"] == AgentTime(busy_s=600.0, logged_in_s=660.0 + 120.0 + 60.0)
    assert times["domains_hosting"] == AgentTime()
    assert total == AgentTime(busy_s=600.0, logged_in_s=840.0)


async def test_presence_records_the_day_and_every_board_computes_it(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    store = await make_store(clock)
    t0 = clock()
    presence = Presence(store, clock, snapshot_s=0.0)

    async def there_until(minute: float) -> None:
        """The agent's console says they are there every minute, up to ``minute``."""
        while clock() < t0 + minute * MIN:
            clock.advance(MIN)
            await presence.seen("ania", ["billing"])

    contact = Contact(channel=Channel.SMS, address="+48600000001", created_at=clock())
    await store.intake(contact, Message(direction=Direction.IN, text="faktura", at=clock()))
    await store.enqueue(contact.id, "billing")
    await presence.seen("ania", ["billing"], status=AgentStatus.AVAILABLE)
    await there_until(10)
    assert await store.claim(["billing"], "ania", lease_s=3600.0) is not None
    await presence.holding("ania", +1)  # as the desk does
    await there_until(40)
    await store.ack(contact.id, "ania", disposition="solved")
    await presence.holding("ania", -1)
    await there_until(50)
    await presence.seen("ania", ["billing"], status=AgentStatus.BREAK)
    await there_until(60)
    await presence.seen("ania", ["billing"], status=AgentStatus.AVAILABLE)
    await there_until(68)  # last seen at 68: the presence expires at 70
    clock.now = t0 + 80 * MIN

    # A second process (its own Presence and board) computes it from the store alone.
    for process in (presence, Presence(store, clock)):
        board = KpiBoard(
            store, process, teams=["billing"], thresholds_s={}, clock=clock, window_s=7200.0
        )
        kpis = await board.current()
        (billing,) = kpis["teams"]
        assert (billing["agents_busy_s"], billing["agents_logged_in_s"]) == (1800.0, 3600.0)
        assert billing["occupancy"] == 0.5
        assert kpis["overall"]["occupancy"] == 0.5
        assert [k.occupancy for k in board.snapshot().kpis] == [0.5]

    clock.now = t0 + 90 * MIN  # back after the expiry: the gap does not count ...
    await presence.seen("ania", ["billing"])
    clock.now = t0 + 95 * MIN  # ... and, not seen since 90, her presence ended at 92
    times, total = await presence.agent_time(["billing"], start=t0 - 60, now=clock())
    assert times["billing"] == total == AgentTime(busy_s=1800.0, logged_in_s=3600.0 + 120.0)
