"""The store Protocol every backend implements (its errors: ``queues/errors.py``).

Queue semantics (ARCHITECTURE.md): score = queued_at - priority delay; the lowest score is
served first, FIFO on ties; one claim across several teams takes the lowest score among them.
A contact is always in exactly one state, and every transition is atomic and recorded as an
event in the same step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable

from queues.buckets import RECENT_HANDLES, Bucket
from queues.capacity import Capacity
from queues.models import (
    Claim,
    Contact,
    ContactState,
    Direction,
    Event,
    Intake,
    Message,
    Parcel,
    Position,
    QueueStats,
)
from queues.turns import Turn, TurnResult
from queues.updates import UPDATABLE_FIELDS, check_updatable

__all__ = [
    "EVENT_KINDS",
    "MESSAGE_EVENT_KINDS",
    "UPDATABLE_FIELDS",
    "Clock",
    "Store",
    "check_updatable",
    "message_event_kind",
]

Clock = Callable[[], float]  # stores may call it from a worker thread: keep it thread-safe

#: Events every store records by itself, in the same step as the transition; and
#: ``agent_status`` (no contact), which the desk records when an agent's status changes.
EVENT_KINDS = frozenset(
    {
        "contact_created",
        "message_received",
        "message_sent",
        "contact_enqueued",
        "contact_claimed",
        "contact_released",
        "contact_transferred",
        "contact_resolved",
        "contact_abandoned",
        "lease_expired",
        "agent_status",
        "survey_asked",
        "survey_answered",
        "fcr_counted",
        "fcr_repeat",
    }
)


#: The events that record a message on its contact's history. A contact's ``events`` has
#: them; the day's log (``list_events``) does not: the messages are their record, and a
#: day's messages would be most of the log (a voice call is some 16 prompts and answers).
MESSAGE_EVENT_KINDS = frozenset({"message_received", "message_sent"})


def message_event_kind(message: Message) -> str:
    """The event that records ``message`` on its contact's history."""
    return "message_sent" if message.direction is Direction.OUT else "message_received"


