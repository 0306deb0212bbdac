"""The flow engine: flow definitions read from config.yaml and a pure state machine that
runs them (``Engine``), with lint and drawings of the flows. The IVR simulator that speaks
to the voice webhooks is ``ivr.simulator``; every error of the layer is an ``IvrError``
(the tree is in ``ivr.errors``).
"""

from ivr.classify import Classification, classify, detect_language
from ivr.engine import Engine
from ivr.errors import FlowError, IvrError, StateError
from ivr.flow import Flow, FlowBook, Keywords, parse_book
from ivr.graph import to_dot, to_svg
from ivr.lint import Problem, check_book, has_errors
from ivr.state import (
    TERMINAL,
    Effect,
    End,
    Enqueue,
    Expect,
    Facts,
    FlowState,
    Prompt,
    Step,
    Verify,
    VerifyResult,
)

__all__ = [
    "TERMINAL",
    "Classification",
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
    "IvrError",
    "Keywords",
    "Problem",
    "Prompt",
    "StateError",
    "Step",
    "Verify",
    "VerifyResult",
    "check_book",
    "classify",
    "detect_language",
    "has_errors",
    "parse_book",
    "to_dot",
    "to_svg",
]
