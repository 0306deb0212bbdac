"""The IVR simulator: a TwiML emulator that calls the voice webhooks like Twilio does
(``switchboard call``)."""

from ivr.simulator.call import Call, CallSpec
from ivr.simulator.cli import CliOptions, run_cli
from ivr.simulator.many import place_calls

__all__ = ["Call", "CallSpec", "CliOptions", "place_calls", "run_cli"]
