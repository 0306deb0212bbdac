"""Support for the two-process suite (no tests here): real `switchboard run` processes on one
store, the Telegram Bot API and an SMTP relay played in a thread of their own, and the HTTP,
SMS, chat and mail calls a customer or an agent makes.

Each router is a child process started as a user would (``python -m router.cli run -c
config.yaml --store URL --http HOST:PORT --smtp HOST:PORT --demo``); its stdout and stderr go to
files under the test's work dir, shown when it does not start. Children get SIGKILL when the
test process dies (``PR_SET_PDEATHSIG``), so a killed pytest leaves none behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote

import aiohttp
import aiosmtplib
import yaml

from channels.twilio.auth import HEADER as TWILIO_HEADER
from channels.twilio.auth import sign
from queues import Store, open_store
from router.config.models import QueueSettings
from tests.channels.email.support import RelayHandler, make_mail, relay_server
from tests.channels.telegram.fake_api import FakeTelegramApi
from tests.channels.telegram.support import BOT_TOKEN
from tests.channels.telegram.support import SECRET as TELEGRAM_SECRET
from tests.channels.telegram.support import update as telegram_update
from tests.channels.twilio.sms_support import ACCOUNT_SID, AUTH_TOKEN, twilio_form
from tests.redis_server import free_port

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
SECRET = "multiprocess-secret-0123456789abcdef"
ENV = {
    "SWITCHBOARD_SECRET": SECRET,
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
    "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
    "PYTHONUNBUFFERED": "1",
}
#: Short, so that a lease expires within a test; long enough for 50 claims and their checks.
LEASE_S = 4.0
REAPER_S = 0.25
OUTBOX_LEASE_S = 1.5
CHAT_PER_MINUTE = 5
AUTO_REPLIES_PER_HOUR = 2
#: Demo agents added to the shipped ones, so that claims come from several agents.
EXTRA_AGENTS = ("ewa", "marek", "kuba")
TECHNICAL_AGENTS = ("ania", "tomek", *EXTRA_AGENTS)
ALL_AGENTS = ("ania", "tomek", "ola", *EXTRA_AGENTS)
CREDENTIALS = "jan.kowalski 482913"
TECHNICAL_TEXT = "Dzień dobry, nie działa mi internet"
START_TIMEOUT_S = 20.0


# -- the config both routers read ------------------------------------------------------------
#: The desk of the suite's routers unless a module asks for another: agents hold any number
#: of contacts and wrap nothing up, so tests of claims across processes can give one agent
#: ten (tests/multiprocess/test_capacity.py runs the shipped capacity instead).
NO_LIMITS: dict[str, Any] = {"capacity": {}, "exclusive": [], "wrap_up_s": 0}
ALWAYS = "00:00-24:00"


def write_config(
    path: Path,
    *,
    data_dir: Path,
    telegram_url: str,
    relay_port: int,
    desk: dict[str, Any] | None = NO_LIMITS,
) -> Path:
    """The shipped config.yaml with this suite's data dir, short lease and low limits, the
    Telegram API and the SMTP relay played by the test, and a few more demo agents;
    ``desk`` replaces the shipped capacity and wrap-up (None: keep them). The teams are open
    round the clock: the routers run on the real clock, and what a customer is told (and
    whether a wait update goes out at all) depends on the hours."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for team in data["teams"].values():
        team["hours"] = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), ALWAYS)
        team["holidays"] = {"country": None}
    if desk is not None:
        data["desk"] = desk
    # No CSAT question after a resolve: an SMS one would go to Twilio's real API.
    data["survey"]["channels"] = []
    data["data_dir"] = str(data_dir)
    data["accounts"]["file"] = str(data_dir / "accounts.json")
    data["agents"]["file"] = str(data_dir / "agents.json")
    data["agents"]["demo"] += [{"name": n, "teams": ["technical", "billing"]} for n in EXTRA_AGENTS]
    data["queues"].update(lease_s=LEASE_S, reaper_interval_s=REAPER_S)
    channels = data["channels"]
    channels["webchat"]["max_messages_per_minute"] = CHAT_PER_MINUTE
    channels["email"]["auto_reply_per_hour"] = AUTO_REPLIES_PER_HOUR
    channels["email"]["relay"].update(host="127.0.0.1", port=relay_port)
    channels["email"]["attachments"] = "drop"
    channels["telegram"]["api_base_url"] = telegram_url
    # The durable outbox (issue 11, being built): once the config has its keys, a short
    # lease and poll, so that a survivor takes over a dead process's sends within the test.
    outbox = {"outbox_lease_s": OUTBOX_LEASE_S, "outbox_poll_s": 0.25}
    data["queues"].update({k: v for k, v in outbox.items() if k in QueueSettings.model_fields})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# -- fakes of the providers, in a thread of their own --------------------------------------
