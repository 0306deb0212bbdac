"""Every branch of the shipped voice flow, called by the IVR simulator through the real app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.simulator.call import Outcome
from ivr.simulator.many import place_calls
from queues import ContactState, Direction, Store, open_store
from tests.channels.twilio.voice_support import (
    AUTH_TOKEN,
    SPEED,
    Phone,
    languages,
    phone,
    said,
    to_saturday,
)
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory", "sqlite", "redis"]
CODE = "482913"
ASK_NUMBER = {
    "pl-PL": "Wprowadź numer klienta i zakończ krzyżykiem.",
    "en-US": "Please enter your customer number, followed by the hash key.",
    "ru-RU": "Введите номер клиента и нажмите решётку.",
    "he-IL": "נא להקיש את מספר הלקוח ולאחר מכן סולמית.",
}
MENU_LINES = [
    "Dzień dobry, tu biuro obsługi klienta. Aby kontynuować po polsku, wciśnij 1.",
    "For English, press 2.",
    "Для обслуживания на русском языке нажмите 3.",
    "לשירות בעברית, הקישו 4.",
]


@pytest.fixture
async def desk(tmp_path: Path, clock: FakeClock, store: Store) -> AsyncIterator[Phone]:
    async with phone(tmp_path, clock, store) as running:
        yield running


@pytest.mark.parametrize(
    ("digit", "locale", "language"),
    [("1", "pl-PL", "pl"), ("2", "en-US", "en"), ("3", "ru-RU", "ru"), ("4", "he-IL", "he")],
)
async def test_each_language_is_spoken_in_its_own_voice_to_the_queue(
    desk: Phone, digit: str, locale: str, language: str
) -> None:
    result = await desk.call(f"{digit} 1001# {CODE}# 2")
    texts = said(result)
    assert texts[:4] == MENU_LINES
    assert languages(result)[:4] == ["pl-PL", "en-US", "ru-RU", "he-IL"]
    assert texts[4] == ASK_NUMBER[locale]
    assert set(languages(result)[4:]) == {locale}
    assert result.outcome is Outcome.ABANDONED and result.reason == "max_hold"
    contact = await desk.contact(result.call_sid)
    assert contact.language == language and contact.verified
    assert contact.team == "technical" and contact.account == "jan.kowalski"
    assert contact.state is ContactState.ABANDONED  # it hung up on hold
    assert contact.priority == 120


async def test_the_auth_code_never_reaches_the_history(desk: Phone) -> None:
    result = await desk.call(f"2 1001# {CODE}# 1")
    contact = await desk.contact(result.call_sid)
    inbound = [m.text for m in contact.messages if m.direction is Direction.IN]
    assert inbound == ["", "2", "1001", "••••••", "1"]
    assert CODE not in str(contact.to_dict())


async def test_wrong_code_asks_for_both_again_then_verifies(desk: Phone) -> None:
    result = await desk.call(f"2 1001# 111111# 1001# {CODE}# 1")
    texts = said(result)
    failed = texts.index(
        "The customer number or the authorisation code is not correct. Let's try again."
    )
    assert texts[failed + 1] == ASK_NUMBER["en-US"]
    assert "Thank you, your identity has been confirmed." in texts[failed:]
    contact = await desk.contact(result.call_sid)
    assert contact.verified and contact.team == "billing"


async def test_three_wrong_codes_go_on_unverified(desk: Phone) -> None:
    result = await desk.call("2" + " 1001# 000000#" * 3 + " 3")
    texts = said(result)
    assert (
        texts.count(
            "The customer number or the authorisation code is not correct. Let's try again."
        )
        == 2
    )
    assert any(t.startswith("We could not confirm your identity.") for t in texts)
    contact = await desk.contact(result.call_sid)
    assert not contact.verified and contact.account is None
    assert contact.team == "domains_hosting"


async def test_locked_account_is_told_at_once_and_goes_on_unverified(desk: Phone) -> None:
    await desk.call("2" + " 1001# 000000#" * 3)  # three failures, then hangs up at the menu
    await desk.call("2" + " 1001# 000000#" * 2)  # the fifth failure locks the account
    result = await desk.call(f"2 1001# {CODE}# 2")
    texts = said(result)
    assert texts[6].startswith("The account is temporarily locked")
    assert "Thank you, your identity has been confirmed." not in texts
    contact = await desk.contact(result.call_sid)
    assert not contact.verified and contact.team == "technical"


async def test_out_of_hours_the_caller_is_told_the_hours_and_still_queued(
    desk: Phone,
) -> None:
    to_saturday(desk.clock)
    result = await desk.call(f"2 1001# {CODE}# 1")
    texts = said(result)
    assert any(t.startswith("Our Billing team is available") for t in texts)
    assert texts[-1].startswith("You are number 1 in the queue.")
    contact = await desk.contact(result.call_sid)
    assert contact.team == "billing" and contact.queued_at is not None


async def test_open_incident_is_announced_before_the_number(desk: Phone) -> None:
    status, _ = await desk.api(
        "ania", "POST", "/api/incidents", {"team": "technical", "text": "Awaria łącza w Krakowie"}
    )
    assert status == 201
    result = await desk.call(f"1 1001# {CODE}# 2")
    texts = said(result)
    assert texts[4].startswith("Informujemy o trwającej awarii: Awaria łącza w Krakowie.")
    assert texts[5] == ASK_NUMBER["pl-PL"]
    contact = await desk.contact(result.call_sid)
    assert contact.priority == 120 + 60  # voice + an open incident on the team


@pytest.mark.parametrize(
    ("press", "team"), [("1", "billing"), ("2", "technical"), ("3", "domains_hosting")]
)
async def test_each_team_of_the_menu_queues_there(desk: Phone, press: str, team: str) -> None:
    result = await desk.call(f"2 1001# {CODE}# {press}")
    contact = await desk.contact(result.call_sid)
    assert contact.team == team
    status, queues = await desk.api("ania", "GET", "/api/queues")
    assert status == 200 and all(q["waiting"] == 0 for q in queues)  # it hung up on hold


async def test_complaint_asks_its_team_and_is_registered(desk: Phone) -> None:
    result = await desk.call(f"2 1001# {CODE}# 4 2")
    texts = said(result)
    assert texts[-3].startswith("What is your complaint about?")
    assert texts[-2].startswith("We will register this as a complaint")
    contact = await desk.contact(result.call_sid)
    assert contact.team == "technical" and contact.meta["complaint"] is True


async def test_negative_balance_asking_for_technical_is_offered_billing(desk: Phone) -> None:
    result = await desk.call("2 3003# 115577# 2 1")
    texts = said(result)
    assert texts[-2].startswith("Your account has an overdue balance.")
    contact = await desk.contact(result.call_sid)
    assert contact.team == "billing" and contact.account == "anna.dluzna"


async def test_timeout_reprompts_and_no_answer_to_the_team_menu_takes_the_default(
    desk: Phone,
) -> None:
    result = await desk.call(f"- 2 1001# {CODE}# - - -")
    texts = said(result)
    assert texts[4:8] == [
        "Nie usłyszeliśmy odpowiedzi.",
        "We did not hear your answer.",
        "Мы не услышали ответа.",
        "לא שמענו את תשובתך.",
    ]
    assert texts[8:12] == MENU_LINES
    assert texts.count("We did not hear your answer.") == 3  # once more per menu timeout
    assert "No team was chosen. We are putting you through to Technical support." in texts
    gathers = [e for e in result.events if e["type"] == "gather"]
    assert [g["ended"] for g in gathers] == ["timeout"] + ["num_digits"] + ["finish_on_key"] * 2 + [
        "timeout"
    ] * 3
    contact = await desk.contact(result.call_sid)
    assert contact.team == "technical" and contact.verified
    inbound = [m for m in contact.messages if m.direction is Direction.IN]
    assert sum(1 for m in inbound if m.meta.get("timeout")) == 1 + 1 + 3  # call start too


async def test_invalid_digits_reprompt_and_three_fall_back_to_the_default_language(
    desk: Phone,
) -> None:
    result = await desk.call("9 8 7 1001# 000# 55#")
    texts = said(result)
    assert texts[4] == "Nie ma takiej opcji."
    assert texts[8:12] == MENU_LINES
    assert texts.count("Nie ma takiej opcji.") == 2  # the third wrong digit falls back
    assert texts[20] == ASK_NUMBER["pl-PL"]  # the default language
    assert texts.count("Wprowadzone cyfry są nieprawidłowe.") == 2  # 000 and 55: too short
    assert result.outcome is Outcome.HUNG_UP
    contact = await desk.contact(result.call_sid)
    assert contact.language == "pl" and contact.state is ContactState.ABANDONED


async def test_caller_hanging_up_in_the_flow_closes_the_contact(desk: Phone) -> None:
    result = await desk.call("2 1001#")
    assert result.outcome is Outcome.HUNG_UP and result.reason == "no_more_keys"
    assert result.events[-1]["type"] == "status_callback"
    assert result.events[-1]["status"] == 204
    assert result.events[-1]["form"]["CallStatus"] == "completed"
    contact = await desk.contact(result.call_sid)
    assert contact.state is ContactState.ABANDONED and contact.queued_at is None


async def test_caller_hanging_up_on_hold_is_abandoned_after_max_hold(desk: Phone) -> None:
    echo: list[str] = []
    result = await desk.call(f"2 1001# {CODE}# 2", max_hold_s=20, echo=echo)
    assert result.outcome is Outcome.ABANDONED and result.reason == "max_hold"
    pauses = [e for e in result.events if e["type"] == "pause"]
    (hangup,) = [e for e in result.events if e["type"] == "hangup"]
    assert hangup["by"] == "caller" and len(pauses) >= 3
    assert 20 <= hangup["at_s"] - pauses[0]["at_s"] < 30  # call seconds on hold
    assert echo[-1] == "you hung up (max hold)"
    contact = await desk.contact(result.call_sid)
    assert contact.state is ContactState.ABANDONED and contact.team == "technical"
    _, stats = await desk.api("ania", "GET", "/api/stats")
    technical = next(t for t in stats["teams"] if t["team"] == "technical")
    assert technical["abandoned"] == 1


@pytest.mark.parametrize(
    ("agent", "line"),
    [
        ("ania", "connected to agent ania (client ania-desk)"),
        ("tomek", "connected to agent +48500999888"),
        ("ola", "connected to agent ola"),
    ],
)
async def test_agent_claiming_on_hold_connects_the_caller(
    desk: Phone, agent: str, line: str
) -> None:
    echo: list[str] = []
    team = "technical" if agent == "tomek" else "billing"
    press = f"2 1001# {CODE}# {'2' if team == 'technical' else '1'}"
    call = asyncio.create_task(
        desk.call(press, max_hold_s=3600, call_sid="CA" + "a" * 32, echo=echo)
    )
    await desk.wait_until("CA" + "a" * 32, ContactState.WAITING)
    status, claimed = await desk.api(agent, "POST", "/api/claim", {"teams": [team]})
    assert status == 200 and claimed["channel"] == "voice"
    result = await call
    assert result.outcome is Outcome.CONNECTED and result.exit_code == 0
    assert echo[-2:] == ["[en-US] Connecting you to an agent.", line]
    assert (await desk.contact(result.call_sid)).state is ContactState.ASSIGNED


async def test_many_calls_are_summarised(desk: Phone) -> None:
    from functools import partial

    from channels.twilio.auth import sign
    from ivr.simulator.call import CallSpec

    spec = CallSpec(url=desk.base, speed=SPEED, max_hold_s=0)
    results, summary = await place_calls(
        spec,
        ["2", "1001#", f"{CODE}#", "1"],
        calls=6,
        concurrency=3,
        sign=partial(sign, AUTH_TOKEN),
    )
    assert summary.calls == 6 and summary.abandoned == 6 and summary.errors == 0
    assert len({r.call_sid for r in results}) == 6 and len({r.from_number for r in results}) == 6
    assert summary.requests == 6 * 6  # call, 4 steps, the first hold poll
    assert 0 < summary.p50_ms <= summary.p95_ms <= summary.p99_ms
    contacts = await desk.store.list_contacts(channel="voice", state="abandoned")
    assert len(contacts) == 6 and {c.team for c in contacts} == {"billing"}
    assert "6 calls in" in summary.render() and "6 abandoned" in summary.render()


async def test_a_call_round_trip_on_sqlite(tmp_path: Path, clock: FakeClock) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'voice.db'}", clock=clock)
    try:
        async with phone(tmp_path, clock, store) as desk:
            call = asyncio.create_task(
                desk.call(f"2 1001# {CODE}# 2", max_hold_s=3600, call_sid="CA" + "b" * 32)
            )
            await desk.wait_until("CA" + "b" * 32, ContactState.WAITING)
            status, _ = await desk.api("ania", "POST", "/api/claim", {"teams": ["technical"]})
            assert status == 200
            result = await call
            assert result.outcome is Outcome.CONNECTED and result.agent == "ania"
    finally:
        await store.aclose()
