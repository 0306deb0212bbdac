"""Email: our SMTP server in (aiosmtpd), threading by signed Message-IDs, replies out
through a relay."""

from channels.email.adapter import EmailAdapter, EmailSettings
from channels.email.send import Relay

__all__ = ["EmailAdapter", "EmailSettings", "Relay"]
