"""The discrete-event simulation: a day's contacts through the real store, routing policy and
business hours, on a virtual clock (nothing sleeps; the clock jumps from event to event).

Each contact goes the way the router sends it: stored (``Store.intake``), given team,
priority delay and SLA due time by ``Routing.decide`` (with the incidents open then), and
enqueued. Agents pull: an agent who comes free, starts a shift, or is idle when a contact
arrives on (or a team opens for) a team they serve claims the best head across their open
teams with ``Store.claim``, keeps the lease for the handle time (the heartbeats an agent's
client sends, as one renewal), then resolves with ``Store.ack``. A customer whose patience
runs out while waiting is removed with ``Store.remove``, as the router does on a hang-up.
Out of hours contacts are taken and wait: nobody claims from a closed team.

After every event no idle agent on shift can claim anything, so an event only has to wake
the agents it concerns: an arrival the idle agent of its team idle longest, an opening
the team's idle agents until one finds nothing.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from queues import Channel, Contact, Direction, Message
from queues.memory import MemoryStore
from router.routing import BusinessHours, Incidents, Routing
from router.simulate.agents import Roster, SimAgent
from router.simulate.arrivals import Arrival, draw_arrivals
from router.simulate.scenario import Scenario, Span

__all__ = ["Outcome", "VirtualClock", "open_spans", "run"]

DISPOSITION = "solved"
#: Opening hours are on whole minutes: looking minute by minute finds each closing.
_STEP_S = 60.0


class VirtualClock:
    """The store's clock: the time of the event being simulated."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class _Kind(IntEnum):
    ARRIVE = 0
    ABANDON = 1
    DONE = 2
    SHIFT_ON = 3
    SHIFT_OFF = 4
    OPEN = 5
    TICK = 6


@dataclass(slots=True)
class _Waiting:
    arrival: Arrival
    team: str


@dataclass(slots=True)
class Outcome:
    """What a run leaves for the report: the store (its buckets), the agents, and per
    interval the longest wait and, at its end, the waiting contacts per team."""

    scenario: Scenario
    store: MemoryStore
    roster: Roster
    contacts: int  # arrived within the period (warm-up excluded)
    longest_s: list[dict[str, float]]  # per interval: team -> longest wait seen
    waiting: list[dict[str, int]] = field(default_factory=list)  # per interval, at its end


