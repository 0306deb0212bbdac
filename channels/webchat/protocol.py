"""The web chat's wire format: session tokens, client frames, server frames.

See ``channels.webchat.adapter`` for the protocol as a whole. Session tokens are
``<session id>.<signature>``: the id is random and public (it is the contact's address,
which agents see); the signature is an HMAC of the id under the server key, so only the
customer's browser can present the token, and a guessed or edited one is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

from channels.errors import FrameError
from channels.inputs import BadInput, load_json
from queues import Direction, Message, to_iso

__all__ = [
    "Hello",
    "SessionTokens",
    "Typing",
    "UserText",
    "chat_channel",
    "dump",
    "error_frame",
    "history_item",
    "parse_frame",
    "typing_channel",
    "wait_min",
]

_SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_TOKEN_RE = re.compile(r"^([A-Za-z0-9_-]{20,64})\.([A-Za-z0-9_-]{22})$")
_FRAME_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}$")
_MAX_FRAME_DEPTH = 4  # a frame is one flat object; a little room for what clients add


def chat_channel(session: str) -> str:
    """The pub/sub channel of one chat session: agent replies and agent typing."""
    return f"chat:{session}"


def typing_channel(contact_id: str) -> str:
    """The pub/sub channel where a contact's customer typing is announced to agents."""
    return f"typing:{contact_id}"


def dump(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def wait_min(wait_s: float | None) -> int:
    """Minutes to tell the customer: rounded up, at least 1 (as the flow prompts do)."""
    if wait_s is None or not math.isfinite(wait_s) or wait_s <= 60:
        return 1
    return math.ceil(round(wait_s, 6) / 60)


class SessionTokens:
    """Issues and checks signed session tokens; the key never leaves this object."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the web chat session key must be at least 16 bytes long")
        self._key = key

    def _sign(self, session: str) -> str:
        digest = hmac.new(self._key, b"webchat-session:" + session.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()[:16]).decode().rstrip("=")

    def issue(self) -> tuple[str, str]:
        """A new ``(session id, token)``."""
        session = secrets.token_urlsafe(18)
        return session, f"{session}.{self._sign(session)}"

    def token(self, session: str) -> str:
        return f"{session}.{self._sign(session)}"

    def verify(self, token: object) -> str | None:
        """The session id of a genuine token; None for anything else."""
        if not isinstance(token, str):
            return None
        match = _TOKEN_RE.match(token)
        if match is None:
            return None
        session, signature = match.groups()
        return session if hmac.compare_digest(signature, self._sign(session)) else None

    @staticmethod
    def is_session(value: str) -> bool:
        return _SESSION_RE.match(value) is not None


@dataclass(frozen=True, slots=True)
class Hello:
    token: str | None
    language: str | None


@dataclass(frozen=True, slots=True)
class UserText:
    id: str
    text: str
    language: str | None


@dataclass(frozen=True, slots=True)
class Typing:
    pass


def _language(value: object) -> str | None:
    return value if isinstance(value, str) and _LANGUAGE_RE.match(value) else None


def parse_frame(raw: str, *, max_chars: int) -> Hello | UserText | Typing:
    """One client frame, checked; raises ``FrameError`` naming what is wrong."""
    try:
        data = load_json(raw, max_depth=_MAX_FRAME_DEPTH)
    except BadInput as exc:
        raise FrameError("bad_frame", str(exc).replace("the body", "the frame", 1)) from None
    if not isinstance(data, dict):
        raise FrameError("bad_frame", "the frame is not a JSON object")
    kind = data.get("type")
    if kind == "hello":
        token = data.get("session")
        return Hello(token if isinstance(token, str) else None, _language(data.get("language")))
    if kind == "typing":
        return Typing()
    if kind != "message":
        raise FrameError("bad_frame", f"unknown frame type {str(kind)[:32]!r}")
    frame_id = data.get("id")
    if not isinstance(frame_id, str) or not _FRAME_ID_RE.match(frame_id):
        raise FrameError("bad_frame", "a message needs an id of 1-64 letters, digits, - or _")
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise FrameError("empty", "the message is empty", frame_id=frame_id)
    if len(text) > max_chars:
        raise FrameError(
            "too_long",
            f"the message has {len(text)} characters; the limit is {max_chars}",
            frame_id=frame_id,
        )
    return UserText(frame_id, text, _language(data.get("language")))


def error_frame(
    reason: str,
    message: str,
    *,
    frame_id: str | None = None,
    retry: bool = False,
    retry_after_s: float | None = None,
) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "reason": reason, "message": message, "retry": retry}
    if frame_id is not None:
        frame["id"] = frame_id
    if retry_after_s is not None:
        frame["retry_after_s"] = round(retry_after_s, 1)
    return frame


def history_item(message: Message) -> dict[str, Any] | None:
    """One stored message as the page shows it; None for what the customer never saw."""
    if not message.text:
        return None
    if message.direction is Direction.IN:
        sender = "customer"
    else:
        sender = "agent" if message.author else "system"
    provider_id = message.meta.get("provider_id")
    return {
        # An agent reply carries the id its live frame had, so the page shows it once.
        "id": provider_id if isinstance(provider_id, str) else message.id,
        "from": sender,
        "text": message.text,
        "author": message.author,
        "at": to_iso(message.at),
    }
