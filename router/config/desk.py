"""The ``desk:`` and ``survey:`` sections of config.yaml: how many contacts an agent holds
at once and the after-contact work (``queues.Capacity``), and the CSAT survey after a
resolve with first-contact resolution (``router.contacts.survey``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, NonNegativeInt, field_validator

from queues import MAX_WRAP_UP_S, Capacity, Channel
from router.config.models import Section
from router.config.types import ChannelName

__all__ = ["Desk", "Survey"]


class Desk(Section):
    # Per channel, the contacts an agent holds at once; a channel not named has no limit.
    capacity: dict[ChannelName, NonNegativeInt] = Field(
        default_factory=lambda: {"voice": 1, "chat": 3, "email": 5, "sms": 5, "telegram": 5}
    )
    # A contact of these channels is held alone: offered only to an agent holding nothing,
    # and while it is held (or wrapped up) nothing else is.
    exclusive: tuple[ChannelName, ...] = ("voice",)
    # After a resolve, the contact's slot stays taken this long (after-contact work); it
    # counts in AHT and in the agent's busy time.
    wrap_up_s: Annotated[float, Field(ge=0, le=MAX_WRAP_UP_S)] = 30.0

    @property
    def capacity_rules(self) -> Capacity:
        return Capacity(
            limits=dict(self.capacity),
            exclusive=frozenset(self.exclusive),
            wrap_up_s=float(self.wrap_up_s),
        )


class Survey(Section):
    # After a resolve, one question (1-5) on the contact's own channel; voice: a keypad
    # question after the agent hangs up, when the caller stays on the line.
    channels: tuple[ChannelName, ...] = tuple(str(ch) for ch in Channel)
    # How long after asking a text answer (a message that is just 1-5) is taken as the
    # answer; a message that is not one starts a new contact as usual.
    answer_window_s: Annotated[int, Field(ge=60, le=7 * 86400)] = 86400
    # First-contact resolution: a resolve is not one when the same account comes back on
    # the same team within this many days.
    fcr_days: Annotated[int, Field(ge=1, le=90)] = 7

    @field_validator("channels")
    @classmethod
    def _once(cls, channels: tuple[str, ...]) -> tuple[str, ...]:
        for n, channel in enumerate(channels):
            if channel in channels[:n]:
                raise ValueError(f"{channel!r} is listed twice")
        return channels

    @property
    def fcr_window_s(self) -> float:
        return self.fcr_days * 86400.0