def open_spans(hours: BusinessHours, start: float, end: float) -> list[Span]:
    """When a team with ``hours`` is open between ``start`` and ``end``."""
    spans: list[Span] = []
    at = start
    while at < end:
        opens = hours.next_open(at)
        if opens >= end:
            break
        closes = (opens // _STEP_S + 1) * _STEP_S
        while closes < end and hours.is_open(closes):
            closes += _STEP_S
        spans.append((opens, min(closes, end)))
        at = closes
    return spans


class _Hours:
    """Whether each team is open at a time, from its spans (a bisect, not a calendar)."""

    def __init__(self, spans: Mapping[str, list[Span]]) -> None:
        self.spans = dict(spans)
        self._starts = {team: [s for s, _ in found] for team, found in spans.items()}

    def is_open(self, team: str, at: float) -> bool:
        found = self.spans.get(team)
        if not found:
            return False
        k = bisect.bisect_right(self._starts[team], at) - 1
        return k >= 0 and at < found[k][1]


class _Run:
    def __init__(self, scenario: Scenario, routing: Routing) -> None:
        self.scenario = scenario
        self.routing = routing
        self.clock = VirtualClock(round(scenario.start - scenario.warmup_s, 6))
        self.store = MemoryStore(clock=self.clock)
        self.grid = scenario.grid
        self.roster = Roster(scenario.shifts, self.grid)
        first = scenario.start - scenario.warmup_s
        self.hours = _Hours(
            {t: open_spans(routing.hours[t], first, scenario.end) for t in scenario.teams}
        )
        self.incidents = _incidents(scenario)
        self.waiting: dict[str, _Waiting] = {}
        self.longest: list[dict[str, float]] = [{} for _ in range(self.grid.count)]
        self.left: list[dict[str, int]] = []
        self._heap: list[tuple[float, int, _Kind, object]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self.contacts = 0

    def push(self, at: float, kind: _Kind, ref: object) -> None:
        heapq.heappush(self._heap, (round(at, 6), next(self._seq), kind, ref))

    async def run(self, seed: int) -> Outcome:
        scenario = self.scenario
        for arrival in draw_arrivals(scenario, seed):
            self.push(arrival.at, _Kind.ARRIVE, arrival)
        for agent in self.roster.agents:
            for on, off in agent.shift:
                self.push(on, _Kind.SHIFT_ON, agent)
                self.push(off, _Kind.SHIFT_OFF, agent)
        for team in scenario.teams:
            for opens, _ in self.hours.spans[team]:
                self.push(opens, _Kind.OPEN, team)
        for _, end in self.grid.spans:
            self.push(end, _Kind.TICK, None)
        await self._loop()
        self.roster.close(scenario.end)
        return Outcome(scenario, self.store, self.roster, self.contacts, self.longest, self.left)

    async def _loop(self) -> None:
        end = round(self.scenario.end, 6)  # event times are kept to the microsecond
        heap = self._heap
        while heap:
            at, _, kind, ref = heapq.heappop(heap)
            if at > end:
                break
            self.clock.now = at
            if kind is _Kind.ARRIVE:
                assert isinstance(ref, Arrival)
                await self._arrive(ref)
            elif kind is _Kind.ABANDON:
                assert isinstance(ref, str)
                await self._abandon(ref)
            elif kind is _Kind.DONE:
                assert isinstance(ref, SimAgent)
                await self._done(ref)
            elif kind is _Kind.SHIFT_ON:
                assert isinstance(ref, SimAgent)
                self.roster.start_shift(ref)
                if ref.contact is None:
                    await self._pull(ref)
            elif kind is _Kind.SHIFT_OFF:
                assert isinstance(ref, SimAgent)
                self.roster.end_shift(ref)
            elif kind is _Kind.OPEN:
                assert isinstance(ref, str)
                await self._wake(ref, every=True)
            else:
                await self._tick()

    async def _arrive(self, arrival: Arrival) -> None:
        at = arrival.at
        if at >= self.scenario.start:
            self.contacts += 1
        n = next(self._ids)
        contact = Contact(
            channel=Channel(arrival.channel),
            address=f"sim:{n}",
            created_at=at,
            id=f"sim{n:08d}",
        )
        message = Message(Direction.IN, "", at, id=f"sim{n:08d}m")
        await self.store.intake(contact, message)
        decision = self.routing.decide(
            arrival.channel,
            arrival.team,
            at=at,
            account=None,
            incidents=self.incidents,
            complaint=False,
        )
        await self.store.update_contact(contact.id, sla_due=decision.sla_due)
        await self.store.enqueue(contact.id, decision.team, delay_s=decision.delay_s)
        self.waiting[contact.id] = _Waiting(arrival, decision.team)
        if arrival.patience_s != float("inf"):
            self.push(at + arrival.patience_s, _Kind.ABANDON, contact.id)
        await self._wake(decision.team, every=False)

    async def _wake(self, team: str, *, every: bool) -> None:
        """Idle agents serving ``team`` pull, longest idle first: one (``every`` False, a
        contact arrived) or until one finds nothing (the team opened)."""
        if not self.hours.is_open(team, self.clock.now):
            return
        for agent in self.roster.idle_serving(team):
            if not await self._pull(agent) or not every:
                return

    async def _pull(self, agent: SimAgent) -> bool:
        """``agent`` claims the best waiting contact of their open teams, or goes idle."""
        now = self.clock.now
        teams = [t for t in agent.teams if self.hours.is_open(t, now)]
        claim = None
        if teams:
            claim = await self.store.claim(teams, agent.name, lease_s=self.scenario.lease_s)
        if claim is None:
            self.roster.idle(agent)
            return False
        waiting = self.waiting.pop(claim.contact_id)
        handle_s = waiting.arrival.handle_s
        # The agent's client heartbeats while they work: the lease lasts the handle time.
        await self.store.heartbeat(
            claim.contact_id, agent.name, lease_s=handle_s + self.scenario.lease_s
        )
        self._waited(waiting, now)
        self.roster.take(agent, claim.contact_id, now)
        self.push(now + handle_s, _Kind.DONE, agent)
        return True

    async def _done(self, agent: SimAgent) -> None:
        assert agent.contact is not None
        await self.store.ack(agent.contact, agent.name, disposition=DISPOSITION)
        self.roster.finish(agent, self.clock.now)
        if agent.on_shift:
            await self._pull(agent)

    async def _abandon(self, contact_id: str) -> None:
        waiting = self.waiting.pop(contact_id, None)
        if waiting is None:
            return  # answered before its patience ran out
        await self.store.remove(contact_id)
        self._waited(waiting, self.clock.now)

    def _waited(self, waiting: _Waiting, now: float) -> None:
        k = self.grid.index(now)
        if k is not None:
            longest = self.longest[k]
            wait_s = now - waiting.arrival.at
            if wait_s > longest.get(waiting.team, 0.0):
                longest[waiting.team] = wait_s

    async def _tick(self) -> None:
        """An interval ends: the contacts still waiting, and the longest of their waits."""
        stats = await self.store.queue_stats(self.scenario.teams)
        k = len(self.left)
        self.left.append({s.team: s.waiting for s in stats})
        longest = self.longest[k]
        for s in stats:
            if s.oldest_wait_s is not None and s.oldest_wait_s > longest.get(s.team, 0.0):
                longest[s.team] = s.oldest_wait_s


def _incidents(scenario: Scenario) -> Incidents:
    book = Incidents()
    for window in scenario.incidents:
        book, incident = book.open(window.team, window.text, at=window.start)
        book = book.close(incident.id, at=window.end)
    return book


async def run(scenario: Scenario, routing: Routing, *, seed: int) -> Outcome:
    """Simulate ``scenario`` with ``routing`` (teams, priorities, SLA, hours); ``seed``
    decides every draw, so the same seed gives the same day."""
    missing = [t for t in scenario.teams if t not in routing.hours]
    if missing:
        raise ValueError(
            f"the scenario names teams {', '.join(missing)} that the routing does not know; "
            f"teams are {', '.join(routing.teams)}"
        )
    return await _Run(scenario, routing).run(seed)
