"""Agent capacity: how many contacts of each channel an agent may hold at once.

The store's ``claim`` enforces it (``Store.claim(..., capacity=...)``): it never leases a
contact to an agent whose load on the contact's channel is at its limit. An agent's *load*
on a channel is the contacts of that channel they hold (assigned to them) plus those they
resolved less than ``wrap_up_s`` ago: after-contact work keeps the slot of the contact it
follows. A contact of an *exclusive* channel (shipped: voice) is held alone: it is offered
only to an agent with no load at all, and while one is held or wrapped up nothing else is.

Pure: the backends count the load in their own step (``Store.agent_load``) and ask
``Capacity.closed`` which channels it shuts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from queues.models import Channel

__all__ = ["ALL_CHANNELS", "MAX_WRAP_UP_S", "Capacity"]

#: Every channel a contact can have (the claim's "nothing is closed" case is the empty set).
ALL_CHANNELS: frozenset[str] = frozenset(str(channel) for channel in Channel)


#: The longest wrap-up a store counts: it forgets an agent's resolved contacts after this.
MAX_WRAP_UP_S = 3600.0


@dataclass(frozen=True, slots=True)
class Capacity:
    """Per channel, the most contacts an agent holds at once (a channel not named has no
    limit); ``exclusive`` channels' contacts are held alone; ``wrap_up_s``: how long a
    resolved contact still takes its slot (after-contact work)."""

    limits: Mapping[str, int] = field(default_factory=dict)
    exclusive: frozenset[str] = frozenset()
    wrap_up_s: float = 0.0

    def __post_init__(self) -> None:
        for channel, limit in self.limits.items():
            if not isinstance(limit, int) or limit < 0:
                raise ValueError(
                    f"capacity of {channel!r} is {limit!r}; give a whole number of contacts "
                    "(0 or more)"
                )
        if not 0 <= self.wrap_up_s <= MAX_WRAP_UP_S:
            raise ValueError(
                f"wrap_up_s is {self.wrap_up_s!r}; give 0 to {MAX_WRAP_UP_S:g} seconds"
            )

    def closed(self, load: Mapping[str, int]) -> frozenset[str]:
        """The channels an agent with ``load`` (contacts per channel, held or wrapping up)
        may not take one more contact of; ``ALL_CHANNELS`` when they take nothing now."""
        held = {channel: n for channel, n in load.items() if n > 0}
        if any(channel in self.exclusive for channel in held):
            return ALL_CHANNELS
        shut = {
            channel
            for channel in ALL_CHANNELS
            if (limit := self.limits.get(channel)) is not None and held.get(channel, 0) >= limit
        }
        if held:
            shut |= self.exclusive & ALL_CHANNELS
        return frozenset(shut)

    def open_channels(self, load: Mapping[str, int]) -> list[str]:
        """The channels the agent may take one more contact of, sorted."""
        return sorted(ALL_CHANNELS - self.closed(load))

    def to_dict(self) -> dict[str, object]:
        return {
            "limits": dict(self.limits),
            "exclusive": sorted(self.exclusive),
            "wrap_up_s": self.wrap_up_s,
        }
