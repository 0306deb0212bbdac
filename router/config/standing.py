"""The ``queue_status:`` section of config.yaml: how a waiting customer learns where they
stand on the text channels (``router.contacts.standing``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from router.config.models import Section
from router.config.types import ChannelName, LanguageRef, NonBlank

__all__ = ["QueueStatusSettings"]

_TEXT_CHANNELS = ("sms", "telegram", "email", "chat")


class QueueStatusSettings(Section):
    # A waiting customer's message of just one of these (any language; case, a leading /
    # and trailing ?!. ignored), or of just "?", is answered with their place and wait on
    # every text channel.
    keywords: dict[LanguageRef, tuple[NonBlank, ...]] = Field(default_factory=dict)
    # On these channels every message of a waiting customer gets that answer.
    answer: tuple[ChannelName, ...] = ("sms", "telegram", "email")
    # On these channels a large change of the wait is sent once, unasked.
    updates: tuple[ChannelName, ...] = _TEXT_CHANNELS
    # Large: the wait in minutes moves by at least this share of what the customer was last
    # told (0.5: halved, or half as long again) ...
    large_change_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    # ... and by at least this many minutes.
    large_change_min: Annotated[int, Field(ge=1, le=1440)] = 5

    @field_validator("answer", "updates")
    @classmethod
    def _text_only(cls, channels: tuple[str, ...]) -> tuple[str, ...]:
        for n, channel in enumerate(channels):
            if channel not in _TEXT_CHANNELS:
                raise ValueError(
                    f"{channel!r} is not a text channel; use {', '.join(_TEXT_CHANNELS)}"
                )
            if channel in channels[:n]:
                raise ValueError(f"{channel!r} is listed twice")
        return channels
