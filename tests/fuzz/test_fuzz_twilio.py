"""Fuzzing the Twilio webhooks (SMS, its delivery reports, every voice webhook) on loopback:
whatever comes, the answer is 2xx or a 4xx with a reason, never 5xx."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import example, given
from hypothesis import strategies as st

from channels.twilio.auth import HEADER
from tests.fuzz.strategies import SMS_FIELDS, VOICE_FIELDS, forms, query_values, raw_bodies
from tests.fuzz.support import FUZZ, LiveRig

FORM = "application/x-www-form-urlencoded"
CONTENT_TYPES = [FORM, "multipart/form-data; boundary=xyz", "application/json", "text/plain", ""]


def answered(live: LiveRig, path: str, form: dict[str, str], *, signed: bool) -> int:
    async def post() -> int:
        response = await live.live.twilio_post(path, form, signed=signed)
        await response.read()
        return response.status

    return live.run(post())


def posted_raw(live: LiveRig, path: str, body: bytes, content_type: str, signature: str) -> int:
    async def post() -> tuple[int, str]:
        headers = {"Content-Type": content_type} if content_type else {}
        if signature:
            headers[HEADER] = signature
        response = await live.live.client.post(path, data=body, headers=headers)
        return response.status, response.content_type

    status, kind = live.run(post())
    assert status >= 500 or status < 400 or kind == "application/json", (status, kind)
    return status


@FUZZ
@given(form=forms(SMS_FIELDS), signed=st.booleans(), path=st.sampled_from(["", "/status"]))
@example(form={"MessageSid": "SM1", "From": "+48500100200", "Body": "\x00²"}, signed=True, path="")
@example(form={"MessageSid": "SM2", "From": "+4850", "NumMedia": "²"}, signed=True, path="")
def test_sms_webhooks_never_answer_5xx(
    live: LiveRig, form: dict[str, str], signed: bool, path: str
) -> None:
    assert answered(live, "/twilio/sms" + path, form, signed=signed) < 500


@FUZZ
@given(
    form=forms(VOICE_FIELDS),
    where=st.sampled_from(["", "/step?n={}", "/hold?w={}", "/hold?dialed=1&w={}", "/status"]),
    value=query_values,
)
@example(form={"CallSid": "CA1", "Digits": "1"}, where="/step?n={}", value="²")
@example(form={"CallSid": "CA1"}, where="/hold?w={}", value="²")
@example(form={"CallSid": "CA1", "CallStatus": "completed"}, where="/status", value="")
def test_voice_webhooks_never_answer_5xx(
    live: LiveRig, form: dict[str, str], where: str, value: str
) -> None:
    path = "/twilio/voice" + where.format(quote(value, safe=""))
    assert answered(live, path, form, signed=True) < 500


@FUZZ
@given(
    body=raw_bodies,
    content_type=st.sampled_from(CONTENT_TYPES),
    signature=st.sampled_from(["", "bm90IGEgc2lnbmF0dXJl"]),
    path=st.sampled_from(
        ["/twilio/sms", "/twilio/sms/status", "/twilio/voice", "/twilio/voice/hold"]
    ),
)
@example(body=b"Body=\x80&CallSid=CA1", content_type=FORM, signature="x", path="/twilio/voice")
@example(
    body=b'--xyz\r\nContent-Disposition: form-data; name="Body"\r\n\r\n\x80\r\n--xyz--\r\n',
    content_type="multipart/form-data; boundary=xyz",
    signature="x",
    path="/twilio/sms",
)
def test_any_body_to_a_twilio_webhook_is_refused_with_a_reason(
    live: LiveRig, body: bytes, content_type: str, signature: str, path: str
) -> None:
    status = posted_raw(live, path, body, content_type, signature)
    # Unsigned: 403 before the body is read; signed but not a form: 415; else 400 or 403.
    if not signature:
        assert status == 403
    elif content_type.split(";")[0] != FORM:
        assert status == 415
    else:
        assert status in (400, 403)
