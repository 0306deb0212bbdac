"""parse_book: the shipped book parses; a bad value raises FlowError naming its key path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ivr import FlowBook, FlowError, parse_book
from ivr.nodes import BranchNode, CollectNode, MenuNode

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = data
        for key in parents:
            target = target[key]
        target[last] = value

    return mutate


def _drop(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = data
        for key in parents:
            target = target[key]
        del target[last]

    return mutate


def test_shipped_book_has_the_three_flows(book: FlowBook) -> None:
    assert list(book.flows) == ["voice", "text", "email"]
    assert [book.flows[name].input for name in book.flows] == ["digits", "text", "none"]
    assert book.languages == ("pl", "en", "ru", "he")
    assert book.default_language == "pl"
    assert book.teams == ("billing", "technical", "domains_hosting")
    assert book.default_team == "technical"
    assert book.team_names["billing"]["ru"] == "Бухгалтерия"
    team = book.flows["voice"].nodes["team"]
    assert isinstance(team, MenuNode)
    assert [c.key for c in team.choices] == ["1", "2", "3", "4"]
    assert dict(team.choices[0].edge.assign) == {"team": "billing"}
    code = book.flows["voice"].nodes["code"]
    assert isinstance(code, CollectNode) and code.secret and code.var is None
    balance = book.flows["voice"].nodes["balance"]
    assert isinstance(balance, BranchNode)
    assert (balance.yes.next, balance.no.next) == ("offer_billing", "complaint")
    assert book.keywords.complaint["pl"][0] == "reklamac"


def test_dangling_next_names_the_exact_path(config: dict[str, Any]) -> None:
    data = copy.deepcopy(config)
    data["flows"]["voice"]["nodes"]["team"]["choices"]["1"]["next"] = "nowhere"
    with pytest.raises(FlowError) as caught:
        parse_book(data)
    assert caught.value.path == "flows.voice.nodes.team.choices.1.next"
    assert str(caught.value) == (
        "flows.voice.nodes.team.choices.1.next: 'nowhere' is not a node of flow 'voice'"
    )


def test_without_reference_checks_a_dangling_next_is_left_to_lint(config: dict[str, Any]) -> None:
    data = copy.deepcopy(config)
    data["flows"]["voice"]["nodes"]["team"]["choices"]["1"]["next"] = "nowhere"
    book = parse_book(data, check_refs=False)
    team = book.flows["voice"].nodes["team"]
    assert isinstance(team, MenuNode)
    assert team.choices[0].edge.next == "nowhere"


@pytest.mark.parametrize(
    ("mutate", "path", "words"),
    [
        (_set("flows.voice.start", "nope"), "flows.voice.start", "'nope' is not a node"),
        (_set("flows.voice.input", "pigeon"), "flows.voice.input", "'pigeon' is not one of"),
        (_set("flows.text.nodes.login.type", "dance"), "flows.text.nodes.login.type", "node type"),
        (_set("flows.voice.nodes.team.promt", "x"), "flows.voice.nodes.team.promt", "unknown key"),
        (_drop("flows.voice.nodes.team.fallback"), "flows.voice.nodes.team.fallback", "required"),
        (_set("flows.voice.nodes.team.tries", 0), "flows.voice.nodes.team.tries", "at least 1"),
        (
            _set("flows.voice.nodes.team.timeout_s", "fast"),
            "flows.voice.nodes.team.timeout_s",
            "seconds",
        ),
        (
            _set("flows.voice.nodes.number.pattern", "(["),
            "flows.voice.nodes.number.pattern",
            "regular",
        ),
        (_set("flows.voice.nodes.code.var", "code"), "flows.voice.nodes.code.var", "secret"),
        (_drop("flows.voice.nodes.number.var"), "flows.voice.nodes.number.var", "required"),
        (
            _set("flows.voice.nodes.number.finish_on_key", "x"),
            "flows.voice.nodes.number.finish_on_key",
            "'x'",
        ),
        (
            _set("flows.voice.nodes.balance.condition", "rich"),
            "flows.voice.nodes.balance.condition",
            "'rich'",
        ),
        (
            _set("flows.voice.nodes.incident.what", "weather"),
            "flows.voice.nodes.incident.what",
            "'weather'",
        ),
        (
            _set("flows.voice.nodes.verify.ok", {"go": "team"}),
            "flows.voice.nodes.verify.ok.go",
            "unknown key",
        ),
        (
            _set("flows.voice.nodes.verify.ok", {"say": "auth_ok"}),
            "flows.voice.nodes.verify.ok.next",
            "required",
        ),
        (_set("flows.voice.nodes.team.choices", {}), "flows.voice.nodes.team.choices", "mapping"),
        (
            _set("flows.voice.nodes.queue.team", "sales dept"),
            "flows.voice.nodes.queue.team",
            "is not a name",
        ),
        (
            _set("flows.voice.nodes.verify.max_failures", -1),
            "flows.voice.nodes.verify.max_failures",
            "-1",
        ),
        (_set("prompts.queued.pl", ["a"]), "prompts.queued.pl", "string"),
        (_set("prompts.queued", "Hello"), "prompts.queued", "mapping"),
        (_set("keywords.sales", {"pl": ["sprzedaż"]}), "keywords.sales", "neither a team"),
        (_set("keywords.billing.pl", 5), "keywords.billing.pl", "list of strings"),
        (_set("languages.default", "de"), "languages.default", "'de' is not in"),
        (_set("languages.supported", []), "languages.supported", "at least one"),
        (_set("default_team", "sales"), "default_team", "'sales'"),
        (_set("flows.voice.nodes", {}), "flows.voice.nodes", "at least one node"),
        (_set("flows", {"bad name": {}}), "flows.bad name", "not a name"),
    ],
)
def test_bad_value_names_its_key_path(
    config: dict[str, Any], mutate: Mutation, path: str, words: str
) -> None:
    data = copy.deepcopy(config)
    mutate(data)
    with pytest.raises(FlowError) as caught:
        parse_book(data)
    assert caught.value.path == path
    assert str(caught.value).startswith(f"{path}: ")
    assert words in str(caught.value)


def test_yaml_yes_no_keys_of_a_branch_are_read(book: FlowBook) -> None:
    # PyYAML reads the unquoted keys `yes:`/`no:` as booleans; the parser maps them back.
    complaint = book.flows["text"].nodes["complaint"]
    assert isinstance(complaint, BranchNode)
    assert complaint.yes.say == ("complaint_registered",)
    assert complaint.no.next == "hours"


def test_boolean_set_values_become_one_and_zero(config: dict[str, Any]) -> None:
    data = copy.deepcopy(config)
    data["flows"]["voice"]["nodes"]["team"]["choices"]["4"]["set"] = {"complaint": True}
    team = parse_book(data).flows["voice"].nodes["team"]
    assert isinstance(team, MenuNode)
    assert dict(team.choices[3].edge.assign) == {"complaint": "1"}
