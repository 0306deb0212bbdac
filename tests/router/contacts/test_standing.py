"""Where a waiting customer stands: status answers on every text channel, and the unasked
update of a large change, found by looking only at the contacts filed for each claim."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from queues import Channel, ContactState, Direction
from router.contacts import ChangeRule, Standings, StatusWords
from router.contacts.standing import due_kind, standing_key
from router.routing import round_wait_min
from tests.conftest import FakeClock, StoreMaker
from tests.router.conftest import Desk, repo_config, running_desk
from tests.router.testchannel import texts

STORE_BACKENDS = ["memory", "sqlite", "redis"]
#: No agent has handled anything yet: each place in the queue is 300 s (COLD_START).
PLACE_MIN = 5


# -- the words that ask ---------------------------------------------------------------------
WORDS = StatusWords(
    {
        "pl": ["status", "ile jeszcze", "która jestem"],
        "en": ["status", "where am i"],
        "ru": ["статус", "сколько ещё"],
        "he": ["סטטוס", "כמה עוד"],
    }
)


@pytest.mark.parametrize(
    "text",
    [
        "status",
        "Status?",
        "  STATUS!! ",
        "?",
        "??",
        " ？ ",
        "/status",
        "/status@SupportBot",
        "Ile jeszcze?",
        "która  jestem",
        "Where am I?",
        "Статус",
        "сколько еще?",  # ё written as е
        "סטטוס",
        "כמה עוד?",
    ],
)
def test_a_message_of_just_a_status_word_or_a_question_mark_asks(text: str) -> None:
    assert WORDS.asks(text)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "status of my invoice please",
        "Why is the internet down?",
        "?" * 65,
        "ile",
        "/start",
        "5",
    ],
)
def test_other_messages_do_not_ask(text: str | None) -> None:
    assert not WORDS.asks(text)


# -- what is large, and when it can be ------------------------------------------------------
def test_large_is_half_of_what_was_told_and_five_minutes_either_way() -> None:
    rule = ChangeRule(share=0.5, min_minutes=5)
    assert rule.large(40, 20) and rule.large(40, 60) and rule.large(10, 5)
    assert not rule.large(40, 21) and not rule.large(40, 59)
    assert rule.large(6, 1) and not rule.large(5, 1)  # 5 minutes at least
    assert not rule.large(8, 4) and rule.large(8, 3) and rule.large(2, 7)


def test_departures_until_is_the_first_claim_at_which_the_change_is_large() -> None:
    """Against the definition: the fewest claims after which the wait of a contact moving up
    one place per claim has fallen a large step below what it was told. When no place in
    front gets there it names the contact's own place (it is never looked at while it
    waits), and None when no wait of a minute or more could be that low."""
    rng = random.Random(14)
    for _ in range(3000):
        rule = ChangeRule(share=rng.choice([0.25, 0.5, 0.75, 1.0]), min_minutes=rng.randint(1, 10))
        first_s = rng.choice([20.0, 60.0, 90.0, 150.0, 300.0, 437.5])
        position = rng.randint(1, 400)
        told_min = rng.randint(1, 2000)

        def large_down(
            place: int, told: int = told_min, r: ChangeRule = rule, f: float = first_s
        ) -> bool:
            fallen = told - round_wait_min(place * f)
            return fallen >= r.min_minutes and fallen >= r.share * told

        low = math.floor(min(told_min * (1 - rule.share), told_min - rule.min_minutes))
        first = next((k for k in range(1, position) if large_down(position - k)), None)
        expected = None if low < 1 else first or position
        assert rule.departures_until(position, told_min, first_s) == expected, (
            rule,
            first_s,
            position,
            told_min,
        )


# -- through the router, on every store -----------------------------------------------------
@pytest.fixture
async def queue_desk(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Desk]:
    """The app with SMS, chat and Telegram test channels; an agent may hold any number of
    contacts (the queue moves by claims only) and nothing is resolved (the pace stays)."""
    config = repo_config(
        tmp_path,
        desk={"capacity": {}, "exclusive": [], "wrap_up_s": 0},
    )
    async with running_desk(config, await make_store(clock), clock) as running:
        yield running


def standings(desk: Desk) -> Standings:
    found = desk.ctx.service.standing
    assert found is not None
    return found


async def queue_sms(desk: Desk, address: str, first: str = "Internet nie działa") -> str:
    sms = desk.channels[Channel.SMS]
    await sms.say(address, first)
    answer = await sms.say(address, "jan.kowalski 482913")
    assert answer.contact.state is ContactState.WAITING and answer.contact.team == "technical"
    return answer.contact.id


async def claim(desk: Desk) -> str:
    status, claimed = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200, claimed
    await standings(desk).drain()
    return str(claimed["id"])


async def test_a_waiting_sms_customer_is_answered_with_the_place_whatever_they_write(
    queue_desk: Desk,
) -> None:
    sms = queue_desk.channels[Channel.SMS]
    await queue_sms(queue_desk, "+48500000001")
    await queue_sms(queue_desk, "+48500000002")
    answer = await sms.say("+48500000002", "halo?", key="sms:SM-halo")
    assert texts(answer) == ["Twoja sprawa nadal czeka w kolejce: miejsce 2, około 10 min."]
    assert answer.position is not None and answer.position.ahead == 1
    contact = await queue_desk.ctx.store.get_contact(answer.contact.id)
    told = contact.messages[-1]
    assert told.direction is Direction.OUT and told.meta == {"flow": True, "standing": "asked"}
    # The same message again (a provider's retry): the same answer, recorded once.
    again = await sms.say("+48500000002", "halo?", key="sms:SM-halo")
    assert texts(again) == texts(answer)
    contact = await queue_desk.ctx.store.get_contact(answer.contact.id)
    assert [m.meta.get("standing") for m in contact.messages].count("asked") == 1


async def test_status_asks_on_chat_in_the_customer_language_and_nothing_else_does(
    queue_desk: Desk,
) -> None:
    chat = queue_desk.channels[Channel.CHAT]
    session = "s" * 24
    await chat.say(session, "Internet nie działa", language="en")
    await chat.say(session, "jan.kowalski 482913", language="en")
    assert texts(await chat.say(session, "hello, anyone?")) == []  # chat shows the place live
    asked = await chat.say(session, "Status?")
    assert texts(asked) == [
        "Your request is still waiting in the queue: number 1, about 5 minutes."
    ]
    assert asked.position is not None and asked.wait_s == 300.0
    # Taken by an agent: the agent answers, not the router.
    await claim(queue_desk)
    assert texts(await chat.say(session, "status")) == []


async def test_status_in_the_flow_is_an_answer_to_the_flow(queue_desk: Desk) -> None:
    sms = queue_desk.channels[Channel.SMS]
    await sms.say("+48500000003", "Internet nie działa")
    answer = await sms.say("+48500000003", "status")  # the login question's answer
    assert answer.contact.state is ContactState.IN_FLOW
    assert texts(answer) == ["Dziękujemy. Teraz podaj kod autoryzacyjny z panelu klienta."]


async def test_a_status_answer_while_the_team_is_closed_says_when_it_opens(
    queue_desk: Desk,
) -> None:
    queue_desk.clock.now = 1_795_262_400.0  # a Saturday noon in Warsaw: closed
    await queue_sms(queue_desk, "+48500000004")
    answer = await queue_desk.channels[Channel.SMS].say("+48500000004", "?")
    assert texts(answer)[0].startswith("Twoja sprawa nadal czeka w kolejce: miejsce 1. Odpowiemy")


def expected_updates(told: dict[str, int], order: list[str], rule: ChangeRule) -> list[str]:
    """The naive reference: after a claim, every waiting contact's wait against what it
    was told; ``told`` is updated for those told again."""
    sent = []
    for ahead, contact_id in enumerate(order):
        now_min = (ahead + 1) * PLACE_MIN
        if rule.large(told[contact_id], now_min):
            told[contact_id] = now_min
            sent.append(f"{contact_id}:{ahead + 1}")
    return sent


async def test_large_changes_are_sent_once_as_claims_move_the_queue_and_no_others(
    queue_desk: Desk,
) -> None:
    """Claims move 24 SMS customers up: each gets the update exactly when its wait has
    halved since it was last told (the naive rule looking at everyone after every claim
    agrees), once, through the outbox; the claims look only at the contacts filed."""
    ids = [await queue_sms(queue_desk, f"+4850010{n:04d}") for n in range(24)]
    told = {cid: (n + 1) * PLACE_MIN for n, cid in enumerate(ids)}
    rule = ChangeRule()
    sms = queue_desk.channels[Channel.SMS]
    sent_before = len(sms.sent)
    expected: list[str] = []
    for k in range(1, 20):
        assert await claim(queue_desk) == ids[k - 1]
        expected += expected_updates(told, ids[k:], rule)
    await queue_desk.ctx.courier.join()
    sent = sms.sent[sent_before:]
    got = [f"{r.contact_id}:{r.text.split('miejscu ')[1].split(' ')[0]}" for r in sent]
    assert sorted(got) == sorted(expected) and len(got) == len(set(got))
    assert all(r.text.startswith("Zmiana czasu oczekiwania: jesteś teraz na miejscu") for r in sent)
    assert all(r.auto and r.author is None for r in sent)
    # e.g. the 24th: told 120 min at place 24; then 60 at place 12, 30 at 6 (now at 5)
    last = [r.text for r in sent if r.contact_id == ids[23]]
    assert [t.split("około ")[1] for t in last] == ["60 min.", "30 min."]
    # Recorded in its history as what the router said.
    contact = await queue_desk.ctx.store.get_contact(ids[23])
    updates = [m for m in contact.messages if m.meta.get("standing") == "update"]
    assert [m.text for m in updates] == last
    # Each look finds a large change, or a contact claimed before its next filing came.
    assert standings(queue_desk).looked <= len(expected) + len(ids)


async def test_a_claim_looks_at_few_contacts_however_many_wait(queue_desk: Desk) -> None:
    """300 waiting, 150 claims: the naive rule would look at 33,675 contacts; the claims
    look at one per update sent (1,041: about 7 a claim), and at nobody else."""
    ids = [await queue_sms(queue_desk, f"+4850050{n:04d}") for n in range(300)]
    told = {cid: (n + 1) * PLACE_MIN for n, cid in enumerate(ids)}
    expected = 0
    for k in range(1, 151):
        await claim(queue_desk)
        expected += len(expected_updates(told, ids[k:], ChangeRule()))
    looked = standings(queue_desk).looked
    naive = sum(300 - k for k in range(1, 151))
    assert expected <= looked <= expected + 150 and looked * 20 < naive
    await queue_desk.ctx.courier.join(timeout_s=30)
    assert len(queue_desk.channels[Channel.SMS].sent) == expected


async def test_a_status_answer_refiles_the_contact_against_what_it_was_told_last(
    queue_desk: Desk,
) -> None:
    ids = [await queue_sms(queue_desk, f"+4850020{n:04d}") for n in range(8)]
    sms = queue_desk.channels[Channel.SMS]
    for _ in range(3):
        await claim(queue_desk)
    # The 8th was told 40 min at place 8; now at place 5 it asks: told 25 min.
    asked = await sms.say("+48500200007", "status")
    assert "miejsce 5, około 25 min" in texts(asked)[0]
    session = await queue_desk.ctx.store.get_session(standing_key(ids[7]))
    assert session is not None and session["told_min"] == 25
    before = len(sms.sent)
    await claim(queue_desk)  # place 4, 20 min: against 40 min large, against 25 not
    await claim(queue_desk)  # place 3, 15 min: not yet
    await claim(queue_desk)  # place 2, 10 min: the wait halved since 25 min
    await queue_desk.ctx.courier.join()
    mine = [r.text for r in sms.sent[before:] if r.contact_id == ids[7]]
    assert mine == ["Zmiana czasu oczekiwania: jesteś teraz na miejscu 2 w kolejce, około 10 min."]


async def test_a_contact_gone_before_its_filing_is_dropped_and_nothing_is_sent(
    queue_desk: Desk,
) -> None:
    ids = [await queue_sms(queue_desk, f"+4850030{n:04d}") for n in range(4)]
    store = queue_desk.ctx.store
    # Filed at enqueue, by the claims to come: the 1st (5 min) never, the 2nd (10 min) at
    # the 1st claim, the 3rd (15 min, place 1 is 5) and the 4th (20 min, place 2) at the 2nd.
    assert set(await store.all_docs(due_kind("technical", 1))) == {ids[1]}
    assert set(await store.all_docs(due_kind("technical", 2))) == {ids[2], ids[3]}
    await store.remove(ids[3])  # the customer gave up
    sms = queue_desk.channels[Channel.SMS]
    before = len(sms.sent)
    await claim(queue_desk)
    await claim(queue_desk)
    await queue_desk.ctx.courier.join()
    assert {r.contact_id for r in sms.sent[before:]} == {ids[1], ids[2]}
    assert await store.all_docs(due_kind("technical", 1)) == {}
    assert await store.all_docs(due_kind("technical", 2)) == {}


async def test_the_update_goes_out_once_however_many_processes_find_it(
    queue_desk: Desk,
) -> None:
    """Two looks at the same filing (two processes, or a look retried after a failure)
    post the same parcel id: the outbox takes it once."""
    ids = [await queue_sms(queue_desk, f"+4850040{n:04d}") for n in range(2)]
    sms = queue_desk.channels[Channel.SMS]
    await claim(queue_desk)  # the 2nd: 10 -> 5 min, sent
    await queue_desk.ctx.courier.join()
    first = [r for r in sms.sent if r.contact_id == ids[1]]
    assert len(first) == 1
    # Replay the look of that claim: the same change is found, and refused by the outbox.
    store = queue_desk.ctx.store
    await store.put_doc(due_kind("technical", 1), ids[1], {"told_min": 10, "sent": 0})
    await store.delete_session(standing_key(ids[1]))
    pace = await queue_desk.ctx.service.announcer.pace("technical")
    await standings(queue_desk)._check("technical", 1, ids[1], {"told_min": 10, "sent": 0}, pace)
    await queue_desk.ctx.courier.join()
    assert len([r for r in sms.sent if r.contact_id == ids[1]]) == 1
    contact = await store.get_contact(ids[1])
    assert [m.meta.get("standing") for m in contact.messages].count("update") == 1
