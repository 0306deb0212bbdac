"""A caller's code is checked in a quick turn (``router/contacts/quick.py``): no
conversation lock, the contact marked verified before the turn, the flow resumed with the
outcome. When the store refuses that turn, the locked path checks the same message again,
and a wrong code still counts once toward the lockouts; nobody gets in with a wrong code,
and digits meant for a menu are never tried as a code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from queues import Direction, Store, Turn, TurnOutcome, TurnResult
from router.contacts.service import ContactService
from tests.conftest import FakeClock, StoreMaker
from tests.router.contacts.test_quick import Counting, service_on, sms
from tests.router.contacts.test_quick_enqueue import voice

JAN_CODE = "482913"
CALLER = "+48600100200"  # voice() calls from it
ACCOUNT_HITS = "lockout:account:jan.kowalski"


class Refusing(Counting):
    """A store that refuses every turn while ``refuse`` is set (another process wrote the
    session first, say), so the router checks the code again on its locked path."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.refuse = False

    async def apply_turn(self, turn: Turn) -> TurnResult:
        self.calls["apply_turn"] += 1
        if self.refuse:
            return TurnResult(TurnOutcome.CHANGED)
        return await self.inner.apply_turn(turn)


@pytest.fixture
async def desk(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[ContactService, Refusing]]:
    store = Refusing(await make_store(clock))
    async with service_on(store, clock, tmp_path) as service:
        yield service, store


async def to_the_code(service: ContactService, sid: str) -> None:
    """A call answered up to the code question: English, then the customer number."""
    for step, digits in enumerate([None, "2", "1001"]):
        await service.receive(voice(sid, step, digits))


async def failures(store: Store, address: str = CALLER) -> tuple[int, int]:
    account = await store.hits(ACCOUNT_HITS, window_s=900)
    at_address = await store.hits(f"lockout:address:{address}", window_s=900)
    return len(account), len(at_address)


async def test_a_callers_code_is_checked_in_a_quick_turn(
    desk: tuple[ContactService, Refusing],
) -> None:
    service, store = desk
    await to_the_code(service, "CA1")
    store.calls.clear()
    answer = await service.receive(voice("CA1", 3, JAN_CODE))
    # The session read first (a code is never checked against a guess), no lock, the
    # account's lock state read by the check, the contact marked verified, then the turn.
    assert store.conversation_calls() == {
        "get_sessions": 1,
        "get_contact": 1,
        "get_session": 1,
        "update_contact": 1,
        "apply_turn": 1,
    }
    assert answer.contact.verified and answer.contact.account == "jan.kowalski"
    said = [p.text for p in answer.prompts]
    assert said[0] == "Thank you, your identity has been confirmed."
    assert said[-1].startswith("For billing and payments, press 1.")
    assert answer.expect is not None and not answer.expect.secret  # the team menu next
    contact = await store.inner.get_contact(answer.contact.id)
    typed = [m.text for m in contact.messages if m.direction is Direction.IN]
    assert JAN_CODE not in typed and typed[-1] == "••••••"  # the code is never kept
    assert contact.verified and contact.verify_method == "voice:login+code"
    assert await failures(store.inner) == (0, 0)
    # The menu step follows from what this process knows: no read, one turn.
    store.calls.clear()
    queued = await service.receive(voice("CA1", 4, "2"))
    assert queued.position is not None and queued.contact.team == "technical"
    assert "get_sessions" not in store.conversation_calls()


async def test_a_wrong_code_is_refused_and_the_flow_goes_on(
    desk: tuple[ContactService, Refusing],
) -> None:
    service, store = desk
    await to_the_code(service, "CA1")
    store.calls.clear()
    answer = await service.receive(voice("CA1", 3, "000000"))
    assert "acquire_lock" not in store.conversation_calls()
    assert not answer.contact.verified and answer.contact.account is None
    assert answer.expect is not None  # the flow asks again, as on the locked path
    assert await failures(store.inner) == (1, 1)
    stored = await store.inner.get_contact(answer.contact.id)
    assert not stored.verified and stored.account is None


def counted(service: ContactService, reason: str) -> float:
    """The verifications ``/metrics`` counts with ``reason``."""
    assert service.metrics is not None
    sample = service.metrics.registry.get_sample_value(
        "switchboard_verifications_total", {"result": reason}
    )
    return sample or 0.0


