"""The collector's full passes in ``switchboard run``: on the memory store what survives one
is frozen, so the next walks only what came since; a long one is logged."""

from __future__ import annotations

import asyncio
import gc

import structlog
from structlog.testing import capture_logs

from router.app.collector import freeze_after_full_passes, log_long_passes


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
        gc.unfreeze()  # the rest of this process's tests collect as usual
        gc.unfreeze()
    gc.collect(2)
    await asyncio.sleep(0)
    assert gc.get_freeze_count() == 0 and len(more) == 1_000


async def test_a_long_full_pass_is_logged_from_the_loop_and_a_short_one_is_not() -> None:
    loop = asyncio.get_running_loop()
    stop = log_long_passes(loop, threshold_ms=0.0)  # every full pass is "long"
    structlog.contextvars.bind_contextvars(contact_id="c1")  # a request's, while it runs
    try:
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            gc.collect(1)  # not a full pass
            await asyncio.sleep(0)
            assert logs == []
            gc.collect(2)
            assert logs == []  # not from inside the collection
            await asyncio.sleep(0)
        assert [entry["event"] for entry in logs] == ["gc_full_pass"]
        assert "contact_id" not in logs[0]  # not the request's line
        assert logs[0]["ms"] >= 0 and logs[0]["frozen"] == gc.get_freeze_count()
    finally:
        stop()
        structlog.contextvars.clear_contextvars()
    stop = log_long_passes(loop, threshold_ms=60_000.0)
    try:
        with capture_logs() as logs:
            gc.collect(2)
            await asyncio.sleep(0)
        assert logs == []
    finally:
        stop()


async def test_what_full_passes_froze_is_thawed_every_so_often() -> None:
    kept = [[n] for n in range(1_000)]
    stop = freeze_after_full_passes(asyncio.get_running_loop(), thaw_every_s=0.05)
    try:
        gc.collect(2)
        await asyncio.sleep(0)
        assert gc.get_freeze_count() >= len(kept)
        await asyncio.sleep(0.1)  # thawed: the next full pass walks them again
        assert gc.get_freeze_count() == 0
        gc.collect(2)
        await asyncio.sleep(0)
        assert gc.get_freeze_count() >= len(kept)  # and frozen after it again
    finally:
        stop()
        gc.unfreeze()
