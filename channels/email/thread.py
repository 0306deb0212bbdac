"""Which contact a mail belongs to: our signed Message-IDs, subject tags, thread records.

Every mail we send carries ``<contactid.hmac8.random@domain>``: the contact id, 8 hex digits
of HMAC-SHA256 under the server key over ``contactid.random``, and a random part. A reply
quoting it in In-Reply-To/References names its contact and nobody can forge one for another
contact. The ``[#contactid]`` tag in our subjects is a weaker hint kept for clients that drop
the headers; both only count when the sender is the contact's own address (the caller checks).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from typing import Any

from queues import Store

__all__ = ["MessageIds", "ThreadBook", "reply_subject", "subject_tag"]

_OURS = re.compile(
    r"<([A-Za-z0-9_-]{1,64})\.([0-9A-Fa-f]{8})\.([A-Za-z0-9]{1,32})@([^<>\s]{1,253})>"
)
_TAG = re.compile(r"\[#([A-Za-z0-9_-]{1,64})\]")
_PREFIX = re.compile(
    r"^\s*((re|fw|fwd|aw|wg|odp|pd|tr|sv|ответ|отв|пересл|השב|תשובה|הועבר)\s*(\[\d+\])?\s*:\s*)+",
    re.IGNORECASE,
)
#: How long the thread record of a contact is kept after its last mail.
THREAD_TTL_S = 180 * 86400.0
_MAX_REFERENCES = 10


class MessageIds:
    """Makes and checks our signed Message-IDs."""

    def __init__(self, secret: bytes, domain: str) -> None:
        if not secret:
            raise ValueError(
                "the Message-ID key is empty; pass the server key (SWITCHBOARD_SECRET)"
            )
        self._key = hashlib.sha256(b"switchboard email message-id\0" + secret).digest()
        self.domain = domain

    def _sign(self, contact_id: str, nonce: str) -> str:
        mac = hmac.new(self._key, f"{contact_id}.{nonce}".encode(), hashlib.sha256)
        return mac.hexdigest()[:8]

    def new(self, contact_id: str) -> str:
        nonce = secrets.token_hex(8)
        return f"<{contact_id}.{self._sign(contact_id, nonce)}.{nonce}@{self.domain}>"

    def contact_of(self, message_id: str) -> str | None:
        """The contact a Message-ID of ours names; None for anyone else's or a forged one."""
        match = _OURS.fullmatch(message_id.strip())
        if match is None:
            return None
        contact_id, mac, nonce, _ = match.groups()
        if not hmac.compare_digest(mac.lower(), self._sign(contact_id, nonce)):
            return None
        return contact_id

    def first(self, message_ids: Iterable[str]) -> tuple[str, str] | None:
        """(contact id, Message-ID) of the first valid one of ours among ``message_ids``."""
        for message_id in message_ids:
            contact_id = self.contact_of(message_id)
            if contact_id is not None:
                return contact_id, message_id
        return None

    def scan(self, text: str) -> list[str]:
        """Every Message-ID of our shape in free text (a bounce that quotes our mail)."""
        return [m.group(0) for m in _OURS.finditer(text)]


def subject_tag(subject: str) -> str | None:
    """The contact id of the last ``[#id]`` tag in a subject."""
    found = _TAG.findall(subject)
    return found[-1] if found else None


def reply_subject(subject: str, contact_id: str) -> str:
    """``Re: <subject without prefixes and tags> [#id]``."""
    base = _PREFIX.sub("", _TAG.sub("", subject)).strip()
    base = re.sub(r"\s+", " ", base)
    return f"Re: {base} [#{contact_id}]" if base else f"Re: [#{contact_id}]"


class ThreadBook:
    """Per contact: the subject, which of our addresses was written to, and the customer's
    Message-IDs, so that replies thread in the customer's mail client.

    Kept as store sessions (``email-thread:<contact id>``), so every router process sharing
    the store sees them.
    """

    def __init__(self, store: Store, *, ttl_s: float = THREAD_TTL_S) -> None:
        self._store = store
        self._ttl_s = ttl_s

    @staticmethod
    def key(contact_id: str) -> str:
        return f"email-thread:{contact_id}"

    async def get(self, contact_id: str) -> dict[str, Any] | None:
        return await self._store.get_session(self.key(contact_id))

    async def note(
        self,
        contact_id: str,
        *,
        message_id: str | None,
        references: Iterable[str],
        subject: str,
        our_address: str,
        first: bool = False,
    ) -> None:
        """Remember a customer's mail of this contact (idempotent for the same mail).
        ``first``: the mail made the contact just now, so it has no record yet to read."""
        record = {} if first else await self.get(contact_id) or {}
        chain = [*record.get("references", ()), *references]
        if message_id:
            chain.append(message_id)
        chain = list(dict.fromkeys(chain))[-_MAX_REFERENCES:]
        await self._store.put_session(
            self.key(contact_id),
            {
                "subject": record.get("subject") or subject,
                "our_address": our_address,
                "last_message_id": message_id or record.get("last_message_id"),
                "references": chain,
            },
            ttl_s=self._ttl_s,
        )
