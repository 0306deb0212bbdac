"""A merge into the meta of a record an earlier version wrote (all its meta as one JSON,
``mt``): the record's meta becomes one ``m:<key>`` field each first, so a key the merge
removes is gone, and what was written since over ``mt`` still wins."""

from __future__ import annotations

import json
from typing import cast

import redis.asyncio as aioredis

from queues.redis.keys import flow_key
from queues.redis.store import RedisStore
from tests.conftest import FakeClock
from tests.queues.redis_support import admin, contact_and_message, store

__all__ = ["admin", "store"]  # fixtures used here


async def test_a_merge_into_an_earlier_versions_meta_removes_and_keeps_the_right_keys(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    await store.intake(contact, first)
    old = {"call_sid": "CA1", "to": "+48", "lang": "pl", "at": 1764844800.123456, "no": []}
    await admin.hset(flow_key(contact.id), "mt", json.dumps(old))
    await admin.hset(flow_key(contact.id), "m:lang", json.dumps("en"))  # written since
    assert (await store.get_contact(contact.id)).meta == {**old, "lang": "en"}

    changed = await store.update_contact(contact.id, meta_merge={"to": None, "survey": 5})
    expected = {"call_sid": "CA1", "lang": "en", "at": 1764844800.123456, "no": [], "survey": 5}
    assert changed.meta == expected
    assert (await store.get_contact(contact.id)).meta == expected
    fields = cast(list[str], await admin.hkeys(flow_key(contact.id)))
    assert "mt" not in fields and "m:call_sid" in fields and "m:to" not in fields
