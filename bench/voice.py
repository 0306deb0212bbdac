"""Voice figures: scripted IVR calls through the HTTP app, against a bare TwiML handler.

``voice.call_per_s``: complete scripted calls (language, number, code, team menu: queued,
then the caller hangs up) through the real app on the memory store, placed by the IVR
simulator with ``concurrency`` calls at once. The baseline is a bare aiohttp handler
answering one fixed TwiML document, sent the same number of signed webhook requests by the
same client at the same concurrency in the same run, counted as calls of the same size.
``voice.step_p99_ms``: the 99th percentile of one webhook round trip, against the same
baseline's.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import structlog
import yaml
from aiohttp import web

from channels.twilio.auth import sign
from ivr.simulator.call import CallSpec
from ivr.simulator.many import percentile, place_calls
from ivr.simulator.twiml import parse
from queues import open_store
from router.app.factory import create_app
from router.app.wiring import voice_adapter
from router.config.load import parse_config

__all__ = ["NOTES", "measure"]

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "be" * 16
ENV = {"SWITCHBOARD_SECRET": "bench-secret-0123456789abcdef", "TWILIO_AUTH_TOKEN": TOKEN}
PRESS = ("2", "1001#", "482913#", "2")
NOTES = {
    "voice.call_per_s": "bare aiohttp handler answering fixed TwiML, same requests per call",
    "voice.step_p99_ms": "bare aiohttp handler answering fixed TwiML",
}
_FIXED = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/twilio/voice/step?n=1" '
    'finishOnKey="" input="dtmf" method="POST" numDigits="1" timeout="5">'
    '<Say language="en-US">For English, press 2.</Say></Gather>'
    '<Redirect method="POST">/twilio/voice/step?n=1&amp;timeout=1</Redirect></Response>'
)


def measure(
    calls: int = 300, concurrency: int = 20, *, warmup: int = 20, workdir: Path | None = None
) -> list[dict[str, Any]]:
    """Both voice figures as ``{"name", "value", "unit", "baseline", "ratio"}``."""
    saved = structlog.get_config()
    # One info line per webhook would swamp the output and the timing.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        if workdir is not None:
            return asyncio.run(_measure(calls, concurrency, warmup, workdir))
        with tempfile.TemporaryDirectory(prefix="switchboard-voice-bench-") as tmp:
            return asyncio.run(_measure(calls, concurrency, warmup, Path(tmp)))
    finally:
        structlog.configure(**saved)


async def _measure(
    calls: int, concurrency: int, warmup: int, workdir: Path
) -> list[dict[str, Any]]:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config = parse_config(copy.deepcopy(data), base_dir=workdir, env=ENV)
    store = await open_store("memory://")
    app = create_app(
        config,
        store,
        adapters=lambda ctx: [a for a in [voice_adapter(ctx, ENV)] if a is not None],
        env=ENV,
        reaper=False,
    )
    try:
        async with _served(app) as base:
            spec = CallSpec(url=base, speed=1000.0, max_hold_s=0.0)
            signer = partial(sign, TOKEN)
            if warmup:
                await place_calls(spec, PRESS, calls=warmup, concurrency=concurrency, sign=signer)
            results, summary = await place_calls(
                spec, PRESS, calls=calls, concurrency=concurrency, sign=signer
            )
        failed = [r.error or r.outcome for r in results if r.outcome != "abandoned"]
        if failed:
            raise RuntimeError(f"{len(failed)} of {calls} bench calls did not queue: {failed[0]}")
    finally:
        await store.aclose()
    bare_s, bare_ms = await _bare(summary.requests, concurrency)
    call_per_s = calls / summary.elapsed_s
    bare_call_per_s = calls / bare_s
    return [
        _figure("voice.call_per_s", call_per_s, "calls/s", bare_call_per_s),
        _figure("voice.step_p99_ms", summary.p99_ms, "ms", percentile(bare_ms, 99)),
    ]


def _figure(name: str, value: float, unit: str, baseline: float) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "ratio": value / baseline,
    }


class _served:
    """An app on a free loopback port for the duration of the block; yields its base URL."""

    def __init__(self, app: web.Application) -> None:
        self._runner = web.AppRunner(app, access_log=None)

    async def __aenter__(self) -> str:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()


async def _bare(requests: int, concurrency: int) -> tuple[float, list[float]]:
    """Seconds for ``requests`` signed webhook POSTs answered by a bare handler, and each
    round trip's milliseconds."""

    async def fixed(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text=_FIXED, content_type="text/xml", charset="utf-8")

    app = web.Application()
    app.router.add_post("/twilio/voice", fixed)
    latencies: list[float] = []
    async with _served(app) as base, aiohttp.ClientSession() as session:
        url = base + "/twilio/voice"
        queue = iter(range(requests))

        async def worker() -> None:
            for i in queue:
                fields = _webhook_form(f"CA{i:032x}")
                headers = {"X-Twilio-Signature": sign(TOKEN, url, fields)}
                start = time.perf_counter()
                async with session.post(url, data=fields, headers=headers) as resp:
                    parse(await resp.text())
                latencies.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return elapsed, latencies


def _webhook_form(call_sid: str) -> dict[str, str]:
    # The fields the simulator sends with every webhook, so both sides carry the same load.
    return {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "Called": "+48221234567",
        "Caller": "+48600000000",
        "Direction": "inbound",
        "From": "+48600000000",
        "To": "+48221234567",
        "Digits": "2",
    }
