"""Auth codes typed where nobody asked for them: spotted, masked, tried.

The flows ask for the login and the code and mask what is typed in answer; customers also
type them unasked: a first SMS ``jan.kowalski 482913 internet nie działa``, a mail saying
``mój kod to 482913`` below a ``Login:`` line, a code in a mail's subject. The rule:
wherever a known account's login or customer number appears in a message together with a
run of 4-8 digits (an auth code's shape), every such run is masked in what is kept (the
text, the subject, each string of the metadata), whether or not it is the code, and the
pair (the account, the run nearest after its login) is tried as a verification, once per
message, counted against the lockout like any other try.

What is masked is decided before anything is stored, so no store, event, log line or
outbox parcel ever holds the digits; the account's own customer number stays readable.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from channels import InboundMessage
from queues import Channel

__all__ = ["MASK", "Spotted", "mask_digits", "spot"]

#: Each masked digit becomes one of these (what the flows' own masking uses too).
MASK = "•"
_CODE = re.compile(r"(?<!\d)\d{4,8}(?!\d)")
_WORD = re.compile(r"[^\s,;:!?()\[\]{}<>\"'«»„”“/|=]+")
_EDGES = ".-_*#@"
#: Metadata that identifies rather than says anything: neither searched nor masked (a
#: Message-ID's or a date's digits are not a code, and threading needs them as they came).
_MACHINE_KEYS = frozenset(
    {
        "message_id", "in_reply_to", "references", "date", "from", "to", "cc", "our_address",
        "follow_up_of", "chat_id", "update_id", "user_id", "call_sid", "twilio_to",
        "status_callback", "media", "sha256", "file_id", "file_unique_id", "provider_id",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Spotted:
    """An account named in a message, with the code-shaped digit runs found near it."""

    login: str  # the account's login (also when the message named its number)
    codes: tuple[str, ...]  # every run to mask, in order of appearance
    candidate: str  # the run tried as the code

    def mask(self, text: str) -> str:
        return mask_digits(text, frozenset(self.codes))

    def masked(self, message: InboundMessage) -> InboundMessage:
        """``message`` with the runs masked in its text, subject and metadata."""
        codes = frozenset(self.codes)
        return dataclasses.replace(
            message,
            text=mask_digits(message.text, codes) if message.text is not None else None,
            subject=mask_digits(message.subject, codes) if message.subject else message.subject,
            meta=_masked(message.meta, codes),
        )


def mask_digits(text: str, codes: frozenset[str]) -> str:
    """``text`` with each digit run that is one of ``codes`` masked."""
    return _CODE.sub(lambda m: MASK * len(m[0]) if m[0] in codes else m[0], text)


def _masked(value: Any, codes: frozenset[str]) -> Any:
    if isinstance(value, str):
        return mask_digits(value, codes)
    if isinstance(value, Mapping):
        return {k: v if k in _MACHINE_KEYS else _masked(v, codes) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v, codes) for v in value]
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in _MACHINE_KEYS:
                yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


class _Account(Protocol):
    """What spotting needs of an account (``router.identity.Account`` has both)."""

    @property
    def login(self) -> str: ...
    @property
    def number(self) -> str: ...


def spot(message: InboundMessage, find: Callable[[str], _Account | None]) -> Spotted | None:
    """The account a message names with code-shaped digits, or None (most messages: no
    digit run of that shape at all, found without looking at a word)."""
    if message.channel is Channel.VOICE:
        return None  # keypresses: the voice flow asks for each and masks the code itself
    texts = [t for t in (message.subject, message.text) if t]
    texts += [t for t in _strings(message.meta) if t not in texts]
    if not any(_CODE.search(text) for text in texts):
        return None
    for text in texts:
        for word in _WORD.finditer(text):
            account = find(word[0].strip(_EDGES))
            if account is None:
                continue
            runs = [m for t in texts for m in _CODE.finditer(t) if m[0] != account.number]
            if not runs:
                return None
            after = [m[0] for m in _CODE.finditer(text) if m.start() > word.start()]
            codes = tuple(dict.fromkeys(m[0] for m in runs))
            candidate = next((c for c in after if c in codes), codes[0])
            return Spotted(account.login, codes, candidate)
    return None
