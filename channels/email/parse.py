"""One inbound mail, parsed with the stdlib email package (policy.default) into plain facts.

``parse_mail`` never raises: missing headers, no Content-Type, bad base64, unknown
charsets, broken multiparts all still give a ``ParsedMail`` with whatever could be read.

policy.default parses a header again at every access, and the parser itself asks for the
Content-Type of each part several times: most of the time parsing took. The policy used
(``channels.email.policy``) is policy.default keeping the header objects it made by name and
raw value (a header object is immutable and depends on nothing else), so a Content-Type seen
before is parsed once.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

from channels.email.policy import POLICY as _POLICY
from channels.email.text import decode_bytes, decode_words, html_to_text

__all__ = ["Attachment", "Bounce", "ParsedMail", "message_ids", "parse_mail"]

#: Text kept of one mail; the rest is cut (a 10 MB log pasted in a mail is not a message).
MAX_TEXT_CHARS = 32_000
_MAX_DEPTH = 30
_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:@\"]+@[^\s<>()\[\]\\,;:@\"]+")
_MSGID = re.compile(r"<([^<>\s]{1,250})>")
_LOOP_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "x-autoreply",
    "x-autorespond",
    "return-path",
)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file in a mail: its metadata goes into the contact, its bytes to disk or nowhere."""

    name: str
    content_type: str
    size: int
    sha256: str
    inline: bool
    data: bytes = field(repr=False, compare=False)

    def meta(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "inline": self.inline,
        }


@dataclass(frozen=True, slots=True)
class Bounce:
    """A delivery status notification (RFC 3464) and the Message-IDs of the mail it returns."""

    action: str
    status: str
    recipient: str
    diagnostic: str
    message_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str | None
    subject: str
    from_address: str | None
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    date: str
    text: str
    from_html: bool
    attachments: tuple[Attachment, ...]
    headers: dict[str, str]
    bounce: Bounce | None
    defects: int


def message_ids(value: str) -> tuple[str, ...]:
    """Every ``<id>`` in a header value, in order, each once."""
    return tuple(dict.fromkeys(f"<{m}>" for m in _MSGID.findall(value)))


def _raw(msg: Message, name: str) -> str:
    # raw_items(): the value before policy parsing, which some malformed headers break.
    for key, value in msg.raw_items():
        if key.lower() == name:
            return str(value)
    return ""


def _heads(msg: Message) -> dict[str, str]:
    """Each header's first raw value by its name in lower case (``_raw`` of every name)."""
    heads: dict[str, str] = {}
    for key, value in msg.raw_items():
        heads.setdefault(key.lower(), str(value))
    return heads


def _addresses(raw: str) -> list[tuple[str, str]]:
    if not raw:
        return []
    if any("\udc80" <= c <= "\udcff" for c in raw):
        raw = decode_words(raw)
    try:
        pairs = getaddresses([re.sub(r"\r?\n[ \t]*", " ", raw)])
    except Exception:  # a header the address parser cannot take
        pairs = []
    found = [
        (decode_words(n), a.strip().lower()) for n, a in pairs if _ADDRESS.fullmatch(a.strip())
    ]
    if not found:  # unbalanced quotes or brackets: take any address-looking word
        found = [("", a.lower()) for a in _ADDRESS.findall(raw)]
    return found


def _unbase64(text: str) -> bytes:
    # Lenient: stray characters are skipped and a cut-off end decodes as far as it goes.
    data = re.sub(rb"[^A-Za-z0-9+/]", b"", text.encode("ascii", "ignore"))
    data = data[: len(data) - 1] if len(data) % 4 == 1 else data
    return binascii.a2b_base64(data + b"=" * (-len(data) % 4))


