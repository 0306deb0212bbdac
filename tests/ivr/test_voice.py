"""Every branch of the shipped voice flow, on the pure engine with the real config.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from ivr import TERMINAL, Enqueue, Expect, Facts, Prompt, StateError, Verify

from .conftest import ALL_OPEN, CODE, Start, Talk

LANGUAGES = ("pl", "en", "ru", "he")


def test_call_opens_with_the_language_menu_in_every_language(talk: Start) -> None:
    call = talk("voice")
    assert call.step.prompts == tuple(
        Prompt("choose_language", {"team": "technical"}, lang) for lang in LANGUAGES
    )
    assert call.step.expect == Expect("digits", num_digits=1, finish_on_key=None, timeout_s=5.0)
    assert call.node == "language"
    assert call.step.effect is None
    assert call.texts()[0].startswith("Dzień dobry")
    assert call.texts()[3] == "לשירות בעברית, הקישו 4."


@pytest.mark.parametrize(
    ("digit", "language"), [("1", "pl"), ("2", "en"), ("3", "ru"), ("4", "he")]
)
def test_each_language_choice_sets_the_language_and_asks_for_the_number(
    talk: Start, digit: str, language: str
) -> None:
    call = talk("voice").answer(digit)
    assert call.step.state.language == language
    assert call.vars["language"] == language
    assert call.keys == ["ask_number"]
    assert call.step.prompts[0].language == language
    assert call.node == "number"
    assert call.step.expect == Expect("digits", num_digits=None, finish_on_key="#", timeout_s=8.0)


def test_language_menu_timeout_reprompts_in_every_language(talk: Start) -> None:
    call = talk("voice").answer(None)
    assert call.keys == ["no_input"] * 4 + ["choose_language"] * 4
    assert call.step.state.tries == 1
    assert call.node == "language"


def test_language_menu_invalid_digit_reprompts_then_falls_back_to_the_default(talk: Start) -> None:
    call = talk("voice").answer("9")
    assert call.keys == ["invalid_choice"] * 4 + ["choose_language"] * 4
    call.answer(None)
    assert call.step.state.tries == 2
    call.answer("7")
    assert call.keys == ["ask_number"]
    assert call.step.state.language == "pl"
    assert call.step.state.tries == 0


def test_open_incident_is_announced_before_the_number(talk: Start) -> None:
    facts = Facts(incidents={"technical": "Awaria łącza w Krakowie"})
    call = talk("voice", facts).answer("1")
    assert call.keys == ["incident", "ask_number"]
    assert call.step.prompts[0].params["incident"] == "Awaria łącza w Krakowie"
    assert call.texts()[0].startswith("Informujemy o trwającej awarii: Awaria łącza w Krakowie.")


def test_same_incident_on_several_teams_is_announced_once(talk: Start) -> None:
    facts = Facts(incidents={"billing": "Awaria", "technical": "Awaria", "*": "Przerwa"})
    call = talk("voice", facts).answer("2")
    assert [p.params.get("incident") for p in call.step.prompts] == ["Przerwa", "Awaria", None]


def test_no_incident_nothing_is_announced(talk: Start) -> None:
    assert talk("voice").answer("2").keys == ["ask_number"]


def test_number_then_code_asks_for_verification(talk: Start) -> None:
    call = talk("voice").answer("2")
    assert call.step.expect.secret is False
    call.answer("1001")
    assert call.keys == ["ask_code"]
    assert call.step.expect == Expect("digits", None, "#", 8.0, secret=True)
    assert call.vars["number"] == "1001"
    call.answer(CODE)
    assert call.step.effect == Verify(identifier="1001", code=CODE)
    assert call.step.expect == Expect("none")
    assert call.node == "verify"
    assert call.keys == []


def test_hash_key_left_in_the_answer_is_ignored(talk: Start) -> None:
    call = talk("voice").answer("2").answer("1001#").answer(CODE + "#")
    assert call.step.effect == Verify(identifier="1001", code=CODE)


def test_verified_caller_hears_confirmation_and_the_team_menu(talk: Start) -> None:
    call = talk("voice").answer("2").answer("1001").answer(CODE)
    call.result(ok=True, account="jan.kowalski", tier="residential")
    assert call.keys == ["auth_ok", "team_menu"]
    assert call.vars["verified"] == "1"
    assert call.vars["account"] == "jan.kowalski"
    assert call.node == "team"
    assert call.texts() == [
        "Thank you, your identity has been confirmed.",
        "For billing and payments, press 1. For technical support, press 2. "
        "For domains and hosting, press 3. To make a complaint, press 4.",
    ]


def test_wrong_code_asks_for_both_again_then_succeeds(talk: Start) -> None:
    call = talk("voice").answer("1").answer("1001").answer("111111").result(ok=False)
    assert call.keys == ["auth_failed", "ask_number"]
    assert call.node == "number"
    assert call.step.state.failures == 1
    call.answer("1001").answer(CODE).result(ok=True, account="jan.kowalski")
    assert call.keys == ["auth_ok", "team_menu"]
    assert call.vars["verified"] == "1"


def test_three_wrong_codes_go_on_unverified(talk: Start) -> None:
    call = talk("voice").answer("1")
    for _ in range(2):
        call.answer("1001").answer("000000").result(ok=False)
        assert call.keys == ["auth_failed", "ask_number"]
    call.answer("1001").answer("000000").result(ok=False)
    assert call.keys == ["auth_exhausted", "team_menu"]
    assert call.vars["verified"] == "0"
    assert call.step.state.failures == 3
    call.answer("2")
    assert call.step.effect == Enqueue("technical", complaint=False, prompt="queued")


def test_locked_account_goes_on_unverified_at_once(talk: Start) -> None:
    call = talk("voice").answer("1").answer("1001").answer(CODE).result(ok=False, locked=True)
    assert call.keys == ["auth_locked", "team_menu"]
    assert call.vars["verified"] == "0"
    assert call.texts()[0].startswith("Konto jest czasowo zablokowane")


def test_number_timeouts_reprompt_then_go_on_unverified(talk: Start) -> None:
    call = talk("voice").answer("1").answer(None)
    assert call.keys == ["no_input", "ask_number"]
    call.answer("12")  # too short for a customer number
    assert call.keys == ["invalid_input", "ask_number"]
    call.answer(None)
    assert call.keys == ["verify_skipped", "team_menu"]
    assert call.node == "team"
    assert call.vars["verified"] == "0"


def test_code_timeouts_reprompt_then_go_on_unverified(talk: Start) -> None:
    call = talk("voice").answer("1").answer("1001").answer(None).answer("")
    assert call.keys == ["no_input", "ask_code"]
    call.answer(None)
    assert call.keys == ["verify_skipped", "team_menu"]
    assert call.step.effect is None


def _at_team_menu(talk: Start, facts: Facts = ALL_OPEN, **result: Any) -> Talk:
    call = talk("voice", facts).answer("1").answer("1001").answer(CODE)
    return call.result(ok=True, account="jan.kowalski", **result)


@pytest.mark.parametrize(
    ("digit", "team"), [("1", "billing"), ("2", "technical"), ("3", "domains_hosting")]
)
def test_each_team_is_queued(talk: Start, digit: str, team: str) -> None:
    call = _at_team_menu(talk).answer(digit)
    assert call.step.effect == Enqueue(team, complaint=False, prompt="queued")
    assert call.keys == []
    assert call.node == TERMINAL
    assert call.step.expect == Expect("none")
    assert call.vars["team"] == team


def test_complaint_option_asks_the_area_and_queues_a_complaint(talk: Start) -> None:
    call = _at_team_menu(talk).answer("4")
    assert call.keys == ["complaint_team_menu"]
    assert call.vars["complaint"] == "1"
    call.answer("3")
    assert call.keys == ["complaint_registered"]
    assert call.step.effect == Enqueue("domains_hosting", complaint=True, prompt="queued")


def test_complaint_area_unanswered_goes_to_the_default_team(talk: Start) -> None:
    call = _at_team_menu(talk).answer("4").answer(None).answer(None).answer(None)
    assert call.keys == ["team_default", "complaint_registered"]
    assert call.step.effect == Enqueue("technical", complaint=True, prompt="queued")


def test_team_menu_invalid_digits_reprompt_then_default_team(talk: Start) -> None:
    call = _at_team_menu(talk).answer("9")
    assert call.keys == ["invalid_choice", "team_menu"]
    call.answer(None)
    assert call.keys == ["no_input", "team_menu"]
    call.answer("0")
    assert call.keys == ["team_default"]
    assert call.texts() == ["Nie wybrano działu. Łączymy z działem: Wsparcie techniczne."]
    assert call.step.effect == Enqueue("technical", complaint=False, prompt="queued")


def test_negative_balance_asking_technical_is_offered_billing_and_takes_it(talk: Start) -> None:
    call = _at_team_menu(talk, balance_negative=True).answer("2")
    assert call.keys == ["negative_balance_offer"]
    assert call.node == "offer_billing"
    call.answer("1")
    assert call.step.effect == Enqueue("billing", complaint=False, prompt="queued")


def test_negative_balance_asking_technical_may_continue_to_technical(talk: Start) -> None:
    call = _at_team_menu(talk, balance_negative=True).answer("2").answer("2")
    assert call.step.effect == Enqueue("technical", complaint=False, prompt="queued")


def test_negative_balance_offer_unanswered_stays_with_technical(talk: Start) -> None:
    call = _at_team_menu(talk, balance_negative=True).answer("2").answer(None)
    assert call.keys == ["no_input", "negative_balance_offer"]
    call.answer("5")
    assert call.step.effect == Enqueue("technical", complaint=False, prompt="queued")


def test_negative_balance_asking_billing_is_not_offered_anything(talk: Start) -> None:
    call = _at_team_menu(talk, balance_negative=True).answer("1")
    assert call.keys == []
    assert call.step.effect == Enqueue("billing", complaint=False, prompt="queued")


def test_out_of_hours_caller_is_told_the_hours_and_still_queued(talk: Start) -> None:
    facts = Facts(hours={"billing": "od poniedziałku do piątku w godz. 10:00–18:00"})
    call = _at_team_menu(talk, facts).answer("1")
    assert call.keys == ["out_of_hours"]
    assert call.texts() == [
        "Dział „Rozliczenia” pracuje od poniedziałku do piątku w godz. 10:00–18:00. "
        "Przyjmujemy Twoje zgłoszenie; zajmiemy się nim po otwarciu."
    ]
    assert call.step.effect == Enqueue("billing", complaint=False, prompt="queued")


def test_out_of_hours_without_hours_text_is_queued_silently(talk: Start) -> None:
    call = _at_team_menu(talk, Facts()).answer("3")
    assert call.keys == []
    assert call.step.effect == Enqueue("domains_hosting", complaint=False, prompt="queued")


def test_scripted_demo_call(talk: Start) -> None:
    """`switchboard call --press "2 1001# 482913# 2"`."""
    call = talk("voice").answer("2").answer("1001").answer(CODE)
    call.result(ok=True, account="jan.kowalski", tier="residential").answer("2")
    assert call.step.effect == Enqueue("technical", complaint=False, prompt="queued")
    assert call.step.state.language == "en"
    queued = call.engine.render(Prompt("queued", {"position": "1", "wait_min": "2"}), "en")
    assert queued == (
        "You are number 1 in the queue. The estimated wait is about 2 minutes. "
        "Please stay on the line."
    )


def test_finished_call_refuses_more_input(talk: Start) -> None:
    call = _at_team_menu(talk).answer("1")
    with pytest.raises(StateError, match="has finished"):
        call.answer("1")


def test_answer_while_waiting_for_verification_is_refused(talk: Start) -> None:
    call = talk("voice").answer("1").answer("1001").answer(CODE)
    with pytest.raises(StateError, match="call resume"):
        call.answer("1")


def test_resume_outside_verification_is_refused(talk: Start) -> None:
    with pytest.raises(StateError, match="not a verify node"):
        talk("voice").result(ok=True)
