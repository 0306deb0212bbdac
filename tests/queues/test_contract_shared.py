"""The store contract for state several processes share: documents with compare-and-set,
locks with a time to live, and the outbox. Every backend passes the same suite."""

from __future__ import annotations

import asyncio

from queues import Store
from tests.conftest import FakeClock


# -- documents -------------------------------------------------------------------------------
async def test_documents_by_kind_and_key(store: Store) -> None:
    assert await store.get_doc("account", "jan") == (None, "")
    assert await store.all_docs("account") == {}
    tag = await store.put_doc("account", "jan", {"name": "Jan", "services": [], "n": 1.25})
    assert tag
    await store.put_doc("agent", "jan", {"teams": ["billing"]})
    assert await store.get_doc("account", "jan") == (
        {"name": "Jan", "services": [], "n": 1.25},
        tag,
    )
    assert await store.all_docs("account") == {"jan": {"name": "Jan", "services": [], "n": 1.25}}
    await store.delete_doc("account", "jan")
    assert await store.get_doc("account", "jan") == (None, "")
    assert await store.all_docs("agent") == {"jan": {"teams": ["billing"]}}


async def test_document_compare_and_set(store: Store) -> None:
    first = await store.put_doc("presence", "ania", {"n": 1}, tag="")
    assert first is not None
    assert await store.put_doc("presence", "ania", {"n": 9}, tag="") is None  # exists now
    second = await store.put_doc("presence", "ania", {"n": 2}, tag=first)
    assert second is not None and second != first
    assert await store.put_doc("presence", "ania", {"n": 3}, tag=first) is None  # stale
    assert await store.get_doc("presence", "ania") == ({"n": 2}, second)


async def test_concurrent_compare_and_set_loses_no_update(store: Store) -> None:
    await store.put_doc("counter", "c", {"n": 0})

    async def bump() -> None:
        while True:
            data, tag = await store.get_doc("counter", "c")
            assert data is not None
            if await store.put_doc("counter", "c", {"n": data["n"] + 1}, tag=tag) is not None:
                return

    await asyncio.gather(*(bump() for _ in range(20)))
    assert (await store.get_doc("counter", "c"))[0] == {"n": 20}


# -- locks -----------------------------------------------------------------------------------
async def test_lock_has_one_holder_until_released(store: Store) -> None:
    assert await store.acquire_lock("contact:1", "a", ttl_s=30)
    assert not await store.acquire_lock("contact:1", "b", ttl_s=30)
    assert await store.acquire_lock("contact:1", "a", ttl_s=30)  # the holder extends it
    assert await store.acquire_lock("contact:2", "b", ttl_s=30)  # another name is free
    await store.release_lock("contact:1", "b")  # not b's: nothing happens
    assert not await store.acquire_lock("contact:1", "b", ttl_s=30)
    await store.release_lock("contact:1", "a")
    assert await store.acquire_lock("contact:1", "b", ttl_s=30)


async def test_lock_of_a_dead_holder_expires(store: Store, clock: FakeClock) -> None:
    assert await store.acquire_lock("contact:1", "a", ttl_s=5)
    clock.advance(4.9)
    assert not await store.acquire_lock("contact:1", "b", ttl_s=5)
    clock.advance(0.2)
    assert await store.acquire_lock("contact:1", "b", ttl_s=5)
    await store.release_lock("contact:1", "a")  # the late holder cannot free b's lock
    assert not await store.acquire_lock("contact:1", "a", ttl_s=5)


async def test_concurrent_acquires_have_one_winner(store: Store) -> None:
    won = await asyncio.gather(
        *(store.acquire_lock("contact:x", f"p{i}", ttl_s=30) for i in range(30))
    )
    assert won.count(True) == 1


# -- the outbox ------------------------------------------------------------------------------
async def test_parcels_are_taken_in_post_order_with_their_payload(
    store: Store, clock: FakeClock
) -> None:
    assert await store.parcels_pending() == 0
    for n in range(3):
        payload = {"text": f"hello {n}", "at": 1.5, "to": []}
        assert await store.post_parcel(f"p{n}", payload, group=f"chat{n}")
        clock.advance(0.001)
    assert await store.parcels_pending() == 3
    taken = await store.take_parcels(lease_s=30, limit=2)
    assert [p.id for p in taken] == ["p0", "p1"]
    assert taken[0].payload == {"text": "hello 0", "at": 1.5, "to": []}
    assert [p.attempts for p in taken] == [1, 1]
    assert taken[0].due_at == clock() + 30
    # Taken parcels are hidden from other takers during the lease.
    assert [p.id for p in await store.take_parcels(lease_s=30, limit=10)] == ["p2"]
    assert await store.take_parcels(lease_s=30, limit=10) == []


