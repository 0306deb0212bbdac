"""Sessions, hit counters and pub/sub of the in-memory store: per-key state with expiry.

Each call runs to completion without awaiting, so on one event loop each is one step.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from typing import Any

from queues.base import Clock
from queues.errors import StoreUnavailable
from queues.models import now_s
from queues.pubsub import InProcessPubSub, LocalPubSub

__all__ = ["KeyedMemory"]


class KeyedMemory(InProcessPubSub):
    """The keyed half of ``MemoryStore``: its lifecycle, sessions, counters and pub/sub."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock or now_s
        self._sessions: dict[str, tuple[float, dict[str, Any], str]] = {}  # expires, data, tag
        #: key -> (expires, [(time, tag or None)])
        self._hits: dict[str, tuple[float, list[tuple[float, str | None]]]] = {}
        self._pubsub = LocalPubSub()
        self._docs: dict[str, dict[str, tuple[dict[str, Any], str]]] = {}  # kind -> key -> doc
        self._locks: dict[str, tuple[str, float]] = {}  # name -> (owner, expires_at)
        self._closed = False

    async def aclose(self) -> None:
        self._closed = True
        self._pubsub.close()

    async def ping(self) -> None:
        if self._closed:
            raise StoreUnavailable("the memory store is closed; open a new one")

    # -- sessions ------------------------------------------------------------------------
    async def get_session(self, key: str) -> dict[str, Any] | None:
        return (await self.get_session_tagged(key))[0]

    async def get_session_tagged(self, key: str) -> tuple[dict[str, Any] | None, str]:
        entry = self._sessions.get(key)
        if entry is None:
            return None, ""
        expires_at, data, tag = entry
        if expires_at <= self._clock():
            del self._sessions[key]
            return None, ""
        return dict(data), tag

    async def get_sessions(self, keys: Sequence[str]) -> list[tuple[dict[str, Any] | None, str]]:
        return [await self.get_session_tagged(key) for key in keys]

    async def put_session(self, key: str, data: dict[str, Any], *, ttl_s: float) -> None:
        self._sessions[key] = (self._clock() + ttl_s, dict(data), uuid.uuid4().hex)

    async def put_session_if(
        self, key: str, data: dict[str, Any], *, tag: str, ttl_s: float
    ) -> bool:
        if (await self.get_session_tagged(key))[1] != tag:
            return False
        await self.put_session(key, data, ttl_s=ttl_s)
        return True

    async def delete_session(self, key: str) -> None:
        self._sessions.pop(key, None)

    # -- documents -----------------------------------------------------------------------
    async def get_doc(self, kind: str, key: str) -> tuple[dict[str, Any] | None, str]:
        found = self._docs.get(kind, {}).get(key)
        return (copy.deepcopy(found[0]), found[1]) if found is not None else (None, "")

    async def put_doc(
        self, kind: str, key: str, data: dict[str, Any], *, tag: str | None = None
    ) -> str | None:
        docs = self._docs.setdefault(kind, {})
        if tag is not None and docs.get(key, ({}, ""))[1] != tag:
            return None
        new_tag = uuid.uuid4().hex
        docs[key] = (copy.deepcopy(data), new_tag)
        return new_tag

    async def delete_doc(self, kind: str, key: str) -> None:
        self._docs.get(kind, {}).pop(key, None)

    async def all_docs(self, kind: str) -> dict[str, dict[str, Any]]:
        return {key: copy.deepcopy(doc) for key, (doc, _) in self._docs.get(kind, {}).items()}

    # -- locks ---------------------------------------------------------------------------
    async def acquire_lock(self, name: str, owner: str, *, ttl_s: float) -> bool:
        now = self._clock()
        holder, expires_at = self._locks.get(name, (owner, now))
        if holder != owner and expires_at > now:
            return False
        self._locks[name] = (owner, now + ttl_s)
        return True

    async def release_lock(self, name: str, owner: str) -> None:
        if self._locks.get(name, ("", 0.0))[0] == owner:
            del self._locks[name]

    # -- hit counters (no await inside: each call is one step) --------------------------
    def _live_hits(self, key: str, now: float, window_s: float) -> list[tuple[float, str | None]]:
        expires_at, hits = self._hits.get(key, (now, []))
        if expires_at <= now:
            self._hits.pop(key, None)
            return []
        return [hit for hit in hits if hit[0] > now - window_s]

    async def record_hit(
        self, key: str, *, window_s: float, ttl_s: float, tag: str | None = None
    ) -> int:
        now = self._clock()
        hits = self._live_hits(key, now, window_s)
        if tag is None or all(seen != tag for _, seen in hits):
            hits.append((now, tag))
        self._hits[key] = (now + ttl_s, hits)
        return len(hits)

    async def hits(self, key: str, *, window_s: float) -> list[float]:
        return [at for at, _ in self._live_hits(key, self._clock(), window_s)]

    async def clear_hits(self, key: str) -> None:
        self._hits.pop(key, None)
