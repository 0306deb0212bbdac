"""The simulated day as one SVG picture: contacts waiting (per team), the service level against
its target, and agents logged in and busy, per interval.

The three panels are the dashboard's own charts (``router.stats``), stacked in one document.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from router.simulate.report import Report
from router.stats import Series, line_chart, stacked_bars

__all__ = ["render_svg"]

WIDTH = 760
PANEL_H = 230
TITLE_H = 34


def _placed(svg: str, y: int) -> str:
    """A chart's SVG as a nested one at height ``y`` of the picture."""
    return svg.replace("<svg ", f'<svg x="0" y="{y}" ', 1)


def render_svg(report: Report, *, title: str = "Simulated day") -> str:
    """The picture of ``report``; the SL target line is the voice channel's (else the first
    channel's) target."""
    height = TITLE_H + 3 * PANEL_H
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}" role="img" aria-label={quoteattr(title)} '
            "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\">",
            f"<title>{escape(title)}</title>",
            f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
            f'<text x="12" y="22" font-size="16" font-weight="600" fill="#202124">'
            f"{escape(title)}</text>",
            _placed(_waiting(report), TITLE_H),
            _placed(_service_level(report), TITLE_H + PANEL_H),
            _placed(_agents(report), TITLE_H + 2 * PANEL_H),
            "</svg>\n",
        ]
    )


def _waiting(report: Report) -> str:
    return stacked_bars(
        "Contacts waiting at the end of each interval",
        [row.label for row in report.intervals],
        [
            Series(team, tuple(float(row.teams[team].waiting) for row in report.intervals))
            for team in report.day.teams
        ],
        width=WIDTH,
        height=PANEL_H,
    )


def _service_level(report: Report) -> str:
    targets = [g for _, g in report.sla.values()]
    target = report.sla["voice"][1] if "voice" in report.sla else (targets[0] if targets else None)
    return line_chart(
        "Service level (answered within the SLA threshold)",
        [row.label for row in report.intervals],
        [
            *(
                Series(team, tuple(row.teams[team].service_level for row in report.intervals))
                for team in report.day.teams
            ),
            Series("desk", tuple(row.desk.service_level for row in report.intervals), "desk"),
        ],
        percent=True,
        target=target,
        width=WIDTH,
        height=PANEL_H,
    )


def _agents(report: Report) -> str:
    return line_chart(
        "Agents per interval (on average)",
        [row.label for row in report.intervals],
        [
            Series("logged", tuple(row.desk.agents for row in report.intervals), "logged in"),
            Series(
                "busy",
                tuple(row.desk.agents * (row.desk.occupancy or 0.0) for row in report.intervals),
                "busy",
            ),
        ],
        width=WIDTH,
        height=PANEL_H,
    )
