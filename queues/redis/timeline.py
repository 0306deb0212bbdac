"""A customer's timeline in the Redis store: contacts by account, notes and tags
(``queues/timeline.py``).

By account: each contact shard keeps ``{sb:c:NN}:acct:<login>`` (contact id -> created_at),
written by the script that gives a contact its account (``update_contact``, or ``intake``
for one created with it) in the same step, on the contact's own tag, so it is single-slot on
a cluster. ``list_contacts(account=...)`` merges the 16 shards' indexes newest first, as for
an address (``history.py``): O(the account's contacts). Contacts an earlier version kept are
indexed once, a page per script call (``index_accounts.lua``), before the first read by
account of each process.

Notes and tags: the ``annotate`` script appends to ``m:notes`` and sets ``m:tags`` on the
flow record (meta fields, one each: ``codec.py``), nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from queues.models import Channel, Contact
from queues.redis.cluster import OnConnection, operation
from queues.redis.codec import pairs
from queues.redis.keys import (
    SHARDS,
    account_prefix,
    accounts_indexed_key,
    all_key,
    flow_key,
    shard_tag,
)
from queues.redis.scripts import Scripts, check
from queues.timeline import MAX_NOTES, NotesFull, check_note

__all__ = ["TimelineRedis"]

#: Contacts one ``index_accounts`` call reads from each list it walks.
_INDEX_PAGE = 500


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class TimelineRedis(OnConnection):
    """The timeline part of ``RedisStore``."""

    _scripts: Scripts
    #: The contact from its flow record, with its queue state (``RedisStore``'s).
    _with_queue: Callable[[str, dict[str, str]], Awaitable[Contact]]
    _accounts_indexed = False  # this process saw every shard indexed by account

    @operation
    async def annotate(
        self,
        contact_id: str,
        *,
        note: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
    ) -> Contact:
        if note is not None:
            check_note(note)
        args = [
            "" if note is None else _dumps(dict(note)),
            "" if tags is None else _dumps(list(tags)),
            str(MAX_NOTES),
        ]
        reply = await self._scripts.run("annotate", [flow_key(contact_id)], args)
        if reply[0] == "full":
            raise NotesFull(contact_id)
        check(reply, contact_id, "annotate")
        return await self._with_queue(contact_id, pairs(reply[1:]))

    async def _index_accounts(self) -> None:
        """Index by account what an earlier version kept, once (a no-op after that)."""
        if self._accounts_indexed:
            return
        lists = [str(channel) for channel in Channel]
        for shard in range(SHARDS):
            keys = [accounts_indexed_key(shard)]
            keys += [all_key(shard, channel) for channel in lists] + [all_key(shard)]
            args = [shard_tag(shard) + ":c:", account_prefix(shard), str(_INDEX_PAGE)]
            while (await self._scripts.run("index_accounts", keys, args))[0] != "done":
                pass
        self._accounts_indexed = True
