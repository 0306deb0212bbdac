"""Support for the SMS tests (no tests here): the real app with the SMS channel on, Twilio's
API played by ``FakeTwilioApi``."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from channels.twilio.auth import HEADER, sign
from queues import Store
from router.app.factory import DEMO_TOKENS, create_app
from router.app.wiring import sms_adapter
from router.config.load import Config, parse_config
from router.http.context import CONTEXT, Context
from tests.channels.twilio.fake_api import FakeTwilioApi
from tests.conftest import FakeClock
from tests.router.conftest import ENV, ROOT

ACCOUNT_SID = "AC" + "1f" * 16
AUTH_TOKEN = "9c" * 16
SMS_ENV = {**ENV, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
OUR_NUMBER = "+48221234567"
CUSTOMER = "+48500100200"


def config_for(tmp_path: Path, env: dict[str, str], **twilio: Any) -> Config:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["channels"]["twilio"].update(twilio)
    return parse_config(data, base_dir=tmp_path, env=env)


def message_sid() -> str:
    return "SM" + secrets.token_hex(16)


def twilio_form(
    body: str, *, sid: str | None = None, sender: str = CUSTOMER, **extra: str
) -> dict[str, str]:
    """An inbound SMS webhook's fields, as Twilio posts them."""
    sid = sid or message_sid()
    form = {
        "ToCountry": "PL",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "PL",
        "To": OUR_NUMBER,
        "ToZip": "",
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    form.update(extra)
    return form


@dataclass
class SmsDesk:
    client: TestClient[web.Request, web.Application]
    twilio: FakeTwilioApi
    clock: FakeClock

    @property
    def ctx(self) -> Context:
        return self.client.app[CONTEXT]

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))

    async def post(
        self, path: str, form: dict[str, str], *, token: str = AUTH_TOKEN
    ) -> ClientResponse:
        headers = {HEADER: sign(token, self.url(path), form)}
        return await self.client.post(path, data=form, headers=headers)

    async def sms(self, body: str, **kwargs: Any) -> tuple[int, str]:
        response = await self.post("/twilio/sms", twilio_form(body, **kwargs))
        return response.status, await response.text()

    async def api(self, agent: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        token = self.client.app[DEMO_TOKENS][agent]
        response = await self.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        data = await response.json() if response.content_type == "application/json" else None
        return response.status, data


@asynccontextmanager
async def sms_desk(
    tmp_path: Path, clock: FakeClock, store: Store, *, env: dict[str, str] = SMS_ENV
) -> AsyncIterator[SmsDesk]:
    async with FakeTwilioApi(ACCOUNT_SID, AUTH_TOKEN) as twilio:
        config = config_for(tmp_path, env, api_base_url=twilio.base_url)
        app = create_app(
            config,
            store,
            clock=clock,
            adapters=lambda ctx: [a for a in [sms_adapter(ctx, env)] if a is not None],
            env=env,
            reaper=False,
        )
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield SmsDesk(client, twilio, clock)
