"""The email channel: our own SMTP server in, an SMTP relay out.

A mail to one of the support addresses is parsed (``channels.email.parse``), matched to
its contact (``channels.email.thread``: our signed Message-ID in In-Reply-To/References, or
``[#id]`` in the subject, and only when the sender is the contact's own address), handed to
the Inbox, and acknowledged 250 only once stored. What the flow says back is mailed as an
automatic reply, unless the mail is machine mail or the address had its share this hour
(``channels.email.loops``).

How mail maps to contacts:
- a new mail (nothing of ours in it) is a new contact, its flow reads Login/Auth code lines;
- a reply to a waiting or assigned contact joins it (the quoted part is trimmed from the
  text shown; the whole text stays in the message meta); while it waits, the automatic
  reply says its place and wait (``router.contacts.standing``), else there is none;
- a reply to a resolved or abandoned contact is a new contact with ``follow_up_of`` set to
  the old one in its meta: it goes through the flow and the queue again, and the agent sees
  the history it follows;
- a delivery report (bounce) of our mail is attached to the contact it names, as a message
  and a delivery status, and never makes a contact; one naming nothing of ours is dropped.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from channels.base import Answer, InboundMessage, Inbox, Outbox, Reply
from channels.courier import Courier
from channels.deadline import DEFAULT_DEADLINE_S, Deadline
from channels.email.intake import (
    digest,
    envelope_address,
    hash_key,
    inbound_message,
    scrubbed_mail,
)
from channels.email.loops import ROBOT_SENDERS, automated
from channels.email.parse import Attachment, ParsedMail, parse_mail
from channels.email.send import EmailOutbox, Relay
from channels.email.smtp import MailHandler, SmtpServer, load_tls
from channels.email.text import decode_bytes
from channels.email.thread import THREAD_TTL_S, MessageIds, ThreadBook, subject_tag
from channels.limits import WindowLimit
from queues import Channel, ContactNotFound, Store

__all__ = ["EmailAdapter", "EmailSettings"]

log = structlog.get_logger(__name__)

_PARSE_INLINE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """What the email channel is told by the config (``channels.email``)."""

    addresses: tuple[str, ...]
    host: str = "127.0.0.1"
    port: int = 8025
    from_address: str | None = None
    max_size_bytes: int = 10 * 1024 * 1024
    relay: Relay | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    attachments_dir: Path | None = None  # None: attachment content is dropped
    max_attachment_bytes: int = 10 * 1024 * 1024
    auto_reply_per_hour: int = 5
    max_connections: int = 100  # SMTP sessions at once (421 past it)
    max_connections_per_ip: int = 10  # ... and from one address
    deadline_s: float = DEFAULT_DEADLINE_S  # DATA answered within it (451 past it)
    domain: str | None = None  # of our Message-IDs; default: from_address's domain

    @property
    def sender(self) -> str:
        return (self.from_address or self.addresses[0]).lower()


class EmailAdapter:
    """The running email channel (a ``ChannelAdapter``): SMTP server and outbox."""

    channel: Channel = Channel.EMAIL

    def __init__(
        self,
        *,
        inbox: Inbox,
        store: Store,
        courier: Courier,
        settings: EmailSettings,
        secret: bytes,
        clock: Callable[[], float],
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        if not settings.addresses:
            raise ValueError("the email channel needs at least one support address")
        self.inbox = inbox
        self.store = store
        self.settings = settings
        domain = settings.domain or settings.sender.rpartition("@")[2] or "switchboard.local"
        self.ids = MessageIds(secret, domain)
        self.threads = ThreadBook(store)
        self.mail_out = EmailOutbox(
            relay=settings.relay,
            from_address=settings.sender,
            addresses=settings.addresses,
            ids=self.ids,
            threads=self.threads,
            clock=clock,
        )
        self.outbox: Outbox | None = self.mail_out
        # Counted in the store: the processes on one store share one budget per address.
        self.limiter = WindowLimit(
            store, settings.auto_reply_per_hour, window_s=3600.0, prefix="email:auto-reply:"
        )
        self._redact = redact
        self._ours = tuple(a.lower() for a in settings.addresses)
        self.courier = courier
        self.server: SmtpServer | None = None
        self._deadline: Deadline | None = None

    @property
    def port(self) -> int:
        """The SMTP port listened on (useful with port 0)."""
        return self.server.port if self.server else self.settings.port

    def add_routes(self, app: web.Application) -> None:
        """Email has no HTTP routes."""

    async def start(self) -> None:
        s = self.settings
        tls = load_tls(s.tls_cert, s.tls_key) if s.tls_cert and s.tls_key else None
        self._deadline = Deadline(s.deadline_s)
        self.server = SmtpServer(
            MailHandler(s.addresses, self.take, deadline=self._deadline),
            host=s.host,
            port=s.port,
            max_size_bytes=s.max_size_bytes,
            tls=tls,
            max_connections=s.max_connections,
            max_connections_per_ip=s.max_connections_per_ip,
        )
        await self.server.start()
        log.info(
            "email_listening",
            host=s.host,
            port=self.port,
            addresses=list(s.addresses),
            starttls=tls is not None,
            attachments="keep" if s.attachments_dir else "drop",
        )
        if s.relay is None:
            log.warning("email_relay_missing", reason="channels.email.relay.host is not set")

    async def aclose(self) -> None:
        if self.server is not None:
            await self.server.aclose()
            self.server = None
        if self._deadline is not None:
            await self._deadline.aclose()

    async def drain(self) -> None:
        """Wait for the outbox to empty: automatic replies sent (tests, benchmarks)."""
        await self.courier.join()

    # -- inbound ---------------------------------------------------------------------------
    async def take(self, raw: bytes, mail_from: str, recipients: list[str]) -> str:
        """Store one mail; returns the SMTP answer. Raises StoreUnavailable (451)."""
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(channel=str(self.channel))
        # A big mail is parsed off the loop, so other sessions and the HTTP side keep going.
        big = len(raw) > _PARSE_INLINE_BYTES
        mail = await asyncio.to_thread(parse_mail, raw) if big else parse_mail(raw)
        mail = scrubbed_mail(mail)  # what a broken encoding left no store could keep
        key = f"email:{mail.message_id}" if mail.message_id else hash_key(raw)
        bounce = self._bounced(mail, mail_from, raw)
        if bounce is not None:
            return await self._take_bounce(mail, key, *bounce)
        if mail.bounce is not None:
            log.info("email_bounce_unmatched", size=len(raw))
            return "250 2.0.0 OK: delivery report taken"
        return await self._take_mail(mail, key, raw, mail_from, recipients)

    async def _take_mail(
        self, mail: ParsedMail, key: str, raw: bytes, mail_from: str, recipients: list[str]
    ) -> str:
        """A customer's mail: joined to its thread, stored, and answered automatically."""
        sender = mail.from_address or envelope_address(mail_from) or "unknown@invalid"
        joined, follow_up_of = await self._thread(mail, sender)
        files = await self._keep(mail.attachments)
        reason = automated(mail, mail_from) or ("own address" if sender in self._ours else None)
        ours = [r.lower() for r in recipients]
        written_to = next((a for a in (*mail.to, *mail.cc) if a in ours), ours[0])
        answer = await self.inbox.receive(
            inbound_message(
                mail,
                sender=sender,
                key=key,
                joined=joined,
                follow_up_of=follow_up_of,
                files=files,
                automated=reason,
                written_to=written_to,
                redact=self._redact,
            )
        )
        contact_id = answer.contact.id
        structlog.contextvars.bind_contextvars(contact_id=contact_id)
        await self.threads.note(
            contact_id,
            message_id=mail.message_id,
            references=mail.references,
            # As the router kept it: an auth code typed into the subject is masked there.
            subject=answer.contact.subject or "",
            our_address=written_to,
            first=_made_by(answer, mail),
        )
        log.info(
            "email_received",
            joined=joined is not None,
            follow_up=follow_up_of is not None,
            duplicate=answer.duplicate,
            attachments=len(files),
            size=len(raw),
        )
        if answer.prompts:
            await self._auto_reply(answer, sender, reason, key)
        return f"250 2.0.0 OK: contact {contact_id}"

    async def _thread(self, mail: ParsedMail, sender: str) -> tuple[str | None, str | None]:
        """(contact to join, resolved contact this follows up); (None, None) for a new one."""
        candidates = [
            contact_id
            for message_id in (*mail.in_reply_to, *reversed(mail.references))
            if (contact_id := self.ids.contact_of(message_id)) is not None
        ]
        tag = subject_tag(mail.subject)
        if tag is not None:
            candidates.append(tag)
        for contact_id in dict.fromkeys(candidates):
            try:
                contact = await self.store.get_contact(contact_id, messages=False)
            except ContactNotFound:
                continue
            if contact.channel is not self.channel or contact.address.lower() != sender:
                log.info("email_thread_refused", claimed=contact_id, reason="sender differs")
                continue
            if contact.state.is_final:
                return None, contact.id
            return contact.id, None
        return None, None

    def _bounced(self, mail: ParsedMail, mail_from: str, raw: bytes) -> tuple[str, str] | None:
        """(contact id, our Message-ID) a delivery report is about; None if not one of ours."""
        if mail.bounce is not None:
            return self.ids.first((*mail.bounce.message_ids, *mail.in_reply_to, *mail.references))
        sender = (mail.from_address or envelope_address(mail_from) or "").partition("@")[0]
        if sender in ROBOT_SENDERS:
            # A bounce not in RFC 3464 form: our Message-ID somewhere in the returned text.
            return self.ids.first(self.ids.scan(decode_bytes(raw)))
        return None

    async def _take_bounce(
        self, mail: ParsedMail, key: str, contact_id: str, message_id: str
    ) -> str:
        try:
            contact = await self.store.get_contact(contact_id, messages=False)
        except ContactNotFound:
            log.info("email_bounce_unmatched", claimed=contact_id)
            return "250 2.0.0 OK: delivery report taken"
        structlog.contextvars.bind_contextvars(contact_id=contact_id)
        report = mail.bounce
        status = "bounced" if report is None or report.action == "failed" else report.action
        detail = (
            " ".join(x for x in (report.recipient, report.status, report.diagnostic) if x)
            if report
            else mail.subject
        )
        answer = await self.inbox.receive(
            InboundMessage(
                channel=self.channel,
                address=contact.address,
                text=f"Mail delivery report ({status}) for {message_id}: {detail}".strip(),
                key=key,
                conversation=f"contact:{contact_id}",
                contact_id=contact_id,
                subject=mail.subject or None,
                meta={"email": {"bounce": status, "detail": detail, "message_id": message_id}},
            )
        )
        # The Inbox takes the report once (its key); the delivery status is recorded once too.
        seen = f"email-bounce:{digest(key)}"
        if not answer.duplicate and await self.store.get_session(seen) is None:
            await self.inbox.delivery(self.channel, message_id, status, detail=detail or None)
            await self.store.put_session(seen, {"contact_id": contact_id}, ttl_s=THREAD_TTL_S)
        log.info("email_bounce", status=status, duplicate=answer.duplicate)
        return f"250 2.0.0 OK: delivery report for contact {contact_id}"

    async def _keep(self, attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
        """Attachment metadata; the content is written under the data dir when kept."""
        kept: list[dict[str, Any]] = []
        where = self.settings.attachments_dir
        for item in attachments:
            info = item.meta()
            if where is None:
                info["stored"] = False
            elif item.size > self.settings.max_attachment_bytes:
                info["stored"] = False
                info["dropped"] = "larger than max_attachment_bytes"
            else:
                await asyncio.to_thread(_write_once, where, item.sha256, item.data)
                info["stored"] = True
            kept.append(info)
        return kept

    # -- automatic replies -----------------------------------------------------------------
    async def _auto_reply(self, answer: Answer, address: str, reason: str | None, key: str) -> None:
        """Post the flow's answer to the outbox (``Auto-Submitted``), once per mail: a mail
        delivered again posts the same parcel id, which the store refuses."""
        if reason is not None:
            log.info("email_auto_reply_suppressed", reason=reason)
            return
        if self.mail_out.relay is None:
            return  # said once at start: email_relay_missing
        if not answer.duplicate and await self.limiter.allow(address.lower()) is not None:
            log.info("email_auto_reply_suppressed", reason="rate limit")
            return
        contact = answer.contact
        reply = Reply(
            contact_id=contact.id,
            channel=self.channel,
            address=address,
            text="\n\n".join(p.text for p in answer.prompts),
            language=answer.prompts[0].language,
            meta=dict(contact.meta),
            auto=True,
        )
        await self.courier.post(f"email-auto:{key}", reply, kind="auto")


def _made_by(answer: Answer, mail: ParsedMail) -> bool:
    """Whether ``mail`` made the answer's contact just now. A contact keeps the meta of the
    mail that made it, and a Message-ID is this mail's key: a mail taken before (however
    long ago: a key outlives the conversation) is a duplicate, and a joined contact, a
    follow-up's old one or a surveyed one names another mail."""
    if answer.duplicate or mail.message_id is None:
        return False
    made = answer.contact.meta.get("email")
    return isinstance(made, dict) and made.get("message_id") == mail.message_id


def _write_once(directory: Path, sha256: str, data: bytes) -> None:
    """Content-addressed: the same file twice is stored once; a reader never sees half."""
    path = directory / sha256[:2] / sha256
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
