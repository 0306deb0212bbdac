"""Web chat over a real websocket to the real app: flow, queue, agent replies, limits."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest

from channels.webchat.adapter import WebchatAdapter, agent_typing
from queues import Channel, ContactState, Direction
from router.app.wiring import default_adapters
from tests.channels.webchat.support import (
    CREDENTIALS,
    CUSTOMER_FIRST,
    ChatApp,
    chat_app,
    queue_customer,
)
from tests.conftest import FakeClock, StoreMaker
from tests.router.conftest import ENV

STORE_BACKENDS = ["memory", "sqlite", "redis"]


@pytest.fixture
async def chat(make_store: StoreMaker, clock: FakeClock, tmp_path: Path) -> AsyncIterator[ChatApp]:
    async with chat_app(await make_store(clock), clock, tmp_path) as app:
        yield app


def session_of(token: str) -> str:
    return token.split(".")[0]


async def test_chat_page_is_served_with_a_csp_that_allows_no_inline_script(chat: ChatApp) -> None:
    page = await chat.client.get("/chat")
    assert page.status == 200 and page.content_type == "text/html"
    csp = page.headers["Content-Security-Policy"]
    host = f"{chat.client.host}:{chat.client.port}"
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert f"connect-src 'self' ws://{host} wss://{host};" in csp
    assert csp.endswith("frame-ancestors *")  # embeddable anywhere unless origins are set
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    html = await page.text()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == ['<script src="chat/chat.js" defer>']
    assert re.search(r"<script[^>]*>\s*[^<\s]", html) is None  # no inline code
    assert re.search(r"\son[a-z]+\s*=", html) is None  # no inline event handlers
    assert "style=" not in html

    js = await chat.client.get("/chat/chat.js")
    assert js.content_type == "text/javascript"
    code = await js.text()
    assert "innerHTML" not in code and "insertAdjacentHTML" not in code and "eval(" not in code
    css = await chat.client.get("/chat/chat.css")
    assert css.content_type == "text/css"
    assert "margin-inline" in await css.text()  # logical properties: dir="rtl" mirrors it


async def test_customer_is_queued_and_sees_the_agent_reply_live(chat: ChatApp) -> None:
    async with chat.customer() as customer:
        welcome = await customer.hello()
        assert re.fullmatch(r"[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{22}", welcome["session"])
        assert welcome["resumed"] is False and welcome["history"] == []
        assert welcome["limits"] == {"max_message_chars": 2000}

        ack, after = await customer.turn(CUSTOMER_FIRST)
        assert ack["type"] == "ack" and ack["duplicate"] is False
        prompts = [f["text"] for f in after if f["type"] == "prompt"]
        assert any("login i kod autoryzacyjny" in p for p in prompts), prompts
        assert all(f["reply_to"] == ack["id"] and f["language"] == "pl" for f in after)

        ack, after = await customer.turn(CREDENTIALS)
        assert ack["type"] == "ack"
        queued = [f for f in after if f["type"] == "queued"]
        assert queued == [{"type": "queued", "position": 1, "wait_min": queued[0]["wait_min"]}]
        assert queued[0]["wait_min"] >= 1
        assert any("miejsce 1" in f["text"] for f in after if f["type"] == "prompt")

        [contact] = await chat.ctx.store.list_contacts(channel="chat")
        assert contact.address == session_of(welcome["session"])
        assert contact.state is ContactState.WAITING and contact.team == "technical"
        assert contact.verified and contact.account == "jan.kowalski" and contact.language == "pl"

        status, claimed = await chat.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200 and claimed["id"] == contact.id
        assert claimed["messages"][0]["text"] == CUSTOMER_FIRST
        await customer.expect("joined", author="tomek")  # pushed at the claim, not polled
        status, _ = await chat.api(
            "tomek", "POST", f"/api/contacts/{contact.id}/reply", {"text": "Sprawdzam łącze."}
        )
        assert status == 200
        reply = await customer.expect("agent")
        assert reply["text"] == "Sprawdzam łącze." and reply["author"] == "tomek"

    stored = await chat.ctx.store.get_contact(contact.id)
    out = stored.messages[-1]
    assert (out.direction, out.text, out.author) == (Direction.OUT, "Sprawdzam łącze.", "tomek")
    assert out.meta["provider_id"] == reply["id"]


async def test_reconnect_resumes_the_conversation_with_replies_sent_while_offline(
    chat: ChatApp,
) -> None:
    async with chat.customer() as customer:
        token = (await customer.hello())["session"]
        await queue_customer(customer)
    # The customer closed the tab: the contact keeps waiting, and the agent answers.
    [contact] = await chat.ctx.store.list_contacts(channel="chat")
    assert contact.state is ContactState.WAITING
    await chat.api("ania", "POST", "/api/claim", {"teams": ["technical"]})
    status, _ = await chat.api(
        "ania", "POST", f"/api/contacts/{contact.id}/reply", {"text": "Już sprawdzam."}
    )
    assert status == 200

    async with chat.customer() as customer:
        welcome = await customer.hello(token)
        assert welcome["resumed"] is True and welcome["session"] == token
        history = welcome["history"]
        assert [h["from"] for h in history][:2] == ["customer", "system"]
        assert history[0]["text"] == CUSTOMER_FIRST
        assert "jan.kowalski ••••••" in [h["text"] for h in history]
        assert "482913" not in json.dumps(welcome)  # the auth code is never kept
        assert history[-1] | {"at": None, "id": None} == {
            "from": "agent",
            "text": "Już sprawdzam.",
            "author": "ania",
            "at": None,
            "id": None,
        }
        await customer.expect("joined", author="ania")
        ack, _ = await customer.turn("Dziękuję")
        assert ack["type"] == "ack"

    contacts = await chat.ctx.store.list_contacts(channel="chat")
    assert [c.id for c in contacts] == [contact.id]  # the same contact, not a new one
    stored = await chat.ctx.store.get_contact(contact.id)
    assert "Dziękuję" in [m.text for m in stored.messages if m.direction is Direction.IN]


async def test_forged_or_garbled_tokens_start_a_new_session(chat: ChatApp) -> None:
    async with chat.customer() as customer:
        token = (await customer.hello())["session"]
        await customer.turn(CUSTOMER_FIRST)
    session, signature = token.split(".")
    forged = f"{session}.{'A' * len(signature)}"
    guessed = f"{session[:-1]}{'x' if session[-1] != 'x' else 'y'}.{signature}"
    for presented in (forged, guessed, "garbage", session):
        async with chat.customer() as customer:
            welcome = await customer.hello(presented)
            assert welcome["resumed"] is False and welcome["history"] == []
            assert session_of(welcome["session"]) != session


async def test_a_retried_frame_is_stored_once(chat: ChatApp) -> None:
    async with chat.customer() as customer:
        await customer.hello()
        await customer.say(CUSTOMER_FIRST, frame_id="first")
        await customer.say(CUSTOMER_FIRST, frame_id="first")  # the ack was "lost": retried
        first = await customer.expect("ack", id="first")
        again = await customer.expect("ack", id="first")
        assert (first["duplicate"], again["duplicate"]) == (False, True)
        replayed = await customer.quiet()
        assert replayed and all(f.get("reply_to") == "first" for f in replayed)
    [contact] = await chat.ctx.store.list_contacts(channel="chat")
    stored = await chat.ctx.store.get_contact(contact.id)
    assert [m.text for m in stored.messages if m.direction is Direction.IN] == [CUSTOMER_FIRST]


async def test_store_down_gives_a_retryable_error_and_the_retry_is_stored(chat: ChatApp) -> None:
    async with chat.customer() as customer:
        await customer.hello()
        chat.store.down = True
        error, _ = await customer.turn(CUSTOMER_FIRST, frame_id="x1")
        assert error["type"] == "error" and error["reason"] == "store_unavailable"
        assert error["retry"] is True and error["id"] == "x1"
        chat.store.down = False
        assert await chat.ctx.store.list_contacts(channel="chat") == []
        ack, _ = await customer.turn(CUSTOMER_FIRST, frame_id="x1")
        assert ack == {"type": "ack", "id": "x1", "duplicate": False}
        token = customer.frames[0]["session"]
    [contact] = await chat.ctx.store.list_contacts(channel="chat")
    assert (await chat.ctx.store.get_contact(contact.id)).messages[0].text == CUSTOMER_FIRST

    # Resuming needs the store for the history: the page is told to come back later.
    chat.store.down = True
    async with chat.customer() as customer:
        await customer.send({"type": "hello", "session": token, "language": "pl"})
        error = await customer.recv()
        assert (error["reason"], error["retry"]) == ("store_unavailable", True)
        assert (await customer.ws.receive()).type is aiohttp.WSMsgType.CLOSE
    chat.store.down = False
    async with chat.customer() as customer:
        assert (await customer.hello(token))["resumed"] is True


async def test_queue_position_updates_while_waiting_and_agent_joins(chat: ChatApp) -> None:
    async with chat.customer() as first, chat.customer() as second:
        await first.hello()
        await second.hello()
        assert (await queue_customer(first))["position"] == 1
        assert (await queue_customer(second, "Router nie działa"))["position"] == 2

        status, claimed = await chat.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200
        moved = await second.expect("queued", position=1)
        assert moved["wait_min"] >= 1
        joined = await first.expect("joined")
        assert joined["author"] == "tomek"
        assert claimed["address"] != (await chat.ctx.store.list_contacts())[0].address


async def test_typing_goes_both_ways(chat: ChatApp) -> None:
    async with chat.customer() as customer:
        token = (await customer.hello())["session"]
        await customer.send({"type": "typing"})  # before any message: no contact, ignored
        await customer.turn(CUSTOMER_FIRST)
        [contact] = await chat.ctx.store.list_contacts(channel="chat")
        async with chat.ctx.store.subscribe(f"typing:{contact.id}") as typing:
            await customer.send({"type": "typing"})
            payload = json.loads(await asyncio.wait_for(anext(typing), 5))
        assert payload["type"] == "typing" and payload["contact_id"] == contact.id

        await agent_typing(chat.ctx.store, session_of(token), author="tomek")
        assert await customer.expect("agent_typing") == {"type": "agent_typing", "author": "tomek"}


async def test_resolving_closes_the_chat_and_the_next_message_starts_anew(chat: ChatApp) -> None:
    async with chat.customer() as customer:
        await customer.hello()
        await queue_customer(customer)
        status, claimed = await chat.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        await customer.expect("joined")
        status, _ = await chat.api(
            "tomek", "POST", f"/api/contacts/{claimed['id']}/resolve", {"disposition": "solved"}
        )
        assert status == 200
        assert await customer.expect("closed") == {"type": "closed", "state": "resolved"}
        _, after = await customer.turn("Mam jeszcze jedno pytanie")
        assert any("Dzień dobry!" in f["text"] for f in after if f["type"] == "prompt")
    contacts = await chat.ctx.store.list_contacts(channel="chat")
    assert len(contacts) == 2 and contacts[0].address == contacts[1].address


async def test_bad_frames_get_error_frames_and_the_chat_goes_on(chat: ChatApp) -> None:
    async with chat.customer() as customer:
        await customer.say("before hello")
        error = await customer.recv()
        assert error["type"] == "error" and error["reason"] == "bad_frame"
        assert (await customer.ws.receive()).type is aiohttp.WSMsgType.CLOSE

    async with chat.customer() as customer:
        await customer.hello()
        for raw in ("not json", "[1]", '{"type": "shout"}', '{"type": "hello"}'):
            await customer.ws.send_str(raw)
            assert (await customer.recv())["reason"] == "bad_frame"
        await customer.send({"type": "message", "id": "has space", "text": "x"})
        assert (await customer.recv())["reason"] == "bad_frame"
        await customer.send({"type": "message", "id": "e1", "text": "   "})
        assert await customer.recv() | {"message": ""} == {
            "type": "error",
            "reason": "empty",
            "message": "",
            "retry": False,
            "id": "e1",
        }
        await customer.ws.send_bytes(b"\x00")
        assert (await customer.recv())["reason"] == "bad_frame"
        ack, _ = await customer.turn(CUSTOMER_FIRST)
        assert ack["type"] == "ack"


async def test_limits_on_size_rate_and_frame_bytes(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> None:
    store = await make_store(clock)
    limits = {"max_message_chars": 40, "max_messages_per_minute": 3}
    async with chat_app(store, clock, tmp_path, **limits) as chat, chat.customer() as customer:
        assert (await customer.hello())["limits"] == {"max_message_chars": 40}
        error, _ = await customer.turn("x" * 41)
        assert (error["type"], error["reason"], error["retry"]) == ("error", "too_long", False)
        assert "41 characters; the limit is 40" in error["message"]
        assert await chat.ctx.store.list_contacts(channel="chat") == []

        for text in ("Internet nie działa", CREDENTIALS, "Jeszcze jedno"):
            assert (await customer.turn(text))[0]["type"] == "ack"
        error, _ = await customer.turn("Czwarta w minucie")
        assert error["reason"] == "rate_limited" and error["retry"] is True
        assert 0 < error["retry_after_s"] <= 60
        [contact] = await chat.ctx.store.list_contacts(channel="chat")
        inbound = [
            m.text
            for m in (await chat.ctx.store.get_contact(contact.id)).messages
            if m.direction is Direction.IN
        ]
        assert inbound == ["Internet nie działa", "jan.kowalski ••••••", "Jeszcze jedno"]

        # A frame over the socket's byte limit (40 * 6 + 1024) closes it: 1009.
        await customer.ws.send_str(json.dumps({"type": "typing", "pad": "y" * 2000}))
        closed = await customer.ws.receive()
        assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 1009


async def test_origin_check_when_origins_are_configured(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> None:
    store = await make_store(clock)
    shop = "https://shop.example.com"
    async with chat_app(store, clock, tmp_path, allowed_origins=[shop]) as chat:
        page = await chat.client.get("/chat")
        assert page.headers["Content-Security-Policy"].endswith(f"frame-ancestors 'self' {shop}")
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with chat.customer(Origin="https://evil.example.net"):
                pass
        assert refused.value.status == 403
        own = f"http://{chat.client.host}:{chat.client.port}"
        for origin in (shop, own):
            async with chat.customer(Origin=origin) as customer:
                assert (await customer.hello())["type"] == "welcome"


async def test_default_wiring_turns_the_web_chat_on(chat: ChatApp) -> None:
    adapters = default_adapters(ENV)(chat.ctx)
    webchat = [a for a in adapters if isinstance(a, WebchatAdapter)]
    assert len(webchat) == 1 and webchat[0].channel is Channel.CHAT
    assert webchat[0].outbox is not None and webchat[0].outbox.channel is Channel.CHAT


async def test_ack_echoes_the_masked_text_of_an_auth_code(chat: ChatApp) -> None:
    async with chat.customer() as customer:
        await customer.hello()
        first, _ = await customer.turn(CUSTOMER_FIRST)
        assert first["type"] == "ack" and "text" not in first  # kept as typed
        ack, _ = await customer.turn(CREDENTIALS)
        assert ack["text"] == "jan.kowalski ••••••"


async def test_a_burst_of_claims_is_one_or_two_reads_of_the_queue_not_one_per_chat(
    chat: ChatApp,
) -> None:
    async with AsyncExitStack() as stack:
        customers = [await stack.enter_async_context(chat.customer()) for _ in range(6)]
        for n, customer in enumerate(customers):
            await customer.hello()
            queued = await queue_customer(customer, f"Internet nie działa od rana ({n})")
            assert queued["position"] == n + 1
        reads = chat.adapter.board.reads
        for n in range(5):  # two agents: one holds 3 chats at most (desk.capacity)
            agent = ("tomek", "ania")[n % 2]
            status, _ = await chat.api(agent, "POST", "/api/claim", {"teams": ["technical"]})
            assert status == 200
        assert (await customers[-1].expect("queued", timeout_s=5, position=1))["wait_min"] >= 1
        # The first claim's news is read at once, the rest of the burst once after it.
        assert 1 <= chat.adapter.board.reads - reads <= 2
