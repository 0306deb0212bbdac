"""``sms.webhook_per_s``: signed inbound SMS webhooks through the real app, memory store.

Each webhook is a first message from a new number, as Twilio posts it: the signature is
checked, the contact is stored and its flow started, and the TwiML answer rendered. The
baseline, measured in the same run with the same client and requests, is a bare aiohttp
handler that reads the form and answers a fixed TwiML. Both run on a real loopback port.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import structlog
import yaml
from aiohttp import web

from bench.report import Figure
from bench.workload import BenchError
from channels.twilio.auth import HEADER, sign
from queues import open_store
from router.app.factory import create_app
from router.app.wiring import sms_adapter
from router.config.load import parse_config

__all__ = ["measure"]

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "c" * 32
ENV = {
    "SWITCHBOARD_SECRET": "bench-secret-0123456789abcdef",
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
}
FIXED_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Dzień dobry! Podaj login '
    "i kod autoryzacyjny.</Message></Response>"
)
BODY = "Dzień dobry, od rana nie działa mi internet, router miga na czerwono."


def measure(
    *, messages: int = 2000, concurrency: int = 16, repeats: int = 3, warmup: int = 100
) -> list[dict[str, Any]]:
    """Webhooks per second through the app and through the bare handler (medians)."""
    with _quiet_logs():
        return asyncio.run(_measure(messages, concurrency, repeats, warmup))


async def _measure(
    messages: int, concurrency: int, repeats: int, warmup: int
) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-sms-") as tmp:
        data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
        config = parse_config(data, base_dir=Path(tmp), env=ENV)
        store = await open_store("memory://")
        app = create_app(
            config,
            store,
            adapters=lambda ctx: [a for a in [sms_adapter(ctx, ENV)] if a is not None],
            env=ENV,
            reaper=False,
        )
        connector = aiohttp.TCPConnector(limit=concurrency)
        try:
            async with (
                _serving(app) as app_url,
                _serving(_bare_app()) as bare_url,
                aiohttp.ClientSession(connector=connector) as session,
            ):
                numbers = iter(range(10**9))
                await _rate(session, app_url, _requests(app_url, warmup, numbers), concurrency)
                await _rate(session, bare_url, _requests(bare_url, warmup, numbers), concurrency)
                app_rates, bare_rates = [], []
                for _ in range(repeats):
                    batch = _requests(app_url, messages, numbers)
                    app_rates.append(await _rate(session, app_url, batch, concurrency))
                    batch = _requests(bare_url, messages, numbers)
                    bare_rates.append(await _rate(session, bare_url, batch, concurrency))
        finally:
            await store.aclose()
    figure = Figure(
        "sms.webhook_per_s",
        statistics.median(app_rates),
        "webhooks/s",
        baseline=statistics.median(bare_rates),
        note="bare aiohttp handler answering a fixed TwiML",
    )
    return [figure.to_dict()]


def sms_form(n: int) -> dict[str, str]:
    """The form Twilio posts for a first message from the ``n``-th new number."""
    sid = f"SM{n:032x}"
    return {
        "ToCountry": "PL",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": BODY,
        "FromCountry": "PL",
        "To": "+48221234567",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": f"+4860{n:07d}",
        "ApiVersion": "2010-04-01",
    }


def _requests(
    url: str, count: int, numbers: Iterator[int]
) -> list[tuple[dict[str, str], dict[str, str]]]:
    """Signed forms (and their headers) of first messages from ``count`` new numbers."""
    made = []
    for _ in range(count):
        form = sms_form(next(numbers))
        made.append((form, {HEADER: sign(AUTH_TOKEN, url, form)}))
    return made


async def _rate(
    session: aiohttp.ClientSession,
    url: str,
    requests: list[tuple[dict[str, str], dict[str, str]]],
    concurrency: int,
) -> float:
    pending = iter(requests)

    async def worker() -> None:
        for form, headers in pending:
            async with session.post(url, data=form, headers=headers) as response:
                body = await response.read()
                if response.status != 200 or b"<Message>" not in body:
                    raise BenchError(f"{url} answered {response.status}: {body[:200]!r}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(requests) / (time.perf_counter() - start)


def _bare_app() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text=FIXED_TWIML, content_type="application/xml")

    app = web.Application()
    app.router.add_post("/twilio/sms", handler)
    return app


@asynccontextmanager
async def _serving(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}/twilio/sms"
    finally:
        await runner.cleanup()


@contextmanager
def _quiet_logs() -> Iterator[None]:
    # Info events per webhook would measure the terminal; warnings still show.
    import logging

    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield
    finally:
        structlog.configure(**saved)
