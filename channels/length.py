"""A provider's limit on one message's length: prompts packed into as few messages as fit,
and an agent's reply too long for one message refused."""

from __future__ import annotations

from channels.errors import SendFailed

__all__ = ["check_length", "pack"]


def pack(texts: list[str], *, limit: int, separator: str) -> list[str]:
    """``texts`` joined by ``separator`` into as few messages of at most ``limit`` characters
    as they fit in; a text longer than ``limit`` is cut (prompts are short)."""
    chunks: list[str] = []
    for text in texts:
        while len(text) > limit:
            chunks.append(text[:limit])
            text = text[limit:]
        if chunks and len(chunks[-1]) + len(separator) + len(text) <= limit:
            chunks[-1] = f"{chunks[-1]}{separator}{text}"
        elif text:
            chunks.append(text)
    return chunks


def check_length(channel: str, text: str, *, limit: int, one_message: str) -> None:
    """Raise a final ``SendFailed`` when ``text`` is over ``limit`` characters; an agent's
    reply is never cut. ``one_message`` names the unit: "an SMS", "a Telegram message"."""
    if len(text) > limit:
        raise SendFailed(
            channel,
            f"the reply is {len(text)} characters; {one_message} takes at most {limit}, "
            "so shorten it or send it in parts",
            retryable=False,
        )
