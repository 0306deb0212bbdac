"""Keeping the garbage collector's full passes short in ``switchboard run``.

What start-up made lives as long as the process: it is frozen once the router is up
(``gc.freeze``), so full passes skip it. On the memory store every contact and message the
process ever took stays in the heap too, so a full pass would walk all of them: 460 ms at
100,000 contacts, the p99 of every request running then. ``freeze_after_full_passes`` freezes
what survived each full pass, so the next walks only what came since. (Cycles frozen that
way are never collected; on the memory store what survives a full pass is the store itself.
The other stores keep their records outside the process and need no more than the freeze
at start, so they do not use it.)
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any

__all__ = ["freeze_after_full_passes", "freeze_start_up"]


def freeze_start_up() -> None:
    """Collect, then freeze everything alive: the start-up's modules, config, directories."""
    gc.collect()
    gc.freeze()


def freeze_after_full_passes(loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """After every full collection, freeze its survivors (on the event loop's thread, soon
    after); returns the function that stops it."""

    def after(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2 and not loop.is_closed():
            loop.call_soon_threadsafe(gc.freeze)

    gc.callbacks.append(after)
    return lambda: gc.callbacks.remove(after)
