"""The flow engine: flow definitions and a pure state machine; the IVR simulator."""

from ivr.engine import (
    TERMINAL,
    Effect,
    End,
    Engine,
    Enqueue,
    Expect,
    Facts,
    FlowState,
    Prompt,
    StateError,
    Step,
    Verify,
    VerifyResult,
    detect_language,
)
from ivr.flow import Flow, FlowBook, FlowError, Keywords, parse_book
from ivr.graph import to_dot, to_svg
from ivr.lint import Problem, check_book, has_errors

__all__ = [
    "TERMINAL",
    "Effect",
    "End",
    "Engine",
    "Enqueue",
    "Expect",
    "Facts",
    "Flow",
    "FlowBook",
    "FlowError",
    "FlowState",
    "Keywords",
    "Problem",
    "Prompt",
    "StateError",
    "Step",
    "Verify",
    "VerifyResult",
    "check_book",
    "detect_language",
    "has_errors",
    "parse_book",
    "to_dot",
    "to_svg",
]
