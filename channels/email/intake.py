"""A received mail as one customer input: its text, its idempotency key and conversation,
and what an agent should know about it."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from channels.base import InboundMessage
from channels.email.parse import ParsedMail
from channels.email.text import trim_quoted
from channels.inputs import scrub, scrubbed
from queues import Channel

__all__ = [
    "describe",
    "digest",
    "envelope_address",
    "hash_key",
    "inbound_message",
    "scrubbed_mail",
]

T = TypeVar("T")


def scrubbed_mail(mail: T) -> T:
    """The parsed mail (its headers, texts, attachment names, bounce) with every lone
    surrogate a broken encoding left replaced: a mail is taken whatever it holds, and no
    store can keep such a string. The mail itself is returned when it holds none."""
    return _scrub_any(mail)  # type: ignore[no-any-return]


def _scrub_any(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, tuple):
        return tuple(_scrub_any(v) for v in value)
    if isinstance(value, list):
        return [_scrub_any(v) for v in value]
    if isinstance(value, dict):
        return {_scrub_any(k): _scrub_any(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _scrub_any(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not isinstance(getattr(value, f.name), bytes | bool | int | type(None))
        }
        return dataclasses.replace(value, **changes)
    return value


def inbound_message(
    mail: ParsedMail,
    *,
    sender: str,
    key: str,
    joined: str | None,
    follow_up_of: str | None,
    files: list[dict[str, Any]],
    automated: str | None,
    written_to: str,
    redact: Callable[[str], str],
) -> InboundMessage:
    """The mail as one customer input: the subject (of a new contact), the text without
    the quoted reply (of a joined one), and what the agent should know in ``meta``."""
    trimmed = trim_quoted(mail.text) if joined else None
    parts = [] if joined or not mail.subject else [mail.subject]
    parts += [trimmed or mail.text] if (trimmed or mail.text) else []
    if files:
        parts.append("Attachments: " + ", ".join(describe(f) for f in files))
    email: dict[str, Any] = {
        "message_id": mail.message_id,
        "subject": mail.subject,
        "from": sender,
        "from_name": mail.from_name,
        "our_address": written_to,
        "to": list(mail.to),
        "cc": list(mail.cc),
        "date": mail.date,
        "attachments": files,
        "html_only": mail.from_html,
        "automated": automated,
    }
    if trimmed is not None:
        email["full_text"] = redact(mail.text)
    if follow_up_of is not None:
        email["follow_up_of"] = follow_up_of
    if mail.defects:
        email["defects"] = mail.defects
    # A mail is taken whatever it holds: what no store can encode (a lone surrogate from a
    # broken encoding) is replaced, never refused.
    return InboundMessage(
        channel=Channel.EMAIL,
        address=scrub(sender),
        text=scrub("\n\n".join(parts) or "(empty message)"),
        key=scrub(key),
        conversation=f"contact:{joined}" if joined else f"mail:{digest(key)}",
        contact_id=joined,
        subject=scrub(mail.subject) or None,
        meta={"email": scrubbed(email)},
    )


def envelope_address(mail_from: str) -> str | None:
    address = mail_from.strip().strip("<>").lower()
    return address if "@" in address else None


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def hash_key(raw: bytes) -> str:
    return f"email:sha256:{hashlib.sha256(raw).hexdigest()}"


def describe(info: dict[str, Any]) -> str:
    size = int(info["size"])
    shown = f"{size} B" if size < 1024 else f"{size / 1024:.1f} KiB"
    if size >= 1024 * 1024:
        shown = f"{size / 1024 / 1024:.1f} MiB"
    return f"{info['name']} ({info['type']}, {shown})"
