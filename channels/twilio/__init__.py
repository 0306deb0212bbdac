"""Twilio: phone calls (TwiML webhooks) and SMS, every webhook signature-checked."""

from channels.twilio.auth import sign
from channels.twilio.sms import SmsAdapter
from channels.twilio.voice import CONNECTING, TwilioVoice

__all__ = ["CONNECTING", "SmsAdapter", "TwilioVoice", "sign"]
