"""Twilio: phone calls (TwiML webhooks) and SMS, every webhook signature-checked.

``sign`` and ``HEADER`` compute and carry the signature Twilio sends, for whatever calls us
as Twilio would (the IVR simulator, the benchmarks).
"""

from channels.twilio.auth import HEADER, sign
from channels.twilio.calls import CallControl
from channels.twilio.sms import SmsAdapter
from channels.twilio.voice import CONNECTING, TwilioVoice

__all__ = ["CONNECTING", "HEADER", "CallControl", "SmsAdapter", "TwilioVoice", "sign"]
