"""The outage bench's crowd in a process of its own, so the load generator is not the
bottleneck: 10,000 callers' hold webhooks and 2,000 chats' position frames run on that
process's event loop, not on the one of the agents who are timed.

``python -m bench.outage_host`` holds simulated callers (with the stand-in for Twilio's REST
API, which must reach their calls) and chat customers, as told on stdin, one JSON object a
line; it answers on stdout the same way. Orders: ``call`` (url, n, sid, speed) and ``chat``
(url, n) answer nothing; ``status`` (callers failed, and those still in the IVR),
``snapshot`` and ``stop`` (since) answer one line each, in order. Unasked, for every
redirected call: ``{"connected": number, "at": wall time or null}`` once it was put through
(or ended without). ``Host`` is the bench's handle on one.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import sys
from typing import Any

import aiohttp

from bench.outage_crowd import ACCOUNT_SID, AUTH_TOKEN, Crowd, chat, place
from bench.outage_probe import GcPauses, LoopLag, StandIn
from bench.procs import ROOT, cpu_s
from bench.workload import BenchError

__all__ = ["Host"]

_LINE_LIMIT = 1 << 26  # a snapshot names every caller: one long line


def _send(message: dict[str, Any]) -> None:
    sys.stdout.buffer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
    sys.stdout.buffer.flush()


async def _watch(crowd: Crowd) -> None:
    """Report each redirected call once it is put through, or over without."""
    while True:
        await asyncio.sleep(0.005)
        pending = []
        for call in crowd.redirected:
            if call.connected_at is not None or call.over:
                _send({"connected": call.result.from_number, "at": call.connected_at})
            else:
                pending.append(call)
        crowd.redirected[:] = pending


def _report(
    crowd: Crowd, api: StandIn, lag: LoopLag, gcs: GcPauses, since: float, until: float
) -> dict[str, Any]:
    errors = crowd.errors()
    calls = {
        number: {
            "sid": crowd.by_number[number].call_sid,
            "updated": at,
            "fetched": crowd.by_number[number].fetched_at,
            "connected": crowd.by_number[number].connected_at,
        }
        for number, at in api.updated_at.items()
        if number in crowd.by_number
    }
    return {
        "errors": len(errors),
        "first_errors": errors[:3],
        "calls": calls,
        "lag": lag.between(since, until),
        "gc": gcs.between(since, until),
    }


async def _serve() -> None:
    api = StandIn(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    api_url = await api.start()
    lag, gcs, crowd, stop = LoopLag(), GcPauses(), Crowd(), asyncio.Event()
    lag.start()
    gcs.start()
    watcher = asyncio.create_task(_watch(crowd))
    chats: list[asyncio.Task[int]] = []
    reader = asyncio.StreamReader(limit=_LINE_LIMIT)
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    # Webhooks share a bounded pool; each chat holds a websocket of its own (a pool of
    # 512 shared with 2,000 open sockets would starve the callers).
    async with (
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=512),
            timeout=aiohttp.ClientTimeout(total=120),
        ) as session,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as sockets,
    ):
        _send({"api_url": api_url})
        since = until = 0.0
        orders = 0
        while line := await reader.readline():
            order = json.loads(line)
            op, orders = order["op"], orders + 1
            if orders % 1000 == 0 or op in ("status", "snapshot"):
                # What the crowd holds lives for the whole run: out of the collector's way.
                # A full collection over 5,000 calls stopped this loop ~0.35 s.
                gc.freeze()
            if op == "call":
                placing = place(
                    crowd, session, order["url"], api, order["n"], order["speed"], order["sid"]
                )
                crowd.tasks.append(asyncio.create_task(placing))
            elif op == "chat":
                chats.append(asyncio.create_task(chat(sockets, order["url"], order["n"], stop)))
            elif op == "status":
                _send({"failed": crowd.failed(), "in_flow": crowd.in_flow()})
            elif op == "snapshot":
                _send({"requests": crowd.requests(), "held": crowd.held()})
            elif op == "stop":
                since, until = float(order["since"]), float(order["until"])
                break
        stop.set()
        for task in crowd.tasks:
            task.cancel()
        await asyncio.gather(*crowd.tasks, return_exceptions=True)
        frames = await asyncio.gather(*chats, return_exceptions=True)
        report = _report(crowd, api, lag, gcs, since, until)
        report["chat_frames"] = sum(f for f in frames if isinstance(f, int))
        _send(report)
    watcher.cancel()
    await lag.aclose()
    await api.aclose()


class Host:
    """The bench's handle on a crowd process: ``await Host.start(name)``, orders, ``stop``."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self._proc = proc
        self.api_url = ""
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._connected: dict[str, asyncio.Future[float | None]] = {}
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, name: str) -> Host:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.outage_host",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_LINE_LIMIT,
        )
        host = cls(name, proc)
        host._reader = asyncio.create_task(host._read())
        host.api_url = (await host._reply())["api_url"]
        return host

    @property
    def pid(self) -> int:
        return self._proc.pid

    def cpu_s(self) -> float:
        return cpu_s(self._proc.pid)

    async def _read(self) -> None:
        assert self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            message = json.loads(line)
            if "connected" in message:
                future = self._future(message["connected"])
                if not future.done():
                    future.set_result(message["at"])
            else:
                self._replies.put_nowait(message)
        self._replies.put_nowait({"exited": self._proc.returncode})

    def _future(self, number: str) -> asyncio.Future[float | None]:
        if number not in self._connected:
            self._connected[number] = asyncio.get_running_loop().create_future()
        return self._connected[number]

    def _order(self, **order: Any) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(order).encode() + b"\n")

    async def _reply(self) -> dict[str, Any]:
        reply = await self._replies.get()
        if "exited" in reply:
            raise BenchError(f"outage: the crowd process {self.name} ended unasked")
        return reply

    def call(self, url: str, n: int, sid: str, speed: float) -> None:
        self._order(op="call", url=url, n=n, sid=sid, speed=speed)

    def chat(self, url: str, n: int) -> None:
        self._order(op="chat", url=url, n=n)

    async def ask(self, op: str) -> dict[str, Any]:
        """``status`` or ``snapshot``."""
        self._order(op=op)
        return await self._reply()

    async def put_through(self, number: str, timeout_s: float = 30.0) -> bool:
        """Wait until the caller ``number`` is put through (False: ended, or ``timeout_s``)."""
        with contextlib.suppress(TimeoutError):
            return (
                await asyncio.wait_for(asyncio.shield(self._future(number)), timeout_s) is not None
            )
        return False

    async def stop(self, since: float, until: float) -> dict[str, Any]:
        """Everyone hangs up; the process's report (its loop's lag and full collections
        from ``since`` to ``until``, wall clock), and it ends."""
        self._order(op="stop", since=since, until=until)
        report = await self._reply()
        await self.aclose()
        return report

    async def aclose(self) -> None:
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                if self._proc.stdin is not None:
                    self._proc.stdin.close()
                try:
                    await asyncio.wait_for(self._proc.wait(), 30)
                except TimeoutError:
                    self._proc.kill()
                    await self._proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


if __name__ == "__main__":
    asyncio.run(_serve())
