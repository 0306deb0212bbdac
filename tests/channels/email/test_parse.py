"""Reading mail without a server: charsets, encoded words, HTML, quotes, MIME trees, bounces,
our signed Message-IDs and subjects, and the loop guards."""

from __future__ import annotations

import random

import pytest

from channels.email.loops import automated
from channels.email.parse import parse_mail
from channels.email.text import decode_bytes, decode_words, html_to_text, trim_quoted
from channels.email.thread import MessageIds, reply_subject, subject_tag
from channels.limits import WindowLimit
from queues.memory import MemoryStore
from tests.channels.email.support import MAIL_DIR, corpus, make_mail
from tests.conftest import FakeClock

TEXTS = {
    "pl": "Dzień dobry, proszę o korektę faktury, zażółć gęślą jaźń.",
    "ru": "Здравствуйте, у меня не работает интернет, роутер не видит сеть.",
    "he": "שלום, האינטרנט שלי לא עובד כבר יומיים, תודה.",
}


@pytest.mark.parametrize(
    ("language", "charset"),
    [
        ("pl", "iso-8859-2"),
        ("pl", "cp1250"),
        ("pl", "utf-8"),
        ("ru", "koi8-r"),
        ("ru", "cp1251"),
        ("ru", "utf-8"),
        ("he", "cp1255"),
        ("he", "utf-8"),
    ],
)
@pytest.mark.parametrize("declared", ["right", None, "x-bogus", "us-ascii", "utf-8"])
def test_text_is_decoded_in_its_charset_declared_or_not(
    language: str, charset: str, declared: str | None
) -> None:
    text = TEXTS[language]
    label = charset if declared == "right" else declared
    assert decode_bytes(text.encode(charset), label) == text


def test_undecodable_bytes_never_raise() -> None:
    noise = bytes(random.Random(5).randrange(256) for _ in range(4000))
    for label in (None, "utf-8", "koi8-r", "nonsense", "utf-16"):
        assert isinstance(decode_bytes(noise, label), str)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("=?utf-8?B?WmHFvMOzxYLEhw==?= =?utf-8?Q?_g=C4=99=C5=9Bl=C4=85?=", "Zażółć gęślą"),
        ("=?koi8-r?B?8NLJ18XU?=, Ivan", "Привет, Ivan"),
        ("Re: =?ISO-8859-2?Q?p=B3atno=B6=E6?= [#abc]", "Re: płatność [#abc]"),
        ("=?windows-1255?B?+ezl7Q==?=", "שלום"),
        ("=?x-unknown?Q?dzia=B3a?=", "działa"),
        ("=?utf-8*pl?Q?tak?=", "tak"),
        ("=?utf-8?B?no-padding?=", None),
        ("plain\r\n folded", "plain folded"),
    ],
)
def test_encoded_words_are_decoded_leniently(raw: str, expected: str | None) -> None:
    decoded = decode_words(raw)
    if expected is None:  # a broken word: no crash, no control characters
        assert all(c.isprintable() for c in decoded)
    else:
        assert decoded == expected


def test_raw_8bit_header_bytes_are_guessed() -> None:
    raw = "Faktura – płatność".encode().decode("ascii", "surrogateescape")
    assert decode_words(raw) == "Faktura – płatność"
    raw = "Счёт".encode("cp1251").decode("ascii", "surrogateescape")
    assert decode_words(raw) == "Счёт"


def test_html_gives_its_text_without_scripts_and_styles() -> None:
    html = (
        "<html><head><title>T</title><style>.a{}</style></head><body>"
        "<script>document.write('x')</script><h1>Awaria</h1><p>Serwer&nbsp;nie&#32;działa"
        " &amp; DNS</p><ul><li>a</li><li>b</li></ul><pre>  ls -l\n  df -h</pre>"
        "<blockquote><p>stara wiadomość</p></blockquote><p>koniec"
    )
    assert html_to_text(html) == (
        "Awaria\n\nSerwer nie działa & DNS\n\n- a\n\n- b\n\n  ls -l\n  df -h\n\n"
        "> stara wiadomość\n\nkoniec"
    )
    assert html_to_text("<p>unclosed <b>tags <i>everywhere") == "unclosed tags everywhere"


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 16 Nov 2026 at 10:00, Support <support@example.com> wrote:",
        "On Mon, 16 Nov 2026 at 10:00, Support <support@example.com>\nwrote:",
        "W dniu pon., 16 lis 2026 o 10:00 Support <support@example.com> napisał(a):",
        "W dniu 16.11.2026 o 10:00, Support pisze:",
        "16.11.2026 10:00, Support пишет:",
        "пн, 16 нояб. 2026 г. в 10:00, Support <support@example.com>:",
        "-----Original Message-----",
        "-------- Исходное сообщение --------",
        "From: Support <support@example.com>\nSent: Monday, 16 November 2026 10:00\nTo: Jan",
        "Od: Support <support@example.com>\nWysłano: poniedziałek\nDo: Jan",
    ],
)
def test_quoted_reply_is_trimmed(attribution: str) -> None:
    text = f"Działa, dziękuję.\n\n{attribution}\n> Proszę zrestartować router.\n> --\n> Support"
    assert trim_quoted(text) == "Działa, dziękuję."


