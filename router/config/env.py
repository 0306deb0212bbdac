"""``${VAR}`` and ``${VAR:-default}`` in config.yaml, replaced from the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["Expander"]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Expander:
    """Replaces ${VAR} references and remembers where, so that messages can show those
    values as written instead of as expanded (secrets live in the environment)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[tuple[str, str]] = []
        self.expanded: dict[str, tuple[str, str]] = {}  # path -> (as written, as expanded)

    def __call__(self, node: Any, path: str = "") -> Any:
        if isinstance(node, Mapping):
            return {k: self(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [self(item, f"{path}.{n}") for n, item in enumerate(node)]
        if not isinstance(node, str) or "${" not in node:
            return node

        def replace(match: re.Match[str]) -> str:
            name, default = match[1], match[2]
            value = self.env.get(name)
            if default is not None and not value:
                return default
            if value is None:
                hint = f"set it or write ${{{name}:-}}"
                self.problems.append((path, f"environment variable {name} is not set; {hint}"))
                return ""
            return value

        if "${" in _ENV_REF.sub("", node):
            self.problems.append((path, "has a ${ that is not ${VAR} or ${VAR:-default}"))
        self.expanded[path] = (node, _ENV_REF.sub(replace, node))
        return self.expanded[path][1]

    def hide(self, path: str, message: str) -> str:
        """``message`` with a value that came from the environment shown as written."""
        if path not in self.expanded:
            return message
        written, value = self.expanded[path]
        message = message.replace(repr(value), f"{written!r} (from the environment)")
        return message if not value or value not in message else "is not valid"
