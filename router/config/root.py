"""The whole config.yaml as one frozen model, ``Config``: its sections (``models.py``,
``channels.py``), the store URL and the time zone. Build it with ``load_config`` or
``parse_config`` (``load.py``), which also attach the flows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PlainValidator, PrivateAttr, ValidationInfo, field_validator

from router.config.canned import Canned
from router.config.channels import Channels
from router.config.complaints import Complaints
from router.config.desk import Desk, Survey
from router.config.models import (
    Accounts,
    Agents,
    Http,
    Languages,
    Priority,
    QueueSettings,
    Section,
    Sla,
    Team,
    Verification,
)
from router.config.simulate import Simulate
from router.config.standing import QueueStatusSettings
from router.config.types import Filled, Name, NonBlank, ResolvedPath, TeamRef
from router.errors import ConfigError

if TYPE_CHECKING:
    from ivr import FlowBook

__all__ = ["STORE_SCHEMES", "Config", "redact_url"]

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
    desk: Desk = Desk()  # capacity and wrap-up (router/config/desk.py)
    survey: Survey = Survey()  # CSAT and first-contact resolution
    simulate: Simulate | None = None  # `switchboard simulate` (router/simulate/)
    complaints: Complaints = Complaints()  # the /complaint form (router/complaints/)
    canned: Canned = Field(default_factory=dict)  # canned replies (router/config/canned.py)
    # Where a waiting customer stands, asked and unasked (router/contacts/standing.py).
    queue_status: QueueStatusSettings = QueueStatusSettings()

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
