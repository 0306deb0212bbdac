"""Issue 11: two real `switchboard run` processes, A and B, on one store behave as one router.

The same suite runs on one redis-server and on a 3-master Redis Cluster (``pair``'s params);
the processes start once per backend. A and B share the config and the data dir, as README's
"Several processes on one Redis" says to run them; each has its own HTTP and SMTP port.
Every test leaves the queues empty and every agent available for the next.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import yaml

from tests.multiprocess.support import (
    ALL_AGENTS,
    AUTO_REPLIES_PER_HOUR,
    CHAT_PER_MINUTE,
    LEASE_S,
    ROOT,
    TECHNICAL_AGENTS,
    Http,
    Pair,
    Router,
    new_update,
    send_mail,
    store_of,
    write_config,
)

pytestmark = pytest.mark.slow

_numbers = itertools.count(random.randrange(10_000) * 1000)
#: Agents per team in the suite's config: every demo agent, none on a break or busy.
STAFFED = {"billing": 5, "technical": 5, "domains_hosting": 2}


def new_number() -> str:
    return f"+4860{next(_numbers):07d}"


def prompt(name: str, language: str = "pl") -> str:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    return str(data["prompts"][name][language])


async def all_available(http: Http) -> None:
    for agent in ALL_AGENTS:
        await http.ok(http.pair.a, agent, "POST", "/api/presence", {"status": "available"})


async def drain(http: Http) -> None:
    """Claim and resolve whatever waits; contacts still held (a failed test's) come back when
    their lease ends and are resolved too."""
    a = http.pair.a
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LEASE_S + 5
    waited = False
    while True:
        status, got = await http.api(a, "ania", "POST", "/api/claim", {})
        if status == 200:
            await http.ok(a, "ania", "POST", f"/api/contacts/{got['id']}/resolve", {})
            continue
        assert status == 204, (status, got)
        queues = await http.queues(a)
        if not any(q["assigned"] for q in queues.values()):
            if waited:  # the reapers still count the expired leases off their agents
                await asyncio.sleep(1.0)
            return
        assert loop.time() < deadline, f"contacts stay assigned: {queues}"
        await asyncio.sleep(0.2)
        waited = True


async def ready_desk(http: Http) -> None:
    """Every agent available and holding nothing, nothing waiting: a test starts from here
    whatever the one before it left (a holding count that drifted is set back to 0)."""
    await all_available(http)
    await drain(http)
    async with store_of(http.pair) as store:
        for agent in ALL_AGENTS:
            record, tag = await store.get_doc("presence", agent)
            if record is not None and record.get("holding"):
                await store.put_doc("presence", agent, {**record, "holding": 0}, tag=tag)


async def until(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 5.0, every_s: float = 0.1
) -> None:
    """Wait until the coroutine function ``check`` returns True (a snapshot of presence is
    up to a second old in each process); the caller asserts the outcome afterwards."""
    for _ in range(max(1, round(timeout_s / every_s))):
        if await check():
            return
        await asyncio.sleep(every_s)


async def holding(pair: Pair, agents: tuple[str, ...]) -> dict[str, int]:
    """Each agent's holding count as the store keeps it (the API shows only busy or not)."""
    async with store_of(pair) as store:
        records = {agent: (await store.get_doc("presence", agent))[0] for agent in agents}
    return {agent: int((r or {}).get("holding", 0)) for agent, r in records.items()}


def counts(queues: dict[str, dict[str, Any]], key: str) -> dict[str, int]:
    return {team: int(row[key]) for team, row in queues.items()}


# -- the tests ---------------------------------------------------------------------------
async def test_demo_tokens_printed_by_a_and_b_are_the_same_and_work_on_both(
    pair: Pair, http: Http
) -> None:
    a, b = pair.both
    assert set(ALL_AGENTS) <= set(a.tokens)
    assert b.tokens == a.tokens  # B's start with --demo invalidated none of A's
    for router in (a, b):
        for agent in ALL_AGENTS:
            me = await http.ok(router, agent, "GET", "/api/me")
            assert me["name"] == agent


async def test_a_break_set_through_a_refuses_claims_through_b(pair: Pair, http: Http) -> None:
    a, b = pair.both
    await ready_desk(http)
    contact = await http.sms_contact(new_number(), a, b)
    try:
        await http.ok(a, "tomek", "POST", "/api/presence", {"status": "break"})
        status, body = await http.api(b, "tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status in (204, 409, 422), f"claimed through B while on a break: {status} {body}"
        assert (await http.ok(b, "ania", "GET", f"/api/contacts/{contact}"))["state"] == "waiting"
        assert (await http.ok(b, "tomek", "GET", "/api/me"))["status"] == "break"

        # Back from the break through B: claims through A work again.
        await http.ok(b, "tomek", "POST", "/api/presence", {"status": "available"})
        assert (await http.ok(a, "tomek", "GET", "/api/me"))["status"] == "available"
        got = await http.ok(a, "tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert got["id"] == contact
        await http.ok(b, "tomek", "POST", f"/api/contacts/{contact}/resolve", {})
    finally:
        await all_available(http)


async def test_agents_available_are_the_same_on_a_and_b(pair: Pair, http: Http) -> None:
    a, b = pair.both
    await ready_desk(http)
    seen: dict[str, dict[str, dict[str, Any]]] = {}

    async def agree(available: dict[str, int], busy: dict[str, int]) -> bool:
        seen["a"], seen["b"] = await http.queues(a), await http.queues(b)
        return all(
            counts(q, "agents_available") == available and counts(q, "agents_busy") == busy
            for q in seen.values()
        )

    idle = {team: 0 for team in STAFFED}

    await until(lambda: agree(STAFFED, idle))
    assert counts(seen["a"], "agents_available") == counts(seen["b"], "agents_available")
    assert counts(seen["a"], "agents_available") == STAFFED, seen

    # ola (billing, domains_hosting) goes on a break through A: both say so.
    on_break = {**STAFFED, "billing": 4, "domains_hosting": 1}
    await http.ok(a, "ola", "POST", "/api/presence", {"status": "break"})
    await until(lambda: agree(on_break, idle))
    assert counts(seen["a"], "agents_available") == counts(seen["b"], "agents_available")
    assert counts(seen["b"], "agents_available") == on_break, seen

    # ... and comes back through B.
    await http.ok(b, "ola", "POST", "/api/presence", {"status": "available"})
    await until(lambda: agree(STAFFED, idle))
    assert counts(seen["a"], "agents_available") == STAFFED, seen
    assert counts(seen["b"], "agents_available") == STAFFED, seen

    # tomek holds a contact claimed through B: busy on A as well, available again after.
    contact = await http.sms_contact(new_number(), a, b)
    got = await http.ok(b, "tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert got["id"] == contact
    holding_one = {**STAFFED, "technical": 4}
    await until(lambda: agree(holding_one, {**idle, "technical": 1}))
    for name, queues in seen.items():
        assert counts(queues, "agents_available") == holding_one, (name, queues)
        assert counts(queues, "agents_busy")["technical"] == 1, (name, queues)
    await http.ok(a, "tomek", "POST", f"/api/contacts/{contact}/resolve", {})
    await until(lambda: agree(STAFFED, idle))
    for name, queues in seen.items():
        assert counts(queues, "agents_available") == STAFFED, (name, queues)
        assert counts(queues, "agents_busy") == idle, (name, queues)


async def queue_many(http: Http, many: int) -> list[str]:
    """``many`` SMS customers queued for technical, half through A and half through B."""
    a, b = http.pair.both
    gate = asyncio.Semaphore(10)

    async def create(n: int) -> str:
        async with gate:
            first, second = (a, b) if n % 2 else (b, a)
            return await http.sms_contact(new_number(), first, second)

    created = await asyncio.gather(*(create(n) for n in range(many)))
    assert len(set(created)) == many
    assert (await http.queues(b))["technical"]["waiting"] == many
    return created


async def claim_at_once(
    http: Http, many: int
) -> tuple[list[Router], list[str], list[tuple[int, Any]]]:
    """``many`` claims at once for technical, by its five agents in turn, through A and B in
    turn: (routers, agents, answers)."""
    a, b = http.pair.both
    agents = [TECHNICAL_AGENTS[n % len(TECHNICAL_AGENTS)] for n in range(many)]
    routers = [a if n % 2 else b for n in range(many)]
    answers = await asyncio.gather(
        *(
            http.api(router, agent, "POST", "/api/claim", {"teams": ["technical"]})
            for router, agent in zip(routers, agents, strict=True)
        )
    )
    return routers, agents, list(answers)


async def resolve_at_once(
    http: Http, routers: list[Router], agents: list[str], claimed: list[str]
) -> None:
    """Resolved all at once, each through the other process than its claim."""
    a, b = http.pair.both
    resolved = await asyncio.gather(
        *(
            http.api(b if router is a else a, agent, "POST", f"/api/contacts/{cid}/resolve", {})
            for router, agent, cid in zip(routers, agents, claimed, strict=True)
        )
    )
    assert [status for status, _ in resolved] == [200] * len(claimed), resolved


async def test_fifty_concurrent_claims_through_a_and_b_never_give_one_contact_twice(
    pair: Pair, http: Http
) -> None:
    await ready_desk(http)
    many = 50
    created = await queue_many(http, many)
    routers, agents, answers = await claim_at_once(http, many)

    assert [status for status, _ in answers] == [200] * many, answers
    claimed = [body["id"] for _, body in answers]
    twice = {cid: n for cid, n in Counter(claimed).items() if n > 1}
    assert not twice, f"given more than once: {twice}"
    assert set(claimed) == set(created)
    for agent, (_, body) in zip(agents, answers, strict=True):
        assert (body["agent"], body["state"]) == (agent, "assigned")
    for router in pair.both:
        technical = (await http.queues(router))["technical"]
        assert (technical["waiting"], technical["assigned"]) == (0, many), technical

    await resolve_at_once(http, routers, agents, claimed)
    for router in pair.both:
        technical = (await http.queues(router))["technical"]
        assert (technical["waiting"], technical["assigned"]) == (0, 0), technical


async def test_holding_counts_follow_claims_and_resolves_made_at_once_through_a_and_b(
    pair: Pair, http: Http
) -> None:
    a, b = pair.both
    await ready_desk(http)
    many = 30
    await queue_many(http, many)
    routers, agents, answers = await claim_at_once(http, many)
    assert [status for status, _ in answers] == [200] * many, answers
    claimed = [body["id"] for _, body in answers]

    # Each agent's holding count is what they hold, whichever process they claimed through.
    held = await holding(pair, TECHNICAL_AGENTS)
    await resolve_at_once(http, routers, agents, claimed)
    assert held == Counter(agents), "holding counts after the claims"
    assert await holding(pair, TECHNICAL_AGENTS) == dict.fromkeys(TECHNICAL_AGENTS, 0)

    seen: list[dict[str, dict[str, Any]]] = []

    async def idle() -> bool:
        seen[:] = [await http.queues(a), await http.queues(b)]
        return all(q["technical"]["agents_busy"] == 0 for q in seen)

    await until(idle)
    for queues in seen:
        technical = queues["technical"]
        assert (technical["agents_busy"], technical["agents_available"]) == (0, 5), queues


async def test_a_break_is_kept_when_claims_through_b_run_at_the_same_time(
    pair: Pair, http: Http
) -> None:
    """A break set through A while the agent's client still polls claims through B (nothing
    waits: every claim answers 204, or 422 once the break is seen) stays a break."""
    a, b = pair.both
    await ready_desk(http)
    tries, lost = 25, 0

    async def poll(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await http.api(b, "tomek", "POST", "/api/claim", {"teams": ["technical"]})

    try:
        for _ in range(tries):
            await http.ok(b, "tomek", "POST", "/api/presence", {"status": "available"})
            stop = asyncio.Event()
            polling = [asyncio.create_task(poll(stop)) for _ in range(4)]
            await asyncio.sleep(0.03)
            await http.ok(a, "tomek", "POST", "/api/presence", {"status": "break"})
            await asyncio.sleep(0.03)
            stop.set()
            await asyncio.gather(*polling)
            statuses = {
                (await http.ok(router, "tomek", "GET", "/api/me"))["status"] for router in pair.both
            }
            lost += statuses != {"break"}
        assert not lost, f"the break was lost to claims at the same time in {lost} of {tries}"
    finally:
        await all_available(http)


async def test_a_lease_that_expires_on_a_comes_back_in_its_place_and_frees_the_agent(
    pair: Pair, http: Http
) -> None:
    a, b = pair.both
    await ready_desk(http)
    first = await http.sms_contact(new_number(), b, a)
    got = await http.ok(a, "tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert got["id"] == first
    later = await http.sms_contact(new_number(), a, b)  # queued after the claim

    seen: dict[str, Any] = {}

    async def busy_on_b(count: int) -> bool:
        seen["b"] = (await http.queues(b))["technical"]
        return bool(seen["b"]["agents_busy"] == count)

    await until(lambda: busy_on_b(1))
    assert (seen["b"]["agents_busy"], seen["b"]["agents_available"]) == (1, 4), seen
    assert await holding(pair, ("tomek",)) == {"tomek": 1}

    # tomek never heartbeats: the lease ends and the contact goes back, first in line.
    async def requeued() -> bool:
        seen["first"] = await http.ok(b, "ania", "GET", f"/api/contacts/{first}")
        return bool(seen["first"]["state"] == "waiting")

    await until(requeued, timeout_s=LEASE_S + 5)
    assert seen["first"]["state"] == "waiting", seen
    assert seen["first"]["position"] == 1, seen
    assert (await http.ok(a, "ania", "GET", f"/api/contacts/{later}"))["position"] == 2

    # The agent is no longer counted as holding it, on B as well.
    await until(lambda: busy_on_b(0))
    assert (seen["b"]["agents_busy"], seen["b"]["agents_available"]) == (0, 5), seen
    assert await holding(pair, ("tomek",)) == {"tomek": 0}
    status, _ = await http.api(a, "tomek", "POST", f"/api/contacts/{first}/heartbeat")
    assert status != 200  # the lease is gone

    order = [
        (await http.ok(b, "ania", "POST", "/api/claim", {"teams": ["technical"]}))["id"]
        for _ in range(2)
    ]
    assert order == [first, later]
    for contact in order:
        await http.ok(a, "ania", "POST", f"/api/contacts/{contact}/resolve", {})


async def test_the_chat_rate_limit_holds_across_a_and_b(pair: Pair, http: Http) -> None:
    a, b = pair.both
    over = CHAT_PER_MINUTE + 1
    async with http.chat(a) as on_a:
        token = (await on_a.hello())["session"]
        for n in range(CHAT_PER_MINUTE - 2):
            ack = await on_a.message(f"Wiadomość numer {n}", "a")
            assert ack["type"] == "ack", ack
    async with http.chat(b) as on_b:
        await on_b.hello(token)
        for n in range(CHAT_PER_MINUTE - 2, CHAT_PER_MINUTE):
            ack = await on_b.message(f"Wiadomość numer {n}", "b")
            assert ack["type"] == "ack", ack
        refused = await on_b.message(f"Wiadomość numer {over}", "b")
    assert (refused["type"], refused.get("reason")) == ("error", "rate_limited"), (
        f"message {over} of one session in a minute (limit {CHAT_PER_MINUTE}, counted on A "
        f"and B together) was taken through B: {refused}"
    )
    await drain(http)


async def test_the_email_auto_reply_limit_holds_across_a_and_b(pair: Pair, http: Http) -> None:
    a, b = pair.both
    sender = f"klient{next(_numbers)}@example.net"
    mails = 2 * AUTO_REPLIES_PER_HOUR
    for n in range(mails):
        await send_mail(a if n % 2 == 0 else b, sender, f"Internet nie działa ({n})")

    def replies() -> int:
        return sum(sender in sent.rcpt_tos for sent in list(pair.relay.received))

    async def enough() -> bool:
        return replies() >= AUTO_REPLIES_PER_HOUR

    await until(enough, timeout_s=10)
    await asyncio.sleep(1.5)  # any more on their way
    contacts = await http.ok(b, "ania", "GET", f"/api/contacts?channel=email&address={sender}")
    assert len(contacts) == mails
    assert replies() == AUTO_REPLIES_PER_HOUR, (
        f"{replies()} automatic replies to one address for {mails} mails through A and B; "
        f"the limit is {AUTO_REPLIES_PER_HOUR} an hour"
    )
    await drain(http)


async def test_incident_updates_at_once_through_a_and_b_all_survive(pair: Pair, http: Http) -> None:
    a, b = pair.both
    opened: list[str] = []
    for n in range(5):
        answers = await asyncio.gather(
            http.api(a, "ania", "POST", "/api/incidents", {"team": "domains_hosting",
                                                          "text": f"Awaria A{n}"}),
            http.api(b, "ola", "POST", "/api/incidents", {"team": "domains_hosting",
                                                         "text": f"Awaria B{n}"}),
        )  # fmt: skip
        assert [status for status, _ in answers] == [201, 201], answers
        opened += [body["id"] for _, body in answers]
    for router in (a, b):
        listed = {i["id"]: i for i in await http.ok(router, "ania", "GET", "/api/incidents")}
        lost = [i for i in opened if i not in listed]
        assert not lost, f"{len(lost)} of {len(opened)} incidents lost, seen on {router.name}"
        assert all(listed[i]["closed_at"] is None for i in opened)

    for first, second in zip(opened[::2], opened[1::2], strict=True):
        answers = await asyncio.gather(
            http.api(b, "ania", "DELETE", f"/api/incidents/{first}"),
            http.api(a, "ola", "DELETE", f"/api/incidents/{second}"),
        )
        assert [status for status, _ in answers] == [200, 200], answers
    for router in (a, b):
        listed = {i["id"]: i for i in await http.ok(router, "ania", "GET", "/api/incidents")}
        still_open = [i for i in opened if listed[i]["closed_at"] is None]
        assert not still_open, f"closes lost, seen on {router.name}: {still_open}"


async def test_a_router_with_a_data_dir_of_its_own_takes_the_same_demo_tokens(
    pair: Pair, http: Http
) -> None:
    """The issue's "demo tokens created once per store": a third process on another host (its
    own data dir) started with --demo prints A's tokens, which it accepts."""
    own = pair.workdir / "c"
    config = write_config(
        own / "config.yaml",
        data_dir=own / "var",
        telegram_url=pair.telegram.base_url,
        relay_port=pair.services.relay_port,
    )
    c = Router("c", config, pair.store_url, pair.workdir / "logs")
    try:
        await asyncio.to_thread(c.start)
        await asyncio.to_thread(c.wait_ready)
        refused = [
            agent for agent in ALL_AGENTS if (await http.api(c, agent, "GET", "/api/me"))[0] != 200
        ]
        assert not refused, f"A's demo tokens refused by C (own data dir): {refused}"
        assert c.tokens == pair.a.tokens
    finally:
        await asyncio.to_thread(c.stop)


async def test_kill_9_of_a_right_after_a_telegram_update_still_sends_its_prompt_once(
    pair: Pair, http: Http
) -> None:
    a, b = pair.both
    telegram = pair.telegram
    chat_id = random.randrange(10**8, 10**9)
    asked = prompt("ask_credentials")
    # A's first try is refused with flood control (retry in 2 s), so that A dies with the
    # prompt still to send; whoever sends it later is served normally.
    telegram._failures.clear()
    telegram.fail_next(429, "Too Many Requests: retry after 2", retry_after=2)
    assert await http.telegram(a, new_update("Dzień dobry, internet nie działa", chat_id)) == 200
    a.kill()
    restarted = False
    try:
        stored = await http.ok(
            b, "ania", "GET", f"/api/contacts?channel=telegram&address={chat_id}"
        )
        assert len(stored) == 1, stored  # the update was stored before A answered 200

        def told() -> int:
            return sum(text.count(asked) for text in telegram.texts(chat_id))

        async def sent() -> bool:
            return told() > 0

        await until(sent, timeout_s=5)  # B takes over A's send ...
        if not told():
            await asyncio.to_thread(a.start)  # ... or A, once restarted, sends it
            await asyncio.to_thread(a.wait_ready)
            restarted = True
            await until(sent, timeout_s=5)
        await asyncio.sleep(1.0)  # a second copy would come now
        assert told() == 1, (
            f"the prompt after A's kill -9 was sent {told()} times "
            f"({'after A restarted' if restarted else 'B only'}); sent: {telegram.texts(chat_id)}"
        )
    finally:
        if a.proc is None or a.proc.poll() is not None:
            await asyncio.to_thread(a.start)
            await asyncio.to_thread(a.wait_ready)
        await drain(http)
