"""The flow host: every inbound message stored, its contact moved through the flow and
into a queue.

``ContactService`` is the channels' ``Inbox`` (service.py). It finds the conversation and
stores the message (inbound.py), runs the flow and performs its effects (flow.py), answers a
provider's retry with what was said the first time (replay.py), and tells a waiting contact
its place and wait (status.py). ``CallbackDesk`` is the router's side of a voice callback
that keeps the caller's place (callback.py). ``Surveys`` asks the CSAT question after a
resolve, takes its answer, and counts first-contact resolution (survey.py).
``Standings`` answers a waiting customer who asks where they stand, and tells them once,
unasked, when their wait changes a lot (standing.py). ``AddressJoin`` joins a verified
customer's earlier contacts from the same address to their account (joining.py).
"""

from router.contacts.asking import ChangeRule, StatusWords
from router.contacts.callback import CallbackDesk, callback_view
from router.contacts.joining import AddressJoin
from router.contacts.service import ContactService
from router.contacts.standing import Standings
from router.contacts.survey import Surveys, parse_score

__all__ = [
    "AddressJoin",
    "CallbackDesk",
    "ChangeRule",
    "ContactService",
    "Standings",
    "StatusWords",
    "Surveys",
    "callback_view",
    "parse_score",
]
