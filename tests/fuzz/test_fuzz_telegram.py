"""Fuzzing the Telegram webhook on loopback: an update of any shape is taken (200) or
refused with a reason (4xx, which stops Telegram's retries), never 5xx."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given

from tests.fuzz.strategies import deep, raw_bodies, telegram_updates
from tests.fuzz.support import FUZZ, LiveRig

_MESSAGE = {
    "message_id": 1,
    "date": 1_795_000_000,
    "chat": {"id": 7, "type": "private"},
    "from": {"id": 7, "is_bot": False, "first_name": "A"},
    "text": "dzień dobry",
}


def posted(live: LiveRig, raw: bytes) -> tuple[int, Any]:
    async def post() -> tuple[int, Any]:
        response = await live.live.telegram_post(None, raw=raw)
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body

    return live.run(post())


def _with(**fields: Any) -> bytes:
    message = {k: v for k, v in {**_MESSAGE, **fields}.items() if v is not ...}
    return json.dumps({"update_id": 123_456, "message": message}).encode()


@FUZZ
@given(update=telegram_updates())
@example(update={"update_id": 5, "message": {**_MESSAGE, "date": 10**20}})
@example(update={"update_id": 6, "message": {**_MESSAGE, "text": 5}})
@example(update={"update_id": 7, "message": {**_MESSAGE, "text": ["a"]}})
@example(update={"update_id": 8, "message": {**_MESSAGE, "text": "\ud800"}})
@example(update={"update_id": 9, "message": {k: v for k, v in _MESSAGE.items() if k != "chat"}})
@example(update={"update_id": 10, "message": {**_MESSAGE, "location": {"latitude": "x"}}})
def test_any_update_is_taken_or_refused_with_a_reason(live: LiveRig, update: Any) -> None:
    status, body = posted(live, json.dumps(update).encode())
    assert status < 500, body
    if status >= 400:
        assert body is not None and body["ok"] is False and body["error"]


@FUZZ
@given(raw=raw_bodies)
@example(raw=deep(100_000).encode())
@example(raw=('{"update_id": 1, "message": ' + deep(3000, '{"a":', "}") + "}").encode())
def test_any_body_is_taken_or_refused_with_a_reason(live: LiveRig, raw: bytes) -> None:
    status, body = posted(live, raw)
    assert status < 500, body


def test_an_update_without_a_chat_or_with_a_bad_date_is_400(live: LiveRig) -> None:
    for raw in (_with(chat=...), _with(date=10**20), _with(text=5), _with(text="\ud800")):
        status, body = posted(live, raw)
        assert status == 400, body
        assert "malformed" in body["error"] or "surrogate" in body["error"], body
