"""Typed reading of the raw config YAML; every error is a FlowError naming the key path."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from ivr.errors import FlowError
from ivr.nodes import Edge

__all__ = ["Fields", "Reader", "freeze"]

_T = TypeVar("_T")
_D = TypeVar("_D")
_BOOL_KEYS = {True: "yes", False: "no"}
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def freeze(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


class Reader:
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
            assign=freeze(assign),
        )


class Fields:
    """The keys of one node, read with the node's path in every error."""

    def __init__(self, r: Reader, data: Mapping[str, Any], path: str, flow: str, ids: Any):
        self.r, self.data, self.path, self.flow, self.ids = r, data, path, flow, ids

    def edge(self, key: str) -> Edge:
        return self.r.edge(self.data[key], f"{self.path}.{key}", self.ids, self.flow)

    def get(self, key: str, read: Callable[[Any, str], _T], default: _D) -> _T | _D:
        if key not in self.data:
            return default
        return read(self.data[key], f"{self.path}.{key}")

    def need(self, key: str, read: Callable[[Any, str], _T]) -> _T:
        return read(self.data[key], f"{self.path}.{key}")
