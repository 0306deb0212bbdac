"""JSON documents in files, written atomically and re-read only when another process wrote
(imports and exports of the account and agent directories)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["JsonFile"]

T = TypeVar("T")
R = TypeVar("R")


class JsonFile:
    """A JSON document in one file: written atomically (temp file, fsync, ``os.replace``,
    mode 0600), and re-read only after someone else replaced it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._seen: tuple[int, int, int] | None = None

    def _signature(self) -> tuple[int, int, int] | None:
        # os.replace gives every write a new inode, so this changes on each write.
        with suppress(FileNotFoundError):
            st = self.path.stat()
            return (st.st_ino, st.st_mtime_ns, st.st_size)
        return None

    def changed(self) -> bool:
        return self._seen is None or self._signature() != self._seen

    def read(self) -> Any:
        """The document (raises FileNotFoundError, OSError or json.JSONDecodeError)."""
        signature = self._signature()
        data = json.loads(self.path.read_text(encoding="utf-8"))
        self._seen = signature
        return data

    def write(self, data: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, indent=2)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._seen = self._signature()

    def load_records(
        self,
        key: str,
        parse: Callable[[Any], T],
        *,
        error: Callable[[str], Exception],
        what: str,
        advice: str,
    ) -> list[T] | None:
        """The records under ``key``, or None when the file is unchanged since the last read.

        A file deleted while the router runs has no records, as on a first start; one that
        cannot be read or parsed raises ``error`` naming the file and saying what to do.
        """
        if not self.changed():
            return None
        try:
            return [parse(record) for record in self.read()[key]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, ArithmeticError) as exc:
            raise error(f"{what} {str(self.path)!r} cannot be read ({exc!r}); {advice}") from exc
