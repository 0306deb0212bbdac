"""``switchboard simulate``: a day of contacts through the real queue, routing policy and
business hours on a virtual clock, reported per interval like the supervisor's dashboard.

Modules: ``scenario`` (what a day is made of), ``setup`` (scenarios from config.yaml, a steady
load or a forecast), ``arrivals`` (the random draws), ``agents`` (shifts, idle and busy time),
``engine`` (the discrete-event run against a ``MemoryStore``), ``report`` (the numbers),
``text`` and ``svg`` (how they are shown).
"""

from router.simulate.arrivals import Arrival, draw_arrivals, handle_draw
from router.simulate.engine import Outcome, VirtualClock, run
from router.simulate.report import Figures, Report, Row, build_report, simulate, to_json
from router.simulate.scenario import IncidentWindow, Scenario, Segment, Shift, Stream
from router.simulate.setup import day_scenario, first_working_day, steady_scenario
from router.simulate.svg import render_svg
from router.simulate.text import render_text

__all__ = [
    "Arrival",
    "Figures",
    "IncidentWindow",
    "Outcome",
    "Report",
    "Row",
    "Scenario",
    "Segment",
    "Shift",
    "Stream",
    "VirtualClock",
    "build_report",
    "day_scenario",
    "draw_arrivals",
    "first_working_day",
    "handle_draw",
    "render_svg",
    "render_text",
    "run",
    "simulate",
    "steady_scenario",
    "to_json",
]
