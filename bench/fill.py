"""Filling a networked store's queue fast: several processes, each with its own store.

One process spends most of an intake + enqueue in Python (encoding, redis-py), not waiting
on the server, so concurrent calls in one process stop helping early; worker processes
use the other cores.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from bench.workload import TEAM, fill_queue, set_worker
from queues import open_store

__all__ = ["fill_parallel"]


def _fill_in_worker(worker: int, url: str, count: int, team: str, batch: int) -> None:
    async def fill() -> None:
        store = await open_store(url)
        try:
            await fill_queue(store, count, team=team, batch=batch)
        finally:
            await store.aclose()

    set_worker(worker)
    asyncio.run(fill())


async def fill_parallel(
    url: str, count: int, *, team: str = TEAM, batch: int = 256, workers: int | None = None
) -> None:
    """Put ``count`` new contacts in ``team``'s queue of the store at ``url``, from
    ``workers`` processes (default: one per core; 1 fills from this process)."""
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        store = await open_store(url)
        try:
            await fill_queue(store, count, team=team, batch=batch)
        finally:
            await store.aclose()
        return
    shares = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    loop = asyncio.get_running_loop()
    # spawn, not fork: the parent has a running event loop and open connections.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        await asyncio.gather(
            *(
                loop.run_in_executor(pool, _fill_in_worker, i + 1, url, share, team, batch)
                for i, share in enumerate(shares)
                if share
            )
        )