def test_quotes_that_carry_the_answer_are_kept() -> None:
    interleaved = "> Czy router miga?\nTak, na czerwono.\n> Od kiedy?\nOd rana."
    assert trim_quoted(interleaved) is None
    assert trim_quoted("> only a quote\n> nothing new") is None
    assert trim_quoted("No quote at all.") is None
    assert trim_quoted("Top.\n\n> quoted\n> more\n\n") == "Top."


def test_nested_multipart_gives_the_plain_body_and_every_attachment() -> None:
    mail = parse_mail(corpus("nested.eml"))
    assert mail.text == "W załączniku faktura, proszę o sprawdzenie płatności."
    assert [(a.name, a.content_type, a.inline) for a in mail.attachments] == [
        ("logo.png", "image/png", True),
        ("faktura marzecż.pdf", "application/pdf", False),
        ("Earlier mail.eml", "message/rfc822", True),
    ]
    pdf = mail.attachments[1]
    assert pdf.size == len(pdf.data) == 2016 and pdf.data.startswith(b"%PDF-1.4")
    assert "Forwarded text" not in mail.text
    assert mail.to == ("billing@example.com", "someone@else.example")
    assert mail.cc == ("accounting@example.com",)


def test_delivery_report_is_read() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.net\r\nTo: support@example.com\r\n"
        b"Subject: Undelivered\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type="delivery-status"; boundary=R\r\n\r\n'
        b"--R\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n"
        b"--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        b"Final-Recipient: rfc822; jan@example.net\r\nAction: delayed\r\nStatus: 4.4.1\r\n"
        b"Diagnostic-Code: smtp; 451 try later\r\n\r\n"
        b"--R\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <ours@example.com>\r\n"
        b"In-Reply-To: <theirs@example.net>\r\n\r\nbody\r\n--R--\r\n"
    )
    report = parse_mail(raw).bounce
    assert report is not None
    assert (report.action, report.status, report.recipient, report.diagnostic) == (
        "delayed",
        "4.4.1",
        "jan@example.net",
        "451 try later",
    )
    assert report.message_ids == ("<ours@example.com>", "<theirs@example.net>")
    assert parse_mail(make_mail()).bounce is None


def test_no_mail_makes_the_parser_raise() -> None:
    rng = random.Random(7)
    samples = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))) for _ in range(30)]
    for path in sorted(MAIL_DIR.glob("*.eml")):
        raw = path.read_bytes()
        samples += [raw[: len(raw) * n // 7] for n in range(7)]
        samples.append(raw.replace(b"\r\n", b"\n").replace(b"=", b"=\xff"))
    for raw in samples:
        mail = parse_mail(raw)
        assert isinstance(mail.text, str) and isinstance(mail.subject, str)


def test_signed_message_ids_name_their_contact_and_cannot_be_forged() -> None:
    ids = MessageIds(b"k" * 32, "example.com")
    made = ids.new("0196a1b2c3d4e5f60718")
    assert made.endswith("@example.com>")
    assert ids.contact_of(made) == "0196a1b2c3d4e5f60718"
    assert ids.contact_of(made.upper().replace("@EXAMPLE.COM", "@example.com")) is None
    _, mac, rest = made.strip("<>").split(".", 2)
    assert ids.contact_of(f"<othercontact.{mac}.{rest}>") is None
    assert MessageIds(b"x" * 32, "example.com").contact_of(made) is None
    assert ids.contact_of("<random@example.com>") is None
    assert ids.scan(f"Message-ID: {made}\nIn-Reply-To: <x@y>") == [made]
    assert made != ids.new("0196a1b2c3d4e5f60718")


def test_reply_subject_keeps_one_prefix_and_one_tag() -> None:
    assert reply_subject("RE: Odp: Fwd: Awaria [#old]", "new") == "Re: Awaria [#new]"
    assert reply_subject("Ответ: Счёт", "c1") == "Re: Счёт [#c1]"
    assert reply_subject("", "c1") == "Re: [#c1]"
    assert subject_tag("Re: x [#abc] [#def]") == "def"
    assert subject_tag("no tag [#]") is None


def test_auto_submitted_no_is_a_person() -> None:
    assert automated(parse_mail(make_mail(headers={"Auto-Submitted": "no"})), "a@b.c") is None
    assert automated(parse_mail(make_mail()), "<>") == "empty return path"
    assert automated(parse_mail(make_mail(sender="NoReply-billing@x.pl")), "a@b.c") == (
        "sender noreply-billing"
    )


async def test_limit_counts_per_key_within_its_window() -> None:
    clock = FakeClock()
    limit = WindowLimit(MemoryStore(clock=clock), 2, window_s=3600, prefix="t:")
    assert [await limit.allow("a@x.pl") for _ in range(3)] == [None, None, 3600]
    assert await limit.allow("b@x.pl") is None
    clock.advance(3600)
    assert await limit.allow("a@x.pl") is None
