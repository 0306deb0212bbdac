"""Issue 14: agent capacity holds across two real `switchboard run` processes on one Redis
(and a Redis Cluster): fifty claims at once through A and B never give an agent more
contacts of a channel than the shipped capacity allows, and a resolve keeps its slot for
the wrap-up. The routers run the shipped desk (``write_config(desk=None)``)."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.multiprocess.support import (
    TECHNICAL_AGENTS,
    Http,
    Pair,
    Router,
    Services,
    started,
    store_of,
    write_config,
)
from tests.redis_server import redis_cluster, redis_server

pytestmark = pytest.mark.slow

SMS_CAPACITY = 5  # config.yaml desk.capacity.sms
_numbers = itertools.count(random.randrange(10_000) * 1000 + 500)


@pytest.fixture(scope="module", params=["redis", "cluster"])
def pair(
    request: pytest.FixtureRequest, services: Services, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    """A and B with the shipped capacity and wrap-up (the suite's others run without)."""
    backend = str(request.param)
    workdir = tmp_path_factory.mktemp(f"capacity-{backend}")
    with ExitStack() as stack:
        if backend == "cluster":
            url = stack.enter_context(redis_cluster(workdir / "redis"))
        else:
            url = stack.enter_context(redis_server(workdir / "redis"))
        config = write_config(
            workdir / "config.yaml",
            data_dir=workdir / "var",
            telegram_url=services.telegram.base_url,
            relay_port=services.relay_port,
            desk=None,
        )
        logs = workdir / "logs"
        a, b = stack.enter_context(
            started([Router("a", config, url, logs), Router("b", config, url, logs)])
        )
        yield Pair(backend, url, a, b, services, workdir)


async def test_fifty_claims_through_a_and_b_never_exceed_an_agents_capacity(
    pair: Pair, http: Http
) -> None:
    a, b = pair.both
    for agent in TECHNICAL_AGENTS:
        await http.ok(a, agent, "POST", "/api/presence", {"status": "available"})
    gate = asyncio.Semaphore(10)

    async def queue(n: int) -> str:
        async with gate:
            first, second = (a, b) if n % 2 else (b, a)
            return await http.sms_contact(f"+4861{next(_numbers):07d}", first, second)

    many = 60
    created = await asyncio.gather(*(queue(n) for n in range(many)))
    assert (await http.queues(a))["technical"]["waiting"] == many

    # Fifty claims at once: the five technical agents in turn, through A and B in turn.
    agents = [TECHNICAL_AGENTS[n % len(TECHNICAL_AGENTS)] for n in range(50)]
    answers = await asyncio.gather(
        *(
            http.api(a if n % 2 else b, agent, "POST", "/api/claim", {"teams": ["technical"]})
            for n, agent in enumerate(agents)
        )
    )
    replies = zip(agents, answers, strict=True)
    got = [(agent, body) for agent, (status, body) in replies if status == 200]
    assert all(status in (200, 204) for status, _ in answers), answers
    ids = [body["id"] for _, body in got]
    assert len(ids) == len(set(ids)), "a contact given twice"
    per_agent = Counter(agent for agent, _ in got)
    # Each agent ends with exactly their SMS capacity: never more, and no claim refused
    # while they had room (ten claims each, capacity five).
    assert per_agent == dict.fromkeys(TECHNICAL_AGENTS, SMS_CAPACITY), per_agent
    assert (await http.queues(b))["technical"]["waiting"] == many - len(ids)
    async with store_of(pair) as store:
        for agent in TECHNICAL_AGENTS:
            assert await store.agent_load(agent) == {"sms": SMS_CAPACITY}
    for router in pair.both:
        me = await http.ok(router, "ania", "GET", "/api/me")
        assert me["load"] == {"sms": SMS_CAPACITY} and me["capacity"]["limits"]["sms"] == 5

    # A resolve through A keeps the slot for the wrap-up: a claim through B gets nothing.
    ania = next(body["id"] for agent, body in got if agent == "ania")
    await http.ok(a, "ania", "POST", f"/api/contacts/{ania}/resolve", {"disposition": "solved"})
    status, _ = await http.api(b, "ania", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 204
    me = await http.ok(b, "ania", "GET", "/api/me")
    assert me["load"] == {"sms": SMS_CAPACITY}  # four held, one wrapping up
    # A release frees a slot at once, for whichever process claims next.
    tomek = next(body["id"] for agent, body in got if agent == "tomek")
    await http.ok(b, "tomek", "POST", f"/api/contacts/{tomek}/release")
    status, again = await http.api(a, "tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200 and again["agent"] == "tomek"
    assert set(created) >= set(ids)
