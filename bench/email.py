"""Email intake throughput: mails through our SMTP server into the memory store per second.

The baseline is a bare aiosmtpd sink (a handler that answers 250 and does nothing) on the
same loop, fed by the same client load in the same run, so the ratio is what parsing,
threading, the flow and the store cost on top of SMTP itself. Rounds of ours and the sink
alternate; the figures are the medians.

    python -m bench.email [--quick]      prints the figures as JSON
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

import aiosmtplib
import structlog
import yaml
from aiosmtpd.smtp import SMTP

from bench.report import Figure
from queues import now_s, open_store
from router.app.factory import build_context, load_directories
from router.app.wiring import email_adapter
from router.config.load import parse_config

__all__ = ["email_figures", "measure"]

ROOT = Path(__file__).resolve().parent.parent
UNIT = "msgs/s"
_ENV = {"SWITCHBOARD_SECRET": "bench-secret-0123456789abcdef"}
_BODY = (
    "Dzień dobry,\n\nod wczoraj wieczorem internet działa bardzo wolno, a router co kilka "
    "minut się rozłącza. Restart nie pomógł. Proszę o sprawdzenie łącza.\n\n"
    "Pozdrawiam\nJan Kowalski\n"
) * 4


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def _mails(count: int, round_no: int) -> list[bytes]:
    mails = []
    for n in range(count):
        mail = EmailMessage()
        mail["From"] = f"customer{n % 500}@example.net"
        mail["To"] = "support@example.com"
        mail["Subject"] = f"Internet nie działa ({round_no}/{n})"
        mail["Message-ID"] = f"<bench-{round_no}-{n}@example.net>"
        mail.set_content(_BODY)
        mails.append(mail.as_bytes(policy=SMTP_POLICY))
    return mails


async def _deliver(port: int, mails: Sequence[bytes], connections: int) -> float:
    """Seconds to deliver ``mails`` over ``connections`` parallel SMTP sessions."""

    async def session(share: Sequence[bytes]) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
            for raw in share:
                await smtp.sendmail("customer@example.net", ["support@example.com"], raw)

    start = time.perf_counter()
    await asyncio.gather(*(session(mails[i::connections]) for i in range(connections)))
    return time.perf_counter() - start


async def email_figures(
    *, mails: int = 2000, connections: int = 8, repeats: int = 3, warmup: int = 50
) -> list[Figure]:
    """``email.smtp_msgs_per_s`` against the bare aiosmtpd sink, measured now."""
    previous = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    loop = asyncio.get_running_loop()
    sink = await loop.create_server(
        lambda: SMTP(_Sink(), hostname="bench.local", loop=loop), "127.0.0.1", 0
    )
    store = await open_store("memory://")
    try:
        with tempfile.TemporaryDirectory(prefix="switchboard-bench-email-") as tmp:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            data = yaml.load((ROOT / "config.yaml").read_text(encoding="utf-8"), loader)
            data["channels"]["email"]["relay"] = {"host": None}  # no automatic replies
            config = parse_config(data, base_dir=Path(tmp), env=_ENV)
            ctx = build_context(config, store, clock=now_s, outboxes={}, env=_ENV)
            await load_directories(ctx)
            adapter = email_adapter(ctx, _ENV)
            if adapter is None:
                raise RuntimeError("config.yaml lists no support addresses: email is off")
            settings = getattr(adapter, "settings")  # noqa: B009 - EmailAdapter's, not the Protocol's
            adapter.settings = dataclasses.replace(settings, port=0)  # type: ignore[attr-defined]
            await adapter.start()
            try:
                ours_port = int(getattr(adapter, "port"))  # noqa: B009
                sink_port = int(sink.sockets[0].getsockname()[1])
                await _deliver(ours_port, _mails(warmup, -1), connections)
                await _deliver(sink_port, _mails(warmup, -1), connections)
                ours, base = [], []
                for round_no in range(repeats):
                    batch = _mails(mails, round_no)
                    ours.append(mails / await _deliver(ours_port, batch, connections))
                    base.append(mails / await _deliver(sink_port, batch, connections))
                stored = await store.list_contacts(channel="email", limit=mails * repeats + warmup)
                if len(stored) != mails * repeats + warmup:
                    raise RuntimeError(
                        f"{len(stored)} contacts stored for {mails * repeats + warmup} mails sent"
                    )
            finally:
                await adapter.aclose()
    finally:
        sink.close()
        await sink.wait_closed()
        await store.aclose()
        structlog.configure(**previous)
    return [
        Figure(
            "email.smtp_msgs_per_s",
            statistics.median(ours),
            UNIT,
            statistics.median(base),
            note=f"bare aiosmtpd sink; {connections} connections, memory store",
        )
    ]


async def measure(
    *, mails: int = 2000, connections: int = 8, repeats: int = 3, warmup: int = 50
) -> list[dict[str, Any]]:
    """The figures as dicts: name, value, unit, baseline, ratio."""
    figures = await email_figures(
        mails=mails, connections=connections, repeats=repeats, warmup=warmup
    )
    return [figure.to_dict() for figure in figures]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.email", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 mails, one round")
    args = parser.parse_args(argv)
    sizes = {"mails": 200, "repeats": 1, "warmup": 10} if args.quick else {}
    print(json.dumps(asyncio.run(measure(**sizes)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
