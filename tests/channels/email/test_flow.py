"""Email threading, loop protection, bounces, verification and attachments, end to end over
loopback SMTP with the real app (memory store) and a loopback relay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from queues import ContactState, Direction
from tests.channels.email.support import CUSTOMER, SUPPORT, MailDesk, mail_desk, make_mail
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory", "sqlite", "redis"]
OTHER = "mallory@example.org"


@pytest.fixture
async def desk(make_store: Any, clock: FakeClock, tmp_path: Path) -> AsyncIterator[MailDesk]:
    async with mail_desk(await make_store(clock), clock, tmp_path, auto_reply_per_hour=3) as d:
        yield d


async def first_contact(desk: MailDesk, **mail: Any) -> tuple[str, str]:
    """A customer's first mail; (contact id, our automatic reply's Message-ID)."""
    before = len(desk.relay.received)
    code, _ = await desk.send(make_mail(**mail), sender=mail.get("sender", CUSTOMER))
    assert code == 250
    auto = (await desk.replies(before + 1))[before]
    contact_id = desk.adapter.ids.contact_of(auto["Message-ID"])
    assert contact_id is not None
    return contact_id, auto["Message-ID"]


async def inbound(desk: MailDesk, contact_id: str) -> list[str]:
    contact = await desk.contact(contact_id)
    return [m.text for m in contact.messages if m.direction is Direction.IN]


# -- threading ---------------------------------------------------------------------------
async def test_reply_with_our_message_id_joins_its_contact(desk: MailDesk) -> None:
    contact_id, ours = await first_contact(desk)
    await desk.send(make_mail(subject="Re: coś", body="Jeszcze jedno.\n", in_reply_to=ours))
    assert [c.id for c in await desk.contacts()] == [contact_id]
    assert (await inbound(desk, contact_id))[-1] == "Jeszcze jedno."
    # Still waiting: the automatic reply says where it stands (router.contacts.standing).
    _, second = await desk.replies(2)
    assert "nadal czeka w kolejce: miejsce 1" in second.text


async def test_our_message_id_from_another_sender_makes_a_new_contact(desk: MailDesk) -> None:
    contact_id, ours = await first_contact(desk)
    code, _ = await desk.send(
        make_mail(sender=OTHER, subject=f"Re: x [#{contact_id}]", in_reply_to=ours), sender=OTHER
    )
    assert code == 250
    contacts = await desk.contacts()
    assert len(contacts) == 2
    assert {c.address for c in contacts} == {CUSTOMER, OTHER}
    assert len(await inbound(desk, contact_id)) == 1


async def test_forged_or_unsigned_message_ids_do_not_thread(desk: MailDesk) -> None:
    contact_id, ours = await first_contact(desk)
    cid, mac, rest = ours.strip("<>").split(".", 2)
    forged = f"<{cid}.{'0' * 8 if mac != '0' * 8 else '1' * 8}.{rest}>"
    unsigned = f"<{cid}@example.com>"
    for fake in (forged, unsigned):
        assert (await desk.send(make_mail(in_reply_to=fake, references=[fake])))[0] == 250
    assert len(await desk.contacts()) == 3
    assert len(await inbound(desk, contact_id)) == 1


async def test_subject_tag_threads_only_for_the_contacts_address(desk: MailDesk) -> None:
    contact_id, _ = await first_contact(desk)
    await desk.send(make_mail(subject=f"Re: Internet [#{contact_id}]", body="Tag only.\n"))
    assert [c.id for c in await desk.contacts()] == [contact_id]
    assert (await inbound(desk, contact_id))[-1] == "Tag only."
    await desk.send(make_mail(sender=OTHER, subject=f"Re: [#{contact_id}]"), sender=OTHER)
    assert len(await desk.contacts()) == 2


async def test_reply_to_a_resolved_contact_is_a_follow_up_contact(desk: MailDesk) -> None:
    contact_id, ours = await first_contact(desk)
    status, _ = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200
    await desk.api(
        "tomek", "POST", f"/api/contacts/{contact_id}/resolve", {"disposition": "solved"}
    )
    await desk.send(make_mail(subject="Re: Internet", body="Znowu nie działa.\n", in_reply_to=ours))
    [new, old] = await desk.contacts()
    assert old.id == contact_id and old.state is ContactState.RESOLVED
    assert new.meta["email"]["follow_up_of"] == contact_id
    assert new.state is ContactState.WAITING
    assert len(await inbound(desk, contact_id)) == 1
    # The CSAT question after the resolve, then the follow-up goes through the flow again.
    [_, survey, auto] = await desk.replies(3)
    assert "[#" + contact_id + "]" in survey["Subject"]
    assert auto["Subject"].endswith(f"[#{new.id}]")


async def test_reply_is_sent_from_the_address_the_customer_wrote_to(desk: MailDesk) -> None:
    await desk.send(make_mail(to="billing@example.com"), to=["billing@example.com"])
    [auto] = await desk.replies(1)
    assert auto["From"] == "billing@example.com"
    [contact] = await desk.contacts()
    assert contact.meta["email"]["our_address"] == "billing@example.com"


# -- loop protection ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "sender", "envelope"),
    [
        ({"Auto-Submitted": "auto-replied"}, CUSTOMER, CUSTOMER),
        ({"Auto-Submitted": "auto-generated; owner-email=x@y"}, CUSTOMER, CUSTOMER),
        ({"Precedence": "bulk"}, CUSTOMER, CUSTOMER),
        ({"Precedence": "junk"}, CUSTOMER, CUSTOMER),
        ({"Precedence": "list"}, CUSTOMER, CUSTOMER),
        ({"X-Auto-Response-Suppress": "OOF, AutoReply"}, CUSTOMER, CUSTOMER),
        ({"List-Id": "<news.example.net>"}, CUSTOMER, CUSTOMER),
        ({"X-Autoreply": "yes"}, CUSTOMER, CUSTOMER),
        ({"X-Autorespond": "yes"}, CUSTOMER, CUSTOMER),
        ({}, "noreply@shop.example", "noreply@shop.example"),
        ({}, "no-reply@shop.example", "bounces@shop.example"),
        ({}, "postmaster@example.net", "postmaster@example.net"),
        ({}, "MAILER-DAEMON@example.net", "MAILER-DAEMON@example.net"),
        ({}, CUSTOMER, ""),
        ({"Return-Path": "<>"}, CUSTOMER, CUSTOMER),
        ({}, "support@example.com", "support@example.com"),
    ],
)
async def test_machine_mail_is_taken_but_gets_no_automatic_reply(
    desk: MailDesk, headers: dict[str, str], sender: str, envelope: str
) -> None:
    code, _ = await desk.send(make_mail(sender=sender, headers=headers), sender=envelope)
    assert code == 250
    [contact] = await desk.contacts()
    assert contact.state is ContactState.WAITING
    assert contact.meta["email"]["automated"]
    await desk.adapter.drain()
    assert desk.relay.received == []


async def test_auto_submitted_no_gets_the_automatic_reply(desk: MailDesk) -> None:
    await desk.send(make_mail(headers={"Auto-Submitted": "no", "X-Auto-Response-Suppress": "None"}))
    assert len(await desk.replies(1)) == 1


async def test_automatic_replies_are_limited_per_address_and_hour(desk: MailDesk) -> None:
    for n in range(5):
        assert (await desk.send(make_mail(body=f"Sprawa {n}\n")))[0] == 250
    await desk.send(make_mail(sender=OTHER), sender=OTHER)
    replies = await desk.replies(4)
    assert [r["To"] for r in replies] == [CUSTOMER] * 3 + [OTHER]
    assert len(await desk.contacts()) == 6  # every mail is still taken
    desk.clock.advance(3601)
    await desk.send(make_mail(body="Po godzinie\n"))
    assert len(await desk.replies(5)) == 5


# -- bounces -----------------------------------------------------------------------------
def bounce(original: str, *, to: str = CUSTOMER, report: bool = True) -> bytes:
    """A bounce as Postfix sends it (RFC 3464), or as a plain text one when not ``report``."""
    if not report:
        return (
            "From: MAILER-DAEMON@mx.example.net\r\nTo: support@example.com\r\n"
            "Subject: failure notice\r\nMessage-ID: <plain-bounce@mx.example.net>\r\n\r\n"
            f"Sorry, we were unable to deliver your message to <{to}>.\r\n\r\n"
            f"--- Below this line is a copy of the message.\r\n\r\nMessage-ID: {original}\r\n"
        ).encode()
    return (
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
        "To: support@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <20261116120000.ABC@mx.example.net>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="RPT"\r\n\r\n'
        "--RPT\r\nContent-Description: Notification\r\nContent-Type: text/plain\r\n\r\n"
        f"This is the mail system. Your message could not be delivered to <{to}>.\r\n\r\n"
        "--RPT\r\nContent-Description: Delivery report\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n"
        "Arrival-Date: Mon, 16 Nov 2026 12:00:00 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; {to}\r\nOriginal-Recipient: rfc822;{to}\r\nAction: failed\r\n"
        "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <jan@example.net>: user unknown\r\n\r\n"
        "--RPT\r\nContent-Description: Undelivered Message Headers\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: {SUPPORT}\r\nTo: {to}\r\nSubject: Re: x\r\nMessage-ID: {original}\r\n\r\n"
        "--RPT--\r\n"
    ).encode()


async def test_bounce_of_an_agent_reply_is_attached_to_its_contact(desk: MailDesk) -> None:
    contact_id, _ = await first_contact(desk)
    await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    status, sent = await desk.api(
        "tomek", "POST", f"/api/contacts/{contact_id}/reply", {"text": "Odpowiedź"}
    )
    assert status == 200
    provider_id = sent["meta"]["provider_id"]
    assert (await desk.send(bounce(provider_id), sender=""))[0] == 250
    assert [c.id for c in await desk.contacts()] == [contact_id]
    report = (await inbound(desk, contact_id))[-1]
    assert "delivery report (bounced)" in report and "5.1.1" in report and "user unknown" in report
    events = await desk.store.inner.events(contact_id)
    [delivery] = [e for e in events if e.kind == "delivery_status"]
    assert delivery.data["status"] == "bounced" and delivery.data["provider_id"] == provider_id
    assert delivery.data["message_id"] == sent["id"]
    # The same report again is one message, one status.
    await desk.send(bounce(provider_id), sender="")
    assert len(await inbound(desk, contact_id)) == 2
    events = await desk.store.inner.events(contact_id)
    assert len([e for e in events if e.kind == "delivery_status"]) == 1
    await desk.adapter.drain()
    assert len(desk.relay.received) == 2  # the automatic reply and the agent's; none to bounces


async def test_plain_text_bounce_naming_our_message_id_is_attached(desk: MailDesk) -> None:
    contact_id, ours = await first_contact(desk)
    await desk.send(bounce(ours, report=False), sender="")
    assert [c.id for c in await desk.contacts()] == [contact_id]
    assert "delivery report" in (await inbound(desk, contact_id))[-1]


async def test_bounce_naming_nothing_of_ours_makes_no_contact(desk: MailDesk) -> None:
    assert (await desk.send(bounce("<someone-else@example.org>"), sender=""))[0] == 250
    assert await desk.contacts() == []


# -- verification ------------------------------------------------------------------------
async def test_login_and_code_lines_verify_and_the_code_is_never_stored(desk: MailDesk) -> None:
    body = "Dzień dobry,\nproszę o fakturę.\n\nLogin: jan.kowalski\nAuth code: 482913\n"
    contact_id, _ = await first_contact(desk, subject="Faktura", body=body)
    contact = await desk.contact(contact_id)
    assert contact.verified and contact.account == "jan.kowalski" and contact.team == "billing"
    assert "482913" not in str(contact.to_dict())


async def test_unverified_mail_is_queued_marked_unverified(desk: MailDesk) -> None:
    body = "Hello,\nmy internet connection is down.\n\nLogin: jan.kowalski\nAuth code: 111111\n"
    contact_id, _ = await first_contact(desk, subject="Internet down", body=body)
    contact = await desk.contact(contact_id)
    assert not contact.verified and contact.state is ContactState.WAITING
    [auto] = await desk.replies(1)
    assert "login or the authorisation code in your message is not correct" in auto.text
    assert "number 1 in the queue" in auto.text


# -- attachments -------------------------------------------------------------------------
def with_attachment(data: bytes, name: str = "scan.pdf") -> bytes:
    mail = EmailMessage()
    mail["From"] = CUSTOMER
    mail["To"] = SUPPORT
    mail["Subject"] = "Faktura"
    mail["Message-ID"] = f"<att-{len(data)}@example.net>"
    mail.set_content("W załączniku skan faktury.\n")
    mail.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return mail.as_bytes(policy=SMTP)


async def test_attachments_are_kept_by_content_hash_with_metadata_in_the_contact(
    desk: MailDesk, tmp_path: Path
) -> None:
    data = b"%PDF-1.4 " + bytes(range(256)) * 1200  # over 256 KiB: parsed off the loop
    await desk.send(with_attachment(data))
    [contact] = await desk.contacts()
    [info] = contact.meta["email"]["attachments"]
    assert info["name"] == "scan.pdf" and info["type"] == "application/pdf"
    assert info["size"] == len(data) and info["stored"] is True
    stored = tmp_path / "var" / "mail" / "attachments" / info["sha256"][:2] / info["sha256"]
    assert stored.read_bytes() == data
    assert "scan.pdf (application/pdf, 300.0 KiB)" in (await inbound(desk, contact.id))[0]


async def test_attachments_dropped_by_config_keep_only_metadata(
    make_store: Any, clock: FakeClock, tmp_path: Path
) -> None:
    async with mail_desk(await make_store(clock), clock, tmp_path, attachments="drop") as desk:
        await desk.send(with_attachment(b"secret scan"))
        [contact] = await desk.contacts()
        [info] = contact.meta["email"]["attachments"]
        assert info["stored"] is False and info["size"] == len(b"secret scan")
    assert not (tmp_path / "var" / "mail").exists()


async def test_attachment_over_the_limit_is_not_written(
    make_store: Any, clock: FakeClock, tmp_path: Path
) -> None:
    store = await make_store(clock)
    async with mail_desk(store, clock, tmp_path, max_attachment_bytes=100) as desk:
        await desk.send(with_attachment(b"x" * 101))
        [contact] = await desk.contacts()
        [info] = contact.meta["email"]["attachments"]
        assert info["stored"] is False and "max_attachment_bytes" in info["dropped"]


# -- sending -----------------------------------------------------------------------------
async def test_without_a_relay_mail_is_taken_and_replies_fail_clearly(
    make_store: Any, clock: FakeClock, tmp_path: Path
) -> None:
    with capture_logs() as logs:
        async with mail_desk(await make_store(clock), clock, tmp_path, relay=False) as desk:
            assert (await desk.send(make_mail()))[0] == 250
            [contact] = await desk.contacts()
            await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
            status, body = await desk.api(
                "tomek", "POST", f"/api/contacts/{contact.id}/reply", {"text": "Hej"}
            )
    assert status == 502
    assert "no SMTP relay is configured" in str(body)
    assert any(e["event"] == "email_relay_missing" for e in logs)
    failed = [m for m in (await desk.contact(contact.id)).messages if m.meta.get("delivery")]
    assert failed[0].meta["delivery"] == "failed"


async def test_relay_refusals_temporary_are_retried_permanent_are_not(desk: MailDesk) -> None:
    contact_id, _ = await first_contact(desk)
    await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    desk.relay.answers = ["451 4.3.0 try later"]
    status, _ = await desk.api(
        "tomek", "POST", f"/api/contacts/{contact_id}/reply", {"text": "Po ponowieniu"}
    )
    assert status == 200 and desk.relay.received[-1].text.strip() == "Po ponowieniu"
    desk.relay.answers = ["550 5.7.1 rejected as spam"] * 5
    status, body = await desk.api(
        "tomek", "POST", f"/api/contacts/{contact_id}/reply", {"text": "Odrzucona"}
    )
    assert status == 502 and "550" in str(body)
    assert desk.relay.answers == ["550 5.7.1 rejected as spam"] * 4  # tried once, not again
