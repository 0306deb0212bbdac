"""Occupancy as agent time from events: a scripted day by hand, then through a real store."""

from __future__ import annotations

import pytest

from queues import Channel, Contact, Direction, Event, Message
from router.desk import AgentStatus, Presence
from router.stats import AGENT_STATUS, AgentLoad, AgentTime, KpiBoard, agent_time
from tests.conftest import FakeClock, StoreMaker

T0 = 1_795_000_000.0
MIN = 60.0


def status(
    minute: float, to: str, teams: tuple[str, ...] = ("billing",), agent: str = "ania"
) -> Event:
    data = {"status": to, "teams": list(teams)}
    return Event("", AGENT_STATUS, at=T0 + minute * MIN, agent=agent, data=data)


def held(kind: str, minute: float, cid: str = "c1", agent: str = "ania") -> Event:
    return Event(cid, kind, at=T0 + minute * MIN, team="billing", agent=agent)


def day(let_go: str = "contact_resolved") -> list[Event]:
    """Logs in at 0, claims at 10, lets go at 40, break 50-60, logs out at 70."""
    return [
        status(0, "available"),
        held("contact_claimed", 10),
        held(let_go, 40),
        status(50, "break"),
        status(60, "available"),
        status(70, "offline"),
    ]


@pytest.mark.parametrize(
    "let_go", ["contact_resolved", "contact_released", "contact_transferred", "lease_expired"]
)
def test_a_scripted_day_is_busy_30_of_the_60_minutes_logged_in(let_go: str) -> None:
    teams, total = agent_time(day(let_go), start=T0, now=T0 + 80 * MIN, present_until={})
    assert total == AgentTime(busy_s=30 * MIN, logged_in_s=60 * MIN)  # the break is not in
    assert teams == {"billing": total}
    load = AgentLoad(available=0, busy=0, busy_s=total.busy_s, logged_in_s=total.logged_in_s)
    assert load.occupancy == 0.5


def test_the_window_starts_in_the_state_the_events_before_it_left() -> None:
    _, total = agent_time(day(), start=T0 + 30 * MIN, now=T0 + 80 * MIN, present_until={})
    # Already logged in and holding at 30: busy 30-40, logged in 30-50 and 60-70.
    assert total == AgentTime(busy_s=10 * MIN, logged_in_s=30 * MIN)


def test_events_after_now_are_not_counted() -> None:
    _, total = agent_time(day(), start=T0, now=T0 + 25 * MIN, present_until={})
    assert total == AgentTime(busy_s=15 * MIN, logged_in_s=25 * MIN)


def test_a_presence_that_expired_without_an_event_ends_the_logged_in_time() -> None:
    events = [status(0, "available")]
    _, total = agent_time(
        events, start=T0, now=T0 + 60 * MIN, present_until={"ania": T0 + 12 * MIN}
    )
    assert total == AgentTime(busy_s=0.0, logged_in_s=12 * MIN)


def test_a_contact_held_into_a_break_is_busy_and_logged_in_time() -> None:
    events = [
        status(0, "available"),
        held("contact_claimed", 10),
        status(20, "break"),
        held("contact_released", 30),
    ]
    _, total = agent_time(events, start=T0, now=T0 + 40 * MIN, present_until={})
    assert total == AgentTime(busy_s=20 * MIN, logged_in_s=30 * MIN)


def test_an_agent_of_two_teams_counts_in_each_and_once_overall() -> None:
    events = [
        status(0, "available", ("billing", "technical")),
        status(0, "available", ("technical",), agent="tomek"),
        held("contact_claimed", 0),
        held("contact_resolved", 30),
    ]
    teams, total = agent_time(events, start=T0, now=T0 + 60 * MIN, present_until={})
    assert teams == {
        "billing": AgentTime(busy_s=30 * MIN, logged_in_s=60 * MIN),
        "technical": AgentTime(busy_s=30 * MIN, logged_in_s=120 * MIN),
    }
    assert total == AgentTime(busy_s=30 * MIN, logged_in_s=120 * MIN)


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
    await there_until(40)
    await store.ack(contact.id, "ania", disposition="solved")
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

    clock.now = t0 + 90 * MIN  # back after the expiry: it is recorded when it ended
    await presence.seen("ania", ["billing"])
    recorded = await store.list_events(kinds=[AGENT_STATUS])
    assert [(e.agent, e.data["status"], (e.at - t0) / MIN) for e in recorded] == [
        ("ania", "available", 0),
        ("ania", "break", 50),
        ("ania", "available", 60),
        ("ania", "offline", 70),
        ("ania", "available", 90),
    ]
    assert {e.contact_id for e in recorded} == {""}
