"""Where a contact goes and how soon: team, priority delay, business hours, incidents, SLA."""

from router.routing.decision import IncidentBook, Routing
from router.routing.hours import BusinessHours
from router.routing.policy import (
    Incidents,
    PriorityRules,
    SlaRules,
    UnknownIncident,
    estimate_wait_s,
    round_wait_min,
)

__all__ = [
    "BusinessHours",
    "IncidentBook",
    "Incidents",
    "PriorityRules",
    "Routing",
    "SlaRules",
    "UnknownIncident",
    "estimate_wait_s",
    "round_wait_min",
]
