"""Fuzzing the chat websocket on loopback: whatever frames come, the socket stays up and
answers (an ack, or an error frame with a reason), and never says "internal"."""

from __future__ import annotations

import json
import secrets
from typing import Any

from aiohttp import WSMsgType
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.strategies import chat_frames, deep
from tests.fuzz.support import FUZZ, LiveRig

#: Answers a live socket may give a frame; "internal" is a bug, silence a dead socket.
REASONS = {"bad_frame", "empty", "too_long", "rate_limited", "store_unavailable"}
#: A frame over this many bytes is closed with 1009 (message too big), RFC 6455's answer.
MAX_FRAME_BYTES = 2000 * 6 + 1024
TOO_BIG = 1009


async def _exchange(live: LiveRig, frames: list[str]) -> list[dict[str, Any]]:
    rig = live.live
    ws = await rig.client.ws_connect("/chat/ws", headers={"X-Forwarded-For": _address()})
    try:
        await ws.send_str(json.dumps({"type": "hello", "session": None, "language": "pl"}))
        got = [await ws.receive_json(timeout=10)]
        for raw in frames:
            await ws.send_str(raw)
        # A last, valid message: its answer shows the socket outlived what came before.
        await ws.send_json({"type": "message", "id": "last", "text": "dzień dobry"})
        while True:
            msg = await ws.receive(timeout=10)
            if msg.type is WSMsgType.CLOSE and msg.data == TOO_BIG:
                return [*got, {"type": "closed", "code": TOO_BIG}]
            assert msg.type is WSMsgType.TEXT, f"the socket ended: {msg.type.name} {msg.data!r}"
            frame = json.loads(msg.data)
            got.append(frame)
            if frame.get("id") == "last" and frame["type"] in ("ack", "error"):
                return got
    finally:
        await ws.close()


def _address() -> str:
    return f"198.51.100.{secrets.randbelow(250) + 1}"


def exchanged(live: LiveRig, frames: list[str]) -> list[dict[str, Any]]:
    return live.run(_exchange(live, frames))


@FUZZ
@given(frames=st.lists(chat_frames(), max_size=4))
@example(frames=[deep(6000)])
@example(frames=['{"type":"message","id":"s1","text":"\\ud800"}'])
@example(frames=['{"type":"message","id":"s2","text":"' + "x" * 100_000 + '"}'])
@example(frames=['{"type":"hello","session":"' + "a" * 40 + '.bbbbbbbbbbbbbbbbbbbbbb"}'])
def test_any_frames_get_answers_and_the_socket_lives(live: LiveRig, frames: list[str]) -> None:
    got = exchanged(live, frames)
    assert got[0]["type"] == "welcome"
    if any(len(f.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES for f in frames):
        assert got[-1] == {"type": "closed", "code": TOO_BIG}  # refused, with its reason
        return
    errors = [f for f in got if f["type"] == "error"]
    assert all(f["reason"] in REASONS for f in errors), errors
    assert got[-1]["type"] == "ack" or got[-1]["reason"] in ("rate_limited", "store_unavailable")
