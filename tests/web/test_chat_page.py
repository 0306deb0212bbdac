"""The customer chat page in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Dialog, Page, expect

from tests.web.conftest import PHONE, LiveApp, Pages

CREDENTIALS = "jan.kowalski 482913"
Shot = Callable[[Page, str], Path]

# WCAG relative luminance and contrast of an element's text against the first opaque
# background behind it.
CONTRAST_JS = """
(selectors) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let n = el; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || c[3] === 1) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = {};
  for (const sel of selectors) {
    for (const el of document.querySelectorAll(sel)) {
      if (!el.getClientRects().length) continue;
      const a = lum(rgb(getComputedStyle(el).color).slice(0, 3));
      const b = lum(background(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      out[sel] = Math.min(out[sel] ?? 99, ratio);
    }
  }
  return out;
}
"""


def open_chat(
    pages: Pages,
    app: LiveApp,
    *,
    lang: str = "en",
    context: BrowserContext | None = None,
    viewport: dict[str, int] | None = None,
) -> Page:
    page = pages.new(context=context, viewport=viewport)
    page.goto(f"{app.url}/chat?lang={lang}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    return page


def send(page: Page, text: str) -> None:
    delivered = page.locator(".msg-customer[data-status=delivered]").count()
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")
    expect(page.locator(".msg-customer[data-status=delivered]")).to_have_count(delivered + 1)


def queue(
    page: Page, first: str = "My internet does not work since the morning", *, menu: str = ""
) -> None:
    """Chat until queued; ``menu`` answers the team menu when the first message is unclear."""
    send(page, first)
    expect(page.locator(".msg-system").last).to_contain_text("login")
    send(page, CREDENTIALS)
    if menu:
        expect(page.locator(".msg-system").last).to_contain_text("Reply with a number")
        send(page, menu)
    expect(page.locator("#queue")).to_be_visible()


def claim_and_reply(app: LiveApp, text: str, agent: str = "tomek") -> dict[str, Any]:
    status, claimed = app.api(agent, "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200, claimed
    status, body = app.api(agent, "POST", f"/api/contacts/{claimed['id']}/reply", {"text": text})
    assert status == 200, body
    return dict(claimed)


def test_customer_chats_verifies_is_queued_and_sees_the_agent_reply(
    live_app: LiveApp, pages: Pages, screenshot: Shot
) -> None:
    page = open_chat(pages, live_app)
    expect(page.locator("h1")).to_have_text("Customer support chat")
    queue(page)
    expect(page.locator("#queue")).to_have_text("Place in queue: 1 · about 5 min")
    expect(page.locator(".msg-system").last).to_contain_text("waiting in the queue (number 1")
    screenshot(page, "chat-queued")

    claimed = claim_and_reply(live_app, "Hello, I am checking your line now.")
    assert claimed["verified"] is True and claimed["account"] == "jan.kowalski"
    agent = page.locator(".msg-agent")
    expect(agent).to_have_count(1)
    expect(agent.locator(".text")).to_have_text("Hello, I am checking your line now.")
    expect(agent.locator(".who")).to_have_text("tomek")
    expect(page.locator(".notice")).to_have_text("tomek has joined the conversation.")
    expect(page.locator("#queue")).to_be_hidden()
    screenshot(page, "chat-desktop")
    assert pages.errors == []  # no script errors, no CSP violations


def test_markup_from_customer_or_agent_is_shown_as_text_and_never_runs(
    live_app: LiveApp, pages: Pages
) -> None:
    page = open_chat(pages, live_app)
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    attack = "<img src=x onerror=alert(1)>"
    queue(page, attack, menu="2")
    reply = "<script>alert(2)</script><b>bold</b> <img src=y onerror=alert(3)>"
    claim_and_reply(live_app, reply)
    expect(page.locator(".msg-agent .text")).to_have_text(reply)

    expect(page.locator(".msg-customer .text").first).to_have_text(attack)
    assert page.locator("#log img, #log script, #log b").count() == 0
    page.wait_for_timeout(300)  # an onerror would have fired by now
    assert dialogs == []
    assert pages.errors == []


def test_hebrew_is_right_to_left_and_the_picker_switches_language(
    live_app: LiveApp, pages: Pages, screenshot: Shot
) -> None:
    page = open_chat(pages, live_app, lang="he")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "he")
    expect(page.locator("h1")).to_have_text("צ'אט שירות לקוחות")
    send(page, "האינטרנט לא עובד")
    expect(page.locator(".msg-system").first).to_contain_text("שלום")
    # Right to left: the customer's bubble sits on the left, the replies on the right.
    width = page.viewport_size["width"] if page.viewport_size else 1280
    mine = page.locator(".msg-customer").bounding_box()
    theirs = page.locator(".msg-system").first.bounding_box()
    assert mine and theirs and mine["x"] < width / 2 < theirs["x"] + theirs["width"]
    assert mine["x"] < theirs["x"]
    screenshot(page, "chat-hebrew")

    page.locator("#language").select_option("en")
    expect(html).to_have_attribute("dir", "ltr")
    expect(page.locator("#send")).to_have_text("Send")
    expect(page.locator(".msg-customer .who")).to_have_text("You")
    assert pages.errors == []


def test_reload_and_a_new_tab_resume_the_conversation_with_offline_replies(
    live_app: LiveApp, pages: Pages
) -> None:
    context = pages.context()
    page = open_chat(pages, live_app, context=context)
    queue(page)
    page.reload()
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    expect(page.locator(".msg-customer[data-status=delivered]")).to_have_count(2)
    expect(page.locator(".msg-customer .text").nth(1)).to_have_text("jan.kowalski ••••••")
    expect(page.locator("#queue")).to_have_text("Place in queue: 1 · about 5 min")
    page.close()

    claim_and_reply(live_app, "Answered while you were away.")
    page = open_chat(pages, live_app, context=context)  # same browser storage
    expect(page.locator(".msg-agent .text")).to_have_text("Answered while you were away.")
    send(page, "Thanks, I am back")
    assert live_app.ctx is not None
    contacts = live_app.run(live_app.ctx.store.list_contacts(channel="chat"))
    assert len(contacts) == 1
    assert pages.errors == []


def test_phone_sized_screen_and_accessibility(
    live_app: LiveApp, pages: Pages, screenshot: Shot
) -> None:
    page = open_chat(pages, live_app, lang="pl", viewport=PHONE)
    # Labels, and the live region that announces new messages.
    expect(page.get_by_label("Twoja wiadomość")).to_be_visible()
    expect(page.get_by_label("Język")).to_have_value("pl")
    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    # Focus order: language, conversation, message, send.
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id"))
    assert order == ["language", "log", "text", "send"]

    queue(page, "Nie działa mi internet")
    claim_and_reply(live_app, "Dzień dobry, już sprawdzam.")
    expect(page.locator(".msg-agent")).to_have_count(1)
    # Fits the phone: no sideways scrolling, the composer on screen, big enough targets.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    send_box = page.locator("#send").bounding_box()
    assert send_box and send_box["height"] >= 44
    assert send_box["y"] + send_box["height"] <= PHONE["height"]
    ratios = page.evaluate(
        CONTRAST_JS,
        ["h1", "#conn", "#queue", ".msg .text", ".msg .who", ".msg .meta", ".notice", "#send"],
    )
    assert ratios and all(r >= 4.5 for r in ratios.values()), ratios
    page.locator(".msg-agent").scroll_into_view_if_needed()
    screenshot(page, "chat-phone")
    assert pages.errors == []
