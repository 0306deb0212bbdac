"""Caps on floods (issue 15): chat sockets and new chats per client address (behind the
trusted proxies, from X-Forwarded-For), SMTP connections at once and per address, request
bodies everywhere; what is refused is told clearly and logged once per window."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType
from structlog.testing import capture_logs

from queues import Store
from tests.conftest import FakeClock
from tests.hardening.support import Rig, full_rig

STORE_BACKENDS = ["memory", "sqlite"]
FLOODER = "203.0.113.7"
NEIGHBOUR = "198.51.100.23"


@pytest.fixture
async def rig(tmp_path: Path, store: Store, clock: FakeClock) -> AsyncIterator[Rig]:
    caps = {
        "http": {"trusted_proxies": ["127.0.0.1/32"], "max_body_bytes": 4096},
        "channels": {
            "webchat": {"max_open_per_ip": 20, "new_contacts_per_minute": 3},
            "email": {"max_connections": 4, "max_connections_per_ip": 3},
        },
    }
    async with full_rig(tmp_path, store, clock, **caps) as running:
        yield running


async def opened(rig: Rig, address: str) -> tuple[ClientWebSocketResponse, dict[str, Any]]:
    """A socket from ``address`` (as the proxy says), after its hello: (socket, answer)."""
    # What the client claims (left) is not believed; the trusted proxy appended the address.
    headers = {"X-Forwarded-For": f"192.0.2.1, {address}"}
    ws = await rig.client.ws_connect("/chat/ws", headers=headers)
    await ws.send_json({"type": "hello", "session": None, "language": "pl"})
    msg = await ws.receive(timeout=10)
    if msg.type is WSMsgType.TEXT:
        return ws, msg.json()
    return ws, {"type": "closed", "code": ws.close_code, "reason": msg.extra}


async def eventually(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not true within {timeout_s} s")


def refusals(logs: Sequence[Mapping[str, Any]], what: str) -> list[Mapping[str, Any]]:
    return [e for e in logs if e["event"] == "flood_refused" and e["what"] == what]


async def test_500_sockets_from_one_address_are_capped_and_others_still_served(rig: Rig) -> None:
    with capture_logs() as logs:
        results = []
        for _ in range(10):
            results += await asyncio.gather(*(opened(rig, FLOODER) for _ in range(50)))
        welcomed = [ws for ws, answer in results if answer["type"] == "welcome"]
        refused = [answer for _, answer in results if answer["type"] == "closed"]
        assert (len(welcomed), len(refused)) == (20, 480)
        assert {a["code"] for a in refused} == {1013}
        assert "too many open chats from your address" in refused[0]["reason"]
        # Someone else behind the same proxy is served as usual.
        ws, answer = await opened(rig, NEIGHBOUR)
        assert answer["type"] == "welcome"
        await ws.send_json({"type": "message", "id": "n1", "text": "dzień dobry"})
        assert (await ws.receive_json(timeout=10))["type"] == "ack"
        for socket in [ws, *welcomed, *(ws for ws, a in results if a["type"] == "closed")]:
            await socket.close()
    # 480 refusals, one log line (the window is a minute).
    [logged] = refusals(logs, "chat_open")
    assert logged["client"] == FLOODER and logged["refused_silently"] == 0
    # Closed sockets no longer count: the address may open again.
    chat = next(a for a in rig.adapters if a.channel == "chat")
    await eventually(lambda: chat._open.held(FLOODER) == 0)
    ws, answer = await opened(rig, FLOODER)
    assert answer["type"] == "welcome"
    await ws.close()


async def test_new_chats_per_minute_are_capped_per_address(rig: Rig, store: Store) -> None:
    answers = []
    with capture_logs() as logs:
        for n in range(5):
            ws, _ = await opened(rig, FLOODER)
            await ws.send_json({"type": "message", "id": f"m{n}", "text": "pomocy"})
            answers.append(await ws.receive_json(timeout=10))
            await ws.close()
    assert [a["type"] for a in answers] == ["ack", "ack", "ack", "error", "error"]
    assert answers[3]["reason"] == "rate_limited" and answers[3]["retry_after_s"] > 0
    assert len(await store.list_contacts(channel="chat")) == 3
    assert len(refusals(logs, "chat_new_contacts")) == 1
    ws, _ = await opened(rig, NEIGHBOUR)
    await ws.send_json({"type": "message", "id": "x", "text": "pomocy"})
    got = await ws.receive_json(timeout=10)
    assert got["type"] == "ack", got
    await ws.close()


def _connect(port: int) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", port, timeout=10)  # raises unless greeted 220


async def test_smtp_connections_are_capped_per_address(rig: Rig) -> None:
    port = rig.smtp_port
    with capture_logs() as logs:
        held = [await asyncio.to_thread(_connect, port) for _ in range(3)]
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            await asyncio.to_thread(_connect, port)
        assert refused.value.smtp_code == 421
        assert b"Too many connections from your address" in refused.value.smtp_error
        with pytest.raises(smtplib.SMTPConnectError):
            await asyncio.to_thread(_connect, port)
        for smtp in held:
            await asyncio.to_thread(smtp.quit)
    assert len(refusals(logs, "smtp_connections")) == 1
    # Their places are free again: a mail goes through.
    code, _ = await rig.mail(b"From: a@example.net\r\nSubject: hej\r\n\r\ninternet\r\n")
    assert code == 250


async def test_smtp_connections_are_capped_for_the_server(rig: Rig) -> None:
    rig.email.server.caps.per_key = 10  # type: ignore[union-attr]  # only the total counts
    held = [await asyncio.to_thread(_connect, rig.smtp_port) for _ in range(4)]
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        await asyncio.to_thread(_connect, rig.smtp_port)
    assert b"Too many connections to this server" in refused.value.smtp_error
    for smtp in held:
        await asyncio.to_thread(smtp.quit)


@pytest.mark.parametrize(
    "path", ["/twilio/sms", "/twilio/voice", "/telegram/webhook", "/api/claim", "/api/presence"]
)
async def test_a_body_over_the_limit_is_413_before_it_is_read(rig: Rig, path: str) -> None:
    response = await rig.client.post(path, data=b"x" * 5000, headers={"X-Twilio-Signature": "x"})
    assert response.status == 413
    assert (await response.json())["limit"] == 4096


async def test_a_chunked_body_over_the_limit_is_413(rig: Rig) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"{" * 1000

    response = await rig.api("ania", "POST", "/api/claim", raw=None)
    assert response.status in (200, 204)
    headers = {"Authorization": f"Bearer {rig.token('ania')}"}
    response = await rig.client.post("/api/claim", data=chunks(), headers=headers)
    assert response.status == 413 and "limit" in await response.json()
