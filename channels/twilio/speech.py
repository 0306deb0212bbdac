"""How the voice channel speaks and puts a caller through, in TwiML.

A ``Spoken`` becomes a ``<Say>`` in its language's locale (``LOCALES``) and the voice set for
that locale (Twilio's default otherwise): prepared as a string for the webhooks' answers
(``said``), or added to a ``VoiceResponse`` being built (``say``). A caller put through to
an agent hears the "connecting" line, then a ``<Dial>`` to the agent's phone number or
Twilio Client identity, whose action comes back to the hold URL (``connect``, ``dial``).
The callbacks and the survey speak through the same pieces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from twilio.twiml.voice_response import VoiceResponse

from channels.base import AgentTarget, Spoken
from channels.twilio import twiml
from queues import Contact

__all__ = ["CONNECTING", "LOCALES", "Speech"]

log = structlog.get_logger(__name__)

#: Spoken.language -> the BCP-47 tag <Say language=...> takes.
LOCALES: Mapping[str, str] = {"pl": "pl-PL", "en": "en-US", "ru": "ru-RU", "he": "he-IL"}
#: Said just before the caller is put through to the agent who took the call.
CONNECTING: Mapping[str, str] = {
    "pl": "Łączymy z konsultantem.",
    "en": "Connecting you to an agent.",
    "ru": "Соединяем вас со специалистом.",
    "he": "מעבירים אותך לנציג.",
}


class Speech:
    """``<Say>`` in the caller's locale and voice, and the ``<Dial>`` to an agent."""

    def __init__(
        self,
        *,
        default_language: str,
        locales: Mapping[str, str],
        voices: Mapping[str, str],
        connecting: Mapping[str, str],
        hold_path: str,
    ) -> None:
        self._default_language = default_language
        self._locales = dict(locales)
        self._voices = dict(voices)  # locale -> voice name; Twilio's default otherwise
        self._connecting = dict(connecting)
        self._hold_path = hold_path  # where a <Dial>'s action comes back

    def said(self, spoken: Spoken) -> str:
        """``spoken`` as a prepared ``<Say>``: what ``say`` adds to a VoiceResponse."""
        locale = self._locales.get(spoken.language, spoken.language)
        return twiml.say(spoken.text, locale, self._voices.get(locale))

    def say(self, parent: Any, spoken: Spoken) -> None:
        locale = self._locales.get(spoken.language, spoken.language)
        voice = self._voices.get(locale)
        if voice:
            parent.say(spoken.text, language=locale, voice=voice)
        else:
            parent.say(spoken.text, language=locale)

    def dial(self, contact: Contact, agent: AgentTarget, base: str = "") -> str:
        """The whole answer putting ``contact``'s caller through to ``agent`` (``base``:
        the public URL, for TwiML given to the REST API, whose URLs must be absolute)."""
        log.info("voice_connecting", agent=agent.name, contact_id=contact.id)
        response = VoiceResponse()
        self.connect(response, agent, contact.language or self._default_language, base)
        return twiml.render(response)

    def connect(
        self, response: VoiceResponse, agent: AgentTarget, language: str, base: str = ""
    ) -> None:
        text = self._connecting.get(language) or self._connecting.get(self._default_language)
        if text:
            self.say(response, Spoken(text, language))
        dial = response.dial(action=f"{base}{self._hold_path}?dialed=1", method="POST")
        if agent.phone:
            dial.number(agent.phone)
        else:
            client = dial.client()
            client.identity(agent.client_identity or agent.name)
            client.parameter(name="agent", value=agent.name)
