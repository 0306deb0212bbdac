"""The email round trip on every store backend: customer mail -> flow (automatic reply with
the position) -> queue -> an agent claims over the API and replies -> the relay gets it
threaded -> the customer answers that reply -> it joins the same contact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from queues import ContactState, Direction
from tests.channels.email.support import CUSTOMER, SUPPORT, mail_desk, make_mail
from tests.conftest import FakeClock

CODE = "482913"


async def test_customer_mail_to_agent_reply_and_back(
    make_store: Any, clock: FakeClock, tmp_path: Path
) -> None:
    store = await make_store(clock)
    async with mail_desk(store, clock, tmp_path) as desk:
        customer_id = "<customer-first@example.net>"
        first = make_mail(
            subject="Internet nie działa",
            body=f"Dzień dobry,\nod rana nie działa internet.\n\nLogin: jan.kowalski\nKod: {CODE}",
            message_id=customer_id,
        )
        assert (await desk.send(first))[0] == 250
        [contact] = await desk.contacts()
        assert contact.verified and contact.account == "jan.kowalski"
        assert contact.state is ContactState.WAITING and contact.team == "technical"

        [auto] = await desk.replies(1)
        assert auto.rcpt_tos == [CUSTOMER] and auto["To"] == CUSTOMER
        assert auto["From"] == SUPPORT
        assert auto["Subject"] == f"Re: Internet nie działa [#{contact.id}]"
        assert auto["In-Reply-To"] == customer_id and customer_id in auto["References"]
        assert auto["Auto-Submitted"] == "auto-replied"
        assert desk.adapter.ids.contact_of(auto["Message-ID"]) == contact.id
        assert "tożsamość została potwierdzona" in auto.text  # auth_ok, in Polish
        assert "Twoje zgłoszenie jest 1. w kolejce" in auto.text  # the position

        clock.advance(30)
        status, claimed = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200 and claimed["id"] == contact.id
        assert CODE not in str(claimed)
        assert "od rana nie działa internet" in claimed["messages"][0]["text"]

        status, sent = await desk.api(
            "tomek",
            "POST",
            f"/api/contacts/{contact.id}/reply",
            {"text": "Proszę zrestartować router."},
        )
        assert status == 200
        replies = await desk.replies(2)
        agent = replies[1]
        assert agent["In-Reply-To"] == customer_id
        assert agent["Subject"] == f"Re: Internet nie działa [#{contact.id}]"
        assert agent["Auto-Submitted"] == ""
        assert agent.text.strip() == "Proszę zrestartować router."
        assert sent["meta"]["provider_id"] == agent["Message-ID"]

        answer = make_mail(
            subject=agent["Subject"].replace("Re: ", "RE: Re: ", 1),
            body=(
                "Zrestartowałem, działa. Dziękuję!\n\n"
                f"W dniu pon., 16 lis 2026 o 12:01 <{SUPPORT}> napisał(a):\n"
                "> Proszę zrestartować router.\n"
            ),
            message_id="<customer-second@example.net>",
            in_reply_to=agent["Message-ID"],
            references=[customer_id, agent["Message-ID"]],
        )
        code, said = await desk.send(answer)
        assert code == 250 and contact.id in said
        assert [c.id for c in await desk.contacts()] == [contact.id]
        joined = await desk.contact(contact.id)
        assert joined.state is ContactState.ASSIGNED
        texts = [m.text for m in joined.messages if m.direction is Direction.IN]
        assert texts[-1] == "Zrestartowałem, działa. Dziękuję!"
        assert len(await desk.replies(2)) == 2  # a customer's reply gets no automatic reply

        status, _ = await desk.api(
            "tomek", "POST", f"/api/contacts/{contact.id}/reply", {"text": "Cieszę się."}
        )
        assert status == 200
        last = (await desk.replies(3))[2]
        assert last["In-Reply-To"] == "<customer-second@example.net>"
        assert customer_id in last["References"] and agent["Message-ID"] in last["References"]
