"""What the web chat tests share: the real app with the web chat, and a websocket customer."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from channels import ChannelAdapter
from channels.webchat import WebchatAdapter
from queues import Store
from router.app.factory import DEMO_TOKENS, create_app
from router.app.wiring import webchat_adapter
from router.config.load import Config, parse_config
from router.http.context import CONTEXT, Context
from tests.conftest import FakeClock
from tests.router.conftest import ENV, ROOT
from tests.stores import Switchable

CUSTOMER_FIRST = "Dzień dobry, nie działa mi internet od rana"
CREDENTIALS = "jan.kowalski 482913"


def chat_config(tmp_path: Path, **webchat: Any) -> Config:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["channels"]["webchat"].update(webchat)
    return parse_config(data, base_dir=tmp_path, env=ENV)


@dataclass
class Customer:
    """A chat customer on a websocket; every frame received is kept in ``frames``."""

    ws: ClientWebSocketResponse
    frames: list[dict[str, Any]] = field(default_factory=list)
    # Frame ids are unique per session, across connections (a page makes random ones).
    _prefix: str = field(default_factory=lambda: secrets.token_hex(3))
    _ids: int = 0

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def hello(self, token: str | None = None, language: str | None = "pl") -> dict[str, Any]:
        await self.send({"type": "hello", "session": token, "language": language})
        return await self.expect("welcome")

    async def say(self, text: str, *, frame_id: str | None = None, **extra: Any) -> str:
        if frame_id is None:
            self._ids += 1
            frame_id = f"{self._prefix}-{self._ids}"
        await self.send({"type": "message", "id": frame_id, "text": text, **extra})
        return frame_id

    async def recv(self, timeout_s: float = 5.0) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout_s)
        if msg.type is not WSMsgType.TEXT:
            raise ConnectionError(f"the socket ended: {msg.type.name} {msg.data!r}")
        frame = cast(dict[str, Any], json.loads(msg.data))
        self.frames.append(frame)
        return frame

    async def expect(self, kind: str, timeout_s: float = 5.0, **fields: Any) -> dict[str, Any]:
        """The next frame of ``kind`` (with ``fields``); frames before it are skipped."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items()):
                return frame

    async def quiet(self, quiet_s: float = 0.25) -> list[dict[str, Any]]:
        """Every frame until none arrives for ``quiet_s``."""
        got: list[dict[str, Any]] = []
        while True:
            try:
                got.append(await self.recv(quiet_s))
            except TimeoutError:
                return got

    async def turn(self, text: str, **extra: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Send ``text``; return its ack (or error) and the frames that followed it."""
        frame_id = await self.say(text, **extra)
        while True:
            frame = await self.recv()
            if frame["type"] in ("ack", "error") and frame.get("id") == frame_id:
                return frame, await self.quiet()


@dataclass
class ChatApp:
    client: TestClient[Any, Any]
    store: Switchable
    clock: FakeClock
    adapter: WebchatAdapter

    @property
    def ctx(self) -> Context:
        context: Context = self.client.app[CONTEXT]
        return context

    @asynccontextmanager
    async def customer(self, **headers: str) -> AsyncIterator[Customer]:
        async with self.client.ws_connect("/chat/ws", headers=headers) as ws:
            yield Customer(ws)

    async def api(self, agent: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        token = self.client.app[DEMO_TOKENS][agent]
        response = await self.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        data = await response.json() if response.content_type == "application/json" else None
        return response.status, data


@asynccontextmanager
async def chat_app(
    store: Store, clock: FakeClock, tmp_path: Path, **webchat: Any
) -> AsyncIterator[ChatApp]:
    switchable = Switchable(store)
    made: list[ChannelAdapter] = []

    def adapters(ctx: Context) -> list[ChannelAdapter]:
        made.append(webchat_adapter(ctx, ENV))
        return made

    app = create_app(
        chat_config(tmp_path, **webchat),
        cast(Store, switchable),
        clock=clock,
        adapters=adapters,
        env=ENV,
        reaper=False,
    )
    async with TestClient(TestServer(app)) as client:
        (adapter,) = made
        yield ChatApp(client, switchable, clock, cast(WebchatAdapter, adapter))


async def queue_customer(customer: Customer, first: str = CUSTOMER_FIRST) -> dict[str, Any]:
    """Take a new customer through the text flow to the queue; return the queued frame."""
    await customer.turn(first)
    ack, after = await customer.turn(CREDENTIALS)
    assert ack["type"] == "ack", ack
    return next(f for f in after if f["type"] == "queued")
