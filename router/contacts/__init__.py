"""The flow host: every inbound message stored, its contact moved through the flow and
into a queue.

``ContactService`` is the channels' ``Inbox`` (service.py). It finds the conversation and
stores the message (inbound.py), runs the flow and performs its effects (flow.py), answers a
provider's retry with what was said the first time (replay.py), and tells a waiting contact
its place and wait (status.py).
"""

from router.contacts.service import ContactService

__all__ = ["ContactService"]
