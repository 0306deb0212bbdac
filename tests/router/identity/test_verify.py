"""Verification: right and wrong codes, lockouts per account and per address, no code in logs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

import router.identity.accounts
import router.identity.verify
from queues import Store, open_store
from router.identity.accounts import AccountDirectory, hash_code
from router.identity.verify import Verifier, VerifyError, VerifyOutcome
from tests.conftest import FakeClock, flush_redis

KEY = b"test-key-0123456789abcdef"
JAN_CODE = "482913"
FIRMA_CODE = "739155"
PHONE = "+48500100200"
CHAT = "chat:5f2c"
TELEGRAM = "telegram:4242"


@pytest.fixture
async def directory() -> AsyncIterator[AccountDirectory]:
    accounts = await open_store("memory://")
    directory = AccountDirectory(accounts, KEY)
    await directory.add("jan.kowalski", "1001", JAN_CODE, name="Jan Kowalski")
    await directory.add("firma.nowak", "2002", FIRMA_CODE, tier="business")
    yield directory
    await accounts.aclose()


@pytest.fixture
async def store(clock: FakeClock) -> AsyncIterator[Store]:
    store = await open_store("memory://", clock=clock)
    yield store
    await store.aclose()


@pytest.fixture
def verifier(directory: AccountDirectory, store: Store, clock: FakeClock) -> Verifier:
    return Verifier(directory, store, KEY, clock=clock)


async def fail(
    verifier: Verifier, times: int, *, who: str = "jan.kowalski", address: str = PHONE
) -> VerifyOutcome:
    """Try a wrong code ``times`` times; the last outcome."""
    outcomes = [await verifier.verify(who, "000000", address=address) for _ in range(times)]
    return outcomes[-1]


# -- right and wrong codes ---------------------------------------------------------------------
async def test_the_right_code_verifies_by_login_or_number(verifier: Verifier) -> None:
    for identifier in ("jan.kowalski", "Jan.Kowalski", " 1001 "):
        outcome = await verifier.verify(identifier, f"{JAN_CODE} ", address=PHONE)
        assert outcome.ok and outcome.reason == "ok"
        assert not outcome.locked and not outcome.throttled
        assert outcome.account is not None and outcome.account.login == "jan.kowalski"


async def test_a_wrong_code_is_refused(verifier: Verifier) -> None:
    outcome = await verifier.verify("jan.kowalski", "482914", address=PHONE)
    assert outcome == VerifyOutcome(False, False, False, None, "wrong_code")


async def test_another_accounts_code_is_refused(verifier: Verifier) -> None:
    outcome = await verifier.verify("jan.kowalski", FIRMA_CODE, address=PHONE)
    assert outcome.reason == "wrong_code"


async def test_an_unknown_account_is_refused(verifier: Verifier) -> None:
    outcome = await verifier.verify("nobody", JAN_CODE, address=PHONE)
    assert outcome == VerifyOutcome(False, False, False, None, "unknown_account")


async def test_an_unknown_account_costs_a_comparison_against_a_dummy_hmac(
    verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[str] = []
    real = router.identity.accounts.code_matches

    def spy(key: bytes, code: str, code_hmac: str) -> bool:
        compared.append(code_hmac)
        return real(key, code, code_hmac)

    monkeypatch.setattr(router.identity.verify, "code_matches", spy)
    await verifier.verify("nobody", JAN_CODE, address=PHONE)
    await verifier.verify("jan.kowalski", "000000", address=PHONE)
    assert len(compared) == 2
    assert len(compared[0]) == len(compared[1]) == 64
    assert compared[0] != hash_code(KEY, JAN_CODE)


# -- the account lockout -----------------------------------------------------------------------
async def test_five_failures_within_the_window_lock_the_account(
    verifier: Verifier, clock: FakeClock
) -> None:
    for _ in range(4):
        outcome = await fail(verifier, 1)
        assert not outcome.locked and outcome.reason == "wrong_code"
        clock.advance(60)
    fifth = await fail(verifier, 1)
    assert fifth.locked and fifth.reason == "wrong_code" and fifth.retry_after_s == 900


async def test_the_right_code_is_refused_while_locked(verifier: Verifier, clock: FakeClock) -> None:
    await fail(verifier, 5)
    clock.advance(899)
    outcome = await verifier.verify("1001", JAN_CODE, address=CHAT)
    assert not outcome.ok and outcome.locked and outcome.reason == "account_locked"
    assert outcome.account is None
    assert outcome.retry_after_s == pytest.approx(1)


async def test_the_lock_ends_after_lock_s(verifier: Verifier, clock: FakeClock) -> None:
    await fail(verifier, 5)
    clock.advance(900)
    assert (await verifier.verify("jan.kowalski", JAN_CODE, address=PHONE)).ok


async def test_after_the_lock_the_account_starts_afresh(
    verifier: Verifier, clock: FakeClock
) -> None:
    await fail(verifier, 5)
    clock.advance(900)
    outcome = await fail(verifier, 4)
    assert not outcome.locked


async def test_failures_outside_the_window_do_not_count(
    verifier: Verifier, clock: FakeClock
) -> None:
    await fail(verifier, 4)
    clock.advance(901)
    outcome = await fail(verifier, 4)
    assert not outcome.locked
    assert (await verifier.verify("jan.kowalski", JAN_CODE, address=PHONE)).ok


async def test_the_window_slides(verifier: Verifier, clock: FakeClock) -> None:
    await fail(verifier, 2)
    clock.advance(600)
    await fail(verifier, 2)
    clock.advance(301)  # the first two are now older than 900 s
    outcome = await fail(verifier, 2)
    assert not outcome.locked
    outcome = await fail(verifier, 1)
    assert outcome.locked


async def test_failures_count_across_channels(verifier: Verifier) -> None:
    for address in (PHONE, CHAT, TELEGRAM, "jan@example.com"):
        outcome = await fail(verifier, 1, address=address)
        assert not outcome.locked
    outcome = await fail(verifier, 1, who="1001", address="+48600700800")
    assert outcome.locked
    refused = await verifier.verify("jan.kowalski", JAN_CODE, address="chat:other")
    assert refused.reason == "account_locked"


async def test_a_lock_does_not_touch_other_accounts(verifier: Verifier) -> None:
    await fail(verifier, 5, address=PHONE)
    assert (await verifier.verify("firma.nowak", FIRMA_CODE, address=CHAT)).ok


async def test_a_success_resets_the_accounts_failures(verifier: Verifier) -> None:
    await fail(verifier, 4)
    assert (await verifier.verify("jan.kowalski", JAN_CODE, address=PHONE)).ok
    outcome = await fail(verifier, 4)
    assert not outcome.locked


async def test_lockout_state_lives_in_the_store_with_a_ttl(
    verifier: Verifier, store: Store, clock: FakeClock
) -> None:
    account, address = "lockout:account:jan.kowalski", f"lockout:address:{PHONE}"
    await fail(verifier, 1)
    assert await store.hits(account, window_s=900) == [clock()]
    assert await store.hits(address, window_s=900) == [clock()]
    await fail(verifier, 4)
    assert await store.get_session(account) == {"locked_until": clock() + 900}
    assert await store.hits(account, window_s=900) == []  # dropped with the lock
    clock.advance(901)
    assert await store.get_session(account) is None
    assert await store.hits(address, window_s=900) == []


async def test_concurrent_failures_in_one_process_are_all_counted(
    directory: AccountDirectory, store: Store, clock: FakeClock
) -> None:
    verifier = Verifier(directory, YieldingStore(store), KEY, clock=clock)
    addresses = [f"chat:{n}" for n in range(5)]
    await asyncio.gather(*(fail(verifier, 1, address=a) for a in addresses))
    outcome = await verifier.verify("jan.kowalski", JAN_CODE, address=PHONE)
    assert outcome.reason == "account_locked"


class YieldingStore:
    """A store whose session calls yield to the event loop, as a networked store's do."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if not name.endswith("_session"):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0)
            return await target(*args, **kwargs)

        return call


