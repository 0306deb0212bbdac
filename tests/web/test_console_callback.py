"""The agent console shows a voice caller's callback keeping the place: its number and state,
and each change as the router's tries go (pushed, no reload)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from channels.twilio import Callback, CallbackBook, CallbackState
from queues import Channel
from router.desk import announce_change
from tests.router.testchannel import TestChannel
from tests.web.conftest import LiveApp, Pages
from tests.web.conftest_pages import sign_in

Screenshot = Callable[[Page, str], Path]
CALLER = "+48500100200"


def queued_caller(live_app: LiveApp) -> str:
    """A caller through the voice flow (English, verified, technical); the contact's id."""
    assert live_app.ctx is not None
    phone = TestChannel(inbox=live_app.ctx.service, channel=Channel.VOICE)
    answer = None
    for digits in (None, "2", "1001", "482913", "2"):  # the call comes in, then the keys
        answer = live_app.run(phone.say(CALLER, digits))
    assert answer is not None and answer.contact.state == "waiting"
    return answer.contact.id


def test_agent_sees_the_callback_and_how_its_tries_go(
    live_app: LiveApp, pages: Pages, screenshot: Screenshot
) -> None:
    ctx = live_app.ctx
    assert ctx is not None
    cid = queued_caller(live_app)
    now = live_app.clock()
    booked = Callback(CALLER, "+48221234567", "en", booked_at=now, due_at=now, call_sid="CA1")
    book = CallbackBook(ctx.store)
    assert live_app.run(book.create(cid, booked))

    agent = pages.new(viewport={"width": 1280, "height": 940})
    sign_in(agent, live_app.url + "/agent", live_app.tokens["tomek"])
    agent.click("#claim")
    box = agent.locator("#c-callback")
    expect(box).to_be_visible()
    expect(box.locator(".callback-number")).to_have_text(CALLER)
    expect(box).to_have_attribute("data-state", "booked")
    expect(box.locator(".callback-line")).to_contain_text("kept their place")

    failed = dataclasses.replace(
        booked, state=CallbackState.FAILED, attempts=3, last_status="busy", sms=True
    )

    async def fail() -> None:
        await book.change(cid, lambda _: failed)
        await announce_change(ctx.store, cid)

    live_app.run(fail())
    expect(box).to_have_attribute("data-state", "failed")
    expect(box.locator(".callback-line")).to_contain_text(
        "Nobody answered 3 of 3 tries (last: busy); the customer was sent an SMS."
    )
    screenshot(agent, "agent_callback")
    assert pages.errors == []


def test_a_contact_without_a_callback_shows_none(live_app: LiveApp, pages: Pages) -> None:
    queued_caller(live_app)
    agent = pages.new()
    sign_in(agent, live_app.url + "/agent", live_app.tokens["tomek"])
    agent.click("#claim")
    expect(agent.locator("#c-channel")).to_have_text("voice")
    expect(agent.locator("#c-callback")).to_have_count(0)
    assert pages.errors == []