@pytest.mark.parametrize("code", ["000000", JAN_CODE], ids=["wrong", "right"])
async def test_a_refused_turn_checks_the_code_again_and_counts_it_once(
    desk: tuple[ContactService, Refusing], code: str
) -> None:
    """The quick turn checks the code, the store refuses its turn, and the locked path
    checks it again: the outcome is the same, and a wrong code is one failure for the
    account and one for the address. ``/metrics`` counts the try once too."""
    service, store = desk
    await to_the_code(service, "CA1")
    store.calls.clear()
    store.refuse = True
    answer = await service.receive(voice("CA1", 3, code))
    store.refuse = False
    calls = store.conversation_calls()
    assert calls["apply_turn"] == 1 and calls["acquire_lock"] == 1  # then the locked path
    right = code == JAN_CODE
    assert answer.contact.verified is right
    assert (await store.inner.get_contact(answer.contact.id)).verified is right
    assert await failures(store.inner) == ((0, 0) if right else (1, 1))
    reason = "ok" if right else "wrong_code"
    assert counted(service, reason) == 1
    # A retry of the same step, as a provider sends it, counts nothing more either.
    again = await service.receive(voice("CA1", 3, code))
    assert again.duplicate and [p.text for p in again.prompts] == [p.text for p in answer.prompts]
    assert await failures(store.inner) == ((0, 0) if right else (1, 1))
    assert counted(service, reason) == 1
    # Another try is another count.
    await to_the_code(service, "CA2")
    await service.receive(voice("CA2", 3, code))
    assert counted(service, reason) == 2


async def test_five_wrong_codes_in_quick_turns_lock_the_account(
    desk: tuple[ContactService, Refusing],
) -> None:
    """The lockout holds across quick turns: the fifth wrong code (here, over five calls)
    locks the account, and then even the right code is refused."""
    service, store = desk
    for n in range(5):
        await to_the_code(service, f"CA{n}")
        refused = await service.receive(voice(f"CA{n}", 3, "000000"))
        assert not refused.contact.verified
        store.calls.clear()
    assert len(await store.inner.hits(ACCOUNT_HITS, window_s=900)) == 0  # cleared by the lock
    assert await store.inner.get_session(ACCOUNT_HITS) is not None  # the lock
    await to_the_code(service, "CA9")
    locked = await service.receive(voice("CA9", 3, JAN_CODE))
    assert not locked.contact.verified
    assert not (await store.inner.get_contact(locked.contact.id)).verified


async def test_a_router_whose_memory_of_the_call_is_stale_tries_no_other_digits_as_a_code(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> None:
    """Behind a load balancer a call's steps reach either router. Router a took the steps
    up to the code question, b took a wrong code (the flow asks for the customer number
    again); the number then reaches a, which still knows the call at its code question:
    it must read the session before checking anything, so the number is not tried as a
    code, and the one wrong code counts once."""
    store = Counting(await make_store(clock))
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    async with (
        service_on(store, clock, tmp_path / "a") as a,
        service_on(store, clock, tmp_path / "b") as b,
    ):
        await to_the_code(a, "CA1")
        refused = await b.receive(voice("CA1", 3, "000000"))
        assert not refused.contact.verified
        await a.receive(voice("CA1", 4, "1001"))  # the customer number, asked again
        assert await failures(store.inner) == (1, 1)
        verified = await b.receive(voice("CA1", 5, JAN_CODE))
    assert (await store.inner.get_contact(verified.contact.id)).verified


async def test_a_code_texted_alone_takes_the_locked_path(
    desk: tuple[ContactService, Refusing],
) -> None:
    """A text conversation may have several messages in flight; under the conversation's
    lock they are taken in order, so a message sent right after the code is not checked
    as one."""
    service, store = desk
    await service.receive(sms("+48500100301", "Dzień dobry", "SM1"))
    await service.receive(sms("+48500100301", "jan.kowalski", "SM2"))
    store.calls.clear()
    answer = await service.receive(sms("+48500100301", JAN_CODE, "SM3"))
    assert store.conversation_calls()["acquire_lock"] == 1
    # The answer tells the contact as the check left it, as the quick path's does.
    assert answer.contact.verified and answer.contact.account == "jan.kowalski"
    contact = await store.inner.get_contact(answer.contact.id)
    assert contact.verified and contact.account == "jan.kowalski"
    assert JAN_CODE not in [m.text for m in contact.messages]
