"""The simulator sends what Twilio would: a crowd's webhooks all at once (no pool of its own
queueing them), calls dialled at a rate, and a webhook given up after Twilio's timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from ivr.simulator.call import Call, CallSpec, Outcome
from ivr.simulator.keys import ScriptKeys
from ivr.simulator.many import place_calls

HANGUP = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>'

Handler = Callable[[web.Request], Awaitable[web.Response]]


@asynccontextmanager
async def served(voice: Handler) -> AsyncIterator[str]:
    """An IVR on loopback answering the call's webhook with ``voice``; its base URL."""

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/twilio/voice", voice)
    app.router.add_post("/twilio/voice/status", status)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def answered_after(delay_s: float) -> Handler:
    async def voice(request: web.Request) -> web.Response:
        await asyncio.sleep(delay_s)
        return web.Response(text=HANGUP, content_type="text/xml")

    return voice


async def test_a_webhook_answered_after_twilios_timeout_ends_the_call_with_an_error() -> None:
    async with aiohttp.ClientSession() as session:
        async with served(answered_after(1.0)) as url:
            spec = CallSpec(url=url, answer_timeout_s=0.3)
            late = await Call(session, spec, ScriptKeys([]), sign=None).run()
        async with served(answered_after(0.1)) as url:
            spec = CallSpec(url=url, answer_timeout_s=0.3)
            in_time = await Call(session, spec, ScriptKeys([]), sign=None).run()
    assert late.outcome is Outcome.ERROR and late.error is not None
    assert "was not answered in time" in late.error and "application error" in late.error
    assert in_time.outcome is Outcome.ENDED and in_time.error is None


async def test_a_crowds_first_webhooks_reach_the_router_all_at_once() -> None:
    """300 calls (more than a pool of 256 connections held): the IVR answers none until
    all 300 are in flight at once, as 300 callers dialling together would be with Twilio."""
    crowd = 300
    arrived = 0
    everyone = asyncio.Event()

    async def voice(request: web.Request) -> web.Response:
        nonlocal arrived
        await request.post()
        arrived += 1
        if arrived == crowd:
            everyone.set()
        try:
            await asyncio.wait_for(everyone.wait(), 5)
        except TimeoutError:
            return web.Response(status=503, text=f"only {arrived} arrived together")
        return web.Response(text=HANGUP, content_type="text/xml")

    async with served(voice) as url:
        _, summary = await place_calls(
            CallSpec(url=url), [], calls=crowd, concurrency=crowd, sign=None
        )
    assert (summary.ended, summary.errors) == (crowd, 0)


async def test_calls_start_at_the_rate_asked() -> None:
    starts: list[float] = []

    async def voice(request: web.Request) -> web.Response:
        starts.append(time.perf_counter())
        return web.Response(text=HANGUP, content_type="text/xml")

    async with served(voice) as url:
        _, at_once = await place_calls(CallSpec(url=url), [], calls=6, concurrency=6, sign=None)
        together = max(starts) - min(starts)
        starts.clear()
        _, paced = await place_calls(
            CallSpec(url=url), [], calls=6, concurrency=6, sign=None, rate=20
        )
        spread = max(starts) - min(starts)
    assert at_once.ended == paced.ended == 6
    # The sixth call dials 5/20 s after the first.
    assert together < 0.2 and 0.24 <= spread < 1.0
