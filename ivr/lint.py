"""Lint a flow book: what `switchboard ivr check` reports.

Errors make a flow misbehave (a dangling next, a dead end, a missing prompt, a secret code
that could be kept); warnings point at something an operator probably did not mean.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from ivr.classify import words
from ivr.flow import FlowBook
from ivr.nodes import (
    AnnounceNode,
    BranchNode,
    ClassifyNode,
    CollectNode,
    Edge,
    Flow,
    HoursNode,
    MenuNode,
    Node,
    QueueNode,
    VerifyNode,
)

__all__ = ["KNOWN_PLACEHOLDERS", "Problem", "check_book", "has_errors"]

# The parameters the engine and the router fill in; anything else stays as "{name}".
KNOWN_PLACEHOLDERS = frozenset(
    # ... and what the voice callback prompts are filled with (channels.twilio.callback).
    {"team", "incident", "hours", "position", "wait_min", "opens", "digits", "attempts"}
)
# What the router fills in when it says a queue node's prompt after queueing.
_QUEUED_PLACEHOLDERS = frozenset({"position", "wait_min", "opens"})
_KEYPAD = frozenset("0123456789*#")
_Report = Callable[[str, str], None]  # records a problem at a path


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: its level, the config key path and a sentence saying what is wrong."""

    level: Literal["error", "warning"]
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.path}: {self.message}"


def has_errors(problems: list[Problem]) -> bool:
    """True when any problem is an error (the config must not be used)."""
    return any(problem.level == "error" for problem in problems)


def check_book(book: FlowBook) -> list[Problem]:
    """Every problem found in the book, flows in order, then prompts."""
    problems: list[Problem] = []
    for name, flow in book.flows.items():
        problems += _check_flow(book, flow, f"flows.{name}")
    problems += _check_prompts(book)
    # Two classify nodes warn about the same keyword list once.
    return list(dict.fromkeys(problems))


def _edges(node: Node) -> Iterator[tuple[str, Edge]]:
    """(path suffix, edge) for every way out of a node."""
    for label, edge in node.edges():
        if label == "rest":
            yield "rest_to", edge
        elif isinstance(node, MenuNode) and label != "fallback":
            yield f"choices.{label}", edge
        else:
            yield label, edge


def _passes_through(flow: Flow, node: Node) -> bool:
    """A node that decides without waiting for the customer or stopping for an effect."""
    if isinstance(node, AnnounceNode | ClassifyNode | HoursNode | BranchNode):
        return True
    return isinstance(node, MenuNode | CollectNode) and flow.input == "none"


def _check_flow(book: FlowBook, flow: Flow, at: str) -> list[Problem]:
    found: list[Problem] = []

    def error(path: str, message: str) -> None:
        found.append(Problem("error", path, message))

    def warning(path: str, message: str) -> None:
        found.append(Problem("warning", path, message))

    nodes = flow.nodes
    if flow.start not in nodes:
        error(f"{at}.start", f"{flow.start!r} is not a node of flow {flow.name!r}")
    targets: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    for node_id, node in nodes.items():
        where = f"{at}.nodes.{node_id}"
        for suffix, edge in _edges(node):
            if edge.next not in nodes:
                path = f"{where}.{suffix}" + ("" if suffix == "rest_to" else ".next")
                error(path, f"{edge.next!r} is not a node of flow {flow.name!r}")
                continue
            targets[node_id].append(edge.next)
            _check_assign(book, edge, f"{where}.{suffix}.set", error)
            target = nodes[edge.next]
            secret_next = isinstance(node, CollectNode) and node.secret and suffix == "next"
            if isinstance(target, VerifyNode) and not secret_next:
                error(
                    f"{where}.{suffix}",
                    f"leads to verify node {edge.next!r}, which only a secret collect's next "
                    "may lead to (it needs the code just collected)",
                )
        _check_node(book, flow, node, where, error, warning)

    reachable = _reach({flow.start}, targets) if flow.start in nodes else set()
    for node_id in nodes:
        if node_id not in reachable:
            warning(f"{at}.nodes.{node_id}", "is unreachable from the start node")
    ends = {n for n, node in nodes.items() if isinstance(node, QueueNode) or not node.edges()}
    leads_to_end = _reach_back(ends, targets)
    for node_id in nodes:
        if node_id not in leads_to_end:
            error(
                f"{at}.nodes.{node_id}",
                "is a dead end: no way from here leads to a queue or end node",
            )
    loop = _loop(flow, targets)
    if loop:
        error(
            f"{at}.nodes.{loop[0]}",
            f"loops through {' -> '.join(loop)} without ever waiting for the customer",
        )
    for key, node_id in flow.prompt_keys():
        if key not in book.prompts:
            error(f"{at}.nodes.{node_id}", f"prompt {key!r} is not defined under prompts")
    return found


def _check_assign(book: FlowBook, edge: Edge, at: str, error: _Report) -> None:
    team = edge.assign.get("team")
    if team is not None and team not in book.teams:
        error(f"{at}.team", f"{team!r} is not a team; teams: {', '.join(book.teams)}")
    language = edge.assign.get("language")
    if language is not None and language not in book.languages:
        error(f"{at}.language", f"{language!r} is not in languages.supported")


