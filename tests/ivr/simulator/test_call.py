"""The simulator executes TwiML as Twilio does, against small loopback servers playing an IVR."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator

from channels.twilio.auth import sign
from ivr.simulator.call import Call, CallResult, CallSpec, Outcome
from ivr.simulator.cli import CliOptions, run_cli
from ivr.simulator.keys import KeypadKeys, ScriptKeys
from ivr.simulator.many import percentile, place_calls

TOKEN = "5e" * 16
Page = str | int | Callable[[dict[str, str]], str]


def doc(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


@dataclass
class Seen:
    path: str
    method: str
    form: dict[str, str]
    signed: bool


@dataclass
class FakeIvr:
    """Answers each path with a fixed document (or a status code); checks signatures."""

    pages: dict[str, Page]
    server: TestServer | None = None
    seen: list[Seen] = field(default_factory=list)
    public: str | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/")).rstrip("/")

    async def handle(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        base = self.public or self.url
        signed = RequestValidator(TOKEN).validate(
            base + request.path_qs, form, request.headers.get("X-Twilio-Signature", "")
        )
        self.seen.append(Seen(request.path_qs, request.method, form, bool(signed)))
        page = self.pages.get(request.path, 404)
        if callable(page):
            page = page(form)
        if isinstance(page, int):
            return web.Response(status=page, text=f"status {page}")
        return web.Response(text=page, content_type="text/xml")

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


@pytest.fixture
async def ivr() -> AsyncIterator[FakeIvr]:
    fake = FakeIvr({})
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    fake.server = TestServer(app, host="127.0.0.1")
    await fake.server.start_server()
    try:
        yield fake
    finally:
        await fake.server.close()


async def place(
    ivr: FakeIvr,
    press: list[str] | None = None,
    *,
    keys: Any = None,
    speed: float = 100.0,
    echo: list[str] | None = None,
    **spec: Any,
) -> CallResult:
    call_spec = CallSpec(**{"url": ivr.url, "speed": speed, **spec})
    async with aiohttp.ClientSession() as session:
        call = Call(
            session,
            call_spec,
            keys or ScriptKeys(press or []),
            sign=partial(sign, TOKEN),
            echo=None if echo is None else echo.append,
        )
        return await call.run()


def forms(ivr: FakeIvr, path: str) -> list[dict[str, str]]:
    return [s.form for s in ivr.seen if s.path.split("?")[0] == path]


async def test_call_posts_twilios_fields_signed_and_ends_with_the_status_callback(
    ivr: FakeIvr,
) -> None:
    ivr.pages["/twilio/voice"] = doc('<Say language="pl-PL">Dzień dobry</Say>', "<Hangup/>")
    ivr.pages["/twilio/voice/status"] = 204
    echo: list[str] = []
    result = await place(ivr, echo=echo, from_number="+48600100200", call_sid="CA" + "1" * 32)
    assert result.outcome is Outcome.ENDED and result.exit_code == 3
    assert ivr.paths() == ["/twilio/voice", "/twilio/voice/status"]
    first, status = ivr.seen
    assert all(s.signed and s.method == "POST" for s in ivr.seen)
    assert first.form == {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": "CA" + "1" * 32,
        "CallStatus": "ringing",
        "Called": "+48221234567",
        "Caller": "+48600100200",
        "Direction": "inbound",
        "From": "+48600100200",
        "To": "+48221234567",
    }
    assert status.form["CallStatus"] == "completed" and "CallDuration" in status.form
    assert echo[1:] == ["[pl-PL] Dzień dobry", "the IVR hung up"]


@pytest.mark.parametrize(
    ("gather", "press", "digits", "finished"),
    [
        ('<Gather action="/next" numDigits="2"/>', "123", "12", ""),
        ('<Gather action="/next"/>', "45#", "45", "#"),
        ('<Gather action="/next" finishOnKey="*"/>', "4#5*", "4#5", "*"),
        ('<Gather action="/next" finishOnKey="" numDigits="2"/>', "1#", "1#", ""),
        ('<Gather action="/next"/>', "12", "12", ""),  # no finish key: the timeout submits
    ],
)
async def test_gather_honours_num_digits_finish_on_key_and_timeout(
    ivr: FakeIvr, gather: str, press: str, digits: str, finished: str
) -> None:
    ivr.pages["/twilio/voice"] = doc(gather, "<Say>fell through</Say>")
    ivr.pages["/next"] = doc("<Hangup/>")
    result = await place(ivr, [press])
    (posted,) = forms(ivr, "/next")
    assert (posted["Digits"], posted["FinishedOnKey"]) == (digits, finished)
    assert [e["text"] for e in result.events if e["type"] == "say"] == []  # not fell through


@pytest.mark.parametrize("press", ["-", "#"])
async def test_no_input_or_the_finish_key_alone_falls_through_to_the_next_verb(
    ivr: FakeIvr, press: str
) -> None:
    ivr.pages["/twilio/voice"] = doc(
        '<Gather action="/next" timeout="3"><Say>Press</Say></Gather>',
        "<Say>No answer</Say><Redirect>/again?timeout=1</Redirect>",
    )
    ivr.pages["/again"] = doc("<Hangup/>")
    start = time.monotonic()
    result = await place(ivr, [press], speed=100)
    assert forms(ivr, "/next") == []
    assert ivr.paths()[1] == "/again?timeout=1"
    assert [e["text"] for e in result.events if e["type"] == "say"] == ["Press", "No answer"]
    if press == "-":
        assert time.monotonic() - start >= 3 / 100  # the timeout really passed, scaled


async def test_action_on_empty_result_posts_empty_digits(ivr: FakeIvr) -> None:
    ivr.pages["/twilio/voice"] = doc('<Gather actionOnEmptyResult="true"/>', "<Hangup/>")
    ivr.pages["/twilio/voice/status"] = 204
    calls = iter([doc('<Gather actionOnEmptyResult="true"/>'), doc("<Hangup/>")])
    ivr.pages["/twilio/voice"] = lambda form: next(calls)
    await place(ivr, ["-"])
    assert forms(ivr, "/twilio/voice")[1]["Digits"] == ""  # no action: the document's URL


async def test_redirects_resolve_relative_urls_and_get_sends_the_form_in_the_query(
    ivr: FakeIvr,
) -> None:
    ivr.pages["/twilio/voice"] = doc("<Redirect>hold?w=0</Redirect>")
    ivr.pages["/twilio/hold"] = doc('<Redirect method="GET">/after?x=1</Redirect>')
    ivr.pages["/after"] = doc("<Hangup/>")
    await place(ivr)
    assert ivr.paths()[:2] == ["/twilio/voice", "/twilio/hold?w=0"]
    got = ivr.seen[2]
    assert got.method == "GET" and got.path.startswith("/after?x=1&AccountSid=")
    assert got.signed  # GET: the whole URL is signed, with no form


async def test_pause_really_waits_scaled_by_speed(ivr: FakeIvr) -> None:
    ivr.pages["/twilio/voice"] = doc('<Pause length="4"/>', "<Hangup/>")
    start = time.monotonic()
    result = await place(ivr, speed=40)
    assert time.monotonic() - start >= 4 / 40
    assert [e["length_s"] for e in result.events if e["type"] == "pause"] == [4]
    assert result.duration_s >= 4


async def test_dial_connects_and_names_the_agent(ivr: FakeIvr) -> None:
    ivr.pages["/twilio/voice"] = doc(
        "<Dial><Client><Identity>ania-desk</Identity>"
        '<Parameter name="agent" value="ania"/></Client></Dial>',
        "<Say>never reached</Say>",
    )
    echo: list[str] = []
    result = await place(ivr, echo=echo)
    assert result.outcome is Outcome.CONNECTED and result.exit_code == 0
    assert result.agent == "ania" and echo[-1] == "connected to agent ania (client ania-desk)"
    assert ivr.paths()[-1] == "/twilio/voice/status"


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (doc("<Say>hi</Say>", "<Record/>"), "does not know the TwiML verb <Record>"),
        ("<Response><Say>", "not well-formed XML"),
        (500, "answered HTTP 500"),
        (403, "signature was refused"),
        (404, "is the voice channel on"),
    ],
)
async def test_bad_answers_end_the_call_with_an_error_naming_the_problem(
    ivr: FakeIvr, page: Page, message: str
) -> None:
    ivr.pages["/twilio/voice"] = page
    result = await place(ivr)
    assert result.outcome is Outcome.ERROR and result.exit_code == 1
    assert result.error is not None and message in result.error
    assert ivr.paths()[-1] == "/twilio/voice/status"  # Twilio still reports the call's end


async def test_unreachable_router_is_an_error(ivr: FakeIvr) -> None:
    result = await place(ivr, url="http://127.0.0.1:9")
    assert result.outcome is Outcome.ERROR and "failed" in (result.error or "")


async def test_end_of_document_and_redirect_loops_end_the_call(ivr: FakeIvr) -> None:
    ivr.pages["/twilio/voice"] = doc("<Say>bye</Say>")
    result = await place(ivr)
    assert result.outcome is Outcome.ENDED and result.reason == "end_of_document"
    ivr.pages["/twilio/voice"] = doc("<Redirect>/twilio/voice</Redirect>")
    result = await place(ivr, max_requests=5)
    assert result.outcome is Outcome.ERROR and "redirecting in a loop" in (result.error or "")


HOLD = doc('<Pause length="5"/>', "<Redirect>/twilio/voice</Redirect>")


async def test_caller_gives_up_after_max_hold(ivr: FakeIvr) -> None:
    ivr.pages["/twilio/voice"] = HOLD
    result = await place(ivr, max_hold_s=12, speed=100)
    assert result.outcome is Outcome.ABANDONED and result.reason == "max_hold"
    assert ivr.paths() == ["/twilio/voice"] * 3 + ["/twilio/voice/status"]
    assert 12 <= result.duration_s < 15


async def test_ctrl_c_hangs_up_and_still_sends_the_status_callback(ivr: FakeIvr) -> None:
    on_hold = asyncio.Event()

    def hold(form: dict[str, str]) -> str:
        on_hold.set()
        return HOLD

    ivr.pages["/twilio/voice"] = hold
    task = asyncio.create_task(place(ivr, speed=1))
    await on_hold.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    result = await task  # the caller hung up; the call itself ends normally
    assert result.outcome is Outcome.ABANDONED and result.reason == "interrupted"
    assert ivr.paths() == ["/twilio/voice", "/twilio/voice/status"]


async def test_signing_for_a_public_url(ivr: FakeIvr) -> None:
    ivr.public = "https://support.example.com"
    ivr.pages["/twilio/voice"] = doc("<Hangup/>")
    await place(ivr, signed_base="https://support.example.com/")
    assert [s.signed for s in ivr.seen] == [True, True]
    ivr.seen.clear()
    await place(ivr)
    assert [s.signed for s in ivr.seen] == [False, False]


async def test_keypad_reads_keys_from_a_pipe_and_end_of_input_hangs_up(ivr: FakeIvr) -> None:
    ivr.pages["/twilio/voice"] = lambda form: doc(
        '<Gather action="/twilio/voice" numDigits="1"><Say>Press</Say></Gather>'
    )
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"x2 3")
    os.close(write_fd)
    echo: list[str] = []
    with os.fdopen(read_fd, "r") as stream:
        keypad = KeypadKeys(stream)
        try:
            result = await place(ivr, keys=keypad, echo=echo, speed=50)
        finally:
            keypad.close()
    assert [f.get("Digits") for f in forms(ivr, "/twilio/voice")] == [None, "2", "3"]
    assert result.outcome is Outcome.HUNG_UP and result.reason == "no_more_keys"
    assert "   keypad 0-9 * #, # ends; 5 s to answer" in echo


async def test_many_calls_each_with_its_own_sid_and_number(ivr: FakeIvr) -> None:
    ivr.pages["/twilio/voice"] = lambda form: doc(
        "<Hangup/>" if "Digits" in form else '<Gather numDigits="1"/>'
    )
    ivr.pages["/twilio/voice/status"] = 204
    spec = CallSpec(url=ivr.url, speed=100)
    results, summary = await place_calls(
        spec, ["1"], calls=5, concurrency=2, sign=partial(sign, TOKEN)
    )
    assert (summary.calls, summary.ended, summary.errors, summary.requests) == (5, 5, 0, 10)
    assert len({r.call_sid for r in results}) == 5
    assert len({f["From"] for f in forms(ivr, "/twilio/voice/status")}) == 5
    body = summary.to_json()
    assert body["ended"] == 5 and set(body["step_latency_ms"]) == {"p50", "p95", "p99"}
    with pytest.raises(ValueError, match="concurrency"):
        await place_calls(spec, [], calls=1, concurrency=0, sign=None)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, p) for p in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert percentile([7.0], 99) == 7.0 and percentile([], 50) == 0.0


async def test_cli_prints_the_call_as_json(ivr: FakeIvr) -> None:
    ivr.pages["/twilio/voice"] = lambda form: doc(
        '<Say language="en-US">Thanks</Say><Hangup/>'
        if "Digits" in form
        else '<Gather numDigits="1"><Say language="en-US">Press 2</Say></Gather>'
    )
    out = io.StringIO()
    options = CliOptions(url=ivr.url, press="2", json=True, speed=100)
    assert await run_cli(options, sign=partial(sign, TOKEN), out=out) == 3
    transcript = json.loads(out.getvalue())
    assert transcript["outcome"] == "ended" and transcript["from"] == "+48500100200"
    kinds = [e["type"] for e in transcript["events"]]
    assert kinds == [
        "request", "say", "gather", "request", "say", "hangup", "status_callback",
    ]  # fmt: skip
    gather = transcript["events"][2]
    assert (gather["pressed"], gather["digits"], gather["ended"]) == ("2", "2", "num_digits")
    assert transcript["events"][3]["form"]["Digits"] == "2"
    assert '<Say language="en-US">Thanks</Say>' in transcript["events"][3]["twiml"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (CliOptions(press="2 x"), "--press answer 'x' is not keys"),
        (CliOptions(calls=3), "--calls needs --press"),
        (CliOptions(press="1", concurrency=0), "--concurrency must be 1 or more"),
        (CliOptions(press="1", speed=0), "--speed must be above 0"),
        (CliOptions(press="1", max_hold_s=-1), "--max-hold-s must be 0 or more"),
        (CliOptions(url="localhost:8080", press="1"), "is not an http:// or https:// URL"),
    ],
)
async def test_cli_refuses_bad_options(options: CliOptions, message: str) -> None:
    err = io.StringIO()
    assert await run_cli(options, sign=None, err=err) == 2
    assert message in err.getvalue()
