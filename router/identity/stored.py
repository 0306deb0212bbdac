"""Records of one kind (accounts, agents) kept in the store, shared by every process.

Each record is a store document (``Store.put_doc``) under its kind; a version document
(kind ``directory``) changes with every write. A directory keeps an index in memory for
lookups (which stay synchronous and cost no store call): it is loaded at start and
reloaded when ``refresh`` finds the version changed, which the app does every second, so
an agent added through another process (``switchboard agents add``) signs in within a
second anywhere. A JSON file ``{"version": 1, KEY: [...]}`` is an import or an export.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from queues import Store
from router.identity.jsonfile import JsonFile

__all__ = ["VERSION_KIND", "StoredDirectory"]

R = TypeVar("R")

#: The kind of the version documents, one per directory kind.
VERSION_KIND = "directory"


class StoredDirectory(Generic[R]):
    """Records of ``kind`` in ``store``, indexed by the subclass.

    Subclasses name the records (``kind``, ``key``, ``what``), say how to recover from a
    broken import file (``advice``), and implement ``_parse``, ``_dump``, ``_id_of`` and
    ``_index``.
    """

    kind: ClassVar[str]
    key: ClassVar[str]
    what: ClassVar[str]
    advice: ClassVar[str]
    error: ClassVar[Callable[[str], Exception]]

    def __init__(self, store: Store) -> None:
        self._store = store
        self._version: str | None = None  # the version document's tag at the last load
        self._records: dict[str, R] = {}
        self._index([])

    async def refresh(self) -> bool:
        """Reload when another process (or this one) wrote since the last load; True when
        it did. One small read when nothing changed."""
        _, version = await self._store.get_doc(VERSION_KIND, self.kind)
        if version == self._version:
            return False
        found = await self._store.all_docs(self.kind)
        try:
            records = {key: self._parse(data) for key, data in found.items()}
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            raise type(self).error(
                f"a stored {self.kind} record cannot be read ({exc!r}); {self.advice}"
            ) from exc
        self._records = records
        self._index(list(records.values()))
        self._version = version
        return True

    async def _write(self, records: Iterable[R], *, new_only: bool = False) -> None:
        """Store ``records`` (new, or replacing those of the same key) and say so to every
        process; this one's index has them at once. ``new_only``: a key another process
        stored meanwhile is refused (``error``); the records before it stay written."""
        kept = {self._id_of(record): record for record in records}
        for key, record in kept.items():
            tag = "" if new_only else None
            if await self._store.put_doc(self.kind, key, self._dump(record), tag=tag) is None:
                await self._store.put_doc(VERSION_KIND, self.kind, {"changed": uuid.uuid4().hex})
                raise type(self).error(f"{key!r} was just added by another process; try again")
        await self._store.put_doc(VERSION_KIND, self.kind, {"changed": uuid.uuid4().hex})
        self._records = {**self._records, **kept}
        self._index(list(self._records.values()))

    async def count(self) -> int:
        """How many records the store holds now."""
        return len(await self._store.all_docs(self.kind))

    # -- files -------------------------------------------------------------------------------
    def read_file(self, path: str | os.PathLike[str]) -> list[R]:
        """The records of a JSON export (``{"version": 1, KEY: [...]}``), each checked as
        one added by hand would be; one bad record refuses the file."""
        if not Path(path).is_file():
            raise type(self).error(f"{self.what} {str(path)!r} does not exist; give a JSON export")

        def parse(data: Any) -> R:
            record = self._parse(data)
            self._check(record)
            return record

        records = JsonFile(path).load_records(
            self.key, parse, error=type(self).error, what=self.what, advice=self.advice
        )
        by_id = {self._id_of(record): record for record in records or []}
        return list(by_id.values())

    def export(self) -> dict[str, Any]:
        """Every record as a JSON document that ``read_file`` takes back."""
        ordered = [self._records[key] for key in sorted(self._records)]
        return {"version": 1, self.key: [self._dump(r) for r in ordered]}

    def write_file(self, path: str | os.PathLike[str]) -> Path:
        """``export`` written atomically, mode 0600 (it holds code and token hashes)."""
        file = JsonFile(path)
        file.write(self.export())
        return file.path

    @staticmethod
    def dumps(document: Mapping[str, Any]) -> str:
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"

    # -- for subclasses ----------------------------------------------------------------------
    def _parse(self, record: Any) -> R:
        raise NotImplementedError

    def _dump(self, record: R) -> dict[str, Any]:
        raise NotImplementedError

    def _id_of(self, record: R) -> str:
        raise NotImplementedError

    def _check(self, record: R) -> None:
        """Raise ``error`` when an imported record is not one ``add`` would accept."""

    def _index(self, records: list[R]) -> None:
        raise NotImplementedError
