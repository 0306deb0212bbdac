"""Per-key locks held through the store: one holder across processes, a dead holder's lock
runs out, and a key held too long elsewhere is refused so the provider retries."""

from __future__ import annotations

import asyncio

import pytest

from queues import StoreUnavailable
from router.locks import KeyLocks
from tests.conftest import StoreMaker


async def test_two_processes_never_hold_one_key_at_once(make_store: StoreMaker) -> None:
    # Two stores on one file or server, as two router processes have (memory: one store).
    first = await make_store()
    second = first if make_store.backend == "memory" else await make_store(fresh=False)
    locks = [KeyLocks(first), KeyLocks(second)]
    inside: list[int] = []
    most = 0

    async def work(n: int) -> None:
        nonlocal most
        async with locks[n % 2].hold("sms:+48500100200"):
            inside.append(n)
            most = max(most, len(inside))
            await asyncio.sleep(0.002)
            inside.remove(n)

    await asyncio.gather(*(work(n) for n in range(20)))
    assert most == 1


async def test_other_keys_do_not_wait(make_store: StoreMaker) -> None:
    store = await make_store()
    locks = KeyLocks(store)
    async with locks.hold("a"):
        async with asyncio.timeout(2):
            async with KeyLocks(store).hold("b"):
                pass


async def test_a_dead_holders_lock_runs_out(make_store: StoreMaker) -> None:
    store = await make_store()
    assert await store.acquire_lock("lock:chat:1", "a-process-that-died", ttl_s=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with KeyLocks(store, ttl_s=5).hold("chat:1"):
        waited = loop.time() - started
    assert 0.2 <= waited < 3


async def test_a_key_held_elsewhere_too_long_is_refused(make_store: StoreMaker) -> None:
    store = await make_store()
    assert await store.acquire_lock("lock:chat:1", "another-process", ttl_s=30)
    with pytest.raises(StoreUnavailable, match="held by another process"):
        async with KeyLocks(store, wait_s=0.2).hold("chat:1"):
            pass
    await store.release_lock("lock:chat:1", "another-process")
    async with KeyLocks(store, wait_s=0.2).hold("chat:1"):
        pass
