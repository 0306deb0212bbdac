"""The dashboard's "agents needed now": each team's Erlang C figure from the last hour's
arrivals and handle time, against the agents logged in, as ``/api/stats`` gives it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from router.staffing import agents_needed
from tests.web.conftest import LiveApp, Pages
from tests.web.conftest_pages import MARKUP, pwned, sign_in, sms_customer

Screenshot = Callable[[Page, str], Path]


def test_dashboard_shows_agents_needed_now_per_team(
    live_app: LiveApp, pages: Pages, screenshot: Screenshot
) -> None:
    live_app.clock.advance(-1800.0)
    for i in range(24):
        sms_customer(live_app, f"+4860020{i:04d}", "Faktura " + MARKUP)  # billing
    for _ in range(2):  # two answered, handled for 10 minutes and 30 s of wrap-up: AHT 630 s
        status, claimed = live_app.api("ania", "POST", "/api/claim", {"teams": ["billing"]})
        assert status == 200, claimed
        live_app.clock.advance(600.0)
        live_app.api("ania", "POST", f"/api/contacts/{claimed['id']}/resolve", {})
    live_app.clock.advance(600.0)
    for agent in ("ania", "tomek"):
        live_app.api(agent, "POST", "/api/presence", {"status": "available"})

    _, stats = live_app.api("ola", "GET", "/api/stats")
    billing = next(t for t in stats["teams"] if t["team"] == "billing")["staffing"]
    expected = agents_needed(24, billing["span_s"], billing["aht_s"], 0.8, 20).agents
    assert billing["arrivals_last_hour"] == 24 and round(billing["aht_s"]) == 630
    assert billing["agents_needed"] == expected >= 4  # 24 x 10 min in an hour: 4 erlangs
    assert billing["agents_logged_in"] == 1  # ania; tomek serves technical only

    board = pages.new(viewport={"width": 1280, "height": 1500})
    sign_in(board, live_app.url + "/dashboard?refresh=1", live_app.tokens["ola"])
    card = board.locator("#staffing-card")
    expect(card).to_be_visible()
    expect(board.locator("#staffing-goal")).to_have_text(
        "(80% answered within 20 s, voice's target)"
    )
    row = board.locator("#staffing tr[data-team=billing]")
    expect(row.locator("th")).to_have_text("Billing")
    expect(row.locator(".arrivals")).to_have_text("24")
    expect(row.locator(".aht")).to_have_text("10 min 30 s")
    expect(row.locator(".needed")).to_have_text(str(expected))
    expect(row.locator(".logged-in")).to_have_text("1")
    expect(row.locator(".gap")).to_have_text(f"{expected - 1} short")
    expect(row.locator(".gap")).to_have_class("gap negative")
    technical = board.locator("#staffing tr[data-team=technical]")
    expect(technical.locator(".needed")).to_have_text("0")
    expect(technical.locator(".gap")).to_have_text("2 spare")  # ania and tomek
    # The tile: all teams' needs against distinct agents (ania and tomek).
    expect(board.locator("#t-needed")).to_have_text(f"{expected} / 2")
    screenshot(board, "dashboard-staffing")

    # Agents log in: the gap closes on the next refresh.
    live_app.api("ola", "POST", "/api/presence", {"status": "available"})
    expect(row.locator(".logged-in")).to_have_text("2")
    expect(row.locator(".gap")).to_have_text(f"{expected - 2} short")

    # Two hours on, the arrivals have left the window: nobody is needed now.
    live_app.clock.advance(2 * 3600.0)
    for agent in ("ania", "ola", "tomek"):
        live_app.api(agent, "POST", "/api/presence", {"status": "available"})
    expect(row.locator(".arrivals")).to_have_text("0")
    expect(row.locator(".needed")).to_have_text("0")
    expect(row.locator(".gap")).to_have_text("2 spare")
    expect(row.locator(".gap")).to_have_class("gap")
    assert pwned(board) is None
    assert pages.errors == []
