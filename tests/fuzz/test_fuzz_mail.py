"""Fuzzing the SMTP side with MIME mail on loopback (a real smtplib client): every mail is
taken, 250, whatever its headers, charsets, structure and bytes; nothing is refused for its
content and nothing fails (451 would have the sender retry a mail that never goes in)."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTPUTF8

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.strategies import text, utf8_text
from tests.fuzz.support import FUZZ, LiveRig

CHARSETS = ["utf-8", "iso-8859-2", "koi8-r", "windows-1255", "x-unknown", "utf-7", ""]
TYPES = ["text/plain", "text/html", "application/octet-stream", "message/rfc822", "image/png"]


def _header(value: str) -> str:
    return " ".join(value.splitlines())  # every kind of line break


@st.composite
def mails(draw: st.DrawFn) -> bytes:
    """A mail: random raw header lines (as bytes, UTF-8 or not), random parts, sometimes
    other charsets or bytes spliced in."""
    headers = [("From", draw(st.sampled_from(["jan@example.net", "", "<>", "<"]) | utf8_text))]
    headers.append(("To", "support@example.com"))
    headers.append(("Subject", draw(utf8_text)))
    if draw(st.booleans()):
        headers.append(("Message-ID", draw(utf8_text) or "<x@y>"))
    names = ["In-Reply-To", "References", "Auto-Submitted", "Content-Language", "X-Loop"]
    for name in draw(st.lists(st.sampled_from(names), max_size=3)):
        headers.append((name, draw(utf8_text)))
    mail = EmailMessage(policy=SMTPUTF8)
    body = draw(utf8_text)
    kind = draw(st.sampled_from(TYPES))
    if kind.startswith("text/"):
        mail.set_content(body, subtype=kind.split("/")[1])
    else:
        mail.set_content(
            body.encode("utf-8"), maintype=kind.split("/")[0], subtype=kind.split("/")[1]
        )
    for _ in range(draw(st.integers(0, 2))):
        name = _header(draw(utf8_text)) or "f"
        data = draw(st.binary(max_size=200))
        mail.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    if mail.is_multipart():
        mail.set_boundary("fuzz-boundary-7f3c")  # email's own would come from `random`
    top = "".join(f"{name}: {_header(value)}\r\n" for name, value in headers)
    raw = top.encode("utf-8", "surrogatepass") + mail.as_bytes()
    if draw(st.booleans()):
        charset = draw(st.sampled_from(CHARSETS))
        raw = raw.replace(b'charset="utf-8"', f'charset="{charset}"'.encode())
    if draw(st.booleans()):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(max_size=40)).replace(b"\n", b"") + raw[at:]
    return raw


def sent(live: LiveRig, raw: bytes) -> int:
    code, _ = live.run(live.live.mail(raw), timeout_s=60)
    return code


@FUZZ
@given(raw=mails())
@example(raw=b"Subject: =?utf-8?b?gA==?=\r\nFrom: a@b.c\r\n\r\n\x80\xff body\r\n")
@example(
    raw=b"Subject: =?x-unknown?q?=80?=\r\nContent-Type: text/plain; charset=utf-7\r\n"
    b"\r\n+2D3//w-\r\n"
)
@example(raw=b'From: a@b.c\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n--b--\r\n')
def test_every_mail_is_taken(live: LiveRig, raw: bytes) -> None:
    assert sent(live, raw) == 250


@FUZZ
@given(subject=text, body=text)
def test_any_text_in_a_mail_is_taken(live: LiveRig, subject: str, body: str) -> None:
    raw = (
        f"From: jan@example.net\r\nTo: support@example.com\r\nSubject: {_header(subject)}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    ).encode("utf-8", "surrogatepass") + body.encode("utf-8", "surrogatepass")
    assert sent(live, raw) == 250
