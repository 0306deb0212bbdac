"""The outage day: two `switchboard run` processes on one redis-server, a crowd of callers on
hold and of chats waiting, agents claiming and resolving through both processes.

The callers are the IVR simulator's (``ivr.simulator``), with its stand-in for Twilio's REST
API, so a claim redirects the caller's live call as Twilio would; chats are real websockets.
Both are played by crowd processes of their own (``bench.outage_host``), so that the
agents, timed here, share no event loop with the crowd. They arrive at ``arrivals_per_s``
(the fill, measured too: the rate reached and the routers' CPU-ms per contact queued); after
everyone is queued, a window of ``window_s`` is measured:

- webhook requests per waiting caller per minute (the goal: ≤ 1.5; polling every 5 s: 12);
- router CPU seconds per 1,000 waiting contacts per minute, from /proc (goal ≤ 3 s);
- claim → caller connected, p99 (goal ≤ 1 s): from the agent's claim answer to the
  simulated call's ``<Dial>``;
- Redis memory per waiting contact (goal ≤ 2 KiB) and contacts lost (must be 0).

These figures carry targets, not baselines: their reference is the goal the issue set.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from bench import procs
from bench.outage_crowd import agent
from bench.outage_host import Host
from bench.outage_probe import (
    LoopLag,
    RouterProbe,
    Stamps,
    fill_stamps,
    where_it_goes,
)
from bench.outage_setup import key_breakdown, routers
from bench.procs import ROOT, Server, cpu_s
from bench.report import Figure
from bench.workload import BenchError
from ivr.simulator import new_call_sid, percentile
from queues import Store, open_store

__all__ = ["FULL_OUTAGE", "QUICK_OUTAGE", "OutageSizes", "run_outage"]


@dataclass(frozen=True, slots=True)
class OutageSizes:
    calls: int
    chats: int
    agents: int
    window_s: float
    fill_timeout_s: float
    arrivals_per_s: float  # callers and chats arriving while the crowd builds
    handle_s: float  # how long an agent works on a contact before resolving it
    speed: float = 1.0  # call seconds per real second of the callers (quick runs: faster)
    baseline_calls: int = 300  # callers held by a third router that polls: the baseline
    # At most this many callers in the IVR at once: past it the fill waits (a slower day
    # on the machine lowers the arrival rate reached instead of dropping callers).
    max_in_ivr: int = 300


#: 60 arrivals a second is what two routers on a 2-core machine take while this process
#: plays 10,000 callers: at 150 a second thousands of webhooks passed the routers' 5 s
#: ingest deadline (503), so callers got Twilio's application error and hung up.
FULL_OUTAGE = OutageSizes(
    10_000, 2_000, 50, window_s=60.0, fill_timeout_s=900, arrivals_per_s=60, handle_s=5.0
)
#: A smoke run: callers live 10x faster, so their 45 s announcements come in a short
#: window; its CPU figure is per real minute and so not comparable with a full run's.
QUICK_OUTAGE = OutageSizes(
    200,
    20,
    4,
    window_s=10.0,
    fill_timeout_s=120,
    arrivals_per_s=100,
    handle_s=1.0,
    speed=10,
    baseline_calls=30,
)
#: Callers of the polling baseline are numbered from here (the crowd's below it).
_BASELINE_FROM = 5_000_000


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise BenchError(f"outage: {what} did not happen in {timeout_s:g} s")
        await asyncio.sleep(0.5)


async def run_outage(sizes: OutageSizes, workdir: Path) -> list[Figure]:
    callers = await Host.start("callers")
    try:
        chatters = await Host.start("chats")
        try:
            with procs.redis_server(workdir / "redis", appendonly=False) as url:
                return await _outage(sizes, workdir, url, callers, chatters)
        finally:
            await chatters.aclose()
    finally:
        await callers.aclose()


@dataclass
class _Run:
    """What the bench's side of one run holds: the routers, the store, the crowd processes,
    the agents."""

    sizes: OutageSizes
    routers: list[Server]  # A and B
    polling: Server  # C
    store: Store
    redis: Redis
    session: aiohttp.ClientSession  # the agents' API calls
    callers: Host  # the simulated calls and the REST stand-in, which redirects them
    chatters: Host
    claims: list[Stamps] = field(default_factory=list)  # voice claims in the window
    lag: LoopLag = field(default_factory=LoopLag)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    agents: list[asyncio.Task[None]] = field(default_factory=list)

    def router_cpu_s(self) -> float:
        return sum(cpu_s(r.pid) for r in self.routers)

    def call_in(self, router: Server, n: int) -> None:
        self.callers.call(router.url, n, new_call_sid(), self.sizes.speed)

    async def waiting(self) -> int:
        return (await self.store.queue_stats(["technical"]))[0].waiting

    async def stop_all(self, since: float, until: float) -> tuple[dict[str, Any], dict[str, Any]]:
        """Agents stop, then everyone hangs up: the crowd processes' reports (on the
        window from ``since`` to ``until``)."""
        self.stop.set()
        await asyncio.gather(*self.agents, return_exceptions=True)
        return await self.callers.stop(since, until), await self.chatters.stop(since, until)


@dataclass(frozen=True, slots=True)
class _Filled:
    seconds: float
    router_cpu_s: float
    waiting: int
    memory_per_contact: float
    paused_s: float  # arrivals waited for the callers in the IVR


#: The fill looks at the callers still in the IVR every this many arrivals.
_LOOK_EVERY = 50


async def _backlog_drained(run: _Run, sizes: OutageSizes) -> float:
    """Wait while more callers are in the IVR than ``sizes.max_in_ivr`` (the routers are
    behind: arrivals at a fixed rate would overload them, and the bench measures a crowd
    waiting, not an overload); the seconds waited."""
    waited = 0.0
    while int((await run.callers.ask("status"))["in_flow"]) > sizes.max_in_ivr:
        await asyncio.sleep(0.25)
        waited += 0.25
    return waited


async def _fill(run: _Run, memory_before: int) -> _Filled:
    """Callers and chats arrive at ``arrivals_per_s``, alternately through A and B, then the
    baseline's callers through C; done when every one of them waits in the queue. Arrivals
    wait while more than ``max_in_ivr`` callers are still in the IVR."""
    sizes = run.sizes
    arrivals = [("call", n) for n in range(sizes.calls)]
    arrivals += [("chat", n) for n in range(sizes.chats)]
    arrivals.sort(key=lambda a: a[1] / (sizes.calls if a[0] == "call" else sizes.chats))
    cpu0, t0 = run.router_cpu_s(), time.monotonic()
    start, paused_s = t0, 0.0
    for i, (kind, n) in enumerate(arrivals):
        router = run.routers[n % 2]
        if kind == "call":
            run.call_in(router, n)
        else:
            run.chatters.chat(router.url, sizes.calls + n)
        if i % _LOOK_EVERY == _LOOK_EVERY - 1:
            paused_s += await _backlog_drained(run, sizes)
        # Paced on the clock, not by sleeping a fixed step: a slow loop does not slow
        # arrivals (a backlog does: the time waited for it is not made up).
        due = start + paused_s + (i + 1) / sizes.arrivals_per_s
        await asyncio.sleep(max(0.0, due - time.monotonic()))
    # The baseline's callers queue last, so agents reach few of them in the window.
    for n in range(sizes.baseline_calls):
        run.call_in(run.polling, _BASELINE_FROM + n)
    expected = sizes.calls + sizes.chats + sizes.baseline_calls

    async def all_waiting() -> bool:
        failed = int((await run.callers.ask("status"))["failed"])
        return await run.waiting() + failed >= expected

    await _until(all_waiting, sizes.fill_timeout_s, "every contact queued")
    seconds, router_cpu = time.monotonic() - t0, run.router_cpu_s() - cpu0
    waiting = await run.waiting()
    memory_now = int((await run.redis.info("memory"))["used_memory"])
    if os.environ.get("OUTAGE_KEYS"):  # where the memory goes, by kind of key
        print(await key_breakdown(run.redis, waiting))
    memory = (memory_now - memory_before) / waiting
    return _Filled(seconds, router_cpu, waiting, memory, paused_s)


@dataclass(frozen=True, slots=True)
class _Window:
    seconds: float
    router_cpu_s: float
    holding: int  # callers on pushed hold all through the window (A and B)
    requests: int  # their webhook requests in the window
    polled_holding: int  # the baseline's, on C
    polled_requests: int
    started_at: float  # wall clock
    ended_at: float
    bench_cpu_s: dict[str, float]  # each bench process's, in the window


async def _window(run: _Run, tokens: list[str]) -> _Window:
    """The measured window: the crowd holds; agents claim and resolve through A and B."""
    sizes = run.sizes
    hosts = {"agents": os.getpid(), "callers": run.callers.pid, "chats": run.chatters.pid}
    requests0 = (await run.callers.ask("snapshot"))["requests"]
    await run.chatters.ask("snapshot")  # it settles its heap (gc.freeze), as the callers do
    gc.freeze()
    cpu0, t0, wall0 = run.router_cpu_s(), time.monotonic(), time.time()
    bench_cpu0 = {name: cpu_s(pid) for name, pid in hosts.items()}
    run.agents += [
        asyncio.create_task(
            agent(
                run.session,
                run.routers,
                token,
                run.stop,
                run.claims,
                sizes.handle_s,
                run.callers.put_through,
            )
        )
        for token in tokens[: sizes.agents]
    ]
    await asyncio.sleep(sizes.window_s)
    seconds, router_cpu = time.monotonic() - t0, run.router_cpu_s() - cpu0
    bench_cpu = {name: cpu_s(pid) - bench_cpu0[name] for name, pid in hosts.items()}
    wall1 = time.time()
    # What waiting costs: the webhooks of callers on hold all through the window (a claimed
    # caller's redirect is the connection, not waiting).
    snapshot = await run.callers.ask("snapshot")
    requests1, held = snapshot["requests"], snapshot["held"]
    pushed = [n for n in held if int(n[5:]) < _BASELINE_FROM]
    polled = [n for n in held if int(n[5:]) >= _BASELINE_FROM]
    return _Window(
        seconds,
        router_cpu,
        len(pushed),
        sum(requests1[n] - requests0.get(n, 0) for n in pushed),
        len(polled),
        sum(requests1[n] - requests0.get(n, 0) for n in polled),
        wall0,
        wall1,
        bench_cpu,
    )


async def _outage(
    sizes: OutageSizes, workdir: Path, url: str, callers: Host, chatters: Host
) -> list[Figure]:
    everyone = routers(sizes.agents, workdir, url, callers.api_url)
    store = await open_store(url)
    redis = Redis.from_url(url)
    memory_before = int((await redis.info("memory"))["used_memory"])
    with contextlib.ExitStack() as stack:
        for server in everyone:  # one after another, each ready before the next
            stack.enter_context(procs.running(server, ROOT))
        tokens = list(procs.demo_tokens(everyone[0]).values())
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=512), timeout=aiohttp.ClientTimeout(total=120)
        ) as session:
            run = _Run(sizes, everyone[:2], everyone[2], store, redis, session, callers, chatters)
            probe = RouterProbe({r.name: r.url for r in run.routers})
            run.lag.start()
            probe.start()
            window: _Window | None = None
            try:
                filled = await _fill(run, memory_before)
                window = await _window(run, tokens)
            finally:
                span = (window.started_at, window.ended_at) if window else (0.0, 0.0)
                called, chatted = await run.stop_all(*span)
                await run.lag.aclose()
                probe.close()
    logs = workdir / "logs"
    delays = fill_stamps(run.claims, called["calls"], [logs / f"{r.name}.out" for r in run.routers])
    t0, t1 = window.started_at, window.ended_at
    lags = {"agents": run.lag.between(t0, t1), "callers": called["lag"], "chats": chatted["lag"]}
    shares = {name: window.bench_cpu_s[name] / (t1 - t0) for name in lags}
    print(where_it_goes(lags, shares, called["gc"], probe, (t0, t1), logs, run.claims))
    if os.environ.get("OUTAGE_LOGS"):  # the routers' logs, kept for a closer look
        shutil.copytree(logs, os.environ["OUTAGE_LOGS"], dirs_exist_ok=True)
    lost = int(called["errors"])
    contacts = len(await store.list_contacts(channel="voice", limit=sizes.calls + 10))
    await store.aclose()
    await redis.aclose()
    lost += max(0, sizes.calls - contacts)
    claimed = len(run.claims)
    return _figures(sizes, filled, window, delays, claimed, lost, called["first_errors"][:1])


def _figures(
    sizes: OutageSizes,
    filled: _Filled,
    window: _Window,
    delays_s: list[float],
    claimed: int,
    lost: int,
    errors: list[str],
) -> list[Figure]:
    if not delays_s:
        raise BenchError("outage: no voice call was claimed in the window")
    minutes = window.seconds / 60
    call_minutes = minutes * sizes.speed  # the callers' own time
    crowd = filled.waiting - sizes.baseline_calls  # waiting on A and B
    per_caller_minute = window.requests / max(window.holding, 1) / call_minutes
    polled_per_caller_minute = window.polled_requests / max(window.polled_holding, 1) / call_minutes
    return [
        Figure(
            "outage.fill_arrivals_per_s",
            (sizes.calls + sizes.chats) / filled.seconds,
            "contacts/s",
            note=f"{sizes.calls} callers and {sizes.chats} chats arriving at "
            f"{sizes.arrivals_per_s:g}/s (at most {sizes.max_in_ivr} callers in the IVR: "
            f"waited {filled.paused_s:.0f} s), queued in {filled.seconds:.0f} s",
        ),
        Figure(
            "outage.fill_router_cpu_ms_per_queued_contact",
            max(filled.router_cpu_s * 1000 / max(crowd, 1), 1e-6),
            "CPU-ms",
            note="A and B while the crowd built up: the IVR or chat flow to the queue, "
            "and holding those already queued",
        ),
        Figure(
            "outage.webhooks_per_waiting_caller_per_min",
            max(per_caller_minute, 1e-6),
            "req/caller/min",
            max(polled_per_caller_minute, 1e-6),
            note=(
                f"{window.holding} callers on hold all through; baseline: "
                f"{window.polled_holding} held by a third router that polls (hold: poll)"
            ),
            target=1.5,
        ),
        Figure(
            "outage.router_cpu_s_per_1000_waiting_per_min",
            max(window.router_cpu_s / (crowd / 1000) / minutes, 1e-6),
            "CPU s",
            note=f"A and B, {crowd} waiting on them ({sizes.calls} calls, {sizes.chats} chats)",
            target=3.0,
        ),
        Figure(
            "outage.claim_to_connected_p99_s",
            max(percentile(delays_s, 99), 1e-6),
            "s",
            note=f"from the claim in the router; {len(delays_s)} voice claims by "
            f"{sizes.agents} agents through A and B "
            f"(a 5 s wrap-up after each resolve); {claimed - len(delays_s)} not put through",
            target=1.0,
        ),
        Figure(
            "outage.redis_bytes_per_waiting_contact",
            filled.memory_per_contact,
            "bytes",
            note="used_memory growth / contacts waiting",
            target=2048,
        ),
        Figure(
            "outage.contacts_lost_plus_one",
            lost + 1,
            "contacts",
            note="calls that failed or left no contact, + 1 (figures are > 0): must be 1"
            + "".join(f"; the first: {e[:200]}" for e in errors),
            target=1,
        ),
    ]
