"""Agent time from events: how long agents were logged in and busy in a window; pure, no I/O.

An agent is logged in while their last ``agent_status`` event says ``available`` (until
their presence expires) or while they hold a contact; busy while they hold at least one:
from its ``contact_claimed`` to the event that lets it go (released, resolved, transferred,
lease expired). Each agent's time counts for every team their last status named, and once
in the overall time. One pass over the events, in time order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from queues import Event

__all__ = ["AGENT_STATUS", "EVENT_KINDS", "AgentTime", "agent_time"]

#: The event the desk records when an agent's status changes: ``contact_id`` "", ``agent``,
#: ``data`` = {"status": "available" | "break" | "offline", "teams": [...]}.
AGENT_STATUS = "agent_status"
#: The status in which an agent counts as logged in.
AVAILABLE = "available"

# Events after which the contact is held by nobody.
_LET_GO = frozenset(
    {
        "contact_released",
        "contact_resolved",
        "contact_transferred",
        "lease_expired",
        "contact_abandoned",
    }
)
#: The events agent time is worked out from (what a caller need read).
EVENT_KINDS = frozenset({AGENT_STATUS, "contact_claimed", *_LET_GO})


@dataclass(frozen=True, slots=True)
class AgentTime:
    """Seconds agents were busy (holding a contact) and logged in (available or busy)."""

    busy_s: float = 0.0
    logged_in_s: float = 0.0

    def __add__(self, other: AgentTime) -> AgentTime:
        return AgentTime(self.busy_s + other.busy_s, self.logged_in_s + other.logged_in_s)


@dataclass(slots=True)
class _Agent:
    status: str = "offline"
    teams: tuple[str, ...] = ()
    held: set[str] = field(default_factory=set)
    since: float = -math.inf


class _Ledger:
    """Credits each agent's time between their events to their teams and the total."""

    def __init__(self, start: float, now: float, present_until: Mapping[str, float]) -> None:
        self.start = start
        self.now = now
        self.present_until = present_until
        self.agents: dict[str, _Agent] = {}
        self.teams: dict[str, AgentTime] = {}
        self.total = AgentTime()

    def agent(self, name: str) -> _Agent:
        return self.agents.setdefault(name, _Agent())

    def advance(self, name: str, agent: _Agent, to: float) -> None:
        """Credit ``agent``'s time from their last change to ``to``, clipped to the window."""
        begin, end = max(agent.since, self.start), min(to, self.now)
        agent.since = to
        if end <= begin:
            return
        if agent.held:
            spent = AgentTime(end - begin, end - begin)
        elif agent.status == AVAILABLE:
            # A presence that expired without a word: logged out from then on.
            until = min(end, self.present_until.get(name, math.inf))
            spent = AgentTime(0.0, max(0.0, until - begin))
        else:
            return
        self.total += spent
        for team in agent.teams:
            self.teams[team] = self.teams.get(team, AgentTime()) + spent


def agent_time(
    events: Sequence[Event],
    *,
    start: float,
    now: float,
    present_until: Mapping[str, float],
) -> tuple[dict[str, AgentTime], AgentTime]:
    """Agent time in ``[start, now]``, per team and over all agents (each once).

    Events before ``start`` give each agent's status and contacts at the start.
    ``present_until``: when each agent's presence expires (last seen + timeout).
    """
    ledger = _Ledger(start, now, present_until)
    holders: dict[str, str] = {}  # contact id -> the agent holding it
    for event in sorted(events, key=lambda e: e.at):
        if event.at > now:
            break
        if event.kind == AGENT_STATUS and event.agent is not None:
            agent = ledger.agent(event.agent)
            ledger.advance(event.agent, agent, event.at)
            agent.status = str(event.data.get("status", ""))
            agent.teams = tuple(str(t) for t in event.data.get("teams", ()))
        elif event.kind == "contact_claimed" and event.agent is not None:
            _let_go(ledger, holders, event)
            agent = ledger.agent(event.agent)
            ledger.advance(event.agent, agent, event.at)
            agent.held.add(event.contact_id)
            holders[event.contact_id] = event.agent
        elif event.kind in _LET_GO:
            _let_go(ledger, holders, event)
    for name, agent in ledger.agents.items():
        ledger.advance(name, agent, now)
    return ledger.teams, ledger.total


def _let_go(ledger: _Ledger, holders: dict[str, str], event: Event) -> None:
    """Whoever held ``event``'s contact holds it no more."""
    name = holders.pop(event.contact_id, None)
    if name is not None:
        agent = ledger.agent(name)
        ledger.advance(name, agent, event.at)
        agent.held.discard(event.contact_id)
