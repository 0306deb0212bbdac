"""The numbers: KPIs from events, Prometheus metrics, the last hour as series and charts."""

from router.stats.board import AgentCounts, KpiBoard
from router.stats.charts import Series, line_chart, stacked_bars
from router.stats.history import (
    Buckets,
    arrivals_by_channel,
    clock_labels,
    service_level,
    to_json,
    waiting_over_time,
)
from router.stats.kpi import OVERALL, AgentLoad, compute_kpis, overall_kpi, recent_handle_times
from router.stats.metrics import Metrics, Snapshot, render
from router.stats.occupancy import AGENT_STATUS, AgentTime, agent_time

__all__ = [
    "AGENT_STATUS",
    "OVERALL",
    "AgentCounts",
    "AgentLoad",
    "AgentTime",
    "Buckets",
    "KpiBoard",
    "Metrics",
    "Series",
    "Snapshot",
    "agent_time",
    "arrivals_by_channel",
    "clock_labels",
    "compute_kpis",
    "line_chart",
    "overall_kpi",
    "recent_handle_times",
    "render",
    "service_level",
    "stacked_bars",
    "to_json",
    "waiting_over_time",
]
