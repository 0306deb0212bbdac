"""Outbound mail: agent replies and the flow's automatic replies, through an SMTP relay.

A reply goes From our support address (the one the customer wrote to, else ``from_address``),
To the contact's address, with ``Subject: Re: <subject> [#<contact id>]``, In-Reply-To and
References threading to the customer's last mail, and our signed Message-ID, which is also
the provider id (a bounce names it). Automatic replies carry ``Auto-Submitted: auto-replied``.
Relay failures become ``SendFailed``: retryable for 4xx answers and connection trouble,
final for 5xx.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib
import structlog

from channels.base import Reply
from channels.email.thread import MessageIds, ThreadBook, reply_subject
from channels.errors import SendFailed
from queues import Channel, StoreUnavailable

__all__ = ["EmailOutbox", "Relay"]

log = structlog.get_logger(__name__)

NO_RELAY = (
    "no SMTP relay is configured (channels.email.relay.host), so mail cannot be sent; "
    "set the relay to reply by email"
)


@dataclass(frozen=True, slots=True)
class Relay:
    """Where outbound mail is handed over."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout_s: float = 30.0
    tls_context: ssl.SSLContext | None = None  # None: the system's trusted CAs


class EmailOutbox:
    """The Outbox of the email channel."""

    channel: Channel = Channel.EMAIL

    def __init__(
        self,
        *,
        relay: Relay | None,
        from_address: str,
        addresses: Sequence[str],
        ids: MessageIds,
        threads: ThreadBook,
        clock: Callable[[], float],
    ) -> None:
        self.relay = relay
        self.from_address = from_address
        self.addresses = tuple(a.lower() for a in addresses)
        self.ids = ids
        self.threads = threads
        self._clock = clock

    async def send(self, reply: Reply) -> str:
        """An agent's reply; returns its Message-ID."""
        return await self.deliver(reply, auto=reply.auto)

    async def deliver(self, reply: Reply, *, auto: bool) -> str:
        """Send ``reply``; ``auto`` marks an automatic reply (RFC 3834)."""
        if self.relay is None:
            raise SendFailed(str(self.channel), NO_RELAY, retryable=False)
        try:
            thread = await self.threads.get(reply.contact_id) or {}
        except StoreUnavailable as exc:
            raise SendFailed(str(self.channel), f"the store is unavailable: {exc}") from exc
        message = self.compose(reply, thread, auto=auto)
        await self._hand_over(self.relay, message, str(message["From"]), reply.address)
        message_id = str(message["Message-ID"])
        log.info("email_sent", contact_id=reply.contact_id, auto=auto, message_id=message_id)
        return message_id

    def compose(self, reply: Reply, thread: Mapping[str, Any], *, auto: bool) -> EmailMessage:
        """The mail for ``reply``; ``thread`` is the contact's ThreadBook record, if any."""
        first: Mapping[str, Any] = reply.meta.get("email") or {}  # the contact's first mail
        ours = str(thread.get("our_address") or first.get("our_address") or "").lower()
        subject = str(thread.get("subject") or first.get("subject") or "")
        last = thread.get("last_message_id") or first.get("message_id")
        references = list(thread.get("references") or ([last] if last else []))
        message = EmailMessage()
        message["From"] = ours if ours in self.addresses else self.from_address
        message["To"] = reply.address
        message["Subject"] = reply_subject(subject, reply.contact_id)
        message["Date"] = formatdate(self._clock(), usegmt=True)
        message["Message-ID"] = self.ids.new(reply.contact_id)
        if last:
            message["In-Reply-To"] = str(last)
        if references:
            message["References"] = " ".join(str(r) for r in references)
        if auto:
            message["Auto-Submitted"] = "auto-replied"
            message["X-Auto-Response-Suppress"] = "All"
        message["Content-Language"] = reply.language
        message.set_content(reply.text, charset="utf-8", cte="quoted-printable")
        return message

    async def _hand_over(
        self, relay: Relay, message: EmailMessage, sender: str, recipient: str
    ) -> None:
        channel = str(self.channel)
        try:
            await aiosmtplib.send(
                message,
                sender=sender,
                recipients=[recipient],
                hostname=relay.host,
                port=relay.port,
                username=relay.username,
                password=relay.password,
                start_tls=relay.starttls,
                tls_context=relay.tls_context,
                timeout=relay.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            said = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            raise SendFailed(
                channel,
                f"the relay refused the recipient: {said}",
                retryable=any(400 <= c < 500 for c in codes),
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise SendFailed(
                channel,
                f"the relay answered {exc.code} {exc.message}",
                retryable=400 <= exc.code < 500,
            ) from exc
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected) as exc:
            raise SendFailed(channel, f"cannot reach the relay {relay.host}: {exc}") from exc
        except (aiosmtplib.SMTPTimeoutError, TimeoutError) as exc:
            raise SendFailed(channel, f"the relay {relay.host} timed out: {exc}") from exc
        except aiosmtplib.SMTPException as exc:
            raise SendFailed(
                channel, f"the relay cannot take mail: {exc}", retryable=False
            ) from exc
        except OSError as exc:
            raise SendFailed(channel, f"cannot reach the relay {relay.host}: {exc}") from exc
