"""The composition root: builds the store, services and channel adapters into one aiohttp app."""

from router.app.collector import (
    THAW_EVERY_S,
    freeze_after_full_passes,
    freeze_start_up,
    log_long_passes,
)
from router.app.demo import twilio_auth_token
from router.app.factory import DEMO_TOKENS, create_app, routing_from_config
from router.app.logs import configure_logging

__all__ = [
    "DEMO_TOKENS",
    "THAW_EVERY_S",
    "configure_logging",
    "create_app",
    "freeze_after_full_passes",
    "freeze_start_up",
    "log_long_passes",
    "routing_from_config",
    "twilio_auth_token",
]
