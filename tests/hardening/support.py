"""The whole app on loopback with every channel on, for the hardening tests (no tests here).

SMS and voice (Twilio's API played by ``FakeTwilioApi``), Telegram (``FakeTelegramApi``), the
web chat, email on a real SMTP port, and the agent API: the same wiring ``switchboard run``
uses (``default_adapters``), so what the fuzz and flood tests reach is what production runs.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import re
import smtplib
import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

import yaml
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from channels.email import EmailAdapter
from channels.telegram.adapter import SECRET_HEADER
from channels.twilio.auth import FORM_TYPE, HEADER, sign
from queues import Store, open_store
from router.app.factory import DEMO_TOKENS, create_app
from router.app.wiring import default_adapters
from router.config.load import Config, parse_config
from router.http.context import CONTEXT, Context
from tests.channels.telegram.fake_api import FakeTelegramApi
from tests.channels.twilio.fake_api import FakeTwilioApi
from tests.conftest import FakeClock
from tests.hardening.redis_proc import RedisProcess
from tests.redis_server import free_port
from tests.router.conftest import ENV, ROOT

ACCOUNT_SID = "AC" + "2e" * 16
AUTH_TOKEN = "7b" * 16
BOT_TOKEN = "7000000002:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TG_SECRET = "hardening-Secret_token"
FULL_ENV = {
    **ENV,
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
    "TELEGRAM_SECRET_TOKEN": TG_SECRET,
}
SUPPORT = "support@example.com"


@functools.cache
def _repo_yaml() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data: dict[str, Any] = yaml.load((ROOT / "config.yaml").read_text(encoding="utf-8"), loader)
    return data


def merge(into: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``into`` with ``changes`` merged in, section by section."""
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
    return into


def full_config(tmp_path: Path, **changes: Any) -> Config:
    data = merge(copy.deepcopy(_repo_yaml()), changes)
    return parse_config(data, base_dir=tmp_path, env=FULL_ENV)


@dataclass
class Rig:
    """The running app and its providers; helpers speak each channel as its provider does."""

    client: TestClient[web.Request, web.Application]
    twilio: FakeTwilioApi
    telegram: FakeTelegramApi
    clock: FakeClock
    adapters: list[Any]

    @property
    def ctx(self) -> Context:
        return self.client.app[CONTEXT]

    @property
    def store(self) -> Store:
        return self.ctx.store

    @property
    def smtp_port(self) -> int:
        return self.email.port

    @property
    def email(self) -> EmailAdapter:
        return next(a for a in self.adapters if isinstance(a, EmailAdapter))

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))

    def token(self, agent: str) -> str:
        return str(self.client.app[DEMO_TOKENS][agent])

    async def twilio_post(
        self, path: str, form: Mapping[str, str], *, signed: bool = True, **kwargs: Any
    ) -> ClientResponse:
        """POST ``form`` as Twilio does: urlencoded, signed for the URL requested."""
        headers = {"Content-Type": FORM_TYPE, **kwargs.pop("headers", {})}
        if signed:
            headers[HEADER] = sign(AUTH_TOKEN, self.url(path), form)
        body = urlencode(list(form.items())).encode()
        return await self.client.post(path, data=body, headers=headers, **kwargs)

    async def telegram_post(self, body: Any, *, raw: bytes | None = None) -> ClientResponse:
        data = raw if raw is not None else json.dumps(body).encode()
        return await self.client.post(
            "/telegram/webhook",
            data=data,
            headers={SECRET_HEADER: TG_SECRET, "Content-Type": "application/json"},
        )

    async def api(
        self, agent: str, method: str, path: str, *, body: Any = None, raw: bytes | None = None
    ) -> ClientResponse:
        headers = {"Authorization": f"Bearer {self.token(agent)}"}
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return await self.client.request(method, path, data=raw, headers=headers)

    async def mail(self, raw: bytes, *, sender: str = "jan@example.net") -> tuple[int, bytes]:
        """Send one mail over SMTP with smtplib (in a thread); the DATA reply."""

        def send() -> tuple[int, bytes]:
            with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as smtp:
                smtp.ehlo()
                smtp.mail(sender)
                smtp.rcpt(SUPPORT)
                return smtp.data(raw)

        return await asyncio.to_thread(send)


@asynccontextmanager
async def full_rig(
    tmp_path: Path, store: Store, clock: FakeClock, **changes: Any
) -> AsyncIterator[Rig]:
    """Every channel on, on loopback ports; ``changes`` merge into config.yaml."""
    async with (
        FakeTwilioApi(ACCOUNT_SID, AUTH_TOKEN) as twilio,
        FakeTelegramApi(BOT_TOKEN) as telegram,
    ):
        base = {
            "channels": {
                "twilio": {"api_base_url": twilio.base_url},
                "telegram": {"api_base_url": telegram.base_url},
                "email": {"listen": f"127.0.0.1:{free_port()}", "relay": {"host": None}},
            }
        }
        config = full_config(tmp_path, **merge(base, changes))
        build = default_adapters(FULL_ENV)
        adapters: list[Any] = []

        def kept(ctx: Context) -> list[Any]:
            adapters.extend(build(ctx))
            return adapters

        app = create_app(config, store, clock=clock, adapters=kept, env=FULL_ENV, reaper=False)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield Rig(client, twilio, telegram, clock, adapters)


@asynccontextmanager
async def redis_rig(tmp_path: Path, redis: RedisProcess, **changes: Any) -> AsyncIterator[Rig]:
    """``full_rig`` on ``redis`` (thawed again at the end, should a test leave it frozen)."""
    clock = FakeClock()
    store = await open_store(redis.url, clock=clock)
    try:
        async with full_rig(tmp_path, store, clock, **changes) as running:
            yield running
    finally:
        redis.thaw()
        await store.aclose()


def strings_of(value: Any) -> Iterator[str]:
    """Every string inside ``value``: containers, dataclasses and objects, walked."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
            continue
        if isinstance(item, bytes):
            yield item.decode("utf-8", "replace")
            continue
        if item is None or isinstance(item, (int, float)) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif is_dataclass(item):
            stack.extend(getattr(item, f.name, None) for f in fields(item))
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())
        elif hasattr(item, "__slots__"):
            stack.extend(getattr(item, s, None) for s in item.__slots__)


async def store_dump(store: Store) -> str:
    """Everything the store keeps, as text: for asserting what is never kept."""
    inner = getattr(store, "inner", store)
    kind = type(inner).__name__
    if kind == "SqliteStore":
        path = Path(str(cast(Any, inner).path))
        with sqlite3.connect(path) as db:
            return "\n".join(db.iterdump())
    if kind == "RedisStore":
        return await _redis_dump(inner)
    return "\n".join(strings_of(inner))


async def _redis_dump(store: Any) -> str:
    redis = store._redis
    out: list[str] = []
    async for key in redis.scan_iter(count=1000):
        kind = await redis.type(key)
        if kind == "string":
            value: Any = await redis.get(key)
        elif kind == "hash":
            value = await redis.hgetall(key)
        elif kind == "list":
            value = await redis.lrange(key, 0, -1)
        elif kind == "set":
            value = await redis.smembers(key)
        elif kind == "zset":
            value = await redis.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            value = await redis.xrange(key)
        else:
            value = kind
        out.append(f"{key} {value!r}")
    return "\n".join(out)


def digits_present(dump: str, code: str) -> list[str]:
    """The places ``code`` appears as its own digit run in ``dump`` (with some context)."""
    return [
        dump[max(0, m.start() - 60) : m.end() + 20]
        for m in re.finditer(rf"(?<!\d){re.escape(code)}(?!\d)", dump)
    ]
