"""config.yaml: loading (with ${VAR} expansion) and the pydantic models it fills."""

from router.config.load import Config, ConfigError, HostPort, load_config, redact_url

__all__ = ["Config", "ConfigError", "HostPort", "load_config", "redact_url"]
