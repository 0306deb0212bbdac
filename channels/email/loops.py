"""Mail loop protection: which mail gets no automatic reply, and how many we send.

Automatic replies (the email flow's prompts) are never sent to machine mail (RFC 3834):
Auto-Submitted other than "no", Precedence bulk/junk/list, X-Auto-Response-Suppress, List-Id
or List-Unsubscribe, X-Autoreply/X-Autorespond, mailer-daemon/postmaster/no-reply senders, an
empty return path, delivery reports. Those that are sent are limited per address and hour.
"""

from __future__ import annotations

from channels.email.parse import ParsedMail

__all__ = ["ROBOT_SENDERS", "automated"]

#: Local parts of the mail system's own senders: their mail is a delivery report.
ROBOT_SENDERS = ("mailer-daemon", "postmaster")
_NO_REPLY = ("noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply")


def automated(mail: ParsedMail, mail_from: str) -> str | None:
    """Why ``mail`` must get no automatic reply, or None when a reply is fine."""
    headers = mail.headers
    auto = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"auto-submitted {auto}"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"precedence {precedence}"
    suppress = headers.get("x-auto-response-suppress", "").strip().lower()
    if suppress and suppress != "none":
        return "x-auto-response-suppress"
    for name in ("list-id", "list-unsubscribe", "x-autoreply", "x-autorespond"):
        if name in headers:
            return name
    if mail.bounce is not None:
        return "delivery report"
    envelope = mail_from.strip().lower()
    if envelope in ("", "<>") or headers.get("return-path", "").strip() == "<>":
        return "empty return path"
    for address in (mail.from_address or "", envelope):
        local = address.rpartition("@")[0] if "@" in address else address
        if local in ROBOT_SENDERS or local.startswith(_NO_REPLY):
            return f"sender {local}"
    return None
