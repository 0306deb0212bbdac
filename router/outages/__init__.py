"""Outages: spikes of first messages suggest incidents; incidents link the contacts they
affect and tell them what happens.

``watch.py`` (``Outages``) is what the flow host and the API use. Under it: ``topics.py``
(with ``lexicon.py``) says what a first message is about in any shipped language;
``spikes.py`` (with ``tails.py`` and ``profile.py``) decides what is unusual;
``detector.py`` runs the tests on each arrival with its state in the store;
``suggestions.py`` keeps what they suggest; ``links.py`` keeps which contacts an incident
affects (``linked_contacts``); ``notify.py`` tells them, through the outbox, once each.
"""

from router.outages.links import incident_of, link_arrival, link_open_contacts, linked_contacts
from router.outages.notify import Notified
from router.outages.spikes import CLAIMED_FALSE_ALARMS_PER_WEEK
from router.outages.suggestions import Suggestion
from router.outages.topics import announcement, topics_of
from router.outages.watch import NoSuchSuggestion, Outages

__all__ = [
    "CLAIMED_FALSE_ALARMS_PER_WEEK",
    "NoSuchSuggestion",
    "Notified",
    "Outages",
    "Suggestion",
    "announcement",
    "incident_of",
    "link_arrival",
    "link_open_contacts",
    "linked_contacts",
    "topics_of",
]
