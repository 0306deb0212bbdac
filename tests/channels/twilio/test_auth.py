from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from channels.twilio.auth import HEADER, TwilioSignature, sign

FORM = {"CallSid": "CA123", "From": "+48500100200", "Digits": "1"}


async def serve(check: TwilioSignature) -> TestClient[web.Request, web.Application]:
    async def hook(request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        return web.Response(status=200 if check.valid(request, form) else 403)

    app = web.Application()
    app.router.add_post("/twilio/voice", hook)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_valid_signature_for_request_url() -> None:
    client = await serve(TwilioSignature("tok"))
    try:
        url = str(client.make_url("/twilio/voice"))
        ok = await client.post("/twilio/voice", data=FORM, headers={HEADER: sign("tok", url, FORM)})
        assert ok.status == 200
        wrong = await client.post(
            "/twilio/voice", data=FORM, headers={HEADER: sign("x", url, FORM)}
        )
        assert wrong.status == 403
        missing = await client.post("/twilio/voice", data=FORM)
        assert missing.status == 403
        other_url = sign("tok", url.replace("/voice", "/sms"), FORM)
        assert (
            await client.post("/twilio/voice", data=FORM, headers={HEADER: other_url})
        ).status == 403
        tampered = {**FORM, "Digits": "2"}
        resp = await client.post(
            "/twilio/voice", data=tampered, headers={HEADER: sign("tok", url, FORM)}
        )
        assert resp.status == 403
    finally:
        await client.close()


async def test_public_url_and_proxy() -> None:
    client = await serve(TwilioSignature("tok", public_url="https://support.example.com/"))
    try:
        public = sign("tok", "https://support.example.com/twilio/voice", FORM)
        assert (
            await client.post("/twilio/voice", data=FORM, headers={HEADER: public})
        ).status == 200
    finally:
        await client.close()
    client = await serve(TwilioSignature("tok", trust_proxy=True))
    try:
        proxied = sign("tok", "https://edge.example.com/twilio/voice", FORM)
        headers = {
            HEADER: proxied,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "edge.example.com",
        }
        assert (await client.post("/twilio/voice", data=FORM, headers=headers)).status == 200
    finally:
        await client.close()
    client = await serve(TwilioSignature("tok"))  # proxy headers are ignored unless trusted
    try:
        assert (await client.post("/twilio/voice", data=FORM, headers=headers)).status == 403
    finally:
        await client.close()
