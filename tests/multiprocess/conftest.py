"""Fixtures of the two-process suite: routers A and B, started once per backend and module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack

import aiohttp
import pytest
from redis.cluster import RedisCluster

from queues.redis.cluster import split_url
from tests.multiprocess.support import Http, Pair, Router, Services, started, write_config
from tests.redis_server import redis_cluster, redis_server

BACKENDS = ["redis", "cluster"]


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    """The Telegram Bot API and the SMTP relay the routers talk to."""
    with Services() as running:
        yield running


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One 3-master Redis Cluster for the whole suite (starting one takes seconds); each
    module's pair empties it first."""
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as url:
        yield url


def _emptied(url: str) -> str:
    client = RedisCluster.from_url(split_url(url)[0])
    try:
        client.flushall(target_nodes=RedisCluster.PRIMARIES)
    finally:
        client.close()
    return url


@pytest.fixture(scope="module", params=BACKENDS)
def pair(
    request: pytest.FixtureRequest, services: Services, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    """Two `switchboard run --demo` processes on one store, sharing one data dir and config
    as README's "Several processes on one Redis" says; stopped (or killed) on the way out."""
    backend = str(request.param)
    workdir = tmp_path_factory.mktemp(f"two-{backend}")
    with ExitStack() as stack:
        if backend == "cluster":
            url = _emptied(request.getfixturevalue("cluster"))
        else:
            url = stack.enter_context(redis_server(workdir / "redis"))
        config = write_config(
            workdir / "config.yaml",
            data_dir=workdir / "var",
            telegram_url=services.telegram.base_url,
            relay_port=services.relay_port,
        )
        logs = workdir / "logs"
        a, b = stack.enter_context(
            started([Router("a", config, url, logs), Router("b", config, url, logs)])
        )
        yield Pair(backend, url, a, b, services, workdir)


@pytest.fixture
async def http(pair: Pair) -> AsyncIterator[Http]:
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield Http(session, pair)
