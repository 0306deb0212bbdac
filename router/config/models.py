"""The sections of config.yaml as frozen pydantic models: HTTP, languages, teams and their
hours, priority, SLA, queues, verification, demo accounts and agents. Their value types are in
``types.py``, the ``channels:`` section in ``channels.py``, the whole ``Config`` in ``root.py``.

Validators raise ``ValueError`` with a message that names the bad value (never a secret's);
``problems.py`` turns pydantic's errors into ``path: problem`` lines. Checks against other
sections (a team an agent serves, an account's tier) read what the root model has already
validated from the validation context, so they run even when unrelated sections are broken.
"""

from __future__ import annotations

import ipaddress
from datetime import date
from decimal import Decimal
from typing import Annotated

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
    ValidationInfo,
    field_validator,
)

from queues import WAIT_EDGES_S
from router.config.types import (
    WEEKDAYS,
    AgentName,
    ChannelName,
    DayHours,
    Filled,
    Language,
    LanguageRef,
    Listen,
    Login,
    Name,
    NonBlank,
    OptSecret,
    OptStr,
    OptUrl,
    ResolvedPath,
    TeamRef,
    TimeRange,
    a_country,
    a_date,
    a_holiday,
    digits,
    known,
    money,
    unique_by,
)

__all__ = [
    "Accounts",
    "Agents",
    "AnswerTarget",
    "ChannelDelays",
    "DemoAccount",
    "DemoAgent",
    "Holidays",
    "Hours",
    "Http",
    "Languages",
    "Priority",
    "QueueSettings",
    "Section",
    "Sla",
    "Team",
    "Verification",
]


class Section(BaseModel):
    """Base of every section: immutable, and an unknown key is an error, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


def _network(value: object) -> str:
    """An address or a network in CIDR notation (``10.0.0.0/8``, ``::1``)."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an address or a network (10.0.0.0/8)")
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not an address or a network (10.0.0.0/8)") from None


class Http(Section):
    listen: Listen
    public_url: OptUrl = None
    # Reverse proxies whose X-Forwarded-For is believed: the client address the per-address
    # caps count (channels.webchat). Empty: the peer address is the client.
    trusted_proxies: tuple[Annotated[str, PlainValidator(_network)], ...] = ()
    # Largest request body on every path (413 past it, before the body is read).
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    # When set (e.g. ${SWITCHBOARD_METRICS_TOKEN}), GET /metrics needs it as a bearer token.
    metrics_token: OptSecret = None


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
    country: Annotated[str | None, BeforeValidator(a_country)] = None
    extra: tuple[Annotated[date | str, PlainValidator(a_holiday)], ...] = ()
    closed_dates: tuple[Annotated[date, PlainValidator(a_date)], ...] = ()


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
    form: NonNegativeInt = 0  # a written complaint from /complaint (router.complaints)


class Priority(Section):
    """Priority delays in seconds: a contact is served as if it arrived that much earlier."""

    channel: ChannelDelays
    tier: Annotated[dict[Name, NonNegativeInt], Filled]
    incident: NonNegativeInt
    complaint: NonNegativeInt = 0


def _wait_edge(threshold_s: int) -> int:
    """A service-level threshold is an edge of the store's wait bins (KPIs count answers
    within it exactly from the running aggregates)."""
    if threshold_s not in WAIT_EDGES_S:
        edges = ", ".join(f"{e:g}" for e in WAIT_EDGES_S)
        raise ValueError(f"{threshold_s} s is not an edge of the wait bins; use one of {edges}")
    return threshold_s


class AnswerTarget(Section):
    threshold_s: Annotated[PositiveInt, AfterValidator(_wait_edge)]
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
    # The outbox (channels.courier): how long a process holds a message it is sending
    # before another may take it, how often each process looks for due ones, and how many
    # tries a retryable failure gets before it is given up.
    outbox_lease_s: PositiveFloat = 30.0
    outbox_poll_s: PositiveFloat = 1.0
    outbox_attempts: PositiveInt = 8


class Verification(Section):
    max_failures: PositiveInt
    window_s: PositiveInt
    lock_s: PositiveInt
    address_max_failures: PositiveInt
    address_window_s: PositiveInt


class DemoAccount(Section):
    login: Login
    number: Annotated[str, PlainValidator(digits(1, 20, secret=False))]
    code: Annotated[str, PlainValidator(digits(4, 8, secret=True))] = Field(repr=False)
    name: NonBlank
    tier: Annotated[str, AfterValidator(known("tier", "tiers"))]
    balance: Annotated[Decimal, BeforeValidator(money), Field(allow_inf_nan=False)] = Decimal(0)
    services: tuple[NonBlank, ...] = ()


class Accounts(Section):
    file: ResolvedPath
    demo: Annotated[tuple[DemoAccount, ...], unique_by("login", "number")] = ()


class DemoAgent(Section):
    name: AgentName
    teams: Annotated[tuple[TeamRef, ...], Filled]
    phone: OptStr = None
    client_identity: OptStr = None


class Agents(Section):
    file: ResolvedPath
    demo: Annotated[tuple[DemoAgent, ...], unique_by("name")] = ()
    # Agents who may read the contacts of every team (read only: they still claim, reply
    # and resolve on their own teams). Other agents read their own teams' contacts.
    supervisors: tuple[AgentName, ...] = ()
