"""The pages' HTTP side without a browser: headers, assets, page APIs and the live socket."""

from __future__ import annotations

import asyncio
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from queues import Channel
from router.app.factory import create_app
from router.http.console_api import HISTORY, HistoryCache
from router.http.context import CONTEXT
from router.http.live import LIVE_SETTINGS, LiveSettings
from router.http.pages import STATIC_DIR
from tests.conftest import FakeClock
from tests.router.conftest import ENV, Desk, repo_config
from tests.router.testchannel import TestChannel

STORE_BACKENDS = ["memory", "sqlite", "redis"]


@pytest.fixture
async def web(make_store, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Desk]:  # type: ignore[no-untyped-def]
    """The app with a live socket that pushes queue depths every 50 ms; the watched
    contact is pushed when it changes (its fallback read is a minute away)."""
    store = await make_store(clock)
    channels = {ch: TestChannel(channel=ch) for ch in (Channel.SMS, Channel.CHAT)}
    app = create_app(
        repo_config(tmp_path),
        store,
        clock=clock,
        outboxes=channels,
        adapters=lambda ctx: [],
        env=ENV,
        reaper=False,
    )
    app[LIVE_SETTINGS] = LiveSettings(queue_push_s=0.05, contact_poll_s=60, auth_timeout_s=0.3)
    app[HISTORY] = HistoryCache(ttl_s=0)
    async with TestClient(TestServer(app)) as client:
        for channel in channels.values():
            channel.inbox = client.app[CONTEXT].service
        yield Desk(client, channels, clock)


async def queue_one(web: Desk, address: str = "+48600000001", text: str = "faktura") -> str:
    sms = web.channels[Channel.SMS]
    await sms.say(address, text)
    answer = await sms.say(address, "jan.kowalski 482913")
    return answer.contact.id


# -- pages and assets -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/agent", "/dashboard"])
async def test_pages_carry_a_strict_csp_and_nosniff(web: Desk, path: str) -> None:
    resp = await web.client.get(path)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = resp.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self' ws: wss:"
    assert directives["img-src"] == "'self' data: blob:"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "<title>Switchboard" in await resp.text()


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for name in names:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.problems.append("<style>")
        if tag == "script":
            if not names.get("src"):
                self.problems.append("inline <script>")
            else:
                self.scripts.append(str(names["src"]))
        if tag == "link" and names.get("rel") == "stylesheet":
            self.styles.append(str(names["href"]))


@pytest.mark.parametrize("page", ["agent.html", "dashboard.html"])
async def test_pages_use_no_inline_script_or_style_and_their_assets_exist(
    web: Desk, page: str
) -> None:
    markup = _Markup()
    markup.feed((STATIC_DIR / page).read_text(encoding="utf-8"))
    assert markup.problems == []
    assert markup.scripts and markup.styles
    for url in markup.scripts + markup.styles:
        resp = await web.client.get(url)
        assert resp.status == 200, url
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_scripts_never_build_markup_from_strings() -> None:
    """Customer text is shown with textContent: no API that parses a string as HTML."""
    risky = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function"
    )
    for path in sorted(STATIC_DIR.glob("*.js")):
        source = path.read_text(encoding="utf-8")
        assert not risky.findall(source), path.name
        assert "http://" not in source and "https://" not in source, f"{path.name} loads from afar"


