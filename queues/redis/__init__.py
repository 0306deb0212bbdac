"""The Redis store: one Lua script per transition, every key on one hash tag per script,
so it runs on a single server or a Redis Cluster."""

from queues.redis.store import RedisStore

__all__ = ["RedisStore"]
