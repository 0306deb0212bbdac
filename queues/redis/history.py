"""Reads of the Redis store that span tags: contact lists, one contact's events, all events.

Contacts are spread over the shards and queue events over the teams, so these reads merge:
contact lists newest first across the shards' indexes; events by time across streams,
keeping each stream's own order (a process whose clock runs behind can record an event
with an earlier time than the one before it in the same stream, never out of its order).
A read of some kinds of events is filtered on the server (the 'events' script), a page of
each stream at a time, so only those events cross the wire.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import cast

from queues.base import MESSAGE_EVENT_KINDS, message_event_kind
from queues.errors import ContactNotFound
from queues.models import Channel, Contact, Direction, Event, Message
from queues.redis.codec import LIVE, decode_contact, decode_event, entry_refs
from queues.redis.keys import (
    SHARDS,
    TEAMS_KEY,
    account_key,
    address_key,
    all_key,
    contact_events_key,
    entry_key,
    flow_key,
    leased_key,
    queued_key,
    shard_events_key,
    team_events_key,
)
from queues.redis.locate import Locator
from queues.redis.messages import is_message
from queues.redis.scripts import Client, Scripts
from queues.redis.texts import Texts

__all__ = ["History"]

#: States whose contacts each team indexes: list them from there.
_BY_TEAM_INDEX = {"waiting": queued_key, "assigned": leased_key}
_PAGE = 256  # contacts or events read per command when scanning
_FEW = 16  # the fewest contacts a list reads at once
_FILTERED_PAGE = 2_000  # events a server-side filter reads per call (a short script)


def split_history(stored: Sequence[str]) -> tuple[list[str], list[str]]:
    """A contact's history list as its messages and its event references."""
    messages = [item for item in stored if is_message(item)]
    refs = [item for item in stored if not is_message(item)]
    return messages, refs


def _message_event(contact_id: str, message: Message) -> Event:
    """The event that records ``message``: derived from it, never stored."""
    out = message.direction is Direction.OUT
    return Event(
        contact_id,
        message_event_kind(message),
        at=message.at,
        agent=message.author if out else None,
        data={"message_id": message.id},
    )


def _by_time(sequences: Iterable[list[Event]]) -> list[Event]:
    # Each sequence keeps its order; between sequences the earlier time goes first, and
    # on equal times the earlier sequence (contact events before queue events).
    return list(heapq.merge(*sequences, key=lambda event: event.at))


