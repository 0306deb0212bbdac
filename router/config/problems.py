"""pydantic's validation errors as ``path: problem`` lines a person can act on: the key's
path, the value as written (never a secret's), and what to do."""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

__all__ = ["SECRET_KEYS", "problem", "show"]

#: Keys whose values are never shown in a message.
SECRET_KEYS = frozenset({"auth_token", "bot_token", "secret_token", "password", "code"})


def _annotation_at(root: type[BaseModel], loc: Sequence[str | int]) -> Any:
    """The declared type at ``loc`` below ``root``, or None when the walk leaves the models."""
    annotation: Any = root
    for part in loc:
        while get_origin(annotation) in (Annotated, Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            annotation = field.annotation if field is not None else None
        elif get_origin(annotation) in (dict, tuple, list):
            annotation = get_args(annotation)[-1 if get_origin(annotation) is dict else 0]
        else:
            return None
    return annotation


def show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def problem(error: Mapping[str, Any], root: type[BaseModel]) -> tuple[str, str]:
    """One pydantic error of validating ``root`` as (path, problem)."""
    loc = [part for part in error["loc"] if part != "[key]"]
    path = ".".join(str(part) for part in loc) or "(top level)"
    kind, message = error["type"], str(error["msg"])
    if kind == "value_error":
        return path, message.removeprefix("Value error, ")
    if kind == "missing":
        return path, "is missing; add it"
    if kind == "extra_forbidden":
        owner = _annotation_at(root, loc[:-1])
        is_model = isinstance(owner, type) and issubclass(owner, BaseModel)
        fields = list(owner.model_fields) if is_model else []
        close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(fields)}"
        return path, f"unknown key; {hint}"
    shown = "the value" if loc and str(loc[-1]) in SECRET_KEYS else show(error.get("input"))
    if kind in ("model_type", "dict_type"):
        return path, f"{shown} should be a mapping of keys to values"
    if message.startswith("Input should "):
        return path, f"{shown} {message.removeprefix('Input ')}"
    return path, f"{shown}: {message}"
