"""Keeping the garbage collector's full passes short in ``switchboard run``.

What start-up made lives as long as the process: it is frozen once the router is up
(``gc.freeze``), so full passes skip it. What a router holds while it runs lives long too:
on the memory store every contact and message the process ever took (a full pass over
100,000 contacts took 460 ms, the p99 of every request running then); on sqlite and Redis
its chats' connections, calls and caches. In the outage bench a Redis router made a full
pass every ~5 s that walked all of it, 90-120 ms each with 6,000 contacts waiting on it,
and collected next to nothing. ``freeze_after_full_passes`` freezes what survived each
full pass, so the next walks only what came since (that run: 33 passes of 20 ms or more
became 6, the longest 57 ms). Cycles among frozen objects are never collected, so a router
on sqlite or Redis thaws everything every ``THAW_EVERY_S``: the next full pass walks it all
once and collects what died since (a closed chat's connection). On the memory store what
survives a full pass is the store itself, which is never thawed. ``log_long_passes``
logs every full pass of ``LONG_PASS_MS`` or more (``gc_full_pass``).
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import time
from collections.abc import Callable
from typing import Any

import structlog

__all__ = ["THAW_EVERY_S", "freeze_after_full_passes", "freeze_start_up", "log_long_passes"]

log = structlog.get_logger(__name__)

#: How often a router on sqlite or Redis unfreezes what its full passes froze, so that the
#: next one collects the cycles that died among them (a chat's connection, a call's state).
THAW_EVERY_S = 600.0

#: A full pass at least this long is logged (``gc_full_pass``): every request running then
#: waited as long.
LONG_PASS_MS = 20.0


def freeze_start_up() -> None:
    """Collect, then freeze everything alive: the start-up's modules, config, directories."""
    gc.collect()
    gc.freeze()


def freeze_after_full_passes(
    loop: asyncio.AbstractEventLoop, *, thaw_every_s: float | None = None
) -> Callable[[], None]:
    """After every full collection, freeze its survivors (on the event loop's thread, soon
    after), and every ``thaw_every_s`` (None: never) unfreeze everything, so that the next
    full pass collects the cycles that died among them since; returns the function that
    stops it."""

    def after(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2 and not loop.is_closed():
            loop.call_soon_threadsafe(gc.freeze)

    thawing: asyncio.TimerHandle | None = None

    def thaw(every_s: float) -> None:
        nonlocal thawing
        gc.unfreeze()
        thawing = loop.call_later(every_s, thaw, every_s)

    if thaw_every_s is not None:
        thawing = loop.call_later(thaw_every_s, thaw, thaw_every_s)
    gc.callbacks.append(after)

    def stop() -> None:
        gc.callbacks.remove(after)
        if thawing is not None:
            thawing.cancel()

    return stop


def log_long_passes(
    loop: asyncio.AbstractEventLoop, threshold_ms: float = LONG_PASS_MS
) -> Callable[[], None]:
    """Log every full collection that took ``threshold_ms`` or more (``gc_full_pass``: how
    long, what it collected, how many objects are frozen), from the event loop soon after
    (a collection may start anywhere, even inside the log writer); returns the function
    that stops it."""
    began = 0.0

    def timed(phase: str, info: dict[str, Any]) -> None:
        nonlocal began
        if info["generation"] != 2:
            return
        if phase == "start":
            began = time.perf_counter()
            return
        ms = (time.perf_counter() - began) * 1000
        if ms >= threshold_ms and not loop.is_closed():
            # In a context of its own: not the one of the request that was running.
            report = (ms, info["collected"], gc.get_freeze_count())
            loop.call_soon_threadsafe(_report, *report, context=contextvars.Context())

    gc.callbacks.append(timed)
    return lambda: gc.callbacks.remove(timed)


def _report(ms: float, collected: int, frozen: int) -> None:
    log.warning("gc_full_pass", ms=round(ms, 1), collected=collected, frozen=frozen)
