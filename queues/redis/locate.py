"""Where a contact stands in the Redis store, and finishing what a crash left half done.

A contact's queue state lives under its team's tag, so the store must know the team before
it can run a queue script. There is no pointer to keep in step with the queues: a small
per-process cache names the team a contact was last seen in, and a script that finds no
entry there answers 'absent' or 'moved'; then one pipelined read of the flow record and of
the contact's entry in every known team (``sb:teams``, few) finds it. The answer is the
entry that is waiting, assigned or done (there is one; during a move, the destination's),
else the flow record.

Two hand-overs between tags take more than one script, and whoever meets one half done
finishes it, so what a crash leaves is always finished, never lost: a transfer (an entry
``moving``: ``finish_move``) and, in cluster mode, an enqueue (a flow record with ``qa``:
``finish_enqueue``). Both are idempotent; the reaper finishes those no reader met.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from queues.errors import ContactNotFound, QueueError
from queues.redis.codec import LIVE
from queues.redis.keys import (
    TEAMS_KEY,
    TOMBSTONE_TTL_S,
    contact_pending_key,
    entry_key,
    flow_key,
    history_key,
    moving_key,
    queued_key,
    ready_key,
    seq_key,
    team_buckets_key,
    team_events_key,
)
from queues.redis.scripts import Client, Scripts

__all__ = ["Found", "Locator", "Ran", "team_keys"]

_CACHE_SIZE = 10_000
_ATTEMPTS = 8

#: Given the team a contact is believed to be in: the script's KEYS and ARGV.
Build = Callable[[str], tuple[list[str], list[str]]]


def team_keys(team: str, contact_id: str) -> list[str]:
    """The keys enqueue writes: entry, ready, queued, sequence, events."""
    return [
        entry_key(team, contact_id),
        ready_key(team),
        queued_key(team),
        seq_key(team),
        team_events_key(team),
    ]


@dataclass(frozen=True, slots=True)
class Found:
    """A contact's flow record ({} when there is no such contact), the team whose entry
    decides its state (None when it was never queued) and that entry, and its history
    when asked for."""

    flow: dict[str, str]
    team: str | None
    entry: dict[str, str]
    history: list[str] = field(default_factory=list)

    @property
    def flow_state(self) -> str:
        return self.flow.get("st", "in_flow")


@dataclass(frozen=True, slots=True)
class Ran:
    """A queue script's reply and the team it ran in; ``team`` None: the contact is in no
    team's queue (``flow_state`` says where it is) and nothing ran."""

    team: str | None
    reply: list[Any]
    flow_state: str = "in_flow"


