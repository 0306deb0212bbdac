"""Load and validate config.yaml into a frozen ``Config``.

An unreadable file or invalid setting raises ``ConfigError`` (``router/errors.py``):
str(error) is one ``path: problem`` line per problem, ``.problems`` holds the pairs.

``${VAR}`` and ``${VAR:-default}`` in any string are replaced from the environment first
(``:-`` also applies when VAR is set but empty). Relative paths are relative to the config
file's directory. Secrets are ``SecretStr``; no message or repr shows them, nor any value
that came from the environment.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from router.config.env import Expander
from router.config.problems import problem, show
from router.config.root import Config, redact_url
from router.config.types import HostPort, TimeRange  # also importable from here, as before
from router.errors import ConfigError

__all__ = [
    "IVR_KEYS",
    "Config",
    "ConfigError",
    "HostPort",
    "TimeRange",
    "load_config",
    "parse_config",
    "redact_url",
]

#: Top-level keys that belong to the flow engine (``ivr.flow.parse_book``), not to Config.
IVR_KEYS = frozenset({"prompts", "keywords", "flows"})


def parse_config(
    data: Mapping[str, Any], *, base_dir: Path, env: Mapping[str, str] | None = None
) -> Config:
    """Validate a parsed config mapping; relative paths resolve against ``base_dir``."""
    if not isinstance(data, Mapping):
        raise ConfigError([("(top level)", f"{show(data)} should be a mapping of settings")])
    expand = Expander(os.environ if env is None else env)
    raw = expand(data)
    problems = list(expand.problems)
    config: Config | None = None
    base_dir = Path(base_dir).expanduser().resolve()
    try:
        config = Config.model_validate(
            {key: value for key, value in raw.items() if key not in IVR_KEYS},
            context={"base_dir": base_dir},
        )
    except ValidationError as exc:
        for error in exc.errors():
            path, said = problem(error, Config)
            # A value emptied because its variable is unset is reported once, above.
            if not any(path == p or path.startswith(p + ".") for p, _ in expand.problems):
                problems.append((path, expand.hide(path, said)))
    from ivr import FlowError, parse_book

    book = None
    try:
        book = parse_book(raw)
    except FlowError as exc:
        # parse_book also reads languages and teams; a problem found there is listed once.
        if not any(exc.path == p or exc.path.startswith(p + ".") for p, _ in problems):
            message = str(exc).removeprefix(f"{exc.path}: ")
            problems.append((exc.path, expand.hide(exc.path, message)))
    except Exception:
        if not problems:
            raise
        # It tripped over a section already reported as invalid; those lines say enough.
    if problems or config is None or book is None:
        raise ConfigError(problems)
    config._config_dir = base_dir
    config._book = book
    return config


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found the key {key!r} twice",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None) -> Config:
    """Read, parse and validate a config file (see ``parse_config``)."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except OSError as exc:
        raise ConfigError([(str(path), f"cannot read it: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([(str(path), f"is not UTF-8 text: {exc.reason}")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        context = f" ({exc.context})" if exc.context else ""
        raise ConfigError([(str(path), f"invalid YAML{where}: {exc.problem}{context}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([(str(path), f"invalid YAML: {exc}")]) from None
    if data is None:
        raise ConfigError([(str(path), "is empty; it should be a mapping of settings")])
    return parse_config(data, base_dir=path.absolute().parent, env=env)
