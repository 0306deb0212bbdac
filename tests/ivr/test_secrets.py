"""No auth code ever reaches a FlowState (the persisted session) or a Prompt, on any path."""

from __future__ import annotations

import json
from collections import deque

from ivr import Engine, Facts, Step, Verify, VerifyResult
from ivr.nodes import CollectNode

from .conftest import CODE

FACTS = (
    Facts(),
    Facts(
        open_teams=frozenset({"billing", "technical", "domains_hosting"}),
        incidents={"*": "Awaria"},
        hours={"technical": "10–18"},
    ),
)
RESULTS = (
    VerifyResult(ok=True, account="jan.kowalski", balance_negative=True),
    VerifyResult(ok=True, account="jan.kowalski"),
    VerifyResult(ok=False),
    VerifyResult(ok=False, locked=True),
)
PLAIN_ANSWERS = (None, "", "1", "2", "3", "4", "9", "1001", "jan.kowalski", "faktura", "x")


def _answers(engine: Engine, step: Step) -> tuple[str | None, ...]:
    node = engine.book.flows[step.state.flow].nodes[step.state.node]
    # The code is typed only where it is asked for; elsewhere it would be a different answer.
    if isinstance(node, CollectNode) and (node.secret or node.rest_to):
        return (*PLAIN_ANSWERS, CODE, f"jan.kowalski {CODE}", f"{CODE[:3]} {CODE[3:]}")
    return PLAIN_ANSWERS


def _leaks(step: Step) -> list[str]:
    found = []
    if CODE in json.dumps(step.state.to_dict(), ensure_ascii=False):
        found.append(f"state {step.state.to_dict()}")
    for prompt in step.prompts:
        if any(CODE in value for value in prompt.params.values()) or CODE in prompt.key:
            found.append(f"prompt {prompt}")
    return found


def _explore(engine: Engine, first: Step, facts: Facts, limit: int = 4000) -> tuple[int, int]:
    """Breadth-first over every answer and verification result; returns (states, verifies)."""
    seen: set[str] = set()
    todo = deque([first])
    verifies = 0
    while todo and len(seen) < limit:
        step = todo.popleft()
        assert _leaks(step) == []
        assert CODE not in repr(step)
        key = json.dumps(step.state.to_dict(), sort_keys=True)
        if key in seen or step.state.finished:
            continue
        seen.add(key)
        if isinstance(step.effect, Verify):
            verifies += 1
            nexts = [engine.resume(step.state, result, facts=facts) for result in RESULTS]
        else:
            nexts = [
                engine.advance(step.state, answer, facts=facts) for answer in _answers(engine, step)
            ]
        todo.extend(nexts)
    return len(seen), verifies


def test_no_code_in_any_state_or_prompt_of_voice_and_text(engine: Engine) -> None:
    for facts in FACTS:
        states, verifies = _explore(engine, engine.start("voice", facts=facts), facts)
        assert states > 50 and verifies > 0
        first = engine.start("text", facts=facts, text="Mam problem")
        states, verifies = _explore(engine, first, facts)
        assert states > 30 and verifies > 0


def test_no_code_in_any_state_or_prompt_of_email(engine: Engine) -> None:
    bodies = [
        f"Login: jan.kowalski\nAuth code: {CODE}\nfaktura",
        f"Kod: {CODE}\nbez loginu",
        f"Login: jan.kowalski\nKod autoryzacyjny: {CODE[:3]} {CODE[3:]}",
    ]
    for facts in FACTS:
        for body in bodies:
            first = engine.start("email", facts=facts, text=body)
            assert _leaks(first) == []
            _explore(engine, first, facts)


def test_verify_repr_hides_the_code() -> None:
    assert CODE not in repr(Verify(identifier="1001", code=CODE))
    assert CODE not in str(Verify(identifier="1001", code=CODE))
