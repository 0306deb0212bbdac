"""``Outages``: what the flow host and the API ask of this package.

The flow host calls ``observe`` after each inbound message's turn: a new contact is linked
to the open incidents its first message matches and its topics are tested; a contact
queued in the turn is linked by its team and its team's arrivals are tested. Watching never fails a
customer's message: a failure is logged and the message goes on.

The API opens incidents (from a suggestion or by hand; the contacts already open that
match are linked), lists and dismisses suggestions, and notifies the linked contacts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

import structlog

from channels import Courier
from ivr import FlowBook
from queues import Channel, Contact, Store
from router.outages.detector import Detector
from router.outages.links import link_arrival, link_open_contacts
from router.outages.notify import RESOLVED_TEXT, Notified, notify_linked, update_id_for
from router.outages.suggestions import Suggestion, SuggestionBook
from router.outages.topics import read, topic_keys
from router.routing import Incident, IncidentBook, Incidents, Routing

__all__ = ["NoSuchSuggestion", "Outages"]

log = structlog.get_logger(__name__)


class NoSuchSuggestion(LookupError):
    def __init__(self, suggestion_id: str) -> None:
        super().__init__(
            f"suggestion {suggestion_id!r} does not exist (it may be stale, opened or "
            "dismissed); list the suggestions again"
        )


class Outages:
    """Spike detection, incident links and incident notifications for one router."""

    def __init__(
        self,
        store: Store,
        incidents: IncidentBook,
        *,
        routing: Routing,
        book: FlowBook,
        clock: Callable[[], float],
        default_language: str,
    ) -> None:
        self.store = store
        self.incidents = incidents
        self.suggestions = SuggestionBook(store)
        self._routing = routing
        self._clock = clock
        self._default_language = default_language
        self._keywords = {
            team: [s for stems in by_language.values() for s in stems]
            for team, by_language in book.keywords.teams.items()
        }
        self._team_names = book.team_names
        zone = ZoneInfo(routing.hours[routing.default_team].tz)
        self.detector = Detector(
            store,
            self.suggestions,
            clock=clock,
            zone=zone,
            teams=routing.teams,
            team_names=book.team_names,
        )

    # -- the live stream ------------------------------------------------------------------
    async def observe(
        self,
        contact: Contact,
        incidents: Incidents,
        *,
        first_text: str | None,
        created: bool,
        queued: bool,
    ) -> None:
        """Link and test a contact after its turn (``created``: its first message was
        this one; ``queued``: it was queued in this turn)."""
        try:
            if created:
                await self._first_message(contact, first_text, incidents)
            if queued and contact.team is not None:
                await link_arrival(
                    self.store,
                    incidents,
                    contact,
                    team=contact.team,
                    topics=(),
                    has_text=contact.channel is not Channel.VOICE,
                    at=self._clock(),
                )
                await self.detector.queued(contact, contact.team, incidents)
        except Exception:
            log.exception("outage_watch_failed", contact_id=contact.id)

    async def _first_message(
        self, contact: Contact, text: str | None, incidents: Incidents
    ) -> None:
        has_text = bool(text and text.strip())
        # One pass over the text: its features, and the team it names.
        found, team = read(text or "", self._keywords) if has_text else ([], None)
        await link_arrival(
            self.store,
            incidents,
            contact,
            team=None,
            topics=frozenset(topic_keys(found)) if found else frozenset(),
            has_text=has_text,
            at=self._clock(),
        )
        if has_text:
            await self.detector.first_message(contact, found, team=team, incidents=incidents)

    # -- suggestions ----------------------------------------------------------------------
    async def listed(self) -> list[Suggestion]:
        """The suggestions to show: not stale, not dismissed."""
        return [s for s in await self.suggestions.all(at=self._clock()) if not s.dismissed]

    async def suggestion(self, suggestion_id: str) -> Suggestion:
        found = await self.suggestions.find(suggestion_id, at=self._clock())
        if found is None or found.dismissed:
            raise NoSuchSuggestion(suggestion_id)
        return found

    async def dismiss(self, suggestion_id: str) -> Suggestion:
        found = await self.suggestion(suggestion_id)
        await self.suggestions.dismiss(found)
        log.info("incident_suggestion_dismissed", suggestion_id=suggestion_id)
        return found

    # -- incidents ------------------------------------------------------------------------
    async def open(
        self,
        *,
        team: str | None,
        text: str | Mapping[str, str] | None,
        from_suggestion: str | None,
    ) -> Incident:
        """Open an incident, by hand (``team`` default ``"*"``, ``text`` required) or from
        a suggestion (its team, topic and texts unless given; its id becomes the
        incident's, so opening it twice opens it once); link the open contacts it affects.
        """
        suggestion = await self.suggestion(from_suggestion) if from_suggestion else None
        texts = dict(suggestion.text) if suggestion else {}
        if isinstance(text, str):
            texts = {}  # one text for every language
            default_text = text
        else:
            texts.update(text or {})
            default_text = texts.get(self._default_language) or next(iter(texts.values()), "")
        on = team or (suggestion.team if suggestion else "*")
        at = self._clock()
        incident = await self.incidents.update(
            lambda book: book.open(
                on,
                default_text,
                at=at,
                texts=texts,
                topic=suggestion.topic if suggestion else None,
                suggestion=suggestion.id if suggestion else None,
                incident_id=suggestion.id if suggestion else None,
            )
        )
        if suggestion is not None:
            await self.suggestions.remove(suggestion)
        await link_open_contacts(self.store, incident, self._routing.teams, at=at)
        return incident

    async def notify(
        self,
        courier: Courier,
        incident: Incident,
        text: str | Mapping[str, str],
        *,
        update_id: str | None = None,
    ) -> Notified:
        """Send ``text`` (one, or by language) to every contact linked to ``incident``."""
        texts = {self._default_language: text} if isinstance(text, str) else dict(text)
        return await notify_linked(
            self.store,
            courier,
            incident_id=incident.id,
            texts=texts,
            update_id=update_id or update_id_for(texts),
            default_language=self._default_language,
            at=self._clock(),
        )

    async def notify_resolved(
        self, courier: Courier, incident: Incident, text: str | Mapping[str, str] | None
    ) -> Notified:
        """The "resolved" update (``text``, or the default per language), sent once."""
        if text is None:
            text = {
                language: template.format(incident=incident.text_in(language).rstrip("."))
                for language, template in RESOLVED_TEXT.items()
            }
        return await self.notify(courier, incident, text, update_id="resolved")
