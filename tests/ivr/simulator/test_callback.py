"""The REST API stand-in places calls (``Calls.json``) as Twilio does: it rings a phone that
listens at the number, or tells the status callback nobody answered, signed; and the
simulator answers a placed call and runs it like any, against a small loopback IVR. Also:
an offer on hold (a Gather before a Pause) is let pass by a script with no keys left."""

from __future__ import annotations

import asyncio
import base64
from functools import partial

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator

from channels.errors import SendFailed
from channels.twilio import CallControl, sign
from ivr.simulator import Outcome, TwilioApi, answer
from ivr.simulator.call import Call, CallSpec
from ivr.simulator.keys import ScriptKeys

SID = "AC" + "7e" * 16
TOKEN = "5e" * 16
CUSTOMER = "+48500100200"
OURS = "+48221234567"


def doc(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


async def test_a_call_nobody_answers_gets_a_signed_no_answer_status_callback() -> None:
    seen: list[tuple[dict[str, str], bool]] = []
    reached = asyncio.Event()

    async def status(request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        valid = RequestValidator(TOKEN).validate(
            str(request.url), form, request.headers.get("X-Twilio-Signature", "")
        )
        seen.append((form, valid))
        reached.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/status", status)
    api = TwilioApi(account_sid=SID, auth_token=TOKEN, sign=partial(sign, TOKEN))
    async with TestServer(app, host="127.0.0.1") as router:
        base = await api.start()
        control = CallControl(account_sid=SID, auth_token=TOKEN, api_base_url=base)
        try:
            api.unanswered[CUSTOMER] = "busy"
            call_sid = await control.create(
                to=CUSTOMER,
                from_=OURS,
                url=str(router.make_url("/answer")),
                status_callback=str(router.make_url("/status")),
                timeout_s=20,
            )
            async with asyncio.timeout(5):
                await reached.wait()
        finally:
            await control.aclose()
            await api.aclose()
    ((form, valid),) = seen
    assert valid and form["CallSid"] == call_sid and form["CallStatus"] == "busy"
    assert (form["From"], form["To"], form["Direction"]) == (OURS, CUSTOMER, "outbound-api")
    (placed,) = api.placed
    assert (placed.call_sid, placed.timeout_s, placed.method) == (call_sid, 20, "POST")


async def test_the_stand_in_refuses_a_call_without_credentials_or_a_number() -> None:
    api = TwilioApi(account_sid=SID, auth_token=TOKEN)
    base = await api.start()
    url = f"{base}/2010-04-01/Accounts/{SID}/Calls.json"
    good = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data={"To": CUSTOMER}) as got:
                assert got.status == 401
            form = {"From": OURS, "Url": "http://x/answer"}
            async with session.post(url, data=form, headers={"Authorization": good}) as got:
                assert got.status == 400 and (await got.json())["code"] == 21201
            form = {"To": CUSTOMER, "From": OURS, "Url": "answer"}
            async with session.post(url, data=form, headers={"Authorization": good}) as got:
                assert got.status == 400 and (await got.json())["code"] == 21205
        control = CallControl(account_sid=SID, auth_token="wrong", api_base_url=base)
        try:
            await control.create(
                to=CUSTOMER, from_=OURS, url="http://x/a", status_callback="http://x/s", timeout_s=5
            )
        except SendFailed as exc:
            assert not exc.retryable and "401" in exc.reason
        else:
            raise AssertionError("a refused call must raise SendFailed")
        finally:
            await control.aclose()
    finally:
        await api.aclose()
    assert api.placed == []


async def test_a_placed_call_rings_the_listening_phone_which_answers_and_is_put_through() -> None:
    fetched: list[dict[str, str]] = []
    ended: list[dict[str, str]] = []

    async def answered(request: web.Request) -> web.Response:
        fetched.append({k: str(v) for k, v in (await request.post()).items()})
        body = doc("<Say>Calling you back</Say>", "<Dial><Number>+48500999888</Number></Dial>")
        return web.Response(text=body, content_type="text/xml")

    async def status(request: web.Request) -> web.Response:
        ended.append({k: str(v) for k, v in (await request.post()).items()})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/answer", answered)
    app.router.add_post("/status", status)
    api = TwilioApi(account_sid=SID, auth_token=TOKEN, sign=partial(sign, TOKEN))
    async with TestServer(app, host="127.0.0.1") as router:
        base = await api.start()
        control = CallControl(account_sid=SID, auth_token=TOKEN, api_base_url=base)
        try:
            api.phone(CUSTOMER)
            await control.create(
                to=CUSTOMER,
                from_=OURS,
                url=str(router.make_url("/answer?c=1&a=1")),
                status_callback=str(router.make_url("/status?c=1&a=1")),
                timeout_s=20,
            )
            placed = await api.ringing(CUSTOMER, timeout_s=5)
            assert placed is not None
            async with aiohttp.ClientSession() as session:
                result = await answer(
                    session, placed, CallSpec(speed=100), ScriptKeys(()), sign=partial(sign, TOKEN)
                )
        finally:
            await control.aclose()
            await api.aclose()
    assert result.outcome is Outcome.CONNECTED and result.agent == "+48500999888"
    assert fetched[0]["Direction"] == "outbound-api" and fetched[0]["To"] == CUSTOMER
    assert ended[0]["CallStatus"] == "completed" and ended[0]["CallSid"] == placed.call_sid


async def test_an_offer_on_hold_is_let_pass_but_a_question_hangs_up_a_finished_script() -> None:
    pages = {
        "/voice": doc(
            '<Gather numDigits="1" action="/pressed"><Say>Press 1 for a callback</Say></Gather>',
            '<Pause length="2"/>',
            '<Gather numDigits="1" action="/pressed"><Say>Choose</Say></Gather>',
            "<Redirect>/voice</Redirect>",
        ),
    }

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=pages.get(request.path, doc("<Hangup/>")), content_type="text/xml")

    app = web.Application()
    app.router.add_post("/{any:.*}", page)
    async with TestServer(app, host="127.0.0.1") as ivr, aiohttp.ClientSession() as session:
        spec = CallSpec(url=str(ivr.make_url("/")).rstrip("/"), voice_path="/voice", speed=100)
        result = await Call(session, spec, ScriptKeys(()), sign=None).run()
    assert (result.outcome, result.reason) == (Outcome.HUNG_UP, "no_more_keys")
    kinds = [e["type"] for e in result.events]
    assert kinds.count("pause") == 1 and "gather" not in kinds  # the offer passed silently
