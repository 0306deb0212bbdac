"""config.yaml: loading (with ${VAR} expansion) and the pydantic models it fills.

Modules: ``load`` reads and validates the file, ``root`` is the whole ``Config``, ``models``
and ``channels`` its sections, ``types`` their value types, ``env`` the ${VAR} expansion and
``problems`` the wording of what is wrong.
"""

from router.config.load import load_config, parse_config
from router.config.root import Config, redact_url
from router.config.types import HostPort
from router.errors import ConfigError

__all__ = ["Config", "ConfigError", "HostPort", "load_config", "parse_config", "redact_url"]
