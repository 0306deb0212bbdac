"""Ingest at the speed of the wire: signed SMS and voice webhooks, driven by wrk, into a real
`switchboard run` on each store, against a bare aiohttp handler in the same run.

Each server is a process of its own (``python -m router.cli run`` on memory://, the sqlite
default and a redis-server; ``python -m bench.bare`` for the baseline), so the load
generator's CPU is not the server's. Both sides get the same wrk, the same connections and
requests of the same shape: every request a first message from a new number (SMS) or a new
call's first webhook (voice), signed as Twilio signs it. Figures per channel and store:
requests per second (baseline: the bare handler), the slowdown against it, p50 and p99 of
the run, and server CPU-ms per request (from /proc).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.procs import ROOT, Server, free_port, redis_server, router, running
from bench.report import Figure
from bench.sms import ACCOUNT_SID, AUTH_TOKEN, sms_form
from bench.workload import BenchError
from bench.wrk import WrkResult, run_wrk, write_requests
from channels.twilio.auth import sign

__all__ = ["IngestSizes", "run_ingest"]

ENV = {
    "SWITCHBOARD_SECRET": "bench-secret-0123456789abcdef",
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
}
#: The goals of issue 16: the app's rate at least this share of the bare handler's.
GOALS = {"memory": 0.5, "sqlite": 0.25, "redis": 0.3}


@dataclass(frozen=True, slots=True)
class IngestSizes:
    seconds: int  # each measured run (wrk takes whole seconds)
    warmup_s: int
    connections: int
    #: Requests made per run: more than the fastest server answers in ``seconds``.
    requests: int


FULL_INGEST = IngestSizes(seconds=8, warmup_s=2, connections=50, requests=200_000)
QUICK_INGEST = IngestSizes(seconds=1, warmup_s=1, connections=10, requests=25_000)


def _router(workdir: Path, store_url: str) -> Server:
    def no_email(data: dict[str, Any]) -> None:
        data["channels"]["email"]["addresses"] = []

    return router(workdir, store_url, ENV, edit=no_email)


def _bare(workdir: Path) -> Server:
    port = free_port()
    args = [sys.executable, "-m", "bench.bare", str(port)]
    return Server("bare", args, port, workdir / "logs", env=ENV)


def _signature(url: str, form: dict[str, str]) -> str:
    """X-Twilio-Signature as Twilio documents it (HMAC-SHA1 of the URL and the sorted
    parameters), one HMAC: twilio's ``compute_signature`` is ~15x slower, and a run needs
    some 200,000 of them. ``_checked`` compares the two on the run's first request."""
    data = url + "".join(k + form[k] for k in sorted(form))
    digest = hmac.new(AUTH_TOKEN.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _checked(url: str, form: dict[str, str]) -> str:
    signature = _signature(url, form)
    if signature != sign(AUTH_TOKEN, url, form):
        raise BenchError("the bench's signature differs from twilio's compute_signature")
    return signature


def _sms(base: str, n: int) -> tuple[str, str, str]:
    form = sms_form(n)
    signed = (_checked if n == 0 else _signature)(base + "/twilio/sms", form)
    return "/twilio/sms", signed, urlencode(form)


def _voice(base: str, n: int) -> tuple[str, str, str]:
    form = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": f"CA{n:032x}",
        "CallStatus": "ringing",
        "Called": "+48221234567",
        "Caller": f"+4861{n:07d}",
        "Direction": "inbound",
        "From": f"+4861{n:07d}",
        "To": "+48221234567",
    }
    signed = (_checked if n == 0 else _signature)(base + "/twilio/voice", form)
    return "/twilio/voice", signed, urlencode(form)


_MAKE = {"sms": _sms, "voice": _voice}


def _measure(
    server: Server, channel: str, sizes: IngestSizes, workdir: Path, first: int
) -> WrkResult:
    """A warm-up run, then the measured one, each with requests of its own."""
    results = []
    for phase, seconds in (("warmup", sizes.warmup_s), ("run", sizes.seconds)):
        path = workdir / f"{server.name}-{channel}-{phase}.txt"
        made = (_MAKE[channel](server.url, first + n) for n in range(sizes.requests))
        count = write_requests(path, made)
        first += count
        results.append(
            run_wrk(
                server.url,
                path,
                count,
                server_pid=server.pid,
                seconds=seconds,
                connections=sizes.connections,
            )
        )
    return results[-1]


def _figures(channel: str, store: str, app: WrkResult, bare: WrkResult) -> list[Figure]:
    name = f"ingest.{channel}.{store}"
    goal = GOALS[store]
    return [
        Figure(
            f"{name}.per_s",
            app.per_s,
            "req/s",
            bare.per_s,
            note=f"wrk -t1 -c50, new senders; baseline: bare aiohttp handler; goal ratio >= {goal}",
        ),
        Figure(
            f"{name}.slowdown",
            bare.per_s / app.per_s,
            "x",
            target=1 / goal,
            note="bare handler's rate / the app's",
        ),
        Figure(
            f"{name}.cpu_ms_per_req",
            app.cpu_ms_per_request,
            "CPU-ms",
            bare.cpu_ms_per_request,
            note="server process, from /proc; baseline: the bare handler's",
        ),
        Figure(
            f"{name}.p99_over_p50",
            app.p99_ms / app.p50_ms,
            "ratio",
            bare.p99_ms / bare.p50_ms,
            target=3,
            note=f"p50 {app.p50_ms:.1f} ms, p99 {app.p99_ms:.1f} ms; baseline: the bare handler's",
        ),
    ]


def run_ingest(
    quick: bool, workdir: Path, stores: tuple[str, ...] = ("memory", "sqlite", "redis")
) -> list[Figure]:
    """SMS and voice on each of ``stores`` (memory, sqlite, redis), against the bare
    handler."""
    sizes = QUICK_INGEST if quick else FULL_INGEST
    workdir.mkdir(parents=True, exist_ok=True)
    figures: list[Figure] = []
    with running(_bare(workdir / "bare"), ROOT) as bare_server:
        bare = {ch: _measure(bare_server, ch, sizes, workdir, 0) for ch in _MAKE}
    with redis_server(workdir / "redis", appendonly=False) as redis_url:
        urls = {
            "memory": "memory://",
            "sqlite": f"sqlite:///{workdir / 'sqlite' / 'switchboard.db'}",
            "redis": redis_url,
        }
        for store in stores:
            url = urls[store]
            (workdir / store).mkdir(parents=True, exist_ok=True)
            with running(_router(workdir / store, url), ROOT) as server:
                for channel in _MAKE:
                    app = _measure(server, channel, sizes, workdir / store, 0)
                    figures += _figures(channel, store, app, bare[channel])
    return figures
