"""The sections of config.yaml as frozen pydantic models, and the small value types they use.

Validators raise ``ValueError`` with a message that names the bad value (never a secret's);
``router.config.load`` turns pydantic's errors into ``path: problem`` lines. Checks against other
sections (a team an agent serves, an account's tier) read what the root model has already
validated from the validation context, so they run even when unrelated sections are broken.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sized
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    PlainValidator,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationInfo,
    field_validator,
)

from queues import Channel

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Section(BaseModel):
    """Base of every section: immutable, and an unknown key is an error, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


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


def _date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


def _holiday(value: object) -> date | str:
    # "MM-DD" is a holiday every year (router.routing.hours reads it so); 02-29 is a valid one.
    if isinstance(value, str) and re.fullmatch(r"[0-9]{2}-[0-9]{2}", value):
        try:
            date(2000, int(value[:2]), int(value[3:]))
        except ValueError:
            raise ValueError(f"{value!r} is not a day of the year (MM-DD)") from None
        return value
    try:
        return _date(value)
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


def _pattern(regex: str, what: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


def _country(value: object) -> object:
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


def _digits(low: int, high: int, *, secret: bool) -> Callable[[object], str]:
    def check(value: object) -> str:
        if isinstance(value, str) and re.fullmatch(f"[0-9]{{{low},{high}}}", value):
            return value
        shown = "the auth code" if secret else repr(value)
        if isinstance(value, int):
            raise ValueError(f"{shown} must be written in quotes so leading zeros are kept")
        raise ValueError(f"{shown} must be {low} to {high} digits")

    return check


def _money(value: object) -> object:
    if isinstance(value, float):
        raise ValueError(f'{value!r} must be written in quotes ("{value:.2f}") to stay exact')
    return value


def _path(value: Path, info: ValidationInfo) -> Path:
    base = info.context.get("base_dir") if info.context else None
    value = value.expanduser()
    return Path(base, value).resolve() if base is not None else value


def _unique(*keys: str) -> AfterValidator:
    def check(items: tuple[BaseModel, ...]) -> tuple[BaseModel, ...]:
        for key in keys:
            values = [getattr(item, key) for item in items]
            twice = next((v for n, v in enumerate(values) if v in values[:n]), None)
            if twice is not None:
                raise ValueError(f"{key} {twice!r} is listed twice")
        return items

    return AfterValidator(check)


def _known(kind: str, key: str) -> Callable[[str, ValidationInfo], str]:
    """A check that a value is one of the names another section defined (context[key])."""

    def check(value: str, info: ValidationInfo) -> str:
        names = info.context.get(key) if info.context else None
        if names and value not in names:  # nothing known: that section is reported itself
            raise ValueError(f"{value!r} is not a {kind} ({', '.join(names)})")
        return value

    return check


_BLANK_IS_NONE = BeforeValidator(lambda v: None if isinstance(v, str) and not v.strip() else v)
Filled = AfterValidator(_filled)
NonBlank = Annotated[str, AfterValidator(_non_blank)]
Name = Annotated[str, _pattern(r"[a-z][a-z0-9_]*", "a name of lowercase letters, digits and _")]
Login = Annotated[str, _pattern(r"(?![0-9]+\Z)[a-z0-9._-]{3,64}", "a login of 3-64 a-z 0-9 . _ -")]
AgentName = Annotated[str, _pattern(r"[a-z0-9._-]{1,64}", "an agent name of 1-64 a-z 0-9 . _ -")]
Email = Annotated[str, _pattern(r"[^@\s]+@[^@\s]+\.[^@\s.]+", "an email address")]
Language = Annotated[str, _pattern(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", "a language code (en)")]
Url = Annotated[str, AfterValidator(_http_url)]
OptUrl = Annotated[Url | None, _BLANK_IS_NONE]
OptStr = Annotated[str | None, _BLANK_IS_NONE]
OptSecret = Annotated[SecretStr | None, _BLANK_IS_NONE]
Port = Annotated[int, Field(ge=1, le=65535)]
Listen = Annotated[HostPort, PlainValidator(_listen)]
DayHours = Annotated[tuple[TimeRange, ...], PlainValidator(_day_hours)]
ResolvedPath = Annotated[Path, BeforeValidator(_non_blank), AfterValidator(_path)]
ChannelName = Annotated[str, _pattern("|".join(Channel), f"a channel ({', '.join(Channel)})")]
TeamRef = Annotated[str, AfterValidator(_known("team", "teams"))]
LanguageRef = Annotated[str, AfterValidator(_known("supported language", "languages"))]


class Http(Section):
    listen: Listen
    public_url: OptUrl = None


class Languages(Section):
    # Declared before `default` and `rtl` so their validators see it in info.data.
    supported: Annotated[tuple[Language, ...], Filled]
    default: str
    rtl: tuple[str, ...] = ()

    @field_validator("default", "rtl")
    @classmethod
    def _is_supported(cls, value: str | tuple[str, ...], info: ValidationInfo) -> object:
        supported = info.data.get("supported")
        for code in (value,) if isinstance(value, str) else value:
            if supported is not None and code not in supported:
                raise ValueError(f"{code!r} is not a supported language ({', '.join(supported)})")
        return value


class Hours(Section):
    """Opening hours per weekday; an empty tuple is a closed day."""

    mon: DayHours
    tue: DayHours
    wed: DayHours
    thu: DayHours
    fri: DayHours
    sat: DayHours
    sun: DayHours

    def for_weekday(self, weekday: int) -> tuple[TimeRange, ...]:
        """The ranges of ``date.weekday()`` (Monday is 0)."""
        ranges: tuple[TimeRange, ...] = getattr(self, WEEKDAYS[weekday])
        return ranges

    def as_spec(self) -> dict[str, list[str]]:
        """``{"mon": ["10:00-18:00"], ...}``, the form ``BusinessHours.from_spec`` takes."""
        return {day: [str(r) for r in self.for_weekday(n)] for n, day in enumerate(WEEKDAYS)}


class Holidays(Section):
    country: Annotated[str | None, BeforeValidator(_country)] = None
    extra: tuple[Annotated[date | str, PlainValidator(_holiday)], ...] = ()
    closed_dates: tuple[Annotated[date, PlainValidator(_date)], ...] = ()


class Team(Section):
    names: dict[LanguageRef, NonBlank]
    hours: Hours
    holidays: Holidays = Holidays()

    @field_validator("names")
    @classmethod
    def _every_language(cls, names: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        languages = info.context.get("languages") if info.context else None
        missing = [code for code in languages or () if code not in names]
        if missing:
            raise ValueError(f"has no name for {', '.join(missing)}")
        return names


class ChannelDelays(Section):
    voice: NonNegativeInt
    chat: NonNegativeInt
    telegram: NonNegativeInt
    sms: NonNegativeInt
    email: NonNegativeInt


class Priority(Section):
    """Priority delays in seconds: a contact is served as if it arrived that much earlier."""

    channel: ChannelDelays
    tier: Annotated[dict[Name, NonNegativeInt], Filled]
    incident: NonNegativeInt
    complaint: NonNegativeInt = 0


class AnswerTarget(Section):
    threshold_s: PositiveInt
    target: float = Field(gt=0, le=1)


class Sla(Section):
    answer: dict[ChannelName, AnswerTarget]
    first_response_business_days: dict[ChannelName, PositiveInt]
    complaint_business_days: PositiveInt

    @property
    def thresholds_s(self) -> dict[str, float]:
        """Per channel, the answer time that counts as within the service level."""
        return {str(ch): float(a.threshold_s) for ch, a in self.answer.items()}


class QueueSettings(Section):
    lease_s: PositiveFloat
    reaper_interval_s: PositiveFloat
    session_ttl_s: PositiveInt


class Verification(Section):
    max_failures: PositiveInt
    window_s: PositiveInt
    lock_s: PositiveInt
    address_max_failures: PositiveInt
    address_window_s: PositiveInt


class DemoAccount(Section):
    login: Login
    number: Annotated[str, PlainValidator(_digits(1, 20, secret=False))]
    code: Annotated[str, PlainValidator(_digits(4, 8, secret=True))] = Field(repr=False)
    name: NonBlank
    tier: Annotated[str, AfterValidator(_known("tier", "tiers"))]
    balance: Annotated[Decimal, BeforeValidator(_money), Field(allow_inf_nan=False)] = Decimal(0)
    services: tuple[NonBlank, ...] = ()


class Accounts(Section):
    file: ResolvedPath
    demo: Annotated[tuple[DemoAccount, ...], _unique("login", "number")] = ()


class DemoAgent(Section):
    name: AgentName
    teams: Annotated[tuple[TeamRef, ...], Filled]
    phone: OptStr = None
    client_identity: OptStr = None


class Agents(Section):
    file: ResolvedPath
    demo: Annotated[tuple[DemoAgent, ...], _unique("name")] = ()


class TwilioConfig(Section):
    account_sid: OptStr = None
    auth_token: OptSecret = None
    api_base_url: OptUrl = None
    trust_proxy: bool = False
    hold_refresh_s: Annotated[int, Field(ge=30, le=60)] = 45

    @property
    def enabled(self) -> bool:
        return self.account_sid is not None and self.auth_token is not None


class EmailRelay(Section):
    host: OptStr = None
    port: Port = 25
    username: OptStr = None
    password: OptSecret = None
    starttls: bool = False


class EmailConfig(Section):
    listen: Listen = HostPort("127.0.0.1", 8025)
    addresses: tuple[Email, ...] = ()
    from_address: Email | None = None
    max_size_bytes: PositiveInt = 10 * 1024 * 1024
    relay: EmailRelay = EmailRelay()
    # STARTTLS is offered when both are set (PEM files, relative to this config file).
    tls_cert: Annotated[ResolvedPath | None, _BLANK_IS_NONE] = None
    tls_key: Annotated[ResolvedPath | None, _BLANK_IS_NONE, Field(validate_default=True)] = None
    # keep: attachment files go under <data_dir>/mail/attachments by content hash; drop:
    # only their name, type and size are kept.
    attachments: Annotated[str, _pattern("keep|drop", "keep or drop")] = "keep"
    max_attachment_bytes: PositiveInt = 10 * 1024 * 1024
    auto_reply_per_hour: PositiveInt = 5  # automatic replies to one address (loop guard)

    @field_validator("tls_key")
    @classmethod
    def _cert_with_key(cls, key: Path | None, info: ValidationInfo) -> Path | None:
        if "tls_cert" in info.data and (key is None) != (info.data["tls_cert"] is None):
            raise ValueError("set tls_cert and tls_key together, or neither")
        return key


class TelegramConfig(Section):
    bot_token: OptSecret = None
    secret_token: OptSecret = None
    api_base_url: OptUrl = None

    @field_validator("secret_token")
    @classmethod
    def _token_charset(cls, token: SecretStr | None) -> SecretStr | None:
        # Telegram's own rule for secret_token; the message must not echo the secret.
        value = token.get_secret_value() if token is not None else ""
        if token is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
            raise ValueError("may hold only A-Z, a-z, 0-9, _ and - (1 to 256 characters)")
        return token

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None and self.secret_token is not None


class WebchatConfig(Section):
    max_message_chars: PositiveInt = 2000
    max_messages_per_minute: PositiveInt = 30
    # Sites (scheme://host[:port]) that may embed /chat or open its websocket besides this
    # server itself; empty: any site may embed it.
    allowed_origins: tuple[
        Annotated[
            str, _pattern(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?", "an origin (https://host)")
        ],
        ...,
    ] = ()


class Channels(Section):
    twilio: TwilioConfig = TwilioConfig()
    email: EmailConfig = EmailConfig()
    telegram: TelegramConfig = TelegramConfig()
    webchat: WebchatConfig = WebchatConfig()
