"""History entries of the Redis store: a contact's messages, kept small.

A waiting crowd's histories are most of what Redis holds, most of them flow prompts and
keypresses. Given the contact's id (``new_id``), a message whose id ``new_id`` made, whose
time reads back exactly in microseconds, with no author and no meta but the flow's, is a
line: ``<kind><id> <at> <text>``:

- kind: "i" in, "o" out, "f" an outbound flow prompt (meta ``{"flow": true}``), "t" a flow
  prompt kept as its template (``texts.py``): its text is then the template's code, or
  ``[code, params...]`` with the params in the order the template names them, or
  ``[code, {params}]`` when they are not exactly its names (JSON);
- id: its 8 random hex digits when it was made in the message's millisecond, else
  ``<8 hex>:<d>``, made ``d`` ms after it;
- at: whole microseconds after the contact id's time.

Any other message is a JSON array ``[id, kind, text, at(, author(, meta))]`` with kind
"i", "o" or "f", a template as above; the id and time as in a line (with "~" in front of
the id) when they can be, else as they are. Entries that are not messages are stream ids,
which start with a digit.

Earlier versions kept every message as an array, a prompt as ``{"T": template id, "p":
params}``, an id made in another millisecond in full, and before that objects ``{"i", "d",
"x", "t", "a", "m"}``; all of them read the same.
"""

from __future__ import annotations

import functools
import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from queues.models import Direction, Message, fill

__all__ = [
    "Prompt",
    "base_us",
    "decode_message",
    "encode_message",
    "is_message",
    "kept_refs",
    "kept_text",
    "message_probe",
    "template_fields",
    "template_refs",
]

#: A message's direction by its kind; "f" and "t" are outbound flow prompts (meta
#: {"flow": true}), "t" kept as its template.
_DIRECTIONS = {"i": Direction.IN, "o": Direction.OUT, "f": Direction.OUT, "t": Direction.OUT}
_FLOW_META = {"flow": True}
_NEW_ID = re.compile(r"[0-9a-f]{20}")


def base_us(contact_id: str | None) -> int | None:
    """The time in an id's first 12 hex digits (``new_id``), in microseconds."""
    if contact_id is None or not _NEW_ID.fullmatch(contact_id):
        return None
    return int(contact_id[:12], 16) * 1000


@functools.lru_cache(maxsize=1024)
def template_fields(template: str) -> tuple[str, ...]:
    """The names a template's {placeholders} use, in the order they first appear (none
    when it cannot be parsed)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return ()
    names = (re.split(r"[.\[]", name, maxsplit=1)[0] for _, name, _, _ in parsed if name)
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt's text as kept: its template's code and the params it uses."""

    code: int
    template: str
    params: Mapping[str, str]

    def encoded(self) -> Any:
        if not self.params:
            return self.code
        names = template_fields(self.template)
        values = [self.params.get(name) for name in names]
        if len(self.params) == len(names) and all(isinstance(v, str) for v in values):
            return [self.code, *values]
        return [self.code, dict(self.params)]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _compact_id_and_time(message: Message, contact_id: str | None) -> tuple[str, Any]:
    """The message's id and time as kept (see the module's docstring)."""
    at = round(message.at, 6)
    base = base_us(contact_id)
    if base is not None and _NEW_ID.fullmatch(message.id):
        at_us = round(at * 1_000_000)
        if at_us / 1_000_000 == at:
            made = int(message.id[:12], 16) - at_us // 1000
            kept = "~" + message.id[12:] + (f":{made}" if made else "")
            return kept, at_us - base
    return message.id, at


def is_message(raw: str) -> bool:
    """Whether a history entry is a message (else it is a stream id: it starts with a digit)."""
    return not raw[:1].isdigit()


def encode_message(
    message: Message, prompt: Prompt | None = None, contact_id: str | None = None
) -> str:
    """A message as its history entry; with a ``prompt`` (``Texts.keep``) its text is the
    template's code and params, with its ``contact_id`` its id and time are short."""
    meta = dict(message.meta)
    if message.direction is Direction.IN:
        kind = "i"
    elif meta == _FLOW_META and message.author is None:
        kind, meta = "f", {}
    else:
        kind = "o"
    kept_id, at = _compact_id_and_time(message, contact_id)
    if kept_id.startswith("~") and not meta and message.author is None:
        if prompt is None:
            return f"{kind}{kept_id[1:]} {at} {message.text}"
        if kind == "f":
            return f"t{kept_id[1:]} {at} {_dumps(prompt.encoded())}"
    text: Any = message.text if prompt is None else prompt.encoded()
    data: list[Any] = [kept_id, kind, text, at]
    if meta:
        data += [message.author, meta]
    elif message.author is not None:
        data.append(message.author)
    return _dumps(data)


