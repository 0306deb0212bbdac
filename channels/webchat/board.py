"""Positions pushed to this process's waiting chats when their queue moves.

The router announces every queue change on the store's pub/sub (``WAKE_CHANNEL`` and
``MOVED_CHANNEL``, the payload a team), from whichever process made it. On news for a team,
the board reads that team's standings once (``Inbox.standings``: one store read, whatever
the crowd), and each local chat whose place or wait changed gets a ``queued`` frame. News
of one team is taken at most once per ``min_interval_s`` (a burst of claims is one read),
and every ``refresh_s`` all teams are read anyway, in case news was lost (a pub/sub
reconnect). The cost follows the changes and the teams, not the number of chats waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from channels.base import MOVED_CHANNEL, WAKE_CHANNEL, Inbox, Standing
from channels.webchat.outbox import PubSub
from queues import StoreUnavailable, stop_tasks

__all__ = ["QueueBoard"]

log = structlog.get_logger(__name__)

#: Told a waiting chat's standing: ``tell(standing)``.
Tell = Callable[[Standing], Awaitable[None]]


class QueueBoard:
    """The chats of this process with a contact, and the pushing of their places."""

    def __init__(
        self,
        inbox: Inbox,
        pubsub: PubSub,
        *,
        min_interval_s: float = 1.0,
        refresh_s: float = 30.0,
    ) -> None:
        self._inbox = inbox
        self._pubsub = pubsub
        self._min_interval_s = min_interval_s
        self._refresh_s = refresh_s
        self._chats: dict[str, Tell] = {}  # contact id -> its socket's tell
        self._teams: dict[str | None, asyncio.Task[None]] = {}  # a refresh under way
        self._again: set[str | None] = set()  # news came during that refresh
        self._listeners: list[asyncio.Task[None]] = []
        self.reads = 0  # standings read (tests and benchmarks count them)

    @property
    def refreshing(self) -> bool:
        """A read of standings is under way or due (news came less than
        ``min_interval_s`` ago)."""
        return bool(self._teams)

    # -- the chats -------------------------------------------------------------------------
    def watch(self, contact_id: str, tell: Tell) -> None:
        """Push ``contact_id``'s standing to ``tell`` while it is in a queue."""
        self._chats[contact_id] = tell
        if not self._listeners:
            # Started on the first chat with a contact: a process nobody chats with never
            # subscribes.
            self._listeners = [
                asyncio.create_task(self._listen(WAKE_CHANNEL)),
                asyncio.create_task(self._listen(MOVED_CHANNEL)),
                asyncio.create_task(self._refresh_every()),
            ]

    def unwatch(self, contact_id: str, tell: Tell) -> None:
        if self._chats.get(contact_id) is tell:
            del self._chats[contact_id]

    async def aclose(self) -> None:
        tasks = [*self._listeners, *self._teams.values()]
        self._listeners, self._teams = [], {}
        await stop_tasks(*tasks)

    # -- news ------------------------------------------------------------------------------
    async def _listen(self, channel: str) -> None:
        while True:
            try:
                async with self._pubsub.subscribe(channel) as news:
                    async for team in news:
                        self.moved(team)
            except StoreUnavailable as exc:
                log.warning("chat_queue_news_lost", channel=channel, error=str(exc))
            await asyncio.sleep(1.0)

    async def _refresh_every(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            if self._chats:
                self.moved(None)

    def moved(self, team: str | None) -> None:
        """``team``'s queue moved (None: look at every team)."""
        if not self._chats:
            return
        if team in self._teams:
            self._again.add(team)
            return
        self._teams[team] = asyncio.create_task(self._refresh(team))

    async def _refresh(self, team: str | None) -> None:
        try:
            while True:
                self._again.discard(team)
                try:
                    await self._push(team)
                except StoreUnavailable as exc:
                    log.info("chat_positions_unavailable", team=team, error=str(exc))
                await asyncio.sleep(self._min_interval_s)
                if team not in self._again:
                    return
        finally:
            self._teams.pop(team, None)

    async def _push(self, team: str | None) -> None:
        self.reads += 1
        standings = await self._inbox.standings(team)
        for contact_id, standing in standings.items():
            tell = self._chats.get(contact_id)
            if tell is not None:
                await tell(standing)
