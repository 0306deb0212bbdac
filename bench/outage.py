"""The outage day: two `switchboard run` processes on one redis-server, a crowd of callers on
hold and of chats waiting, agents claiming and resolving through both processes.

The callers are the IVR simulator's (``ivr.simulator``) in this process, with its stand-in
for Twilio's REST API, so a claim redirects the caller's live call as Twilio would; chats
are real websockets. They arrive at ``arrivals_per_s`` (the fill, measured too: the rate
reached and the routers' CPU-ms per contact queued); after everyone is queued, a window of
``window_s`` is measured:

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
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import yaml
from redis.asyncio import Redis

from bench import procs
from bench.outage_crowd import ACCOUNT_SID, AUTH_TOKEN, Crowd, agent, chat, place
from bench.procs import ROOT, Server, cpu_s
from bench.report import Figure
from bench.workload import BenchError
from ivr.simulator import Outcome, TwilioApi, percentile
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


def _config(
    path: Path, *, data_dir: Path, public_url: str, api_url: str, agents: int, hold: str = "push"
) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["data_dir"] = str(data_dir)
    data["accounts"]["file"] = str(data_dir / "accounts.json")
    data["agents"]["file"] = str(data_dir / "agents.json")
    teams = ["billing", "technical", "domains_hosting"]
    data["agents"]["demo"] = [{"name": f"agent{n:03d}", "teams": teams} for n in range(agents)]
    data["http"]["public_url"] = public_url
    twilio = data["channels"]["twilio"]
    twilio.update(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, api_base_url=api_url, hold=hold)
    data["channels"]["email"]["addresses"] = []  # no SMTP servers: not measured here
    # An outage desk cuts after-call work short (the default is 30 s): agents take more
    # contacts in the window, and the claim -> connected p99 is over ~5x more claims.
    data.setdefault("desk", {})["wrap_up_s"] = 5
    # Every simulated customer comes from 127.0.0.1: lift the per-address flood caps.
    data["channels"]["webchat"].update(max_open_per_ip=1 << 20, new_contacts_per_minute=1 << 20)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


async def _key_breakdown(redis: Redis, waiting: int) -> str:
    """Redis memory by kind of key (the part after the hash tag), per waiting contact."""
    used_by: dict[str, list[int]] = {}
    async for key in redis.scan_iter(count=1000):
        name = key.decode()
        tail = name.split("}", 1)[1] if "}" in name else name
        kind = [*tail.split(":"), "", ""][1] or name[:12]
        used_by.setdefault(kind, []).append(await redis.memory_usage(key) or 0)
    rows = sorted(used_by.items(), key=lambda kv: -sum(kv[1]))
    return "\n".join(
        f"  {kind:14} {len(used):7} keys {sum(used) / waiting:9.0f} bytes per waiting contact"
        for kind, used in rows
    )


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise BenchError(f"outage: {what} did not happen in {timeout_s:g} s")
        await asyncio.sleep(0.5)


async def run_outage(sizes: OutageSizes, workdir: Path) -> list[Figure]:
    api = TwilioApi(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    api_url = await api.start()
    try:
        with procs.redis_server(workdir / "redis", appendonly=False) as url:
            return await _outage(sizes, workdir, url, api, api_url)
    finally:
        await api.aclose()


def _routers(sizes: OutageSizes, workdir: Path, url: str, api_url: str) -> list[Server]:
    """A and B (pushed hold, measured) and C (polling hold, the baseline)."""
    os.environ.setdefault("SWITCHBOARD_SECRET", secrets.token_urlsafe(24))
    everyone = []
    for name, hold in (("a", "push"), ("b", "push"), ("c", "poll")):
        port = procs.free_port()
        config = _config(
            workdir / name / "config.yaml",
            data_dir=workdir / "var",
            public_url=f"http://127.0.0.1:{port}",
            api_url=api_url,
            agents=sizes.agents,
            hold=hold,
        )
        env = {"SWITCHBOARD_SECRET": os.environ["SWITCHBOARD_SECRET"]}
        everyone.append(procs.demo_router(name, config, url, workdir / "logs", port, env))
    return everyone


@dataclass
class _Run:
    """What the crowd's side of one run holds: the routers, the store, the clients."""

    sizes: OutageSizes
    routers: list[Server]  # A and B
    polling: Server  # C
    store: Store
    redis: Redis
    session: aiohttp.ClientSession  # webhooks and the agents' API calls
    sockets: aiohttp.ClientSession  # one websocket per chat
    api: TwilioApi  # the stand-in for Twilio's REST API, which redirects claimed calls
    crowd: Crowd = field(default_factory=Crowd)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    chats: list[asyncio.Task[int]] = field(default_factory=list)
    agents: list[asyncio.Task[None]] = field(default_factory=list)

    def router_cpu_s(self) -> float:
        return sum(cpu_s(r.pid) for r in self.routers)

    def call_in(self, router: Server, n: int) -> None:
        placing = place(self.crowd, self.session, router, self.api, n, self.sizes.speed)
        self.crowd.tasks.append(asyncio.create_task(placing))

    async def waiting(self) -> int:
        return (await self.store.queue_stats(["technical"]))[0].waiting

    async def stop_all(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.agents, return_exceptions=True)
        for task in self.crowd.tasks:
            task.cancel()
        await asyncio.gather(*self.crowd.tasks, return_exceptions=True)
        await asyncio.gather(*self.chats, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class _Filled:
    seconds: float
    router_cpu_s: float
    waiting: int
    memory_per_contact: float


async def _fill(run: _Run, memory_before: int) -> _Filled:
    """Callers and chats arrive at ``arrivals_per_s``, alternately through A and B, then the
    baseline's callers through C; done when every one of them waits in the queue."""
    sizes = run.sizes
    arrivals = [("call", n) for n in range(sizes.calls)]
    arrivals += [("chat", n) for n in range(sizes.chats)]
    arrivals.sort(key=lambda a: a[1] / (sizes.calls if a[0] == "call" else sizes.chats))
    cpu0, t0 = run.router_cpu_s(), time.monotonic()
    for i, (kind, n) in enumerate(arrivals):
        router = run.routers[n % 2]
        if kind == "call":
            run.call_in(router, n)
        else:
            run.chats.append(asyncio.create_task(chat(run.sockets, router, run.stop)))
        # Paced on the clock, not by sleeping a fixed step: a slow loop does not slow arrivals.
        await asyncio.sleep(max(0.0, t0 + (i + 1) / sizes.arrivals_per_s - time.monotonic()))
    # The baseline's callers queue last, so agents reach few of them in the window.
    for n in range(sizes.baseline_calls):
        run.call_in(run.polling, _BASELINE_FROM + n)
    expected = sizes.calls + sizes.chats + sizes.baseline_calls

    async def all_waiting() -> bool:
        crowd = run.crowd
        failed = sum(1 for c in crowd.calls if c.over and c.result.outcome is Outcome.ERROR)
        return await run.waiting() + failed >= expected

    await _until(all_waiting, sizes.fill_timeout_s, "every contact queued")
    seconds, router_cpu = time.monotonic() - t0, run.router_cpu_s() - cpu0
    waiting = await run.waiting()
    memory_now = int((await run.redis.info("memory"))["used_memory"])
    if os.environ.get("OUTAGE_KEYS"):  # where the memory goes, by kind of key
        print(await _key_breakdown(run.redis, waiting))
    return _Filled(seconds, router_cpu, waiting, (memory_now - memory_before) / waiting)


@dataclass(frozen=True, slots=True)
class _Window:
    seconds: float
    router_cpu_s: float
    holding: int  # callers on pushed hold all through the window (A and B)
    requests: int  # their webhook requests in the window
    polled_holding: int  # the baseline's, on C
    polled_requests: int
    delays_s: list[float]  # claim -> caller put through, per voice claim


async def _window(run: _Run, tokens: list[str]) -> _Window:
    """The measured window: the crowd holds; agents claim and resolve through A and B."""
    sizes, crowd = run.sizes, run.crowd
    cpu0, requests0, t0 = run.router_cpu_s(), crowd.requests(), time.monotonic()
    delays: list[float] = []
    run.agents += [
        asyncio.create_task(
            agent(run.session, run.routers, token, crowd, run.stop, delays, sizes.handle_s)
        )
        for token in tokens[: sizes.agents]
    ]
    await asyncio.sleep(sizes.window_s)
    seconds, router_cpu = time.monotonic() - t0, run.router_cpu_s() - cpu0
    # What waiting costs: the webhooks of callers on hold all through the window (a claimed
    # caller's redirect is the connection, not waiting).
    requests1 = crowd.requests()
    held = [n for n, c in crowd.by_number.items() if c.on_hold and c.result.connected_at_s is None]
    pushed = [n for n in held if int(n[5:]) < _BASELINE_FROM]
    polled = [n for n in held if int(n[5:]) >= _BASELINE_FROM]
    return _Window(
        seconds,
        router_cpu,
        len(pushed),
        sum(requests1[n] - requests0.get(n, 0) for n in pushed),
        len(polled),
        sum(requests1[n] - requests0.get(n, 0) for n in polled),
        delays,
    )


async def _outage(
    sizes: OutageSizes, workdir: Path, url: str, api: TwilioApi, api_url: str
) -> list[Figure]:
    everyone = _routers(sizes, workdir, url, api_url)
    store = await open_store(url)
    redis = Redis.from_url(url)
    memory_before = int((await redis.info("memory"))["used_memory"])
    with contextlib.ExitStack() as stack:
        for server in everyone:  # one after another, each ready before the next
            stack.enter_context(procs.running(server, ROOT))
        tokens = list(procs.demo_tokens(everyone[0]).values())
        # Webhooks share a bounded pool; each chat holds a websocket of its own (a pool of
        # 512 shared with 2,000 open sockets would starve the callers).
        async with (
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=512),
                timeout=aiohttp.ClientTimeout(total=120),
            ) as session,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as sockets,
        ):
            run = _Run(sizes, everyone[:2], everyone[2], store, redis, session, sockets, api)
            try:
                filled = await _fill(run, memory_before)
                window = await _window(run, tokens)
            finally:
                await run.stop_all()
    crowd = run.crowd
    errors = [
        c.result.error for c in crowd.calls if c.result.outcome is Outcome.ERROR and c.result.error
    ]
    lost = len(errors)
    contacts = len(await store.list_contacts(channel="voice", limit=sizes.calls + 10))
    await store.aclose()
    await redis.aclose()
    lost += max(0, sizes.calls - contacts)
    return _figures(sizes, filled, window, lost, errors[:1])


def _figures(
    sizes: OutageSizes, filled: _Filled, window: _Window, lost: int, errors: list[str]
) -> list[Figure]:
    if not window.delays_s:
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
            f"{sizes.arrivals_per_s:g}/s, queued in {filled.seconds:.0f} s",
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
            max(percentile(window.delays_s, 99), 1e-6),
            "s",
            note=f"{len(window.delays_s)} voice claims by {sizes.agents} agents through A and B "
            "(a 5 s wrap-up after each resolve)",
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
