"""What the step that queues a caller or an SMS customer costs a real redis-server (``INFO
commandstats`` before and after it, commands run inside scripts included): half the
scripts of the locked path."""

from __future__ import annotations

import redis.asyncio as aioredis

from channels import InboundMessage
from router.contacts.service import ContactService
from tests.router.contacts.test_quick import sms
from tests.router.contacts.test_quick_enqueue import CALL, TEXT, Filing, quick, voice

__all__ = ["quick"]  # the fixture used here

STORE_BACKENDS = ["redis"]

#: Scripts of the enqueueing step: the turn with its enqueue, the first-contact watch, the
#: queue prompt kept, the session saved; for SMS the standing's two reads of the claims
#: counter too. The locked path ran 10 for a call and 11 for SMS (a refused guess of a new
#: conversation, the lock taken and released, intake, update, enqueue, position: one each).
SCRIPTS = {"voice": 4, "sms": 6}
#: Commands in all, those the scripts ran included. The locked path: 61 and 64. (The
#: position counts each channel's ready index: +3 since a queue is no longer kept twice;
#: a call's step reads nothing first since its code was checked in a quick turn: -4.)
COMMANDS = {"voice": 42, "sms": 49}


async def commands(admin: aioredis.Redis) -> dict[str, int]:
    stats = await admin.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}


async def test_queueing_a_caller_or_a_texter_runs_four_scripts_of_its_own(
    quick: tuple[ContactService, Filing], redis_url: str
) -> None:
    service, _ = quick
    admin = aioredis.Redis.from_url(redis_url)
    try:
        for n in range(2):  # the first warms the caches and makes the templates known
            sid, address = f"CA{n}", f"+4850010050{n}"
            steps = [voice(sid, step, digits) for step, digits in enumerate([None, *CALL])]
            steps += [sms(address, said, f"SM{n}-{k}") for k, said in enumerate(TEXT)]
            for message in steps:
                await service.receive(message)
            menus: list[InboundMessage] = [voice(sid, 1 + len(CALL), "2")]
            menus.append(sms(address, "1", f"SM{n}-menu"))
            for menu in menus:
                before = await commands(admin)
                answer = await service.receive(menu)
                after = await commands(admin)
                ran = {k: v - before.get(k, 0) for k, v in after.items() if k != "info"}
                assert answer.position is not None and answer.position.ahead == n
                if n:
                    assert ran["evalsha"] == SCRIPTS[menu.channel]
                    assert sum(ran.values()) <= COMMANDS[menu.channel]
    finally:
        await admin.aclose()
