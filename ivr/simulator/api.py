"""A stand-in for Twilio's REST API, for the simulated calls (offline demos and tests).

The router redirects a live call with ``POST /2010-04-01/Accounts/{AccountSid}/Calls/
{CallSid}.json`` (``Url`` and ``Method``, or ``Twiml``; ``Status=completed`` hangs up), as
Twilio documents it; point ``channels.twilio.api_base_url`` here. Calls placed by this
simulator register while they run; a redirect interrupts what the call is doing (a hold
pause) and makes it fetch the new TwiML at once. ``Messages.json`` (SMS the router sends)
is answered and kept in ``messages``. Requests must carry HTTP Basic auth with the account
SID and auth token (401 otherwise), as Twilio's do.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from ivr.simulator.call import Call

__all__ = ["TwilioApi"]

_API = "/2010-04-01/Accounts/{account}"


class TwilioApi:
    """The stand-in server; ``await start(host, port)``, ``await aclose()``."""

    def __init__(self, *, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self._auth = f"{account_sid}:{auth_token}".encode()
        self.calls: dict[str, Call] = {}
        self.redirects: list[dict[str, str]] = []
        self.messages: list[dict[str, str]] = []
        self._sids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- the calls it knows ----------------------------------------------------------------
    def register(self, call: Call) -> None:
        self.calls[call.call_sid] = call

    def unregister(self, call: Call) -> None:
        if self.calls.get(call.call_sid) is call:
            del self.calls[call.call_sid]

    # -- serving ---------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(_API + "/Calls/{call}.json", self.update_call)
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
