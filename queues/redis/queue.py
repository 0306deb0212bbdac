"""The queue operations of the Redis store, each one script on one team's tag.

enqueue      one script on the team (one Redis: with the flow record in the same step);
             cluster mode: 'reserve' on the contact's shard, 'enqueue' on the team, then
             'reserved' clears the pending mark (a crash in between: ``finish_enqueue``)
claim        one team: one script. Several: one pipelined ZRANGE 0 0 of each team's ready
             indexes (one per channel), then one script on the best team that takes its
             head only while it still scores no worse than the other teams' best (else:
             look again)
heartbeat, ack, release, remove: one script on the contact's team
transfer     'move_out' on the source (the commit point: the contact is moving), 'move_in'
             on the destination, 'moved' on the source (a crash in between: ``finish_move``)
requeue_expired  per team one script for its expired leases; then the moves and hand-overs
             a crash left half done
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from queues.base import Clock
from queues.errors import ContactNotFound, InvalidTransition, QueueError
from queues.models import Claim, Contact
from queues.redis.codec import decode_contact, fmt_time, pairs
from queues.redis.keys import (
    READY_CHANNELS,
    SHARDS,
    contact_events_key,
    contact_pending_key,
    entry_key,
    entry_prefix,
    fences_key,
    flow_key,
    handles_key,
    held_key,
    history_key,
    leased_key,
    moving_key,
    pending_key,
    queued_key,
    ready_channel_key,
    ready_key,
    team_buckets_key,
    team_events_key,
)
from queues.redis.locate import Locator, team_keys
from queues.redis.ready import Ready
from queues.redis.scripts import Client, Scripts, check

__all__ = ["ANY", "PENDING_GRACE_S", "Fenced", "Pick", "Queues", "check_team"]

_PAGE = 256  # expired leases requeued per script call
_CLAIM_ATTEMPTS = 1_000  # each failed attempt means another claimer took a head
#: A cluster-mode hand-over still pending after this long is finished by the reaper.
PENDING_GRACE_S = 10.0


def check_team(team: str) -> None:
    if not isinstance(team, str) or not team or any(c in team for c in "{} \t\r\n"):
        raise ValueError(
            f"team {team!r} is not a team name; pass a non-empty name without braces or spaces"
        )


def _score(queued_at: str, priority: str) -> float:
    return round(float(queued_at) - int(priority), 6)


class Fenced(QueueError):
    """A claim under capacity met a newer claim of the same agent (``capacity.py``)."""


@dataclass(frozen=True, slots=True)
class Pick:
    """What a claim may take: under capacity, its ``token`` and the ``channels`` the
    agent's load leaves open (None: any); without, neither."""

    token: str = ""
    channels: tuple[str, ...] | None = None


ANY = Pick()


def _claimed(got: Claim | str) -> Claim | None:
    if got == "fenced":
        raise Fenced("a newer claim of the same agent came first; count the load again")
    return got if isinstance(got, Claim) else None


