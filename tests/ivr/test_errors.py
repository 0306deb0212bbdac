"""The layer's exception tree: one base, ValueError kept where callers catch it."""

from __future__ import annotations

import pytest

import ivr
import ivr.simulator
from ivr import errors
from ivr.errors import CallFailed, FlowError, IvrError, ScriptError, StateError, TwimlError


@pytest.mark.parametrize("error", [FlowError, StateError, TwimlError, ScriptError, CallFailed])
def test_every_error_of_the_layer_is_an_ivr_error(error: type[Exception]) -> None:
    assert issubclass(error, IvrError)


@pytest.mark.parametrize("error", [FlowError, StateError, TwimlError, ScriptError])
def test_errors_about_bad_input_are_still_value_errors(error: type[Exception]) -> None:
    assert issubclass(error, ValueError)


def test_the_docstring_draws_every_error_of_the_tree() -> None:
    assert errors.__doc__ is not None
    drawn = {line.strip(" │├└─").split(" ")[0] for line in errors.__doc__.splitlines()}
    assert set(errors.__all__) <= drawn


def test_flow_error_keeps_its_path_and_message() -> None:
    error = FlowError("flows.voice.start", "'nope' is not a node of flow 'voice'")
    assert error.path == "flows.voice.start"
    assert str(error) == "flows.voice.start: 'nope' is not a node of flow 'voice'"


def test_the_packages_offer_the_errors_where_they_did() -> None:
    assert ivr.IvrError is IvrError
    assert (ivr.FlowError, ivr.StateError) == (FlowError, StateError)
    assert ivr.simulator.CallFailed is CallFailed
    assert (ivr.simulator.ScriptError, ivr.simulator.TwimlError) == (ScriptError, TwimlError)
