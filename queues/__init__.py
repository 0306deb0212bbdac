"""Where contacts wait and are kept: the contact record and the store backends."""

from __future__ import annotations

from urllib.parse import urlsplit

from queues.base import Clock, Store
from queues.buckets import NO_TEAM, SATISFIED, WAIT_EDGES_S, Bucket, edge_index, minute_of
from queues.capacity import ALL_CHANNELS, MAX_WRAP_UP_S, Capacity
from queues.errors import (
    ContactNotFound,
    InvalidTransition,
    NotHolder,
    QueueError,
    StoreUnavailable,
)
from queues.models import (
    Channel,
    Claim,
    Contact,
    ContactState,
    Direction,
    Event,
    Intake,
    Message,
    Parcel,
    Position,
    QueueStats,
    fill,
    from_iso,
    new_id,
    now_s,
    to_iso,
)
from queues.tasks import stop_task, stop_tasks
from queues.timeline import (
    MAX_NOTE_CHARS,
    MAX_NOTES,
    MAX_TAGS,
    NOTES,
    TAGS,
    NotesFull,
    clean_tags,
)
from queues.turns import Turn, TurnEnqueue, TurnOutcome, TurnResult

__all__ = [
    "ALL_CHANNELS",
    "MAX_NOTES",
    "MAX_NOTE_CHARS",
    "MAX_TAGS",
    "MAX_WRAP_UP_S",
    "NOTES",
    "NO_TEAM",
    "SATISFIED",
    "TAGS",
    "WAIT_EDGES_S",
    "Bucket",
    "Capacity",
    "Channel",
    "Claim",
    "Clock",
    "Contact",
    "ContactNotFound",
    "ContactState",
    "Direction",
    "Event",
    "Intake",
    "InvalidTransition",
    "Message",
    "NotHolder",
    "NotesFull",
    "Parcel",
    "Position",
    "QueueError",
    "QueueStats",
    "Store",
    "StoreUnavailable",
    "Turn",
    "TurnEnqueue",
    "TurnOutcome",
    "TurnResult",
    "clean_tags",
    "edge_index",
    "fill",
    "from_iso",
    "minute_of",
    "new_id",
    "now_s",
    "open_store",
    "stop_task",
    "stop_tasks",
    "to_iso",
]


async def open_store(url: str, *, clock: Clock | None = None) -> Store:
    """Open the store a URL names: ``memory://``, ``sqlite:///path.db``,
    ``redis://host:port/db`` (a Redis Cluster: ``redis://host:port/0?cluster=1``, or found
    out from the server)."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from queues.memory import MemoryStore

        return MemoryStore(clock=clock)
    if scheme == "sqlite":
        from queues.sqlite import SqliteStore

        return await SqliteStore.open(url, clock=clock)
    if scheme in ("redis", "rediss", "unix"):
        from queues.redis import RedisStore

        return await RedisStore.open(url, clock=clock)
    raise ValueError(
        f"store URL {url!r} has an unknown scheme; use memory://, sqlite:///path or redis://host:port/db"
    )
