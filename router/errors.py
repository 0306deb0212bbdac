"""Every error the router raises, as one tree.

Exceptions::

    RouterError                  base of the router's own errors
    ├── ConfigError              config.yaml cannot be read, is not YAML, or a setting is
    │                            invalid; one ``path: problem`` line per problem, the pairs
    │                            in ``.problems``
    ├── IdentityError (ValueError)
    │   ├── AccountError         a bad account, account file, CSV file or server secret
    │   ├── AgentError           a bad agent, team, phone, client identity or agents file
    │   └── VerifyError          the verifier was given a bad limit or an empty address
    ├── DeskError (ValueError)   a request the desk refuses: an unknown team or
    │                            disposition, an empty reply
    └── UnknownIncident (LookupError)
                                 no incident has that id

The lower layers have trees of their own (``queues.QueueError``, ``channels.ChannelError``,
``ivr.IvrError``). ``router.http`` maps all of them to status codes in one table
(``router/http/errors.py``); the CLI turns ``ConfigError``, ``AccountError`` and
``AgentError`` into exit code 2 with the message.

Messages are sentences that name the bad value and say what to do.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AccountError",
    "AgentError",
    "ConfigError",
    "DeskError",
    "IdentityError",
    "RouterError",
    "UnknownIncident",
    "VerifyError",
]


class RouterError(Exception):
    """Base of the router's own errors."""


class ConfigError(RouterError):
    """An unreadable or invalid config file; one ``path: problem`` line per problem."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"{path}: {problem}" for path, problem in self.problems))


class IdentityError(RouterError, ValueError):
    """A bad account, agent or verification setting."""


class AccountError(IdentityError):
    """A bad account, account file, CSV file or server secret."""


class AgentError(IdentityError):
    """A bad agent, team, phone, client identity or agents file."""


class VerifyError(IdentityError):
    """The verifier was given a bad limit or an empty address."""


class DeskError(RouterError, ValueError):
    """A request the desk refuses: an unknown team or disposition, an empty reply."""


class UnknownIncident(RouterError, LookupError):
    """No incident has that id."""

    def __init__(self, incident_id: str) -> None:
        super().__init__(f"incident {incident_id!r} does not exist; list the open incidents")
        self.incident_id = incident_id
