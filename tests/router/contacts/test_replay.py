"""Idempotency: a provider's retry is answered from the session, never advancing the flow."""

from __future__ import annotations

from channels import Spoken
from queues import Channel, Direction
from router.contacts.replay import HANDLED_KEYS, handled_keys, session_record
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
    handled = handled_keys(record)
    assert len(handled) == HANDLED_KEYS
    assert handled[-1] == "SM-new" and handled[0] == f"SM-{6}"
    assert record["answer"] == {"prompts": [["ok", "en"]]}


def test_a_calls_keys_are_kept_after_their_common_prefix_and_older_sessions_still_read() -> None:
    call = "voice:CA" + "5" * 32
    keys = [f"{call}:{n}" for n in range(4)]
    record = session_record("c1", key=f"{call}:4", spoken=[], handled=keys)
    assert record["handled"] == {"p": call + ":", "s": ["0", "1", "2", "3", "4"]}
    assert handled_keys(record) == [*keys, f"{call}:4"]
    assert "flow" not in record and "secret" not in record and "queue_prompt" not in record
    mixed = session_record("c1", key="telegram:7", spoken=[], handled=["sms:SM1"])
    assert handled_keys(mixed) == ["sms:SM1", "telegram:7"]
    older = {"contact_id": "c1", "handled": ["k1", "k2"], "answer": {"key": "k2"}}
    assert handled_keys(older) == ["k1", "k2"]
