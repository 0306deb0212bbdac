"""The memory store's queue index: after every step of random enqueue, claim, release,
resolve, transfer, remove and lease-expiry sequences, positions, the serving order, claims
and the longest wait equal a brute-force recount of a model kept beside the store."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from queues import Capacity, Channel, Contact, ContactState, Direction, Message, Position
from queues.memory import MemoryStore
from tests.conftest import FakeClock

TEAMS = ("billing", "technical", "domains_hosting")
AGENTS = ("ann", "bob", "cy")
CHANNELS = (Channel.SMS, Channel.CHAT, Channel.VOICE, Channel.EMAIL)
DELAYS_S = (0, 60, 120, 300)


@dataclass
class Waiting:
    team: str
    score: float
    seq: int  # the enqueue's order: a release, expiry or transfer keeps it
    queued_at: float
    channel: str


class Model:
    """What the queues hold, recounted by brute force."""

    def __init__(self) -> None:
        self.waiting: dict[str, Waiting] = {}
        self.seqs: dict[str, int] = {}
        self.next_seq = 0

    def enqueued(self, contact: Contact) -> None:
        self.next_seq += 1
        self.seqs[contact.id] = self.next_seq
        self.back(contact)

    def back(self, contact: Contact) -> None:
        assert contact.team is not None and contact.score is not None
        assert contact.queued_at is not None
        self.waiting[contact.id] = Waiting(
            contact.team, contact.score, self.seqs[contact.id], contact.queued_at,
            str(contact.channel),
        )  # fmt: skip

    def order(self, team: str) -> list[str]:
        mine = [(w.score, w.seq, cid) for cid, w in self.waiting.items() if w.team == team]
        return [cid for _, _, cid in sorted(mine)]

    def ahead(self, contact_id: str) -> int:
        me = self.waiting[contact_id]
        return sum(
            1
            for w in self.waiting.values()
            if w.team == me.team and (w.score, w.seq) < (me.score, me.seq)
        )

    def best(self, teams: list[str], channels: frozenset[str]) -> str | None:
        eligible = [
            (w.score, w.seq, cid)
            for cid, w in self.waiting.items()
            if w.team in teams and w.channel in channels
        ]
        return min(eligible)[2] if eligible else None


class Run:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.clock = FakeClock()
        self.store = MemoryStore(clock=self.clock)
        self.model = Model()
        self.held: dict[str, str] = {}  # contact -> agent
        self.n = 0

    async def contact(self, contact_id: str) -> Contact:
        return await self.store.get_contact(contact_id, messages=False)

    async def enqueue(self) -> None:
        self.n += 1
        channel = self.rng.choice(CHANNELS)
        contact = Contact(channel=channel, address=f"+48{self.n}", created_at=self.clock())
        await self.store.intake(contact, Message(Direction.IN, "hi", self.clock()))
        team, delay_s = self.rng.choice(TEAMS), self.rng.choice(DELAYS_S)
        self.model.enqueued(await self.store.enqueue(contact.id, team, delay_s=delay_s))

    async def claim(self) -> None:
        agent = self.rng.choice(AGENTS)
        teams = self.rng.sample(TEAMS, self.rng.randint(1, len(TEAMS)))
        capacity = self.rng.choice((None, Capacity(limits={"chat": 1, "sms": 1, "voice": 1})))
        channels = frozenset(str(c) for c in Channel)
        if capacity is not None:
            channels -= capacity.closed(await self.store.agent_load(agent))
        expected = self.model.best(teams, channels)
        claim = await self.store.claim(
            teams, agent, lease_s=self.rng.choice((5, 30)), capacity=capacity
        )
        assert (claim.contact_id if claim else None) == expected
        if claim is not None:
            del self.model.waiting[claim.contact_id]
            self.held[claim.contact_id] = agent

    async def release(self) -> None:
        contact_id, agent = self.rng.choice(sorted(self.held.items()))
        await self.store.release(contact_id, agent)
        del self.held[contact_id]
        self.model.back(await self.contact(contact_id))

    async def resolve(self) -> None:
        contact_id, agent = self.rng.choice(sorted(self.held.items()))
        await self.store.ack(contact_id, agent, disposition="solved")
        del self.held[contact_id]

    async def transfer(self) -> None:
        contact_id = self.rng.choice(sorted([*self.model.waiting, *self.held]))
        agent = self.held.pop(contact_id, None)
        delay_s = self.rng.choice((None, *DELAYS_S))
        team = self.rng.choice(TEAMS)  # the same team too: it keeps its place
        await self.store.transfer(contact_id, team, agent=agent, delay_s=delay_s)
        self.model.back(await self.contact(contact_id))

    async def remove(self) -> None:
        contact_id = self.rng.choice(sorted(self.model.waiting))
        await self.store.remove(contact_id)
        del self.model.waiting[contact_id]

    async def expire(self) -> None:
        self.clock.advance(self.rng.choice((0, 1, 10, 31)))
        for contact_id in await self.store.requeue_expired():
            del self.held[contact_id]
            self.model.back(await self.contact(contact_id))

    async def step(self) -> None:
        moves = [self.enqueue, self.enqueue, self.claim, self.expire]
        if self.held:
            moves += [self.release, self.resolve]
        if self.held or self.model.waiting:
            moves.append(self.transfer)
        if self.model.waiting:
            moves.append(self.remove)
        await self.rng.choice(moves)()
        if self.rng.random() < 0.3:  # otherwise equal scores: ties go by sequence
            self.clock.advance(self.rng.choice((0.5, 1, 60)))

    async def check(self) -> None:
        now = self.clock()
        for team in TEAMS:
            order = self.model.order(team)
            assert await self.store.waiting_order(team) == order
            for contact_id in order:
                expected = Position(team, ahead=self.model.ahead(contact_id), waiting=len(order))
                assert await self.store.position(contact_id) == expected
        stats = {s.team: s for s in await self.store.queue_stats(TEAMS)}
        for team in TEAMS:
            queued = [w.queued_at for w in self.model.waiting.values() if w.team == team]
            assert stats[team].waiting == len(queued)
            assert stats[team].oldest_wait_s == (round(now - min(queued), 6) if queued else None)
        held_by_team = dict.fromkeys(TEAMS, 0)
        for contact_id in self.held:
            assert await self.store.position(contact_id) is None
            contact = await self.contact(contact_id)
            assert contact.state is ContactState.ASSIGNED and contact.team is not None
            held_by_team[contact.team] += 1
        assert {team: s.assigned for team, s in stats.items()} == held_by_team


@pytest.mark.parametrize("seed", range(8))
async def test_positions_and_order_match_a_recount_after_every_step(seed: int) -> None:
    run = Run(seed)
    for _ in range(300):
        await run.step()
        await run.check()
