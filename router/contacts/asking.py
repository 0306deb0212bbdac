"""What a waiting customer's message asks, and what change of the wait is worth telling
unasked: the pure rules of ``router.contacts.standing``."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["ChangeRule", "StatusWords"]

#: Longer messages are never a status question.
_MAX_QUESTION_CHARS = 64
_EDGES = " \t\r\n?!.,;:¿¡？！…"
_SPACES = re.compile(r"\s+")


def _normal(text: str) -> str:
    """Lower case, one space between words, no edge punctuation, a Telegram command's
    slash and bot name dropped: ``/Status@SupportBot`` and ``status?`` are ``status``."""
    text = text.strip()
    if text.startswith("/"):
        text = text[1:].partition("@")[0]
    text = _SPACES.sub(" ", text.casefold().replace("ё", "е"))
    return text.strip(_EDGES)


class StatusWords:
    """The messages that only ask where the customer stands."""

    def __init__(self, keywords: Mapping[str, Iterable[str]]) -> None:
        self._words = frozenset(_normal(w) for words in keywords.values() for w in words) - {""}

    def asks(self, text: str | None) -> bool:
        if not text or len(text) > _MAX_QUESTION_CHARS or not text.strip():
            return False
        stripped = text.strip()
        if not stripped.strip("?？ "):  # just question marks
            return True
        return _normal(stripped) in self._words


@dataclass(frozen=True, slots=True)
class ChangeRule:
    """When a change of the wait is worth telling unasked."""

    share: float = 0.5
    min_minutes: int = 5

    def large(self, told_min: int, now_min: int) -> bool:
        moved = abs(now_min - told_min)
        return moved >= self.min_minutes and moved >= self.share * told_min

    def departures_until(self, position: int, told_min: int, first_s: float) -> int | None:
        """How many contacts must leave ahead of one at ``position`` (1 = next) before its
        wait, ``position * first_s`` in minutes rounded up, can have fallen a large step
        below ``told_min``; None when it cannot fall that far."""
        target = math.floor(min(told_min * (1 - self.share), told_min - self.min_minutes))
        if target < 1 or first_s <= 0:
            return None
        # round_wait_min(place * first_s) <= target  <=>  place * first_s <= target * 60
        place = math.floor(target * 60 / first_s + 1e-9)
        return max(1, position - place)
