"""The outbox of the Redis store: every parcel under one hash tag (``{sb:outbox}``), so
each of its scripts is single-slot on a Redis Cluster (``queues/redis/keys.py``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from queues.base import Clock
from queues.models import Parcel
from queues.redis.cluster import OnConnection, operation
from queues.redis.codec import fmt_time
from queues.redis.keys import OUTBOX_KEYS, OUTBOX_LINE_PREFIX
from queues.redis.scripts import Scripts

__all__ = ["OutboxRedis"]

_SETTLE_KEYS = [*OUTBOX_KEYS[:4], OUTBOX_KEYS[5]]  # due, payloads, attempts, posted, groups


class OutboxRedis(OnConnection):
    """The outbox half of ``RedisStore`` (uses the store's scripts and clock)."""

    _scripts: Scripts
    _clock: Clock

    @operation
    async def post_parcel(
        self, parcel_id: str, payload: dict[str, Any], *, group: str, keep_s: float = 7 * 86_400
    ) -> bool:
        now = self._clock()
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        args = [parcel_id, fmt_time(now), raw, fmt_time(now + keep_s), group, OUTBOX_LINE_PREFIX]
        reply = await self._scripts.run("post_parcel", OUTBOX_KEYS, args)
        return bool(reply[0] == "ok")

    @operation
    async def take_parcels(
        self, *, lease_s: float, limit: int, ids: Sequence[str] = ()
    ) -> list[Parcel]:
        now = self._clock()
        until = round(now + lease_s, 6)
        args = [fmt_time(now), fmt_time(until), str(limit), *ids]
        reply = await self._scripts.run("take_parcels", OUTBOX_KEYS[:4], args)
        rest = reply[1:]
        return [
            Parcel(
                id=str(rest[i]),
                payload=json.loads(rest[i + 1]),
                attempts=int(rest[i + 2]),
                due_at=until,
                posted_at=float(rest[i + 3]),
            )
            for i in range(0, len(rest), 4)
        ]

    @operation
    async def settle_parcel(self, parcel_id: str, attempts: int) -> bool:
        args = [parcel_id, str(attempts), "", fmt_time(self._clock()), OUTBOX_LINE_PREFIX]
        reply = await self._scripts.run("settle_parcel", _SETTLE_KEYS, args)
        return bool(reply[0] == "ok")

    @operation
    async def defer_parcel(self, parcel_id: str, attempts: int, *, delay_s: float) -> bool:
        args = [parcel_id, str(attempts), fmt_time(self._clock() + delay_s), "", ""]
        reply = await self._scripts.run("settle_parcel", _SETTLE_KEYS, args)
        return bool(reply[0] == "ok")

    @operation
    async def parcels_pending(self) -> int:
        return int(await self._redis.hlen(OUTBOX_KEYS[1]))
