"""Helpers of the agent console and dashboard browser tests (imported, not a conftest).

``tests/web/conftest.py`` gives the browser, pages, the live app and screenshots; these add
what the agent pages' tests do again and again: sign in, bring a customer in by chat (the
real chat page) or by SMS (the in-process test channel), and wait for the server's view.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from playwright.sync_api import Page, expect

from queues import Channel
from tests.router.testchannel import TestChannel
from tests.web.conftest import LiveApp, Pages

T = TypeVar("T")

#: Markup a customer might type; if any of it ran, ``window.__pwned`` would be set.
MARKUP = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'


def sign_in(page: Page, url: str, token: str) -> None:
    page.goto(url)
    page.fill("#token", token)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#whoami")).to_be_visible()


def chat_customer(pages: Pages, live_app: LiveApp, first: str, credentials: str) -> Page:
    """A customer on the chat page (English), verified and queued; returns their page."""
    page = pages.new(viewport={"width": 420, "height": 760})
    page.goto(live_app.url + "/chat?lang=en")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    say(page, first)
    expect(page.locator("#log .msg[data-from=system]").first).to_be_visible()
    say(page, credentials)
    expect(page.locator("#queue")).to_be_visible()
    return page


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def sms_customer(live_app: LiveApp, address: str, first: str) -> str:
    """A verified SMS customer queued through the in-process test channel; the contact id."""
    assert live_app.ctx is not None
    sms = TestChannel(inbox=live_app.ctx.service, channel=Channel.SMS)
    live_app.run(sms.say(address, first))
    answer = live_app.run(sms.say(address, "jan.kowalski 482913"))
    return answer.contact.id


def add_sms_outbox(live_app: LiveApp, *, fail_next: int = 0) -> TestChannel:
    """Agent replies to SMS customers land in the returned channel's ``sent``."""
    assert live_app.ctx is not None
    outbox = TestChannel(channel=Channel.SMS, fail_next=fail_next)
    live_app.ctx.desk.outboxes[Channel.SMS] = outbox
    return outbox


def eventually(check: Callable[[], T | None], timeout_s: float = 8.0) -> T:
    """Poll ``check`` until it returns something truthy (for state the browser changes)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout_s} s")
        time.sleep(0.1)


def contact(live_app: LiveApp, cid: str) -> dict[str, Any]:
    status, body = live_app.api("ania", "GET", f"/api/contacts/{cid}")
    assert status == 200, body
    return dict(body)


def pwned(page: Page) -> Any:
    return page.evaluate("() => window.__pwned")


def busy_hour(live_app: LiveApp, *, steps: int = 10) -> None:
    """An hour of traffic on sms, telegram, chat and email, so the charts have something to
    draw: every 5 minutes a few contacts arrive; after 2 minutes ania answers and resolves
    all but the newest, which waits on into the next 5 minutes."""
    assert live_app.ctx is not None
    inbox = live_app.ctx.service
    channels = [
        TestChannel(inbox=inbox, channel=ch)
        for ch in (Channel.SMS, Channel.TELEGRAM, Channel.CHAT, Channel.EMAIL)
    ]
    live_app.clock.advance(-steps * 300.0)
    n = 0
    for step in range(steps):
        for _ in range(step % 3 + 1):
            n += 1
            channel = channels[n % len(channels)]
            address = f"busy{n:04d}" + "x" * 20  # also a well-formed chat session id
            if channel.channel is Channel.EMAIL:
                live_app.run(
                    channel.say(
                        f"{address}@example.net", "Faktura\nLogin: jan.kowalski\nKod: 482913"
                    )
                )
            else:
                live_app.run(channel.say(address, "faktura za listopad"))
                live_app.run(channel.say(address, "jan.kowalski 482913"))
        live_app.clock.advance(20.0 + 25.0 * (step % 4))
        _, queues = live_app.api("ania", "GET", "/api/queues")
        for _ in range(max(0, sum(q["waiting"] for q in queues) - 1)):
            status, claimed = live_app.api("ania", "POST", "/api/claim", {})
            assert status == 200, claimed
            live_app.api("ania", "POST", f"/api/contacts/{claimed['id']}/resolve", {})
        live_app.clock.advance(300.0 - 20.0 - 25.0 * (step % 4))
