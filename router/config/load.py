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
from collections.abc import Hashable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from router.config.env import Expander
from router.config.models import (
    Accounts,
    Agents,
    Channels,
    Http,
    Languages,
    Priority,
    QueueSettings,
    Section,
    Sla,
    Team,
    Verification,
)
from router.config.problems import problem, show
from router.config.types import Filled, HostPort, Name, NonBlank, ResolvedPath, TeamRef, TimeRange
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
    def unique_by(cls, dispositions: tuple[str, ...]) -> tuple[str, ...]:
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
