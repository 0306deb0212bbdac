"""A team's waiting contacts as the Redis store keeps them: one ready index per channel
(``:ready:<channel>``, ``keys.py``), their union the team's queue, and the reads of it.

position       one script on the contact's team (``standing()`` in ``_common.lua``: the
               number ahead in each channel's index)
waiting_order  the union of the team's indexes (ZUNION: by score, FIFO on ties)
queue_stats    per team the indexes' sizes, the leases, the oldest wait, one pipeline

Before the first read of a queue a process moves what an earlier version kept in a team's
combined ``:ready`` into the channels' indexes (``unfold``; ``index_ready.lua``).
"""

from __future__ import annotations

from collections.abc import Sequence

from queues.base import Clock
from queues.models import Position, QueueStats
from queues.redis.keys import (
    READY_CHANNELS,
    TEAMS_KEY,
    entry_key,
    entry_prefix,
    leased_key,
    queued_key,
    ready_key,
    ready_keys,
)
from queues.redis.locate import Locator
from queues.redis.scripts import Client, Scripts

__all__ = ["Ready"]


class Ready:
    """The teams' ready indexes: what an earlier version left moved in, and their reads."""

    def __init__(self, client: Client, scripts: Scripts, locator: Locator, clock: Clock) -> None:
        self._redis = client
        self._scripts = scripts
        self._locator = locator
        self._clock = clock
        self._unfolded = False  # no team keeps an earlier version's combined :ready

    async def unfold(self) -> None:
        """Once a process, before its first read of a ready queue: what an earlier version
        kept in each team's combined ready queue goes into the channels' indexes
        (``index_ready.lua``; a no-op for a team without one)."""
        if self._unfolded:
            return
        for team in sorted(await self._redis.smembers(TEAMS_KEY)):
            name = team.decode() if isinstance(team, bytes) else str(team)
            await self._scripts.run("index_ready", [ready_key(name)], [entry_prefix(name)])
        self._unfolded = True

    async def position(self, contact_id: str) -> Position | None:
        await self.unfold()

        def build(team: str) -> tuple[list[str], list[str]]:
            return [entry_key(team, contact_id), ready_key(team)], [contact_id]

        ran = await self._locator.run_in_team("position", contact_id, build)
        if ran.team is None or ran.reply[0] != "ok":
            return None
        return Position(ran.team, ahead=int(ran.reply[1]), waiting=int(ran.reply[2]))

    async def waiting_order(self, team: str) -> list[str]:
        # Members are "<12-digit seq>:<id>", scores tie-broken by member: FIFO on ties; the
        # union of the channels' indexes is ordered so too.
        await self.unfold()
        members = await self._redis.zunion(ready_keys(team))
        return [str(member).partition(":")[2] for member in members]

    async def queue_stats(self, teams: Sequence[str]) -> list[QueueStats]:
        await self.unfold()
        async with self._redis.pipeline(transaction=False) as pipe:
            for team in teams:
                for key in ready_keys(team):
                    pipe.zcard(key)
                pipe.zcard(leased_key(team))
                pipe.zrange(queued_key(team), 0, 0, withscores=True)
            rows = await pipe.execute()
        now, each = self._clock(), len(READY_CHANNELS) + 2  # the indexes, leases, oldest
        stats = []
        for i, team in enumerate(teams):
            *waiting, assigned, oldest = rows[each * i : each * (i + 1)]
            oldest_wait_s = round(now - oldest[0][1], 6) if oldest else None
            stats.append(QueueStats(team, sum(waiting), int(assigned), oldest_wait_s))
        return stats
