"""The flow host: every inbound message stored, its contact moved through the flow and
into a queue."""

from router.contacts.service import ContactService

__all__ = ["ContactService"]