def _payload(part: Message) -> bytes:
    raw = part.get_payload()
    if not isinstance(raw, str):
        return b""
    if _raw(part, "content-transfer-encoding").strip().lower() == "base64":
        with contextlib.suppress(binascii.Error, ValueError):
            return _unbase64(raw)
    try:
        data = part.get_payload(decode=True)
    except Exception:  # bad transfer encoding: the raw payload is still text
        data = None
    if isinstance(data, bytes):
        return data
    return raw.encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class _Part:
    """What the walk needs of a part's headers."""

    ctype: str
    charset: str | None
    disposition: str | None
    filename: str | None

    @classmethod
    def of(cls, part: Message) -> _Part:
        params: dict[str, str] = {}
        ctype = part.get_default_type()
        disposition = None
        try:
            header = part.get("content-type")
            if header is not None:
                ctype = str(getattr(header, "content_type", "text/plain")).lower()
                params = {k.lower(): str(v) for k, v in getattr(header, "params", {}).items()}
            found = part.get("content-disposition")
            if found is not None:
                disposition = str(getattr(found, "content_disposition", "") or "").lower() or None
                params |= {
                    k.lower(): str(v)
                    for k, v in getattr(found, "params", {}).items()
                    if k.lower() == "filename"
                }
        except Exception:  # a header the parser cannot take: the defaults stand
            pass
        if ctype.count("/") != 1:
            ctype = "text/plain"
        name = params.get("filename") or params.get("name")
        return cls(ctype, params.get("charset"), disposition, _filename(name))


