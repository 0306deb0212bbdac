"""Support for the Telegram tests (no tests here): Bot API updates as Telegram sends them,
and the real app with the Telegram channel on, the Bot API played by ``FakeTelegramApi``."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from channels.base import ChannelAdapter
from channels.telegram.adapter import SECRET_HEADER, TelegramAdapter
from queues import Store
from router.app.factory import DEMO_TOKENS, create_app
from router.app.wiring import telegram_adapter
from router.config.load import Config, parse_config
from router.http.context import CONTEXT, Context
from tests.channels.telegram.fake_api import FakeTelegramApi
from tests.conftest import FakeClock
from tests.router.conftest import ENV, ROOT

BOT_TOKEN = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "s3cret-Token_for-webhook"
TG_ENV = {**ENV, "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_SECRET_TOKEN": SECRET}
CHAT = 123456789
_update_ids = itertools.count(810_000_001)


def config_for(
    tmp_path: Path, env: dict[str, str], public_url: str | None = None, **tg: Any
) -> Config:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["channels"]["telegram"].update(tg)
    data["http"]["public_url"] = public_url
    return parse_config(data, base_dir=tmp_path, env=env)


def user(chat_id: int = CHAT, language: str | None = "pl") -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": chat_id,
        "is_bot": False,
        "first_name": "Jan",
        "last_name": "Kowalski",
        "username": "jkowalski",
    }
    if language is not None:
        found["language_code"] = language
    return found


def update(
    text: str | None = None,
    *,
    chat_id: int = CHAT,
    language: str | None = "pl",
    update_id: int | None = None,
    chat_type: str = "private",
    **fields: Any,
) -> dict[str, Any]:
    """An Update with a message, as the Bot API documents it (``/...`` gets its entity)."""
    sender = user(chat_id, language)
    chat = {k: v for k, v in sender.items() if k in ("first_name", "last_name", "username")}
    message: dict[str, Any] = {
        "message_id": next(_update_ids) % 10_000,
        "from": sender,
        "chat": {"id": chat_id, **chat, "type": chat_type},
        "date": 1795000000,
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    message.update(fields)
    return {"update_id": update_id or next(_update_ids), "message": message}


@dataclass
class TelegramDesk:
    client: TestClient[web.Request, web.Application]
    telegram: FakeTelegramApi
    clock: FakeClock

    @property
    def ctx(self) -> Context:
        return self.client.app[CONTEXT]

    @property
    def adapter(self) -> TelegramAdapter:
        (adapter,) = self.adapters
        return adapter

    adapters: Sequence[TelegramAdapter] = ()

    async def post(self, body: Any, *, secret: str | None = SECRET) -> ClientResponse:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        return await self.client.post("/telegram/webhook", json=body, headers=headers)

    async def delivered(self, rounds: int = 30) -> bool:
        """Let the outbox deliver what is due, moving the store's clock past retry delays;
        True when nothing is left in it."""
        courier = self.ctx.courier
        # Moving the clock under a send in flight would end its lease: deliver from here.
        await courier.stop()
        for _ in range(rounds):
            if await courier.drain():
                continue
            if not await self.ctx.store.parcels_pending():
                return True
            self.clock.advance(61)
        return False

    async def say(self, text: str | None = None, **kwargs: Any) -> int:
        response = await self.post(update(text, **kwargs))
        return response.status

    async def api(self, agent: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        token = self.client.app[DEMO_TOKENS][agent]
        response = await self.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        data = await response.json() if response.content_type == "application/json" else None
        return response.status, data


Factory = Callable[[Context, dict[str, str], FakeTelegramApi], ChannelAdapter | None]


def wired(ctx: Context, env: dict[str, str], api: FakeTelegramApi) -> ChannelAdapter | None:
    return telegram_adapter(ctx, env)


@asynccontextmanager
async def telegram_desk(
    tmp_path: Path,
    clock: FakeClock,
    store: Store,
    *,
    env: dict[str, str] = TG_ENV,
    public_url: str | None = None,
    factory: Factory = wired,
) -> AsyncIterator[TelegramDesk]:
    async with FakeTelegramApi(BOT_TOKEN) as telegram:
        config = config_for(tmp_path, env, public_url, api_base_url=telegram.base_url)
        built: list[Any] = []

        def adapters(ctx: Context) -> list[ChannelAdapter]:
            built.extend(a for a in [factory(ctx, env, telegram)] if a is not None)
            return built

        app = create_app(config, store, clock=clock, adapters=adapters, env=env, reaper=False)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield TelegramDesk(client, telegram, clock, built)
