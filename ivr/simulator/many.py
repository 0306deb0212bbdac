"""Many simulated calls at once (``switchboard call --calls N --concurrency C``), summarised."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp

from ivr.simulator.api import TwilioApi
from ivr.simulator.call import Call, CallResult, CallSpec, Outcome, Signer, new_call_sid
from ivr.simulator.keys import ScriptKeys

__all__ = ["Summary", "percentile", "place_calls", "summarise"]


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 < p <= 100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True, slots=True)
class Summary:
    calls: int
    connected: int
    abandoned: int
    hung_up: int
    ended: int
    errors: int
    requests: int
    elapsed_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "connected": self.connected,
            "abandoned": self.abandoned,
            "hung_up": self.hung_up,
            "ended": self.ended,
            "errors": self.errors,
            "requests": self.requests,
            "elapsed_s": round(self.elapsed_s, 3),
            "calls_per_s": round(self.calls_per_s, 2),
            "step_latency_ms": {
                "p50": round(self.p50_ms, 3),
                "p95": round(self.p95_ms, 3),
                "p99": round(self.p99_ms, 3),
            },
        }

    def render(self) -> str:
        return (
            f"{self.calls} calls in {self.elapsed_s:.2f} s ({self.calls_per_s:.1f} calls/s): "
            f"{self.connected} connected, {self.abandoned} abandoned, {self.hung_up} hung up "
            f"in the flow, {self.ended} ended by the IVR, {self.errors} errors\n"
            f"step latency over {self.requests} requests: p50 {self.p50_ms:.1f} ms, "
            f"p95 {self.p95_ms:.1f} ms, p99 {self.p99_ms:.1f} ms"
        )


def summarise(results: Sequence[CallResult], elapsed_s: float) -> Summary:
    def count(outcome: Outcome) -> int:
        return sum(1 for r in results if r.outcome is outcome)

    latencies = [ms for r in results for ms in r.latencies_ms]
    return Summary(
        calls=len(results),
        connected=count(Outcome.CONNECTED),
        abandoned=count(Outcome.ABANDONED),
        hung_up=count(Outcome.HUNG_UP),
        ended=count(Outcome.ENDED),
        errors=count(Outcome.ERROR),
        requests=len(latencies),
        elapsed_s=elapsed_s,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
    )


def caller_number(index: int) -> str:
    """A distinct Polish mobile number per simulated caller."""
    return f"+4860{index % 10_000_000:07d}"


async def place_calls(
    spec: CallSpec,
    answers: Sequence[str],
    *,
    calls: int,
    concurrency: int,
    sign: Signer | None,
    session: aiohttp.ClientSession | None = None,
    api: TwilioApi | None = None,
) -> tuple[list[CallResult], Summary]:
    """Place ``calls`` scripted calls, at most ``concurrency`` at once, each with its own
    CallSid and caller number; returns every result and their summary."""
    if calls < 1 or concurrency < 1:
        raise ValueError(f"calls ({calls}) and concurrency ({concurrency}) must be 1 or more")
    gate = asyncio.Semaphore(concurrency)
    client = session or aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max(100, concurrency)),
        timeout=aiohttp.ClientTimeout(total=60),
    )

    async def one(index: int) -> CallResult:
        async with gate:
            caller = replace(spec, call_sid=new_call_sid(), from_number=caller_number(index))
            return await Call(client, caller, ScriptKeys(answers), sign=sign, api=api).run()

    start = time.perf_counter()
    try:
        results = list(await asyncio.gather(*(one(i) for i in range(calls))))
    finally:
        if session is None:
            await client.close()
    return results, summarise(results, time.perf_counter() - start)
