"""The outage bench's people: simulated callers (the IVR simulator, with its stand-in for
Twilio's REST API), chat customers on real websockets, and agents claiming and resolving
through the routers' HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiohttp

from bench.procs import Server
from bench.workload import BenchError
from channels.twilio import sign
from ivr.simulator import Call, CallSpec, ScriptKeys, TwilioApi, new_call_sid

__all__ = ["ACCOUNT_SID", "AUTH_TOKEN", "Crowd", "agent", "chat", "place"]

ACCOUNT_SID = "AC" + "0b" * 16
AUTH_TOKEN = "0a" * 16
PRESS = ["2", "1001#", "482913#", "2"]  # English, verified, technical: queued
CHAT_FIRST = "Dzień dobry, nie działa mi internet"
CHAT_CREDENTIALS = "jan.kowalski 482913"


@dataclass
class Crowd:
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


async def place(
    crowd: Crowd,
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


async def chat(session: aiohttp.ClientSession, router: Server, stop: asyncio.Event) -> int:
    """One chat customer: queued, then waiting with the socket open; returns frames got.
    A message the router could not take in time (an error frame with ``retry``) is sent
    again after ``retry_after_s``, as the chat page's Retry button does."""
    frames = 0
    async with session.ws_connect(router.url.replace("http", "ws") + "/chat/ws") as ws:
        await ws.send_json({"type": "hello", "session": None, "language": "pl"})
        for n, text in enumerate((CHAT_FIRST, CHAT_CREDENTIALS)):
            message = {"type": "message", "id": f"m{n}", "text": text}
            await ws.send_json(message)
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    frame = await ws.receive_json(timeout=1.0)
                    if frame.get("id") != message["id"]:
                        continue  # a welcome, a prompt, a position
                    if frame.get("type") == "ack":
                        break
                    if frame.get("type") == "error" and frame.get("retry"):
                        await asyncio.sleep(float(frame.get("retry_after_s") or 1.0))
                        await ws.send_json(message)
                        continue
                    raise BenchError(f"outage: a chat message was refused: {frame}")
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await ws.receive(timeout=1.0)
                frames += 1
    return frames


async def agent(
    session: aiohttp.ClientSession,
    routers: list[Server],
    token: str,
    crowd: Crowd,
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