class Locator:
    """Finds contacts' teams (cached per process) and finishes half-done hand-overs."""

    def __init__(self, client: Client, scripts: Scripts) -> None:
        self._client = client
        self._scripts = scripts
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._teams: set[str] | None = None
        self._added: set[str] = set()

    # -- teams ---------------------------------------------------------------------------
    async def teams(self, *, refresh: bool = False) -> list[str]:
        """Every team a contact was ever queued in."""
        if refresh or self._teams is None:
            self._teams = {str(team) for team in await self._client.smembers(TEAMS_KEY)}
        return sorted(self._teams | self._added)

    async def add_team(self, team: str) -> None:
        """Make ``team`` known before anything is queued in it (once per process)."""
        if team not in self._added:
            await self._client.sadd(TEAMS_KEY, team)
            self._added.add(team)

    # -- cache ---------------------------------------------------------------------------
    def cached(self, contact_id: str) -> str | None:
        return self._cache.get(contact_id)

    def remember(self, contact_id: str, team: str) -> None:
        self._cache[contact_id] = team
        self._cache.move_to_end(contact_id)
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)

    def forget(self, contact_id: str) -> None:
        self._cache.pop(contact_id, None)

    # -- finding ---------------------------------------------------------------------------
    async def _read(
        self, contact_id: str, teams: list[str], history: bool
    ) -> tuple[dict[str, str], list[str], list[dict[str, str]]]:
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hgetall(flow_key(contact_id))
            if history:
                pipe.lrange(history_key(contact_id), 0, -1)
            for team in teams:
                pipe.hgetall(entry_key(team, contact_id))
            rows = await pipe.execute()
        flow, *rest = rows
        stored = [str(item) for item in rest.pop(0)] if history else []
        return flow, stored, rest

    async def find(self, contact_id: str, *, history: bool = False) -> Found:
        """Where the contact stands now, finishing a half-done hand-over on the way."""
        hint = self.cached(contact_id)
        everywhere = hint is None
        refreshed = False
        for _ in range(_ATTEMPTS):
            teams = await self.teams(refresh=refreshed) if everywhere else [str(hint)]
            flow, stored, entries = await self._read(contact_id, teams, history)
            if not flow:
                self.forget(contact_id)
                return Found({}, None, {}, stored)
            live = [(t, e) for t, e in zip(teams, entries, strict=True) if e.get("st") in LIVE]
            if live:
                team, entry = live[0]
                self.remember(contact_id, team)
                return Found(flow, team, entry, stored)
            moving = [
                (t, e) for t, e in zip(teams, entries, strict=True) if e.get("st") == "moving"
            ]
            if moving:
                for team, entry in moving:
                    await self.finish_move(contact_id, team, entry)
                everywhere = True
                continue
            if "q" not in flow:
                self.forget(contact_id)
                return Found(flow, None, {}, stored)
            if not everywhere:
                everywhere = True
            elif "qa" in flow:
                await self.finish_enqueue(contact_id, flow)
            elif not refreshed:
                refreshed = True
            else:
                break
        raise QueueError(
            f"contact {contact_id!r} was queued in {flow.get('q')!r} but no team holds it; "
            "the Redis data is damaged or keeps changing, try again"
        )

    async def run_in_team(self, name: str, contact_id: str, build: Build) -> Ran:
        """Run a queue script in the contact's team, finding the team again when the
        script answers that the contact is not (or no longer) there."""
        team = self.cached(contact_id)
        for _ in range(_ATTEMPTS):
            if team is None:
                found = await self.find(contact_id)
                if not found.flow:
                    raise ContactNotFound(contact_id)
                if found.team is None:
                    return Ran(None, [], found.flow_state)
                team = found.team
            reply = await self._scripts.run(name, *build(team))
            if reply[0] not in ("absent", "moved"):
                return Ran(team, reply)
            self.forget(contact_id)
            team = None
        raise QueueError(f"contact {contact_id!r} kept moving between teams; try again")

    # -- repairs ---------------------------------------------------------------------------
    async def finish_move(self, contact_id: str, team: str, entry: dict[str, str]) -> None:
        """Finish a transfer whose source entry (in ``team``) is ``moving``."""
        dest, token = entry["mv"], entry["mo"]
        refs = [entry[str(n)] for n in range(1, int(entry.get("n", "0")) + 1) if str(n) in entry]
        # A move begun by an older version has no ma: it is not counted in the buckets.
        moved_at = entry.get("ma", "")
        keys = [entry_key(dest, contact_id), ready_key(dest), queued_key(dest)]
        keys.append(team_buckets_key(dest, float(moved_at or entry["qa"])))
        args = [contact_id, token, team, entry["pr"], entry["qa"], entry["sq"]]
        args += [entry.get("ch", ""), entry.get("an", ""), moved_at, *refs]
        # 'state' here means the destination holds the contact already: the moving entry
        # is stale and becomes a tombstone all the same.
        await self._scripts.run("move_in", keys, args)
        keys = [entry_key(team, contact_id), moving_key(team)]
        await self._scripts.run("moved", keys, [contact_id, token, str(TOMBSTONE_TTL_S)])
        self.remember(contact_id, dest)

    async def finish_enqueue(self, contact_id: str, flow: dict[str, str]) -> None:
        """Finish a cluster-mode hand-over: create the team entry ``reserve`` promised
        (nothing when it, or a tombstone of it, exists) and clear the pending mark."""
        team = flow["q"]
        args = [contact_id, team, flow.get("pr", "0"), flow["qa"], flow.get("ch", "")]
        keys = [*team_keys(team, contact_id), team_buckets_key(team, float(flow["qa"]))]
        await self._scripts.run("enqueue", keys, args)
        await self.confirm(contact_id)

    async def confirm(self, contact_id: str) -> None:
        """The hand-over of a contact to its team is complete: no longer pending."""
        keys = [flow_key(contact_id), contact_pending_key(contact_id)]
        await self._scripts.run("reserved", keys, [contact_id])
