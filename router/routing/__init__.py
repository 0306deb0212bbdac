"""Where a contact goes and how soon: team, priority delay, business hours, incidents, SLA."""

from router.routing.compensation import RULES, Compensation, Interruption, compensate
from router.routing.decision import INCIDENTS_KEY, IncidentBook, Routing
from router.routing.hours import BusinessHours
from router.routing.policy import (
    ALL_TEAMS,
    Incident,
    Incidents,
    PriorityRules,
    SlaRules,
    UnknownIncident,
    estimate_wait_s,
    round_wait_min,
)

__all__ = [
    "ALL_TEAMS",
    "INCIDENTS_KEY",
    "RULES",
    "BusinessHours",
    "Compensation",
    "Incident",
    "IncidentBook",
    "Incidents",
    "Interruption",
    "PriorityRules",
    "Routing",
    "SlaRules",
    "UnknownIncident",
    "compensate",
    "estimate_wait_s",
    "round_wait_min",
]