class Queues:
    """enqueue, claim, heartbeat, ack, release, transfer, remove, requeue (the reads of
    the ready indexes: ``ready.py``)."""

    def __init__(
        self,
        client: Client,
        scripts: Scripts,
        locator: Locator,
        clock: Clock,
        ready: Ready,
        *,
        cluster: bool,
    ) -> None:
        self._redis = client
        self._scripts = scripts
        self._locator = locator
        self._clock = clock
        self._cluster = cluster
        self.ready = ready

    async def _state(self, contact_id: str) -> str:
        found = await self._locator.find(contact_id)
        if not found.flow:
            raise ContactNotFound(contact_id)
        return str(found.entry.get("st") or found.flow_state)

    async def contact(self, contact_id: str) -> Contact:
        found = await self._locator.find(contact_id)
        if not found.flow:
            raise ContactNotFound(contact_id)
        return decode_contact(contact_id, found.flow, found.team, found.entry)

    # -- enqueue ---------------------------------------------------------------------------
    async def enqueue(self, contact_id: str, team: str, delay_s: int) -> Contact:
        check_team(team)
        await self._locator.add_team(team)
        at, delay = self._clock(), str(int(delay_s))
        now = fmt_time(at)
        if self._cluster:
            return await self._enqueue_in_two(contact_id, team, delay, now)
        keys = [*team_keys(team, contact_id), team_buckets_key(team, at), flow_key(contact_id)]
        reply = await self._scripts.run("enqueue", keys, [contact_id, team, delay, now])
        if reply[0] == "queued":
            raise InvalidTransition(contact_id, await self._state(contact_id), "enqueue")
        if reply[0] == "exists":
            raise QueueError(f"contact {contact_id!r} has a queue entry but was never queued")
        check(reply, contact_id, "enqueue")
        count = int(reply[1])
        entry, flow = pairs(reply[2 : 2 + count]), pairs(reply[2 + count :])
        self._locator.remember(contact_id, team)
        return decode_contact(contact_id, flow, team, entry)

    async def _enqueue_in_two(self, contact_id: str, team: str, delay: str, now: str) -> Contact:
        keys = [flow_key(contact_id), contact_pending_key(contact_id)]
        reply = await self._scripts.run("reserve", keys, [contact_id, team, delay, now])
        if reply[0] == "queued":
            queued_to, queued_at, priority, channel = (str(v) for v in reply[1:5])
            if not (queued_at and queued_to == team):
                raise InvalidTransition(contact_id, await self._state(contact_id), "enqueue")
            # A retry of an enqueue that was cut off between its steps: finish it.
            flow = {"q": queued_to, "qa": queued_at, "pr": priority, "ch": channel}
            await self._locator.finish_enqueue(contact_id, flow)
            return await self.contact(contact_id)
        flow = pairs(check(reply, contact_id, "enqueue")[1:])
        keys = [*team_keys(team, contact_id), team_buckets_key(team, float(now))]
        args = [contact_id, team, delay, now, flow.get("ch", "")]
        reply = await self._scripts.run("enqueue", keys, args)
        await self._locator.confirm(contact_id)
        self._locator.remember(contact_id, team)
        if reply[0] != "ok":  # a reader finished the hand-over first
            return await self.contact(contact_id)
        return decode_contact(contact_id, flow, team, pairs(reply[2 : 2 + int(reply[1])]))

    # -- claim -----------------------------------------------------------------------------
    async def _claim_in(
        self,
        team: str,
        agent: str,
        lease_s: float,
        bound: tuple[float, int] | None,
        pick: Pick,
    ) -> Claim | str:
        now = self._clock()
        lease_until = fmt_time(now + lease_s)
        keys = [ready_key(team), leased_key(team), queued_key(team), team_events_key(team)]
        keys += [team_buckets_key(team, now), held_key(team, agent), fences_key(team)]
        args = [agent, fmt_time(now), lease_until, team, entry_prefix(team)]
        args += ["", ""] if bound is None else [fmt_time(bound[0]), str(bound[1])]
        args += [pick.token, *(pick.channels or ("*",))]
        reply = await self._scripts.run("claim", keys, args)
        if reply[0] != "ok":
            return str(reply[0])
        _, contact_id, queued_at, priority = (str(v) for v in reply)
        self._locator.remember(contact_id, team)
        return Claim(contact_id, team, agent, float(lease_until), _score(queued_at, priority))

    async def claim(
        self, teams: Sequence[str], agent: str, lease_s: float, pick: Pick = ANY
    ) -> Claim | None:
        """The claim across ``teams``; under capacity (``pick``) it raises ``Fenced`` when
        a newer claim of the agent counted its load in the team first."""
        await self.ready.unfold()
        unique = list(dict.fromkeys(teams))
        if len(unique) == 1:
            got = await self._claim_in(unique[0], agent, lease_s, None, pick)
            return _claimed(got)
        for _ in range(_CLAIM_ATTEMPTS if unique else 0):
            heads = await self._heads(unique, pick)
            if not heads:
                return None
            bound = heads[1][:2] if len(heads) > 1 else None
            got = await self._claim_in(heads[0][2], agent, lease_s, bound, pick)
            if isinstance(got, Claim) or got == "fenced":
                return _claimed(got)
        if not unique:
            return None
        raise QueueError(f"claim across {unique} lost {_CLAIM_ATTEMPTS} races; try again")

    async def _heads(self, teams: list[str], pick: Pick) -> list[tuple[float, int, str]]:
        """Each team's head (of the channels ``pick`` may take), best first."""
        sources = [
            (team, ready_channel_key(team, channel))
            for team in teams
            for channel in (pick.channels or READY_CHANNELS)
        ]
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, key in sources:
                pipe.zrange(key, 0, 0, withscores=True)
            rows = await pipe.execute()
        return sorted(
            (float(score), int(str(member).split(":", 1)[0]), team)
            for (team, _), row in zip(sources, rows, strict=True)
            for member, score in row
        )

    # -- the holder's operations ------------------------------------------------------------
    async def heartbeat(self, contact_id: str, agent: str, lease_s: float) -> Claim:
        lease_until = fmt_time(self._clock() + lease_s)

        def build(team: str) -> tuple[list[str], list[str]]:
            return [entry_key(team, contact_id), leased_key(team)], [contact_id, agent, lease_until]

        ran = await self._locator.run_in_team("heartbeat", contact_id, build)
        if ran.team is None:
            raise InvalidTransition(contact_id, ran.flow_state, "heartbeat")
        _, queued_at, priority = check(ran.reply, contact_id, "heartbeat", agent)
        return Claim(contact_id, ran.team, agent, float(lease_until), _score(queued_at, priority))

    async def ack(
        self, contact_id: str, agent: str, disposition: str | None, wrap_s: float = 0.0
    ) -> None:
        at = self._clock()
        now = fmt_time(at)

        def build(team: str) -> tuple[list[str], list[str]]:
            keys = [entry_key(team, contact_id), leased_key(team), team_events_key(team)]
            keys += [team_buckets_key(team, at), handles_key(team)]
            args = [contact_id, agent, now, team, fmt_time(max(0.0, wrap_s))]
            return keys, args if disposition is None else [*args, disposition]

        ran = await self._locator.run_in_team("ack", contact_id, build)
        if ran.team is None:
            raise InvalidTransition(contact_id, ran.flow_state, "resolve")
        check(ran.reply, contact_id, "resolve", agent)

    async def release(self, contact_id: str, agent: str) -> None:
        at = self._clock()
        now = fmt_time(at)

        def build(team: str) -> tuple[list[str], list[str]]:
            keys = [entry_key(team, contact_id), ready_key(team), leased_key(team)]
            keys += [queued_key(team), team_events_key(team), team_buckets_key(team, at)]
            return keys, [contact_id, agent, now, team]

        ran = await self._locator.run_in_team("release", contact_id, build)
        if ran.team is None:
            raise InvalidTransition(contact_id, ran.flow_state, "release")
        check(ran.reply, contact_id, "release", agent)

    async def transfer(
        self, contact_id: str, dest: str, agent: str | None, delay_s: int | None
    ) -> None:
        check_team(dest)
        await self._locator.add_team(dest)
        at, token = self._clock(), secrets.token_hex(8)
        now = fmt_time(at)

        def build(team: str) -> tuple[list[str], list[str]]:
            keys = [entry_key(team, contact_id), ready_key(team), leased_key(team)]
            keys += [queued_key(team), moving_key(team), team_events_key(team)]
            keys.append(team_buckets_key(team, at))
            args = [contact_id, team, dest, now, agent or "", token]
            return keys, args if delay_s is None else [*args, str(int(delay_s))]

        ran = await self._locator.run_in_team("move_out", contact_id, build)
        if ran.team is None:
            raise InvalidTransition(contact_id, ran.flow_state, "transfer")
        if ran.reply[0] == "here":
            return
        moving = pairs(check(ran.reply, contact_id, "transfer", agent or "")[1:])
        await self._locator.finish_move(contact_id, ran.team, moving)

    async def remove(self, contact_id: str) -> None:
        at = self._clock()
        now = fmt_time(at)

        def build(team: str) -> tuple[list[str], list[str]]:
            keys = [entry_key(team, contact_id), ready_key(team), queued_key(team)]
            keys += [team_events_key(team), team_buckets_key(team, at)]
            return keys, [contact_id, now, team]

        for _ in range(3):
            ran = await self._locator.run_in_team("remove", contact_id, build)
            if ran.team is not None:
                check(ran.reply, contact_id, "remove")
                return
            if ran.flow_state != "in_flow":
                raise InvalidTransition(contact_id, ran.flow_state, "remove")
            keys = [flow_key(contact_id), history_key(contact_id), contact_events_key(contact_id)]
            args = [contact_id, "abandoned", "1", "left in flow", now]
            reply = await self._scripts.run("close", keys, args)
            if reply[0] != "queued":  # queued meanwhile: remove it from its team
                check(reply, contact_id, "remove")
                return
        raise QueueError(f"contact {contact_id!r} kept changing during remove; try again")

    # -- reaper ------------------------------------------------------------------------------
    async def requeue_expired(self) -> list[str]:
        now = self._clock()
        teams = await self._locator.teams(refresh=True)
        async with self._redis.pipeline(transaction=False) as pipe:
            for team in teams:
                pipe.zrangebyscore(leased_key(team), "-inf", fmt_time(now), withscores=True)
            for team in teams:
                pipe.zrange(moving_key(team), 0, -1)
            for shard in range(SHARDS):  # hand-overs are pending only in cluster mode
                pipe.zrangebyscore(pending_key(shard), "-inf", fmt_time(now - PENDING_GRACE_S))
            rows = await pipe.execute()
        leased, moving, pending = (
            rows[: len(teams)],
            rows[len(teams) : 2 * len(teams)],
            rows[2 * len(teams) :],
        )
        expired = sorted(
            (float(lease_until), str(cid), team)
            for team, found in zip(teams, leased, strict=True)
            for cid, lease_until in found
        )
        by_team: dict[str, list[str]] = defaultdict(list)
        for _, cid, team in expired:
            by_team[team].append(cid)
        done: set[tuple[str, str]] = set()
        for team, ids in by_team.items():
            keys = [ready_key(team), leased_key(team), queued_key(team), team_events_key(team)]
            keys.append(team_buckets_key(team, now))
            for start in range(0, len(ids), _PAGE):
                args = [fmt_time(now), team, entry_prefix(team), *ids[start : start + _PAGE]]
                done |= {(team, str(cid)) for cid in await self._scripts.run("requeue", keys, args)}
        await self._finish_moves(teams, moving)
        for ids in pending:
            for cid in ids:
                await self._finish_pending(str(cid))
        return [cid for _, cid, team in expired if (team, cid) in done]

    async def _finish_moves(self, teams: list[str], moving: list[Any]) -> None:
        found = [(team, str(cid)) for team, ids in zip(teams, moving, strict=True) for cid in ids]
        if not found:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for team, cid in found:
                pipe.hgetall(entry_key(team, cid))
            entries = await pipe.execute()
        for (team, cid), entry in zip(found, entries, strict=True):
            if entry.get("st") == "moving":
                await self._locator.finish_move(cid, team, entry)
            else:  # finished already: only the :moving member is left
                await self._scripts.run(
                    "moved", [entry_key(team, cid), moving_key(team)], [cid, "", "0"]
                )

    async def _finish_pending(self, contact_id: str) -> None:
        found = await self._locator.find(contact_id)  # creates the entry when none exists
        if found.team is not None or not found.flow:
            await self._locator.confirm(contact_id)
