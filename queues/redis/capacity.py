"""Agent capacity on Redis and Redis Cluster: where an agent's load lives, and how a claim
across teams stays one atomic step against the agent's other claims.

**Where the load lives.** With the contacts: each team's tag keeps, per agent, the set of
contact ids the agent claimed there (``:held:<agent>``, added by the claim script in the
step of the lease). Counting a load (``agent_load.lua``) checks each id against its entry
in the same tag: held by the agent, or resolved by them within the wrap-up, counts; the
rest leave the set. So the load is never a counter kept beside the truth: a resolve, a
release, a transfer, an expired lease or a wrap-up running out lowers it with no step of
its own, and a process dying mid-way cannot leave it wrong. An agent's load spans teams,
and on a cluster each team is its own slot, so the load is the sum over the teams' tags.

**One atomic claim across slots: fencing.** Only a claim raises a load; everything else
lowers it. So the claims of one agent must be serialised, and the rest may run
concurrently (they can only leave a load lower than a claim assumed). Each claim takes a
token from the agent's counter (``sb:agent:<name>:claims``, INCR: newer claims get higher
tokens), counts the agent's load in every team *with that token* (each team's ``:fence``
keeps, per agent, the newest token a count saw there), and leases in its chosen team only
while that team's fence holds no newer token (else ``fenced``: it starts again with a new
token). Take two claims of one agent, tokens t1 < t2, and a team X where t1 leases: if
t2 counted X first, the fence refuses t1 there; otherwise t1's lease came before t2's count
of X, which sees it. Either way no claim leases on a load that misses another claim's
lease, in any process, with no lock to expire: a stalled claim is refused, not trusted.
Claims of different agents never fence each other, and one process runs one claim of an
agent at a time (they would only fence each other out), so only claims of the same agent
through different processes at the same moment ever retry. Cost per claim: one INCR, one
small script per team (O(what the agent holds)), then the claim as without capacity.

**Picking among the open channels.** A team's queue is kept as one ready index per channel
(``:ready:<channel>``, same tag; ``ready_add`` in ``lua/_common.lua``); a claim whose agent
has channels closed reads the head of each open channel's index only, so skipping a crowd
of chats costs nothing per waiting chat.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Sequence

from queues.base import Clock
from queues.capacity import ALL_CHANNELS, Capacity
from queues.models import Claim
from queues.redis.codec import fmt_time
from queues.redis.keys import agent_claims_key, entry_prefix, fences_key, held_key
from queues.redis.locate import Locator
from queues.redis.queue import Fenced, Pick, Queues
from queues.redis.scripts import Client, Scripts

__all__ = ["Capacities"]

#: How long claims of one agent through other processes may keep fencing this one out
#: before it gives up (returns None, as with nothing to claim). A process runs its claims
#: of an agent back to back, so a burst of them through one router fences the other's for
#: as long as the burst lasts: CI saw a budget of 50 attempts (~1.2 s) run out under load.
_GIVE_UP_S = 5.0
#: The longest pause before a fenced claim starts again: a random pause, growing with the
#: attempts, so two processes' claims of one agent stop fencing each other in lockstep.
_BACKOFF_MAX_S = 0.05


def _check_agent(agent: str) -> None:
    if not isinstance(agent, str) or not agent or any(c in agent for c in "{} \t\r\n"):
        raise ValueError(
            f"agent {agent!r} is not an agent name; pass a non-empty name without braces or spaces"
        )


class Capacities:
    """Claims under capacity and agents' loads (see the module)."""

    def __init__(
        self, client: Client, scripts: Scripts, locator: Locator, queues: Queues, clock: Clock
    ) -> None:
        self._redis = client
        self._scripts = scripts
        self._locator = locator
        self._queues = queues
        self._clock = clock
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)  # per agent

    async def claim(
        self, teams: Sequence[str], agent: str, lease_s: float, capacity: Capacity
    ) -> Claim | None:
        _check_agent(agent)
        await self._queues.ready.unfold()
        # One claim per agent at a time in this process: its claims would only fence each
        # other out. The fence still orders them against other processes' claims.
        async with self._locks[agent]:
            return await self._claim(teams, agent, lease_s, capacity)

    async def _claim(
        self, teams: Sequence[str], agent: str, lease_s: float, capacity: Capacity
    ) -> Claim | None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + _GIVE_UP_S
        attempt = 0
        while attempt == 0 or loop.time() < give_up:
            if attempt:
                await asyncio.sleep(random.uniform(0, min(_BACKOFF_MAX_S, 0.001 * 2**attempt)))
            attempt += 1
            token = str(await self._redis.incr(agent_claims_key(agent)))
            load = await self.load(agent, capacity.wrap_up_s, extra=teams, token=token)
            closed = capacity.closed(load)
            if closed >= ALL_CHANNELS:
                return None
            pick = Pick(token, tuple(sorted(ALL_CHANNELS - closed)) if closed else None)
            try:
                return await self._queues.claim(teams, agent, lease_s, pick)
            except Fenced:
                continue
        return None

    async def load(
        self, agent: str, wrap_up_s: float, *, extra: Sequence[str] = (), token: str = ""
    ) -> dict[str, int]:
        """The agent's load summed over every team (and ``extra``), fencing with ``token``."""
        _check_agent(agent)
        # A claim reads the teams afresh: a team another process queued in first counts too.
        known = await self._locator.teams(refresh=bool(token))
        teams = list(dict.fromkeys([*known, *extra]))
        now = fmt_time(self._clock())

        async def one(team: str) -> list[object]:
            keys = [held_key(team, agent), fences_key(team)]
            args = [agent, now, fmt_time(wrap_up_s), entry_prefix(team), token]
            reply: list[object] = await self._scripts.run("agent_load", keys, args)
            return reply

        load: dict[str, int] = {}
        for reply in await asyncio.gather(*(one(team) for team in teams)):
            for channel, n in zip(reply[::2], reply[1::2], strict=True):
                load[str(channel)] = load.get(str(channel), 0) + int(str(n))
        return load
