"""Verifying a customer by login (or customer number) and auth code, with lockouts.

A bad limit or an empty address raises ``VerifyError`` (the tree: ``router/errors.py``).

Failures count per account across every channel and per address (phone number, chat
session, email address), each in a sliding window. ``max_failures`` failures of one account
within ``window_s`` lock it for ``lock_s``; while it is locked even the right code is
refused. ``address_max_failures`` failures from one address within ``address_window_s``
refuse further tries from it until the oldest leaves the window. A success clears the
account's failures but not the address's: otherwise an attacker holding one valid account
could wipe the address count between guesses at others.

Failures are counted with the store's atomic sliding-window counters (``record_hit`` on
``lockout:account:<login>`` and ``lockout:address:<address>``), so router processes sharing
a redis store share lockouts and never lose a failure to a race. Each failure is tagged
with its try (a digest of the inbound message's key): the same try checked again counts
once. A lock is a store session
(``lockout:account:<login>`` = ``{"locked_until": t}`` with a TTL of ``lock_s``); two
processes setting it at once set the same thing. Each process also serialises its own tries
per key, so within one process a throttle or lock is checked exactly; processes racing on
one address may let a few tries past its throttle, but every one of them is counted.

Log events: ``account_verified``, ``verification_failed``, ``account_locked``,
``address_throttled``. The code, its HMAC and the identifier of an unknown account (it may be
a code typed into the wrong field) never reach a log line.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import structlog

from queues import Store
from router.errors import VerifyError
from router.identity.accounts import Account, AccountDirectory, code_matches, hash_code
from router.locks import KeyLocks

__all__ = ["ACCOUNT_KEY", "ADDRESS_KEY", "Verifier", "VerifyError", "VerifyOutcome", "VerifyReason"]

log = structlog.get_logger(__name__)

ACCOUNT_KEY = "lockout:account:{}"
ADDRESS_KEY = "lockout:address:{}"


class VerifyReason(StrEnum):
    OK = "ok"
    UNKNOWN_ACCOUNT = "unknown_account"
    WRONG_CODE = "wrong_code"
    ACCOUNT_LOCKED = "account_locked"
    ADDRESS_THROTTLED = "address_throttled"


@dataclass(frozen=True, slots=True)
class VerifyOutcome:
    """The result of one attempt.

    ``reason`` says why this attempt was refused; ``locked`` says the account is locked now
    (the attempt that reaches ``max_failures`` is ``wrong_code`` with ``locked=True``).
    ``account`` is set only when ``ok``. ``retry_after_s`` is how long a lock or throttle
    lasts. Tell customers "locked" or "try later", never "unknown account" apart from
    "wrong code".
    """

    ok: bool
    locked: bool
    throttled: bool
    account: Account | None
    reason: str
    retry_after_s: float | None = None

    @classmethod
    def refused(
        cls,
        reason: VerifyReason,
        *,
        locked: bool = False,
        throttled: bool = False,
        retry_after_s: float | None = None,
    ) -> VerifyOutcome:
        return cls(False, locked, throttled, None, reason, retry_after_s)


def _tag(attempt: str | None) -> str | None:
    """A try's name in the hit counters: a digest, as message keys may hold addresses."""
    if attempt is None:
        return None
    return hashlib.blake2b(attempt.encode(), digest_size=12).hexdigest()


