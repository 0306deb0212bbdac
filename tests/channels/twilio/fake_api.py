"""A loopback aiohttp server playing Twilio's Messages API, and its status callbacks.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP basic auth, answered like
Twilio does (201 with the message resource, or an error body with Twilio's error code).
After a send with a StatusCallback it POSTs signed delivery reports, as Twilio does.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.twilio.auth import HEADER, sign

E164 = re.compile(r"\+[1-9]\d{6,14}")


@dataclass
class SentSms:
    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    form: dict[str, str]


@dataclass
class FakeTwilioApi:
    account_sid: str
    auth_token: str
    #: Reports POSTed to a message's StatusCallback after it is created, in order.
    callbacks: tuple[str, ...] = ("sent", "delivered")
    sent: list[SentSms] = field(default_factory=list)
    attempts: int = 0
    reports: list[tuple[str, int]] = field(default_factory=list)  # (status, HTTP answer)
    _failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    _server: TestServer | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    def fail_next(self, status: int, code: int | None = None, message: str = "") -> None:
        """The next send gets this error answer instead of being accepted."""
        body = {
            "code": code,
            "message": message or f"fake failure {status}",
            "more_info": f"https://www.twilio.com/docs/errors/{code}" if code else None,
            "status": status,
        }
        self._failures.append((status, body))

    async def __aenter__(self) -> FakeTwilioApi:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        assert self._server is not None
        await self._server.close()

    async def settle(self, timeout_s: float = 5.0) -> None:
        """Wait until every status callback has been POSTed."""
        async with asyncio.timeout(timeout_s):
            while self._tasks:
                await asyncio.gather(*list(self._tasks))

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def _create(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if not self._authorised(request) or request.match_info["sid"] != self.account_sid:
            return web.json_response(
                {"code": 20003, "message": "Authenticate", "status": 401}, status=401
            )
        form = {k: str(v) for k, v in (await request.post()).items()}
        if self._failures:
            status, body = self._failures.pop(0)
            return web.json_response(body, status=status)
        to, from_, text = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not E164.fullmatch(to):
            return web.json_response(
                {
                    "code": 21211,
                    "message": f"Invalid 'To' Phone Number: {to}",
                    "more_info": "https://www.twilio.com/docs/errors/21211",
                    "status": 400,
                },
                status=400,
            )
        if not text:
            return web.json_response(
                {"code": 21602, "message": "Message body is required.", "status": 400}, status=400
            )
        sid = "SM" + secrets.token_hex(16)
        callback = form.get("StatusCallback")
        self.sent.append(SentSms(sid, to, from_, text, callback, form))
        if callback:
            task = asyncio.create_task(self._report(callback, sid, to, from_))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.json_response(self._resource(sid, to, from_, text), status=201)

    def _resource(self, sid: str, to: str, from_: str, body: str) -> dict[str, Any]:
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": "Mon, 23 Nov 2026 12:00:00 +0000",
            "date_sent": None,
            "date_updated": "Mon, 23 Nov 2026 12:00:00 +0000",
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": path.replace(".json", "/Media.json")},
            "to": to,
            "uri": path,
        }

    async def _report(self, url: str, sid: str, to: str, from_: str) -> None:
        async with aiohttp.ClientSession() as session:
            for status in self.callbacks:
                await asyncio.sleep(0.01)
                form = {
                    "AccountSid": self.account_sid,
                    "ApiVersion": "2010-04-01",
                    "From": from_,
                    "MessageSid": sid,
                    "MessageStatus": status,
                    "SmsSid": sid,
                    "SmsStatus": status,
                    "To": to,
                }
                if status in ("failed", "undelivered"):
                    form["ErrorCode"] = "30003"
                headers = {HEADER: sign(self.auth_token, url, form)}
                async with session.post(url, data=form, headers=headers) as response:
                    self.reports.append((status, response.status))
