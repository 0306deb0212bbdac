"""A Telegram message as an ``InboundMessage``: text or a placeholder, language, meta."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from telegram import Message, MessageEntity

from channels.base import InboundMessage
from queues import Channel

__all__ = ["check_message", "inbound_message", "is_start", "language_hint"]

#: Telegram's codes that differ from ours (the old ISO code for Hebrew).
_ALIASES = {"iw": "he"}
#: What is taken from a message without text, in this order; the text says what came.
_ATTACHMENTS = (
    "photo",
    "sticker",
    "document",
    "video",
    "animation",
    "voice",
    "video_note",
    "audio",
    "contact",
    "location",
    "venue",
    "poll",
    "dice",
)


#: Dates Telegram can send (seconds since 1970, before 2100): later ones overflow datetime.
_LAST_DATE = 4_102_444_800
_TYPES: dict[str, tuple[type, ...]] = {
    "message_id": (int,),
    "date": (int,),
    "chat": (dict,),
}
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "caption": (str,),
    "from": (dict,),
    "entities": (list,),
    "caption_entities": (list,),
}


def _kind(value: object, types: tuple[type, ...]) -> bool:
    return isinstance(value, types) and not isinstance(value, bool)


def check_message(message: object) -> str | None:
    """Why an update's ``message`` cannot be a Telegram message, or None when it can: the
    fields this channel reads, with the types the Bot API gives them."""
    if not isinstance(message, dict):
        return "the update is malformed: its message is not an object"
    for name, types in _TYPES.items():
        if name not in message:
            return f"the update is malformed: the field {name!r} is missing"
        if not _kind(message[name], types):
            return f"the update is malformed: the field {name!r} is not {types[0].__name__}"
    for name, types in _OPTIONAL.items():
        if message.get(name) is not None and not _kind(message[name], types):
            return f"the update is malformed: the field {name!r} is not {types[0].__name__}"
    if not 0 <= message["date"] < _LAST_DATE:
        return f"the update is malformed: the date {message['date']} is out of range"
    chat = message["chat"]
    if not _kind(chat.get("id"), (int,)) or not isinstance(chat.get("type"), str):
        return "the update is malformed: its chat needs an integer id and a type"
    sender = message.get("from")
    if sender is not None and not _kind(sender.get("id"), (int,)):
        return "the update is malformed: its sender needs an integer id"
    for name in ("entities", "caption_entities"):
        for entity in message.get(name) or ():
            if not isinstance(entity, dict) or not all(
                _kind(entity.get(k), (int,)) for k in ("offset", "length")
            ):
                return f"the update is malformed: an entry of {name!r} is not an entity"
    return None


def language_hint(code: str | None, supported: Collection[str]) -> str | None:
    """The user's app language (``pl``, ``en-US``, ``iw``) when we speak it, else None."""
    if not code:
        return None
    primary = code.replace("_", "-").split("-")[0].lower()
    primary = _ALIASES.get(primary, primary)
    return primary if primary in supported else None


def is_start(message: Message) -> bool:
    """``/start`` or ``/help`` (also ``/start@OurBot`` and ``/start payload``): the
    commands Telegram users send first, whatever their language. Both (re)start the flow,
    whose welcome says what to send."""
    text = message.text or ""
    command = next(
        (e for e in message.entities if e.type == MessageEntity.BOT_COMMAND and e.offset == 0),
        None,
    )
    if command is None:
        return False
    name = text[: command.length].split("@")[0]
    return name.lower() in ("/start", "/help")


def _attachment(message: Message) -> tuple[str, dict[str, Any]] | None:
    for kind in _ATTACHMENTS:
        value = getattr(message, kind, None)
        if not value:
            continue
        info: dict[str, Any] = {"kind": kind}
        if kind == "photo":
            value = max(value, key=lambda size: size.width * size.height)
        file_id = getattr(value, "file_id", None)
        if file_id:
            info["file_id"] = file_id
            info["file_unique_id"] = value.file_unique_id
        for extra in ("file_name", "mime_type", "file_size", "emoji", "phone_number"):
            found = getattr(value, extra, None)
            if found is not None:
                info[extra] = found
        if kind == "location":
            info["latitude"], info["longitude"] = value.latitude, value.longitude
        return kind, info
    return None


def _placeholder(kind: str, info: dict[str, Any]) -> str:
    if kind == "sticker" and info.get("emoji"):
        return f"[sticker {info['emoji']}]"
    if kind == "document" and info.get("file_name"):
        return f"[document {info['file_name']}]"
    if kind == "location":
        return f"[location {info['latitude']:.5f},{info['longitude']:.5f}]"
    return f"[{kind.replace('_', ' ')}]"


def inbound_message(
    update_id: int, message: Message, *, languages: Collection[str]
) -> InboundMessage:
    """The message normalised: keyed on the update, grouped by chat, never without text."""
    chat_id = message.chat.id
    user = message.from_user
    meta: dict[str, Any] = {
        "chat_id": chat_id,
        "update_id": update_id,
        "message_id": message.message_id,
    }
    if user is not None:
        meta["user_id"] = user.id
        if user.username:
            meta["username"] = user.username
        if user.first_name:
            meta["name"] = user.full_name
    text = message.text or message.caption
    found = _attachment(message)
    if found is not None:
        kind, info = found
        meta["attachment"] = info
        text = text or _placeholder(kind, info)
    if is_start(message):
        payload = (message.text or "").partition(" ")[2].strip()
        if payload:
            meta["start_param"] = payload
    return InboundMessage(
        channel=Channel.TELEGRAM,
        address=str(chat_id),
        text=text if text is not None else "[message]",
        key=f"telegram:{update_id}",
        conversation=str(chat_id),
        language=language_hint(user.language_code if user else None, languages),
        meta=meta,
    )
