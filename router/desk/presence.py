"""Who is working: agents' availability, and the recent handle times waits are estimated from."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from queues import Store, StoreUnavailable
from router.desk.ledger import Minutes
from router.routing import estimate_wait_s
from router.stats import AgentLoad, AgentTime, accrue_interval, prune, window_time

__all__ = ["AgentStatus", "HandleTimes", "Presence"]

#: An agent not seen (claim, heartbeat, console) for this long counts as logged out.
SEEN_TIMEOUT_S = 120.0
#: The status an ``agent_status`` event gives an agent whose presence expired.
OFFLINE = "offline"
#: The store's document kind of presence records (one per agent).
PRESENCE = "presence"
#: Compare-and-set tries before an update gives up (each loses only to another's write).
_CAS_TRIES = 50


class AgentStatus(StrEnum):
    AVAILABLE = "available"
    BREAK = "break"


@dataclass(frozen=True, slots=True)
class _Seen:
    """One agent's presence record: teams, status, last seen, contacts held, and the ledger
    of their time (``router.stats.occupancy``, kept as ``Minutes``) with the start of the
    interval still open."""

    teams: tuple[str, ...]
    status: AgentStatus
    at: float
    holding: int = 0
    since: float | None = None  # None: at
    minutes: Minutes = field(default_factory=Minutes)
    wrap_until: float | None = None  # after-contact work runs until then (busy)

    @property
    def opened(self) -> float:
        return self.at if self.since is None else self.since

    @property
    def busy(self) -> bool:
        """Holding a contact (a wrap-up still running is busy too: ``busy_at``)."""
        return self.holding > 0

    def busy_at(self, now: float) -> bool:
        """Holding a contact or wrapping one up at ``now``."""
        return self.busy or (self.wrap_until is not None and now < self.wrap_until)

    @property
    def logged_until(self) -> float:
        """Until when the open interval counts as logged in when not busy."""
        if self.status is AgentStatus.AVAILABLE:
            return self.at + SEEN_TIMEOUT_S
        return self.opened  # on a break: not at all

    def closed(self, now: float) -> dict[int, tuple[float, float]]:
        """The ledger with the interval open until ``now`` added (and old minutes gone)."""
        ledger = accrue_interval(
            self.minutes.ledger,
            self.opened,
            now,
            busy=self.busy,
            logged_until=self.logged_until,
            wrap_until=self.wrap_until,
        )
        return prune(ledger, now)

    def time(self, start: float, now: float) -> AgentTime:
        still_open = window_time(
            {},
            start=start,
            now=now,
            open_since=self.opened,
            busy=self.busy,
            logged_until=self.logged_until,
            wrap_until=self.wrap_until,
        )
        return self.minutes.window(start, now) + still_open

    def to_dict(self) -> dict[str, Any]:
        return {
            "teams": list(self.teams),
            "status": str(self.status),
            "at": self.at,
            "holding": self.holding,
            "since": self.since,
            "minutes": self.minutes.to_json(),
            "wrap_until": self.wrap_until,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Seen:
        return cls(
            tuple(str(t) for t in data.get("teams", ())),
            AgentStatus(data.get("status", AgentStatus.AVAILABLE)),
            float(data.get("at", 0.0)),
            int(data.get("holding", 0)),
            None if data.get("since") is None else float(data["since"]),
            Minutes.from_record(data),
            None if data.get("wrap_until") is None else float(data["wrap_until"]),
        )


class Presence:
    """Agents' availability as their clients report it, kept in the store so that every
    router process sees the same: a break set through one is refused claims through all.

    Reads of everyone (queue depths, wait estimates, KPIs) come from a snapshot at most
    ``snapshot_s`` old, a hint the store confirms; an agent's own status is read fresh.
    """

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        *,
        snapshot_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._clock = clock
        self._monotonic = monotonic
        self._snapshot_s = snapshot_s
        self._snapshot: dict[str, _Seen] = {}
        self._snapshot_at: float | None = None

    async def seen(
        self, agent: str, teams: Sequence[str], *, status: AgentStatus | None = None
    ) -> None:
        """The agent is there (a claim, a heartbeat, the console), serving ``teams``; with
        ``status``, that is their status now, otherwise it stays as stored."""

        def change(previous: _Seen | None) -> _Seen:
            return _Seen(
                tuple(teams),
                status or (previous.status if previous else AgentStatus.AVAILABLE),
                self._clock(),
                previous.holding if previous else 0,
                wrap_until=previous.wrap_until if previous else None,
            )

        await self._update(agent, change)

    async def agent_time(
        self, teams: Sequence[str], *, start: float, now: float
    ) -> tuple[dict[str, AgentTime], AgentTime]:
        """Agents' busy and logged-in time from ``start`` to ``now`` (whole minutes): per
        team (an agent's time counts for each team they serve) and overall (once each)."""
        per_team = {team: AgentTime() for team in teams}
        overall = AgentTime()
        for seen in (await self._records()).values():
            spent = seen.time(start, now)
            overall += spent
            for team in seen.teams:
                if team in per_team:
                    per_team[team] += spent
        return per_team, overall

    async def holding(self, agent: str, delta: int, *, wrap_until: float | None = None) -> None:
        """The agent took (+1) or let go of (-1) a contact; ``wrap_until``: they wrap it
        up until then (after-contact work, busy time)."""

        def change(previous: _Seen | None) -> _Seen | None:
            if previous is None:
                return None
            wrap = max(filter(None, (previous.wrap_until, wrap_until)), default=None)
            return replace(previous, holding=max(0, previous.holding + delta), wrap_until=wrap)

        await self._update(agent, change)

    async def status(self, agent: str) -> AgentStatus | None:
        seen = await self._get(agent)
        return seen.status if seen else None

    async def total(self) -> AgentLoad:
        """Distinct agents available and busy, whatever teams they serve."""
        working, now = await self._working(), self._clock()
        busy = sum(1 for seen in working if seen.busy_at(now))
        return AgentLoad(available=len(working) - busy, busy=busy)

    async def load(self, teams: Sequence[str]) -> dict[str, AgentLoad]:
        """Per team: agents available (on no contact) and busy (holding one, or wrapping
        one up)."""
        load = {team: [0, 0] for team in teams}
        now = self._clock()
        for seen in await self._working():
            for team in seen.teams:
                if team in load:
                    load[team][1 if seen.busy_at(now) else 0] += 1
        return {team: AgentLoad(available=a, busy=b) for team, (a, b) in load.items()}

    async def _records(self) -> dict[str, _Seen]:
        age_at = self._monotonic()
        if self._snapshot_at is None or age_at - self._snapshot_at >= self._snapshot_s:
            records = await self._store.all_docs(PRESENCE)
            self._snapshot = {a: _Seen.from_dict(r) for a, r in records.items()}
            self._snapshot_at = age_at
        return self._snapshot

    async def _working(self) -> list[_Seen]:
        now = self._clock()
        return [
            seen
            for seen in (await self._records()).values()
            if now - seen.at <= SEEN_TIMEOUT_S and seen.status is AgentStatus.AVAILABLE
        ]

    async def _get(self, agent: str) -> _Seen | None:
        record, _ = await self._store.get_doc(PRESENCE, agent)
        return _Seen.from_dict(record) if record is not None else None

    async def _update(
        self, agent: str, change: Callable[[_Seen | None], _Seen | None]
    ) -> tuple[_Seen | None, _Seen | None]:
        """Apply ``change`` to the stored record with compare-and-set, again from the new
        record when another process or request wrote in between: no update is lost (a
        break set through A is never undone by a claim through B). Returns the record
        before and after (after is None when ``change`` left it alone)."""
        for _ in range(_CAS_TRIES):
            record, tag = await self._store.get_doc(PRESENCE, agent)
            previous = _Seen.from_dict(record) if record is not None else None
            seen = change(previous)
            if seen is None:
                return previous, None
            now = self._clock()
            # The interval since the last change closes here, in the state it had.
            ledger = previous.closed(now) if previous is not None else {}
            seen = replace(seen, since=now, minutes=Minutes.of(ledger))
            if await self._store.put_doc(PRESENCE, agent, seen.to_dict(), tag=tag) is not None:
                self._snapshot[agent] = seen  # this process sees its own change at once
                return previous, seen
        raise StoreUnavailable(f"the presence of {agent!r} changes too fast to update; retry")


class HandleTimes:
    """Each team's recent handle times, as the store keeps them (its last
    ``RECENT_HANDLES`` per team: one short read, however busy the day), of the last
    ``window_s``; read again at most every ``ttl_s`` per team."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        *,
        ttl_s: float = 30.0,
        window_s: float = 3600.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ttl_s = ttl_s
        self._window_s = window_s
        self._read: dict[str, tuple[float, list[float]]] = {}  # team -> (read at, times)

    async def for_team(self, team: str) -> list[float]:
        now = self._clock()
        read = self._read.get(team)
        if read is None or now - read[0] > self._ttl_s:
            times = await self._store.handle_times(team, since=now - self._window_s)
            read = self._read[team] = (now, times)
        return read[1]

    async def estimate_s(self, team: str, ahead: int, agents_available: int) -> float:
        return estimate_wait_s(ahead, agents_available, await self.for_team(team))
