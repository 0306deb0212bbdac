"""A session's value in the Redis store: ``<expires at> <tag> <data>``.

Every caller on hold keeps a session, so its value is kept short: the expiry (POSIX
seconds, on the store's clock; the key's PX ttl only reclaims memory) and the tag in
front, where the scripts read them (``session_tag`` in ``_common.lua``), then the data as
compact JSON in which the session's own key, where the data repeats it (a call's keys
answered share it), is the character U+0001 (JSON text never holds it unescaped). Earlier
versions kept ``{"x": expires at, "t": tag, "d": data}``, which still reads.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["decode_session", "encode_session"]

_SELF = "\x01"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _replaceable(key: str) -> bool:
    # Only a key JSON keeps as it is can stand for itself in the JSON text.
    return bool(key) and _dumps(key) == f'"{key}"'


def encode_session(key: str, data: dict[str, Any], expires_at: float, tag: str) -> str:
    body = _dumps(data)
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
