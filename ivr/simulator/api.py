"""A stand-in for Twilio's REST API, for the simulated calls (offline demos and tests).

The router redirects a live call with ``POST /2010-04-01/Accounts/{AccountSid}/Calls/
{CallSid}.json`` (``Url`` and ``Method``, or ``Twiml``; ``Status=completed`` hangs up), as
Twilio documents it; point ``channels.twilio.api_base_url`` here. Calls placed by this
simulator register while they run; a redirect interrupts what the call is doing (a hold
pause) and makes it fetch the new TwiML at once. ``Messages.json`` (SMS the router sends)
is answered and kept in ``messages``. Requests must carry HTTP Basic auth with the account
SID and auth token (401 otherwise), as Twilio's do.

``Calls.json`` places a call (the router calling a customer back): it is kept in ``placed``
and rings the phone of its ``To`` number, when someone listens there (``phone``; they answer
it, e.g. ``ivr.simulator.callback.answer``); else nobody answers, and the call's
``StatusCallback`` is posted, signed, with ``CallStatus`` from ``unanswered`` (no-answer
unless set: busy, failed).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from ivr.simulator.models import Signer, new_call_sid

if TYPE_CHECKING:
    from ivr.simulator.call import Call

__all__ = ["Placed", "TwilioApi"]


@dataclass(frozen=True, slots=True)
class Placed:
    """A call the router placed through ``Calls.json``: to and from whom, and its webhooks."""

    call_sid: str
    to: str
    from_: str
    url: str
    method: str = "POST"
    status_callback: str | None = None
    timeout_s: int = 60


_API = "/2010-04-01/Accounts/{account}"


class TwilioApi:
    """The stand-in server; ``await start(host, port)``, ``await aclose()``."""

    def __init__(self, *, account_sid: str, auth_token: str, sign: Signer | None = None) -> None:
        self.account_sid = account_sid
        self._auth = f"{account_sid}:{auth_token}".encode()
        self.calls: dict[str, Call] = {}
        self.redirects: list[dict[str, str]] = []
        self.messages: list[dict[str, str]] = []
        self.placed: list[Placed] = []
        #: CallStatus of a call to a number nobody listens at (default "no-answer").
        self.unanswered: dict[str, str] = {}
        self._phones: dict[str, asyncio.Queue[Placed]] = {}
        self._sign = sign  # the status callbacks it posts are signed like Twilio's
        self._posting: set[asyncio.Task[None]] = set()
        self._sids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- the calls it knows ----------------------------------------------------------------
    def register(self, call: Call) -> None:
        self.calls[call.call_sid] = call

    def unregister(self, call: Call) -> None:
        if self.calls.get(call.call_sid) is call:
            del self.calls[call.call_sid]

    # -- phones the router may call --------------------------------------------------------
    def phone(self, number: str) -> asyncio.Queue[Placed]:
        """Listen at ``number``: the calls placed to it ring here, to be answered."""
        return self._phones.setdefault(number, asyncio.Queue())

    def hang_up_phone(self, number: str) -> None:
        """Stop listening at ``number``: calls to it go unanswered again."""
        self._phones.pop(number, None)

    async def ringing(self, number: str, timeout_s: float | None = None) -> Placed | None:
        """The next call placed to ``number`` (listening there), or None after ``timeout_s``."""
        try:
            async with asyncio.timeout(timeout_s):
                return await self.phone(number).get()
        except TimeoutError:
            return None

    # -- serving ---------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(_API + "/Calls/{call}.json", self.update_call)
        app.router.add_post(_API + "/Calls.json", self.create_call)
        app.router.add_post(_API + "/Messages.json", self.create_message)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen (port 0: any free one); returns the base URL to configure."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}"
        return self.base_url

    async def aclose(self) -> None:
        for task in list(self._posting):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- handlers --------------------------------------------------------------------------
    def _refused(self, request: web.Request) -> web.Response | None:
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        try:
            credentials = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            credentials = b""
        if scheme.lower() != "basic" or not hmac.compare_digest(credentials, self._auth):
            return _error(401, 20003, "Authenticate")
        if request.match_info["account"] != self.account_sid:
            return _error(404, 20404, "The requested resource was not found")
        return None

    async def update_call(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        call_sid = request.match_info["call"]
        form = {key: str(value) for key, value in (await request.post()).items()}
        call = self.calls.get(call_sid)
        if call is None or call.over:
            missing = f"The requested resource /Calls/{call_sid}.json was not found"
            return _error(404, 20404, missing)
        if not (form.get("Url") or form.get("Twiml") or form.get("Status")):
            return _error(400, 21201, "Url, Twiml or Status is required")
        self.redirects.append({"CallSid": call_sid, **form})
        if form.get("Status") in ("completed", "canceled"):
            call.hang_up_by_api()
        else:
            call.redirect(
                url=form.get("Url") or None,
                method=form.get("Method", "POST").upper(),
                twiml=form.get("Twiml") or None,
            )
        return web.json_response(self._call_resource(call_sid, "in-progress"))

    async def create_call(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        form = {key: str(value) for key, value in (await request.post()).items()}
        if not form.get("To"):
            return _error(400, 21201, "No 'To' number is specified")
        if not form.get("From"):
            return _error(400, 21213, "No 'From' number is specified")
        if not form.get("Url", "").startswith(("http://", "https://")):
            return _error(400, 21205, "Url is not a valid URL")
        timeout = form.get("Timeout", "60")
        placed = Placed(
            call_sid=new_call_sid(),
            to=form["To"],
            from_=form["From"],
            url=form["Url"],
            method=form.get("Method", "POST").upper(),
            status_callback=form.get("StatusCallback") or None,
            timeout_s=int(timeout) if timeout.isdigit() else 60,
        )
        self.placed.append(placed)
        phone = self._phones.get(placed.to)
        if phone is not None:
            phone.put_nowait(placed)
        else:
            status = self.unanswered.get(placed.to, "no-answer")
            task = asyncio.create_task(self._post_status(placed, status))
            self._posting.add(task)
            task.add_done_callback(self._posting.discard)
        body = {**self._call_resource(placed.call_sid, "queued"), "to": placed.to}
        return web.json_response({**body, "from": placed.from_}, status=201)

    async def _post_status(self, placed: Placed, status: str) -> None:
        """Nobody answered: tell the router, as Twilio does, at the StatusCallback."""
        if placed.status_callback is None:
            return
        form = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": placed.call_sid,
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": placed.from_,
            "To": placed.to,
            "CallDuration": "0",
        }
        url = placed.status_callback
        headers = {} if self._sign is None else {"X-Twilio-Signature": self._sign(url, form)}
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.post(url, data=form, headers=headers) as response,
            ):
                await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError):
            return  # the router is gone; Twilio would not retry either

    async def create_message(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        form = {key: str(value) for key, value in (await request.post()).items()}
        if not form.get("To") or not (form.get("Body") or form.get("MediaUrl")):
            return _error(400, 21604, "A 'To' phone number and a 'Body' are required")
        sid = f"SM{next(self._sids):032x}"
        self.messages.append({"Sid": sid, **form})
        return web.json_response(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form["To"],
                "from": form.get("From"),
                "body": form.get("Body"),
                "status": "queued",
            },
            status=201,
        )

    def _call_resource(self, call_sid: str, status: str) -> Mapping[str, Any]:
        return {"sid": call_sid, "account_sid": self.account_sid, "status": status}


def _error(status: int, code: int, message: str) -> web.Response:
    body = {"code": code, "message": message, "status": status, "more_info": ""}
    return web.json_response(body, status=status)
