"""Calling a customer back: the dial when an agent claims a booked callback, the tries that
reach nobody (dialled again ``retry_s`` later, ``attempts`` tries in all), then the SMS.

The agent who claimed the contact keeps it through its tries (their console shows each);
releasing it puts it back in its place, and the next claim dials when the next try is due.
A try is placed through Twilio's REST API (``CallControl.create``); its answer and its end
come back as webhooks (``channels.twilio.callback``). Which process dials is decided in the
store (``CallbackBook.change``), so a claim in one process dials a callback booked in
another, and a retry is dialled once whichever process is told the try went unanswered.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from channels.base import Reply
from channels.courier import Courier
from channels.errors import SendFailed
from channels.twilio.callback_book import Callback, CallbackBook, CallbackState
from channels.twilio.calls import CallControl
from queues import (
    Channel,
    Contact,
    ContactNotFound,
    ContactState,
    Event,
    Store,
    StoreUnavailable,
    stop_task,
)

__all__ = ["CallbackSettings", "Dialer"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CallbackSettings:
    """``channels.twilio.callback``: tries, the wait between them, how long a try rings,
    and whether the last failure is told by SMS. ``sweep_s``: how often each process looks
    for tries due that another process scheduled (and may have died before dialling)."""

    attempts: int = 3
    retry_s: float = 120.0
    ring_s: int = 30
    sms: bool = True
    sweep_s: float = 5.0


class Dialer:
    """Dials booked callbacks, retries and gives up; one runs in every process."""

    def __init__(
        self,
        *,
        store: Store,
        calls: CallControl,
        settings: CallbackSettings,
        answer_url: Callable[[str, int], str],
        status_url: Callable[[str, int], str],
        hold_url: str,
        opens_at: Callable[[str, float], float],
        sms_text: Callable[[Callback], str],
        courier: Courier | None,
        changed: Callable[[str], Awaitable[None]] | None,
        clock: Callable[[], float],
    ) -> None:
        self.book = CallbackBook(store)
        self.settings = settings
        self._store = store
        self._calls = calls
        self._answer_url = answer_url
        self._status_url = status_url
        self._hold_url = hold_url
        self._opens_at = opens_at
        self._sms_text = sms_text
        self._courier = courier
        self._changed = changed
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def claimed(self, contact: Contact) -> bool:
        """An agent claimed ``contact``: dial its booked callback now, or when it is due (the
        opening, the next try). False when it has no callback (the caller is on the line)."""
        try:
            callback = await self.book.get(contact.id)
            if callback is None or callback.state is CallbackState.CANCELLED:
                return False
            if callback.state is CallbackState.CONNECTED and callback.attempt_sid:
                # Called back, then released: the customer holds on the call back.
                await self._calls.redirect(callback.attempt_sid, f"{self._hold_url}?w=0")
                return True
            if callback.state is not CallbackState.BOOKED or contact.agent is None:
                return True  # calling or failed: there is no live call to redirect
            now = self._clock()
            due_at = callback.due_at
            if contact.team is not None:
                due_at = max(due_at, self._opens_at(contact.team, now))
            if due_at > now:
                await self.book.schedule(contact.id, due_at)
                self._wake.set()
                log.info("callback_due_later", contact_id=contact.id, in_s=round(due_at - now))
                return True
            await self.dial(contact.id, contact.agent)
        except (StoreUnavailable, ContactNotFound) as exc:
            log.warning("callback_claim_failed", contact_id=contact.id, error=str(exc))
        return True

    async def dial(self, contact_id: str, agent: str) -> Callback | None:
        """Place the next try (this process only, when the store agrees); None when it is
        not booked any more (another process dials it, or it was answered meanwhile)."""
        now = self._clock()

        def start(callback: Callback) -> Callback | None:
            return callback.dialing(agent, now) if callback.state is CallbackState.BOOKED else None

        callback = await self.book.change(contact_id, start)
        if callback is None:
            return None
        attempt = callback.attempts
        await self.record(contact_id, "callback_dialed", agent, attempt=attempt)
        try:
            sid = await self._calls.create(
                to=callback.number,
                from_=callback.caller_id,
                url=self._answer_url(contact_id, attempt),
                status_callback=self._status_url(contact_id, attempt),
                timeout_s=self.settings.ring_s,
            )
        except SendFailed as exc:
            log.warning("callback_dial_failed", contact_id=contact_id, reason=exc.reason)
            await self.unanswered(contact_id, attempt, "failed")
            return callback

        def placed(stored: Callback) -> Callback | None:
            same = stored.attempts == attempt and not stored.attempt_sid
            return dataclasses.replace(stored, attempt_sid=sid) if same else None

        await self.book.change(contact_id, placed)
        log.info("callback_dialed", contact_id=contact_id, attempt=attempt, call_sid=sid)
        return callback

    async def unanswered(self, contact_id: str, attempt: int, status: str) -> Callback | None:
        """Try ``attempt`` reached nobody (``status``: no-answer, busy, failed, ...): due
        again after ``retry_s``, or failed after the last try (and the customer told by
        SMS where it can be sent). None when that try was dealt with already."""
        now = self._clock()
        settings = self.settings

        def step(callback: Callback) -> Callback | None:
            if callback.attempts != attempt or callback.state is not CallbackState.CALLING:
                return None  # a repeated status callback, or an older try's
            return callback.unanswered(
                status, now, attempts=settings.attempts, retry_s=settings.retry_s
            )

        callback = await self.book.change(contact_id, step)
        if callback is None:
            return None
        if callback.state is CallbackState.BOOKED:
            await self.book.schedule(contact_id, callback.due_at)
            self._wake.set()
            await self.record(
                contact_id, "callback_unanswered", None, attempt=attempt, status=status
            )
            log.info("callback_unanswered", contact_id=contact_id, attempt=attempt, status=status)
            return callback
        log.info("callback_failed", contact_id=contact_id, attempts=attempt, status=status)
        sms = await self._send_sms(contact_id, callback)
        await self.record(contact_id, "callback_failed", None, attempts=attempt, sms=sms)
        return await self.book.get(contact_id)

    async def _send_sms(self, contact_id: str, callback: Callback) -> bool:
        """The "we could not reach you" SMS, through the durable outbox, where possible."""
        courier = self._courier
        if not self.settings.sms or courier is None or not callback.caller_id:
            return False
        if Channel.SMS not in courier.senders:
            log.info("callback_sms_off", contact_id=contact_id, reason="the SMS channel is off")
            return False
        reply = Reply(
            contact_id=contact_id,
            channel=Channel.SMS,
            address=callback.number,
            text=self._sms_text(callback),
            language=callback.language,
            meta={"twilio_to": callback.caller_id},
            auto=True,
        )
        await courier.post(f"callback:{contact_id}:failed", reply, kind="prompt")
        await self.book.change(
            contact_id, lambda c: None if c.sms else dataclasses.replace(c, sms=True)
        )
        return True

    # -- tries due later ---------------------------------------------------------------------
    async def run_due(self) -> list[str]:
        """Dial every try that is due (the contacts dialled); a contact no agent holds any
        more waits in its place, and the next claim dials it."""
        dialed: list[str] = []
        for contact_id in await self.book.take_due(self._clock()):
            try:
                contact = await self._store.get_contact(contact_id, messages=False)
            except ContactNotFound:
                continue
            held = contact.state is ContactState.ASSIGNED and contact.agent is not None
            if held and contact.agent and await self.dial(contact_id, contact.agent):
                dialed.append(contact_id)
        return dialed

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="callback-dialer")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        await stop_task(task)

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # a wake-up from now on is seen at the wait below
            next_due: float | None = None
            try:
                await self.run_due()
                next_due = await self.book.next_due()
            except StoreUnavailable as exc:
                log.warning("callback_dialer_store_unavailable", error=str(exc))
            except Exception:  # a bug must not stop every later try
                log.exception("callback_dialer_error")
            wait_s = self.settings.sweep_s
            if next_due is not None:
                wait_s = min(wait_s, max(0.05, next_due - self._clock()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._wake.wait()

    async def record(self, contact_id: str, kind: str, agent: str | None, **data: Any) -> None:
        """Record what happened on the contact's history, and refresh consoles showing it."""
        event = Event(contact_id=contact_id, kind=kind, at=self._clock(), agent=agent, data=data)
        await self._store.add_event(event)
        if self._changed is not None:
            await self._changed(contact_id)
