"""The brain and the entry point of Switchboard.

Subpackages, each offering its public names in its ``__init__``::

    app/       the composition root: store, services and channel adapters wired into an app
    config/    config.yaml: loading, ${VAR} expansion, the pydantic models
    identity/  accounts (codes as HMACs), agents and tokens, verification with lockout
    routing/   team, priority delay, business hours, incidents, SLA: the routing decision
    contacts/  the flow host: the channels' Inbox, a message in -> flow -> queue
    desk/      the agents' side: presence, claims under a lease, reply, resolve, transfer
    stats/     KPIs from events, Prometheus metrics, the last hour as series and charts
    http/      the agent API, pages, console websocket, and the one error -> status table
    cli/       the ``switchboard`` command

This module offers the router's exception tree (``router.errors``).
"""

from router.errors import (
    AccountError,
    AgentError,
    CannedChanged,
    CannedError,
    ConfigError,
    DeskError,
    IdentityError,
    NoSuchCanned,
    NoSuchCustomer,
    OpenContacts,
    PrivacyError,
    RouterError,
    UnknownIncident,
    VerifyError,
)

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
