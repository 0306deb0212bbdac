"""Workforce numbers: Erlang C and Erlang A staffing, a day's forecast, the desk's need now."""

from router.staffing.erlang import (
    MAX_TRAFFIC_ERL,
    ErlangA,
    Staffing,
    agents_needed,
    asa_s,
    erlang_a,
    erlang_b,
    erlang_c,
    occupancy,
    service_level,
)
from router.staffing.forecast import (
    COLUMNS,
    ForecastError,
    ForecastRow,
    StaffedRow,
    parse_forecast,
    staff_rows,
)
from router.staffing.now import ServiceGoal, service_goal, staffing_now

__all__ = [
    "COLUMNS",
    "MAX_TRAFFIC_ERL",
    "ErlangA",
    "ForecastError",
    "ForecastRow",
    "ServiceGoal",
    "StaffedRow",
    "Staffing",
    "agents_needed",
    "asa_s",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "occupancy",
    "parse_forecast",
    "service_goal",
    "service_level",
    "staff_rows",
    "staffing_now",
]
