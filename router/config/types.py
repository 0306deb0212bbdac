"""The value types of config.yaml: host:port, time ranges, dates, names, paths and the
validators that read them. Each raises ``ValueError`` naming the bad value (never a secret).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sized
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PlainValidator,
    SecretStr,
    ValidationInfo,
)

from queues import Channel

__all__ = [
    "BLANK_IS_NONE",
    "WEEKDAYS",
    "AgentName",
    "ChannelName",
    "DayHours",
    "Email",
    "Filled",
    "HostPort",
    "Language",
    "LanguageRef",
    "Listen",
    "Login",
    "Name",
    "NonBlank",
    "OptSecret",
    "OptStr",
    "OptUrl",
    "Port",
    "ResolvedPath",
    "TeamRef",
    "TimeRange",
    "Url",
    "a_country",
    "a_date",
    "a_holiday",
    "digits",
    "known",
    "matching",
    "money",
    "unique_by",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class HostPort:
    """A listening address, parsed from ``HOST:PORT`` (``[::1]:8080`` for IPv6)."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> HostPort:
        host, sep, port = text.rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        bare_ipv6 = ":" in host and not text.startswith("[")
        if not sep or not host or bare_ipv6 or not (port.isascii() and port.isdigit()):
            raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:8080)")
        if not 1 <= int(port) <= 65535:
            raise ValueError(f"{text!r} has port {int(port)}, outside 1..65535")
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Opening hours within one day, in minutes since midnight: ``start_min <= t < end_min``."""

    start_min: int
    end_min: int

    def __contains__(self, minute: int) -> bool:
        return self.start_min <= minute < self.end_min

    def __str__(self) -> str:
        return f"{_hhmm(self.start_min)}-{_hhmm(self.end_min)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def _minutes(text: str) -> int:
    match = _TIME.fullmatch(text.strip())
    hours, minutes = (int(part) for part in match.groups()) if match else (99, 99)
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{text.strip()!r} is not a time")
    return hours * 60 + minutes


def _time_range(value: object) -> TimeRange:
    if not isinstance(value, str):
        raise ValueError(f'{value!r} is not a time range; write "HH:MM-HH:MM" in quotes')
    parts = value.split("-")
    if len(parts) != 2:
        _minutes(parts[0])  # a lone bad time is reported as such
        raise ValueError(f"{value!r} is not a time range; write HH:MM-HH:MM")
    found = TimeRange(_minutes(parts[0]), _minutes(parts[1]))
    if found.start_min >= found.end_min:
        raise ValueError(
            f"{value!r} does not start before it ends; split a range past midnight in two days"
        )
    return found


def _day_hours(value: object) -> tuple[TimeRange, ...]:
    items = [] if value is None else value if isinstance(value, list) else [value]
    ranges = sorted((_time_range(item) for item in items), key=lambda r: r.start_min)
    for before, after in itertools.pairwise(ranges):
        if after.start_min < before.end_min:
            raise ValueError(f"'{before}' overlaps '{after}'")
    return tuple(ranges)


def a_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


def a_holiday(value: object) -> date | str:
    # "MM-DD" is a holiday every year (router.routing.hours reads it so); 02-29 is a valid one.
    if isinstance(value, str) and re.fullmatch(r"[0-9]{2}-[0-9]{2}", value):
        try:
            date(2000, int(value[:2]), int(value[3:]))
        except ValueError:
            raise ValueError(f"{value!r} is not a day of the year (MM-DD)") from None
        return value
    try:
        return a_date(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD, or MM-DD every year)") from None


def _non_blank(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"{value!r} is empty")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


_Sized = TypeVar("_Sized", bound=Sized)


def _filled(value: _Sized) -> _Sized:
    # Not Field(min_length=1): that also fires, confusingly, when an item was refused.
    if not len(value):
        raise ValueError("is empty; name at least one")
    return value


def matching(regex: str, what: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


def a_country(value: object) -> object:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2}", value):
        raise ValueError(f'{value!r} is not a two-letter country code; write it in quotes: "PL"')
    import holidays  # only when a country is configured: its registry takes a while to load

    if value.upper() not in holidays.list_supported_countries():
        raise ValueError(f"{value!r} is not a country the holidays package knows (ISO 3166)")
    return value.upper()


def _listen(value: object) -> HostPort:
    if isinstance(value, HostPort):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:8080)")
    return HostPort.parse(value)


def digits(low: int, high: int, *, secret: bool) -> Callable[[object], str]:
    def check(value: object) -> str:
        if isinstance(value, str) and re.fullmatch(f"[0-9]{{{low},{high}}}", value):
            return value
        shown = "the auth code" if secret else repr(value)
        if isinstance(value, int):
            raise ValueError(f"{shown} must be written in quotes so leading zeros are kept")
        raise ValueError(f"{shown} must be {low} to {high} digits")

    return check


def money(value: object) -> object:
    if isinstance(value, float):
        raise ValueError(f'{value!r} must be written in quotes ("{value:.2f}") to stay exact')
    return value


def _path(value: Path, info: ValidationInfo) -> Path:
    base = info.context.get("base_dir") if info.context else None
    value = value.expanduser()
    return Path(base, value).resolve() if base is not None else value


def unique_by(*keys: str) -> AfterValidator:
    def check(items: tuple[BaseModel, ...]) -> tuple[BaseModel, ...]:
        for key in keys:
            values = [getattr(item, key) for item in items]
            twice = next((v for n, v in enumerate(values) if v in values[:n]), None)
            if twice is not None:
                raise ValueError(f"{key} {twice!r} is listed twice")
        return items

    return AfterValidator(check)


def known(kind: str, key: str) -> Callable[[str, ValidationInfo], str]:
    """A check that a value is one of the names another section defined (context[key])."""

    def check(value: str, info: ValidationInfo) -> str:
        names = info.context.get(key) if info.context else None
        if names and value not in names:  # nothing known: that section is reported itself
            raise ValueError(f"{value!r} is not a {kind} ({', '.join(names)})")
        return value

    return check


BLANK_IS_NONE = BeforeValidator(lambda v: None if isinstance(v, str) and not v.strip() else v)
Filled = AfterValidator(_filled)
NonBlank = Annotated[str, AfterValidator(_non_blank)]
Name = Annotated[str, matching(r"[a-z][a-z0-9_]*", "a name of lowercase letters, digits and _")]
Login = Annotated[str, matching(r"(?![0-9]+\Z)[a-z0-9._-]{3,64}", "a login of 3-64 a-z 0-9 . _ -")]
AgentName = Annotated[str, matching(r"[a-z0-9._-]{1,64}", "an agent name of 1-64 a-z 0-9 . _ -")]
Email = Annotated[str, matching(r"[^@\s]+@[^@\s]+\.[^@\s.]+", "an email address")]
Language = Annotated[str, matching(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", "a language code (en)")]
Url = Annotated[str, AfterValidator(_http_url)]
OptUrl = Annotated[Url | None, BLANK_IS_NONE]
OptStr = Annotated[str | None, BLANK_IS_NONE]
OptSecret = Annotated[SecretStr | None, BLANK_IS_NONE]
Port = Annotated[int, Field(ge=1, le=65535)]
Listen = Annotated[HostPort, PlainValidator(_listen)]
DayHours = Annotated[tuple[TimeRange, ...], PlainValidator(_day_hours)]
ResolvedPath = Annotated[Path, BeforeValidator(_non_blank), AfterValidator(_path)]
ChannelName = Annotated[str, matching("|".join(Channel), f"a channel ({', '.join(Channel)})")]
TeamRef = Annotated[str, AfterValidator(known("team", "teams"))]
LanguageRef = Annotated[str, AfterValidator(known("supported language", "languages"))]
