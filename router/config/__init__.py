"""config.yaml: loading (with ${VAR} expansion) and the pydantic models it fills.

Modules: ``load`` reads and validates the file, ``root`` is the whole ``Config``, ``models``
and ``channels`` its sections (``simulate`` the simulated day, ``canned`` the canned
replies), ``types`` their value types, ``env`` the ${VAR} expansion and ``problems`` the
wording of what is wrong.
"""

from router.config.canned import (
    MAX_CANNED_CHARS,
    PLACEHOLDERS,
    CannedEntry,
    CannedText,
    unknown_placeholders,
)
from router.config.load import load_config, parse_config
from router.config.root import Config, redact_url
from router.config.simulate import Outage, SimShift, SimTeam, Simulate
from router.config.types import HostPort
from router.errors import ConfigError

__all__ = [
    "MAX_CANNED_CHARS",
    "PLACEHOLDERS",
    "CannedEntry",
    "CannedText",
    "Config",
    "ConfigError",
    "HostPort",
    "Outage",
    "SimShift",
    "SimTeam",
    "Simulate",
    "load_config",
    "parse_config",
    "redact_url",
    "unknown_placeholders",
]