def _filename(name: str | None) -> str | None:
    if not name:
        return None
    name = decode_words(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    return name[:200] or None


def _text(part: Message, info: _Part) -> str:
    text = decode_bytes(_payload(part), info.charset)
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _Walk:
    """Walks the MIME tree once: picks the body text and collects the attachments."""

    def __init__(self) -> None:
        self.attachments: list[Attachment] = []

    def attach(self, part: Message, info: _Part) -> None:
        wrapped = info.ctype.startswith("message/") and part.is_multipart()
        inner = part.get_payload(0) if wrapped else None
        name = info.filename
        if isinstance(inner, Message):  # a mail forwarded as an attachment
            try:
                data = inner.as_bytes()
            except Exception:  # serialising a broken inner mail
                data = b""
            subject = decode_words(_raw(inner, "subject"))
            name = name or f"{subject or 'message'}.eml"
        else:
            data = _payload(part)
        self.attachments.append(
            Attachment(
                name=name or f"attachment-{len(self.attachments) + 1}",
                content_type=info.ctype,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                inline=info.disposition != "attachment",
                data=data,
            )
        )

    def body(self, part: Message, depth: int = 0) -> tuple[str, bool]:
        """(text, came from HTML) of ``part``; attachments found on the way are kept."""
        if depth > _MAX_DEPTH:
            return "", False
        info = _Part.of(part)
        ctype = info.ctype
        if ctype.startswith("message/"):
            self.attach(part, info)
            return "", False
        children = part.get_payload() if part.is_multipart() else None
        if isinstance(children, list):
            parts = [p for p in children if isinstance(p, Message)]
            if ctype == "multipart/alternative":
                return self._alternative(parts, depth)
            found = [self.body(p, depth + 1) for p in parts]
            texts = [(t, h) for t, h in found if t.strip()]
            return "\n\n".join(t for t, _ in texts), any(h for _, h in texts)
        is_text = ctype in ("text/plain", "text/html") or ctype.startswith("multipart/")
        named = info.filename is not None and info.disposition is None
        if not is_text or info.disposition == "attachment" or named:
            self.attach(part, info)
            return "", False
        if ctype == "text/html":
            return html_to_text(_text(part, info)), True
        return _text(part, info), False

    def _alternative(self, parts: list[Message], depth: int) -> tuple[str, bool]:
        found = [self.body(p, depth + 1) for p in parts]
        plain = [t for t, html in found if t.strip() and not html]
        if plain:
            return plain[0], False
        html = [t for t, _ in found if t.strip()]
        return (html[0], True) if html else ("", False)


def _status_fields(part: Message) -> dict[str, str]:
    fields: dict[str, str] = {}
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else []
    if not blocks:  # a delivery-status the parser left as text
        parsed = BytesParser(policy=_POLICY).parsebytes(
            _payload(part).replace(b"\r\n\r\n", b"\r\n").replace(b"\n\n", b"\n"),
            headersonly=True,
        )
        blocks = [parsed]
    for block in blocks:
        if isinstance(block, Message):
            for key, value in block.raw_items():
                fields.setdefault(key.lower(), decode_words(str(value)))
    return fields


def _bounce(msg: Message) -> Bounce | None:
    if msg.get_content_type() != "multipart/report":
        return None
    if str(msg.get_param("report-type", "")).lower() != "delivery-status":
        return None
    fields: dict[str, str] = {}
    ids: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            fields = _status_fields(part)
        elif ctype in ("message/rfc822", "text/rfc822-headers"):
            inner = part.get_payload(0) if isinstance(part.get_payload(), list) else None
            if not isinstance(inner, Message):
                inner = BytesParser(policy=_POLICY).parsebytes(_payload(part), headersonly=True)
            for name in ("message-id", "in-reply-to", "references"):
                ids += message_ids(_raw(inner, name))
    for name in ("in-reply-to", "references"):
        ids += message_ids(_raw(msg, name))
    recipient = fields.get("final-recipient") or fields.get("original-recipient") or ""
    return Bounce(
        action=fields.get("action", "failed").lower(),
        status=fields.get("status", ""),
        recipient=recipient.split(";", 1)[-1].strip(),
        diagnostic=fields.get("diagnostic-code", "").split(";", 1)[-1].strip()[:500],
        message_ids=tuple(dict.fromkeys(ids)),
    )


def parse_mail(raw: bytes) -> ParsedMail:
    """The facts of one mail as received over SMTP; never raises."""
    try:
        msg: Message = BytesParser(policy=_POLICY).parsebytes(raw)
        return _parse(msg)
    except Exception:  # a mail the parser chokes on is still taken as text
        return _as_text(raw)


def _as_text(raw: bytes) -> ParsedMail:
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    subject = next(
        (line[8:] for line in head.split(b"\n") if line.lower().startswith(b"subject:")), b""
    )
    return ParsedMail(
        message_id=None,
        subject=decode_words(decode_bytes(subject)),
        from_address=None,
        from_name="",
        to=(),
        cc=(),
        in_reply_to=(),
        references=(),
        date="",
        text=decode_bytes(body or head)[:MAX_TEXT_CHARS],
        from_html=False,
        attachments=(),
        headers={},
        bounce=None,
        defects=1,
    )


def _parse(msg: Message) -> ParsedMail:
    walk = _Walk()
    text, from_html = walk.body(msg)
    heads = _heads(msg)
    sender = _addresses(heads.get("from", ""))
    own_id = message_ids(heads.get("message-id", ""))
    bare_id = heads.get("message-id", "").strip()
    if not own_id and bare_id and not any(c.isspace() for c in bare_id):
        own_id = (f"<{bare_id.strip('<>')[:250]}>",)  # a Message-ID without its brackets
    defects = len(msg.defects) + sum(len(p.defects) for p in msg.walk() if p is not msg)
    return ParsedMail(
        message_id=own_id[0] if own_id else None,
        subject=decode_words(heads.get("subject", ""))[:998],
        from_address=sender[0][1] if sender else None,
        from_name=sender[0][0] if sender else "",
        to=tuple(a for _, a in _addresses(heads.get("to", ""))),
        cc=tuple(a for _, a in _addresses(heads.get("cc", ""))),
        in_reply_to=message_ids(heads.get("in-reply-to", "")),
        references=message_ids(heads.get("references", "")),
        date=decode_words(heads.get("date", "")),
        text=text.strip()[:MAX_TEXT_CHARS],
        from_html=from_html,
        attachments=tuple(walk.attachments),
        headers={name: decode_words(heads[name]) for name in _LOOP_HEADERS if heads.get(name)},
        bounce=_bounce(msg),
        defects=defects,
    )
