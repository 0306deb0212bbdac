"""What a process remembers of the conversations its quick turns took (``quick.py``): hints
the store confirms, never state another process relies on.

A conversation this process's last quick turn left is remembered with its session, the
session's tag and the contact, so its next message is turned with no read. One the locked
path took, or whose contact a turn queued, is remembered as going on: its next message is
read first, since a guess that it is new would only be refused. A conversation remembered
in neither way is guessed new (a first message needs no read). Both are bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from queues import Contact

__all__ = ["KNOWN_CONVERSATIONS", "Known", "Recall"]

#: Conversations a process remembers as its quick turns left them (their next message needs
#: no read when it comes back here): a few MB at most; as many again as going on.
KNOWN_CONVERSATIONS = 10_000

#: A conversation as a quick turn left it: the session, its tag, the contact.
Known = tuple[dict[str, Any], str, Contact]


class Recall:
    """The conversations a process knows, most recent last."""

    def __init__(self, size: int = KNOWN_CONVERSATIONS) -> None:
        self._size = size
        self._left: OrderedDict[str, Known] = OrderedDict()
        self._going_on: OrderedDict[str, None] = OrderedDict()

    def left(self, conversation: str) -> Known | None:
        """The conversation as this process's last quick turn left it, when it did."""
        return self._left.get(conversation)

    def going_on(self, conversation: str) -> bool:
        """The conversation is not new (its next message is read first)."""
        return conversation in self._going_on

    def remember(self, conversation: str, known: Known) -> None:
        _push(self._left, conversation, known, self._size)

    def goes_on(self, conversation: str) -> None:
        """The conversation goes on past what this process knows of it."""
        _push(self._going_on, conversation, None, self._size)

    def forget(self, conversation: str) -> None:
        """What this process knew of the conversation's state is old (that it goes on, if
        it was known, stays)."""
        self._left.pop(conversation, None)


def _push(entries: OrderedDict[str, Any], key: str, value: Any, size: int) -> None:
    entries[key] = value
    entries.move_to_end(key)
    while len(entries) > size:
        entries.popitem(last=False)
