"""A session's value in the Redis store: ``<expires at> <tag> <data>``.

Every caller on hold keeps a session, so its value is kept short: the expiry (POSIX
seconds, on the store's clock; the key's PX ttl only reclaims memory) and the tag in
front, where the scripts read them (``session_tag`` in ``_common.lua``), then the data as
compact JSON in which the session's own key, where the data repeats it (a call's keys
answered share it), is the character U+0001 (JSON text never holds it unescaped). Earlier
versions kept ``{"x": expires at, "t": tag, "d": data}``, which still reads.

Most of a caller's session is its last answer's prompts, kept so that a provider's retry is
answered with the same words: ``"answer": {"prompts": [[text, language], ...]}`` (the
router's session record, ``router/contacts/replay.py``). Those sentences are in the
contact's history too, kept as a template's code and params (``texts.py``), and a prompt
this process has just kept so is kept the same way here, ``[<code or [code, params...]>,
language]``; it reads back as its text. Earlier versions kept every text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from queues.redis.messages import kept_refs, kept_text

__all__ = ["KeptAs", "decode_session", "encode_session", "expand_prompts", "prompt_refs"]

#: How a prompt text was kept lately (``Texts.kept_as``), or None.
KeptAs = Callable[[str], Any]

_SELF = "\x01"


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


def prompt_refs(data: dict[str, Any]) -> list[str]:
    """The templates (``sb:texts`` fields) the answer's kept prompts refer to."""
    return [ref for text, _ in _prompts(data) for ref in kept_refs(text)]


def expand_prompts(data: dict[str, Any], templates: Mapping[str, str]) -> dict[str, Any]:
    """The data with the answer's prompts as their texts again."""
    said = [
        [text if isinstance(text, str) else kept_text(text, templates), language]
        for text, language in _prompts(data)
    ]
    return _with_prompts(data, said)


def _compacted(data: dict[str, Any], kept_as: KeptAs) -> dict[str, Any]:
    said = [
        [(isinstance(text, str) and kept_as(text)) or text, language]
        for text, language in _prompts(data)
    ]
    return _with_prompts(data, said)


def _with_prompts(data: dict[str, Any], said: list[list[Any]]) -> dict[str, Any]:
    """The data with ``said`` as the answer's prompts (the data itself when they are the
    same)."""
    if said == _prompts(data):
        return data
    return {**data, "answer": {**data["answer"], "prompts": said}}


def _prompts(data: dict[str, Any]) -> list[list[Any]]:
    answer = data.get("answer")
    prompts = answer.get("prompts") if isinstance(answer, dict) else None
    return prompts if isinstance(prompts, list) else []
