"""What an idempotency key holds in the Redis store (``keys.idempotency_key``: where).

A key names the contact and message it was first stored as: "<contact id> <message id>"
in a string key of its own, as in a group's hash an earlier version wrote. A group's hash
(a call's steps, a chat's frames: one contact, as a rule) names its contact once, in field
":c" (no key's last part holds a colon, so no key meets it), and a key of that contact
holds only the message id: short when ``new_id`` made it, "~", its 8 random hex digits and
the ms after the contact id's time it was made in (``idem_put`` in ``_common.lua``).
"""

from __future__ import annotations

import re

from queues.redis.messages import base_us

__all__ = ["short_value", "stored_as"]

_NEW_ID = re.compile(r"[0-9a-f]{20}")


def short_value(contact_id: str, message_id: str) -> str:
    """A key's value in a group's hash that names ``contact_id``."""
    base = base_us(contact_id)
    if " " in message_id or message_id.startswith("~"):
        return f"{contact_id} {message_id}"  # read as the full form
    if base is None or not _NEW_ID.fullmatch(message_id):
        return message_id
    return f"~{message_id[12:]}{int(message_id[:12], 16) - base // 1000}"


def stored_as(value: str, owner: str) -> tuple[str, str]:
    """The contact and message a key's ``value`` names, in a group whose ":c" is
    ``owner`` ('' when it has none)."""
    if " " in value:
        contact_id, _, message_id = value.partition(" ")
        return contact_id, message_id
    if not value.startswith("~"):
        return owner, value
    base = base_us(owner)
    if base is None:
        raise ValueError(f"idempotency value {value!r} needs its contact's id to be read")
    return owner, f"{base // 1000 + int(value[9:]):012x}{value[1:9]}"
