"""Idempotency: a provider's retry is answered from the session, never advancing the flow."""

from __future__ import annotations

from channels import Spoken
from queues import Channel, Direction
from router.contacts.replay import HANDLED_KEYS, session_record
from tests.router.conftest import Desk
from tests.router.testchannel import texts

STORE_BACKENDS = ["memory", "sqlite", "redis"]


async def test_retry_of_an_input_answered_before_the_last_says_nothing_and_stays_put(
    desk: Desk,
) -> None:
    sms = desk.channels[Channel.SMS]
    await sms.say("+48500000201", "faktura", key="SM-1")
    last = await sms.say("+48500000201", "jan.kowalski", key="SM-2")
    late = await sms.say("+48500000201", "faktura", key="SM-1")
    assert late.duplicate and late.prompts == () and late.expect is None
    again = await sms.say("+48500000201", "jan.kowalski", key="SM-2")
    assert again.duplicate and texts(again) == texts(last) and again.expect == last.expect
    contact = await desk.ctx.store.get_contact(last.contact.id)
    inbound = [m.text for m in contact.messages if m.direction is Direction.IN]
    assert inbound == ["faktura", "jan.kowalski"]


def test_session_remembers_the_last_handled_keys_only() -> None:
    earlier = [f"SM-{n}" for n in range(HANDLED_KEYS + 5)]
    record = session_record("c1", key="SM-new", spoken=[Spoken("ok", "en")], handled=earlier)
    assert len(record["handled"]) == HANDLED_KEYS
    assert record["handled"][-1] == "SM-new" and record["handled"][0] == f"SM-{6}"
    assert record["answer"] == {"key": "SM-new", "prompts": [["ok", "en"]], "expect": None}