async def test_a_posted_id_is_never_posted_twice(store: Store, clock: FakeClock) -> None:
    assert await store.post_parcel("reply-1", {"text": "a"}, group="g")
    assert not await store.post_parcel("reply-1", {"text": "b"}, group="g")  # pending
    (parcel,) = await store.take_parcels(lease_s=30, limit=10)
    assert await store.settle_parcel("reply-1", parcel.attempts)
    assert await store.parcels_pending() == 0
    assert not await store.post_parcel("reply-1", {"text": "c"}, group="g")  # settled, still known
    assert await store.take_parcels(lease_s=30, limit=10) == []
    clock.advance(7 * 86_400 + 1)
    assert await store.post_parcel("reply-1", {"text": "d"}, group="g")  # forgotten after keep_s


async def test_a_dead_takers_parcel_goes_to_the_next_after_the_lease(
    store: Store, clock: FakeClock
) -> None:
    await store.post_parcel("p", {"text": "x"}, group="g")
    (first,) = await store.take_parcels(lease_s=10, limit=1)
    clock.advance(9)
    assert await store.take_parcels(lease_s=10, limit=1) == []
    clock.advance(2)
    (second,) = await store.take_parcels(lease_s=10, limit=1)
    assert second.attempts == first.attempts + 1
    # The first taker wakes up late: its settle is refused, the second one's counts.
    assert not await store.settle_parcel("p", first.attempts)
    assert not await store.defer_parcel("p", first.attempts, delay_s=5)
    assert await store.settle_parcel("p", second.attempts)
    assert not await store.settle_parcel("p", second.attempts)


async def test_deferred_parcel_comes_back_after_the_delay(store: Store, clock: FakeClock) -> None:
    await store.post_parcel("a", {"n": 1}, group="ga")
    clock.advance(0.001)
    await store.post_parcel("b", {"n": 2}, group="gb")
    (a,) = await store.take_parcels(lease_s=30, limit=1)
    assert await store.defer_parcel("a", a.attempts, delay_s=5)
    assert [p.id for p in await store.take_parcels(lease_s=30, limit=5)] == ["b"]
    clock.advance(5)
    (again,) = await store.take_parcels(lease_s=30, limit=5)
    assert (again.id, again.attempts) == ("a", 2)


async def test_take_by_ids_takes_only_those_that_are_due(store: Store, clock: FakeClock) -> None:
    for name in ("a", "b", "c"):
        await store.post_parcel(name, {"n": name}, group=name)
    assert [p.id for p in await store.take_parcels(lease_s=30, limit=5, ids=["c"])] == ["c"]
    assert await store.take_parcels(lease_s=30, limit=5, ids=["c", "nope"]) == []
    assert [p.id for p in await store.take_parcels(lease_s=30, limit=5)] == ["a", "b"]


async def test_concurrent_takers_never_share_a_parcel(store: Store) -> None:
    for n in range(40):
        await store.post_parcel(f"p{n:02d}", {"n": n}, group=f"g{n}")
    batches = await asyncio.gather(*(store.take_parcels(lease_s=30, limit=3) for _ in range(20)))
    ids = [p.id for batch in batches for p in batch]
    assert len(ids) == len(set(ids)) == 40


async def test_a_group_goes_out_in_post_order_one_at_a_time(store: Store, clock: FakeClock) -> None:
    for n in range(3):
        await store.post_parcel(f"chat-{n}", {"n": n}, group="telegram:42")
        clock.advance(0.001)
    await store.post_parcel("other", {"n": 9}, group="telegram:7")
    first = await store.take_parcels(lease_s=30, limit=10)
    assert [p.id for p in first] == ["chat-0", "other"]  # the rest of 42's line waits
    assert await store.defer_parcel("chat-0", first[0].attempts, delay_s=5)
    clock.advance(3)
    assert await store.take_parcels(lease_s=30, limit=10) == []  # still behind chat-0
    clock.advance(2)
    (again,) = await store.take_parcels(lease_s=30, limit=10)
    assert again.id == "chat-0"
    assert await store.settle_parcel("chat-0", again.attempts)
    (second,) = await store.take_parcels(lease_s=30, limit=10)
    assert second.id == "chat-1"  # due once the one before it settled
    assert await store.take_parcels(lease_s=30, limit=10, ids=["chat-2"]) == []
    assert await store.settle_parcel("chat-1", second.attempts)
    assert [p.id for p in await store.take_parcels(lease_s=30, limit=10)] == ["chat-2"]
    assert await store.parcels_pending() == 2  # chat-2 (taken) and other (taken)
