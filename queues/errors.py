"""The one exception tree of ``queues``.

Exceptions::

    QueueError               base of every error raised by ``queues``
    ├── StoreUnavailable     the backend cannot be reached; callers answer 503/451 and retry
    ├── ContactNotFound      no contact with that id
    ├── InvalidTransition    the contact is not in a state the operation applies to
    └── NotHolder            the agent does not hold the contact's lease (never had it, or
                             the lease expired and the contact went back to its queue)
"""

from __future__ import annotations

from queues.models import ContactState

__all__ = ["ContactNotFound", "InvalidTransition", "NotHolder", "QueueError", "StoreUnavailable"]


class QueueError(Exception):
    """Base of every error raised by ``queues``."""


class StoreUnavailable(QueueError):
    """The backend could not be reached or did not answer.

    The operation was not applied, or, when the connection failed mid-call, may have been:
    a caller that retries must expect the retry to find it done (idempotent intake does).
    """


class ContactNotFound(QueueError):
    def __init__(self, contact_id: str) -> None:
        super().__init__(f"contact {contact_id!r} does not exist; check the id")
        self.contact_id = contact_id


class InvalidTransition(QueueError):
    def __init__(self, contact_id: str, state: ContactState | str, operation: str) -> None:
        super().__init__(
            f"contact {contact_id!r} is {state}; {operation} does not apply to a contact "
            "in that state"
        )
        self.contact_id = contact_id
        self.state = ContactState(state)
        self.operation = operation


class NotHolder(QueueError):
    def __init__(self, contact_id: str, agent: str) -> None:
        super().__init__(
            f"agent {agent!r} does not hold contact {contact_id!r}; claim it first "
            "(a lease that expired went back to the queue)"
        )
        self.contact_id = contact_id
        self.agent = agent
