"""Support for the voice tests (no tests here): the real app with the voice channel on, served
on a real loopback port, and the IVR simulator calling it as Twilio would."""

from __future__ import annotations

import asyncio
import copy
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from channels.twilio.auth import HEADER, sign
from ivr.simulator.api import TwilioApi
from ivr.simulator.call import Call, CallResult, CallSpec, new_call_sid
from ivr.simulator.keys import ScriptKeys, parse_press
from queues import Contact, ContactState, Store
from router.app.factory import DEMO_TOKENS, create_app
from router.app.wiring import voice_adapter
from router.config.load import Config, parse_config
from router.http.context import CONTEXT, Context
from tests.conftest import FakeClock
from tests.redis_server import free_port
from tests.router.conftest import ENV, ROOT

AUTH_TOKEN = "7d" * 16
VOICE_ENV = {**ENV, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
ACCOUNT_SID = "AC" + "5a" * 16
CALLER = "+48500100200"
OUR_NUMBER = "+48221234567"
SPEED = 200.0  # call seconds per real second: a 5 s pause takes 25 ms
DAY_S = 86400.0
ALL_TEAMS = ["billing", "technical", "domains_hosting"]
AGENTS = [
    {"name": "ania", "teams": ALL_TEAMS, "client_identity": "ania-desk"},
    {"name": "tomek", "teams": ["technical"], "phone": "+48500999888"},
    {"name": "ola", "teams": ["billing", "domains_hosting"]},
]  # fmt: skip


def to_saturday(clock: FakeClock) -> None:
    """Move the clock on to the next Saturday, same time of day (the desk is closed)."""
    while datetime.fromtimestamp(clock(), UTC).weekday() != 5:
        clock.advance(DAY_S)


@cache
def _shipped_config() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    return data


def config_for(
    tmp_path: Path,
    env: dict[str, str],
    *,
    public_url: str | None = None,
    api_base_url: str | None = None,
    deadline_s: float | None = None,
    twilio: Mapping[str, Any] | None = None,
) -> Config:
    data = copy.deepcopy(_shipped_config())  # parsing the YAML is most of a test's set-up
    data["agents"]["demo"] = AGENTS
    data["channels"]["twilio"].update(twilio or {})
    if deadline_s is not None:
        data["channels"]["ingest_deadline_s"] = deadline_s
    data["http"]["public_url"] = public_url
    data["channels"]["twilio"]["api_base_url"] = api_base_url
    # Apps built with every channel start the SMTP server: never on the shipped fixed port.
    data["channels"]["email"]["listen"] = f"127.0.0.1:{free_port()}"
    return parse_config(data, base_dir=tmp_path, env=env)


def call_form(call_sid: str, **extra: str) -> dict[str, str]:
    """A voice webhook's fields, as Twilio posts them."""
    return {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "Called": OUR_NUMBER,
        "Caller": CALLER,
        "Direction": "inbound",
        "From": CALLER,
        "To": OUR_NUMBER,
        **extra,
    }


def twiml(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "Response"
    return root


def said(result: CallResult) -> list[str]:
    return [e["text"] for e in result.events if e["type"] == "say"]


def languages(result: CallResult) -> list[str]:
    return [e["language"] for e in result.events if e["type"] == "say"]


def requests(result: CallResult) -> list[dict[str, Any]]:
    return [e for e in result.events if e["type"] == "request"]


@dataclass
class Phone:
    client: TestClient[web.Request, web.Application]
    clock: FakeClock
    store: Store

    @property
    def ctx(self) -> Context:
        return self.client.app[CONTEXT]

    @property
    def base(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))

    async def call(
        self,
        press: str | None,
        *,
        max_hold_s: float | None = 0.0,
        from_number: str = CALLER,
        call_sid: str | None = None,
        token: str = AUTH_TOKEN,
        signed_base: str | None = None,
        echo: list[str] | None = None,
        speed: float = SPEED,
        api: TwilioApi | None = None,
    ) -> CallResult:
        """One scripted call; ``max_hold_s=0`` hangs up as soon as it is on hold."""
        spec = CallSpec(
            url=self.base,
            from_number=from_number,
            call_sid=call_sid or new_call_sid(),
            signed_base=signed_base,
            speed=speed,
            max_hold_s=max_hold_s,
        )
        keys = ScriptKeys(parse_press(press or ""))
        async with aiohttp.ClientSession() as session:
            call = Call(
                session,
                spec,
                keys,
                sign=partial(sign, token),
                echo=None if echo is None else echo.append,
                api=api,
            )
            return await call.run()

    async def post(
        self, path: str, form: dict[str, str], *, token: str = AUTH_TOKEN, signed_url: str = ""
    ) -> ClientResponse:
        headers = {HEADER: sign(token, signed_url or self.url(path), form)}
        return await self.client.post(path, data=form, headers=headers)

    async def api(self, agent: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        token = self.client.app[DEMO_TOKENS][agent]
        response = await self.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        data = await response.json() if response.content_type == "application/json" else None
        return response.status, data

    async def contact(self, call_sid: str) -> Contact:
        """The contact of a call, with its messages."""
        for contact in await self.store.list_contacts(channel="voice", limit=500):
            if contact.meta.get("call_sid") == call_sid:
                return await self.store.get_contact(contact.id)
        raise AssertionError(f"no voice contact for {call_sid}")

    async def wait_until(self, call_sid: str, state: ContactState, timeout_s: float = 10) -> None:
        async with asyncio.timeout(timeout_s):
            while True:
                try:
                    if (await self.contact(call_sid)).state is state:
                        return
                except AssertionError:
                    pass
                await asyncio.sleep(0.01)


@asynccontextmanager
async def phone(
    tmp_path: Path,
    clock: FakeClock,
    store: Store,
    *,
    env: dict[str, str] = VOICE_ENV,
    public_url: str | None = None,
    demo: bool = False,
    deadline_s: float | None = None,
) -> AsyncIterator[Phone]:
    config = config_for(tmp_path, env, public_url=public_url, deadline_s=deadline_s)
    app = create_app(
        config,
        store,
        clock=clock,
        adapters=lambda ctx: [a for a in [voice_adapter(ctx, env, demo=demo)] if a is not None],
        env=env,
        reaper=False,
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield Phone(client, clock, store)


@asynccontextmanager
async def pushed_phone(
    tmp_path: Path,
    clock: FakeClock,
    store: Store,
    *,
    api_base_url: str | None = None,
    **twilio: Any,
) -> AsyncIterator[tuple[Phone, TwilioApi]]:
    """The voice channel with pushed hold: a public URL Twilio fetches, an account SID, and
    the REST API played by the simulator's stand-in (``ivr.simulator.api``; with
    ``api_base_url``, one served elsewhere, e.g. by ``switchboard call --twilio-api``);
    ``twilio``: settings of ``channels.twilio`` changed."""
    api = TwilioApi(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    if api_base_url is None:
        api_base_url = await api.start()
    port = free_port()
    env = {**VOICE_ENV, "TWILIO_ACCOUNT_SID": ACCOUNT_SID}
    public_url = f"http://127.0.0.1:{port}"
    config = config_for(
        tmp_path, env, public_url=public_url, api_base_url=api_base_url, twilio=twilio
    )
    app = create_app(
        config,
        store,
        clock=clock,
        adapters=lambda ctx: [a for a in [voice_adapter(ctx, env)] if a is not None],
        env=env,
        reaper=False,
    )
    try:
        async with TestClient(TestServer(app, host="127.0.0.1", port=port)) as client:
            yield Phone(client, clock, store), api
    finally:
        await api.aclose()