def _check_node(
    book: FlowBook, flow: Flow, node: Node, at: str, error: _Report, warning: _Report
) -> None:
    if isinstance(node, MenuNode):
        _check_menu(flow, node, at, error)
        if flow.input == "none":
            warning(at, "is a menu in a flow without input: it always takes its fallback")
    elif isinstance(node, CollectNode):
        if node.secret:
            following = flow.nodes.get(node.next.next)
            if following is not None and not isinstance(following, VerifyNode):
                error(
                    f"{at}.next",
                    f"a secret collect must lead straight to a verify node, not to "
                    f"{node.next.next!r}: the code is never kept",
                )
        if node.rest_to is not None and not isinstance(flow.nodes.get(node.rest_to), CollectNode):
            error(f"{at}.rest_to", f"{node.rest_to!r} is not a collect node")
        if flow.input == "none" and not node.labels:
            warning(at, "reads nothing in a flow without input: give it labels")
        if flow.input != "none" and node.prompt is None:
            warning(at, "asks without a prompt: the customer is not told what to enter")
    elif isinstance(node, QueueNode):
        if node.team is not None and node.team not in book.teams:
            error(f"{at}.team", f"{node.team!r} is not a team; teams: {', '.join(book.teams)}")
        unfilled = sorted(_placeholders(book, node.prompt) - _QUEUED_PLACEHOLDERS)
        if unfilled:
            names = ", ".join("{" + name + "}" for name in unfilled)
            warning(
                f"{at}.prompt",
                f"prompt {node.prompt!r} uses {names}; after queueing only {{position}}, "
                "{wait_min} and {opens} are filled in",
            )
    elif isinstance(node, ClassifyNode):
        for team in book.teams:
            if not any(book.keywords.teams.get(team, {}).values()):
                warning(f"keywords.{team}", f"has no keywords: {at} never picks {team!r}")


def _fields(text: str) -> set[str]:
    """The {placeholder} names of a prompt text; ValueError on bad braces."""
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


def _placeholders(book: FlowBook, key: str) -> set[str]:
    found: set[str] = set()
    for text in book.prompts.get(key, {}).values():
        try:
            found |= _fields(text)
        except ValueError:
            continue  # reported with the prompt itself
    return found


def _check_menu(flow: Flow, node: MenuNode, at: str, error: _Report) -> None:
    seen: dict[str, str] = {}
    for choice in node.choices:
        if choice.key in seen:
            error(f"{at}.choices.{choice.key}", f"key {choice.key!r} is used twice in this menu")
        seen[choice.key] = choice.key
        if flow.input == "digits" and not set(choice.key) <= _KEYPAD:
            error(f"{at}.choices.{choice.key}", f"{choice.key!r} cannot be pressed on a keypad")
    owners: dict[str, str] = {}
    for choice in node.choices:
        for word in choice.words:
            norm = " ".join(words(word))
            if norm in owners and owners[norm] != choice.key:
                error(
                    f"{at}.choices.{choice.key}.words",
                    f"{word!r} also names choice {owners[norm]!r}: the answer is ambiguous",
                )
            owners.setdefault(norm, choice.key)


def _check_prompts(book: FlowBook) -> list[Problem]:
    found: list[Problem] = []
    for key, texts in book.prompts.items():
        for language in book.languages:
            if language not in texts:
                found.append(
                    Problem("error", f"prompts.{key}", f"has no {language!r} text (languages)")
                )
        fields: dict[str, set[str]] = {}
        for language, text in texts.items():
            try:
                names = _fields(text)
            except ValueError as exc:
                found.append(Problem("error", f"prompts.{key}.{language}", f"bad braces: {exc}"))
                continue
            fields[language] = names
            for name in sorted(names - KNOWN_PLACEHOLDERS):
                found.append(
                    Problem(
                        "warning",
                        f"prompts.{key}.{language}",
                        f"{{{name}}} is not a known placeholder "
                        f"({', '.join(sorted(KNOWN_PLACEHOLDERS))}) and stays as typed",
                    )
                )
        if len({frozenset(names) for names in fields.values()}) > 1:
            found.append(
                Problem("warning", f"prompts.{key}", "languages use different placeholders")
            )
    return found


def _reach(starts: set[str], targets: dict[str, list[str]]) -> set[str]:
    """The nodes reachable from ``starts`` (included) along ``targets``."""
    seen = set(starts)
    todo = list(starts)
    while todo:
        for nxt in targets.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _reach_back(goals: set[str], targets: dict[str, list[str]]) -> set[str]:
    """The nodes from which one of ``goals`` is reachable."""
    sources: dict[str, list[str]] = {}
    for src, outs in targets.items():
        for dst in outs:
            sources.setdefault(dst, []).append(src)
    return _reach(goals, sources)


def _loop(flow: Flow, targets: dict[str, list[str]]) -> list[str]:
    """A cycle made only of nodes that pass through at once, or []."""
    passing = [n for n, node in flow.nodes.items() if _passes_through(flow, node)]
    state: dict[str, int] = {}  # 1: on the DFS path, 2: done
    path: list[str] = []

    def visit(node_id: str) -> list[str]:
        state[node_id] = 1
        path.append(node_id)
        for nxt in targets.get(node_id, []):
            if nxt not in passing:
                continue
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node_id] = 2
        path.pop()
        return []

    for node_id in passing:
        if node_id not in state:
            cycle = visit(node_id)
            if cycle:
                return cycle
    return []
