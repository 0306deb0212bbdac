"""The whole store contract on a real 3-master Redis Cluster, plus what only a cluster shows.

The cluster client refuses a script whose declared keys map to different slots, and the
server refuses a script (they all start with ``#!lua``) that touches a key of another slot,
even one it builds itself; so every contract test passing here shows that every script the
store runs is single-slot.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, ResponseError

from queues import Channel, Contact, ContactState, Direction, Message, open_store
from queues.redis.cluster import split_url
from queues.redis.keys import (
    SHARDS,
    entry_prefix,
    flow_key,
    leased_key,
    queued_key,
    ready_key,
    shard_tag,
    team_events_key,
    team_tag,
)
from queues.redis.locate import team_keys
from queues.redis.store import RedisStore
from tests.conftest import FakeClock
from tests.queues import (
    test_buckets,
    test_contract,
    test_contract_account,
    test_contract_capacity,
    test_contract_erase,
    test_contract_meta,
    test_contract_shared,
    test_contract_turn,
    test_contract_turn_enqueue,
    test_contract_windows,
)
from tests.redis_server import redis_cluster

pytestmark = pytest.mark.slow

STORE_BACKENDS = ["cluster"]

# Every contract test, collected again in this module, where make_store opens cluster stores.
for _module in (
    test_contract,
    test_contract_shared,
    test_buckets,
    test_contract_windows,
    test_contract_capacity,
    test_contract_erase,
    test_contract_account,
    test_contract_turn,
    test_contract_turn_enqueue,
    test_contract_meta,
):
    globals().update(
        {
            name: test
            for name, test in vars(_module).items()
            if name.startswith("test_")
            and {"store", "make_store"} & set(inspect.signature(test).parameters)
        }
    )


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as url:
        yield url


async def _admin(url: str) -> RedisCluster:
    client = RedisCluster.from_url(split_url(url)[0], decode_responses=True)
    await client.initialize()
    return client


@pytest.fixture
async def make_store(cluster_url: str) -> AsyncIterator[object]:
    """Like the suite's make_store (tests/conftest.py), on the cluster."""
    opened: list[RedisStore] = []

    async def make(clock: FakeClock | None = None, *, fresh: bool = True) -> object:
        if fresh and not opened:
            admin = await _admin(cluster_url)
            await admin.flushall(target_nodes=RedisCluster.PRIMARIES)
            await admin.aclose()
        store = await open_store(cluster_url, clock=clock)
        assert isinstance(store, RedisStore)
        opened.append(store)
        return store

    make.backend = "redis"  # type: ignore[attr-defined]
    yield make
    for store in opened:
        await store.aclose()


async def test_the_url_option_or_the_server_chooses_cluster_mode(cluster_url: str) -> None:
    plain, flag = split_url(cluster_url)
    assert flag is True and "cluster" not in plain
    async with await RedisStore.open(plain) as detected:  # no option: INFO cluster decides
        assert isinstance(detected._redis, RedisCluster)
    with pytest.raises(ValueError, match="cluster=maybe"):
        split_url(plain + "?cluster=maybe")


async def test_a_script_spanning_two_tags_is_refused(make_store: object, clock: FakeClock) -> None:
    """The guard the suite relies on: the one-Redis enqueue, whose keys span the contact's
    shard and a team, cannot run on a cluster."""
    store = await make_store(clock)  # type: ignore[operator]
    contact = Contact(channel=Channel.SMS, address="+48500", created_at=clock())
    await store.intake(contact, Message(direction=Direction.IN, text="hi", at=clock()))
    keys = [*team_keys("billing", contact.id), flow_key(contact.id)]
    with pytest.raises(RedisClusterException, match="same key slot"):
        await store._scripts.run("enqueue", keys, [contact.id, "billing", "0", "1.0"])
    assert (await store.get_contact(contact.id)).state is ContactState.IN_FLOW
    # A key the script builds itself: requeue in billing, told to find entries in technical.
    await store.enqueue(contact.id, "billing")
    keys = [ready_key("billing"), leased_key("billing"), queued_key("billing")]
    keys.append(team_events_key("billing"))
    args = ["1.0", "billing", entry_prefix("technical"), contact.id]
    with pytest.raises(ResponseError, match=r"same slot|non local key"):
        await store._scripts.run("requeue", keys, args)


async def test_contacts_and_teams_spread_over_the_masters(
    cluster_url: str, make_store: object, clock: FakeClock
) -> None:
    store = await make_store(clock)  # type: ignore[operator]
    admin = await _admin(cluster_url)
    try:
        owners = {
            getattr(admin.get_node_from_key(shard_tag(s)), "name", None) for s in range(SHARDS)
        }
        assert len({admin.keyslot(shard_tag(s)) for s in range(SHARDS)}) == SHARDS
        assert len(owners) == 3
        for team in ("billing", "technical", "domains_hosting"):
            contact = Contact(channel=Channel.SMS, address=f"+48{team}", created_at=clock())
            await store.intake(contact, Message(direction=Direction.IN, text="hi", at=clock()))
            queued = await store.enqueue(contact.id, team, delay_s=60)
            assert queued.state is ContactState.WAITING and queued.team == team
            assert await admin.exists(f"{team_tag(team)}:c:{contact.id}") == 1
    finally:
        await admin.aclose()
