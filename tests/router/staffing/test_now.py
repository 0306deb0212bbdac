"""Agents needed now: the pure figure, the KPI board's, and ``/api/stats`` on every backend."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from queues import Channel, Contact, Direction, Event, Message, minute_of
from queues.memory import MemoryStore
from router.staffing import ServiceGoal, agents_needed, service_goal, staffing_now
from router.stats import AgentLoad, AgentTime, KpiBoard
from tests.conftest import FakeClock
from tests.router.conftest import Desk, repo_config

GOAL = ServiceGoal(within_s=20.0, target=0.8)


def test_the_figure_is_erlang_c_on_the_windows_arrivals_and_aht() -> None:
    figure = staffing_now(arrivals=250, span_s=3600, aht_s=330, agents_logged_in=20, goal=GOAL)
    assert figure["agents_needed"] == 28  # the published example: 250 calls an hour of 330 s
    assert (figure["agents_logged_in"], figure["shortfall"]) == (20, 8)
    assert figure["traffic_erl"] == pytest.approx(250 * 330 / 3600)
    assert (figure["target"], figure["within_s"], figure["channel"]) == (0.8, 20.0, "voice")


def test_no_arrivals_need_nobody_and_no_handle_time_says_unknown() -> None:
    quiet = staffing_now(arrivals=0, span_s=3600, aht_s=None, agents_logged_in=3, goal=GOAL)
    assert (quiet["agents_needed"], quiet["shortfall"]) == (0, -3)
    unknown = staffing_now(arrivals=5, span_s=3600, aht_s=None, agents_logged_in=3, goal=GOAL)
    assert (unknown["agents_needed"], unknown["shortfall"], unknown["traffic_erl"]) == (
        None,
        None,
        None,
    )
    perfect = ServiceGoal(within_s=20.0, target=1.0)  # config allows 1.0; no N reaches it
    assert (
        staffing_now(arrivals=5, span_s=3600, aht_s=60, agents_logged_in=1, goal=perfect)[
            "agents_needed"
        ]
        is None
    )


def test_the_goal_is_voices_answer_target_else_the_first_channels(tmp_path: Path) -> None:
    answers = repo_config(tmp_path).sla.answer
    assert service_goal(answers) == ServiceGoal(20.0, 0.8, "voice")
    without_voice = {str(ch): a for ch, a in answers.items() if ch != "voice"}
    assert service_goal(without_voice) == ServiceGoal(20.0, 0.8, "chat")
    assert service_goal({"sms": answers["sms"]}) == ServiceGoal(3600.0, 0.8, "sms")
    assert service_goal({}) is None


class NoEvents(MemoryStore):
    """A store that refuses to read events: the board must work from its buckets alone."""

    async def events(self, contact_id: str) -> list[Event]:
        raise AssertionError("the KPI board read a contact's events")

    async def list_events(
        self, *, since: float | None = None, kinds: Iterable[str] | None = None
    ) -> list[Event]:
        raise AssertionError("the KPI board read the event log")


class TwoAgents:
    """Billing has one agent free and one busy; technical nobody."""

    async def load(self, teams: Sequence[str]) -> dict[str, AgentLoad]:
        return {t: AgentLoad(1, 1) if t == "billing" else AgentLoad(0, 0) for t in teams}

    async def total(self) -> AgentLoad:
        return AgentLoad(1, 1)

    async def agent_time(
        self, teams: Sequence[str], *, start: float, now: float
    ) -> tuple[dict[str, AgentTime], AgentTime]:
        return {team: AgentTime() for team in teams}, AgentTime()


async def handled(store: MemoryStore, clock: FakeClock, team: str, handle_s: float) -> None:
    contact = Contact(channel=Channel.VOICE, address="+48500100200", created_at=clock())
    await store.intake(contact, Message(direction=Direction.IN, text="hello", at=clock()))
    await store.enqueue(contact.id, team)
    assert await store.claim([team], "ania", lease_s=600.0) is not None
    clock.advance(handle_s)
    await store.ack(contact.id, "ania", disposition="solved")


async def test_the_board_adds_staffing_from_buckets_without_reading_events() -> None:
    clock = FakeClock()
    store = NoEvents(clock=clock)
    for _ in range(30):
        await handled(store, clock, "billing", handle_s=100.0)  # 30 calls of 100 s in 50 min
    board = KpiBoard(
        store,
        TwoAgents(),
        teams=("billing", "technical"),
        thresholds_s={"voice": 20.0},
        clock=clock,
        window_s=3600.0,
        goal=GOAL,
    )
    stats = await board.current()
    billing, technical = stats["teams"]
    span_s = clock() - minute_of(clock() - 3600.0)
    expected = agents_needed(30, span_s, 100.0, 0.8, 20.0).agents
    assert billing["staffing"] == {
        "agents_needed": expected,
        "agents_logged_in": 2,
        "shortfall": expected - 2,
        "arrivals_last_hour": 30,
        "span_s": span_s,
        "aht_s": pytest.approx(100.0),
        "traffic_erl": pytest.approx(30 * 100.0 / span_s),
        "target": 0.8,
        "within_s": 20.0,
        "channel": "voice",
    }
    assert technical["staffing"]["agents_needed"] == 0
    assert stats["overall"]["staffing"]["agents_needed"] == expected
    assert stats["overall"]["staffing"]["agents_logged_in"] == 2
    # Without a goal the board stays as it was.
    plain = KpiBoard(
        store, TwoAgents(), teams=("billing",), thresholds_s={}, clock=clock, window_s=3600.0
    )
    assert "staffing" not in (await plain.current())["teams"][0]


async def sms_contact(desk: Desk, address: str) -> str:
    sms = desk.channels[Channel.SMS]
    await sms.say(address, "faktura za listopad")  # billing
    answer = await sms.say(address, "jan.kowalski 482913")
    return answer.contact.id


async def test_api_stats_shows_agents_needed_now_from_the_buckets(desk: Desk) -> None:
    for i in range(40):
        await sms_contact(desk, f"+486000001{i:02d}")
    for _ in range(2):
        status, contact = await desk.api("ania", "POST", "/api/claim", {"teams": ["billing"]})
        assert status == 200
        desk.clock.advance(600)
        status, _ = await desk.api("ania", "POST", f"/api/contacts/{contact['id']}/resolve", {})
        assert status == 200
    for agent in ("ania", "ola", "tomek"):  # their consoles say they are there
        await desk.api(agent, "POST", "/api/presence", {"status": "available"})
    status, stats = await desk.api("ola", "GET", "/api/stats")
    assert status == 200
    billing = next(t for t in stats["teams"] if t["team"] == "billing")
    figure = billing["staffing"]
    # What the store's minute buckets say about the window, read here on their own.
    now = desk.clock()
    buckets = await desk.ctx.store.minute_buckets(["billing"], since=now - 3600, until=now)
    offered = sum(b.offered for b in buckets if b.team == "billing")
    resolved = sum(b.resolved for b in buckets if b.team == "billing")
    aht_s = sum(b.handle_us for b in buckets if b.team == "billing") / 1e6 / resolved
    span_s = now - minute_of(now - 3600)
    assert (offered, resolved) == (40, 2) and aht_s == pytest.approx(600.0)
    needed = agents_needed(offered, span_s, aht_s, 0.8, 20).agents
    assert needed > 3  # 40 contacts of 10 minutes in an hour: several agents
    assert figure["agents_needed"] == needed
    assert figure["arrivals_last_hour"] == billing["offered"] == 40
    assert figure["aht_s"] == pytest.approx(billing["aht_s"])
    # ania and ola serve billing and are logged in; tomek serves technical only.
    assert figure["agents_logged_in"] == billing["agents_available"] + billing["agents_busy"] == 2
    assert figure["shortfall"] == needed - 2
    technical = next(t for t in stats["teams"] if t["team"] == "technical")
    assert technical["staffing"]["agents_needed"] == 0
    assert technical["staffing"]["agents_logged_in"] == 2  # ania and tomek
    assert stats["overall"]["staffing"]["agents_logged_in"] == 3
    # An hour and more later the arrivals have left the window: nobody is needed.
    desk.clock.advance(3 * 3600)
    for agent in ("ania", "ola", "tomek"):
        await desk.api(agent, "POST", "/api/presence", {"status": "available"})
    _, later = await desk.api("ola", "GET", "/api/stats")
    billing = next(t for t in later["teams"] if t["team"] == "billing")
    assert billing["staffing"]["agents_needed"] == 0
    assert billing["staffing"]["arrivals_last_hour"] == 0
