"""The e-mail parsing policy: ``policy.default``, with each header object made once per name
and raw value (a mail's headers, ``Content-Type: text/plain; charset="utf-8"`` first of all,
repeat from mail to mail, and parsing them was most of a mail's parse)."""

from __future__ import annotations

from email.policy import EmailPolicy
from typing import Any

__all__ = ["POLICY"]

#: Header objects kept (they repeat from mail to mail: ``text/plain; charset="utf-8"``),
#: and the longest raw value kept.
_HEADERS_KEPT = 2048
_HEADER_KEPT_CHARS = 1000


class _KeptHeaders(EmailPolicy):
    """policy.default, each header object made once per name and raw value."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if not isinstance(value, str) or len(value) > _HEADER_KEPT_CHARS:
            return super().header_fetch_parse(name, value)
        key = (name, value)
        found = _HEADERS.get(key)
        if found is None:
            found = super().header_fetch_parse(name, value)
            if len(_HEADERS) >= _HEADERS_KEPT:
                _HEADERS.clear()
            _HEADERS[key] = found
        return found


_HEADERS: dict[tuple[str, str], Any] = {}
POLICY = _KeptHeaders()
