"""The IVR simulator: a TwiML emulator that calls the voice webhooks like Twilio does
(``switchboard call``): one call from a ``--press`` script or the keypad, or many at once;
``parse_twiml`` reads a TwiML document into the verbs it executes; ``answer`` picks up a call
the router placed through the REST API stand-in (a call back).
Its errors (``CallFailed``, ``ScriptError``, ``TwimlError``) are in ``ivr.errors``."""

from ivr.errors import CallFailed, ScriptError, TwimlError
from ivr.simulator.api import Placed, TwilioApi
from ivr.simulator.call import Call
from ivr.simulator.callback import answer, wait_and_answer
from ivr.simulator.cli import CliOptions, run_cli
from ivr.simulator.keys import KeypadKeys, KeySource, ScriptKeys, parse_press
from ivr.simulator.many import Summary, percentile, place_calls
from ivr.simulator.models import CallResult, CallSpec, Outcome, Signer, new_call_sid
from ivr.simulator.twiml import parse as parse_twiml

__all__ = [
    "Call",
    "CallFailed",
    "CallResult",
    "CallSpec",
    "CliOptions",
    "KeySource",
    "KeypadKeys",
    "Outcome",
    "Placed",
    "ScriptError",
    "ScriptKeys",
    "Signer",
    "Summary",
    "TwilioApi",
    "TwimlError",
    "answer",
    "new_call_sid",
    "parse_press",
    "parse_twiml",
    "percentile",
    "place_calls",
    "run_cli",
    "wait_and_answer",
]