ASSET_TYPES = {
    "agent.js": "text/javascript; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "common.js": "text/javascript; charset=utf-8",
    "agent_view.js": "text/javascript; charset=utf-8",
    "agent_timeline.js": "text/javascript; charset=utf-8",
    "agent_canned.js": "text/javascript; charset=utf-8",
    "agent_tabs.js": "text/javascript; charset=utf-8",
    "agent_timeline.css": "text/css; charset=utf-8",
    "common.css": "text/css; charset=utf-8",
    "agent.css": "text/css; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}


async def test_assets_are_served_with_their_content_type_and_nothing_else_is(web: Desk) -> None:
    assert sorted(ASSET_TYPES) == sorted(
        p.name for p in STATIC_DIR.iterdir() if p.suffix in (".js", ".css")
    )
    for name, content_type in ASSET_TYPES.items():
        resp = await web.client.get(f"/assets/{name}")
        assert resp.status == 200
        assert resp.headers["Content-Type"] == content_type
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert await resp.read() == (STATIC_DIR / name).read_bytes()
    for path in ["/assets/agent.html", "/assets/nope.js", "/assets/..%2Fweb.py", "/assets/%2e%2e"]:
        resp = await web.client.get(path)
        assert resp.status == 404, path


# -- page APIs --------------------------------------------------------------------------


async def test_page_apis_need_a_token_in_the_header(web: Desk) -> None:
    for method, path in [
        ("GET", "/api/me"),
        ("POST", "/api/presence"),
        ("GET", "/api/stats/history"),
        ("GET", "/api/charts/waiting.svg"),
    ]:
        resp = await web.client.request(method, path, json={"status": "break"})
        assert resp.status == 401, path
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        cookie = await web.client.request(method, path, cookies={"token": web.tokens["ania"]})
        assert cookie.status == 401, path  # a cookie is never a credential


async def test_me_tells_the_console_what_it_needs(web: Desk) -> None:
    status, me = await web.api("ola", "GET", "/api/me")
    assert status == 200
    assert me["name"] == "ola" and me["teams"] == ["billing", "domains_hosting"]
    assert me["dispositions"][0] == "solved" and "spam" in me["dispositions"]
    assert me["lease_s"] == 60
    assert {"name": "technical", "label": "Technical support"} in me["all_teams"]
    assert "token_hash" not in json.dumps(me)


async def test_break_takes_the_agent_off_the_available_count(web: Desk) -> None:
    status, body = await web.api("tomek", "POST", "/api/presence", {"status": "available"})
    assert status == 200 and body == {
        "name": "tomek",
        "status": "available",
        "teams": ["technical"],
    }
    _, queues = await web.api("ania", "GET", "/api/queues")
    assert next(q for q in queues if q["team"] == "technical")["agents_available"] == 1
    await web.api("tomek", "POST", "/api/presence", {"status": "break"})
    _, queues = await web.api("ania", "GET", "/api/queues")
    assert next(q for q in queues if q["team"] == "technical")["agents_available"] == 0
    _, me = await web.api("tomek", "GET", "/api/me")
    assert me["status"] == "break"


async def test_presence_refuses_bad_bodies(web: Desk) -> None:
    for body, status, says in [
        ({"status": "lunch"}, 422, "status"),
        ({"status": "break", "teams": ["billing"]}, 422, "does not serve billing"),
        ({"status": "break", "mood": "ok"}, 422, "mood"),
        (b"{nope", 400, "not JSON"),
    ]:
        kwargs: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
        resp = await web.client.post("/api/presence", headers=web.auth("tomek"), **kwargs)
        assert resp.status == status, body
        assert says in (await resp.json())["error"]


async def test_history_and_charts_follow_the_queue(web: Desk) -> None:
    cid = await queue_one(web)
    _, history = await web.api("ania", "GET", "/api/stats/history")
    assert history["contacts"]["series"]["sms"][-1] == 1
    assert len(history["contacts"]["labels"]) == 12
    assert history["waiting"]["series"]["billing"][-1] == 1
    assert history["waiting"]["series"]["billing"][0] == 0
    assert history["service_level"]["target"] == 0.8

    web.clock.advance(30)
    status, claimed = await web.api("ania", "POST", "/api/claim", {})
    assert status == 200 and claimed["id"] == cid
    _, history = await web.api("ania", "GET", "/api/stats/history")
    assert history["waiting"]["series"]["billing"][-1] == 0
    assert history["service_level"]["series"]["*"][-1] == 1.0  # sms: answered within the hour

    resp = await web.client.get("/api/charts/contacts.svg", headers=web.auth("ania"))
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("image/svg+xml")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    root = ET.fromstring(await resp.text())
    bar = root.find(".//{http://www.w3.org/2000/svg}rect[@class='bar']")
    assert bar is not None and bar.get("data-series") == "sms" and bar.get("data-value") == "1"
    for name in ("waiting", "service_level"):
        resp = await web.client.get(f"/api/charts/{name}.svg", headers=web.auth("ania"))
        assert resp.status == 200
        ET.fromstring(await resp.text())
    resp = await web.client.get("/api/charts/pie.svg", headers=web.auth("ania"))
    assert resp.status == 404 and "contacts" in (await resp.json())["error"]


# -- the live socket --------------------------------------------------------------------


async def frames_until(ws: Any, kind: str, timeout_s: float = 3.0, **match: Any) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        while True:
            msg = await ws.receive()
            assert msg.type is WSMsgType.TEXT, msg
            frame = json.loads(msg.data)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return dict(frame)

    return await asyncio.wait_for(wait(), timeout_s)


async def test_socket_needs_a_token_in_its_first_frame(web: Desk) -> None:
    async with web.client.ws_connect("/agent/ws") as ws:
        await ws.send_json({"type": "auth", "token": "nope"})
        frame = await ws.receive_json()
        assert frame == {"type": "error", "error": "a valid agent token is required"}
        msg = await ws.receive()
        assert msg.type is WSMsgType.CLOSE and ws.close_code == 4401
    async with web.client.ws_connect("/agent/ws") as ws:  # says nothing: closed after 0.3 s
        await ws.receive_json()
        assert (await ws.receive()).type is WSMsgType.CLOSE


async def test_socket_pushes_queue_depths_and_marks_the_agent_present(web: Desk) -> None:
    async with web.client.ws_connect("/agent/ws") as ws:
        await ws.send_json({"type": "auth", "token": web.tokens["ola"]})
        assert await ws.receive_json() == {"type": "ready", "agent": "ola"}
        await ws.send_json({"type": "serve", "teams": ["billing"], "status": "available"})
        first = await frames_until(ws, "queues")
        billing = next(q for q in first["queues"] if q["team"] == "billing")
        assert billing["waiting"] == 0
        await queue_one(web)

        async def billing_waiting() -> dict[str, Any]:
            while True:
                frame = await frames_until(ws, "queues")
                row = next(q for q in frame["queues"] if q["team"] == "billing")
                if row["waiting"] == 1:
                    return dict(row)

        row = await asyncio.wait_for(billing_waiting(), 3)
        assert row["agents_available"] == 1
        await ws.send_json({"type": "serve", "teams": ["technical"]})
        assert (await frames_until(ws, "error"))[
            "error"
        ] == "you serve billing, domains_hosting only"


async def test_socket_streams_the_held_contact_and_customer_typing(web: Desk) -> None:
    cid = await queue_one(web)
    async with web.client.ws_connect("/agent/ws") as ws:
        await ws.send_json({"type": "auth", "token": web.tokens["ania"]})
        await frames_until(ws, "ready")
        await ws.send_json({"type": "watch", "contact_id": cid})
        refused = await frames_until(ws, "error")
        assert "do not hold" in refused["error"]

        await web.api("ania", "POST", "/api/claim", {})
        await ws.send_json({"type": "watch", "contact_id": cid})
        frame = await frames_until(ws, "contact")
        assert frame["contact"]["id"] == cid and frame["contact"]["state"] == "assigned"
        assert frame["contact"]["account_info"]["name"] == "Jan Kowalski"
        count = len(frame["contact"]["messages"])

        await asyncio.sleep(0.1)  # the subscriptions are in place
        await web.channels[Channel.SMS].say("+48600000001", "<b>jeszcze</b> jedno pytanie")
        frame = await frames_until(ws, "contact")  # pushed, not polled
        assert len(frame["contact"]["messages"]) == count + 1
        assert frame["contact"]["messages"][-1]["text"] == "<b>jeszcze</b> jedno pytanie"

        await web.ctx.store.publish(f"typing:{cid}", json.dumps({"typing": True}))
        assert await frames_until(ws, "typing") == {"type": "typing", "contact_id": cid}

        await web.api("ania", "POST", f"/api/contacts/{cid}/transfer", {"team": "technical"})
        frame = await frames_until(ws, "contact")
        assert frame["contact"]["state"] == "waiting" and frame["contact"]["team"] == "technical"


async def test_socket_reports_bad_frames(web: Desk) -> None:
    async with web.client.ws_connect("/agent/ws") as ws:
        await ws.send_json({"type": "auth", "token": web.tokens["ania"]})
        await frames_until(ws, "ready")
        await ws.send_str("not json")
        assert (await frames_until(ws, "error"))["error"] == "frames are JSON objects"
        await ws.send_json({"type": "dance"})
        assert "dance" in (await frames_until(ws, "error"))["error"]
        await ws.send_json({"type": "watch", "contact_id": "nope"})
        assert "nope" in (await frames_until(ws, "error"))["error"]


async def test_agent_typing_reaches_the_chat_customer_of_the_holder_only(web: Desk) -> None:
    session = "S" * 24  # a chat contact's address is its session id
    chat = web.channels[Channel.CHAT]
    await chat.say(session, "internet nie działa")
    cid = (await chat.say(session, "jan.kowalski 482913")).contact.id
    resp = await web.client.post(f"/api/contacts/{cid}/typing", headers=web.auth("tomek"))
    assert resp.status == 403
    await web.api("tomek", "POST", "/api/claim", {})
    async with web.ctx.store.subscribe(f"chat:{session}") as frames:
        resp = await web.client.post(f"/api/contacts/{cid}/typing", headers=web.auth("tomek"))
        assert resp.status == 204
        frame = await asyncio.wait_for(anext(frames), 2)
    assert json.loads(frame) == {"type": "agent_typing", "author": "tomek"}
