from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from queues import Channel, Store
from router.app.factory import DEMO_TOKENS, create_app
from router.config.load import Config, parse_config
from router.http.context import CONTEXT, Context
from tests.conftest import FakeClock
from tests.router.testchannel import TestChannel

ROOT = Path(__file__).resolve().parents[2]
ENV = {"SWITCHBOARD_SECRET": "test-secret-0123456789abcdef"}


def repo_config(tmp_path: Path, **overrides: Any) -> Config:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data.update(overrides)
    return parse_config(data, base_dir=tmp_path, env=ENV)


class Desk:
    """A running app with a test channel per text channel, and agents' HTTP clients."""

    def __init__(
        self,
        client: TestClient[web.Request, web.Application],
        channels: dict[Channel, TestChannel],
        clock: FakeClock,
    ) -> None:
        self.client = client
        self.channels = channels
        self.clock = clock
        self.ctx: Context = client.app[CONTEXT]
        self.tokens: dict[str, str] = client.app[DEMO_TOKENS]

    def auth(self, agent: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[agent]}"}

    async def api(self, agent: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        resp = await self.client.request(method, path, json=body, headers=self.auth(agent))
        data = await resp.json() if resp.content_type == "application/json" else None
        return resp.status, data


@asynccontextmanager
async def running_desk(config: Config, store: Store, clock: FakeClock) -> AsyncIterator[Desk]:
    """The app on ``store`` with a test channel for SMS, chat and Telegram."""
    channels = {ch: TestChannel(channel=ch) for ch in (Channel.SMS, Channel.CHAT, Channel.TELEGRAM)}
    app = create_app(
        config,
        store,
        clock=clock,
        outboxes=channels,
        adapters=lambda ctx: [],
        env=ENV,
        reaper=False,
    )
    async with TestClient(TestServer(app)) as client:
        for channel in channels.values():
            channel.inbox = client.app[CONTEXT].service
        yield Desk(client, channels, clock)


@pytest.fixture
async def desk(make_store, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Desk]:  # type: ignore[no-untyped-def]
    async with running_desk(repo_config(tmp_path), await make_store(clock), clock) as running:
        yield running