class Verifier:
    """Checks login + auth code against the account directory, with lockouts."""

    def __init__(
        self,
        directory: AccountDirectory,
        store: Store,
        key: bytes,
        *,
        max_failures: int = 5,
        window_s: float = 900,
        lock_s: float = 900,
        address_max_failures: int = 10,
        address_window_s: float = 900,
        clock: Callable[[], float] | None = None,
    ) -> None:
        limits = {
            "max_failures": max_failures,
            "window_s": window_s,
            "lock_s": lock_s,
            "address_max_failures": address_max_failures,
            "address_window_s": address_window_s,
        }
        for name, value in limits.items():
            if value < 1:
                raise VerifyError(f"verification.{name} is {value}; set it to 1 or more")
        self._directory = directory
        self._store = store
        self._key = key
        self._max_failures = max_failures
        self._window_s = window_s
        self._lock_s = lock_s
        self._address_max_failures = address_max_failures
        self._address_window_s = address_window_s
        self._clock = clock or time.time
        # Unknown identifiers are compared against this, so they cost what a real one does.
        self._dummy_hmac = hash_code(key, "dummy code for unknown accounts")
        self._locks = KeyLocks()

    async def verify(
        self, identifier: str, code: str, *, address: str, attempt: str | None = None
    ) -> VerifyOutcome:
        """Check ``code`` for the account ``identifier`` names, tried from ``address``.

        ``attempt`` names the try (the inbound message's idempotency key): checking the
        same try again (a provider's retry, or the locked path after a quick turn the store
        refused) answers alike and counts its failure once.
        """
        if not address:
            raise VerifyError(
                "address is empty; pass the caller's phone number, chat session or email"
            )
        code = code.strip()
        address_key = ADDRESS_KEY.format(address)
        tag = _tag(attempt)
        async with self._locks.hold(address_key):
            now = self._clock()
            address_failures = await self._store.hits(address_key, window_s=self._address_window_s)
            if len(address_failures) >= self._address_max_failures:
                retry = address_failures[0] + self._address_window_s - now
                log.warning("address_throttled", address=address, failures=len(address_failures))
                return VerifyOutcome.refused(
                    VerifyReason.ADDRESS_THROTTLED, throttled=True, retry_after_s=retry
                )
            account = self._directory.find(identifier)
            if account is None:
                code_matches(self._key, code, self._dummy_hmac)
                outcome = VerifyOutcome.refused(VerifyReason.UNKNOWN_ACCOUNT)
            else:
                async with self._locks.hold(ACCOUNT_KEY.format(account.login)):
                    outcome = await self._check(account, code, address, now, tag)
            if not outcome.ok:
                window = self._address_window_s
                count = await self._store.record_hit(
                    address_key, window_s=window, ttl_s=window, tag=tag
                )
                log.info(
                    "verification_failed",
                    login=account.login if account else None,
                    address=address,
                    reason=str(outcome.reason),
                    address_failures=count,
                )
            return outcome

    async def _check(
        self, account: Account, code: str, address: str, now: float, tag: str | None
    ) -> VerifyOutcome:
        key = ACCOUNT_KEY.format(account.login)
        state = await self._store.get_session(key)
        # Compare before looking at the lock, so a locked account answers no faster.
        matches = code_matches(self._key, code, account.code_hmac)
        locked_until = float((state or {}).get("locked_until") or 0)
        if locked_until > now:
            return VerifyOutcome.refused(
                VerifyReason.ACCOUNT_LOCKED, locked=True, retry_after_s=locked_until - now
            )
        if matches:
            # A lock that ended expires with its session; deleting it here could drop a
            # lock another process has just set.
            await self._store.clear_hits(key)
            log.info("account_verified", login=account.login, address=address)
            return VerifyOutcome(True, False, False, account, VerifyReason.OK)
        failures = await self._store.record_hit(
            key, window_s=self._window_s, ttl_s=self._window_s, tag=tag
        )
        if failures < self._max_failures:
            return VerifyOutcome.refused(VerifyReason.WRONG_CODE)
        await self._store.put_session(key, {"locked_until": now + self._lock_s}, ttl_s=self._lock_s)
        # The failures are dropped with the lock: once it ends the account starts afresh.
        await self._store.clear_hits(key)
        log.warning(
            "account_locked",
            login=account.login,
            address=address,
            failures=failures,
            lock_s=self._lock_s,
        )
        return VerifyOutcome.refused(
            VerifyReason.WRONG_CODE, locked=True, retry_after_s=self._lock_s
        )
