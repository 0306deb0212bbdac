"""A customer's erase request in the Redis store (``queues/erase.py``).

The contact's flow record and history are read, each message is decoded (a prompt kept as a
template is filled first) and encoded again erased, as plain text; the ``erase`` script then
writes the new entries, address and meta in one step on the contact's shard, provided what
was read is still there (only another erase changes a history entry: appends go to the end).
"""

from __future__ import annotations

from collections.abc import Collection

from queues.erase import changed, check_erase, erased_contact, erased_message
from queues.errors import ContactNotFound, StoreUnavailable
from queues.redis.cluster import OnConnection, operation
from queues.redis.codec import decode_contact, meta_fields
from queues.redis.keys import address_key, flow_key, history_key, shard_of
from queues.redis.messages import encode_message, is_message
from queues.redis.scripts import Scripts, check
from queues.redis.texts import Texts

__all__ = ["EraseRedis"]

#: Reads again when another erase of the same contact came in between.
_ATTEMPTS = 5


class EraseRedis(OnConnection):
    """The erase part of ``RedisStore``."""

    _scripts: Scripts
    _texts: Texts

    @operation
    async def erase_contact(
        self, contact_id: str, *, address: str, text: str, keep_meta: Collection[str] = ()
    ) -> int:
        check_erase(address, text)
        for _ in range(_ATTEMPTS):
            rewritten = await self._erase_once(contact_id, address, text, keep_meta)
            if rewritten is not None:
                return rewritten
        raise StoreUnavailable(
            f"contact {contact_id} changed {_ATTEMPTS} times while it was erased; try again"
        )

    async def _erase_once(
        self, contact_id: str, address: str, text: str, keep: Collection[str]
    ) -> int | None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(flow_key(contact_id))
            pipe.lrange(history_key(contact_id), 0, -1)
            flow, history = await pipe.execute()
        if not flow:
            raise ContactNotFound(contact_id)
        flow = {str(k): str(v) for k, v in flow.items()}
        history = [str(item) for item in history]
        # Messages (messages.py), and event refs.
        at = [i for i, item in enumerate(history) if is_message(item)]
        messages = await self._texts.messages([history[i] for i in at], contact_id)
        triples: list[str] = []
        for index, before in zip(at, messages, strict=True):
            after = erased_message(before, text, keep)
            if changed(before, after):
                triples += [str(index), history[index], encode_message(after, None, contact_id)]
        erased = erased_contact(decode_contact(contact_id, flow), address, keep)
        shard, read = shard_of(contact_id), flow["ad"]
        keys = [flow_key(contact_id), history_key(contact_id)]
        keys += [address_key(shard, read), address_key(shard, address)]
        args = [contact_id, address, read, str(len(triples) // 3), *triples]
        reply = await self._scripts.run("erase", keys, args + meta_fields(erased.meta))
        if reply[0] == "changed":
            return None
        check(reply, contact_id, "erase_contact")
        return len(triples) // 3
