"""One flow read from config.yaml: its input kind, start node and nodes with their edges."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ivr.errors import FlowError
from ivr.nodes import (
    CONDITIONS,
    INPUT_KINDS,
    AnnounceNode,
    BranchNode,
    Choice,
    ClassifyNode,
    CollectNode,
    EndNode,
    Flow,
    HoursNode,
    MenuNode,
    Node,
    QueueNode,
    VerifyNode,
)
from ivr.reader import Fields, Reader, freeze

__all__ = ["parse_flow"]

_COMMON = {"type"}
_NODE_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "menu": (
        {"prompt", "choices", "fallback", "tries", "timeout_s", "invalid", "no_input"}
        | {"each_language", "classify"},
        {"prompt", "choices", "fallback"},
    ),
    "collect": (
        {"var", "prompt", "pattern", "secret", "finish_on_key", "num_digits", "timeout_s"}
        | {"tries", "invalid", "no_input", "labels", "rest_to", "next", "fallback"},
        {"next", "fallback"},
    ),
    "verify": (
        {"identifier", "max_failures", "ok", "fail", "exhausted", "locked"},
        {"identifier", "ok", "fail", "exhausted", "locked"},
    ),
    "classify": ({"source", "decided", "undecided"}, {"decided", "undecided"}),
    "announce": ({"what", "prompt", "next"}, {"what", "next"}),
    "hours": ({"open", "closed"}, {"open", "closed"}),
    "branch": ({"condition", "yes", "no"}, {"condition", "yes", "no"}),
    "queue": ({"team", "prompt", "say"}, set()),
    "end": ({"reason", "prompt"}, {"reason"}),
}


def _node(r: Reader, raw: Any, path: str, ids: Mapping[str, Any], flow: str) -> Node:
    data = r.mapping(raw, path)
    kind = data.get("type")
    if kind not in _NODE_KEYS:
        known = ", ".join(_NODE_KEYS)
        raise FlowError(f"{path}.type", f"{kind!r} is not a node type; known types: {known}")
    allowed, required = _NODE_KEYS[kind]
    r.keys(data, path, allowed | _COMMON, required)
    f = Fields(r, data, path, flow, ids)
    if kind == "menu":
        return _menu(f)
    if kind == "collect":
        return _collect(f)
    if kind == "verify":
        return VerifyNode(
            identifier=f.need("identifier", r.ident),
            max_failures=f.get("max_failures", r.count, 3),
            ok=f.edge("ok"),
            fail=f.edge("fail"),
            exhausted=f.edge("exhausted"),
            locked=f.edge("locked"),
        )
    if kind == "classify":
        source = f.get("source", r.ident, "text")
        return ClassifyNode(decided=f.edge("decided"), undecided=f.edge("undecided"), source=source)
    if kind == "announce":
        return _announce(f)
    if kind == "hours":
        return HoursNode(open=f.edge("open"), closed=f.edge("closed"))
    if kind == "branch":
        return _branch(f)
    if kind == "queue":
        return QueueNode(
            prompt=f.get("prompt", r.ident, "queued"),
            team=f.get("team", r.ident, None),
            say=f.get("say", r.strings, ()),
        )
    return EndNode(reason=f.need("reason", r.text), prompt=f.get("prompt", r.ident, None))


def _menu(f: Fields) -> MenuNode:
    r = f.r
    return MenuNode(
        prompt=f.need("prompt", r.ident),
        choices=_choices(r, f.data["choices"], f"{f.path}.choices", f.ids, f.flow),
        fallback=f.edge("fallback"),
        tries=f.get("tries", r.count, 3),
        timeout_s=f.get("timeout_s", r.seconds, 5.0),
        invalid=f.get("invalid", r.ident, "invalid_choice"),
        no_input=f.get("no_input", r.ident, "no_input"),
        each_language=f.get("each_language", r.flag, False),
        classify=f.get("classify", r.flag, False),
    )


def _branch(f: Fields) -> BranchNode:
    condition = f.data["condition"]
    if condition not in CONDITIONS:
        known = ", ".join(sorted(CONDITIONS))
        raise FlowError(f"{f.path}.condition", f"{condition!r} is not a condition; known: {known}")
    return BranchNode(condition=condition, yes=f.edge("yes"), no=f.edge("no"))


def _announce(f: Fields) -> AnnounceNode:
    what = f.data["what"]
    if what == "incident" or what == "hours":
        default = "incident" if what == "incident" else "out_of_hours"
        return AnnounceNode(
            what=what, next=f.edge("next"), prompt=f.get("prompt", f.r.ident, default)
        )
    if what == "prompt":
        if "prompt" not in f.data:
            raise FlowError(f"{f.path}.prompt", "is required when what is prompt")
        return AnnounceNode(what=what, next=f.edge("next"), prompt=f.need("prompt", f.r.ident))
    raise FlowError(f"{f.path}.what", f"{what!r} is not one of incident, hours, prompt")


def _collect(f: Fields) -> CollectNode:
    r, path = f.r, f.path
    secret = f.get("secret", r.flag, False)
    if secret and "var" in f.data:
        raise FlowError(f"{path}.var", "a secret collect keeps no var: the code goes to verify")
    if not secret and "var" not in f.data:
        raise FlowError(f"{path}.var", "is required (the var that keeps the answer)")
    pattern = f.get("pattern", r.text, r"\S+")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise FlowError(
            f"{path}.pattern", f"{pattern!r} is not a regular expression: {exc}"
        ) from exc
    finish = f.get("finish_on_key", r.text, None)
    if finish is not None and finish not in ("#", "*"):
        raise FlowError(f"{path}.finish_on_key", f"{finish!r} is not # or *")
    return CollectNode(
        next=f.edge("next"),
        fallback=f.edge("fallback"),
        var=f.get("var", r.ident, None),
        prompt=f.get("prompt", r.ident, None),
        pattern=pattern,
        secret=secret,
        finish_on_key=finish,
        num_digits=f.get("num_digits", r.count, None),
        timeout_s=f.get("timeout_s", r.seconds, 5.0),
        tries=f.get("tries", r.count, 3),
        invalid=f.get("invalid", r.ident, "invalid_input"),
        no_input=f.get("no_input", r.ident, "no_input"),
        labels=f.get("labels", r.strings, ()),
        rest_to=f.get("rest_to", r.ident, None),
    )


def _choices(
    r: Reader, raw: Any, path: str, nodes: Mapping[str, Any], flow: str
) -> tuple[Choice, ...]:
    if not isinstance(raw, Mapping) or not raw:
        raise FlowError(path, f"expected a mapping of keys to choices, got {raw!r}")
    found = []
    for key, value in raw.items():
        # YAML reads an unquoted 1 as an int; both spellings name the digit "1".
        key_text = str(key).strip()
        where = f"{path}.{key_text}"
        data = r.mapping(value if not isinstance(value, str) else {"next": value}, where)
        words = r.strings(data.get("words", []), f"{where}.words")
        edge_data = {k: v for k, v in data.items() if k != "words"}
        found.append(Choice(key=key_text, edge=r.edge(edge_data, where, nodes, flow), words=words))
    return tuple(found)


def parse_flow(r: Reader, name: str, raw: Any, path: str) -> Flow:
    """The flow ``name`` from its raw mapping at ``path`` (``flows.<name>``)."""
    data = r.mapping(raw, path)
    r.keys(data, path, {"input", "start", "nodes"}, {"input", "start", "nodes"})
    if data["input"] not in INPUT_KINDS:
        kinds = ", ".join(INPUT_KINDS)
        raise FlowError(f"{path}.input", f"{data['input']!r} is not one of {kinds}")
    raw_nodes = r.mapping(data["nodes"], f"{path}.nodes")
    if not raw_nodes:
        raise FlowError(f"{path}.nodes", "a flow needs at least one node")
    start = r.ident(data["start"], f"{path}.start")
    if r.check_refs and start not in raw_nodes:
        raise FlowError(f"{path}.start", f"{start!r} is not a node of flow {name!r}")
    nodes: dict[str, Node] = {}
    for node_id, node_raw in raw_nodes.items():
        node_path = f"{path}.nodes.{node_id}"
        r.ident(node_id, node_path)
        nodes[node_id] = _node(r, node_raw, node_path, raw_nodes, name)
        rest_to = getattr(nodes[node_id], "rest_to", None)
        if r.check_refs and rest_to is not None and rest_to not in raw_nodes:
            raise FlowError(f"{node_path}.rest_to", f"{rest_to!r} is not a node of flow {name!r}")
    return Flow(name=name, input=data["input"], start=start, nodes=freeze(nodes))
