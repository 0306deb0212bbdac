"""Browser tests: Debian's chromium driven by Playwright, against the real app on loopback.

Fixtures every page's tests share (keep them generic):

- ``browser``: one headless chromium per test module (``/usr/bin/chromium``; browsers are
  never downloaded: ``make test`` installs Debian's ``chromium`` package when missing).
  Not per session: while Playwright's sync API is open it marks its event loop as running
  in the main thread, so an async test run after it (``pytest tests/web tests/router``)
  would fail; a module of these sync tests closes it before the next module starts.
- ``pages``: makes pages, each in its own browser context (own storage, like another person
  on another machine) unless given one; records page errors and console errors (CSP
  violations appear there) in ``pages.errors``; closes everything after the test.
- ``live_app``: the real app (``create_app`` on a memory store, the web chat adapter, the
  agent console and dashboard) on a free loopback port, served from a background thread
  with its own event loop. ``live_app.url``, ``live_app.api(agent, method, path, body)``,
  ``live_app.tokens``, ``live_app.run(coroutine)`` (runs on the app's loop),
  ``live_app.clock.advance(seconds)``.
- ``screenshot(page, name)``: saves ``build/screenshots/<name>.png`` (not committed).

The tests are plain (sync) functions: Playwright's sync API runs its own event loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from queues import Store, open_store
from router.app.factory import DEMO_TOKENS, create_app
from router.app.wiring import webchat_adapter
from router.http.context import CONTEXT, Context
from tests.router.conftest import ENV, ROOT, repo_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = ROOT / "build" / "screenshots"
PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 800}
#: A Monday, 12:00 UTC (13:00 in Warsaw): the teams are open whatever day the tests run.
START = 1_795_000_000.0

T = TypeVar("T")


class LiveClock:
    """Starts on a fixed Monday noon and runs with real time; ``advance`` jumps ahead."""

    def __init__(self, start: float = START) -> None:
        self._offset = start - time.time()

    def __call__(self) -> float:
        return round(time.time() + self._offset, 6)

    def advance(self, seconds: float) -> None:
        self._offset += seconds


class LiveApp:
    """The real app on 127.0.0.1, in a thread of its own."""

    def __init__(self, tmp_path: Path, *, queue_update_s: float = 0.5) -> None:
        self.clock = LiveClock()
        self._config = repo_config(tmp_path)
        self._queue_update_s = queue_update_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._store: Store | None = None
        self.url = ""
        self.tokens: dict[str, str] = {}
        self.ctx: Context | None = None

    def start(self) -> None:
        self._thread.start()
        self.run(self._start())

    async def _start(self) -> None:
        self._store = await open_store("memory://", clock=self.clock)
        app = create_app(
            self._config,
            self._store,
            clock=self.clock,
            adapters=lambda ctx: [
                webchat_adapter(ctx, ENV, queue_update_s=self._queue_update_s),
            ],
            env=ENV,
        )
        self.ctx = app[CONTEXT]
        self._runner = web.AppRunner(app, shutdown_timeout=2.0)
        await self._runner.setup()
        self.tokens = {str(k): str(v) for k, v in app[DEMO_TOKENS].items()}  # made at start
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        try:
            self.run(self._stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._store is not None:
            await self._store.aclose()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 20.0) -> T:
        """Run ``coro`` on the app's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    def api(self, agent: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """An agent API call as ``agent`` (a demo agent): (status, JSON body or None)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.tokens[agent]}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                status, raw, kind = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, raw, kind = exc.code, exc.read(), exc.headers
        is_json = kind.get_content_type() == "application/json"
        return status, json.loads(raw) if is_json and raw else None


class Pages:
    """Makes pages; each gets its own context unless one is given."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser
        self._contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def context(self, *, viewport: dict[str, int] | None = None, **options: Any) -> BrowserContext:
        context = self._browser.new_context(viewport=viewport or DESKTOP, **options)  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        self._contexts.append(context)
        return context

    def new(
        self,
        *,
        context: BrowserContext | None = None,
        viewport: dict[str, int] | None = None,
        **options: Any,
    ) -> Page:
        page = (context or self.context(viewport=viewport, **options)).new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        return page

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def pages(browser: Browser) -> Iterator[Pages]:
    made = Pages(browser)
    yield made
    made.close()


@pytest.fixture
def context(pages: Pages) -> BrowserContext:
    return pages.context()


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[LiveApp]:
    app = LiveApp(tmp_path)
    app.start()
    yield app
    app.stop()


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    def save(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return save