async def test_one_try_checked_again_counts_its_failure_once(
    verifier: Verifier, store: Store
) -> None:
    """A provider's retry, or the locked path after a quick turn the store refused, checks
    the same message again: it answers alike, and the account and the address count it
    once; other tries count as before."""
    for _ in range(3):
        outcome = await verifier.verify("jan.kowalski", "000000", address=PHONE, attempt="v:CA1:4")
        assert outcome.reason == "wrong_code" and not outcome.locked
    assert len(await store.hits("lockout:account:jan.kowalski", window_s=900)) == 1
    assert len(await store.hits(f"lockout:address:{PHONE}", window_s=900)) == 1
    for n in range(3):
        await verifier.verify("jan.kowalski", "000000", address=PHONE, attempt=f"v:CA{n + 2}:4")
    outcome = await verifier.verify("jan.kowalski", "000000", address=PHONE, attempt="v:CA9:4")
    assert outcome.locked  # the fifth try, not the seventh call
    again = await verifier.verify("jan.kowalski", "000000", address=PHONE, attempt="v:CA9:4")
    assert again.locked and not again.ok
    assert len(await store.hits(f"lockout:address:{PHONE}", window_s=900)) == 5


# -- the address throttle ----------------------------------------------------------------------
async def test_ten_failures_from_one_address_throttle_it(
    verifier: Verifier, clock: FakeClock
) -> None:
    await fail(verifier, 4, who="jan.kowalski")
    await fail(verifier, 4, who="firma.nowak")
    await fail(verifier, 2, who="nobody")  # unknown accounts count against the address too
    outcome = await verifier.verify("firma.nowak", FIRMA_CODE, address=PHONE)
    assert outcome == VerifyOutcome(False, False, True, None, "address_throttled", 900)
    assert (await verifier.verify("firma.nowak", FIRMA_CODE, address=CHAT)).ok
    clock.advance(900)
    assert (await verifier.verify("jan.kowalski", JAN_CODE, address=PHONE)).ok


