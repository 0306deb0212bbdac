"""Support for the callback tests (no tests here): the real app with the voice and SMS
channels on and callbacks offered, Twilio's REST API played by the IVR simulator's stand-in
(it rings the simulated customer's phone, or posts no-answer), on a real loopback port."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from channels import ChannelAdapter
from channels.twilio import Callback, CallbackBook, Callbacks, TwilioVoice, sign
from ivr.simulator.api import TwilioApi
from queues import ContactState, Store
from router.app.factory import create_app
from router.app.wiring import sms_adapter, voice_adapter
from router.config.load import Config, parse_config
from tests.channels.twilio.voice_support import (
    ACCOUNT_SID,
    AGENTS,
    AUTH_TOKEN,
    CALLER,
    VOICE_ENV,
    Phone,
    _shipped_config,
    call_form,
)
from tests.conftest import FakeClock
from tests.redis_server import free_port

ENV = {**VOICE_ENV, "TWILIO_ACCOUNT_SID": ACCOUNT_SID}
CODE = "482913"
QUEUED = ["2", "1001", CODE, "2"]  # English, verified, technical: queued
RETRY_S = 120


def config_for(tmp_path: Path, *, public_url: str, api_base_url: str, **callback: Any) -> Config:
    data = copy.deepcopy(_shipped_config())
    data["agents"]["demo"] = AGENTS
    data["http"]["public_url"] = public_url
    data["channels"]["twilio"]["api_base_url"] = api_base_url
    data["channels"]["twilio"]["callback"].update({"retry_s": RETRY_S, **callback})
    data["channels"]["email"]["listen"] = f"127.0.0.1:{free_port()}"
    return parse_config(data, base_dir=tmp_path, env=ENV)


@dataclass
class Desk:
    """The running router, the stand-in API, and the voice channel's callbacks."""

    phone: Phone
    api: TwilioApi
    adapters: list[ChannelAdapter] = field(default_factory=list)

    @property
    def callbacks(self) -> Callbacks:
        voice = next(a for a in self.adapters if isinstance(a, TwilioVoice))
        assert voice.callbacks is not None, "callbacks are not offered"
        return voice.callbacks

    @property
    def store(self) -> Store:
        return self.phone.store

    async def callback(self, contact_id: str) -> Callback | None:
        return await CallbackBook(self.store).get(contact_id)

    async def until(self, check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
        """Wait until ``check()`` holds (the router acts on webhooks in the background)."""
        async with asyncio.timeout(timeout_s):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.01)

    async def queue_caller(self, call_sid: str, *, from_number: str = CALLER) -> str:
        """A caller through the flow and into technical's queue, by webhooks; their
        contact's id."""
        await self.phone.post("/twilio/voice", call_form(call_sid, From=from_number))
        for n, digits in enumerate(QUEUED, 1):
            form = call_form(call_sid, From=from_number, Digits=digits)
            await self.phone.post(f"/twilio/voice/step?n={n}", form)
        contact = await self.phone.contact(call_sid)
        assert contact.state is ContactState.WAITING
        return contact.id

    async def book(self, call_sid: str, *, from_number: str = CALLER, typed: str = "") -> str:
        """The caller presses 1 on hold, then ``typed`` and # (nothing: their own number);
        the TwiML the router answered the number with."""
        form = call_form(call_sid, From=from_number, Digits="1")
        await self.phone.post("/twilio/voice/callback?w=0", form)
        form = call_form(call_sid, From=from_number, Digits=typed, FinishedOnKey="#")
        return await (await self.phone.post("/twilio/voice/callback/number?t=0", form)).text()

    async def hang_up(self, call_sid: str, *, from_number: str = CALLER) -> int:
        form = call_form(call_sid, From=from_number, CallStatus="completed")
        return (await self.phone.post("/twilio/voice/status", form)).status


@asynccontextmanager
async def callback_desk(
    tmp_path: Path,
    clock: FakeClock,
    store: Store,
    *,
    api_base_url: str | None = None,
    **callback: Any,
) -> AsyncIterator[Desk]:
    """Voice with callbacks offered (and SMS, for the message after the last try), the
    REST API played by the simulator's stand-in, which signs its status callbacks (with
    ``api_base_url``: one served elsewhere, e.g. by ``switchboard call --twilio-api``)."""
    api = TwilioApi(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, sign=partial(sign, AUTH_TOKEN))
    if api_base_url is None:
        api_base_url = await api.start()
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    config = config_for(tmp_path, public_url=public_url, api_base_url=api_base_url, **callback)
    adapters: list[ChannelAdapter] = []

    def build(ctx: Any) -> list[ChannelAdapter]:
        built = [voice_adapter(ctx, ENV), sms_adapter(ctx, ENV)]
        adapters.extend(a for a in built if a is not None)
        return adapters

    app = create_app(config, store, clock=clock, adapters=build, env=ENV, reaper=False)
    try:
        async with TestClient(TestServer(app, host="127.0.0.1", port=port)) as client:
            yield Desk(Phone(client, clock, store), api, adapters)
    finally:
        await api.aclose()
