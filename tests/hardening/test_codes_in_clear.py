"""Auth codes typed unasked are never kept in clear, and are tried (issue 15).

Each case goes through the real app on loopback (SMS and Telegram webhooks, the chat
websocket, SMTP), then the whole store is dumped: the digits must appear nowhere, whether
they were the right code or not, and the log lines must not hold them either.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from queues import Channel, Store
from tests.channels.email.support import make_mail
from tests.channels.telegram.support import update
from tests.channels.twilio.sms_support import twilio_form
from tests.conftest import FakeClock
from tests.hardening.support import Rig, digits_present, full_rig, store_dump

STORE_BACKENDS = ["memory", "sqlite", "redis"]
RIGHT = "482913"  # jan.kowalski's code (number 1001)
WRONG = "551177"


@pytest.fixture
async def rig(tmp_path: Path, store: Store, clock: FakeClock) -> AsyncIterator[Rig]:
    async with full_rig(tmp_path, store, clock) as running:
        yield running


async def contacts_of(rig: Rig, channel: Channel) -> list[Any]:
    listed = await rig.store.list_contacts(channel=str(channel))
    return [await rig.store.get_contact(c.id) for c in listed]


async def assert_nowhere(rig: Rig, code: str, logs: Sequence[Mapping[str, Any]]) -> None:
    dump = await store_dump(rig.store)
    assert digits_present(dump, code) == []
    assert digits_present(json.dumps(logs, default=str, ensure_ascii=False), code) == []


@pytest.mark.parametrize("code", [RIGHT, WRONG])
async def test_a_first_sms_with_login_and_code_is_masked_and_tried(rig: Rig, code: str) -> None:
    with capture_logs() as logs:
        form = twilio_form(f"jan.kowalski {code} internet nie działa od rana")
        response = await rig.twilio_post("/twilio/sms", form)
        assert response.status == 200
        twiml = await response.text()
    (contact,) = await contacts_of(rig, Channel.SMS)
    assert contact.messages[0].text == "jan.kowalski •••••• internet nie działa od rana"
    assert contact.verified is (code == RIGHT)
    if code == RIGHT:
        # Verified at once and classified from the first message: not asked again.
        assert contact.account == "jan.kowalski" and contact.team == "technical"
        assert "login" not in twiml.lower()
    await assert_nowhere(rig, code, logs)


async def test_a_code_in_a_chat_message_mid_flow_is_masked(rig: Rig) -> None:
    with capture_logs() as logs:
        ws = await rig.client.ws_connect("/chat/ws")
        await ws.send_json({"type": "hello", "session": None, "language": "pl"})
        assert (await ws.receive_json())["type"] == "welcome"
        text = f"mam problem z fakturą, mój login 1001 i kod {RIGHT}"
        await ws.send_json({"type": "message", "id": "m1", "text": text})
        ack = await ws.receive_json()
        await ws.close()
    assert ack["type"] == "ack" and RIGHT not in ack["text"] and "1001" in ack["text"]
    (contact,) = await contacts_of(rig, Channel.CHAT)
    assert contact.verified and contact.account == "jan.kowalski"
    await assert_nowhere(rig, RIGHT, logs)


async def test_a_telegram_message_with_a_code_in_a_caption_is_masked(rig: Rig) -> None:
    with capture_logs() as logs:
        body = update(
            None,
            caption=f"jan.kowalski kod {WRONG}",
            photo=[{"file_id": "F1", "file_unique_id": "U1", "width": 10, "height": 10}],
        )
        response = await rig.telegram_post(body)
        assert response.status == 200
    (contact,) = await contacts_of(rig, Channel.TELEGRAM)
    assert not contact.verified
    await assert_nowhere(rig, WRONG, logs)


@pytest.mark.parametrize(
    ("subject", "body", "verified"),
    [
        ("Problem z fakturą", f"Login: jan.kowalski\nmój kod to {RIGHT}\nPozdrawiam", True),
        ("Problem z fakturą", f"Login: jan.kowalski  Kod: {RIGHT}\n", True),
        (f"jan.kowalski {RIGHT} faktura", "Proszę o korektę faktury.", True),
        ("Faktura", f"Login: jan.kowalski\nKod: {WRONG}\n", False),
        (f"kod {WRONG} dla 1001", "nie działa internet", False),
    ],
)
async def test_a_code_in_a_mail_is_masked_in_text_subject_and_metadata(
    rig: Rig, subject: str, body: str, verified: bool
) -> None:
    code = RIGHT if verified else WRONG
    with capture_logs() as logs:
        status, _ = await rig.mail(make_mail(subject=subject, body=body))
        assert status == 250
    (contact,) = await contacts_of(rig, Channel.EMAIL)
    assert contact.verified is verified
    assert code not in (contact.subject or "") and code not in contact.messages[0].text
    await assert_nowhere(rig, code, logs)


async def test_digits_without_an_account_named_are_kept(rig: Rig) -> None:
    form = twilio_form("faktura nr 20240115 jest błędna")
    assert (await rig.twilio_post("/twilio/sms", form)).status == 200
    (contact,) = await contacts_of(rig, Channel.SMS)
    assert contact.messages[0].text == "faktura nr 20240115 jest błędna"
