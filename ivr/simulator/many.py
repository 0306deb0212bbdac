"""Many simulated calls at once (``switchboard call --calls N --concurrency C``), summarised.

Built for crowds (10,000 callers on hold in one process): a call on hold is a sleeping
task and nothing else (no connection held between its webhooks), transcripts are kept only
when asked for, and ``progress`` is told the live counts every ``progress_s``.

As Twilio does, a webhook gets a connection of its own at once (the pool is not bounded
unless ``connections`` says so; idle ones are reused) and gives up after Twilio's timeouts
(``CallSpec.answer_timeout_s``): what the router sees at once, and what it is given to
answer in, is what Twilio would send it. A bounded pool queued the crowd's webhooks in the
simulator instead, where no timeout applied, and a router too slow for Twilio lost no call.
Calls start at once (at most ``concurrency`` live), or ``rate`` a second, as a crowd dials.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp

from ivr.simulator.api import TwilioApi
from ivr.simulator.call import Call, CallResult, CallSpec, Outcome, Signer, new_call_sid
from ivr.simulator.keys import ScriptKeys
from queues import stop_task

__all__ = ["Progress", "Summary", "percentile", "place_calls", "summarise"]


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 < p <= 100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a crowd stands while it runs."""

    placed: int
    calls: int
    on_hold: int
    connected: int
    abandoned: int
    errors: int
    elapsed_s: float

    def render(self) -> str:
        return (
            f"{self.elapsed_s:7.1f} s  placed {self.placed}/{self.calls}  on hold "
            f"{self.on_hold}  connected {self.connected}  abandoned {self.abandoned}  "
            f"lost {self.errors}"
        )


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
    wait_p50_s: float = 0.0
    wait_p95_s: float = 0.0
    wait_p99_s: float = 0.0
    asked: int = 0  # calls the IVR asked something (the rest hung up or failed before)
    asked_p50_s: float = 0.0  # ... how long after the call began
    asked_p99_s: float = 0.0

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
            "lost": self.errors,
            "step_latency_ms": {
                "p50": round(self.p50_ms, 3),
                "p95": round(self.p95_ms, 3),
                "p99": round(self.p99_ms, 3),
            },
            "wait_s": {
                "p50": round(self.wait_p50_s, 3),
                "p95": round(self.wait_p95_s, 3),
                "p99": round(self.wait_p99_s, 3),
            },
            "asked": self.asked,
            "first_question_s": {
                "p50": round(self.asked_p50_s, 3),
                "p99": round(self.asked_p99_s, 3),
            },
        }

    def render(self) -> str:
        return (
            f"{self.calls} calls in {self.elapsed_s:.2f} s ({self.calls_per_s:.1f} calls/s): "
            f"{self.connected} connected, {self.abandoned} abandoned, {self.hung_up} hung up "
            f"in the flow, {self.ended} ended by the IVR, {self.errors} errors\n"
            f"step latency over {self.requests} requests: p50 {self.p50_ms:.1f} ms, "
            f"p95 {self.p95_ms:.1f} ms, p99 {self.p99_ms:.1f} ms\n"
            f"first question: {self.asked} calls were asked, after p50 {self.asked_p50_s:.1f} s, "
            f"p99 {self.asked_p99_s:.1f} s ({self.calls - self.asked} never were)\n"
            + (
                f"wait on hold of the connected: p50 {self.wait_p50_s:.1f} s, "
                f"p95 {self.wait_p95_s:.1f} s, p99 {self.wait_p99_s:.1f} s"
                if self.connected
                else "wait on hold: no call was connected"
            )
        )


def summarise(results: Sequence[CallResult], elapsed_s: float) -> Summary:
    def count(outcome: Outcome) -> int:
        return sum(1 for r in results if r.outcome is outcome)

    latencies = [ms for r in results for ms in r.latencies_ms]
    waits = [w for r in results if (w := r.waited_s) is not None]
    asked = [a for r in results if (a := r.asked_at_s) is not None]
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
        wait_p50_s=percentile(waits, 50),
        wait_p95_s=percentile(waits, 95),
        wait_p99_s=percentile(waits, 99),
        asked=len(asked),
        asked_p50_s=percentile(asked, 50),
        asked_p99_s=percentile(asked, 99),
    )


def caller_number(index: int) -> str:
    """A distinct Polish mobile number per simulated caller."""
    return f"+4860{index % 10_000_000:07d}"


@dataclass(slots=True)
class _Crowd:
    """The calls of one ``place_calls``: those running and those done, for progress."""

    calls: int
    start: float = field(default_factory=time.perf_counter)
    live: set[Call] = field(default_factory=set)
    done: list[CallResult] = field(default_factory=list)

    async def run(self, call: Call) -> CallResult:
        self.live.add(call)
        try:
            result = await call.run()
        finally:
            self.live.discard(call)
        self.done.append(result)
        return result

    def progress(self) -> Progress:
        finished = {o: sum(1 for r in self.done if r.outcome is o) for o in Outcome}
        return Progress(
            placed=len(self.done) + len(self.live),
            calls=self.calls,
            on_hold=sum(1 for c in self.live if c.on_hold),
            connected=finished[Outcome.CONNECTED],
            abandoned=finished[Outcome.ABANDONED],
            errors=finished[Outcome.ERROR],
            elapsed_s=time.perf_counter() - self.start,
        )

    async def report(self, tell: Callable[[Progress], None], every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            tell(self.progress())


async def place_calls(
    spec: CallSpec,
    answers: Sequence[str],
    *,
    calls: int,
    concurrency: int,
    sign: Signer | None,
    session: aiohttp.ClientSession | None = None,
    api: TwilioApi | None = None,
    progress: Callable[[Progress], None] | None = None,
    progress_s: float = 1.0,
    connections: int | None = None,
    rate: float | None = None,
) -> tuple[list[CallResult], Summary]:
    """Place ``calls`` scripted calls, at most ``concurrency`` at once and, with a ``rate``,
    starting that many a second, each with its own CallSid and caller number, over at most
    ``connections`` HTTP connections (None: one per webhook in flight, as Twilio); returns
    every result and their summary. ``progress`` is told where the crowd stands every
    ``progress_s`` and at the end."""
    if calls < 1 or concurrency < 1:
        raise ValueError(f"calls ({calls}) and concurrency ({concurrency}) must be 1 or more")
    if rate is not None and not rate > 0:
        raise ValueError(f"rate ({rate}) must be above 0")
    gate = asyncio.Semaphore(concurrency)
    client = session or aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections or 0)
    )
    crowd = _Crowd(calls)

    async def one(index: int) -> CallResult:
        if rate is not None:  # the index-th call dials index / rate seconds in
            await asyncio.sleep(crowd.start + index / rate - time.perf_counter())
        async with gate:
            caller = replace(spec, call_sid=new_call_sid(), from_number=caller_number(index))
            return await crowd.run(Call(client, caller, ScriptKeys(answers), sign=sign, api=api))

    reporter = None if progress is None else asyncio.create_task(crowd.report(progress, progress_s))
    try:
        results = list(await asyncio.gather(*(one(i) for i in range(calls))))
    finally:
        await stop_task(reporter)
        if session is None:
            await client.close()
    if progress is not None:
        progress(crowd.progress())
    return results, summarise(results, time.perf_counter() - crowd.start)
