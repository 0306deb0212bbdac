from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from queues import Store, open_store
from tests.redis_server import env_redis_url, redis_server

BACKENDS = ["memory", "sqlite", "redis"]


class FakeClock:
    """A clock the test moves by hand; starts on Wednesday 2026-11-18 11:06:40 UTC (open)."""

    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return round(self.now, 6)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = env_redis_url()
    if url is not None:
        yield url
        return
    with redis_server(tmp_path_factory.mktemp("redis")) as started:
        yield started


async def flush_redis(url: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


class StoreMaker:
    """Opens stores of one backend for a test (``await make_store(clock)``); closes them all."""

    def __init__(self, backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.backend = backend
        self._request = request
        self._tmp_path = tmp_path
        self.opened: list[Store] = []

    async def __call__(self, clock: FakeClock | None = None, *, fresh: bool = True) -> Store:
        if self.backend == "memory":
            url = "memory://"
        elif self.backend == "sqlite":
            url = f"sqlite:///{self._tmp_path / 'store.db'}"
        else:
            url = self._request.getfixturevalue("redis_url")
            if fresh and not self.opened:
                await flush_redis(url)
        store = await open_store(url, clock=clock)
        self.opened.append(store)
        return store


@pytest.fixture
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreMaker]:
    """Open stores of the test's backend (param), all closed at teardown."""
    maker = StoreMaker(request.param, request, tmp_path)
    yield maker
    for store in maker.opened:
        await store.aclose()


@pytest.fixture
async def store(make_store: StoreMaker, clock: FakeClock) -> Store:
    return await make_store(clock)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "make_store" in metafunc.fixturenames and "backend" not in metafunc.fixturenames:
        # A test module may narrow the backends with STORE_BACKENDS = [...].
        backends = getattr(metafunc.module, "STORE_BACKENDS", BACKENDS)
        metafunc.parametrize("make_store", backends, indirect=True)
