"""Voice figures: complete scripted IVR calls through the HTTP app, against a bare TwiML server.

``voice.call_per_s``: complete scripted calls (language, number, code, team menu: queued,
then the caller hangs up on hold: six webhooks and the status callback) through the real
app on the memory store, placed by the IVR simulator with ``concurrency`` calls at once.
The baseline is a bare aiohttp app answering the same six TwiML documents (fixed copies of
the app's), so the same client places calls of the same shape against it. Both are served
in this process (the figure of one webhook at the speed of the wire, with the server in a
process of its own and wrk as the client, is ``ingest.voice.*``). Warm-up calls go to both;
then rounds alternate between the two, and the figures are the medians of the rounds.
``voice.step_p99_ms``: the 99th percentile of one webhook round trip, against the bare
app's, medians of the rounds likewise.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import tempfile
from functools import partial
from pathlib import Path
from statistics import median
from typing import Any

import structlog
import yaml
from aiohttp import web

from bench.workload import BenchError
from channels.twilio.auth import sign
from ivr.simulator.call import CallSpec
from ivr.simulator.many import Summary, place_calls
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
    "voice.call_per_s": "complete scripted calls, simulator client in-process; baseline: bare "
    "aiohttp app answering the same 6 documents fixed, same client, medians of rounds",
    "voice.step_p99_ms": "one webhook's p99 in those calls; baseline: the bare app's",
}
_GATHER = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/twilio/voice/step?n={n}" '
    'finishOnKey="{finish}" input="dtmf" method="POST"{digits} timeout="8"><Say language="en-US">'
    '{say}</Say></Gather><Redirect method="POST">/twilio/voice/step?n={n}&amp;timeout=1'
    "</Redirect></Response>"
)
#: The documents the app answers one scripted call with (PRESS), keyed by path and query.
_DOCUMENTS = {
    "": _GATHER.format(n=1, finish="", digits=' numDigits="1"', say="For English, press 2."),
    "step?n=1": _GATHER.format(
        n=2, finish="#", digits="", say="Please enter your customer number, then the hash key."
    ),
    "step?n=2": _GATHER.format(
        n=3, finish="#", digits="", say="Now enter the authorisation code, then the hash key."
    ),
    "step?n=3": _GATHER.format(
        n=4, finish="", digits=' numDigits="1"', say="For technical support, press 2."
    ),
    "step?n=4": (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-US">You are number '
        "1 in the queue. The estimated wait is about 5 minutes. Please stay on the line.</Say>"
        '<Redirect method="POST">/twilio/voice/hold?w=0</Redirect></Response>'
    ),
    "hold": (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="5" />'
        '<Redirect method="POST">/twilio/voice/hold?w=5</Redirect></Response>'
    ),
}


def measure(
    calls: int = 300,
    concurrency: int = 20,
    *,
    warmup: int = 20,
    repeats: int = 3,
    workdir: Path | None = None,
) -> list[dict[str, Any]]:
    """Both voice figures as ``{"name", "value", "unit", "baseline", "ratio"}``: medians
    of ``repeats`` rounds of ``calls`` calls on each side, after ``warmup`` calls."""
    saved = structlog.get_config()
    # One info line per webhook would swamp the output and the timing.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        if workdir is not None:
            return asyncio.run(_measure(calls, concurrency, warmup, repeats, workdir))
        with tempfile.TemporaryDirectory(prefix="switchboard-voice-bench-") as tmp:
            return asyncio.run(_measure(calls, concurrency, warmup, repeats, Path(tmp)))
    finally:
        structlog.configure(**saved)


async def _measure(
    calls: int, concurrency: int, warmup: int, repeats: int, workdir: Path
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
        async with _served(app) as app_url, _served(_bare_app()) as bare_url:
            sides = {"app": app_url, "bare": bare_url}
            if warmup:
                for url in sides.values():
                    await _calls(url, warmup, concurrency)
            rounds: dict[str, list[Summary]] = {side: [] for side in sides}
            for _ in range(repeats):
                for side, url in sides.items():
                    rounds[side].append(await _calls(url, calls, concurrency))
    finally:
        await store.aclose()
    app_s, bare_s = rounds["app"], rounds["bare"]
    if app_s[0].requests != bare_s[0].requests:
        raise BenchError(
            f"a call made {app_s[0].requests / calls:.1f} webhooks on the app but "
            f"{bare_s[0].requests / calls:.1f} on the bare server: update _DOCUMENTS"
        )
    return [
        _figure(
            "voice.call_per_s",
            median(s.calls_per_s for s in app_s),
            "calls/s",
            median(s.calls_per_s for s in bare_s),
        ),
        _figure(
            "voice.step_p99_ms",
            median(s.p99_ms for s in app_s),
            "ms",
            median(s.p99_ms for s in bare_s),
        ),
    ]


async def _calls(url: str, calls: int, concurrency: int) -> Summary:
    """``calls`` scripted calls to ``url``, each queued then abandoned on hold."""
    spec = CallSpec(url=url, speed=1000.0, max_hold_s=0.0)
    results, summary = await place_calls(
        spec, PRESS, calls=calls, concurrency=concurrency, sign=partial(sign, TOKEN)
    )
    failed = [r.error or r.outcome for r in results if r.outcome != "abandoned"]
    if failed:
        raise BenchError(
            f"{len(failed)} of {calls} bench calls to {url} did not queue: {failed[0]}"
        )
    return summary


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


def _bare_app() -> web.Application:
    """The app's six documents of a scripted call, fixed, by path; 204 for the status."""

    async def document(request: web.Request) -> web.Response:
        await request.post()
        step = request.match_info.get("step", "")
        key = f"{step}?n={request.query.get('n', '')}" if step == "step" else step
        return web.Response(text=_DOCUMENTS[key], content_type="text/xml", charset="utf-8")

    async def status(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/twilio/voice", document)
    app.router.add_post("/twilio/voice/status", status)
    app.router.add_post("/twilio/voice/{step:step|hold}", document)
    return app