@runtime_checkable
class Store(Protocol):
    """Where contacts wait and are kept. Implementations: memory, sqlite, redis.

    Every method may raise ``StoreUnavailable``. Times come from the store's clock.
    """

    # -- lifecycle ---------------------------------------------------------------------
    async def aclose(self) -> None: ...
    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the backend answers."""

    # -- contacts and history ----------------------------------------------------------
    async def intake(self, contact: Contact, message: Message, *, key: str | None = None) -> Intake:
        """Store an inbound ``message``, idempotently under ``key``.

        A ``key`` already seen returns the contact and message stored under it with
        ``duplicate=True`` and changes nothing. Otherwise the message is appended to the
        contact with ``contact.id`` when it exists, or the contact is created with it
        (only ``contact.id`` is read for an existing contact). The returned contact carries
        no messages; ``get_contact`` gives them.
        """

    async def append_message(self, contact_id: str, message: Message) -> None:
        """Record an outbound (or flow) message on the contact's history."""

    async def get_contact(self, contact_id: str, *, messages: bool = True) -> Contact: ...

    async def update_contact(self, contact_id: str, **changes: Any) -> Contact:
        """Change the fields in ``UPDATABLE_FIELDS``; anything else raises ValueError.
        ``meta_merge={key: value or None}`` changes only those meta keys (None removes one)
        in the same step, not the rest of the meta (``queues/updates.py``)."""

    async def close(self, contact_id: str, state: ContactState, *, reason: str = "") -> Contact:
        """End an ``in_flow`` contact without queueing it (resolved or abandoned)."""

    async def list_contacts(
        self,
        *,
        channel: str | None = None,
        state: str | None = None,
        team: str | None = None,
        address: str | None = None,
        limit: int = 50,
        account: str | None = None,
    ) -> list[Contact]:
        """Contacts matching every given filter, newest first, without messages.

        ``account``: the contacts whose ``account`` is that login (verified as it, or
        joined to it), read from an index by account on every backend: O(the account's
        contacts), however many the store keeps."""

    async def add_event(self, event: Event) -> None:
        """Record ``event`` on its contact's history; with ``contact_id`` "" it belongs to no
        contact (an agent's status) and only ``list_events`` gives it."""

    async def events(self, contact_id: str) -> list[Event]:
        """One contact's history, oldest first."""

    async def list_events(
        self, *, since: float | None = None, kinds: Iterable[str] | None = None
    ) -> list[Event]:
        """Every contact's events at or after ``since``, oldest first, except the message
        events (``MESSAGE_EVENT_KINDS``; a contact's ``events`` has them)."""

    # -- agents' notes and tags (``queues/timeline.py``) ----------------------------------
    async def annotate(
        self,
        contact_id: str,
        *,
        note: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
    ) -> Contact:
        """Append ``note`` to the contact's ``meta["notes"]`` and/or replace its
        ``meta["tags"]`` with ``tags`` (empty: none), in one atomic step that changes no
        other field: two notes added at once are both kept. The note is checked
        (``check_note``), the tags are stored as given (``clean_tags`` makes them);
        ``NotesFull`` (a ValueError) when the contact has ``MAX_NOTES`` already."""

    # -- privacy: a customer's erase request ----------------------------------------------
    async def erase_contact(
        self, contact_id: str, *, address: str, text: str, keep_meta: Collection[str] = ()
    ) -> int:
        """Anonymise a contact for good: its address becomes ``address`` (the address index
        follows), its subject is cleared, every message's text becomes ``text``, and its
        meta and every message's meta keep only the keys in ``keep_meta``. Its state, team,
        account, times and events, and the buckets, stay as they were, so every KPI counts
        it as before. One atomic step; returns how many messages it rewrote (erasing again
        the same way rewrites none). The old text leaves the backend's files too where it
        can (sqlite: secure delete, then the WAL is checkpointed and truncated)."""

    # -- queues ------------------------------------------------------------------------
    async def enqueue(self, contact_id: str, team: str, *, delay_s: int = 0) -> Contact:
        """Put an ``in_flow`` contact in ``team``'s queue with score now - ``delay_s``."""

    async def claim(
        self,
        teams: Sequence[str],
        agent: str,
        *,
        lease_s: float,
        capacity: Capacity | None = None,
    ) -> Claim | None:
        """Lease the lowest-score waiting contact across ``teams``, or None when empty.

        With ``capacity``, only a contact of a channel the agent's load leaves open
        (``Capacity.closed``; the load as ``agent_load`` counts it, across every team):
        the lowest score among those, or None when there is none or the agent is full.
        The check and the lease are one atomic step against every other claim of the same
        agent, in every process; what lowers a load meanwhile (a resolve, a release, a
        wrap-up ending) can only leave it lower than the claim assumed."""

    async def agent_load(self, agent: str, *, wrap_up_s: float = 0.0) -> dict[str, int]:
        """Per channel, the contacts ``agent`` holds plus those they resolved less than
        ``wrap_up_s`` ago (after-contact work); channels with none are left out. Costs
        O(teams + what the agent holds), however many contacts wait."""

    async def heartbeat(self, contact_id: str, agent: str, *, lease_s: float) -> Claim:
        """Extend the agent's lease to now + ``lease_s``."""

    async def ack(
        self,
        contact_id: str,
        agent: str,
        *,
        disposition: str | None = None,
        wrap_s: float = 0.0,
    ) -> None:
        """Resolve a contact the agent holds; ``wrap_s``: the after-contact work that
        follows, recorded with the resolve (its event's ``wrap_s``, the buckets'
        ``wrap_us``, and in the team's recent handle times)."""

    async def release(self, contact_id: str, agent: str) -> None:
        """Put a held contact back in its queue with its original score."""

    async def transfer(
        self,
        contact_id: str,
        team: str,
        *,
        agent: str | None = None,
        delay_s: int | None = None,
    ) -> None:
        """Move a waiting contact, or one ``agent`` holds, to ``team``'s queue.

        It keeps its original arrival time, so it does not lose its place; ``delay_s``
        replaces its priority delay when given.
        """

    async def remove(self, contact_id: str) -> None:
        """The customer gave up: an ``in_flow`` or waiting contact becomes abandoned."""

    async def requeue_expired(self) -> list[str]:
        """Put every contact whose lease has expired back with its original score."""

    async def position(self, contact_id: str) -> Position | None:
        """Where a waiting contact stands in its team's queue; None when not waiting."""

    async def queue_stats(self, teams: Sequence[str]) -> list[QueueStats]: ...

    # -- surveys and first-contact resolution: events counted in the buckets ------------
    async def record_survey(self, contact_id: str, *, score: int | None = None) -> bool:
        """Record on a queued contact that its CSAT question was asked (no ``score``:
        ``survey_asked``) or answered (``score`` 1-5: ``survey_answered``), counted in its
        team's bucket in the same step. Each is recorded once per contact: False (and
        nothing changes) when it was already."""

    async def fcr_resolved(self, contact_id: str, account: str, *, within_s: float) -> bool:
        """A verified customer's contact was resolved: record ``fcr_counted`` on it (once;
        False when it was already) and watch ``account`` on its team for ``within_s``."""

    async def fcr_arrived(self, contact_id: str, account: str, *, within_s: float) -> bool:
        """A new contact from ``account`` was queued: when the account is watched on its
        team (another contact resolved less than ``within_s`` ago), record ``fcr_repeat``
        on it (data ``of``: the watched contact), stop watching, and return True. Each
        watch ends in at most one repeat; each contact is at most one repeat."""

    # -- running aggregates (``queues/buckets.py``), kept in the step of each transition --
    async def minute_buckets(
        self, teams: Sequence[str], *, since: float, until: float
    ) -> list[Bucket]:
        """The buckets of ``teams`` for the minutes from the one holding ``since`` through
        the one holding ``until``: teams in the order given, then by minute and channel;
        a bucket that counts nothing is left out. ``NO_TEAM`` ("") in ``teams`` gives the
        contacts created. Costs O(teams × minutes), however many events the minutes hold."""

    async def handle_times(
        self, team: str, *, since: float, limit: int = RECENT_HANDLES
    ) -> list[float]:
        """``handle_s`` of the team's last ``limit`` (at most ``RECENT_HANDLES``) contacts
        resolved by an agent at or after ``since``, oldest first."""

    async def waiting_order(self, team: str) -> list[str]:
        """The ids of ``team``'s waiting contacts in the order they will be served (the
        first is next): every position in one read, for pushing positions to a crowd."""

    # -- conversation sessions (flow state per channel address) -------------------------
    async def get_session(self, key: str) -> dict[str, Any] | None: ...
    async def put_session(self, key: str, data: dict[str, Any], *, ttl_s: float) -> None: ...
    async def delete_session(self, key: str) -> None: ...
    async def get_session_tagged(self, key: str) -> tuple[dict[str, Any] | None, str]:
        """The session and the tag of the write that stored it ("" when absent or expired).

        Every put gives the session a new tag; ``put_session_if`` compares it.
        """

    async def put_session_if(
        self, key: str, data: dict[str, Any], *, tag: str, ttl_s: float
    ) -> bool:
        """Compare-and-set: store ``data`` only when the session still has ``tag`` (what
        ``get_session_tagged`` gave); False when another writer came first."""

    async def get_sessions(self, keys: Sequence[str]) -> list[tuple[dict[str, Any] | None, str]]:
        """``get_session_tagged`` of each key, in one read (one round trip on Redis)."""

    async def apply_turn(self, turn: Turn) -> TurnResult:
        """Apply an inbound message of a contact in its flow with everything it changes,
        whole or not at all (``queues/turns.py``): CHANGED when the session no longer has
        ``turn.session_tag`` or the contact is no longer in its flow, SEEN when the key was
        seen; nothing is written then. With ``turn.enqueue`` the contact is queued in the
        same step, as ``update_contact`` and ``enqueue`` would (its event, its buckets), and
        the result gives its ``position``."""

    # -- documents (small records by kind and key, with compare-and-set) ----------------
    async def get_doc(self, kind: str, key: str) -> tuple[dict[str, Any] | None, str]:
        """The document and its tag ("" when absent); every put gives a new tag."""

    async def put_doc(
        self, kind: str, key: str, data: dict[str, Any], *, tag: str | None = None
    ) -> str | None:
        """Store the document and return its new tag. With ``tag``: only when the document
        still has that tag ("" = only when absent); None when another writer came first."""

    async def delete_doc(self, kind: str, key: str) -> None: ...
    async def all_docs(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every document of ``kind`` by key (imports, exports, directory loads)."""

    # -- locks with a time to live (one holder across every process) --------------------
    async def acquire_lock(self, name: str, owner: str, *, ttl_s: float) -> bool:
        """Take ``name`` for ``owner`` until ``ttl_s`` from now; False when someone else
        holds it. A holder that dies loses it when the time runs out. Taking it again as
        the same owner extends it."""

    async def release_lock(self, name: str, owner: str) -> None:
        """Give ``name`` up if ``owner`` still holds it (a lock that expired and was taken
        by another is left alone)."""

    # -- the outbox (messages that must reach a provider, at least once, in order) ------
    async def post_parcel(
        self, parcel_id: str, payload: dict[str, Any], *, group: str, keep_s: float = 7 * 86_400
    ) -> bool:
        """Put a parcel in the outbox at the end of ``group``'s line (one address: its
        messages go out in post order) unless ``parcel_id`` was posted in the last
        ``keep_s`` seconds (pending or settled): then nothing changes and False is returned,
        so a retried post is never sent twice."""

    async def take_parcels(
        self, *, lease_s: float, limit: int, ids: Sequence[str] = ()
    ) -> list[Parcel]:
        """Take parcels that are due (``ids``: only those), earliest due first, up to
        ``limit``. Only the first pending parcel of a group is ever due: the next one
        becomes due when it is settled. Each one taken has its attempts grown by one and is
        hidden from other takers for ``lease_s``; a taker that dies leaves it to the next
        one after that."""

    async def settle_parcel(self, parcel_id: str, attempts: int) -> bool:
        """The parcel is done (sent, or given up): out of the outbox for good, and the next
        of its group due now. False when ``attempts`` is stale (the lease ran out and
        another taker has it)."""

    async def defer_parcel(self, parcel_id: str, attempts: int, *, delay_s: float) -> bool:
        """Try again later: due after ``delay_s``. False when ``attempts`` is stale."""

    async def parcels_pending(self) -> int:
        """How many parcels wait in the outbox (due or taken)."""

    # -- sliding-window hit counters (rate limits, lockouts; atomic across processes) ----
    async def record_hit(
        self, key: str, *, window_s: float, ttl_s: float, tag: str | None = None
    ) -> int:
        """Count one hit under ``key`` now and return how many hits the window holds.

        In one atomic step, across every process sharing the store: append now (the
        store's clock) to the hits under ``key``, drop those at or before now - ``window_s``,
        keep the key for ``ttl_s`` more seconds, and return how many remain, this one
        included. Concurrent calls on one key never lose a hit: n of them return n distinct
        counts. The window decides what counts; ``ttl_s`` (pass ``window_s`` or more) only
        reclaims keys nobody hits any more (on Redis it runs on the server's clock).

        A ``tag`` names the hit: a hit with a tag the window already holds is not counted
        again (the retry of one attempt), and keeps the time it was first counted at.
        """

    async def hits(self, key: str, *, window_s: float) -> list[float]:
        """The times of the hits under ``key`` after now - ``window_s``, oldest first."""

    async def clear_hits(self, key: str) -> None:
        """Forget every hit under ``key``."""

    # -- windowed counters (spike detection; ``queues/windows.py``) ----------------------
    async def count_window(
        self, keys: Sequence[str], *, slot_s: int, slots: int, add: int = 1, keep_s: float
    ) -> list[int]:
        """Add ``add`` to each key's count in the slot holding now and return, per key in
        order, its total over the ``slots`` latest slots, that one included.

        Slots are ``slot_s`` seconds of the store's clock from the epoch (minute slots start
        on the minute). Each key's add and sum is one atomic step across every process
        sharing the store: concurrent adds never lose a count. ``add`` 0 only reads. The
        window decides what counts; ``keep_s`` (at least ``slot_s * slots``, else
        ValueError) only reclaims slots no window of that size reads any more (on Redis on
        the server's clock). Costs O(keys × slots), however much was counted.
        """

    # -- pub/sub (agent replies reach the process holding a chat websocket) ---------------
    async def publish(self, channel: str, payload: str) -> None: ...
    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[str]]: ...
