"""The dashboard's CSAT and FCR: tiles and the "Handling and outcomes" table, from what
customers answered after their resolves (SMS through the in-process test channel)."""

from __future__ import annotations

from playwright.sync_api import expect

from queues import Channel
from tests.router.testchannel import TestChannel
from tests.web.conftest import LiveApp, Pages
from tests.web.conftest_pages import add_sms_outbox, eventually, sign_in, sms_customer


def test_csat_and_fcr_show_on_the_dashboard(live_app: LiveApp, pages: Pages) -> None:
    outbox = add_sms_outbox(live_app)  # the questions go out through it
    assert live_app.ctx is not None
    customer = TestChannel(inbox=live_app.ctx.service, channel=Channel.SMS)
    for n, score in enumerate(("5", "2")):
        address = f"+4860020030{n}"
        cid = sms_customer(live_app, address, "Faktura za listopad jest zła")
        status, claimed = live_app.api("ola", "POST", "/api/claim", {"teams": ["billing"]})
        assert status == 200 and claimed["id"] == cid
        live_app.clock.advance(45)  # past the wrap-up of the one before
        path = f"/api/contacts/{cid}/resolve"
        assert live_app.api("ola", "POST", path, {"disposition": "solved"})[0] == 200
        answer = live_app.run(customer.say(address, score, key=f"answer:{address}"))
        assert "Dziękujemy za ocenę" in " ".join(p.text for p in answer.prompts)

    eventually(lambda: len(outbox.sent) == 2)  # the courier sends in the background
    assert [r.meta.get("survey") for r in outbox.sent] == ["question", "question"]
    board = pages.new(viewport={"width": 1280, "height": 1100})
    sign_in(board, live_app.url + "/dashboard?refresh=1", live_app.tokens["ola"])
    expect(board.locator("#t-csat")).to_have_text("50%")
    # Both resolves were jan.kowalski's on billing: the second came back within 7 days.
    expect(board.locator("#t-fcr")).to_have_text("50%")
    row = board.locator("#outcomes tr[data-team=billing]")
    expect(row.locator(".surveys")).to_have_text("2 / 2")
    expect(row.locator(".csat-mean")).to_have_text("3.5")
    expect(row.locator(".fcr-counts")).to_have_text("2 / 1")
    expect(row.locator(".acw")).to_have_text("30 s")
    assert pages.errors == []
