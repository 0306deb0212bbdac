"""Memory per open web chat: ``chat.ws_memory_kib_per_session``.

The server runs in a child process of its own (the real app with the web chat on a memory
store), so the figure is that process's RSS growth alone: measured after a warm-up, then
again with ``sessions`` customers connected and welcomed (hello answered), divided by
``sessions``. The baseline is a bare aiohttp websocket echo server holding as many sockets,
measured the same way in the same run. Each round starts fresh servers; the figure and
its baseline are medians of the rounds. Linux only (reads ``/proc/<pid>/status``).

``python -m bench.chat`` prints the figures; ``python -m bench.chat serve KIND`` is the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import resource
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.report import Figure
from bench.workload import BenchError

__all__ = ["figures", "measure"]

NAME = "chat.ws_memory_kib_per_session"
ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-0123456789abcdef-0123"
_WARMUP = 20
_BATCH = 100


def measure(
    sessions: int = 1000, *, rounds: int = 3, workdir: Path | None = None
) -> list[dict[str, Any]]:
    """The figure as ``{"name", "value", "unit", "baseline", "ratio"}`` dicts."""
    return [figure.to_dict() for figure in figures(sessions, rounds=rounds, workdir=workdir)]


def figures(sessions: int = 1000, *, rounds: int = 3, workdir: Path | None = None) -> list[Figure]:
    """Medians of ``rounds`` rounds, each with a fresh server of each kind (a server that
    closed sockets reuses their memory, so it cannot be measured twice)."""
    _raise_fd_limit(sessions * 2 + 256)
    measured: dict[str, list[float]] = {"webchat": [], "echo": []}
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sb-chat-")))
        for _ in range(rounds):
            for kind, kibs in measured.items():
                kibs.append(asyncio.run(_per_session_kib(kind, sessions, workdir)))
    medians = {kind: statistics.median(kibs) for kind, kibs in measured.items()}
    for kind, kib in medians.items():
        if kib <= 0:
            raise BenchError(
                f"the {kind} server's RSS did not grow with {sessions:,} sockets open "
                f"(KiB per socket in each round: {measured[kind]}); measure more sessions"
            )
    return [
        Figure(
            NAME,
            medians["webchat"],
            "KiB/session",
            baseline=medians["echo"],
            note=f"server RSS growth per open chat at {sessions:,}, median of {rounds} rounds; "
            "baseline: bare aiohttp websocket echo server holding as many sockets",
        )
    ]


# -- the parent: connect customers, read the child's RSS ---------------------------------------
async def _per_session_kib(kind: str, sessions: int, workdir: Path) -> float:
    env = {**os.environ, "SWITCHBOARD_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "bench.chat", "serve", kind, str(workdir / kind)),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        line = (await asyncio.wait_for(child.stdout.readline(), 30)).decode()
        if not line.startswith("ready "):
            raise RuntimeError(f"the {kind} server did not start (exit {child.returncode})")
        url = f"http://127.0.0.1:{int(line.split()[1])}/chat/ws"
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            warm = await _open(http, url, _WARMUP)
            for ws in warm:
                await ws.close()
            await asyncio.sleep(0.3)
            before = _rss_kib(child.pid)
            sockets = await _open(http, url, sessions)
            await asyncio.sleep(0.5)
            after = _rss_kib(child.pid)
            for ws in sockets:
                await ws.close()
        return (after - before) / sessions
    finally:
        if child.returncode is None:
            child.terminate()
            try:
                await asyncio.wait_for(child.wait(), 10)
            except TimeoutError:
                child.kill()
                await child.wait()


async def _open(
    http: aiohttp.ClientSession, url: str, count: int
) -> list[aiohttp.ClientWebSocketResponse]:
    async def one() -> aiohttp.ClientWebSocketResponse:
        ws = await http.ws_connect(url, max_msg_size=0)
        await ws.send_str(json.dumps({"type": "hello", "session": None, "language": "pl"}))
        reply = await ws.receive(timeout=30)
        if reply.type is not aiohttp.WSMsgType.TEXT:
            raise RuntimeError(f"{url} answered hello with {reply.type.name}")
        return ws

    opened: list[aiohttp.ClientWebSocketResponse] = []
    for start in range(0, count, _BATCH):
        opened += await asyncio.gather(*(one() for _ in range(min(_BATCH, count - start))))
    return opened


def _rss_kib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}; this benchmark needs Linux /proc")


def _raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


# -- the child: one server, reports its port, runs until terminated ---------------------------
async def _echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.TEXT:
            await ws.send_str(msg.data)
    return ws


async def _webchat_app(workdir: Path) -> web.Application:
    import yaml

    from queues import open_store
    from router.app.factory import create_app
    from router.app.logs import configure_logging
    from router.app.wiring import webchat_adapter
    from router.config.load import parse_config

    configure_logging(level=logging.WARNING)
    env = {"SWITCHBOARD_SECRET": SECRET}
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["channels"]["webchat"]["max_open_per_ip"] = 1 << 20  # every socket from 127.0.0.1
    config = parse_config(data, base_dir=workdir, env=env)
    store = await open_store("memory://")
    return create_app(
        config, store, adapters=lambda ctx: [webchat_adapter(ctx, env)], env=env, reaper=False
    )


async def _serve(kind: str, workdir: Path) -> None:
    if kind == "webchat":
        app = await _webchat_app(workdir)
    else:
        app = web.Application()
        app.router.add_get("/chat/ws", _echo)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    print(f"ready {runner.addresses[0][1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["serve"] and len(args) == 3 and args[1] in ("webchat", "echo"):
        _raise_fd_limit(1 << 14)
        Path(args[2]).mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args[1], Path(args[2])))
        return 0
    sessions = int(args[0]) if args else 1000
    for figure in figures(sessions):
        ratio = figure.ratio or 0.0
        print(
            f"{figure.name} {figure.value:.1f} {figure.unit} (baseline {figure.baseline:.1f}, "
            f"ratio {ratio:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
