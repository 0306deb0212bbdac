"""The outage day: two `switchboard run` processes on one redis-server, a crowd of callers on
hold and of chats waiting, agents claiming and resolving through both processes.

The callers are the IVR simulator's (``ivr.simulator``) in this process, with its stand-in
for Twilio's REST API, so a claim redirects the caller's live call as Twilio would; chats
are real websockets. After everyone is queued, a window of ``window_s`` is measured:

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
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from redis.asyncio import Redis

from bench import procs
from bench.procs import ROOT, Server, cpu_s
from bench.report import Figure
from bench.workload import BenchError
from channels.twilio import sign
from ivr.simulator import Call, CallSpec, Outcome, ScriptKeys, TwilioApi, new_call_sid, percentile
from queues import open_store

__all__ = ["FULL_OUTAGE", "QUICK_OUTAGE", "OutageSizes", "run_outage"]

ACCOUNT_SID = "AC" + "0b" * 16
AUTH_TOKEN = "0a" * 16
PRESS = ["2", "1001#", "482913#", "2"]  # English, verified, technical: queued
CHAT_FIRST = "Dzień dobry, nie działa mi internet"
CHAT_CREDENTIALS = "jan.kowalski 482913"


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


FULL_OUTAGE = OutageSizes(
    10_000, 2_000, 50, window_s=60.0, fill_timeout_s=900, arrivals_per_s=150, handle_s=5.0
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
    # Every simulated customer comes from 127.0.0.1: lift the per-address flood caps.
    data["channels"]["webchat"].update(max_open_per_ip=1 << 20, new_contacts_per_minute=1 << 20)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class _Crowd:
    """The simulated callers: their calls, and when each was put through."""

    calls: list[Call] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    by_number: dict[str, Call] = field(default_factory=dict)
    started_at: dict[str, float] = field(default_factory=dict)  # caller number -> wall time

    def requests(self) -> dict[str, int]:
        """Webhook requests so far, by caller number."""
        return {c.result.from_number: len(c.result.latencies_ms) for c in self.calls}

    def on_hold(self) -> int:
        return sum(1 for c in self.calls if c.on_hold)

    def connected_at(self, number: str) -> float | None:
        """Wall time the caller ``number`` was put through, when they were."""
        call = self.by_number.get(number)
        if call is None or call.result.connected_at_s is None:
            return None
        return self.started_at[number] + call.result.connected_at_s / call.speed


async def _place(
    crowd: _Crowd,
    session: aiohttp.ClientSession,
    router: Server,
    api: TwilioApi,
    n: int,
    speed: float,
) -> None:
    number = f"+4861{n:07d}"
    spec = CallSpec(
        url=router.url,
        from_number=number,
        call_sid=new_call_sid(),
        account_sid=ACCOUNT_SID,
        max_hold_s=3600 * speed,
        transcript=False,
        speed=speed,
    )
    call = Call(session, spec, ScriptKeys(PRESS), sign=partial(sign, AUTH_TOKEN), api=api)
    crowd.calls.append(call)
    crowd.by_number[number] = call
    crowd.started_at[number] = time.time()
    await call.run()


async def _chat(session: aiohttp.ClientSession, router: Server, stop: asyncio.Event) -> int:
    """One chat customer: queued, then waiting with the socket open; returns frames got."""
    frames = 0
    async with session.ws_connect(router.url.replace("http", "ws") + "/chat/ws") as ws:
        await ws.send_json({"type": "hello", "session": None, "language": "pl"})
        for n, text in enumerate((CHAT_FIRST, CHAT_CREDENTIALS)):
            await ws.send_json({"type": "message", "id": f"m{n}", "text": text})
            while True:
                frame = await ws.receive_json(timeout=60)
                if frame.get("type") == "ack":
                    break
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await ws.receive(timeout=1.0)
                frames += 1
    return frames


async def _agent(
    session: aiohttp.ClientSession,
    routers: list[Server],
    token: str,
    crowd: _Crowd,
    stop: asyncio.Event,
    delays_s: list[float],
    handle_s: float,
) -> None:
    """Claim (long poll) through A and B in turn, and resolve; voice claims are timed to the
    caller being put through."""
    headers = {"Authorization": f"Bearer {token}"}
    turn = 0
    while not stop.is_set():
        router = routers[turn % len(routers)]
        turn += 1
        body = {"wait_s": 2}
        async with session.post(router.url + "/api/claim", json=body, headers=headers) as r:
            if r.status != 200:
                await asyncio.sleep(0.2)
                continue
            contact = await r.json()
        claimed_at = time.time()
        if contact["channel"] == "voice":
            for _ in range(300):
                put_through = crowd.connected_at(contact["address"])
                if put_through is not None:
                    delays_s.append(max(0.0, put_through - claimed_at))
                    break
                await asyncio.sleep(0.01)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), handle_s)  # talking to the customer
        resolve = {"disposition": "solved"}
        url = f"{router.url}/api/contacts/{contact['id']}/resolve"
        async with session.post(url, json=resolve, headers=headers) as r:
            await r.read()


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


async def _outage(
    sizes: OutageSizes, workdir: Path, url: str, api: TwilioApi, api_url: str
) -> list[Figure]:
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
    routers, polling = everyone[:2], everyone[2]  # A and B measured; C holds the baseline
    store = await open_store(url)
    redis = Redis.from_url(url)
    memory_before = int((await redis.info("memory"))["used_memory"])
    with contextlib.ExitStack() as stack:
        for server in everyone:  # one after another, each ready before the next
            stack.enter_context(procs.running(server, ROOT))
        pids = [r.pid for r in routers]
        tokens = procs.demo_tokens(routers[0])
        crowd, stop = _Crowd(), asyncio.Event()
        # Webhooks share a bounded pool; each chat holds a websocket of its own (a pool of
        # 512 shared with 2,000 open sockets would starve the callers).
        connector = aiohttp.TCPConnector(limit=512)
        timeout = aiohttp.ClientTimeout(total=120)
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as sockets,
        ):
            chats: list[asyncio.Task[int]] = []
            agents: list[asyncio.Task[None]] = []
            try:
                arrivals = [("call", n) for n in range(sizes.calls)]
                arrivals += [("chat", n) for n in range(sizes.chats)]
                arrivals.sort(key=lambda a: a[1] / (sizes.calls if a[0] == "call" else sizes.chats))
                pace = 1 / sizes.arrivals_per_s
                for kind, n in arrivals:
                    router = routers[n % 2]
                    if kind == "call":
                        placing = _place(crowd, session, router, api, n, sizes.speed)
                        crowd.tasks.append(asyncio.create_task(placing))
                    else:
                        chats.append(asyncio.create_task(_chat(sockets, router, stop)))
                    await asyncio.sleep(pace)
                # The baseline's callers queue last, so agents reach few of them in the window.
                for n in range(sizes.baseline_calls):
                    placing = _place(crowd, session, polling, api, _BASELINE_FROM + n, sizes.speed)
                    crowd.tasks.append(asyncio.create_task(placing))

                async def all_waiting() -> bool:
                    stats = await store.queue_stats(["technical"])
                    failed = sum(
                        1 for c in crowd.calls if c.over and c.result.outcome is Outcome.ERROR
                    )
                    expected = sizes.calls + sizes.chats + sizes.baseline_calls
                    return stats[0].waiting + failed >= expected

                await _until(all_waiting, sizes.fill_timeout_s, "every contact queued")
                waiting = (await store.queue_stats(["technical"]))[0].waiting
                memory_now = int((await redis.info("memory"))["used_memory"])
                memory_per_contact = (memory_now - memory_before) / waiting
                if os.environ.get("OUTAGE_KEYS"):  # where the memory goes, by kind of key
                    print(await _key_breakdown(redis, waiting))

                # The measured window: the crowd holds; agents work through A and B.
                cpu0, requests0, t0 = sum(map(cpu_s, pids)), crowd.requests(), time.monotonic()
                delays: list[float] = []
                agents += [
                    asyncio.create_task(
                        _agent(session, routers, token, crowd, stop, delays, sizes.handle_s)
                    )
                    for token in list(tokens.values())[: sizes.agents]
                ]
                await asyncio.sleep(sizes.window_s)
                elapsed = time.monotonic() - t0
                router_cpu_s = sum(map(cpu_s, pids)) - cpu0
                # What waiting costs: the webhooks of callers on hold all through the window
                # (a claimed caller's redirect is the connection, not waiting).
                requests1 = crowd.requests()
                held = [
                    n
                    for n, c in crowd.by_number.items()
                    if c.on_hold and c.result.connected_at_s is None
                ]
                pushed = [n for n in held if int(n[5:]) < _BASELINE_FROM]
                polled = [n for n in held if int(n[5:]) >= _BASELINE_FROM]
                holding, polled_holding = len(pushed), len(polled)
                requests = sum(requests1[n] - requests0.get(n, 0) for n in pushed)
                polled_requests = sum(requests1[n] - requests0.get(n, 0) for n in polled)
            finally:
                stop.set()
                await asyncio.gather(*agents, return_exceptions=True)
                for task in crowd.tasks:
                    task.cancel()
                await asyncio.gather(*crowd.tasks, return_exceptions=True)
                await asyncio.gather(*chats, return_exceptions=True)
    lost = sum(1 for c in crowd.calls if c.result.outcome is Outcome.ERROR and c.result.error)
    contacts = len(await store.list_contacts(channel="voice", limit=sizes.calls + 10))
    await store.aclose()
    await redis.aclose()
    lost += max(0, sizes.calls - contacts)
    if not delays:
        raise BenchError("outage: no voice call was claimed in the window")
    minutes = elapsed / 60
    call_minutes = minutes * sizes.speed  # the callers' own time
    return [
        Figure(
            "outage.webhooks_per_waiting_caller_per_min",
            max(requests / max(holding, 1) / call_minutes, 1e-6),
            "req/caller/min",
            max(polled_requests / max(polled_holding, 1) / call_minutes, 1e-6),
            note=(
                f"{holding} callers on hold all through; baseline: {polled_holding} held by a "
                "third router that polls (hold: poll)"
            ),
            target=1.5,
        ),
        Figure(
            "outage.router_cpu_s_per_1000_waiting_per_min",
            max(router_cpu_s / ((waiting - sizes.baseline_calls) / 1000) / minutes, 1e-6),
            "CPU s",
            note=f"A and B, {waiting - sizes.baseline_calls} waiting on them "
            f"({sizes.calls} calls, {sizes.chats} chats)",
            target=3.0,
        ),
        Figure(
            "outage.claim_to_connected_p99_s",
            max(percentile(delays, 99), 1e-6),
            "s",
            note=f"{len(delays)} voice claims by {sizes.agents} agents through A and B",
            target=1.0,
        ),
        Figure(
            "outage.redis_bytes_per_waiting_contact",
            memory_per_contact,
            "bytes",
            note="used_memory growth / contacts waiting",
            target=2048,
        ),
        Figure(
            "outage.contacts_lost_plus_one",
            lost + 1,
            "contacts",
            note="calls that failed or left no contact, + 1 (figures are > 0): must be 1",
            target=1,
        ),
    ]
