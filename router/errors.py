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
    ├── UnknownIncident (LookupError)
    │                            no incident has that id
    ├── PrivacyError             a customer's export or erase that cannot be done
    │   ├── NoSuchCustomer (LookupError)
    │   │                        no account and no contact has that login
    │   └── OpenContacts         an erase refused: the customer has contacts still open
    └── CannedError              a canned reply that cannot be read or changed so
        ├── NoSuchCanned (LookupError)
        │                        no canned reply has that id
        └── CannedChanged        If-Match names a version the reply no longer has

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
    "CannedChanged",
    "CannedError",
    "ConfigError",
    "DeskError",
    "IdentityError",
    "NoSuchCanned",
    "NoSuchCustomer",
    "OpenContacts",
    "PrivacyError",
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


class PrivacyError(RouterError):
    """A customer's export or erase that cannot be done."""


class NoSuchCustomer(PrivacyError, LookupError):
    """No account and no contact has that login."""

    def __init__(self, login: str) -> None:
        super().__init__(
            f"no account and no contact has the login {login!r}; check it with "
            "GET /api/contacts or switchboard accounts export"
        )
        self.login = login


class OpenContacts(PrivacyError):
    """An erase refused: the customer has contacts still in a flow, waiting or with an agent."""

    def __init__(self, login: str, contact_ids: list[str]) -> None:
        super().__init__(
            f"{login!r} has {len(contact_ids)} contact(s) still open ({', '.join(contact_ids)}); "
            "resolve them first, then erase"
        )
        self.login = login
        self.contact_ids = contact_ids


class CannedError(RouterError):
    """A canned reply that cannot be read or changed so."""


class NoSuchCanned(CannedError, LookupError):
    def __init__(self, reply_id: str) -> None:
        super().__init__(f"canned reply {reply_id!r} does not exist; GET /api/canned lists them")
        self.reply_id = reply_id


class CannedChanged(CannedError):
    def __init__(self, reply_id: str, tag: str) -> None:
        super().__init__(
            f"canned reply {reply_id!r} changed since version {tag!r}; read it again "
            "(GET /api/canned/{id}) and repeat the change"
        )
        self.reply_id = reply_id
