"""Erasing a customer's data from a contact (``Store.erase_contact``): what every backend
writes in its own atomic step.

Pure: a backend reads the contact and its messages, asks for their erased forms here, and
writes those. What counts (state, team, times, account, events, the minute buckets) is
never touched, so every KPI reads the same after an erase as before it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

from queues.models import Contact, Message

__all__ = ["changed", "check_erase", "erased_contact", "erased_message", "kept_meta"]


def check_erase(address: str, text: str) -> None:
    """Refuse (ValueError) an erase that would leave no address or no text."""
    if not address.strip():
        raise ValueError("the erased address is empty; give a placeholder such as 'erased:1a2b'")
    if not text:
        raise ValueError("the erased text is empty; give a placeholder such as '[erased]'")


def kept_meta(meta: Mapping[str, Any], keep: Collection[str]) -> dict[str, Any]:
    """``meta`` with only the keys in ``keep``."""
    return {key: value for key, value in meta.items() if key in keep}


def erased_contact(contact: Contact, address: str, keep: Collection[str]) -> Contact:
    """The contact with the new ``address``, no subject and only the ``keep`` meta keys."""
    return contact.replace(address=address, subject=None, meta=kept_meta(contact.meta, keep))


def erased_message(message: Message, text: str, keep: Collection[str]) -> Message:
    """The message with ``text`` and only the ``keep`` meta keys; its id, direction, time
    and author stay (an author is an agent, not the customer)."""
    return dataclasses.replace(
        message, text=text, meta=kept_meta(message.meta, keep), template=None, params={}
    )


def changed(before: Message, after: Message) -> bool:
    """Whether erasing rewrote the message (an erased one erased again does not change)."""
    return before.text != after.text or dict(before.meta) != dict(after.meta)
