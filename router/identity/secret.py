"""The server key auth codes hash under (``SWITCHBOARD_SECRET``, or a generated file).

``load_secret`` reads ``SWITCHBOARD_SECRET`` from the environment. When it is unset, it
generates a key once into ``<data_dir>/secret`` (mode 0600) so the demo works out of the box;
every later start reuses that file. Several hosts sharing one store must set the same
``SWITCHBOARD_SECRET``: a code hashed under one key never matches under another.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path

from router.errors import AccountError

__all__ = ["MIN_SECRET_CHARS", "SECRET_ENV", "load_secret"]

SECRET_ENV = "SWITCHBOARD_SECRET"
MIN_SECRET_CHARS = 16


def load_secret(env: Mapping[str, str], data_dir: str | os.PathLike[str]) -> bytes:
    """The server key: ``SWITCHBOARD_SECRET`` when set, else ``<data_dir>/secret``.

    The file is generated once (random, mode 0600) and reused, which is meant for the demo
    and single-host setups; set ``SWITCHBOARD_SECRET`` everywhere else.
    """
    value = env.get(SECRET_ENV, "")
    if value:
        if len(value) < MIN_SECRET_CHARS:
            raise AccountError(
                f"{SECRET_ENV} is {len(value)} characters long; set at least "
                f"{MIN_SECRET_CHARS} random characters (python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')"
            )
        return value.encode("utf-8")
    path = Path(data_dir) / "secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(secrets.token_urlsafe(32) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            # link() fails when the file exists: of two processes starting at once, the
            # first one's secret wins and neither ever reads a half-written file.
            with suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise AccountError(
            f"secret file {str(path)!r} holds {len(secret)} characters; delete it to have a "
            f"new one generated, or set {SECRET_ENV}"
        )
    return secret.encode("utf-8")
