"""A loopback aiohttp server playing the Telegram Bot API: getMe, sendMessage, setWebhook.

Requests come as python-telegram-bot sends them (``POST /bot<token>/<method>``, form fields
with JSON-encoded non-string values); answers are the Bot API's ``{"ok": ..., "result"}``
envelopes, errors with ``error_code``, ``description`` and, for 429, ``retry_after``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Switchboard",
    "username": "switchboard_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Sent:
    chat_id: int
    text: str
    message_id: int


@dataclass
class FakeTelegramApi:
    token: str
    sent: list[Sent] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    _failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _server: TestServer | None = None
    _changed: asyncio.Condition | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    def fail_next(self, status: int, description: str = "", retry_after: int | None = None) -> None:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": status,
            "description": description or f"Internal Server Error ({status})",
        }
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        self._failures.append((status, body))

    async def __aenter__(self) -> FakeTelegramApi:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._call)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        await self._server.close()

    async def wait_sent(self, count: int, timeout_s: float = 5.0) -> list[Sent]:
        """Wait until at least ``count`` messages have been sent; returns them all."""
        assert self._changed is not None
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: len(self.sent) >= count)
        return list(self.sent)

    def texts(self, chat_id: int) -> list[str]:
        return [s.text for s in self.sent if s.chat_id == chat_id]

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data = await request.json()
            return dict(data) if isinstance(data, dict) else {}
        params: dict[str, Any] = {}
        for key, value in (await request.post()).items():
            text = str(value)
            try:
                params[key] = json.loads(text) if text[:1] in "[{" or text.isdigit() else text
            except ValueError:
                params[key] = text
        return params

    async def _call(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.append(method)
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        params = await self._params(request)
        if method == "getMe":
            return _ok(BOT_USER)
        if method == "setWebhook":
            self.webhook = params
            return _ok(True, description="Webhook was set")
        if method == "deleteWebhook":
            self.webhook = {}
            return _ok(True, description="Webhook was deleted")
        if method != "sendMessage":
            return _error(404, "Not Found: method not found")
        if self._failures:
            status, body = self._failures.pop(0)
            return web.json_response(body, status=status)
        chat_id, text = int(params["chat_id"]), str(params.get("text", ""))
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        sent = Sent(chat_id, text, next(self._ids))
        assert self._changed is not None
        async with self._changed:
            self.sent.append(sent)
            self._changed.notify_all()
        return _ok(
            {
                "message_id": sent.message_id,
                "from": BOT_USER,
                "chat": {"id": chat_id, "first_name": "Customer", "type": "private"},
                "date": 1795000000,
                "text": text,
            }
        )


def _ok(result: Any, **extra: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result, **extra})


def _error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )
