"""The agent console shows a verified customer hit by an outage the compensation due."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from queues import Channel
from router.outages.links import link
from tests.router.testchannel import TestChannel
from tests.web.conftest import LiveApp, Pages
from tests.web.conftest_pages import sign_in

Screenshot = Callable[[Page, str], Path]
H = 3600.0


def add_ewa(live_app: LiveApp) -> None:
    """Ewa pays 60.00 a month for internet and 30.00 for telephone."""
    ctx = live_app.ctx
    assert ctx is not None
    account = ctx.accounts.build(
        "ewa.kowal",
        "4004",
        "246810",
        name="Ewa Kowal",
        services="internet-600;voip-home",
        fees="internet:2026-10=60.00;internet:2026-11=60.00;telephone:2026-11=30.00",
    )
    live_app.run(ctx.accounts.add_all([account]))


def sms(live_app: LiveApp, address: str, *texts: str) -> str:
    """A customer writes ``texts`` by SMS; the contact's id."""
    assert live_app.ctx is not None
    channel = TestChannel(inbox=live_app.ctx.service, channel=Channel.SMS)
    answer = None
    for text in texts:
        answer = live_app.run(channel.say(address, text))
    assert answer is not None
    return answer.contact.id


def link_to(live_app: LiveApp, incident_id: str, contact_id: str) -> None:
    ctx = live_app.ctx
    assert ctx is not None

    async def linked() -> None:
        incident = (await ctx.service.incidents.load()).get(incident_id)
        contact = await ctx.store.get_contact(contact_id, messages=False)
        await link(ctx.store, incident, contact, at=ctx.clock())

    live_app.run(linked())


def test_agent_sees_the_compensation_due_to_a_verified_affected_customer(
    live_app: LiveApp, pages: Pages, screenshot: Screenshot
) -> None:
    add_ewa(live_app)
    status, incident = live_app.api(
        "ania", "POST", "/api/incidents", {"team": "technical", "text": "Awaria światłowodu"}
    )
    assert status == 201
    live_app.clock.advance(14 * H)  # the outage has lasted 14 hours
    cid = sms(live_app, "+48600300400", "nie działa internet", "ewa.kowal 246810")
    link_to(live_app, incident["id"], cid)

    agent = pages.new(viewport={"width": 1280, "height": 940})
    sign_in(agent, live_app.url + "/agent", live_app.tokens["tomek"])
    agent.click("#claim")
    expect(agent.locator("#c-account")).to_have_text("ewa.kowal")
    box = agent.locator("#c-compensation")
    expect(box).to_be_visible()
    due = box.locator(f"li.due[data-incident='{incident['id']}']")
    expect(due.locator(".amount")).to_have_text("3.00 PLN")
    expect(due.locator(".due-head")).to_contain_text("Awaria światłowodu")
    expect(due.locator(".badge")).to_have_text("provisional: outage still open")
    expect(due.locator("li[data-service=internet]")).to_contain_text("internet: 14:00:")
    expect(due.locator("li[data-service=internet]")).to_contain_text(
        "1 day, 2.00 PLN (internet-1/30)"
    )
    expect(due.locator("li[data-service=telephone]")).to_contain_text(
        "1 day, 1.00 PLN (telephone-1/30)"
    )
    # the console shows what the compensation API answers for the incident
    _, report = live_app.api("ania", "GET", f"/api/incidents/{incident['id']}/compensation")
    assert [(r["login"], r["amount_pln"]) for r in report["accounts"]] == [("ewa.kowal", "3.00")]
    screenshot(agent, "agent_compensation")

    assert pages.errors == []


def test_an_unverified_customer_on_the_affected_team_is_shown_none(
    live_app: LiveApp, pages: Pages
) -> None:
    add_ewa(live_app)
    live_app.api("ania", "POST", "/api/incidents", {"team": "technical", "text": "Awaria"})
    live_app.clock.advance(14 * H)
    failed = ["ewa.kowal 999999"] * 3  # three wrong codes: queued, not verified
    cid = sms(live_app, "+48600300500", "nie działa internet", *failed)
    status, view = live_app.api("tomek", "GET", f"/api/contacts/{cid}")
    assert status == 200 and view["state"] == "waiting" and view["verified"] is False
    assert view["compensation"] == []

    agent = pages.new()
    sign_in(agent, live_app.url + "/agent", live_app.tokens["tomek"])
    agent.click("#claim")
    expect(agent.locator("#c-verified")).to_have_text("not verified")
    expect(agent.locator("#c-compensation")).to_be_hidden()
    assert pages.errors == []
