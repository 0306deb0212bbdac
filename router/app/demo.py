"""Local secrets for the demo (`switchboard run --demo`): made once under the data dir."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router.config import Config

__all__ = ["demo_secret", "twilio_auth_token"]


def demo_secret(data_dir: Path, name: str) -> str:
    """The secret ``name`` kept in ``data_dir/demo-<name>`` (0600), generated on first use.

    Only for the demo: real deployments give credentials through the environment.
    """
    path = data_dir / f"demo-{name}"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_hex(16) + "\n")
        with suppress(FileExistsError):
            os.link(tmp, path)  # of two processes starting at once, the first one wins
        tmp.unlink()
    return path.read_text(encoding="utf-8").strip()


def twilio_auth_token(config: Config, env: Mapping[str, str], *, demo: bool) -> str | None:
    """The Twilio auth token: config, then ``TWILIO_AUTH_TOKEN``, then (with ``demo``) the
    demo secret that `switchboard run --demo` and `switchboard call` share."""
    settings = config.channels.twilio
    token = settings.auth_token.get_secret_value() if settings.auth_token else None
    token = token or env.get("TWILIO_AUTH_TOKEN") or None
    if token is None and demo:
        token = demo_secret(config.data_path, "twilio-auth-token")
    return token
