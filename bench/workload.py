"""The workload every backend runs: contacts stored by intake, then queue cycles.

One cycle is enqueue + claim + ack of one contact. Contacts are created with ``intake``
before the timed part, so a timed cycle measures the three queue transitions only.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from queues import Channel, Contact, Direction, Message, Store, new_id, now_s

__all__ = [
    "AGENT",
    "LEASE_S",
    "MESSAGE_CHARS",
    "TEAM",
    "BenchError",
    "Rates",
    "compare_rates",
    "create_contacts",
    "fill_queue",
    "phase",
    "run_cycles",
    "set_worker",
]

TEAM = "billing"
AGENT = "bench-agent"
LEASE_S = 60.0
MESSAGE_CHARS = 200

#: Runs ``n`` cycles (of a store or of a baseline) and returns the seconds they took.
CycleRunner = Callable[[int], Awaitable[float]]


class BenchError(Exception):
    """A backend misbehaved or a measurement could not be taken; the bench fails."""


_serial = itertools.count()
_worker = 0


def set_worker(worker: int) -> None:
    """Number this process among those filling one store, so their contact ids differ."""
    global _worker
    _worker = worker


def _contact_id() -> str:
    # Like new_id(), 12 hex digits of milliseconds then 8 more; its 8 random digits may
    # collide among 100,000 ids made within seconds, a worker + serial number cannot.
    return f"{new_id()[:12]}{_worker % 0x100:02x}{next(_serial) % 0x100_0000:06x}"


def _inbound() -> tuple[Contact, Message]:
    at = now_s()
    contact_id = _contact_id()
    # One customer per contact: a distinct address, as in a queue of real customers.
    contact = Contact(Channel.CHAT, address=f"bench-{contact_id}", created_at=at, id=contact_id)
    text = f"{contact_id} ".ljust(MESSAGE_CHARS, "x")
    return contact, Message(direction=Direction.IN, text=text, at=at)


async def create_contacts(store: Store, count: int, *, batch: int = 1) -> list[str]:
    """Store ``count`` new in-flow contacts with one 200-character message each.

    ``batch`` > 1 runs that many intakes concurrently, which lets a networked store
    pipeline them over several connections.
    """
    ids: list[str] = []
    for start in range(0, count, batch):
        inbound = [_inbound() for _ in range(min(batch, count - start))]
        intakes = await asyncio.gather(*(store.intake(c, m) for c, m in inbound))
        ids.extend(i.contact.id for i in intakes)
    return ids


async def fill_queue(store: Store, count: int, *, team: str = TEAM, batch: int = 256) -> None:
    """Put ``count`` new contacts in ``team``'s queue, ``batch`` of them concurrently."""

    async def one() -> None:
        contact, message = _inbound()
        await store.intake(contact, message)
        await store.enqueue(contact.id, team)

    for start in range(0, count, batch):
        await asyncio.gather(*(one() for _ in range(min(batch, count - start))))


async def run_cycles(store: Store, contact_ids: Sequence[str], *, team: str = TEAM) -> float:
    """Enqueue, claim and ack each contact in turn; the seconds it took."""
    start = time.perf_counter()
    for contact_id in contact_ids:
        await store.enqueue(contact_id, team)
        claim = await store.claim((team,), AGENT, lease_s=LEASE_S)
        if claim is None or claim.contact_id != contact_id:
            raise BenchError(
                f"claim on an otherwise empty queue gave {claim!r}, not contact {contact_id!r}"
            )
        await store.ack(contact_id, AGENT)
    return time.perf_counter() - start


@dataclass(frozen=True, slots=True)
class Rates:
    """Median cycles per second of the store and of its baseline, measured alternately."""

    store: float
    baseline: float


async def compare_rates(
    store: Store,
    baseline: CycleRunner,
    *,
    cycles: int,
    repeats: int,
    warmup: int,
    batch: int = 1,
) -> Rates:
    """Time ``repeats`` rounds of ``cycles`` store cycles, each followed by a baseline
    round of as many cycles, after a warm-up of both; medians of the rates."""
    await run_cycles(store, await create_contacts(store, warmup, batch=batch))
    await baseline(warmup)
    store_rates: list[float] = []
    baseline_rates: list[float] = []
    for _ in range(repeats):
        ids = await create_contacts(store, cycles, batch=batch)  # not timed
        store_rates.append(cycles / await run_cycles(store, ids))
        baseline_rates.append(cycles / await baseline(cycles))
    return Rates(statistics.median(store_rates), statistics.median(baseline_rates))


@contextmanager
def phase(what: str) -> Iterator[None]:
    """Log how long a step of the bench took, to stderr."""
    start = time.perf_counter()
    yield
    print(f"bench:   {what}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
