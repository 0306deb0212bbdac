"""Flow definitions as records: edges, the node types and a flow.

A flow is a table of nodes. Nodes that wait for the customer (``menu``, ``collect``) or
stop for an effect (``verify``, ``queue``, ``end``) end a step; the others (``announce``,
``classify``, ``hours``, ``branch``) decide at once and pass on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal

__all__ = [
    "CONDITIONS",
    "INPUT_KINDS",
    "AnnounceNode",
    "BranchNode",
    "Choice",
    "ClassifyNode",
    "CollectNode",
    "Edge",
    "EndNode",
    "Flow",
    "HoursNode",
    "InputKind",
    "MenuNode",
    "Node",
    "QueueNode",
    "VerifyNode",
]

InputKind = Literal["digits", "text", "none"]
INPUT_KINDS: tuple[InputKind, ...] = ("digits", "text", "none")

# Named conditions a branch node may test; the engine implements each one.
CONDITIONS = frozenset(
    {"verified", "complaint", "negative_balance", "negative_balance_and_technical", "business"}
)


@dataclass(frozen=True, slots=True)
class Edge:
    """A way out of a node: set vars, say prompts, go to ``next``."""

    next: str
    say: tuple[str, ...] = ()
    assign: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer a menu understands: a key (digit) and optional words for text channels."""

    key: str
    edge: Edge
    words: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MenuNode:
    """Ask, then follow the choice the answer names; unusable answers re-ask ``tries`` times."""

    kind: ClassVar[str] = "menu"
    prompt: str
    choices: tuple[Choice, ...]
    fallback: Edge
    tries: int = 3
    timeout_s: float = 5.0
    invalid: str = "invalid_choice"
    no_input: str = "no_input"
    each_language: bool = False
    classify: bool = False

    def edges(self) -> tuple[tuple[str, Edge], ...]:
        return (*((c.key, c.edge) for c in self.choices), ("fallback", self.fallback))


@dataclass(frozen=True, slots=True)
class CollectNode:
    """Ask for a value matching ``pattern``; a secret value goes only to the next verify node."""

    kind: ClassVar[str] = "collect"
    next: Edge
    fallback: Edge
    var: str | None = None
    prompt: str | None = None
    pattern: str = r"\S+"
    secret: bool = False
    finish_on_key: str | None = None
    num_digits: int | None = None
    timeout_s: float = 5.0
    tries: int = 3
    invalid: str = "invalid_input"
    no_input: str = "no_input"
    labels: tuple[str, ...] = ()
    rest_to: str | None = None

    def edges(self) -> tuple[tuple[str, Edge], ...]:
        found = [("next", self.next), ("fallback", self.fallback)]
        if self.rest_to is not None:
            found.append(("rest", Edge(self.rest_to)))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class VerifyNode:
    """Check the identifier var and the secret just collected (a Verify effect)."""

    kind: ClassVar[str] = "verify"
    identifier: str
    ok: Edge
    fail: Edge
    exhausted: Edge
    locked: Edge
    max_failures: int = 3

    def edges(self) -> tuple[tuple[str, Edge], ...]:
        return (
            ("ok", self.ok),
            ("fail", self.fail),
            ("exhausted", self.exhausted),
            ("locked", self.locked),
        )


@dataclass(frozen=True, slots=True)
class ClassifyNode:
    """Pick the team (and the complaint flag) from keywords of a text var."""

    kind: ClassVar[str] = "classify"
    decided: Edge
    undecided: Edge
    source: str = "text"

    def edges(self) -> tuple[tuple[str, Edge], ...]:
        return (("decided", self.decided), ("undecided", self.undecided))


@dataclass(frozen=True, slots=True)
class AnnounceNode:
    """Say the open incident, the opening hours or a prompt; silent when there is nothing."""

    kind: ClassVar[str] = "announce"
    what: Literal["incident", "hours", "prompt"]
    next: Edge
    prompt: str

    def edges(self) -> tuple[tuple[str, Edge], ...]:
        return (("next", self.next),)


@dataclass(frozen=True, slots=True)
class HoursNode:
    """Branch on whether the contact's team is open now."""

    kind: ClassVar[str] = "hours"
    open: Edge
    closed: Edge

    def edges(self) -> tuple[tuple[str, Edge], ...]:
        return (("open", self.open), ("closed", self.closed))


@dataclass(frozen=True, slots=True)
class BranchNode:
    """Branch on a named condition of the state (see ``CONDITIONS``)."""

    kind: ClassVar[str] = "branch"
    condition: str
    yes: Edge
    no: Edge

    def edges(self) -> tuple[tuple[str, Edge], ...]:
        return (("yes", self.yes), ("no", self.no))


@dataclass(frozen=True, slots=True)
class QueueNode:
    """Enqueue the contact (terminal): the team var, or ``team`` when fixed."""

    kind: ClassVar[str] = "queue"
    prompt: str = "queued"
    team: str | None = None
    say: tuple[str, ...] = ()

    def edges(self) -> tuple[tuple[str, Edge], ...]:
        return ()


@dataclass(frozen=True, slots=True)
class EndNode:
    """End the conversation (terminal), saying ``prompt`` first when given."""

    kind: ClassVar[str] = "end"
    reason: str
    prompt: str | None = None

    def edges(self) -> tuple[tuple[str, Edge], ...]:
        return ()


Node = (
    MenuNode
    | CollectNode
    | VerifyNode
    | ClassifyNode
    | AnnounceNode
    | HoursNode
    | BranchNode
    | QueueNode
    | EndNode
)

TERMINAL_KINDS = frozenset({"queue", "end"})


@dataclass(frozen=True, slots=True)
class Flow:
    """A named flow: how its input arrives, the start node and the nodes by id."""

    name: str
    input: InputKind
    start: str
    nodes: Mapping[str, Node] = field(default_factory=dict)

    def prompt_keys(self) -> list[tuple[str, str]]:
        """Every prompt key the flow uses, with the node id that uses it."""
        found: list[tuple[str, str]] = []
        for node_id, node in self.nodes.items():
            keys: list[str | None] = []
            if isinstance(node, MenuNode):
                keys += [node.prompt, node.invalid, node.no_input]
            elif isinstance(node, CollectNode):
                keys.append(node.prompt)
                if self.input != "none":
                    keys += [node.invalid, node.no_input]
            elif isinstance(node, AnnounceNode | QueueNode | EndNode):
                keys.append(node.prompt)
            if isinstance(node, QueueNode):
                keys += node.say
            for _, edge in node.edges():
                keys += edge.say
            found += [(key, node_id) for key in keys if key is not None]
        return found
