"""The fuzz suite's app: every channel on (``tests.hardening.support.full_rig``) on a sqlite
store, served from a thread with its own event loop, so hypothesis' plain test functions
can drive it: ``live.run(coroutine)`` runs a client call on the app's loop.

Budget: ``SWITCHBOARD_FUZZ_EXAMPLES`` examples per target (default 40, what CI runs; set
it to 2000 for a long run). CI runs derandomized, so a failure there fails the same way
on every machine; a long run draws fresh examples each time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

from queues import Store, open_store
from tests.conftest import FakeClock
from tests.hardening.support import Rig, full_rig

T = TypeVar("T")

EXAMPLES = int(os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "40"))
LONG = EXAMPLES > 200
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not LONG,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
#: How much the process may grow over a module's examples (RSS, MiB): bounded, not leaking.
MAX_GROWTH_MB = 200


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class LiveRig:
    """The app on a loop in a thread; ``rig`` is its ``Rig`` (helpers for every channel)."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp_path = tmp_path
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._exit: Callable[[], Coroutine[Any, Any, None]] | None = None
        self.rig: Rig | None = None
        self.start_mb = 0.0

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    @property
    def live(self) -> Rig:
        assert self.rig is not None
        return self.rig

    def start(self) -> None:
        self._thread.start()
        self.run(self._start())
        self.start_mb = rss_mb()

    async def _start(self) -> None:
        clock = FakeClock()
        store = await open_store(f"sqlite:///{self._tmp_path / 'fuzz.db'}", clock=clock)
        stack = contextlib.AsyncExitStack()
        stack.push_async_callback(store.aclose)
        self.rig = await stack.enter_async_context(_rig(self._tmp_path, store, clock))
        self._exit = stack.aclose

    def stop(self) -> None:
        try:
            if self._exit is not None:
                self.run(self._exit())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def grew_mb(self) -> float:
        return rss_mb() - self.start_mb

    def server_tasks(self) -> int:
        return self.run(_tasks())


async def _tasks() -> int:
    return len(asyncio.all_tasks())


@contextlib.asynccontextmanager
async def _rig(tmp_path: Path, store: Store, clock: FakeClock) -> AsyncIterator[Rig]:
    async with full_rig(tmp_path, store, clock) as rig:
        yield rig


@contextlib.contextmanager
def live_rig() -> Iterator[LiveRig]:
    with tempfile.TemporaryDirectory(prefix="sb-fuzz-") as tmp:
        live = LiveRig(Path(tmp))
        live.start()
        try:
            yield live
        finally:
            live.stop()
