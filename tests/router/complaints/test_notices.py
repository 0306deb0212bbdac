"""Delay notices on a fake clock, on every backend: a complaint still open near its due date
tells the holder once (email, else SMS, else the agent is told); a resolved one does not;
two processes send one; and a look at what is due reads the same however many contacts wait.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from typing import Any

import pytest

from channels import Courier
from queues import Channel, Contact, Direction, Message, Store
from router.complaints import NOTICE_EVENT, ComplaintDesk, NoticeWatch
from router.http.complaints_api import COMPLAINTS
from tests.router.complaints.support import submit
from tests.router.conftest import Desk
from tests.router.testchannel import TestChannel

STORE_BACKENDS = ["memory", "sqlite", "redis"]

#: Complaints come on Wednesday 2026-11-18 12:06:40 Warsaw time (the desk's clock): due 14
#: business days later, Tuesday 2026-12-08; the notice 2 business days before, on Friday
#: 2026-12-04 at the same time.
NOTICE_AT = 1_796_382_400.0


@pytest.fixture(autouse=True)
def mail(desk: Desk) -> TestChannel:
    outbox = TestChannel(channel=Channel.EMAIL)
    desk.ctx.courier.senders[Channel.EMAIL] = outbox
    return outbox


def complaints(desk: Desk, store: Store | None = None) -> ComplaintDesk:
    """The app's complaint desk, or one like it on another connection to the store (what
    another router process has)."""
    if store is None:
        return desk.client.app[COMPLAINTS]
    ctx = desk.ctx
    return ComplaintDesk(
        store=store,
        routing=ctx.routing,
        accounts=ctx.accounts,
        courier=Courier(store, clock=desk.clock),
        keywords=ctx.config.book.keywords,
        team_names={},
        timezone=ctx.config.timezone,
        clock=desk.clock,
        notice_business_days=ctx.config.complaints.notice_business_days,
    )


def watch(desk: Desk, on: ComplaintDesk, store: Store | None = None) -> NoticeWatch:
    return NoticeWatch(
        store or desk.ctx.store, on.notices, on.send_notice, clock=desk.clock, check_s=60
    )


async def notices(desk: Desk, mail: TestChannel) -> list[str]:
    assert await desk.ctx.courier.join()
    return [r.text for r in mail.sent if "wciąż rozpatrywana" in r.text]


async def test_the_notice_time_is_two_business_days_before_the_due_date(desk: Desk) -> None:
    hours = desk.ctx.routing.hours["technical"]
    start = desk.clock()
    assert hours.add_business_days(start, 12) == NOTICE_AT
    assert hours.add_business_days(start, 14) - NOTICE_AT == 4 * 86400  # Fri -> Tue


async def test_a_delay_notice_goes_once_when_the_due_date_is_near(
    desk: Desk, mail: TestChannel
) -> None:
    receipt = await submit(desk.client)
    watcher = watch(desk, complaints(desk))
    assert await watcher.tick() == 0
    desk.clock.advance(NOTICE_AT - 1 - desk.clock())
    assert await watcher.tick() == 0
    assert await notices(desk, mail) == []
    desk.clock.advance(2)
    assert await watcher.tick() == 1
    [notice] = await notices(desk, mail)
    assert "reklamacja nr 2026/00001" in notice and "2026-12-08" in notice
    sent = next(r for r in mail.sent if r.text == notice)
    assert sent.address == "jan@example.net" and sent.auto
    assert sent.meta["email"] == {"subject": "Reklamacja nr 2026/00001"}
    desk.clock.advance(86400)
    assert await watcher.tick() == 0
    assert len(await notices(desk, mail)) == 1
    [contact] = await desk.ctx.store.list_contacts(channel="form")
    events = [e for e in await desk.ctx.store.events(contact.id) if e.kind == NOTICE_EVENT]
    assert [e.data for e in events] == [{"sent_by": "email"}]
    history = (await desk.ctx.store.get_contact(contact.id)).messages
    assert history[-1].text == notice and history[-1].direction is Direction.OUT
    assert receipt["number"] == "2026/00001"


async def test_a_resolved_complaint_gets_no_notice(desk: Desk, mail: TestChannel) -> None:
    await submit(desk.client, full_name="Jan Kowalski")
    await submit(desk.client, full_name="Anna Nowak", email="anna@example.net")
    status, first = await desk.api("tomek", "POST", "/api/claim", {})
    assert status == 200
    await desk.api("tomek", "POST", f"/api/contacts/{first['id']}/resolve", {})
    desk.clock.advance(NOTICE_AT + 60 - desk.clock())
    assert await watch(desk, complaints(desk)).tick() == 1
    [notice] = await notices(desk, mail)
    assert next(r for r in mail.sent if r.text == notice).address == "anna@example.net"


async def test_without_email_the_notice_goes_by_sms(desk: Desk, mail: TestChannel) -> None:
    await submit(desk.client, email=None, answer_by="phone")
    desk.clock.advance(NOTICE_AT + 60 - desk.clock())
    assert await watch(desk, complaints(desk)).tick() == 1
    assert await desk.ctx.courier.join()
    [sms] = desk.channels[Channel.SMS].sent
    assert sms.address == "+48500100200" and "2026/00001" in sms.text


async def test_with_no_way_to_send_it_the_agent_is_told(desk: Desk, mail: TestChannel) -> None:
    del desk.ctx.courier.senders[Channel.SMS]  # no SMS channel runs
    await submit(desk.client, email=None, answer_by="letter", postal_address="ul. Polna 1")
    desk.clock.advance(NOTICE_AT + 60 - desk.clock())
    assert await watch(desk, complaints(desk)).tick() == 0
    [contact] = await desk.ctx.store.list_contacts(channel="form")
    events = [e for e in await desk.ctx.store.events(contact.id) if e.kind == NOTICE_EVENT]
    assert [e.data for e in events] == [{"sent_by": None}]


async def test_two_processes_send_one_notice(
    desk: Desk, mail: TestChannel, make_store: Any
) -> None:
    for n in range(3):
        await submit(desk.client, full_name=f"Klient {n}", email=f"k{n}@example.net")
    shared = desk.ctx.store
    other = shared if make_store.backend == "memory" else await make_store(desk.clock, fresh=False)
    watchers = [watch(desk, complaints(desk)), watch(desk, complaints(desk, other), other)]
    desk.clock.advance(NOTICE_AT + 60 - desk.clock())
    sent = 0
    for _ in range(3):
        sent += sum(await asyncio.gather(*(w.tick() for w in watchers)))
    assert sent == 3
    assert len(await notices(desk, mail)) == 3  # (delivered by the first process's courier)
    assert sorted(r.address for r in mail.sent if "wciąż" in r.text) == [
        "k0@example.net",
        "k1@example.net",
        "k2@example.net",
    ]


class Counting:
    """A store that counts the calls made to it."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await attr(*args, **kwargs)

        return call


async def crowd(store: Store, desk: Desk, n: int) -> None:
    for i in range(n):
        contact = Contact(channel=Channel.SMS, address=f"+4860000{i:04d}", created_at=desk.clock())
        await store.intake(contact, Message(Direction.IN, "faktura", desk.clock()))
        await store.enqueue(contact.id, "billing")


async def test_looking_for_notices_costs_the_same_however_many_wait(desk: Desk) -> None:
    await submit(desk.client)
    counted = Counting(desk.ctx.store)
    store: Any = counted
    watcher = watch(desk, complaints(desk), store)
    watcher._book = type(watcher._book)(store)  # the index read through the counter

    async def one_look() -> Counter[str]:
        counted.calls.clear()
        assert await watcher.tick() == 0  # nothing due yet
        return Counter(counted.calls)

    alone = await one_look()
    await crowd(desk.ctx.store, desk, 300)
    desk.clock.advance(3 * 86400)  # some days later: still one or two documents a look
    assert await one_look() == alone
    assert sum(alone.values()) <= 6, alone  # a lock, the cursor, today's day, the release
