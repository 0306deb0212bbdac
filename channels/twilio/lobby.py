"""New calls wait in a lobby while a router is answering too many voice webhooks at once.

On the day of an outage callers dial faster than a router answers. 10,000 dialling in the
same second into one router (``switchboard call``, which gives up on a webhook after 15 s
as Twilio does) lost 9,545 calls: every new call's first webhook made a contact and its
prompts, each step of every call waited behind all the others, and past the ingest
deadline each was redirected (one more request) until Twilio's 15 s ran out.

The lobby lets the calls already in the flow go on at the speed the router has. While
``max_in_flight`` or more voice webhooks are being answered in this process (or their work
goes on past the ingest deadline, which answered them already), a call coming
in is answered at once and without the store: "all our lines are busy, please stay on the
line" in the default language (the caller has not chosen one yet), then a pause of
``pause_s`` seconds, then back to the call's URL (``?lobby=K``, K the times it came back),
where it is let in as soon as the router has room, and otherwise waits another pause in
silence (the sentence again every ``_SAY_EVERY`` pauses). A caller in the lobby costs one
cheap webhook a pause; nothing is stored until they are let in, so one who hangs up there
left no contact: the log says ``voice_lobby`` for each call sent there, with the webhooks
then in flight.

Admission is not first come first served: a call let in is one that came back while there
was room. The lobby is per process; several routers each keep their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from channels.base import Spoken
from channels.twilio import twiml

__all__ = ["BUSY", "Lobby", "lobby_for"]

#: What a caller hears on entering the lobby (config: the ``lobby`` prompt overrides it).
BUSY: Mapping[str, str] = {
    "pl": "Wszystkie linie są zajęte. Prosimy pozostać na linii, zaraz się połączymy.",
    "en": "All our lines are busy. Please stay on the line, we will be with you shortly.",
    "ru": "Все линии заняты. Пожалуйста, оставайтесь на линии, мы скоро ответим.",
    "he": "כל הקווים תפוסים. אנא הישארו על הקו, נענה בקרוב.",
}
#: The sentence is said again every this many pauses.
_SAY_EVERY = 4


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

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around the answer to a voice webhook: it counts as in flight meanwhile."""
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    def full(self, late: int = 0) -> bool:
        """Whether new calls wait: the webhooks being answered, and ``late`` work still
        running past its answer (the ingest deadline's), are ``max_in_flight`` or more."""
        return self.in_flight + late >= self.max_in_flight

    def wait(self, times: int) -> str:
        """The answer to a call coming in (``times``: how often it came back already) when
        the router is full: the sentence (now and then), a pause, and back."""
        if times == 0:
            self.entered += 1
        said = self._said if times % _SAY_EVERY == 0 else ""
        back = twiml.redirect(f"{self._path}?lobby={times + 1}")
        return twiml.document(said + twiml.pause(self._pause_s) + back)


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
