"""A session's value in the Redis store: ``<expires at> <tag> <data>``.

Every caller on hold keeps a session, so its value is kept short: the expiry (POSIX
seconds, on the store's clock; the key's PX ttl only reclaims memory) and the tag in
front, where the scripts read them (``session_tag`` in ``_common.lua``), then the data as
compact JSON in which the session's own key, where the data repeats it (a call's keys
answered share it), is the character U+0001 (JSON text never holds it unescaped). Earlier
versions kept ``{"x": expires at, "t": tag, "d": data}``, which still reads.

Most of a caller's session is the last answer's prompts (kept so a retry is answered with
the same words), and those sentences are in the contact's history too, kept as a
template's code and params (``texts.py``). A string in the data that this process has
just kept as a prompt is kept the same way here: ``{"\u0002": <code or [code, params...]>}``
(a key no data uses), and reads back as the text. Earlier versions kept every text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from queues.redis.messages import kept_refs, kept_text

__all__ = [
    "KeptAs",
    "decode_session",
    "encode_session",
    "expand_prompts",
    "has_kept",
    "prompt_refs",
]

#: How a prompt text was kept lately (``Texts.kept_as``), or None.
KeptAs = Callable[[str], Any]

_SELF = "\x01"
_KEPT = "\x02"
_KEPT_JSON = '{"\\u0002":'  # how a kept text starts in the JSON text


def _never(_text: str) -> None:
    return None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _replaceable(key: str) -> bool:
    # Only a key JSON keeps as it is can stand for itself in the JSON text.
    return bool(key) and _dumps(key) == f'"{key}"'


def encode_session(
    key: str, data: dict[str, Any], expires_at: float, tag: str, kept_as: KeptAs = _never
) -> str:
    body = _dumps(_compacted(data, kept_as))
    if _replaceable(key):
        body = body.replace(key, _SELF)
    return f"{round(expires_at, 6)!r} {tag} {body}"


def decode_session(key: str, raw: str) -> tuple[float, str, dict[str, Any]]:
    """The expiry, tag and data of a session's value."""
    if raw.startswith("{"):  # an earlier version's
        stored = json.loads(raw)
        return float(stored["x"]), str(stored.get("t", "")), stored["d"]
    expires_at, tag, body = raw.split(" ", 2)
    data: dict[str, Any] = json.loads(body.replace(_SELF, key) if _SELF in body else body)
    return float(expires_at), tag, data


def prompt_refs(data: Any) -> list[str]:
    """The templates (``sb:texts`` fields) the kept texts in a decoded session refer to."""
    return [ref for kept in _kept_texts(data) for ref in kept_refs(kept)]


def expand_prompts(data: Any, templates: Mapping[str, str]) -> Any:
    """The data with each kept text as its text again."""
    if isinstance(data, dict):
        if len(data) == 1 and _KEPT in data:
            return kept_text(data[_KEPT], templates)
        return {k: expand_prompts(v, templates) for k, v in data.items()}
    if isinstance(data, list):
        return [expand_prompts(v, templates) for v in data]
    return data


def has_kept(raw: str) -> bool:
    """Whether a session's value keeps any text as a prompt (cheap: on the JSON text)."""
    return _KEPT_JSON in raw


def _compacted(data: Any, kept_as: KeptAs) -> Any:
    if isinstance(data, str):
        kept = kept_as(data)
        return data if kept is None else {_KEPT: kept}
    if isinstance(data, dict):
        return {k: _compacted(v, kept_as) for k, v in data.items()}
    if isinstance(data, list):
        return [_compacted(v, kept_as) for v in data]
    return data


def _kept_texts(data: Any) -> Iterator[Any]:
    if isinstance(data, dict):
        if len(data) == 1 and _KEPT in data:
            yield data[_KEPT]
            return
        for value in data.values():
            yield from _kept_texts(value)
    elif isinstance(data, list):
        for value in data:
            yield from _kept_texts(value)
