"""JSON documents in files, written atomically and re-read only when another process wrote;
and the directory of records (accounts, agents) kept in one."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

__all__ = ["JsonDirectory", "JsonFile"]

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


class JsonDirectory(Generic[R]):
    """Records of one kind in a JSON file ``{"version": 1, KEY: [...]}``: created when
    missing, re-read on a lookup after another process replaced it, indexed by the subclass.

    Subclasses name the records (``key``, ``what``), say how to recover a broken file
    (``advice``), and implement ``_parse``, ``_dump`` and ``_index``.
    """

    key: ClassVar[str]
    what: ClassVar[str]
    advice: ClassVar[str]
    error: ClassVar[Callable[[str], Exception]]

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file = JsonFile(path)
        if not self._file.path.exists():
            self._write([])
        self._sync()

    @property
    def path(self) -> Path:
        return self._file.path

    def _sync(self) -> None:
        records = self._file.load_records(
            self.key, self._parse, error=type(self).error, what=self.what, advice=self.advice
        )
        if records is not None:
            self._index(records)

    def _write(self, records: Iterable[R]) -> None:
        kept = list(records)
        self._file.write({"version": 1, self.key: [self._dump(r) for r in kept]})
        self._index(kept)

    def _parse(self, record: Any) -> R:
        raise NotImplementedError

    def _dump(self, record: R) -> dict[str, Any]:
        raise NotImplementedError

    def _index(self, records: list[R]) -> None:
        raise NotImplementedError
