"""What ``Store.update_contact`` changes: a contact's fields, and keys merged into its meta.

``meta=`` replaces the whole meta: right for a caller that owns all of it, wrong for one
that read the contact some time before, because whatever was written in between (agents'
notes and tags through ``annotate``, a key another process set) is lost.
``meta_merge={"key": value, "other": None}`` changes only the keys it names (None removes
one) from the meta as the store holds it, in the same atomic step as the other fields
given, on every backend. Pure: memory and sqlite apply ``updated`` inside their step; Redis
sets and deletes the ``m:<key>`` fields in its script (``queues/redis/codec.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from queues.models import Contact

__all__ = ["META_MERGE", "UPDATABLE_FIELDS", "check_updatable", "merged_meta", "updated"]

#: Contact fields the flow may change with ``update_contact``; queue fields change only
#: through queue operations.
UPDATABLE_FIELDS = frozenset(
    {"language", "verified", "verify_method", "account", "subject", "sla_due", "meta"}
)
#: ``update_contact``'s argument that merges keys into the meta rather than replacing it.
META_MERGE = "meta_merge"


def check_updatable(changes: Mapping[str, Any]) -> None:
    """Refuse (ValueError) an ``update_contact`` naming a field not in ``UPDATABLE_FIELDS``,
    or a ``meta_merge`` that is not a mapping of string keys or comes with ``meta``."""
    unknown = set(changes) - UPDATABLE_FIELDS - {META_MERGE}
    if unknown:
        raise ValueError(
            f"cannot update {sorted(unknown)}; only {sorted(UPDATABLE_FIELDS)} change "
            "this way (and meta_merge), queue fields change through queue operations"
        )
    merge = changes.get(META_MERGE)
    if merge is None:
        return
    if not isinstance(merge, Mapping) or not all(isinstance(k, str) for k in merge):
        raise ValueError(f"meta_merge maps meta keys (strings) to values; got {merge!r}")
    if "meta" in changes:
        raise ValueError("give meta (the whole meta) or meta_merge (some keys), not both")


def merged_meta(meta: Mapping[str, Any], merge: Mapping[str, Any]) -> dict[str, Any]:
    """``meta`` with ``merge``'s keys set to its values, and those whose value is None removed."""
    changed = dict(meta)
    for key, value in merge.items():
        if value is None:
            changed.pop(key, None)
        else:
            changed[key] = value
    return changed


def updated(contact: Contact, changes: Mapping[str, Any]) -> Contact:
    """``contact`` with ``update_contact``'s ``changes`` (checked) applied."""
    check_updatable(changes)
    fields = {name: value for name, value in changes.items() if name != META_MERGE}
    merge = changes.get(META_MERGE)
    if merge is not None:
        fields["meta"] = merged_meta(contact.meta, merge)
    return contact.replace(**fields)
