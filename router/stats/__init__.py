"""The numbers: KPIs from the store's buckets (and from events), Prometheus metrics, the last
hour as series and charts."""

from router.stats.board import AgentCounts, KpiBoard
from router.stats.charts import Series, line_chart, stacked_bars
from router.stats.history import (
    Buckets,
    arrivals_by_channel,
    arrivals_from_buckets,
    clock_labels,
    service_level,
    service_level_from_buckets,
    to_json,
    waiting_from_buckets,
    waiting_over_time,
)
from router.stats.kpi import OVERALL, AgentLoad, compute_kpis, overall_kpi, recent_handle_times
from router.stats.metrics import Metrics, Snapshot, render
from router.stats.occupancy import AgentTime, accrue, accrue_interval, prune, window_time
from router.stats.rollup import check_thresholds, team_kpis

__all__ = [
    "OVERALL",
    "AgentCounts",
    "AgentLoad",
    "AgentTime",
    "Buckets",
    "KpiBoard",
    "Metrics",
    "Series",
    "Snapshot",
    "accrue",
    "accrue_interval",
    "arrivals_by_channel",
    "arrivals_from_buckets",
    "check_thresholds",
    "clock_labels",
    "compute_kpis",
    "line_chart",
    "overall_kpi",
    "prune",
    "recent_handle_times",
    "render",
    "service_level",
    "service_level_from_buckets",
    "stacked_bars",
    "team_kpis",
    "to_json",
    "waiting_from_buckets",
    "waiting_over_time",
    "window_time",
]
