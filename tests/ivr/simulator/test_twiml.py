"""TwiML documents parsed as Twilio reads them; anything else is refused naming the verb."""

from __future__ import annotations

import pytest

from ivr.simulator.keys import ScriptError, ScriptKeys, parse_press
from ivr.simulator.twiml import (
    Dial,
    DialTarget,
    Gather,
    Hangup,
    Pause,
    Play,
    Redirect,
    Reject,
    Say,
    TwimlError,
    parse,
)


def test_every_supported_verb_is_read_with_twilios_defaults() -> None:
    document = """<?xml version="1.0" encoding="UTF-8"?>
    <Response>
      <Say language="pl-PL" voice="Polly.Ewa">Dzień dobry</Say>
      <Play loop="2">https://example.com/hold.mp3</Play>
      <Pause/>
      <Gather action="/step?n=1" numDigits="1" timeout="6" finishOnKey="">
        <Say language="en-US">Press 1</Say><Pause length="2"/>
      </Gather>
      <Gather><Say>defaults</Say></Gather>
      <Redirect method="GET">/hold?w=5</Redirect>
      <Dial action="/after"><Client><Identity>ania-desk</Identity>
        <Parameter name="agent" value="ania"/></Client></Dial>
      <Dial>+48500999888</Dial>
      <Dial><Number>+48500111222</Number></Dial>
      <Hangup/>
      <Reject reason="busy"/>
    </Response>"""
    assert parse(document) == (
        Say("Dzień dobry", "pl-PL", "Polly.Ewa"),
        Play("https://example.com/hold.mp3", loop=2),
        Pause(1),
        Gather(
            action="/step?n=1",
            timeout_s=6,
            finish_on_key="",
            num_digits=1,
            prompts=(Say("Press 1", "en-US"), Pause(2)),
        ),
        Gather(prompts=(Say("defaults"),)),
        Redirect("/hold?w=5", "GET"),
        Dial((DialTarget("client", "ania-desk", {"agent": "ania"}),), action="/after"),
        Dial((DialTarget("number", "+48500999888"),)),
        Dial((DialTarget("number", "+48500111222"),)),
        Hangup(),
        Reject("busy"),
    )
    assert parse(b"<Response/>") == ()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("<Response><Record/></Response>", "does not know the TwiML verb <Record>"),
        ("<Response><Enqueue>support</Enqueue></Response>", "<Enqueue>"),
        ("<Response><Say>unclosed</Response>", "not well-formed XML"),
        ("", "not well-formed XML"),
        ("<Reply><Say>x</Say></Reply>", "root is <Reply>, not <Response>"),
        ("<Response><Gather><Dial>1</Dial></Gather></Response>", "<Dial> cannot be nested"),
        ('<Response><Pause length="soon"/></Response>', "<Pause length='soon'> is not a whole"),
        ('<Response><Gather timeout="0"/></Response>', "<Gather timeout='0'> is below 1"),
        ('<Response><Gather finishOnKey="x"/></Response>', "finishOnKey='x'"),
        ('<Response><Gather input="speech"/></Response>', "dtmf only"),
        ('<Response><Redirect method="PUT">/x</Redirect></Response>', "GET or POST"),
        ("<Response><Redirect/></Response>", "<Redirect> has no URL"),
        ("<Response><Dial><Sip>sip:a@b</Sip></Dial></Response>", "<Sip> inside <Dial>"),
        ("<Response><Dial/></Response>", "no number or client"),
        (
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><Response/>',
            "DOCTYPE",
        ),
    ],
)
def test_what_the_simulator_cannot_execute_is_refused_by_name(document: str, message: str) -> None:
    with pytest.raises(TwimlError) as caught:
        parse(document)
    assert message in str(caught.value)


def test_press_scripts_are_keys_or_silence() -> None:
    assert parse_press(" 2  1001#  - *9 ") == ("2", "1001#", "-", "*9")
    assert parse_press("") == ()
    with pytest.raises(ScriptError, match=r"--press answer '10a1#' is not keys"):
        parse_press("2 10a1#")


async def test_script_gives_one_answer_per_gather_and_drops_the_rest() -> None:
    keys = ScriptKeys(["12", "-"])
    assert keys.begin()
    assert [await keys.key(0.001), await keys.key(0.001), await keys.key(0.001)] == [
        "1",
        "2",
        None,
    ]
    assert keys.begin() and await keys.key(0.001) is None  # silence
    assert not keys.begin()  # nothing more to press: the caller hangs up
    keys = ScriptKeys(["123", "4"])
    keys.begin()
    await keys.key(0)
    keys.begin()
    assert keys.ignored == ["23"]


def test_the_simulator_package_offers_the_twiml_parser() -> None:
    import ivr.simulator

    assert ivr.simulator.parse_twiml is parse