class History:
    """list_contacts, events and list_events."""

    def __init__(self, client: Client, locator: Locator, scripts: Scripts, texts: Texts) -> None:
        self._redis = client
        self._locator = locator
        self._scripts = scripts
        self._texts = texts

    # -- contacts ----------------------------------------------------------------------------
    async def contacts(self, ids: Sequence[str]) -> list[Contact]:
        """The contacts with these ids (those that exist), in order, without messages."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for contact_id in ids:
                pipe.hgetall(flow_key(contact_id))
            flows: list[dict[str, str]] = await pipe.execute()
        queued = {
            cid: self._locator.cached(cid) or flow["q"]
            for cid, flow in zip(ids, flows, strict=True)
            if "q" in flow
        }
        async with self._redis.pipeline(transaction=False) as pipe:
            for cid, hint in queued.items():
                pipe.hgetall(entry_key(hint, cid))
            entries = dict(zip(queued, await pipe.execute(), strict=True))
        found = []
        for cid, flow in zip(ids, flows, strict=True):
            if not flow:
                continue
            entry, team = entries.get(cid, {}), queued.get(cid)
            if team is not None and entry.get("st") not in LIVE:  # moved on: look for it
                where = await self._locator.find(cid)
                flow, team, entry = where.flow, where.team, where.entry
            found.append(decode_contact(cid, flow, team, entry))
        return found

    async def _newest(self, indexes: list[str], size: int = _PAGE) -> AsyncIterator[str]:
        """Ids from several (created_at -> id) indexes, newest first, ties by id, read
        ``size`` at a time from each."""
        offsets = dict.fromkeys(indexes, 0)
        heads: dict[str, list[tuple[str, float]]] = {}
        empty = list(indexes)
        while True:
            if empty:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for index in empty:
                        pipe.zrevrange(
                            index, offsets[index], offsets[index] + size - 1, withscores=True
                        )
                    pages = await pipe.execute()
                for index, page in zip(empty, pages, strict=True):
                    if page:
                        heads[index] = [(str(cid), float(score)) for cid, score in page][::-1]
                        offsets[index] += len(page)
                empty = []
            if not heads:
                return
            index = max(heads, key=lambda i: (heads[i][-1][1], heads[i][-1][0]))
            cid, _ = heads[index].pop()
            if not heads[index]:
                del heads[index]
                empty = [index]
            yield cid

    async def list_contacts(
        self,
        *,
        channel: str | None,
        state: str | None,
        team: str | None,
        address: str | None,
        limit: int,
        account: str | None = None,
    ) -> list[Contact]:
        if state in _BY_TEAM_INDEX and address is None and account is None:
            return await self._in_queues(state, channel=channel, team=team, limit=limit)
        if account is not None:  # the shards' indexes by account (timeline.py)
            indexes = [account_key(s, account) for s in range(SHARDS)]
        elif address is not None:
            indexes = [address_key(s, address) for s in range(SHARDS)]
        else:
            channels = [channel] if channel is not None else [str(c) for c in Channel]
            indexes = [all_key(s, c) for s in range(SHARDS) for c in channels]
            indexes += [all_key(s) for s in range(SHARDS)]  # kept by earlier versions
        found: list[Contact] = []
        batch: list[str] = []

        async def flush() -> None:
            for contact in await self.contacts(batch):
                if (
                    (channel is None or contact.channel == channel)
                    and (state is None or contact.state == state)
                    and (team is None or contact.team == team)
                    and (address is None or contact.address == address)
                    and (account is None or contact.account == account)
                ):
                    found.append(contact)
            batch.clear()

        async for cid in self._newest(indexes, min(_PAGE, max(limit, _FEW))):
            batch.append(cid)
            # Read about as many as are still wanted (a join asks for 21 at an address that
            # may hold thousands), more when a filter drops some.
            if len(batch) >= min(_PAGE, max(limit - len(found), _FEW)):
                await flush()
                if len(found) >= limit:
                    break
        if batch and len(found) < limit:
            await flush()
        return found[:limit]

    async def _in_queues(
        self, state: str, *, channel: str | None, team: str | None, limit: int
    ) -> list[Contact]:
        """Waiting or assigned contacts from the teams' queue indexes (waiting, leased):
        the read follows the crowd there now, not every contact of every day."""
        index = _BY_TEAM_INDEX[state]
        teams = [team] if team is not None else sorted(await self._redis.smembers(TEAMS_KEY))
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in teams:
                pipe.zrange(index(str(name)), 0, -1)
            ids = [str(cid) for page in await pipe.execute() for cid in page]
        found: list[Contact] = []
        for start in range(0, len(ids), _PAGE):
            for contact in await self.contacts(ids[start : start + _PAGE]):
                if contact.state == state and (channel is None or contact.channel == channel):
                    found.append(contact)
        found.sort(key=lambda c: (c.created_at, c.id), reverse=True)
        return found[:limit]

    # -- events ------------------------------------------------------------------------------
    async def events(self, contact_id: str) -> tuple[list[Event], list[Message]]:
        """One contact's events, merged by time, and its messages."""
        where = await self._locator.find(contact_id, history=True)
        if not where.flow:
            raise ContactNotFound(contact_id)
        stored_messages, refs = split_history(where.history)
        messages = iter(await self._texts.messages(stored_messages, contact_id))
        queue_refs = entry_refs(where.team, where.entry) if where.team else []
        async with self._redis.pipeline(transaction=False) as pipe:
            for ref in refs:
                pipe.xrange(contact_events_key(contact_id), ref, ref)
            for team, ref in queue_refs:
                pipe.xrange(team_events_key(team), ref, ref)
            rows = cast(list[list[tuple[str, dict[str, str]]]], await pipe.execute())
        stored = iter(decode_event(*row[0]) if row else None for row in rows[: len(refs)])
        # The contact's own events in recording order: its stream's events where the
        # history refers to them, a message event derived from each message where it is.
        contact_events: list[Event] = []
        kept: list[Message] = []
        for item in where.history:
            if is_message(item):
                kept.append(next(messages))
                contact_events.append(_message_event(contact_id, kept[-1]))
            elif (event := next(stored)) is not None and event.kind not in MESSAGE_EVENT_KINDS:
                contact_events.append(event)  # (an older store also streamed message events)
        queue_events = [decode_event(*row[0]) for row in rows[len(refs) :] if row]
        return _by_time([contact_events, queue_events]), kept

    async def list_events(self, *, since: float | None, kinds: Iterable[str] | None) -> list[Event]:
        teams = await self._locator.teams(refresh=True)
        streams = [shard_events_key(s) for s in range(SHARDS)]
        streams += [team_events_key(team) for team in teams]
        # A stream id is never below its event's time, so starting at `since` misses
        # nothing; the exact filter is on the event's own time.
        first = "-" if since is None else str(math.floor(since * 1000))
        if kinds is not None:
            wanted = sorted(set(kinds) - MESSAGE_EVENT_KINDS)
            found = await asyncio.gather(
                *(self._filtered(stream, first, since, wanted) for stream in streams)
            )
            return _by_time(found)
        return await self._everything(streams, first, since)

    async def _filtered(
        self, stream: str, start: str, since: float | None, kinds: list[str]
    ) -> list[Event]:
        """The stream's events of ``kinds`` at or after ``since``, filtered by the server."""
        found: list[Event] = []
        after = "" if since is None else repr(since)
        while kinds:
            args = [start, str(_FILTERED_PAGE), after, *kinds]
            last, read, *kept = await self._scripts.run("events", [stream], args)
            found += [
                decode_event(str(entry_id), dict(zip(f[::2], f[1::2], strict=True)))
                for entry_id, f in zip(kept[::2], kept[1::2], strict=True)
            ]
            if int(read) < _FILTERED_PAGE:
                break
            start = "(" + str(last)
        return found

    async def _everything(self, streams: list[str], first: str, since: float | None) -> list[Event]:
        starts = dict.fromkeys(streams, first)
        found: dict[str, list[Event]] = {stream: [] for stream in streams}
        while starts:
            async with self._redis.pipeline(transaction=False) as pipe:
                for stream, start in starts.items():
                    pipe.xrange(stream, start, "+", count=_PAGE)
                pages = cast(list[list[tuple[str, dict[str, str]]]], await pipe.execute())
            next_starts: dict[str, str] = {}
            for stream, entries in zip(starts, pages, strict=True):
                for entry_id, fields in entries:
                    event = decode_event(entry_id, fields)
                    if (since is None or event.at >= since) and (
                        event.kind not in MESSAGE_EVENT_KINDS
                    ):
                        found[stream].append(event)
                if len(entries) == _PAGE:
                    next_starts[stream] = "(" + entries[-1][0]
            starts = next_starts
        return _by_time(found[stream] for stream in streams)
