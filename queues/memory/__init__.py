"""The in-memory store: the reference implementation, for tests and throwaway demos."""

from queues.memory.store import MemoryStore

__all__ = ["MemoryStore"]
