"""What the engine takes and gives: facts, the flow state, prompts, expected input, effects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from ivr.errors import StateError

__all__ = [
    "TERMINAL",
    "Effect",
    "End",
    "Enqueue",
    "Expect",
    "Facts",
    "FlowState",
    "Prompt",
    "StateError",
    "Step",
    "Verify",
    "VerifyResult",
]

# state.node of a flow that has ended (queued or hung up); node ids cannot start with "$".
TERMINAL = "$end"


@dataclass(frozen=True, slots=True)
class Facts:
    """What the router knows now: open teams, open incidents and opening hours per team.

    ``incidents`` maps a team (or ``"*"`` for all teams) to the announcement text;
    ``hours`` maps a team to a human text of its opening hours in the contact's language.
    """

    open_teams: frozenset[str] = frozenset()
    incidents: Mapping[str, str] = field(default_factory=dict)
    hours: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt key and its parameters; ``language`` is the one to render and speak it in."""

    key: str
    params: Mapping[str, str] = field(default_factory=dict)
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Expect:
    """The input the flow waits for: digits (voice), text, or none (an effect is due).

    ``secret`` means the answer may carry an auth code: keep and log it only masked.
    """

    kind: Literal["digits", "text", "none"]
    num_digits: int | None = None
    finish_on_key: str | None = None
    timeout_s: float = 5.0
    secret: bool = False


@dataclass(frozen=True, slots=True)
class Verify:
    """Effect: check the identifier (login or customer number) with the auth code."""

    identifier: str
    code: str

    def __repr__(self) -> str:
        # The code must not reach a log line through a repr of the step.
        return f"Verify(identifier={self.identifier!r}, code='******')"


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Effect (terminal): queue the contact, then say ``prompt`` with {position} {wait_min}."""

    team: str
    complaint: bool = False
    prompt: str = "queued"


@dataclass(frozen=True, slots=True)
class End:
    """Effect (terminal): the conversation ends."""

    reason: str


Effect = Verify | Enqueue | End


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What the router's verification found; the engine resumes the flow with it."""

    ok: bool
    locked: bool = False
    account: str | None = None
    tier: str | None = None
    balance_negative: bool = False


def _strings(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise StateError(f"flow state {what} must map strings to strings, got {value!r}")
    return dict(value)


@dataclass(frozen=True, slots=True)
class FlowState:
    """Where a conversation is in its flow; JSON-safe, kept as the conversation session.

    ``vars`` are strings: language, login or number, team, complaint ("1"/"0"), verified
    ("1"/"0"), account, tier, balance_negative, text (the first message). Auth codes are
    never kept here.
    """

    flow: str
    node: str
    language: str
    vars: Mapping[str, str] = field(default_factory=dict)
    tries: int = 0
    failures: int = 0

    @property
    def finished(self) -> bool:
        return self.node == TERMINAL

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "node": self.node,
            "language": self.language,
            "vars": dict(self.vars),
            "tries": self.tries,
            "failures": self.failures,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlowState:
        texts = {}
        for key in ("flow", "node", "language"):
            value = data.get(key)
            if not isinstance(value, str) or not value:
                raise StateError(f"flow state field {key!r} must be a non-empty string")
            texts[key] = value
        counts = {}
        for key in ("tries", "failures"):
            value = data.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise StateError(f"flow state field {key!r} must be a whole number, got {value!r}")
            counts[key] = value
        return cls(
            flow=texts["flow"],
            node=texts["node"],
            language=texts["language"],
            vars=MappingProxyType(_strings(data.get("vars", {}), "vars")),
            tries=counts["tries"],
            failures=counts["failures"],
        )


@dataclass(frozen=True, slots=True)
class Step:
    """One turn of the flow: the new state, prompts to say, expected input, an effect."""

    state: FlowState
    prompts: tuple[Prompt, ...]
    expect: Expect
    effect: Effect | None = None
