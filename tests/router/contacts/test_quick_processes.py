"""The cross-process same-sender race: two routers on one Redis, each with its own store
connection, take first messages from one number at once; quick turns (one script each,
compare-and-set on the session) make one contact with every message kept."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from queues import Direction, Store
from router.contacts.service import ContactService
from tests.conftest import FakeClock, StoreMaker
from tests.router.contacts.test_quick import service_on, sms

STORE_BACKENDS = ["redis"]


@contextlib.asynccontextmanager
async def two_routers(
    one: Store, two: Store, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[ContactService, ContactService]]:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    async with (
        service_on(one, clock, tmp_path / "a") as a,
        service_on(two, clock, tmp_path / "b") as b,
    ):
        yield a, b


async def test_two_routers_taking_one_senders_first_messages_make_one_contact(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> None:
    one, two = await make_store(clock), await make_store(clock, fresh=False)
    async with two_routers(one, two, clock, tmp_path) as (a, b):
        sent = [sms("+48500100303", f"hej {n}", f"SM{n}") for n in range(8)]
        answers = await asyncio.gather(*(
            (a if n % 2 else b).receive(m) for n, m in enumerate(sent)
        ))  # fmt: skip
    assert len({x.contact.id for x in answers}) == 1
    contact = await one.get_contact(answers[0].contact.id)
    kept = sorted(m.text for m in contact.messages if m.direction is Direction.IN)
    assert kept == sorted(m.text or "" for m in sent)
    assert len(await one.list_contacts(address="+48500100303")) == 1
