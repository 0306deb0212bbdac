"""The flow book: flows, prompts and keywords read from config.yaml.

Exceptions of the ``ivr`` package::

    ValueError
     ├── FlowError    the flow book in the config is invalid; ``path`` names the key
     └── StateError   (ivr.engine) a FlowState or a call does not fit the book: an unknown
                      flow or node, a finished flow, an answer where none is awaited
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from ivr.classify import Keywords
from ivr.nodes import (
    CONDITIONS,
    INPUT_KINDS,
    AnnounceNode,
    BranchNode,
    Choice,
    ClassifyNode,
    CollectNode,
    Edge,
    EndNode,
    Flow,
    HoursNode,
    MenuNode,
    Node,
    QueueNode,
    VerifyNode,
)

__all__ = ["Flow", "FlowBook", "FlowError", "Keywords", "parse_book"]

_T = TypeVar("_T")
_D = TypeVar("_D")
_BOOL_KEYS = {True: "yes", False: "no"}
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class FlowError(ValueError):
    """The flow book is invalid; ``path`` is the config key, e.g. ``flows.voice.start``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


@dataclass(frozen=True, slots=True)
class FlowBook:
    """Everything the engine needs from the config: flows, prompts, keywords, teams."""

    flows: Mapping[str, Flow]
    prompts: Mapping[str, Mapping[str, str]]
    keywords: Keywords
    languages: tuple[str, ...]
    default_language: str
    default_team: str
    teams: tuple[str, ...]
    team_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def _freeze(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


class _Reader:
    """Typed access to the raw YAML that raises FlowError naming the key path."""

    def __init__(self, check_refs: bool) -> None:
        self.check_refs = check_refs

    @staticmethod
    def mapping(value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise FlowError(path, f"expected a mapping, got {value!r}")
        # YAML 1.1 reads an unquoted yes/no key (a branch's ways out) as true/false.
        return {
            _BOOL_KEYS[key] if isinstance(key, bool) else str(key): item
            for key, item in value.items()
        }

    @staticmethod
    def keys(data: Mapping[str, Any], path: str, allowed: set[str], required: set[str]) -> None:
        for key in data:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise FlowError(f"{path}.{key}", f"unknown key {key!r}; known keys: {known}")
        for key in sorted(required):
            if key not in data:
                raise FlowError(f"{path}.{key}", "is required")

    @staticmethod
    def text(value: Any, path: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
            raise FlowError(path, f"expected a non-empty string, got {value!r}")
        return str(value)

    @staticmethod
    def ident(value: Any, path: str) -> str:
        if not isinstance(value, str) or not _ID.match(value):
            raise FlowError(path, f"{value!r} is not a name (letters, digits and _)")
        return value

    @staticmethod
    def count(value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise FlowError(path, f"expected a whole number of at least 1, got {value!r}")
        return value

    @staticmethod
    def seconds(value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise FlowError(path, f"expected a positive number of seconds, got {value!r}")
        return float(value)

    @staticmethod
    def flag(value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise FlowError(path, f"expected true or false, got {value!r}")
        return value

    def strings(self, value: Any, path: str) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            raise FlowError(path, f"expected a list of strings, got {value!r}")
        return tuple(self.text(item, f"{path}.{i}") for i, item in enumerate(value))

    def edge(self, value: Any, path: str, nodes: Mapping[str, Any], flow: str) -> Edge:
        if isinstance(value, str):
            value = {"next": value}
        data = self.mapping(value, path)
        self.keys(data, path, {"next", "say", "set"}, {"next"})
        target = self.ident(data["next"], f"{path}.next")
        if self.check_refs and target not in nodes:
            raise FlowError(f"{path}.next", f"{target!r} is not a node of flow {flow!r}")
        assign: dict[str, str] = {}
        for key, item in self.mapping(data.get("set", {}), f"{path}.set").items():
            var_path = f"{path}.set.{key}"
            self.ident(key, var_path)
            assign[key] = (
                ("1" if item else "0") if isinstance(item, bool) else self.text(item, var_path)
            )
        return Edge(
            next=target,
            say=self.strings(data.get("say", []), f"{path}.say"),
            assign=_freeze(assign),
        )


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


class _Fields:
    """The keys of one node, read with the node's path in every error."""

    def __init__(self, r: _Reader, data: Mapping[str, Any], path: str, flow: str, ids: Any):
        self.r, self.data, self.path, self.flow, self.ids = r, data, path, flow, ids

    def edge(self, key: str) -> Edge:
        return self.r.edge(self.data[key], f"{self.path}.{key}", self.ids, self.flow)

    def get(self, key: str, read: Callable[[Any, str], _T], default: _D) -> _T | _D:
        if key not in self.data:
            return default
        return read(self.data[key], f"{self.path}.{key}")

    def need(self, key: str, read: Callable[[Any, str], _T]) -> _T:
        return read(self.data[key], f"{self.path}.{key}")


def _node(r: _Reader, raw: Any, path: str, ids: Mapping[str, Any], flow: str) -> Node:
    data = r.mapping(raw, path)
    kind = data.get("type")
    if kind not in _NODE_KEYS:
        known = ", ".join(_NODE_KEYS)
        raise FlowError(f"{path}.type", f"{kind!r} is not a node type; known types: {known}")
    allowed, required = _NODE_KEYS[kind]
    r.keys(data, path, allowed | _COMMON, required)
    f = _Fields(r, data, path, flow, ids)
    if kind == "menu":
        return MenuNode(
            prompt=f.need("prompt", r.ident),
            choices=_choices(r, data["choices"], f"{path}.choices", ids, flow),
            fallback=f.edge("fallback"),
            tries=f.get("tries", r.count, 3),
            timeout_s=f.get("timeout_s", r.seconds, 5.0),
            invalid=f.get("invalid", r.ident, "invalid_choice"),
            no_input=f.get("no_input", r.ident, "no_input"),
            each_language=f.get("each_language", r.flag, False),
            classify=f.get("classify", r.flag, False),
        )
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
        condition = data["condition"]
        if condition not in CONDITIONS:
            known = ", ".join(sorted(CONDITIONS))
            raise FlowError(
                f"{path}.condition", f"{condition!r} is not a condition; known: {known}"
            )
        return BranchNode(condition=condition, yes=f.edge("yes"), no=f.edge("no"))
    if kind == "queue":
        return QueueNode(
            prompt=f.get("prompt", r.ident, "queued"),
            team=f.get("team", r.ident, None),
            say=f.get("say", r.strings, ()),
        )
    return EndNode(reason=f.need("reason", r.text), prompt=f.get("prompt", r.ident, None))


def _announce(f: _Fields) -> AnnounceNode:
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


def _collect(f: _Fields) -> CollectNode:
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
    r: _Reader, raw: Any, path: str, nodes: Mapping[str, Any], flow: str
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


def _flow(r: _Reader, name: str, raw: Any, path: str) -> Flow:
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
    return Flow(name=name, input=data["input"], start=start, nodes=_freeze(nodes))


def _keywords(r: _Reader, raw: Any, teams: tuple[str, ...]) -> Keywords:
    data = r.mapping(raw, "keywords")
    by_team: dict[str, Mapping[str, tuple[str, ...]]] = {}
    complaint: Mapping[str, tuple[str, ...]] = {}
    for key, value in data.items():
        path = f"keywords.{key}"
        by_lang = r.mapping(value, path)
        stems = {lang: r.strings(items, f"{path}.{lang}") for lang, items in by_lang.items()}
        if key == "complaint":
            complaint = _freeze(stems)
        elif key in teams:
            by_team[key] = _freeze(stems)
        else:
            known = ", ".join((*teams, "complaint"))
            raise FlowError(path, f"{key!r} is neither a team nor complaint; known: {known}")
    return Keywords(teams=_freeze(by_team), complaint=complaint)


def parse_book(data: Mapping[str, Any], *, check_refs: bool = True) -> FlowBook:
    """Read the flow book from the whole parsed config.yaml mapping.

    Raises FlowError naming the key path and the bad value. ``check_refs=False`` skips the
    checks that names point at existing nodes, so ``ivr.lint.check_book`` can report all of
    them at once instead of the first.
    """
    r = _Reader(check_refs)
    languages = r.mapping(data.get("languages", {}), "languages")
    supported = r.strings(languages.get("supported", []), "languages.supported")
    if not supported:
        raise FlowError("languages.supported", "name at least one language, e.g. [pl, en]")
    default_language = r.text(languages.get("default", supported[0]), "languages.default")
    if default_language not in supported:
        raise FlowError("languages.default", f"{default_language!r} is not in languages.supported")
    raw_teams = r.mapping(data.get("teams", {}), "teams")
    teams = tuple(raw_teams)
    if not teams:
        raise FlowError("teams", "define at least one team")
    default_team = r.text(data.get("default_team", teams[0]), "default_team")
    if default_team not in teams:
        raise FlowError("default_team", f"{default_team!r} is not one of the teams")
    team_names: dict[str, Mapping[str, str]] = {}
    for team, spec in raw_teams.items():
        names = r.mapping(spec or {}, f"teams.{team}").get("names", {})
        by_lang = r.mapping(names or {}, f"teams.{team}.names")
        team_names[team] = _freeze(
            {k: r.text(v, f"teams.{team}.names.{k}") for k, v in by_lang.items()}
        )

    prompts: dict[str, Mapping[str, str]] = {}
    for key, texts in r.mapping(data.get("prompts", {}), "prompts").items():
        r.ident(key, f"prompts.{key}")
        by_lang = r.mapping(texts, f"prompts.{key}")
        prompts[key] = _freeze({k: r.text(v, f"prompts.{key}.{k}") for k, v in by_lang.items()})

    flows = {
        name: _flow(r, r.ident(name, f"flows.{name}"), raw, f"flows.{name}")
        for name, raw in r.mapping(data.get("flows", {}), "flows").items()
    }
    return FlowBook(
        flows=_freeze(flows),
        prompts=_freeze(prompts),
        keywords=_keywords(r, data.get("keywords", {}), teams),
        languages=supported,
        default_language=default_language,
        default_team=default_team,
        teams=teams,
        team_names=_freeze(team_names),
    )
