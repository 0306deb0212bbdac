"""Where a waiting contact stands: its position, the estimated wait, and the queue prompt.

One place for the rule, used when a contact is queued, on every hold refresh, and when a
retried message finds its flow already done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from channels import Spoken
from ivr import Engine, Prompt
from queues import Position, Store, fill
from router.desk import HandleTimes, Presence
from router.routing import Routing, round_wait_min

__all__ = ["Announcer", "Pace", "QueueStatus"]


@dataclass(frozen=True, slots=True)
class QueueStatus:
    position: Position | None
    wait_s: float
    told: Spoken  # the queue prompt, rendered in the customer's language
    pace: Pace | None = None  # how the queue moved when it was told

    @property
    def ahead(self) -> int:
        return self.position.ahead if self.position else 0


@dataclass(frozen=True, slots=True)
class Pace:
    """A team's queue now: the wait of the first in line (``first_s``; each place behind
    adds as much, ``estimate_wait_s``) and how long until the team opens (0 or less: open)."""

    first_s: float
    opens_in_s: float

    @property
    def is_open(self) -> bool:
        return self.opens_in_s <= 0

    def wait_s(self, ahead: int, *, open_hours: bool = False) -> float:
        """The wait with ``ahead`` before; ``open_hours``: as if the team were open."""
        moving_s = (ahead + 1) * self.first_s
        return moving_s if open_hours else max(moving_s, self.opens_in_s)


class Announcer:
    """Positions, wait estimates and queue prompts."""

    def __init__(
        self,
        *,
        store: Store,
        engine: Engine,
        routing: Routing,
        presence: Presence,
        handle_times: HandleTimes,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._engine = engine
        self._routing = routing
        self._presence = presence
        self._handle_times = handle_times
        self._clock = clock

    async def status(self, contact_id: str, team: str, prompt: str, language: str) -> QueueStatus:
        """The contact's place in ``team``'s queue, and ``prompt`` telling it."""
        position = await self._store.position(contact_id)
        ahead = position.ahead if position else 0
        pace = await self.pace(team)
        wait_s = pace.wait_s(ahead)
        told = self.render(prompt, language, team, ahead, wait_s)
        return QueueStatus(position, wait_s, told, pace)

    async def estimates_s(self, team: str, count: int) -> list[float]:
        """``estimate_s`` for ahead = 0 .. count - 1, with one look at the team's agents:
        the wait grows linearly with the place (``estimate_wait_s``)."""
        pace = await self.pace(team)
        return [pace.wait_s(ahead) for ahead in range(count)]

    async def pace(self, team: str) -> Pace:
        """How fast ``team``'s queue moves now, and how long until it opens: one look at its
        agents (``estimate_s`` for any place follows from it)."""
        available = (await self._presence.load([team]))[team].available
        first_s = await self._handle_times.estimate_s(team, 0, available)
        return Pace(first_s, self._routing.hours[team].next_open(self._clock()) - self._clock())

    async def estimate_s(self, team: str, ahead: int) -> float:
        """The wait from recent handle times and agents available; at least until opening."""
        return (await self.pace(team)).wait_s(ahead)

    def render(self, prompt: str, language: str, team: str, ahead: int, wait_s: float) -> Spoken:
        """The queue prompt: position (1 = next) and the estimated wait in minutes.

        While the team is closed, the ``<prompt>_closed`` variant (when the config has one)
        says when it opens, {opens}, rather than a wait of many hours in minutes.
        """
        now = self._clock()
        hours = self._routing.hours[team]
        opens_at = hours.next_open(now)
        params = {
            "team": team,
            "position": str(ahead + 1),
            "wait_min": str(round_wait_min(wait_s)),
            "opens": hours.local_label(opens_at, language),
        }
        if opens_at > now and f"{prompt}_closed" in self._engine.book.prompts:
            prompt = f"{prompt}_closed"
        template, filled = self._engine.compose(Prompt(prompt, params), language)
        return Spoken(fill(template, filled), language, template, filled)