def template_refs(raw: str) -> list[str]:
    """The templates (codes or ids, as ``sb:texts`` fields) an entry's text refers to."""
    if raw.startswith("t"):
        return kept_refs(json.loads(raw.split(" ", 2)[2]))
    if raw.startswith("["):
        return kept_refs(json.loads(raw)[2])
    return []


def kept_refs(text: Any) -> list[str]:
    """The template a kept text refers to (none when it is the text itself)."""
    if isinstance(text, dict):
        return [str(text["T"])]
    if isinstance(text, int):
        return [str(text)]
    if isinstance(text, list):
        return [str(text[0])]
    return []


def kept_text(text: Any, templates: Mapping[str, str]) -> str:
    """The text of a kept text (a template's code and params, or the text itself)."""
    return _filled(text, templates)[0]


def _filled(text: Any, templates: Mapping[str, str]) -> tuple[str, str | None, dict[str, str]]:
    """A kept text as the text, its template and params; a template missing from the store
    says so in the text rather than failing."""
    if isinstance(text, str):
        return text, None, {}
    if isinstance(text, dict):  # earlier versions: {"T": template id, "p": params}
        ref, params = str(text["T"]), dict(text.get("p") or {})
    elif isinstance(text, int):
        ref, params = str(text), {}
    else:
        ref, rest = str(text[0]), text[1:]
        template = templates.get(ref)
        if len(rest) == 1 and isinstance(rest[0], dict):
            params = dict(rest[0])
        elif template is not None:
            params = dict(zip(template_fields(template), rest, strict=True))
        else:
            params = {}
    template = templates.get(ref)
    if template is None:
        return f"(prompt {ref} is missing from the store)", None, params
    return fill(template, params), template, params


def _message_id(kept: str, at_us: int) -> str:
    """A short id ("<8 hex>" or "<8 hex>:<d>") in full, given its message's time."""
    random, _, made = kept.partition(":")
    return f"{at_us // 1000 + int(made or 0):012x}{random}"


def _base(contact_id: str | None, kept: str) -> int:
    base = base_us(contact_id)
    if base is None:
        raise ValueError(f"message {kept!r} needs its contact's id to be read")
    return base


def decode_message(
    raw: str, templates: Mapping[str, str] | None = None, contact_id: str | None = None
) -> Message:
    """The message from its entry; ``templates`` (``sb:texts`` field -> template) fill a
    prompt kept as a template, and ``contact_id`` gives a short id and time theirs."""
    if raw[:1] in _DIRECTIONS:  # a line
        kind, (kept, offset, kept_text) = raw[0], raw[1:].split(" ", 2)
        at_us = _base(contact_id, kept) + int(offset)
        text: Any = json.loads(kept_text) if kind == "t" else kept_text
        filled, template, params = _filled(text, templates or {})
        return Message(
            id=_message_id(kept, at_us),
            direction=_DIRECTIONS[kind],
            text=filled,
            at=at_us / 1_000_000,
            meta=dict(_FLOW_META) if kind in "ft" else {},
            template=template,
            params=params,
        )
    if raw.startswith("["):
        data = json.loads(raw)
        kind = data[1]
        message_id, at = data[0], float(data[3])
        if message_id.startswith("~"):
            at_us = _base(contact_id, message_id) + int(data[3])
            message_id, at = _message_id(message_id[1:], at_us), at_us / 1_000_000
        filled, template, params = _filled(data[2], templates or {})
        return Message(
            id=message_id,
            direction=_DIRECTIONS[kind],
            text=filled,
            at=at,
            author=data[4] if len(data) > 4 else None,
            meta=dict(_FLOW_META) if kind == "f" else (data[5] if len(data) > 5 else {}),
            template=template,
            params=params,
        )
    data = json.loads(raw)  # the object form of earlier versions
    return Message(
        id=data["i"],
        direction=Direction(data["d"]),
        text=data["x"],
        at=float(data["t"]),
        author=data.get("a"),
        meta=data.get("m") or {},
    )


def message_probe(message_id: str, contact_id: str) -> list[str]:
    """What the scripts look for, besides its id, to find a message in a history
    (``find_message`` in ``_common.lua``): its short id ("~" and its 8 random hex digits,
    '' when it has none) and the ms after the contact id's time the id was made in."""
    base = base_us(contact_id)
    if base is None or not _NEW_ID.fullmatch(message_id):
        return ["", ""]
    return ["~" + message_id[12:], str(int(message_id[:12], 16) - base // 1000)]
