"""Where the outage bench's claim -> connected time goes: how late each process's event loop
runs, how fast the routers answer, and the stages of every voice claim.

A voice claim's way to the caller, each stage stamped with the wall clock of the process
that sees it (one machine, one clock):

- ``claimed``: the router took the contact for the agent (its ``contact_claimed`` log line);
- ``updated``: the REST stand-in received the call update (``StandIn``);
- ``redirected``: the router had the stand-in's answer (``voice_redirected``);
- ``answered``: the agent read the claim's answer (what the figure starts from);
- ``fetched``: the call sent its hold webhook after the redirect (``TimedCall``);
- ``dialing``: the router rendered the ``<Dial>`` (``voice_connecting``);
- ``connected``: the call read the ``<Dial>`` (what the figure ends at).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from ivr.simulator import TwilioApi, percentile

__all__ = [
    "GcPauses",
    "LoopLag",
    "RouterProbe",
    "Stamps",
    "StandIn",
    "fill_stamps",
    "router_stamps",
    "spread",
    "stages",
    "where_it_goes",
]


def spread(values: Sequence[float], scale: float = 1000.0) -> str:
    """``p50/p99/max`` of ``values`` (seconds) in ms, or ``-`` for none."""
    if not values:
        return "-"
    p50, p99 = percentile(values, 50) * scale, percentile(values, 99) * scale
    return f"{p50:.0f}/{p99:.0f}/{max(values) * scale:.0f}"


class LoopLag:
    """How late this process's event loop wakes a short sleep: (wall time, lag s)."""

    def __init__(self, every_s: float = 0.02) -> None:
        self.every_s = every_s
        self.samples: list[tuple[float, float]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(self.every_s)
            self.samples.append((time.time(), max(0.0, loop.time() - t - self.every_s)))

    def between(self, t0: float, t1: float) -> list[float]:
        return [lag for at, lag in self.samples if t0 <= at <= t1]

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class GcPauses:
    """This process's full (generation 2) garbage collections: (wall time, seconds)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float]] = []
        self._began = 0.0

    def start(self) -> None:
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses.append((time.time(), time.perf_counter() - self._began))

    def between(self, t0: float, t1: float) -> list[float]:
        return [s for at, s in self.pauses if t0 <= at <= t1]


class RouterProbe:
    """``GET /healthz`` on each router every ``every_s`` from a thread of its own (not on
    the bench's loop): the router's answer time, mostly its own loop's lag."""

    def __init__(self, urls: Mapping[str, str], every_s: float = 0.1) -> None:
        self.urls = dict(urls)
        self.every_s = every_s
        self.samples: dict[str, list[tuple[float, float]]] = {name: [] for name in urls}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="router-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            for name, url in self.urls.items():
                start = time.perf_counter()
                try:
                    with urllib.request.urlopen(url + "/healthz", timeout=10) as answer:
                        answer.read()
                except OSError:
                    continue
                self.samples[name].append((time.time(), time.perf_counter() - start))

    def between(self, name: str, t0: float, t1: float) -> list[float]:
        return [s for at, s in self.samples[name] if t0 <= at <= t1]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(15)


class StandIn(TwilioApi):
    """The REST stand-in, stamping when each call update arrives (by caller number)."""

    def __init__(self, *, account_sid: str, auth_token: str) -> None:
        super().__init__(account_sid=account_sid, auth_token=auth_token)
        self.updated_at: dict[str, float] = {}

    async def update_call(self, request: web.Request) -> web.Response:
        now = time.time()
        call = self.calls.get(request.match_info["call"])
        if call is not None:
            self.updated_at.setdefault(call.result.from_number, now)
        return await super().update_call(request)


@dataclass
class Stamps:
    """A voice claim's stamps (wall clock seconds), by stage name."""

    contact_id: str
    number: str
    at: dict[str, float] = field(default_factory=dict)


def _wall(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def router_stamps(outputs: Iterable[Path]) -> dict[str, dict[str, float]]:
    """From the routers' JSON log lines: ``claimed`` and ``dialing`` by contact id,
    ``redirected`` by call SID."""
    wanted = {"contact_claimed": "claimed", "voice_connecting": "dialing"}
    found: dict[str, dict[str, float]] = {"claimed": {}, "dialing": {}, "redirected": {}}
    for path in outputs:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if not line.startswith("{") or not (
                    '"contact_claimed"' in line
                    or '"voice_connecting"' in line
                    or '"voice_redirected"' in line
                ):
                    continue
                entry = json.loads(line)
                event, stamp = entry.get("event"), entry.get("timestamp")
                if not isinstance(stamp, str):
                    continue
                if event == "voice_redirected":
                    found["redirected"].setdefault(str(entry.get("call_sid")), _wall(stamp))
                elif event in wanted and "contact_id" in entry:
                    found[wanted[event]].setdefault(str(entry["contact_id"]), _wall(stamp))
    return found


def router_gc_pauses(output: Path, t0: float, t1: float) -> list[float]:
    """A router's full collections of 20 ms or more between ``t0`` and ``t1`` (its
    ``gc_full_pass`` log lines, logged just after), in seconds."""
    pauses = []
    with output.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith("{") and '"gc_full_pass"' in line:
                entry = json.loads(line)
                if t0 <= _wall(str(entry.get("timestamp"))) <= t1:
                    pauses.append(float(entry["ms"]) / 1000)
    return pauses


def fill_stamps(
    claims: Sequence[Stamps], calls: Mapping[str, Mapping[str, Any]], logs: Iterable[Path]
) -> list[float]:
    """Every voice claim's stamps filled in from the crowd's ``calls`` (by number: sid,
    updated, fetched, connected) and the routers' ``logs``; returns the figure's spans
    (the claim in the router -> connected; the claim's answer read when the router's log
    does not say) of the claims put through."""
    found = router_stamps(logs)
    delays = []
    for claim in claims:
        call = calls.get(claim.number, {})
        seen = {
            "claimed": found["claimed"].get(claim.contact_id),
            "updated": call.get("updated"),
            "redirected": found["redirected"].get(str(call.get("sid"))),
            "fetched": call.get("fetched"),
            "dialing": found["dialing"].get(claim.contact_id),
            "connected": call.get("connected"),
        }
        claim.at.update({k: float(v) for k, v in seen.items() if v is not None})
        if "connected" in claim.at:
            start = claim.at.get("claimed", claim.at["answered"])
            delays.append(max(0.0, claim.at["connected"] - start))
    return delays


#: Stage -> (from, to): what each line of ``stages`` measures.
STAGES = {
    "claim -> REST update at the stand-in": ("claimed", "updated"),
    "REST update -> router has its answer": ("updated", "redirected"),
    "claim -> agent reads the claim's answer": ("claimed", "answered"),
    "REST update -> call sends the hold webhook": ("updated", "fetched"),
    "hold webhook sent -> router renders <Dial>": ("fetched", "dialing"),
    "router renders <Dial> -> call reads it": ("dialing", "connected"),
    "claim -> connected (the figure)": ("claimed", "connected"),
    "agent reads the answer -> connected": ("answered", "connected"),
}


def stages(claims: Sequence[Stamps]) -> str:
    """One line per stage: p50/p99/max in ms over the claims that have both stamps."""
    rows = []
    for name, (start, end) in STAGES.items():
        spans = [c.at[end] - c.at[start] for c in claims if start in c.at and end in c.at]
        rows.append(f"  {name:48} {spread(spans):>16} ms  (n={len(spans)})")
    return "\n".join(rows)


def where_it_goes(
    lags: Mapping[str, Sequence[float]],
    shares: Mapping[str, float],
    callers_gc: Sequence[float],
    probe: RouterProbe,
    span: tuple[float, float],
    logs: Path,
    claims: Sequence[Stamps],
) -> str:
    """What the window's claims went through: each bench process's loop lag (and its share
    of a core), the routers' answer times and full collections, and the stages of the
    voice claims."""
    t0, t1 = span
    lines = [f"outage: where claim -> connected goes (p50/p99/max) in the {t1 - t0:.0f} s window"]
    for name, lag in lags.items():
        lines.append(
            f"  {name + ' loop lag':30} {spread(lag):>16} ms  ({shares[name]:.0%} of a core)"
        )
    lines.append(f"  callers' full GC pauses {spread(callers_gc):>22} ms  (n={len(callers_gc)})")
    for name in probe.urls:
        lines.append(f"  router {name} /healthz {spread(probe.between(name, t0, t1)):>29} ms")
        pauses = router_gc_pauses(logs / f"{name}.out", t0, t1)
        lines.append(
            f"  router {name} full GC pauses >= 20 ms {spread(pauses):>14} ms  (n={len(pauses)})"
        )
    lines.append(f"  load average {os.getloadavg()[0]:.1f}")
    return "\n".join([*lines, stages(claims)])
