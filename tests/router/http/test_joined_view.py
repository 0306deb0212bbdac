"""A contact joined to an account by its address (unverified) shows the login, never the
account's details; the verified contact that joined it shows them."""

from __future__ import annotations

from tests.router.conftest import Desk
from tests.router.http.test_timeline_api import PHONE, handled, unverified, verified


async def test_a_joined_contact_shows_its_login_but_not_the_accounts_details(desk: Desk) -> None:
    earlier = await unverified(desk, PHONE, "Internet nie działa od rana")
    await handled(desk, earlier)
    now = await verified(desk, PHONE, "Czy internet już naprawiony?")

    status, joined = await desk.api("ania", "GET", f"/api/contacts/{earlier}")
    assert status == 200
    assert joined["account"] == "jan.kowalski" and joined["verify_method"] == f"joined:{now}"
    assert joined["verified"] is False
    assert joined["account_info"] is None and joined["compensation"] == []

    status, current = await desk.api("ania", "GET", f"/api/contacts/{now}")
    assert status == 200 and current["verified"] is True
    assert current["account_info"]["name"] == "Jan Kowalski"
    assert current["account_info"]["balance"] is not None
