"""The SMS webhook's load: the form Twilio posts for a first message from a new number, and
the credentials the bench's router checks it with.

The figures are ``ingest.sms.*`` (bench/ingest.py): signed first messages replayed by wrk
against a `switchboard run` of their own and a bare handler.
"""

from __future__ import annotations

__all__ = ["ACCOUNT_SID", "AUTH_TOKEN", "BODY", "sms_form"]

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "c" * 32
BODY = "Dzień dobry, od rana nie działa mi internet, router miga na czerwono."


def sms_form(n: int) -> dict[str, str]:
    """The form Twilio posts for a first message from the ``n``-th new number."""
    sid = f"SM{n:032x}"
    return {
        "ToCountry": "PL",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": BODY,
        "FromCountry": "PL",
        "To": "+48221234567",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": f"+4860{n:07d}",
        "ApiVersion": "2010-04-01",
    }
