"""The KPI board: the last hour from a real (memory) store, the last snapshot for scrapes."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from queues import Bucket, Channel, Contact, Direction, Message, StoreUnavailable
from queues.memory import MemoryStore
from router.stats import AgentLoad, AgentTime, KpiBoard

TEAMS = ("billing", "technical")
THRESHOLDS_S = {"billing": 20.0, "technical": 20.0}


class Clock:
    def __init__(self, now: float = 100_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Agents:
    """One agent serving both teams, busy: each team counts them, the total once."""

    async def load(self, teams: Sequence[str]) -> dict[str, AgentLoad]:
        return {team: AgentLoad(available=0, busy=1) for team in teams}

    async def total(self) -> AgentLoad:
        return AgentLoad(available=0, busy=1)

    async def agent_time(
        self, teams: Sequence[str], *, start: float, now: float
    ) -> tuple[dict[str, AgentTime], AgentTime]:
        return {team: AgentTime() for team in teams}, AgentTime()


class FlakyStore(MemoryStore):
    """A memory store that can be made to stop answering."""

    down = False

    async def minute_buckets(
        self, teams: Sequence[str], *, since: float, until: float
    ) -> list[Bucket]:
        if self.down:
            raise StoreUnavailable("the store does not answer")
        return await super().minute_buckets(teams, since=since, until=until)


async def answered_call(store: MemoryStore, clock: Clock, team: str, wait_s: float) -> None:
    contact = Contact(channel=Channel.VOICE, address="+48500100200", created_at=clock())
    await store.intake(contact, Message(direction=Direction.IN, text="hello", at=clock()))
    await store.enqueue(contact.id, team)
    clock.now += wait_s
    assert await store.claim([team], "ania", lease_s=60.0) is not None


def board(store: MemoryStore, clock: Clock) -> KpiBoard:
    return KpiBoard(
        store, Agents(), teams=TEAMS, thresholds_s=THRESHOLDS_S, clock=clock, window_s=3600.0
    )


async def test_current_gives_each_team_and_the_overall_numbers() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    await answered_call(store, clock, "billing", wait_s=10.0)
    kpis = await board(store, clock).current()
    assert kpis["window_s"] == 3600.0
    assert [t["team"] for t in kpis["teams"]] == ["billing", "technical"]
    billing = kpis["teams"][0]
    assert (billing["offered"], billing["answered"], billing["asa_s"]) == (1, 1, 10.0)
    assert kpis["overall"]["team"] == "*"
    assert kpis["overall"]["answered"] == 1


async def test_overall_counts_an_agent_of_several_teams_once() -> None:
    clock = Clock()
    kpis = await board(MemoryStore(clock=clock), clock).current()
    assert [t["agents_busy"] for t in kpis["teams"]] == [1, 1]
    assert kpis["overall"]["agents_busy"] == 1


async def test_snapshot_keeps_the_last_numbers_for_a_scrape() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    kpis = board(store, clock)
    assert not kpis.snapshot().store_up
    assert list(kpis.snapshot().kpis) == []
    await answered_call(store, clock, "technical", wait_s=5.0)
    await kpis.current()
    snapshot = kpis.snapshot()
    assert snapshot.store_up
    assert [(k.team, k.answered) for k in snapshot.kpis] == [("billing", 0), ("technical", 1)]


async def test_a_store_that_does_not_answer_keeps_the_last_snapshot_marked_down() -> None:
    clock = Clock()
    store = FlakyStore(clock=clock)
    await answered_call(store, clock, "billing", wait_s=30.0)
    kpis = board(store, clock)
    before = (await kpis.current())["teams"]
    store.down = True
    with pytest.raises(StoreUnavailable):
        await kpis.current()
    snapshot = kpis.snapshot()
    assert not snapshot.store_up
    assert [k.to_dict() for k in snapshot.kpis] == before