async def test_unknown_accounts_alone_throttle_an_address(verifier: Verifier) -> None:
    for n in range(10):
        outcome = await verifier.verify(f"guess{n}", JAN_CODE, address=PHONE)
        assert outcome.reason == "unknown_account"
    outcome = await verifier.verify("jan.kowalski", JAN_CODE, address=PHONE)
    assert outcome.throttled and outcome.reason == "address_throttled"


async def test_a_throttled_try_does_not_count_against_the_account(verifier: Verifier) -> None:
    await fail(verifier, 10, who="nobody")
    await fail(verifier, 5, who="jan.kowalski")  # all throttled
    assert (await verifier.verify("jan.kowalski", JAN_CODE, address=CHAT)).ok


async def test_a_success_does_not_reset_the_address_failures(verifier: Verifier) -> None:
    await fail(verifier, 4, who="jan.kowalski")
    await fail(verifier, 4, who="nobody")
    assert (await verifier.verify("firma.nowak", FIRMA_CODE, address=PHONE)).ok
    await fail(verifier, 2, who="someone")
    outcome = await verifier.verify("firma.nowak", FIRMA_CODE, address=PHONE)
    assert outcome.reason == "address_throttled"


async def test_the_address_limits_are_configurable(
    directory: AccountDirectory, store: Store, clock: FakeClock
) -> None:
    verifier = Verifier(
        directory, store, KEY, address_max_failures=2, address_window_s=60, clock=clock
    )
    await fail(verifier, 2, who="nobody")
    assert (await verifier.verify("1001", JAN_CODE, address=PHONE)).throttled
    clock.advance(60)
    assert (await verifier.verify("1001", JAN_CODE, address=PHONE)).ok


# -- two processes sharing one store -----------------------------------------------------------
# Memory shares one store object; sqlite and redis open two stores on the same file or server,
# as two router processes would.
@pytest.fixture(params=["memory", "sqlite", "redis"])
async def two_stores(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[Store, Store]]:
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("redis_url")
        await flush_redis(url)
    first = await open_store(url, clock=clock)
    second = first if request.param == "memory" else await open_store(url, clock=clock)
    yield first, second
    for store in {id(first): first, id(second): second}.values():
        await store.aclose()


