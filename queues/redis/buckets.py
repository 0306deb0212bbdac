"""Reading the Redis store's running aggregates (``queues/buckets.py``); the scripts of the
transitions write them (``lua/_common.lua``, ``bucket_add``).

A tag keeps one hash per hour (``keys.py``): a team's under the team's tag, the contacts
created under each contact shard's. A window of m minutes is one pipelined HGETALL per tag
and hour it touches: about teams × (m / 60 + 1) of them, plus 16 × that for ``NO_TEAM``.
"""

from __future__ import annotations

from collections.abc import Sequence

from queues.buckets import NO_TEAM, RECENT_HANDLES, Bucket, minutes
from queues.redis.keys import SHARDS, handles_key, shard_buckets_key, team_buckets_key
from queues.redis.scripts import Client

__all__ = ["Aggregates"]


def _merged(
    rows: Sequence[dict[str, str]], first: int, last: int
) -> dict[tuple[int, str], list[int]]:
    """The counts by (minute, channel) in ``rows`` (hour hashes of one team, or of every
    shard), for the minutes from ``first`` to ``last``; the shards' are added up."""
    merged: dict[tuple[int, str], list[int]] = {}
    for row in rows:
        for field, value in row.items():
            start, _, channel = field.partition(":")
            minute = int(start)
            if not first <= minute <= last:
                continue
            counts = [int(n) for n in value.split()]
            kept = merged.setdefault((minute, channel), [])
            kept += [0] * (len(counts) - len(kept))
            for i, n in enumerate(counts):
                kept[i] += n
    return merged


class Aggregates:
    """minute_buckets and handle_times."""

    def __init__(self, client: Client) -> None:
        self._redis = client

    async def minute_buckets(
        self, teams: Sequence[str], *, since: float, until: float
    ) -> list[Bucket]:
        span = minutes(since, until)
        first, last = span.start, span[-1]
        hours = range(first - first % 3600, last + 1, 3600)
        keys = {
            team: [shard_buckets_key(s, h) for h in hours for s in range(SHARDS)]
            if team == NO_TEAM
            else [team_buckets_key(team, h) for h in hours]
            for team in teams
        }
        async with self._redis.pipeline(transaction=False) as pipe:
            for team_keys in keys.values():
                for key in team_keys:
                    pipe.hgetall(key)
            rows: list[dict[str, str]] = await pipe.execute()
        found: list[Bucket] = []
        for team, team_keys in keys.items():
            counted, rows = _merged(rows[: len(team_keys)], first, last), rows[len(team_keys) :]
            found += [
                Bucket.from_counts(team, minute, channel, counts)
                for (minute, channel), counts in sorted(counted.items())
            ]
        return found

    async def handle_times(
        self, team: str, *, since: float, limit: int = RECENT_HANDLES
    ) -> list[float]:
        if limit <= 0:
            return []
        newest_first = await self._redis.lrange(
            handles_key(team), 0, min(limit, RECENT_HANDLES) - 1
        )
        recent = []
        for item in newest_first:
            at, _, handle_s = str(item).partition(" ")
            if float(at) >= since:
                recent.append(float(handle_s))
        return recent[::-1]
