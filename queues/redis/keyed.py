"""Sessions, presence, hit counters and pub/sub of the Redis store: keys outside any
contact or team, each on its own slot (``queues/redis/keys.py``).
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from redis.asyncio.cluster import RedisCluster

from queues.base import Clock
from queues.models import now_s
from queues.redis.cluster import Connection, OnConnection, operation
from queues.redis.codec import fmt_time
from queues.redis.keys import (
    CHANNEL_PREFIX,
    doc_key,
    hits_key,
    lock_key,
    session_key,
)
from queues.redis.pubsub import Fanout
from queues.redis.scripts import Scripts, check
from queues.redis.sessions import (
    decode_session,
    encode_session,
    expand_prompts,
    prompt_refs,
)
from queues.redis.texts import Texts

__all__ = ["KeyedRedis", "new_tag"]


def new_tag() -> str:
    """A tag for a compare-and-set (sessions, documents) or a hit's member: 72 random bits,
    12 characters (earlier versions: 32 hex digits; any tag compares the same)."""
    return secrets.token_urlsafe(9)


def _dumps(stored: dict[str, Any]) -> str:
    # Compact: a document under 64 bytes keeps its kind's hash compact (a listpack).
    return json.dumps(stored, ensure_ascii=False, separators=(",", ":"))


class KeyedRedis(OnConnection):
    """The keyed half of ``RedisStore``: sessions with expiry, documents, locks,
    sliding-window counters, and pub/sub shared by every process on the server."""

    def __init__(self, connection: Connection, *, clock: Clock | None = None) -> None:
        super().__init__(connection)
        self._clock = clock or now_s
        self._scripts = Scripts(self._redis)
        self._texts = Texts(self._redis, self._scripts)
        self._fanout = Fanout(connection.pubsub)

    # -- sessions ------------------------------------------------------------------------
    async def get_session(self, key: str) -> dict[str, Any] | None:
        return (await self.get_session_tagged(key))[0]

    @operation
    async def get_session_tagged(self, key: str) -> tuple[dict[str, Any] | None, str]:
        return await self._tagged(key, await self._redis.get(session_key(key)))

    @operation
    async def get_sessions(self, keys: Sequence[str]) -> list[tuple[dict[str, Any] | None, str]]:
        names = [session_key(key) for key in keys]
        if isinstance(self._redis, RedisCluster):  # keys on several slots
            raws = await self._redis.mget_nonatomic(names)
        else:
            raws = await self._redis.mget(names)
        return [await self._tagged(key, raw) for key, raw in zip(keys, raws, strict=True)]

    async def _tagged(self, key: str, raw: str | bytes | None) -> tuple[dict[str, Any] | None, str]:
        if raw is None:
            return None, ""
        expires_at, tag, data = decode_session(key, raw if isinstance(raw, str) else raw.decode())
        if expires_at <= self._clock():
            return None, ""
        refs = prompt_refs(data)  # of prompts kept as their templates (sessions.py)
        if refs:
            data = expand_prompts(data, await self._texts.templates(refs))
        return data, tag

    @operation
    async def put_session(self, key: str, data: dict[str, Any], *, ttl_s: float) -> None:
        if ttl_s <= 0:
            await self._redis.delete(session_key(key))
            return
        raw, px, _ = self._tagged_value(key, data, ttl_s)
        await self._redis.set(session_key(key), raw, px=px)

    @operation
    async def put_session_if(
        self, key: str, data: dict[str, Any], *, tag: str, ttl_s: float
    ) -> bool:
        raw, px, _ = self._tagged_value(key, data, max(ttl_s, 0.001))
        args = [tag, repr(self._clock()), raw, str(px)]
        reply = await self._scripts.run("put_session_if", [session_key(key)], args)
        return bool(reply[0] == "ok")

    def _tagged_value(self, key: str, data: dict[str, Any], ttl_s: float) -> tuple[str, int, str]:
        """A session's stored value (``sessions.py``), its PX ttl and its new tag."""
        # Expiry is checked against the store's clock; the PX ttl only reclaims memory.
        tag = new_tag()
        raw = encode_session(key, data, self._clock() + ttl_s, tag, self._texts.kept_as)
        return raw, max(1, math.ceil(ttl_s * 1000)), tag

    @operation
    async def delete_session(self, key: str) -> None:
        await self._redis.delete(session_key(key))

    # -- documents (one hash per kind: key -> {"t": tag, "d": data}) ----------------------
    @operation
    async def get_doc(self, kind: str, key: str) -> tuple[dict[str, Any] | None, str]:
        raw = await self._redis.hget(doc_key(kind), key)
        if raw is None:
            return None, ""
        stored = json.loads(raw)
        data: dict[str, Any] = stored["d"]
        return data, str(stored["t"])

    @operation
    async def put_doc(
        self, kind: str, key: str, data: dict[str, Any], *, tag: str | None = None
    ) -> str | None:
        made = new_tag()
        raw = _dumps({"t": made, "d": data})
        if tag is None:
            await self._redis.hset(doc_key(kind), key, raw)
            return made
        reply = await self._scripts.run("put_doc_if", [doc_key(kind)], [key, tag, raw])
        return made if reply[0] == "ok" else None

    @operation
    async def delete_doc(self, kind: str, key: str) -> None:
        await self._redis.hdel(doc_key(kind), key)

    @operation
    async def all_docs(self, kind: str) -> dict[str, dict[str, Any]]:
        found = await self._redis.hgetall(doc_key(kind))
        return {str(key): json.loads(raw)["d"] for key, raw in found.items()}

    # -- locks (a key each, expiry on the store's clock) --------------------------------
    @operation
    async def acquire_lock(self, name: str, owner: str, *, ttl_s: float) -> bool:
        now = self._clock()
        px = str(max(1, math.ceil(ttl_s * 1000)))
        args = [owner, repr(now), repr(now + ttl_s), px]
        reply = await self._scripts.run("acquire_lock", [lock_key(name)], args)
        return bool(reply[0] == "ok")

    @operation
    async def release_lock(self, name: str, owner: str) -> None:
        await self._scripts.run("release_lock", [lock_key(name)], [owner])

    # -- hit counters (one script on the key's own slot) ---------------------------------
    @operation
    async def record_hit(
        self, key: str, *, window_s: float, ttl_s: float, tag: str | None = None
    ) -> int:
        now = self._clock()
        ttl_ms = str(max(1, math.ceil(ttl_s * 1000)))
        # Random members never meet; a tag's "=" keeps it apart from them.
        member = new_tag() if tag is None else "=" + tag
        args = [fmt_time(now), member, repr(now - window_s), ttl_ms]
        reply = await self._scripts.run("record_hit", [hits_key(key)], args)
        return int(check(reply, key, "record_hit")[1])

    @operation
    async def hits(self, key: str, *, window_s: float) -> list[float]:
        cutoff = f"({self._clock() - window_s!r}"
        found = await self._redis.zrangebyscore(hits_key(key), cutoff, "+inf", withscores=True)
        return [float(pair[1]) for pair in found]

    @operation
    async def clear_hits(self, key: str) -> None:
        await self._redis.delete(hits_key(key))

    # -- pub/sub -------------------------------------------------------------------------
    @operation
    async def publish(self, channel: str, payload: str) -> None:
        await self._redis.publish(CHANNEL_PREFIX + channel, payload)

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[str]]:
        return self._fanout.subscribe(CHANNEL_PREFIX + channel)
