"""The ``complaints:`` section: the written complaint form (``/complaint``) and its delay
notices (``router.complaints``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from router.config.models import Section

__all__ = ["Complaints"]


class Complaints(Section):
    # A complaint still open this many business days before its due date (the SLA's
    # complaint_business_days after it came) gets a delay notice.
    notice_business_days: Annotated[int, Field(ge=0, le=30)] = 2
    # How often one process (under a store lock) looks at the notices due.
    check_s: Annotated[float, Field(ge=1, le=3600)] = 60.0
    # Complaints one client address may send an hour (counted in the store, across
    # processes; behind http.trusted_proxies). More get 429.
    per_hour: Annotated[int, Field(ge=1, le=1000)] = 5
    # The longest description of what happened, in characters.
    max_text_chars: Annotated[int, Field(ge=200, le=20000)] = 5000
