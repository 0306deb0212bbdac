"""Every error the ``ivr`` layer raises, as one tree.

Exceptions::

    IvrError                       base of the flow engine's and the simulator's errors
    ├── FlowError (ValueError)     the flow book in the config is invalid; ``path`` names
    │                              the key, e.g. ``flows.voice.start``
    ├── StateError (ValueError)    a FlowState or a call does not fit the book: an unknown
    │                              flow or node, a finished flow, an answer where none is
    │                              awaited
    ├── TwimlError (ValueError)    the simulator got TwiML it cannot execute: malformed XML,
    │                              an unknown verb or noun, a bad attribute value
    ├── ScriptError (ValueError)   a ``--press`` script that is not keys
    └── CallFailed                 a simulated call cannot go on: the webhook failed or
                                   answered something unusable

The ``ValueError`` bases keep ``except ValueError`` working for bad input. Messages are
sentences that name the bad value and say what to do.
"""

from __future__ import annotations

__all__ = ["CallFailed", "FlowError", "IvrError", "ScriptError", "StateError", "TwimlError"]


class IvrError(Exception):
    """Base of every error the flow engine and the IVR simulator raise."""


class FlowError(IvrError, ValueError):
    """The flow book is invalid; ``path`` is the config key, e.g. ``flows.voice.start``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class StateError(IvrError, ValueError):
    """A FlowState or a call does not fit the flow book."""


class TwimlError(IvrError, ValueError):
    """The document is not TwiML the simulator can execute; the message names the verb."""


class ScriptError(IvrError, ValueError):
    """A ``--press`` script that is not keys; the message names the bad answer."""


class CallFailed(IvrError):
    """The call cannot go on: the webhook failed or answered something unusable."""
