"""What arrives: the conversation a message continues, the contact a new one opens, and the
message as the history keeps it (auth codes masked)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from channels import InboundMessage
from ivr import detect_language
from queues import Contact, Direction, Message, Store
from router.contacts.replay import handled_keys

__all__ = [
    "Conversation",
    "find_conversation",
    "first_text",
    "history_message",
    "new_contact",
    "redact_secret",
]

_CODE_RE = re.compile(r"(?<!\d)\d{4,8}(?!\d)")


def redact_secret(text: str) -> str:
    """Mask every run of 4-8 digits: what the customer typed as an auth code is never kept."""
    return _CODE_RE.sub(lambda m: "•" * len(m.group()), text)


@dataclass(frozen=True, slots=True)
class Conversation:
    """What the store knows of a message's conversation before the message is stored."""

    session: dict[str, Any] | None
    contact: Contact | None
    follow_up_of: str | None = None

    @property
    def secret(self) -> bool:
        """The flow asked for a code: the message is masked before it is stored."""
        return bool(self.session and self.session.get("secret"))

    @property
    def handled(self) -> list[str]:
        """The idempotency keys already answered in this conversation."""
        return handled_keys(self.session)

    @property
    def in_flow_session(self) -> bool:
        """The session still holds a flow: saved before the flow's last turn was done."""
        return self.session is not None and self.session.get("flow") is not None


async def find_conversation(store: Store, message: InboundMessage) -> Conversation:
    """The open contact this message continues, by its conversation or a thread id.

    Writing again about a closed matter opens a new contact that points back to it.
    """
    session = await store.get_session(message.session_key)
    if session is not None:
        contact = await store.get_contact(session["contact_id"], messages=False)
        if not contact.state.is_final:
            return Conversation(session, contact)
    if message.contact_id is not None:
        contact = await store.get_contact(message.contact_id, messages=False)
        if contact.state.is_final:
            return Conversation(None, None, follow_up_of=contact.id)
        return Conversation(None, contact)
    return Conversation(None, None)


def first_text(message: InboundMessage) -> str:
    """What a new contact's first message says, for the outage watch: its subject and text,
    the subject once (a new mail's text already starts with it)."""
    text, subject = message.text or "", message.subject or ""
    if not subject or text.startswith(subject):
        return text
    return f"{subject} {text}" if text else subject


def new_contact(
    message: InboundMessage,
    now: float,
    *,
    follow_up_of: str | None,
    languages: tuple[str, ...],
    default_language: str,
) -> Contact:
    """The contact a message opens: in its language, or the one its text is written in."""
    language = message.language or detect_language(message.text or "", languages, default_language)
    return Contact(
        channel=message.channel,
        address=message.address,
        created_at=now,
        language=language,
        subject=message.subject,
        meta={**message.meta, **({"follow_up_of": follow_up_of} if follow_up_of else {})},
    )


def history_message(
    message: InboundMessage,
    now: float,
    *,
    redact: Callable[[str], str],
    secret: bool,
    known: Mapping[str, Any] | None = None,
) -> Message:
    """The message as the history keeps it: auth codes never reach the history (``redact``
    masks labelled lines always, and any digits typed where the flow asked for a code).

    Its meta leaves out what the contact's meta (``known``) already says with the same
    value (a call's CallSid and number on every keypress), and says ``timeout`` only when
    the customer gave no input: a waiting crowd's histories are most of the store.
    """
    text = message.text
    if text is not None:
        text = redact(text)
        text = redact_secret(text) if secret else text
    known = known or {}
    meta = {k: v for k, v in message.meta.items() if k not in known or known[k] != v}
    if text is None:
        meta["timeout"] = True
    return Message(direction=Direction.IN, text=text or "", at=now, meta=meta)
