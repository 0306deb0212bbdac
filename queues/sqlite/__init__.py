"""The embedded default store: one sqlite file, one writer thread, a transaction per
transition."""

from queues.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
