"""Twilio: phone calls (TwiML webhooks) and SMS, every webhook signature-checked; callers on
hold may book a callback that keeps their place (``Callbacks``); a caller still on the line
after the agent hangs up is asked the keypad survey (``VoiceSurvey``).

``sign`` and ``HEADER`` compute and carry the signature Twilio sends, for whatever calls us
as Twilio would (the IVR simulator, the benchmarks).
"""

from channels.twilio.auth import HEADER, sign
from channels.twilio.callback import CALLBACK_PROMPTS, CallbackHost, Callbacks, VoiceParts
from channels.twilio.callback_book import Callback, CallbackBook, CallbackState
from channels.twilio.callback_dial import CallbackSettings
from channels.twilio.calls import CallControl
from channels.twilio.sms import SmsAdapter
from channels.twilio.survey import SurveyHost, VoiceSurvey
from channels.twilio.voice import BUSY, CONNECTING, TwilioVoice

__all__ = [
    "BUSY",
    "CALLBACK_PROMPTS",
    "CONNECTING",
    "HEADER",
    "CallControl",
    "Callback",
    "CallbackBook",
    "CallbackHost",
    "CallbackSettings",
    "CallbackState",
    "Callbacks",
    "SmsAdapter",
    "SurveyHost",
    "TwilioVoice",
    "VoiceParts",
    "VoiceSurvey",
    "sign",
]
