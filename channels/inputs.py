"""Reading what a client sends, refusing what could never be stored.

JSON bodies and frames (Telegram updates, chat frames, the agent API) are parsed with a cap
on nesting, and a string holding a lone surrogate (``"\\ud800"``: valid JSON, not valid
Unicode, so no store can encode it) is refused with a reason instead of failing later.
Form bodies (Twilio) must be UTF-8. Text that must be taken whatever it holds (mail) has its
lone surrogates replaced instead (``scrub``).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["MAX_JSON_DEPTH", "BadInput", "load_json", "parse_form", "scrub", "scrubbed"]

#: Deeper than any update, frame or body we take; deeper is refused, not parsed.
MAX_JSON_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadInput(ValueError):
    """Input that can never be taken; the message says why (it is sent back as the reason)."""


def load_json(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value of ``raw``: raises BadInput when it is not UTF-8, not JSON, nested
    deeper than ``max_depth`` or holds a string that is not valid Unicode."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"the body is not JSON: not UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(raw)
    except RecursionError:
        raise BadInput(f"the JSON is nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise BadInput(f"the body is not JSON: {exc}") from None
    _check(data, max_depth)
    return data


def _check(data: Any, max_depth: int) -> None:
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise BadInput("a string holds a lone surrogate (\\ud800-\\udfff): not Unicode")
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise BadInput(f"the JSON is nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((value, depth + 1) for value in item.values())
            else:
                stack.extend((value, depth + 1) for value in item)


def parse_form(raw: bytes) -> list[tuple[str, str]]:
    """An ``application/x-www-form-urlencoded`` body's fields: raises BadInput when a name
    or value is not UTF-8."""
    try:
        text = raw.decode("ascii")
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadInput("the form is not URL-encoded UTF-8") from None


def scrub(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def scrubbed(value: Any) -> Any:
    """``value`` (strings in dicts and lists) with lone surrogates replaced."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrubbed(k): scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrubbed(v) for v in value]
    return value
