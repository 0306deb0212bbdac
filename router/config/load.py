"""Load and validate config.yaml into a frozen ``Config``.

An unreadable file or invalid setting raises ``ConfigError`` (``router/errors.py``):
str(error) is one ``path: problem`` line per problem, ``.problems`` holds the pairs.

``${VAR}`` and ``${VAR:-default}`` in any string are replaced from the environment first
(``:-`` also applies when VAR is set but empty). Relative paths are relative to the config
file's directory. Secrets are ``SecretStr``; no message or repr shows them, nor any value
that came from the environment.
"""

from __future__ import annotations

import difflib
import os
import re
import types
from collections.abc import Hashable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from router.config.models import (
    Accounts,
    Agents,
    Channels,
    Filled,
    HostPort,
    Http,
    Languages,
    Name,
    NonBlank,
    Priority,
    QueueSettings,
    ResolvedPath,
    Section,
    Sla,
    Team,
    TeamRef,
    TimeRange,
    Verification,
)
from router.errors import ConfigError

if TYPE_CHECKING:
    from ivr import FlowBook

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
STORE_SCHEMES = ("memory", "sqlite", "redis", "rediss", "unix")
#: Keys whose values are never shown in a message.
SECRET_KEYS = frozenset({"auth_token", "bot_token", "secret_token", "password", "code"})
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def redact_url(url: str) -> str:
    """``url`` with the password of its user part (``redis://:pw@host``) replaced by ***."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{hostport}").geturl()


def _store_url(url: str, base_dir: Path) -> str:
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme not in STORE_SCHEMES:
        raise ValueError(
            f"{redact_url(url)!r} is not a store URL; use memory://, sqlite:///path.db or "
            "redis://host:port/db"
        )
    prefix = "sqlite:///"
    if scheme != "sqlite" or url == prefix + ":memory:":
        return url
    if not url.startswith(prefix) or url == prefix:
        raise ValueError(
            f"{url!r} is not a sqlite file URL; use sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db"
        )
    return prefix + str((base_dir / Path(url[len(prefix) :]).expanduser()).resolve())


def _timezone(value: object) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    try:
        if isinstance(value, str):
            return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    raise ValueError(f"{value!r} is not a time zone")


def _base_dir(info: ValidationInfo) -> Path:
    base = info.context.get("base_dir") if info.context else None
    return Path(base) if base is not None else Path.cwd()


def _remember(info: ValidationInfo, key: str, names: Sequence[str]) -> None:
    # Later fields (agents' teams, accounts' tiers, team names' languages) check against
    # these names; pydantic validates fields in declaration order.
    if info.context is not None:
        info.context[key] = tuple(names)


class Config(Section):
    """The whole validated config. Build it with ``load_config`` or ``parse_config``."""

    store: str = Field(repr=False)  # may hold a Redis password; __repr_args__ redacts it
    data_dir: ResolvedPath
    http: Http
    languages: Languages
    timezone: Annotated[ZoneInfo, PlainValidator(_timezone)]
    teams: Annotated[dict[Name, Team], Filled]
    default_team: TeamRef
    priority: Priority
    sla: Sla
    queues: QueueSettings
    verification: Verification
    dispositions: Annotated[tuple[NonBlank, ...], Filled]
    accounts: Accounts
    agents: Agents
    channels: Channels = Channels()

    _config_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _book: FlowBook | None = PrivateAttr(default=None)

    @field_validator("store")
    @classmethod
    def _resolve_store(cls, url: str, info: ValidationInfo) -> str:
        return _store_url(url, _base_dir(info))

    # Before-validators: other sections check names against these even when the section
    # itself has a problem elsewhere, so that one run lists every problem.
    @field_validator("languages", mode="before")
    @classmethod
    def _known_languages(cls, languages: Any, info: ValidationInfo) -> Any:
        supported = languages.get("supported") if isinstance(languages, Mapping) else None
        if isinstance(supported, list) and all(isinstance(code, str) for code in supported):
            _remember(info, "languages", supported)
        return languages

    @field_validator("teams", mode="before")
    @classmethod
    def _known_teams(cls, teams: Any, info: ValidationInfo) -> Any:
        if isinstance(teams, Mapping):
            _remember(info, "teams", [str(name) for name in teams])
        return teams

    @field_validator("priority", mode="before")
    @classmethod
    def _known_tiers(cls, priority: Any, info: ValidationInfo) -> Any:
        tiers = priority.get("tier") if isinstance(priority, Mapping) else None
        if isinstance(tiers, Mapping):
            _remember(info, "tiers", [str(tier) for tier in tiers])
        return priority

    @field_validator("dispositions")
    @classmethod
    def _unique(cls, dispositions: tuple[str, ...]) -> tuple[str, ...]:
        for n, name in enumerate(dispositions):
            if name in dispositions[:n]:
                raise ValueError(f"{name!r} is listed twice")
        return dispositions

    @property
    def store_url(self) -> str:
        """The store URL; a relative sqlite path is made absolute against the config dir."""
        return self.store

    @property
    def team_names(self) -> tuple[str, ...]:
        return tuple(self.teams)

    @property
    def config_dir(self) -> Path:
        """The directory relative paths in the file were resolved against."""
        return self._config_dir

    @property
    def data_path(self) -> Path:
        """``data_dir``, absolute."""
        return self.data_dir

    @property
    def book(self) -> FlowBook:
        """The flows, prompts and keywords (``ivr.flow.parse_book``)."""
        if self._book is None:
            raise RuntimeError("Config.book is set by load_config and parse_config only")
        return self._book

    def with_store(self, url: str) -> Config:
        """A copy using store ``url`` (the CLI's ``--store``); a relative sqlite path in it
        is relative to the working directory, as on any command line."""
        try:
            resolved = _store_url(url, Path.cwd())
        except ValueError as exc:
            raise ConfigError([("store", str(exc))]) from None
        return self.model_copy(update={"store": resolved})

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        yield ("store", redact_url(self.store))
        yield from super().__repr_args__()


class _Expander:
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


def _annotation_at(loc: Sequence[str | int]) -> Any:
    """The declared type at ``loc`` below Config, or None when the walk leaves the models."""
    annotation: Any = Config
    for part in loc:
        while get_origin(annotation) in (Annotated, Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            annotation = field.annotation if field is not None else None
        elif get_origin(annotation) in (dict, tuple, list):
            annotation = get_args(annotation)[-1 if get_origin(annotation) is dict else 0]
        else:
            return None
    return annotation


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _problem(error: Mapping[str, Any]) -> tuple[str, str]:
    """One pydantic error as (path, problem)."""
    loc = [part for part in error["loc"] if part != "[key]"]
    path = ".".join(str(part) for part in loc) or "(top level)"
    kind, message = error["type"], str(error["msg"])
    if kind == "value_error":
        return path, message.removeprefix("Value error, ")
    if kind == "missing":
        return path, "is missing; add it"
    if kind == "extra_forbidden":
        owner = _annotation_at(loc[:-1])
        is_model = isinstance(owner, type) and issubclass(owner, BaseModel)
        fields = list(owner.model_fields) if is_model else []
        close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(fields)}"
        return path, f"unknown key; {hint}"
    shown = "the value" if loc and str(loc[-1]) in SECRET_KEYS else _show(error.get("input"))
    if kind in ("model_type", "dict_type"):
        return path, f"{shown} should be a mapping of keys to values"
    if message.startswith("Input should "):
        return path, f"{shown} {message.removeprefix('Input ')}"
    return path, f"{shown}: {message}"


def parse_config(
    data: Mapping[str, Any], *, base_dir: Path, env: Mapping[str, str] | None = None
) -> Config:
    """Validate a parsed config mapping; relative paths resolve against ``base_dir``."""
    if not isinstance(data, Mapping):
        raise ConfigError([("(top level)", f"{_show(data)} should be a mapping of settings")])
    expand = _Expander(os.environ if env is None else env)
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
            path, problem = _problem(error)
            # A value emptied because its variable is unset is reported once, above.
            if not any(path == p or path.startswith(p + ".") for p, _ in expand.problems):
                problems.append((path, expand.hide(path, problem)))
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
