"""The engine's records and edges: state round trip, rendering, misuse, End, loops."""

from __future__ import annotations

import dataclasses
import json
import textwrap

import pytest
import yaml

from ivr import (
    TERMINAL,
    End,
    Engine,
    Enqueue,
    Facts,
    FlowBook,
    FlowState,
    Prompt,
    StateError,
    parse_book,
)

SMALL = """
languages: {default: pl, supported: [pl, en]}
teams: {billing: {names: {pl: Rozliczenia, en: Billing}}, technical: {}}
prompts:
  bye: {pl: "Do widzenia", en: "Goodbye"}
  hi: {pl: "Cześć {team} {nobody}", en: "Hi {team}"}
  only_pl: {pl: "Tylko po polsku"}
flows:
  hangup:
    input: digits
    start: bye
    nodes:
      bye: {type: end, reason: no_agents, prompt: bye}
  spin:
    input: digits
    start: a
    nodes:
      a: {type: announce, what: prompt, prompt: hi, next: b}
      b: {type: branch, condition: verified, "yes": done, "no": a}
      done: {type: queue, team: billing}
  fixed:
    input: text
    start: q
    nodes:
      q: {type: queue, team: billing, prompt: hi, say: bye}
  nocode:
    input: digits
    start: verify
    nodes:
      verify:
        type: verify
        identifier: number
        ok: done
        fail: done
        exhausted: done
        locked: done
      done: {type: queue}
"""


@pytest.fixture
def small() -> Engine:
    return Engine(parse_book(yaml.safe_load(textwrap.dedent(SMALL))))


def test_state_round_trips_through_json(engine: Engine) -> None:
    step = engine.start("text", facts=Facts(), text="Mam problem z fakturą")
    step = engine.advance(step.state, "jan.kowalski", facts=Facts())
    data = json.loads(json.dumps(step.state.to_dict()))
    assert data == {
        "flow": "text",
        "node": "code",
        "language": "pl",
        "vars": {
            "language": "pl",
            "verified": "0",
            "complaint": "0",
            "text": "Mam problem z fakturą",
            "login": "jan.kowalski",
        },
        "tries": 0,
        "failures": 0,
    }
    state = FlowState.from_dict(data)
    assert state == step.state
    assert engine.advance(state, "482913", facts=Facts()).state.node == "verify"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"node": "a", "language": "pl"}, "'flow'"),
        ({"flow": "voice", "node": "", "language": "pl"}, "'node'"),
        ({"flow": "voice", "node": "a", "language": "pl", "tries": -1}, "'tries'"),
        ({"flow": "voice", "node": "a", "language": "pl", "vars": {"a": 1}}, "vars"),
    ],
)
def test_state_from_bad_dict_is_refused(data: dict[str, object], words: str) -> None:
    with pytest.raises(StateError, match=words):
        FlowState.from_dict(data)


def test_unknown_flow_and_node_are_refused(engine: Engine) -> None:
    with pytest.raises(StateError, match="there is no flow 'fax'"):
        engine.start("fax", facts=Facts())
    state = FlowState(flow="voice", node="gone", language="pl")
    with pytest.raises(StateError, match="has no node 'gone'"):
        engine.advance(state, "1", facts=Facts())


def test_render_fills_params_translates_team_and_keeps_unknown_placeholders(small: Engine) -> None:
    prompt = Prompt("hi", {"team": "billing"})
    assert small.render(prompt, "pl") == "Cześć Rozliczenia {nobody}"
    assert small.render(prompt, "en") == "Hi Billing"
    assert small.render(Prompt("hi", {"team": "technical"}), "en") == "Hi technical"


def test_render_prefers_the_prompts_own_language(small: Engine) -> None:
    assert small.render(Prompt("bye", {}, "en"), "pl") == "Goodbye"


def test_render_falls_back_to_the_default_language(small: Engine) -> None:
    assert small.render(Prompt("only_pl"), "en") == "Tylko po polsku"


def test_render_of_an_unknown_prompt_is_refused(small: Engine) -> None:
    with pytest.raises(StateError, match="'nope' is not defined"):
        small.render(Prompt("nope"), "pl")


def test_end_node_ends_the_flow(small: Engine) -> None:
    step = small.start("hangup", facts=Facts())
    assert step.effect == End("no_agents")
    assert [p.key for p in step.prompts] == ["bye"]
    assert step.state.node == TERMINAL
    assert step.state.finished
    with pytest.raises(StateError, match="has finished"):
        small.advance(step.state, None, facts=Facts())


def test_loop_without_waiting_is_stopped(small: Engine) -> None:
    with pytest.raises(StateError, match="without waiting"):
        small.start("spin", facts=Facts())


def test_verify_reached_without_a_code_is_refused(small: Engine) -> None:
    with pytest.raises(StateError, match="without a code"):
        small.start("nocode", facts=Facts())


def test_unsupported_language_falls_back_to_detection_or_default(engine: Engine) -> None:
    assert engine.start("voice", facts=Facts(), language="de").state.language == "pl"
    step = engine.start("text", facts=Facts(), language="de", text="Hello, my router is broken")
    assert step.state.language == "en"


def test_steps_are_deterministic(engine: Engine, book: FlowBook) -> None:
    facts = Facts(incidents={"*": "Awaria"})
    first = engine.start("text", facts=facts, text="Internet nie działa")
    again = Engine(book).start("text", facts=facts, text="Internet nie działa")
    assert first == again


def test_queue_with_a_fixed_team_says_its_prompts_first(small: Engine) -> None:
    step = small.start("fixed", facts=Facts())
    assert step.effect == Enqueue("billing", complaint=False, prompt="hi")
    assert [p.key for p in step.prompts] == ["bye"]
    assert step.state.vars["team"] == "billing"


def test_render_says_a_prompt_with_stray_braces_as_typed(book: FlowBook) -> None:
    broken = dataclasses.replace(book, prompts={"x": {"pl": "Kod {0} i {a.b} {"}})
    assert Engine(broken).render(Prompt("x"), "pl") == "Kod {0} i {a.b} {"


def test_kept_first_message_is_capped(engine: Engine) -> None:
    step = engine.start("text", facts=Facts(), text="internet " * 2000)
    assert len(step.state.vars["text"]) == 4000
