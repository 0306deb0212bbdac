"""The SMTP server of the email channel, over real loopback SMTP: who may be written to,
size limits, 451 while the store is down, duplicates, the mail corpus, STARTTLS."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from queues import ContactState, Direction
from router.app.wiring import email_adapter
from tests.channels.email.support import (
    CUSTOMER,
    SUPPORT,
    MailDesk,
    corpus,
    mail_desk,
    make_mail,
)
from tests.conftest import FakeClock
from tests.router.conftest import ENV

STORE_BACKENDS = ["memory", "sqlite", "redis"]


@pytest.fixture
async def desk(make_store: Any, clock: FakeClock, tmp_path: Path) -> AsyncIterator[MailDesk]:
    async with mail_desk(await make_store(clock), clock, tmp_path, max_size_bytes=50_000) as d:
        yield d


async def inbound(desk: MailDesk, contact_id: str) -> list[str]:
    contact = await desk.contact(contact_id)
    return [m.text for m in contact.messages if m.direction is Direction.IN]


async def test_mail_is_stored_as_a_waiting_contact_before_250(desk: MailDesk) -> None:
    code, said = await desk.send(make_mail(subject="Router nie działa"))
    assert code == 250
    [contact] = await desk.contacts()
    assert f"contact {contact.id}" in said
    assert contact.address == CUSTOMER and contact.subject == "Router nie działa"
    assert contact.state is ContactState.WAITING and contact.team == "technical"
    assert not contact.verified
    assert contact.meta["email"]["our_address"] == SUPPORT
    assert await inbound(desk, contact.id) == [
        "Router nie działa\n\nDzień dobry,\nod rana nie działa mi internet."
    ]


async def test_recipients_other_than_the_support_addresses_get_550(desk: MailDesk) -> None:
    code, said = await desk.send(make_mail(to="ceo@example.com"), to=["ceo@example.com"])
    assert code == 550 and "no such mailbox" in said
    code, _ = await desk.send(make_mail(), to=["ceo@example.com", "Billing@Example.com"])
    assert code == 250
    [contact] = await desk.contacts()
    assert contact.meta["email"]["our_address"] == "billing@example.com"


async def test_size_is_advertised_and_bigger_mail_refused_552(desk: MailDesk) -> None:
    big = make_mail(body="x" * 60 + "\n" * 1000 + "y" * 60_000)
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=desk.adapter.port) as smtp:
        await smtp.ehlo()
        assert smtp.esmtp_extensions["size"] == "50000"
        # Announced with SIZE=: refused at MAIL FROM.
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await smtp.sendmail(CUSTOMER, [SUPPORT], big)
        assert refused.value.code == 552
        await smtp.rset()
        # Not announced: refused once the data is in, before anything is stored.
        await smtp.mail(CUSTOMER)
        await smtp.rcpt(SUPPORT)
        with pytest.raises(aiosmtplib.SMTPDataError) as data:
            await smtp.data(big)
        assert data.value.code == 552
    assert await desk.contacts() == []


async def test_store_down_gives_451_and_the_retry_is_taken_exactly_once(desk: MailDesk) -> None:
    raw = make_mail()
    desk.store.down = True
    code, said = await desk.send(raw)
    assert code == 451 and "try again later" in said
    assert desk.store.failed >= 1
    desk.store.down = False
    assert await desk.contacts() == []
    assert (await desk.send(raw))[0] == 250
    assert (await desk.send(raw))[0] == 250  # the sender retried once more: still one
    [contact] = await desk.contacts()
    assert len(await inbound(desk, contact.id)) == 1
    assert len(await desk.replies(1)) == 1


async def test_mail_without_message_id_is_deduplicated_by_its_bytes(desk: MailDesk) -> None:
    raw = make_mail(message_id=None)
    assert (await desk.send(raw))[0] == 250
    assert (await desk.send(raw))[0] == 250
    assert (await desk.send(make_mail(message_id=None, body="other\n")))[0] == 250
    contacts = await desk.contacts()
    assert len(contacts) == 2


async def test_duplicates_delivered_concurrently_make_one_message(desk: MailDesk) -> None:
    raw = make_mail()
    answers = await asyncio.gather(*(desk.send(raw) for _ in range(6)))
    assert [code for code, _ in answers] == [250] * 6
    [contact] = await desk.contacts()
    assert len(await inbound(desk, contact.id)) == 1
    assert len(await desk.replies(1)) == 1
    await asyncio.sleep(0.05)
    assert len(desk.relay.received) == 1  # one automatic reply, not one per delivery


CORPUS = [
    ("utf8-qp.eml", "jan.kowalski@example.net", "Internet nie działa – pilne", "router miga"),
    ("iso-8859-2.eml", "pawel@example.pl", "Faktura - korekta płatności", "Zażółć gęślą jaźń"),
    ("koi8-r.eml", "ivan@example.ru", "Не работает интернет", "роутер не видит сеть"),
    ("windows-1251.eml", "olga@example.ru", "Возврат денег", "списание было дважды"),
    ("windows-1255.eml", "david@example.co.il", "תקלה באינטרנט", "האינטרנט שלי לא עובד"),
    ("wrong-charset.eml", "sergey@example.ru", "Оплата", "сайт выдаёт ошибку"),
    ("unknown-charset.eml", "marta@example.pl", "Serwer nie działa", "mój serwer VPS"),
    ("raw-8bit-headers.eml", "lukasz@example.pl", "Przekierowanie domeny – nie", "od rana"),
    ("html-only.eml", "anna@example.com", "HTML only", "- domain: example.org"),
    ("alternative.eml", "piotr@example.com", "Both parts", "Plain part: my modem"),
    ("nested.eml", "firma.nowak@example.com", "Faktura w załączniku", "faktura marzecż.pdf"),
    ("no-headers.eml", "envelope@example.org", "no headers at all", "Just a body"),
    ("bad-base64.eml", "broken@example.com", "Broken encodings", "Mój internet nie dział"),
    ("no-boundary.eml", "quote@example.com", "broken base64 word!!?= tail", "no boundary"),
    ("quoted-reply.eml", "jan@example.net", "Re: Internet", "> Please restart"),
]


@pytest.mark.parametrize(("name", "address", "subject", "snippet"), CORPUS)
async def test_tricky_mail_is_taken_and_read(
    desk: MailDesk, name: str, address: str, subject: str, snippet: str
) -> None:
    code, _ = await desk.send(corpus(name), sender="envelope@example.org")
    assert code == 250
    [contact] = await desk.contacts()
    assert contact.address == address
    assert subject in (contact.subject or "")
    [text] = await inbound(desk, contact.id)
    assert snippet in text
    assert "\ufffd" not in text and "<script" not in text and "alert(" not in text
    assert contact.state is ContactState.WAITING


async def test_html_is_used_only_without_a_plain_part(desk: MailDesk) -> None:
    await desk.send(corpus("alternative.eml"))
    [contact] = await desk.contacts()
    [text] = await inbound(desk, contact.id)
    assert "HTML part" not in text
    assert contact.meta["email"]["html_only"] is False


async def test_a_line_longer_than_smtp_allows_is_still_taken(desk: MailDesk) -> None:
    long_line = ("słowo " * 2000).strip()
    raw = make_mail(body="x\n").replace(b"x\r\n", long_line.encode() + b"\r\n")
    assert (await desk.send(raw))[0] == 250
    [contact] = await desk.contacts()
    assert long_line in (await inbound(desk, contact.id))[0]


async def test_an_open_connection_does_not_hold_up_shutdown(
    make_store: Any, clock: FakeClock, tmp_path: Path
) -> None:
    async with mail_desk(await make_store(clock), clock, tmp_path) as desk:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=desk.adapter.port)
        await smtp.connect()
        await smtp.ehlo()
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await smtp.noop()
    smtp.close()


async def test_no_support_addresses_keeps_the_channel_off(desk: MailDesk) -> None:
    email = desk.ctx.config.channels.email.model_copy(update={"addresses": ()})
    channels = desk.ctx.config.channels.model_copy(update={"email": email})
    config = desk.ctx.config.model_copy(update={"channels": channels})
    assert email_adapter(dataclasses.replace(desk.ctx, config=config), ENV) is None


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, made now: `cryptography` when installed, else openssl."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    if importlib.util.find_spec("cryptography") is not None:
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        private = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .sign(private, hashes.SHA256())
        )
        cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert, key
    if shutil.which("openssl") is None:
        pytest.skip("neither the cryptography package nor openssl is available")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_starttls_is_offered_with_a_certificate_and_mail_is_taken_over_it(
    make_store: Any, clock: FakeClock, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    store = await make_store(clock)
    async with mail_desk(store, clock, tmp_path, tls_cert=str(cert), tls_key=str(key)) as desk:
        async with aiosmtplib.SMTP(
            hostname="127.0.0.1", port=desk.adapter.port, start_tls=False
        ) as smtp:
            await smtp.ehlo()
            assert smtp.supports_extension("starttls")
        code, _ = await desk.send(make_mail(), start_tls=True, tls_context=trust)
        assert code == 250
        [contact] = await desk.contacts()
        assert contact.address == CUSTOMER


async def test_without_a_certificate_starttls_is_not_offered(desk: MailDesk) -> None:
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=desk.adapter.port, start_tls=False
    ) as smtp:
        await smtp.ehlo()
        assert not smtp.supports_extension("starttls")
        assert smtp.supports_extension("smtputf8")
