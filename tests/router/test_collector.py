"""The collector's full passes in ``switchboard run`` on the memory store: what survives one
is frozen, so the next walks only what came since."""

from __future__ import annotations

import asyncio
import gc

from router.app.collector import freeze_after_full_passes


async def test_survivors_of_a_full_pass_are_frozen_and_stopping_leaves_the_collector_alone() -> (
    None
):
    kept = [[n] for n in range(10_000)]  # a store's records: alive, tracked
    stop = freeze_after_full_passes(asyncio.get_running_loop())
    try:
        before = gc.get_freeze_count()
        gc.collect(2)
        await asyncio.sleep(0)  # the freeze runs on the loop, soon after the pass
        assert gc.get_freeze_count() >= before + len(kept)
        gc.collect(1)  # a younger pass freezes nothing
        await asyncio.sleep(0)
        frozen = gc.get_freeze_count()
        more = [[n] for n in range(1_000)]
        gc.collect(1)
        await asyncio.sleep(0)
        assert gc.get_freeze_count() == frozen
    finally:
        stop()
        gc.unfreeze()
    gc.collect(2)
    await asyncio.sleep(0)
    assert gc.get_freeze_count() == 0 and len(more) == 1_000
