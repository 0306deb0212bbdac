"""Script calls made together, sent together: the store's auto-pipelining on one Redis.

Under load many requests run a script at the same time: each call on a connection of its
own cost a socket write and a read (system calls, and the most of a call's CPU in the
router). The calls made in one turn of the event loop are sent as one pipeline instead
(non-transactional: each script is still atomic on its own, and calls made together had no
order between them), so a crowd of concurrent messages shares writes and reads. A call
alone is sent as before. A server that lost a script (NOSCRIPT) gets it again for that
call alone; a connection that fails fails every call of the batch, each with the error it
would have had alone. Nothing is retried: a script resent after a timeout could run twice.

A Redis Cluster spreads the calls over nodes: the store does not batch there.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

__all__ = ["MAX_BATCH", "ScriptBatches"]

#: The most calls sent in one pipeline (more wait for the next one, sent at once).
MAX_BATCH = 64

_Call = tuple[AsyncScript, list[str], list[str], "asyncio.Future[Any]"]


class ScriptBatches:
    """Script calls of one event loop turn, sent as one pipeline on one connection."""

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._waiting: list[_Call] = []
        self._sending: set[asyncio.Task[None]] = set()  # kept until done (no lost tasks)
        #: Pipelines sent, and the calls in them (for tests and the bench).
        self.batches = 0
        self.calls = 0

    async def run(self, script: AsyncScript, keys: list[str], args: list[str]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((script, keys, args, future))
        if len(self._waiting) == 1:
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        for start in range(0, len(waiting), MAX_BATCH):
            task = asyncio.create_task(self._send(waiting[start : start + MAX_BATCH]))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, calls: list[_Call]) -> None:
        calls = [call for call in calls if not call[3].done()]  # a caller gone: not sent
        if not calls:
            return
        self.batches += 1
        self.calls += len(calls)
        if len(calls) == 1:
            script, keys, args, future = calls[0]
            await _settle(future, script(keys=keys, args=args))
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for script, keys, args, _ in calls:
                    pipe.evalsha(script.sha, len(keys), *keys, *args)
                replies = await pipe.execute(raise_on_error=False)
        except asyncio.CancelledError:
            for *_, future in calls:
                future.cancel()
            raise
        except Exception as exc:  # the connection failed: every call with it
            for *_, future in calls:
                if not future.done():
                    future.set_exception(exc)
            return
        for (script, keys, args, future), reply in zip(calls, replies, strict=True):
            if isinstance(reply, NoScriptError):  # the server lost it: loaded again
                await _settle(future, script(keys=keys, args=args))
            elif isinstance(reply, Exception):
                if not future.done():
                    future.set_exception(reply)
            elif not future.done():
                future.set_result(reply)


async def _settle(future: asyncio.Future[Any], call: Any) -> None:
    try:
        result = await call
    except asyncio.CancelledError:
        future.cancel()
        raise
    except Exception as exc:
        if not future.done():
            future.set_exception(exc)
        return
    if not future.done():
        future.set_result(result)
