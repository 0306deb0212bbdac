"""The durable outbox: every message that must reach a provider goes through the store.

A reply is *posted* (``Store.post_parcel``) under an id derived from what caused it (the
inbound update it answers, the agent's message id) before anyone tries to send it; then a
courier in any process *takes* it (a lease), sends it through the channel's ``Outbox`` and
*settles* it. A process killed between the post and the settle leaves the parcel to the
next taker once the lease runs out (``lease_s``); posting the same id again (a provider
redelivering the update that caused it) is refused by the store, so nothing goes out twice
for the same cause. What is left is the window between a provider accepting a message and
the settle: a taker dying there sends it once more after the lease (at least once).

Parcels to one address go out in the order they were posted (the store's groups: the next
is due only once the one before it is settled); a retryable failure puts the parcel back
with a backoff, or the provider's own ``retry_after``, and those behind it wait; a
refusal, or the last attempt, settles it as failed. Either outcome is handed to
``on_settled`` (the router records agent replies in the contact's history).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import structlog

from channels.base import Outbox, Reply
from channels.errors import SendFailed, TelegramSendFailed
from channels.retry import backoff_s
from queues import Channel, Parcel, Store, StoreUnavailable, now_s, stop_task

__all__ = ["Courier", "Delivery", "reply_from_payload", "reply_payload"]

log = structlog.get_logger(__name__)

#: What a parcel carries: agent replies ("reply"), the flow's prompts ("prompt") and
#: automatic email replies ("auto").
KINDS = frozenset({"reply", "prompt", "auto"})


def reply_payload(reply: Reply) -> dict[str, Any]:
    return {
        "contact_id": reply.contact_id,
        "channel": str(reply.channel),
        "address": reply.address,
        "text": reply.text,
        "language": reply.language,
        "author": reply.author,
        "auto": reply.auto,
        "meta": dict(reply.meta),
    }


def reply_from_payload(data: Mapping[str, Any]) -> Reply:
    return Reply(
        contact_id=str(data["contact_id"]),
        channel=Channel(data["channel"]),
        address=str(data["address"]),
        text=str(data["text"]),
        language=str(data["language"]),
        author=data.get("author"),
        auto=bool(data.get("auto", False)),
        meta=dict(data.get("meta") or {}),
    )


@dataclass(frozen=True, slots=True)
class Delivery:
    """How a parcel ended: sent (with the provider's id) or failed for good (with why)."""

    parcel_id: str
    kind: str
    reply: Reply
    sent: bool
    at: float
    attempts: int
    provider_id: str | None = None
    reason: str | None = None
    retryable: bool = False


class Courier:
    """Posts parcels and delivers them; one runs in every process, sharing the store."""

    def __init__(
        self,
        store: Store,
        *,
        lease_s: float = 30.0,
        poll_s: float = 1.0,
        attempts: int = 8,
        first_delay_s: float = 0.5,
        max_delay_s: float = 60.0,
        batch: int = 50,
        clock: Callable[[], float] = now_s,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if lease_s <= 0 or poll_s <= 0 or attempts < 1 or batch < 1:
            raise ValueError("lease_s and poll_s must be positive, attempts and batch 1 or more")
        self.store = store
        self.senders: dict[Channel, Outbox] = {}
        self.on_settled: Callable[[Delivery], Awaitable[None]] | None = None
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._attempts = attempts
        self._first_delay_s = first_delay_s
        self._max_delay_s = max_delay_s
        self._batch = batch
        self._clock = clock
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- posting ---------------------------------------------------------------------------
    async def post(self, parcel_id: str, reply: Reply, *, kind: str, retry: bool = True) -> bool:
        """Put ``reply`` in the outbox under ``parcel_id``; False when that id was posted
        before (it went, or goes, out once). ``retry``: a retryable failure is tried again
        in the background (False for agent replies: the agent is told and decides)."""
        if kind not in KINDS:
            raise ValueError(f"parcel kind {kind!r} is unknown; use one of {sorted(KINDS)}")
        payload = {"kind": kind, "retry": retry, "reply": reply_payload(reply)}
        group = f"{reply.channel}:{reply.address}"
        posted = await self.store.post_parcel(parcel_id, payload, group=group)
        if posted:
            self._wake.set()
        return posted

    async def send_now(self, parcel_id: str, *, attempts: int = 4) -> Delivery | None:
        """Take ``parcel_id`` and send it now, trying a retryable failure again up to
        ``attempts`` times within the lease (the agent waits for the answer); None when it
        is not due (another process has it)."""
        taken = await self.store.take_parcels(lease_s=self._lease_s, limit=1, ids=[parcel_id])
        if not taken:
            return None
        delivery, _ = await self._deliver(taken[0], attempts=attempts)
        return delivery

    # -- delivering ------------------------------------------------------------------------
    async def drain(self) -> int:
        """Take what is due and deliver it; returns how many parcels were taken."""
        self._busy += 1
        self._idle.clear()
        try:
            taken = await self.store.take_parcels(lease_s=self._lease_s, limit=self._batch)
            # One parcel per address at most (the first of its line), side by side.
            await asyncio.gather(*(self._deliver(parcel) for parcel in taken))
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()
        return len(taken)

    async def _deliver(
        self, parcel: Parcel, *, attempts: int = 1
    ) -> tuple[Delivery | None, float | None]:
        """Send one taken parcel (``attempts`` times at most while holding it): the settled
        Delivery, or the delay it was deferred by."""
        kind = str(parcel.payload.get("kind", "reply"))
        try:
            reply = reply_from_payload(parcel.payload["reply"])
        except (KeyError, TypeError, ValueError) as exc:
            log.error("courier_parcel_unreadable", parcel_id=parcel.id, error=repr(exc))
            await self.store.settle_parcel(parcel.id, parcel.attempts)
            return None, None
        done = partial(Delivery, parcel.id, kind, reply, attempts=parcel.attempts)
        try:
            provider_id = await self._send(self._sender(reply), reply, attempts)
        except SendFailed as exc:
            delay_s = await self._deferred(parcel, reply, exc)
            if delay_s is not None:
                return None, delay_s
            log.warning(
                "courier_failed",
                parcel_id=parcel.id,
                contact_id=reply.contact_id,
                kind=kind,
                attempts=parcel.attempts,
                reason=exc.reason,
            )
            delivery = done(
                sent=False, at=self._clock(), reason=exc.reason, retryable=exc.retryable
            )
        else:
            delivery = done(sent=True, at=self._clock(), provider_id=provider_id)
            log.info("courier_sent", parcel_id=parcel.id, contact_id=reply.contact_id, kind=kind)
        if not await self.store.settle_parcel(parcel.id, parcel.attempts):
            # The lease ran out while sending and another taker has it now.
            log.warning("courier_lease_lost", parcel_id=parcel.id, contact_id=reply.contact_id)
        if self.on_settled is not None:
            await self.on_settled(delivery)
        return delivery, None

    def _sender(self, reply: Reply) -> Outbox:
        sender = self.senders.get(reply.channel)
        if sender is None:  # another process may run it: retryable
            raise SendFailed(
                str(reply.channel),
                f"the {reply.channel} channel is not running in this process",
                retryable=True,
            )
        return sender

    async def _deferred(self, parcel: Parcel, reply: Reply, exc: SendFailed) -> float | None:
        """Put a failed parcel back for a later try when it may get one: the delay, or None
        when it is given up (not retryable, out of attempts, or an agent's reply)."""
        retry = bool(parcel.payload.get("retry", True)) and exc.retryable
        if not retry or parcel.attempts >= self._attempts:
            return None
        delay_s = self._delay(parcel.attempts, exc)
        if await self.store.defer_parcel(parcel.id, parcel.attempts, delay_s=delay_s):
            log.info(
                "courier_retry",
                parcel_id=parcel.id,
                contact_id=reply.contact_id,
                attempt=parcel.attempts,
                reason=exc.reason,
            )
        return delay_s

    async def _send(self, sender: Outbox, reply: Reply, attempts: int) -> str | None:
        for attempt in range(1, attempts + 1):
            try:
                return await sender.send(reply)
            except SendFailed as exc:
                if not exc.retryable or attempt == attempts:
                    raise
                log.info("send_retry", channel=str(reply.channel), attempt=attempt)
                wait = min(self._delay(attempt, exc, first_s=0.25, max_s=4.0), 4.0)
                await self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(
        self,
        attempt: int,
        exc: SendFailed,
        *,
        first_s: float | None = None,
        max_s: float | None = None,
    ) -> float:
        first_s = self._first_delay_s if first_s is None else first_s
        max_s = self._max_delay_s if max_s is None else max_s
        if isinstance(exc, TelegramSendFailed) and exc.retry_after_s is not None:
            return min(exc.retry_after_s, max_s)
        return backoff_s(attempt, first_delay_s=first_s, max_delay_s=max_s)

    # -- running ---------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="courier")

    async def _run(self) -> None:
        failures = itertools.count(1)
        while not self._stopping:
            try:
                if await self.drain():
                    continue  # more may be due
                failures = itertools.count(1)
            except StoreUnavailable as exc:
                wait = backoff_s(next(failures), first_delay_s=0.5, max_delay_s=10.0)
                log.warning("courier_store_unavailable", reason=str(exc), retry_in_s=wait)
                await asyncio.sleep(wait)
                continue
            except Exception:  # a bug must not stop every later delivery
                log.exception("courier_error")
                await asyncio.sleep(self._poll_s)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_s):
                    await self._wake.wait()

    async def join(self, timeout_s: float = 10.0) -> bool:
        """Wait until the outbox holds nothing (or ``timeout_s`` passes); True when empty."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while await self.store.parcels_pending() or not self._idle.is_set():
            if loop.time() >= deadline:
                return False
            self._wake.set()
            await asyncio.sleep(0.02)
        return True

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop delivering in the background, between two passes (a send under way ends
        first; after ``timeout_s`` it is cancelled and its parcel left to the lease)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(task)
        except TimeoutError:
            await stop_task(task)
        except asyncio.CancelledError:
            # Cancelled while waiting (the app's teardown): the deliveries stop too, or
            # they would run on with no one left to stop them.
            await stop_task(task)
            raise
        finally:
            self._stopping = False

    async def aclose(self, grace_s: float = 2.0) -> None:
        """Give what is due ``grace_s`` to go out, then stop; what is left stays in the
        store for the next process."""
        if self._task is None:
            return
        with contextlib.suppress(StoreUnavailable):
            await self.join(grace_s)
        await self.stop()
