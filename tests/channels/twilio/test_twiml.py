"""The prepared TwiML (``channels.twilio.twiml``) is byte for byte what twilio's
``VoiceResponse`` renders: on random trees, on every piece, and on random answers of every
shape the voice channel gives (steps, queued, ended, hold looks), against the VoiceResponse
rendering the voice channel had before."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.twiml import GenericNode, TwiML
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from channels.base import AgentTarget, Answer, HoldStatus, Spoken
from channels.length import pack
from channels.twilio import CallControl, TwilioVoice, twiml
from channels.twilio.sms import render_twiml
from channels.twilio.sms_send import MAX_SMS_CHARS
from channels.twilio.voice import CONNECTING, LOCALES
from ivr.simulator.api import TwilioApi
from ivr.state import Expect
from queues import Channel, Contact, ContactState, Store
from router.app.factory import create_app
from router.app.wiring import voice_adapter
from tests.channels.twilio.voice_support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    VOICE_ENV,
    Phone,
    call_form,
    config_for,
)
from tests.conftest import FakeClock
from tests.redis_server import free_port

PREFIX = "/twilio/voice"
# Text with everything ElementTree escapes or refers to by number, and lone surrogates.
TEXT = st.text(
    st.one_of(
        st.sampled_from("&<>\"'\r\n\t ;#=?ąщש"),
        st.characters(codec="utf-8"),
        st.characters(categories=["Cs"]),
    ),
    max_size=12,
)
LANGUAGE = st.sampled_from([*LOCALES, "de", "", "xx-YY"])
SPOKEN = st.builds(Spoken, TEXT, LANGUAGE)
VOICES = st.dictionaries(
    st.sampled_from([*LOCALES.values(), "de"]), st.sampled_from(["", "Polly.Ewa", "a&b"])
)
EXPECT = st.builds(
    Expect,
    st.just("digits"),
    num_digits=st.none() | st.integers(1, 12),
    finish_on_key=st.none() | st.sampled_from(["", "#", "*", '"']),
    timeout_s=st.floats(0, 30),
)
STATE = st.sampled_from(list(ContactState))


def _contact(state: ContactState, language: str | None) -> Contact:
    return Contact(Channel.VOICE, "+48500100200", 0.0, state=state, language=language)


def _say(parent: Any, spoken: Spoken, voices: dict[str, str]) -> None:
    locale = LOCALES.get(spoken.language, spoken.language)
    if voices.get(locale):
        parent.say(spoken.text, language=locale, voice=voices[locale])
    else:
        parent.say(spoken.text, language=locale)


def reference_render(answer: Answer, n: int, voices: dict[str, str]) -> str:
    """``TwilioVoice.render`` as it was, through VoiceResponse."""
    response = VoiceResponse()
    expect = answer.expect
    if expect is not None:
        action = f"{PREFIX}/step?n={n + 1}"
        attrs: dict[str, Any] = {
            "input": "dtmf",
            "action": action,
            "method": "POST",
            "timeout": max(1, math.ceil(expect.timeout_s)),
            "finish_on_key": expect.finish_on_key or "",
        }
        if expect.num_digits is not None:
            attrs["num_digits"] = expect.num_digits
        gather = response.gather(**attrs)
        for spoken in answer.prompts:
            _say(gather, spoken, voices)
        response.redirect(f"{action}&timeout=1", method="POST")
        return str(response)
    for spoken in answer.prompts:
        _say(response, spoken, voices)
    if answer.contact.state in (ContactState.WAITING, ContactState.ASSIGNED):
        response.redirect(f"{PREFIX}/hold?w=0", method="POST")
    else:
        response.hangup()
    return str(response)


def reference_hold(voice: TwilioVoice, status: HoldStatus, waited_s: int, **hold: Any) -> str:
    """The hold look as ``TwilioVoice.hold`` rendered it, through VoiceResponse."""
    response = VoiceResponse()
    language = status.contact.language or "pl"
    if status.agent is not None:
        _say(response, Spoken(CONNECTING.get(language) or CONNECTING["pl"], language), {})
        dial = response.dial(action=f"{PREFIX}/hold?dialed=1", method="POST")
        if status.agent.phone:
            dial.number(status.agent.phone)
        else:
            client = dial.client()
            client.identity(status.agent.client_identity or status.agent.name)
            client.parameter(name="agent", value=status.agent.name)
    elif status.contact.state in (ContactState.WAITING, ContactState.ASSIGNED):
        prompt = status.prompt if waited_s >= hold["refresh_s"] else None
        waited_s = 0 if prompt is not None else waited_s
        parent: Any = response
        offer = waited_s == 0 and status.contact.state is ContactState.WAITING
        if offer and voice.callbacks is not None:
            parent = voice.callbacks.offer(response, waited_s)
        if prompt is not None:
            _say(parent, prompt, {})
        if parent is not response and voice.callbacks is not None:
            _say(parent, voice.callbacks.spoken("callback_offer", language), {})
        pushed = max(1, math.ceil(hold["refresh_s"] - waited_s))
        wait = pushed if voice.pushed else hold["poll_s"]
        response.pause(length=wait)
        response.redirect(f"{PREFIX}/hold?w={int(waited_s) + wait}", method="POST")
    else:
        response.hangup()
    return str(response)


def _voice(voices: dict[str, str] | None = None, **kwargs: Any) -> TwilioVoice:
    return TwilioVoice(None, auth_token="t" * 32, voices=voices, **kwargs)  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None)
@given(
    prompts=st.lists(SPOKEN, max_size=5).map(tuple),
    expect=st.none() | EXPECT,
    state=STATE,
    n=st.integers(0, 10_000),
    voices=VOICES,
)
def test_a_step_answer_is_what_voiceresponse_rendered(
    prompts: tuple[Spoken, ...],
    expect: Expect | None,
    state: ContactState,
    n: int,
    voices: dict[str, str],
) -> None:
    answer = Answer(_contact(state, None), prompts, expect)
    assert _voice(voices).render(answer, n) == reference_render(answer, n, voices)


AGENT = st.builds(
    AgentTarget,
    st.sampled_from(["ania", "o'brien & co", "<tomek>"]),
    phone=st.none() | st.sampled_from(["", "+48500999888"]),
    client_identity=st.none() | st.sampled_from(["", "ania-desk", 'a"b']),
)


@settings(max_examples=300, deadline=None)
@given(
    state=STATE,
    language=st.none() | st.sampled_from([*LOCALES, "de"]),
    prompt=st.none() | SPOKEN,
    agent=st.none() | AGENT,
    waited_s=st.integers(0, 200),
    refresh_s=st.sampled_from([5.0, 45.0, 30.5]),
    pushed=st.booleans(),
)
def test_a_hold_look_is_what_voiceresponse_rendered(
    state: ContactState,
    language: str | None,
    prompt: Spoken | None,
    agent: AgentTarget | None,
    waited_s: int,
    refresh_s: float,
    pushed: bool,
) -> None:
    calls = CallControl(account_sid="AC" + "0" * 32, auth_token="t" * 32) if pushed else None
    url = "https://desk.example" if pushed else None
    voice = _voice(hold_refresh_s=refresh_s, hold_poll_s=5, calls=calls, public_url=url)
    status = HoldStatus(_contact(state, language), prompt=prompt, agent=agent)
    expected = reference_hold(voice, status, waited_s, refresh_s=refresh_s, poll_s=5)
    assert voice.render_hold(status, waited_s) == expected


def _tree(draw: st.DrawFn, depth: int) -> TwiML:
    tag = draw(st.sampled_from(["Say", "Gather", "Dial", "Number", "Pause", "Redirect"]))
    value = draw(st.none() | TEXT | st.fixed_dictionaries({"k": TEXT}))
    names = st.sampled_from(["action", "finishOnKey", "language", "numDigits", "timeout", "b"])
    values = st.one_of(TEXT, st.integers(-5, 100), st.booleans(), st.floats(0, 9))
    node = GenericNode(tag, value, **draw(st.dictionaries(names, values, max_size=4)))
    for _ in range(draw(st.integers(0, 3 if depth < 3 else 0))):
        node.nest(draw(TEXT) if draw(st.booleans()) else _tree(draw, depth + 1))
    return node


@st.composite
def trees(draw: st.DrawFn) -> VoiceResponse:
    response = VoiceResponse()
    for _ in range(draw(st.integers(0, 4))):
        response.nest(draw(TEXT) if draw(st.integers(0, 4)) == 0 else _tree(draw, 0))
    return response


@settings(max_examples=500, deadline=None)
@given(trees())
def test_any_tree_renders_as_voiceresponse_does(response: VoiceResponse) -> None:
    assert twiml.render(response) == str(response)


@given(text=TEXT, locale=st.sampled_from(["pl-PL", "", 'x"y']), voice=st.none() | TEXT)
def test_the_prepared_pieces_are_the_verbs_voiceresponse_renders(
    text: str, locale: str, voice: str | None
) -> None:
    response = VoiceResponse()
    response.say(text, language=locale, voice=voice or None)
    response.pause(length=len(text))
    response.redirect(text, method="POST")
    response.hangup()
    pieces = twiml.say(text, locale, voice) + twiml.pause(len(text)) + twiml.redirect(text)
    assert twiml.document(pieces + twiml.HANGUP) == str(response)
    assert twiml.document("") == str(VoiceResponse())
    ended = VoiceResponse()
    ended.hangup()
    assert str(ended) == twiml.HANGUP_DOCUMENT


def test_the_caches_are_bounded() -> None:
    for prepared in (twiml.say, twiml.redirect, twiml.step):
        assert prepared.cache_info().maxsize is not None


STORE_BACKENDS = ["memory"]  # the rendering is the same on every store
SID = "CA" + "c" * 32


async def test_the_running_app_answers_each_hold_look_as_voiceresponse_did(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    """The shipped config with callbacks on and pushed hold: the offer, the announcements,
    the dial, through the real webhooks, each against the reference."""
    api = TwilioApi(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    port, env = free_port(), {**VOICE_ENV, "TWILIO_ACCOUNT_SID": ACCOUNT_SID}
    config = config_for(
        tmp_path, env, public_url=f"http://127.0.0.1:{port}", api_base_url=await api.start()
    )
    built: list[TwilioVoice] = []

    def adapters(ctx: Any) -> list[Any]:
        adapter = voice_adapter(ctx, env)
        assert isinstance(adapter, TwilioVoice)
        built.append(adapter)
        return built

    app = create_app(config, store, clock=clock, adapters=adapters, env=env, reaper=False)
    try:
        async with TestClient(TestServer(app, host="127.0.0.1", port=port)) as client:
            await _walk_the_hold(Phone(client, clock, store), built[0])
    finally:
        await api.aclose()


async def _walk_the_hold(desk: Phone, voice: TwilioVoice) -> None:
    first = await desk.post("/twilio/voice", call_form(SID))
    assert "<Gather" in await first.text()
    for n, digits in enumerate(["2", "1001", "482913", "2"], 1):
        await desk.post(f"/twilio/voice/step?n={n}", call_form(SID, Digits=digits))
    hold = desk.ctx.config.channels.twilio
    shapes = {"refresh_s": hold.hold_refresh_s, "poll_s": hold.hold_poll_s}
    assert voice.callbacks is not None and voice.pushed
    contact = await desk.contact(SID)
    for waited_s in (0, 1, int(hold.hold_refresh_s), 500):
        status = await desk.ctx.service.hold(Channel.VOICE, SID)
        assert status is not None
        answer = await desk.post(f"/twilio/voice/hold?w={waited_s}", call_form(SID))
        assert await answer.text() == reference_hold(voice, status, waited_s, **shapes)
    code, claimed = await desk.api("ania", "POST", "/api/claim", {"teams": ["technical"]})
    assert code == 200 and claimed["id"] == contact.id
    status_now = await desk.ctx.service.hold(Channel.VOICE, SID)
    assert status_now is not None and status_now.agent is not None
    dial = await (await desk.post("/twilio/voice/hold?w=0", call_form(SID))).text()
    assert "<Dial" in dial and dial == reference_hold(voice, status_now, 0, **shapes)


@given(st.lists(st.text(), max_size=6))
@settings(max_examples=300, deadline=None)
def test_sms_replies_render_as_messaging_response_does(texts: list[str]) -> None:
    reference = MessagingResponse()
    kept = [t for t in texts if t.strip()]
    for chunk in pack(kept, limit=MAX_SMS_CHARS, separator="\n"):
        reference.message(chunk)
    assert render_twiml([Spoken(t, "pl") for t in texts]) == str(reference)
    assert twiml.document("") == str(MessagingResponse())