class Services:
    """An event loop in a thread serving the fake Telegram Bot API and the SMTP relay, so
    that they answer the routers whatever the test's own loop is doing."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._stack = AsyncExitStack()
        self.telegram = FakeTelegramApi(BOT_TOKEN)
        self.relay = RelayHandler()
        self.relay_port = 0

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def __enter__(self) -> Services:
        self._thread.start()
        try:
            self.call(self._start())
        except BaseException:
            self.__exit__()
            raise
        return self

    async def _start(self) -> None:
        await self._stack.enter_async_context(self.telegram)
        self.relay, self.relay_port = await self._stack.enter_async_context(relay_server())

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.call(self._stack.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self.loop.close()


# -- one `switchboard run` -------------------------------------------------------------------
#: Runs first in each child: SIGKILL when the test process dies (PR_SET_PDEATHSIG, kept
#: across exec), then the router itself in the same process.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys; ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


_TOKEN_LINE = re.compile(r"^\s+(\S+)\s+teams=\S*\s+token=(\S+)\s*$", re.MULTILINE)


@dataclass
class Router:
    """A `switchboard run --demo` child process on its own HTTP and SMTP ports."""

    name: str
    config: Path
    store_url: str
    logs: Path
    http_port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def stdout(self) -> Path:
        return self.logs / f"{self.name}-{self.starts}.out"

    @property
    def stderr(self) -> Path:
        return self.logs / f"{self.name}-{self.starts}.err"

    def start(self) -> None:
        """Start the process (again, on the same ports, after ``kill``)."""
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} is running"
        self.starts += 1
        self.logs.mkdir(parents=True, exist_ok=True)
        args = [
            sys.executable, "-c", _DIE_WITH_PARENT, "-m", "router.cli", "run",
            "-c", str(self.config),
            "--store", self.store_url,
            "--http", f"127.0.0.1:{self.http_port}",
            "--smtp", f"127.0.0.1:{self.smtp_port}",
            "--demo",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_"))}
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                args,
                cwd=self.config.parent,
                env={**env, **ENV},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Until ``/readyz`` says ready and the demo tokens are printed."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"router {self.name} exited at start:\n{self.output()}")
            printed = self.stdout.read_text(encoding="utf-8", errors="replace")
            if "Try: switchboard agent" in printed and self._ready():
                self.tokens = dict(_TOKEN_LINE.findall(printed))
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"router {self.name} not ready in {timeout_s} s:\n{self.output()}"
                )
            time.sleep(0.05)

    def start_on_free_ports(self, tries: int = 3) -> None:
        """The first start: on new free ports again when another process took one of them
        between ``free_port()`` and the router's bind (they are picked, not held)."""
        for attempt in range(tries):
            self.start()
            try:
                self.wait_ready()
                return
            except RuntimeError:
                taken = "address already in use" in self.output()
                if not taken or attempt == tries - 1:
                    raise
                self.stop()
                self.http_port, self.smtp_port = free_port(), free_port()

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=1) as answer:
                return bool(answer.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def output(self) -> str:
        out = self.stdout.read_text(encoding="utf-8", errors="replace")[-3000:]
        err = self.stderr.read_text(encoding="utf-8", errors="replace")[-4000:]
        return f"--- stdout\n{out}\n--- stderr\n{err}"

    def kill(self) -> None:
        """``kill -9``: no cleanup of any kind in the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM (the router's clean stop), SIGKILL if it takes more than 5 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@dataclass
class Pair:
    """Routers A and B on one store (``backend``: one redis-server or a Redis Cluster)."""

    backend: str
    store_url: str
    a: Router
    b: Router
    services: Services
    workdir: Path

    @property
    def both(self) -> tuple[Router, Router]:
        return self.a, self.b

    @property
    def telegram(self) -> FakeTelegramApi:
        return self.services.telegram

    @property
    def relay(self) -> RelayHandler:
        return self.services.relay

    def token(self, agent: str) -> str:
        return self.a.tokens[agent]


@contextlib.contextmanager
def started(routers: list[Router]) -> Iterator[list[Router]]:
    """Start ``routers`` one after another (each ready before the next, as a user would);
    stop every one of them on the way out, whatever happened."""
    try:
        for router in routers:
            router.start_on_free_ports()
        yield routers
    finally:
        for router in routers:
            router.stop()


# -- what agents and customers do over HTTP ----------------------------------------------
class Http:
    """An aiohttp session with the calls the tests make on either router."""

    def __init__(self, session: aiohttp.ClientSession, pair: Pair) -> None:
        self.session = session
        self.pair = pair

    async def api(
        self, router: Router, agent: str, method: str, path: str, body: Any = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.pair.token(agent)}"}
        async with self.session.request(
            method, router.url + path, json=body, headers=headers
        ) as answer:
            data = await answer.json() if answer.content_type == "application/json" else None
            return answer.status, data

    async def ok(self, router: Router, agent: str, method: str, path: str, body: Any = None) -> Any:
        status, data = await self.api(router, agent, method, path, body)
        assert 200 <= status < 300, f"{method} {path} on {router.name}: {status} {data}"
        return data

    async def queues(self, router: Router) -> dict[str, dict[str, Any]]:
        rows = await self.ok(router, "ania", "GET", "/api/queues")
        return {row["team"]: row for row in rows}

    async def sms(self, router: Router, sender: str, body: str) -> str:
        """A customer's SMS as Twilio posts it to ``router``; returns the TwiML answer."""
        url = router.url + "/twilio/sms"
        form = twilio_form(body, sender=sender)
        headers = {TWILIO_HEADER: sign(AUTH_TOKEN, url, form)}
        async with self.session.post(url, data=form, headers=headers) as answer:
            text = await answer.text()
            assert answer.status == 200, f"SMS to {router.name}: {answer.status} {text}"
            return text

    async def sms_contact(
        self, sender: str, first: Router, second: Router, text: str = TECHNICAL_TEXT
    ) -> str:
        """A new SMS customer taken to the queue (first message to ``first``, the login and
        code to ``second``); returns the contact's id."""
        await self.sms(first, sender, text)
        answer = await self.sms(second, sender, CREDENTIALS)
        assert "kolejce" in answer, f"not queued: {answer}"
        found = await self.ok(
            second, "ania", "GET", f"/api/contacts?channel=sms&address={quote(sender, safe='')}"
        )
        assert found and found[0]["state"] == "waiting", found
        return str(found[0]["id"])

    async def telegram(self, router: Router, body: dict[str, Any]) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        async with self.session.post(
            router.url + "/telegram/webhook", json=body, headers=headers
        ) as answer:
            return answer.status

    @contextlib.asynccontextmanager
    async def chat(self, router: Router) -> AsyncIterator[ChatSocket]:
        async with self.session.ws_connect(router.url.replace("http", "ws") + "/chat/ws") as ws:
            yield ChatSocket(ws)


@dataclass
class ChatSocket:
    ws: aiohttp.ClientWebSocketResponse
    _ids: int = 0

    async def hello(self, token: str | None = None) -> dict[str, Any]:
        await self.ws.send_str(json.dumps({"type": "hello", "session": token, "language": "pl"}))
        return await self.expect(lambda f: f["type"] == "welcome")

    async def message(self, text: str, prefix: str) -> dict[str, Any]:
        """Send ``text``; its ack, or the error that refused it."""
        self._ids += 1
        frame_id = f"{prefix}-{self._ids}"
        await self.ws.send_str(json.dumps({"type": "message", "id": frame_id, "text": text}))
        return await self.expect(
            lambda f: f["type"] in ("ack", "error") and f.get("id") == frame_id
        )

    async def expect(
        self, wanted: Callable[[dict[str, Any]], bool], timeout_s: float = 10.0
    ) -> dict[str, Any]:
        async with asyncio.timeout(timeout_s):
            while True:
                msg = await self.ws.receive()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    raise ConnectionError(f"the chat socket ended: {msg.type.name}")
                frame = cast(dict[str, Any], json.loads(msg.data))
                if wanted(frame):
                    return frame


async def send_mail(router: Router, sender: str, subject: str) -> None:
    """A customer's mail to ``router``'s SMTP server (a new conversation each time)."""
    raw = make_mail(sender=sender, subject=subject, body="Dzień dobry,\nproszę o kontakt.\n")
    await aiosmtplib.send(
        raw,
        sender=sender,
        recipients=["support@example.com"],
        hostname="127.0.0.1",
        port=router.smtp_port,
        timeout=10,
    )


def new_update(text: str, chat_id: int) -> dict[str, Any]:
    return telegram_update(text, chat_id=chat_id)


@contextlib.asynccontextmanager
async def store_of(pair: Pair) -> AsyncIterator[Store]:
    """The routers' store, opened by the test to read what the API does not show."""
    store = await open_store(pair.store_url)
    try:
        yield store
    finally:
        await store.aclose()
