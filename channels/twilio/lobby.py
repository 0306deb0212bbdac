"""New calls wait in a lobby while a router is answering too many voice webhooks at once.

On the day of an outage callers dial faster than a router answers. 10,000 dialling in the
same second into one router (``switchboard call``, which gives up on a webhook after 15 s
as Twilio does) lost 9,545 calls: every new call's first webhook made a contact and its
prompts, each step of every call waited behind all the others, and past the ingest
deadline each was redirected (one more request) until Twilio's 15 s ran out.

The lobby lets the calls already in the flow go on at the speed the router has. While
``max_in_flight`` or more voice webhooks are being answered in this process (or their work
goes on past the ingest deadline, which answered them already), a call coming in is
answered at once and without the store: "all our lines are busy, please stay on the line"
in the default language (the caller has not chosen one yet), then a pause, then back to the
call's URL (``?lobby=K``, K the times it came back). Nothing is stored until a caller is let
in, so one who hangs up there left no contact: the log says ``voice_lobby`` for each call
sent there, with the webhooks then in flight.

With Twilio's REST API (pushed hold: an account SID and a public URL) the lobby is a line,
first come first served (``Line``): as soon as there is room, the first caller in line is
redirected into the flow (``?admitted=1``, which is let in even if the router filled up
meanwhile), so no room stays empty while callers wait, and a caller in line comes back by
itself only every ``hold_refresh_s`` (``?lobby=K&since=T``, T when it first came in: a
router that did not see it before puts it in its place). A call that hangs up in line
leaves it (its status callback; nothing is stored). The line is per process; with several
routers behind one address each lets in its own callers first come first served, and a
caller coming back elsewhere keeps its arrival time. So a caller may wait in two lines:
one let in from a line is marked in the store first (``Inbox.let_in``, one write), and
the other router then drops it rather than redirect a call already in the flow back to
its first question. A failed store or REST API puts the caller back in its place and
rests the line a second.

Without the REST API the lobby polls: it pauses ``pause_s`` between looks, and a call let
in is one that came back while there was room (not first come first served: measured, a
line that only moves when callers come back lets fewer in than this).
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager, suppress

import structlog

from channels.base import Inbox, Spoken
from channels.deadline import Deadline
from channels.twilio import twiml
from channels.twilio.calls import CallControl, Told
from channels.twilio.steps import whole
from queues import Channel, StoreUnavailable

__all__ = [
    "BUSY",
    "LOBBY_IN_FLIGHT",
    "LOBBY_PAUSE_S",
    "Admission",
    "Line",
    "Lobby",
    "lobby_for",
]

log = structlog.get_logger(__name__)

#: What a caller hears on entering the lobby (config: the ``lobby`` prompt overrides it).
BUSY: Mapping[str, str] = {
    "pl": "Wszystkie linie są zajęte. Prosimy pozostać na linii, zaraz się połączymy.",
    "en": "All our lines are busy. Please stay on the line, we will be with you shortly.",
    "ru": "Все линии заняты. Пожалуйста, оставайтесь на линии, мы скоро ответим.",
    "he": "כל הקווים תפוסים. אנא הישארו על הקו, נענה בקרוב.",
}
#: New calls wait in the lobby while this many voice webhooks are answered at once
#: (``channels.twilio.lobby_in_flight``), each pause this long (``lobby_pause_s``).
LOBBY_IN_FLIGHT = 100
LOBBY_PAUSE_S = 10
#: A polling lobby says the sentence again every this many pauses.
_SAY_EVERY = 4
#: A caller redirected into the flow holds its room this long, or until its webhook comes.
RESERVE_S = 5.0
#: While callers are in line, the line looks for room this often as well (late work that
#: ends frees room without a webhook ending); after a failed admission it waits this long.
_TICK_S = 1.0
_DAY_S = 86_400.0


class Admission:
    """Lets a caller from a line into the flow: once across routers (``Inbox.let_in``, in
    the store), by redirecting the live call through the REST API to ``url``."""

    def __init__(self, inbox: Inbox, calls: CallControl, url: str) -> None:
        self._inbox = inbox
        self._calls = calls
        self._url = url

    async def claim(self, call_sid: str) -> Told:
        """TOLD: this process lets it in; GONE: another did; FAILED: the store is down."""
        try:
            first = await self._inbox.let_in(Channel.VOICE, call_sid)
        except StoreUnavailable as exc:
            log.warning("voice_lobby_unavailable", call_sid=call_sid, error=str(exc))
            return Told.FAILED
        if not first:
            log.info("voice_lobby_let_in_elsewhere", call_sid=call_sid)
        return Told.TOLD if first else Told.GONE

    async def __call__(self, call_sid: str) -> Told:
        claimed = await self.claim(call_sid)
        if claimed is not Told.TOLD:
            return claimed
        told = await self._calls.update(call_sid, self._url)
        if told is not Told.TOLD:
            # Not let in after all: it may be, later, here or elsewhere (or the mark expires).
            with suppress(StoreUnavailable):
                await self._inbox.let_in(Channel.VOICE, call_sid, undo=True)
        return told


class Line:
    """Callers waiting in a pushed lobby, in the order they first came in. ``admit`` lets a
    call in (TOLD), or says it is gone or was let in elsewhere (GONE: its room is free), or
    could not now (FAILED: back in its place, and the line rests a tick); ``wake`` looks for
    room again."""

    def __init__(
        self,
        admit: Callable[[str], Awaitable[Told]],
        wake: Callable[[], None],
        *,
        reserve_s: float = RESERVE_S,
    ) -> None:
        self._admit = admit
        self._wake = wake
        self._reserve_s = reserve_s
        self._since: dict[str, float] = {}  # call SID -> when it first came in
        self._heap: list[tuple[float, str]] = []  # (since, call SID); left ones dropped lazily
        self._reserved: dict[str, float] = {}  # call SID redirected -> held until (monotonic)
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._resting_until = 0.0  # monotonic: no admission before (one failed)
        self.admitted = 0  # calls redirected into the flow

    def __len__(self) -> int:
        return len(self._since)

    def __contains__(self, call_sid: object) -> bool:
        return call_sid in self._since

    def head(self) -> float | None:
        """When the first caller in line came in; None when nobody waits."""
        heap = self._heap
        while heap and self._since.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def join(self, call_sid: str, since: float) -> None:
        if call_sid in self._since:
            return
        self._since[call_sid] = since
        heapq.heappush(self._heap, (since, call_sid))
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick())

    def leave(self, call_sid: str) -> bool:
        """Take a caller out of the line: whether it was in it."""
        return self._since.pop(call_sid, None) is not None

    def arrived(self, call_sid: str) -> None:
        """A redirected call's webhook came (or the call ended): its room is its own now."""
        self._reserved.pop(call_sid, None)

    def reserved(self) -> int:
        """Calls redirected whose webhook has not come yet (within ``reserve_s``)."""
        now = time.monotonic()
        if any(until <= now for until in self._reserved.values()):
            self._reserved = {sid: until for sid, until in self._reserved.items() if until > now}
        return len(self._reserved)

    def admit(self, room: int) -> None:
        """Redirect the first callers in line into the flow, as many as ``room`` leaves once
        the calls already on their way are counted."""
        if time.monotonic() < self._resting_until:
            return
        room -= self.reserved()
        while room > 0 and self.head() is not None:
            since, call_sid = heapq.heappop(self._heap)
            del self._since[call_sid]
            self._reserved[call_sid] = time.monotonic() + self._reserve_s
            room -= 1
            task = asyncio.create_task(self._let_in(call_sid, since))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _let_in(self, call_sid: str, since: float) -> None:
        told = await self._admit(call_sid)
        if told is Told.TOLD:
            self.admitted += 1
            return
        self._reserved.pop(call_sid, None)  # not let in: its room is free
        if told is Told.FAILED:  # back in its place; the line rests a tick, then tries again
            self._resting_until = time.monotonic() + _TICK_S
            self.join(call_sid, since)
            return
        self._wake()

    async def _tick(self) -> None:
        while self._since:
            await asyncio.sleep(_TICK_S)
            self._wake()

    async def aclose(self) -> None:
        tasks = [*self._tasks, *([self._ticker] if self._ticker else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Lobby:
    """Counts the voice webhooks being answered, and answers new calls while they are many."""

    def __init__(self, *, max_in_flight: int, pause_s: int, path: str, said: str) -> None:
        if max_in_flight < 1 or pause_s < 1:
            raise ValueError(
                f"max_in_flight ({max_in_flight}) and pause_s ({pause_s}) must be 1 or more"
            )
        self.max_in_flight = max_in_flight
        self._pause_s = pause_s
        self._path = path
        self._said = said  # the <Say> of the busy sentence
        self.in_flight = 0
        self.entered = 0  # calls sent to the lobby (once each)
        self.line: Line | None = None
        self._late: Callable[[], int] = lambda: 0
        self._claim: Callable[[str], Awaitable[Told]] | None = None

    def push(self, admission: Admission, deadline: Deadline, wait_s: int) -> None:
        """Make the lobby a line: ``admission`` lets its first caller in when there is room
        (``deadline.late``: work going on past its answer, which takes room too); callers
        come back by themselves only every ``wait_s``."""
        self.line = Line(admission, self.pump)
        self._claim = admission.claim
        self._late = lambda: deadline.late
        self._pause_s = wait_s

    @property
    def waiting(self) -> int:
        """Callers in this process's line (0 for a polling lobby)."""
        return len(self.line) if self.line is not None else 0

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around the answer to a voice webhook: it counts as in flight meanwhile."""
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            if self.line:
                self.pump()

    def full(self, late: int = 0) -> bool:
        """Whether new calls wait: the webhooks being answered, and ``late`` work still
        running past its answer (the ingest deadline's), are ``max_in_flight`` or more."""
        return self.in_flight + late >= self.max_in_flight

    def pump(self) -> None:
        """Let the first callers in line in, as far as there is room."""
        if self.line is not None:
            self.line.admit(self.max_in_flight - self.in_flight - self._late())

    async def waits(self, call_sid: str, query: Mapping[str, str], late: int) -> str | None:
        """The lobby's answer to a call coming in (``query``: its URL's), or None when it
        is let in (``late``: work going on past its answer). A caller back from a line is
        let in only once across routers (another may hold it in its line too)."""
        times = whole(query.get("lobby"))
        line = self.line
        if line is None or self._claim is None:
            return self._wait(times, None) if self.full(late) else None
        if "admitted" in query:  # redirected from the line: its room was kept for it
            line.arrived(call_sid)
            return None
        since = _since(query.get("since"))
        room = self.max_in_flight - self.in_flight - late - line.reserved()
        head = line.head()
        if room > 0 and (head is None or since <= head):
            line.leave(call_sid)
            if times == 0:
                return None  # a new call: it was in no line
            claimed = await self._claim(call_sid)
            if claimed is Told.TOLD:
                return None
            if claimed is Told.GONE:  # let in elsewhere: that redirect is the call's now
                return self._wait(times, since)
        line.join(call_sid, since)
        self.pump()
        return self._wait(times, since)

    def gone(self, call_sid: str) -> bool:
        """A call ended: out of the line; whether it was waiting there (it left nothing)."""
        if self.line is None:
            return False
        self.line.arrived(call_sid)
        return self.line.leave(call_sid)

    async def aclose(self) -> None:
        if self.line is not None:
            await self.line.aclose()

    def _wait(self, times: int, since: float | None) -> str:
        """The sentence (in a polling lobby now and then), a pause, and back."""
        if times == 0:
            self.entered += 1
            log.info("voice_lobby", in_flight=self.in_flight, waiting=self.waiting)
        said = self._said if since is not None or times % _SAY_EVERY == 0 else ""
        back = f"{self._path}?lobby={times + 1}"
        if since is not None:
            back += f"&since={since:.3f}"
        return twiml.document(said + twiml.pause(self._pause_s) + twiml.redirect(back))


def _since(raw: str | None) -> float:
    """When a call first came in, as its comeback URL says (within a day), else now."""
    now = time.time()
    try:
        since = float(raw) if raw else now
    except ValueError:
        return now
    return since if math.isfinite(since) and now - _DAY_S <= since <= now else now


def lobby_for(
    max_in_flight: int | None,
    pause_s: int,
    path: str,
    busy: Mapping[str, str],
    language: str,
    said: Callable[[Spoken], str],
) -> Lobby | None:
    """The lobby of the calls coming in at ``path``, saying ``busy`` in ``language`` (else
    English) as ``said`` renders it; None without ``max_in_flight`` or a sentence."""
    text = busy.get(language) or busy.get("en")
    if max_in_flight is None or not text:
        return None
    return Lobby(
        max_in_flight=max_in_flight, pause_s=pause_s, path=path, said=said(Spoken(text, language))
    )
