"""JSON request bodies: pydantic models at the edge, and the one way they are read."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from channels import BadInput, load_json
from router.desk import AgentStatus
from router.http.errors import refuse

__all__ = [
    "Body",
    "ClaimBody",
    "CloseIncidentBody",
    "IncidentBody",
    "NotifyBody",
    "PresenceBody",
    "ReplyBody",
    "ResolveBody",
    "TransferBody",
    "read_body",
]

B = TypeVar("B", bound="Body")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClaimBody(Body):
    teams: list[str] | None = None
    wait_s: float = Field(default=0.0, ge=0, le=30)


class ReplyBody(Body):
    text: str = Field(min_length=1, max_length=4000)


class ResolveBody(Body):
    disposition: str = "solved"


class TransferBody(Body):
    team: str


Text = Annotated[str, Field(min_length=1, max_length=500)]
#: An announcement or update: one text for every language, or a text per language.
Texts = Text | dict[str, Text]


class IncidentBody(Body):
    """``{"team", "text"}`` by hand, or ``{"from_suggestion": id}`` with either to change
    the suggestion's team or texts (``text`` a string: one text for every language)."""

    team: str | None = None
    text: Texts | None = None
    from_suggestion: str | None = None

    @model_validator(mode="after")
    def _text_or_suggestion(self) -> IncidentBody:
        if self.from_suggestion is None and not self.text:
            raise ValueError("give the announcement's text, or from_suggestion")
        return self


class NotifyBody(Body):
    """An update to an incident's contacts; ``update_id`` names it (default: its text)."""

    text: Texts
    update_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")


class CloseIncidentBody(Body):
    """Closing an incident; ``notify`` sends the "resolved" update (``text`` or the
    default per language) to its contacts."""

    notify: bool = False
    text: Texts | None = None


class PresenceBody(Body):
    status: AgentStatus
    teams: list[str] | None = None


async def read_body(request: web.Request, model: type[B]) -> B:
    """The request's JSON as ``model``: not JSON (or not UTF-8, nested too deep, holding a
    string that is not Unicode) is 400, not the model is 422 with reasons."""
    raw = await request.read()
    try:
        data: Any = load_json(raw) if raw.strip() else {}
    except BadInput as exc:
        raise refuse(400, str(exc)) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()]
        raise refuse(422, "; ".join(problems)) from None
