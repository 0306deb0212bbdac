"""The outage bench's people: simulated callers (the IVR simulator, with its stand-in for
Twilio's REST API), chat customers on real websockets, and agents claiming and resolving
through the routers' HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiohttp

from bench.outage_probe import Stamps
from bench.procs import Server
from bench.workload import BenchError
from channels.twilio import sign
from ivr.simulator import Call, CallSpec, Outcome, ScriptKeys, TwilioApi
from ivr.simulator.twiml import Verb
from ivr.simulator.webhook import Fetch, Webhooks

__all__ = [
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "CUSTOMERS",
    "Crowd",
    "TimedCall",
    "agent",
    "chat",
    "customer",
    "place",
]

ACCOUNT_SID = "AC" + "0b" * 16
AUTH_TOKEN = "0a" * 16
#: Customers the crowd calls and chats as (``customer``): an outage's crowd is thousands of
#: households, not one account. (One account for everyone serialised every verification
#: of a router on that account's lock: ``router.identity.verify``.)
CUSTOMERS = 2_000
CHAT_FIRST = "Dzień dobry, nie działa mi internet"


def customer(n: int) -> tuple[str, str, str]:
    """The ``n``-th caller's or chat's account (one of ``CUSTOMERS``): login, customer
    number, auth code; ``outage_setup`` adds them to the routers' demo accounts."""
    k = n % CUSTOMERS
    return f"bench{k:05d}", str(500_000 + k), f"{(k * 7919 + 271_828) % 900_000 + 100_000}"


def press(n: int) -> list[str]:
    """What caller ``n`` presses: English, their customer number and code, technical."""
    _, number, code = customer(n)
    return ["2", f"{number}#", f"{code}#", "2"]


class _TimedWebhooks(Webhooks):
    """A call's webhooks, stamping the first one sent after a REST redirect."""

    redirected = False
    fetched_at: float | None = None

    async def request(self, fetch: Fetch) -> tuple[Verb, ...]:
        if self.redirected and self.fetched_at is None:
            self.fetched_at = time.time()
        return await super().request(fetch)


class TimedCall(Call):
    """A simulated call that stamps when it fetches its TwiML after a REST redirect, and
    tells ``on_redirect`` it was redirected."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        spec: CallSpec,
        keys: ScriptKeys,
        api: TwilioApi,
        on_redirect: Callable[[TimedCall], None],
    ) -> None:
        signer = partial(sign, AUTH_TOKEN)
        super().__init__(session, spec, keys, sign=signer, api=api)
        self._timed = _TimedWebhooks(session, spec, self.result, sign=signer, event=self._event)
        self._http = self._timed
        self._on_redirect = on_redirect
        self.started_at = time.time()

    @property
    def fetched_at(self) -> float | None:
        return self._timed.fetched_at

    @property
    def connected_at(self) -> float | None:
        """Wall time the caller was put through, when they were."""
        connected = self.result.connected_at_s
        return None if connected is None else self.started_at + connected / self.speed

    def redirect(self, *, url: str | None, method: str = "POST", twiml: str | None = None) -> None:
        self._timed.redirected = True
        super().redirect(url=url, method=method, twiml=twiml)
        self._on_redirect(self)


@dataclass
class Crowd:
    """The simulated callers: their calls, and those redirected (claimed) meanwhile."""

    calls: list[TimedCall] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    by_number: dict[str, TimedCall] = field(default_factory=dict)
    redirected: list[TimedCall] = field(default_factory=list)  # not yet reported on

    def requests(self) -> dict[str, int]:
        """Webhook requests so far, by caller number."""
        return {c.result.from_number: len(c.result.latencies_ms) for c in self.calls}

    def failed(self) -> int:
        return sum(1 for c in self.calls if c.over and c.result.outcome is Outcome.ERROR)

    def in_flow(self) -> int:
        """Callers placed and still in the IVR: neither on hold nor over."""
        return sum(1 for c in self.calls if c.in_ivr)

    def errors(self) -> list[str]:
        return [
            c.result.error
            for c in self.calls
            if c.result.outcome is Outcome.ERROR and c.result.error
        ]

    def held(self) -> list[str]:
        """Callers on hold and not put through."""
        return [n for n, c in self.by_number.items() if c.on_hold and c.connected_at is None]


async def place(
    crowd: Crowd,
    session: aiohttp.ClientSession,
    url: str,
    api: TwilioApi,
    n: int,
    speed: float,
    call_sid: str,
) -> None:
    number = f"+4861{n:07d}"
    spec = CallSpec(
        url=url,
        from_number=number,
        call_sid=call_sid,
        account_sid=ACCOUNT_SID,
        max_hold_s=3600 * speed,
        transcript=False,
        speed=speed,
    )
    call = TimedCall(session, spec, ScriptKeys(press(n)), api, crowd.redirected.append)
    crowd.calls.append(call)
    crowd.by_number[number] = call
    await call.run()


async def chat(session: aiohttp.ClientSession, url: str, n: int, stop: asyncio.Event) -> int:
    """The ``n``-th chat customer: queued, then waiting with the socket open; returns frames got.
    A message the router could not take in time (an error frame with ``retry``) is sent
    again after ``retry_after_s``, as the chat page's Retry button does."""
    frames = 0
    async with session.ws_connect(url.replace("http", "ws") + "/chat/ws") as ws:
        await ws.send_json({"type": "hello", "session": None, "language": "pl"})
        login, _, code = customer(n)
        for m, text in enumerate((CHAT_FIRST, f"{login} {code}")):
            message = {"type": "message", "id": f"m{m}", "text": text}
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
    stop: asyncio.Event,
    claims: list[Stamps],
    handle_s: float,
    put_through: Callable[[str], Awaitable[bool]],
) -> None:
    """Claim (long poll) through A and B in turn, talk (once a caller is put through:
    ``put_through(number)``) and resolve; each voice claim is noted with when its answer
    was read (the caller's side tells when they were put through)."""
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
        if contact["channel"] == "voice":
            claimed = Stamps(contact["id"], contact["address"], {"answered": time.time()})
            claims.append(claimed)
            await put_through(claimed.number)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), handle_s)  # talking to the customer
        resolve = {"disposition": "solved"}
        url = f"{router.url}/api/contacts/{contact['id']}/resolve"
        async with session.post(url, json=resolve, headers=headers) as r:
            await r.read()
