"""The simulated agents: who is on shift, who is idle (and since when), and the time each spent
logged in and busy in each report interval, for occupancy and the agents per interval.

Idle agents are kept in the order they became idle: when a contact arrives, the agent idle
longest among those serving its team pulls first, as the longest-waiting long poll would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from router.simulate.scenario import Grid, Shift, Span, overlap

__all__ = ["Roster", "SimAgent"]


@dataclass(slots=True, eq=False)
class SimAgent:
    name: str
    teams: tuple[str, ...]
    shift: tuple[Span, ...]
    busy_s: list[float]  # per interval
    on_shift: bool = False
    contact: str | None = None  # the contact held, None when free
    since: float = 0.0  # busy since, while holding one
    late: list[Span] = field(default_factory=list)  # busy after the shift ended

    def logged(self) -> list[Span]:
        """The spans logged in: the shift, and the ends of contacts finished after it."""
        return sorted([*self.shift, *self.late])


class Roster:
    """The agents of a scenario's shifts, named ``<first team>-<n>``."""

    def __init__(self, shifts: Sequence[Shift], grid: Grid) -> None:
        self.grid = grid
        self.agents: list[SimAgent] = []
        counts: dict[str, int] = {}
        for shift in shifts:
            for _ in range(shift.agents):
                n = counts[shift.teams[0]] = counts.get(shift.teams[0], 0) + 1
                name, busy = f"{shift.teams[0]}-{n}", [0.0] * grid.count
                self.agents.append(SimAgent(name, shift.teams, shift.spans, busy))
        self._idle: dict[str, SimAgent] = {}

    def idle_serving(self, team: str) -> list[SimAgent]:
        """Idle agents serving ``team``, idle longest first (a copy: safe to change)."""
        return [a for a in self._idle.values() if team in a.teams]

    def idle(self, agent: SimAgent) -> None:
        """``agent`` waits for work; one already waiting keeps its place."""
        self._idle.setdefault(agent.name, agent)

    def start_shift(self, agent: SimAgent) -> None:
        agent.on_shift = True

    def end_shift(self, agent: SimAgent) -> None:
        agent.on_shift = False
        self._idle.pop(agent.name, None)

    def take(self, agent: SimAgent, contact_id: str, at: float) -> None:
        self._idle.pop(agent.name, None)
        agent.contact, agent.since = contact_id, at

    def finish(self, agent: SimAgent, at: float) -> None:
        self.grid.spread((agent.since, at), agent.busy_s)
        if not agent.on_shift:  # the contact outlasted the shift: logged in until it is done
            ended = max((b for _, b in agent.shift if b <= at), default=agent.since)
            agent.late.append((max(ended, agent.since), at))
        agent.contact = None

    def close(self, at: float) -> None:
        """The period is over: contacts still held count as busy until ``at``."""
        for agent in self.agents:
            if agent.contact is not None:
                self.finish(agent, at)

    def time(self, team: str | None = None) -> tuple[list[float], list[float]]:
        """Busy and logged-in seconds per interval, of the agents serving ``team`` (None:
        every agent, once each)."""
        spans = self.grid.spans
        busy, logged = [0.0] * len(spans), [0.0] * len(spans)
        for agent in self.agents:
            if team is not None and team not in agent.teams:
                continue
            mine = agent.logged()
            for k, (start, end) in enumerate(spans):
                busy[k] += agent.busy_s[k]
                logged[k] += overlap(mine, start, end)
        return busy, logged
