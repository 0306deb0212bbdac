"""The ``canned:`` section: canned replies shipped with the config, per team and language
(``router.desk.canned`` keeps them in the store, where the API manages them).

Each entry is an id, a title, the team it is for (none: every team) and its text in one or
more languages; each language becomes one reply in the store (``<id>.<language>``). A text
may use the placeholders in ``PLACEHOLDERS``, filled for the contact an agent answers.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from router.config.models import Section
from router.config.types import Filled, LanguageRef, Name, NonBlank, TeamRef

__all__ = [
    "MAX_CANNED_CHARS",
    "PLACEHOLDERS",
    "Canned",
    "CannedEntry",
    "CannedText",
    "unknown_placeholders",
]

#: What a canned reply's text may say in braces, filled for the contact being answered.
PLACEHOLDERS = ("name", "position", "contact_id", "sla_due")
MAX_CANNED_CHARS = 4000  # an agent's reply is at most this long
_BRACED = re.compile(r"\{([^{}]*)\}")


def unknown_placeholders(text: str) -> list[str]:
    """The ``{...}`` in ``text`` that are not ``PLACEHOLDERS``, in order, once each."""
    found = [name for name in _BRACED.findall(text) if name not in PLACEHOLDERS]
    return list(dict.fromkeys(found))


def _placeholders_known(text: str) -> str:
    unknown = unknown_placeholders(text)
    if unknown:
        raise ValueError(
            f"{', '.join('{' + n + '}' for n in unknown)} is not a placeholder; use "
            f"{', '.join('{' + n + '}' for n in PLACEHOLDERS)}"
        )
    return text


CannedText = Annotated[
    NonBlank, Field(max_length=MAX_CANNED_CHARS), AfterValidator(_placeholders_known)
]


class CannedEntry(Section):
    title: Annotated[NonBlank, Field(max_length=80)]
    team: TeamRef | None = None  # None: every team's agents see it
    text: Annotated[dict[LanguageRef, CannedText], Filled]


#: The section: reply id -> entry.
Canned = dict[Name, CannedEntry]
