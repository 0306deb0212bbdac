"""SMS customers who wait learn where they stand: any message they send is answered with
their place and wait (TwiML), and a large change of the wait reaches them unasked, once,
through Twilio's REST API (played by ``FakeTwilioApi``)."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from queues import Store
from tests.channels.twilio.sms_support import OUR_NUMBER, SmsDesk, message_sid, sms_desk
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory", "sqlite", "redis"]
FIRST, SECOND = "+48500100201", "+48500100202"


def said(twiml: str) -> list[str]:
    return [m.text or "" for m in ElementTree.fromstring(twiml).iter("Message")]


async def queue(desk: SmsDesk, sender: str) -> None:
    for text in ("Nie działa internet", "jan.kowalski 482913"):
        status, _ = await desk.sms(text, sender=sender)
        assert status == 200


async def claim(desk: SmsDesk) -> None:
    status, _ = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200
    standing = desk.ctx.service.standing
    assert standing is not None
    await standing.drain()
    assert await desk.ctx.courier.join()


async def test_a_waiting_customer_texting_gets_the_place_and_a_large_change_unasked(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        await queue(desk, FIRST)
        await queue(desk, SECOND)

        # Any message while waiting (today it was an empty <Response/>), and "Status?".
        status, twiml = await desk.sms("Halo, jest tam ktoś?", sender=SECOND)
        assert status == 200
        assert said(twiml) == ["Twoja sprawa nadal czeka w kolejce: miejsce 2, około 10 min."]
        sid = message_sid()
        status, twiml = await desk.sms("Status?", sid=sid, sender=SECOND)
        assert said(twiml) == ["Twoja sprawa nadal czeka w kolejce: miejsce 2, około 10 min."]
        # Twilio retries the webhook: the same answer, and the history has it once.
        status, again = await desk.sms("Status?", sid=sid, sender=SECOND)
        assert status == 200 and again == twiml

        # A claim takes the first: the second's wait halved (10 -> 5 min), sent unasked.
        assert desk.twilio.sent == []
        await claim(desk)
        (update,) = desk.twilio.sent
        assert (update.to, update.from_) == (SECOND, OUR_NUMBER)
        assert update.body == (
            "Zmiana czasu oczekiwania: jesteś teraz na miejscu 1 w kolejce, około 5 min."
        )
        # Once: nothing more has changed, and another look finds nothing new.
        await claim(desk)
        assert len(desk.twilio.sent) == 1

        (contact,) = [c for c in await store.list_contacts(channel="sms") if c.address == SECOND]
        history = await store.get_contact(contact.id)
        standing = [m.meta["standing"] for m in history.messages if "standing" in m.meta]
        assert standing == ["asked", "asked", "update"]