async def test_two_verifiers_sharing_a_store_share_the_lockout(
    directory: AccountDirectory, two_stores: tuple[Store, Store], clock: FakeClock
) -> None:
    one = Verifier(directory, two_stores[0], KEY, clock=clock)
    two = Verifier(directory, two_stores[1], KEY, clock=clock)
    await fail(one, 3, address=PHONE)
    outcome = await fail(two, 2, address=CHAT)
    assert outcome.locked
    for verifier in (one, two):
        refused = await verifier.verify("jan.kowalski", JAN_CODE, address=TELEGRAM)
        assert refused.reason == "account_locked"
    clock.advance(900)
    assert (await one.verify("jan.kowalski", JAN_CODE, address=TELEGRAM)).ok


async def test_two_processes_hammering_one_account_lose_no_failure(
    directory: AccountDirectory, redis_url: str, clock: FakeClock
) -> None:
    """Two verifiers on two connections to one Redis, as two router processes: the
    failures they count at once all count, so each account locks at exactly the fifth."""
    logins = [f"user{n}" for n in range(8)]
    for n, login in enumerate(logins):
        await directory.add(login, str(3000 + n), JAN_CODE)
    await flush_redis(redis_url)
    first = await open_store(redis_url, clock=clock)
    second = await open_store(redis_url, clock=clock)
    try:
        verifiers = [Verifier(directory, s, KEY, clock=clock) for s in (first, second)]

        async def round_of(tries: int, start: int) -> list[VerifyOutcome]:
            attempts = [
                verifiers[n % 2].verify(login, "000000", address=f"chat:{login}:{start + n}")
                for login in logins
                for n in range(tries)
            ]
            return await asyncio.gather(*attempts)

        four = await round_of(4, 0)  # one short of max_failures
        assert all(o.reason == "wrong_code" and not o.locked for o in four)
        fifth = await round_of(1, 4)
        assert all(o.reason == "wrong_code" and o.locked for o in fifth)
        for n, login in enumerate(logins):
            refused = await verifiers[n % 2].verify(login, JAN_CODE, address=f"telegram:{login}")
            assert refused.reason == "account_locked"
    finally:
        await first.aclose()
        await second.aclose()


# -- logs --------------------------------------------------------------------------------------
async def test_logs_name_the_login_and_address_but_never_the_code(
    verifier: Verifier, directory: AccountDirectory
) -> None:
    with capture_logs() as logs:
        await verifier.verify("jan.kowalski", JAN_CODE, address=PHONE)
        await verifier.verify(JAN_CODE, "jan.kowalski", address=PHONE)  # fields swapped
        await verifier.verify("firma.nowak", JAN_CODE, address=CHAT)
        for _ in range(5):
            await verifier.verify("jan.kowalski", JAN_CODE[::-1], address=CHAT)
        await verifier.verify("jan.kowalski", JAN_CODE, address=CHAT)
        for _ in range(10):
            await verifier.verify("nobody", JAN_CODE, address=TELEGRAM)
        await verifier.verify("firma.nowak", FIRMA_CODE, address=TELEGRAM)
    events = [entry["event"] for entry in logs]
    assert {"account_verified", "verification_failed", "account_locked"} <= set(events)
    assert "address_throttled" in events
    locked = next(entry for entry in logs if entry["event"] == "account_locked")
    assert locked["login"] == "jan.kowalski" and locked["address"] == CHAT
    failed = next(entry for entry in logs if entry["event"] == "verification_failed")
    assert failed["login"] is None and failed["address"] == PHONE
    secrets = [JAN_CODE, JAN_CODE[::-1], FIRMA_CODE]
    secrets += [hash_code(KEY, code) for code in secrets]
    text = repr(logs)
    for secret in secrets:
        assert secret not in text


# -- bad arguments -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "limit", ["max_failures", "window_s", "lock_s", "address_max_failures", "address_window_s"]
)
def test_a_limit_below_one_is_refused(
    directory: AccountDirectory, store: Store, limit: str
) -> None:
    with pytest.raises(VerifyError, match=rf"verification\.{limit} is 0; set it to 1 or more"):
        limits: dict[str, Any] = {limit: 0}
        Verifier(directory, store, KEY, **limits)


async def test_an_empty_address_is_refused(verifier: Verifier) -> None:
    with pytest.raises(VerifyError, match="address is empty"):
        await verifier.verify("jan.kowalski", JAN_CODE, address="")
