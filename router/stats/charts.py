"""Small SVG charts for the supervisor dashboard: pure functions from numbers to SVG text.

The SVG uses presentation attributes (``fill``, ``stroke``), never ``style`` attributes or
elements, so it can be inlined into a page whose Content-Security-Policy forbids inline
styles. Every text that reaches the SVG is escaped. Bars and points carry ``data-series``
and ``data-value`` attributes and a ``<title>`` (the browser's tooltip).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

__all__ = ["PALETTE", "Series", "line_chart", "nice_max", "stacked_bars"]

#: Colours with enough contrast on white, picked by series name when known, else in turn.
PALETTE: Mapping[str, str] = {
    "voice": "#1f5fa8",
    "sms": "#c2570c",
    "email": "#6b4fa0",
    "chat": "#13795b",
    "telegram": "#0e7490",
    "billing": "#1f5fa8",
    "technical": "#c2570c",
    "domains_hosting": "#13795b",
}
_CYCLE = ("#1f5fa8", "#c2570c", "#13795b", "#6b4fa0", "#0e7490", "#a3245c", "#5b6b00")
_AXIS = "#5f6368"
_GRID = "#e3e5e8"
_TEXT = "#202124"
_FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"

# Layout of the plot inside the SVG, in SVG units.
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 12, 30, 46


@dataclass(frozen=True, slots=True)
class Series:
    """One named row of values; None is a gap (nothing measured there)."""

    name: str
    values: tuple[float | None, ...]
    label: str | None = None  # shown in the legend; defaults to the name

    @property
    def shown(self) -> str:
        return self.label or self.name


def nice_max(value: float, *, integer: bool = False) -> float:
    """The smallest 1, 2 or 5 x 10^k at or above ``value`` (at least 1 for counts)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        top = step * 10.0**exponent
        if top >= value - 1e-12:
            return max(top, 1.0) if integer else top
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


def _ticks(top: float) -> int:
    """How many steps divide ``top`` (1, 2 or 5 x 10^k) into round numbers."""
    if top <= 5 and float(top).is_integer():
        return max(1, int(top))
    leading = round(top / 10.0 ** math.floor(math.log10(top)))
    return 4 if leading == 2 else 5


def _colour(series: Series, index: int) -> str:
    return PALETTE.get(series.name, _CYCLE[index % len(_CYCLE)])


def _num(value: float) -> str:
    """A compact SVG number: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _fmt(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


class _Canvas:
    def __init__(self, title: str, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.parts: list[str] = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label={quoteattr(title)} '
            f'font-family={quoteattr(_FONT)} font-size="12" class="chart">',
            f"<title>{escape(title)}</title>",
            f'<text x="{_LEFT}" y="17" font-size="14" font-weight="600" fill="{_TEXT}">'
            f"{escape(title)}</text>",
        ]

    @property
    def plot_w(self) -> float:
        return self.width - _LEFT - _RIGHT

    @property
    def plot_h(self) -> float:
        return self.height - _TOP - _BOTTOM

    def y(self, value: float, top: float) -> float:
        return _TOP + self.plot_h - (value / top) * self.plot_h

    def axes(self, top: float, percent: bool) -> None:
        ticks = 4 if percent else _ticks(top)
        self.parts.append('<g class="axis">')
        for i in range(ticks + 1):
            value = top * i / ticks
            y = self.y(value, top)
            self.parts.append(
                f'<line x1="{_LEFT}" x2="{_num(_LEFT + self.plot_w)}" y1="{_num(y)}" '
                f'y2="{_num(y)}" stroke="{_GRID if i else _AXIS}" stroke-width="1"/>'
                f'<text x="{_LEFT - 6}" y="{_num(y + 4)}" text-anchor="end" fill="{_AXIS}">'
                f"{escape(_fmt(value, percent))}</text>"
            )
        self.parts.append("</g>")

    def x_labels(self, labels: Sequence[str], centres: Sequence[float]) -> None:
        every = max(1, math.ceil(len(labels) / 8))
        self.parts.append('<g class="x-labels">')
        base = _TOP + self.plot_h + 17
        for i, (label, x) in enumerate(zip(labels, centres, strict=True)):
            if i % every == 0:
                self.parts.append(
                    f'<text x="{_num(x)}" y="{base}" text-anchor="middle" fill="{_AXIS}">'
                    f"{escape(label)}</text>"
                )
        self.parts.append("</g>")

    def legend(self, series: Sequence[Series]) -> None:
        self.parts.append('<g class="legend">')
        x = float(_LEFT)
        y = self.height - 10
        for i, s in enumerate(series):
            self.parts.append(
                f'<rect x="{_num(x)}" y="{y - 9}" width="10" height="10" '
                f'fill="{_colour(s, i)}"/>'
                f'<text x="{_num(x + 14)}" y="{y}" fill="{_TEXT}">{escape(s.shown)}</text>'
            )
            x += 26 + 7.5 * len(s.shown)
        self.parts.append("</g>")

    def empty(self, message: str) -> None:
        self.parts.append(
            f'<text class="empty" x="{_num(_LEFT + self.plot_w / 2)}" '
            f'y="{_num(_TOP + self.plot_h / 2)}" text-anchor="middle" fill="{_AXIS}">'
            f"{escape(message)}</text>"
        )

    def done(self) -> str:
        return "".join([*self.parts, "</svg>"])


def _check(labels: Sequence[str], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(
                f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels; "
                "give one value per label"
            )


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    width: int = 520,
    height: int = 240,
    empty: str = "No data in this period",
) -> str:
    """One bar per label, the series stacked in it (bottom first). Negative values count 0."""
    _check(labels, series)
    canvas = _Canvas(title, width, height)
    totals = [sum(max(0.0, s.values[i] or 0.0) for s in series) for i in range(len(labels))]
    top = nice_max(max(totals, default=0.0), integer=True)
    canvas.axes(top, percent=False)
    slot = canvas.plot_w / max(1, len(labels))
    bar_w = max(1.0, slot * 0.7)
    centres = [_LEFT + slot * (i + 0.5) for i in range(len(labels))]
    canvas.parts.append('<g class="bars">')
    for i, label in enumerate(labels):
        base = 0.0
        for k, s in enumerate(series):
            value = max(0.0, s.values[i] or 0.0)
            if value <= 0:
                continue
            y_top = canvas.y(base + value, top)
            h = canvas.y(base, top) - y_top
            canvas.parts.append(
                f'<rect class="bar" data-series={quoteattr(s.name)} data-value="{_num(value)}" '
                f'x="{_num(centres[i] - bar_w / 2)}" y="{_num(y_top)}" width="{_num(bar_w)}" '
                f'height="{_num(h)}" fill="{_colour(s, k)}">'
                f"<title>{escape(f'{label} {s.shown}: {_fmt(value, False)}')}</title></rect>"
            )
            base += value
    canvas.parts.append("</g>")
    if not any(totals):
        canvas.empty(empty)
    canvas.x_labels(labels, centres)
    canvas.legend(series)
    return canvas.done()


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    percent: bool = False,
    target: float | None = None,
    width: int = 520,
    height: int = 240,
    empty: str = "No data in this period",
) -> str:
    """A line per series across the labels; None values leave gaps. ``percent``: 0..1 as %."""
    _check(labels, series)
    canvas = _Canvas(title, width, height)
    values = [v for s in series for v in s.values if v is not None]
    top = 1.0 if percent else nice_max(max(values, default=0.0), integer=True)
    canvas.axes(top, percent=percent)
    n = len(labels)
    step = canvas.plot_w / max(1, n - 1)
    xs = [_LEFT + step * i if n > 1 else _LEFT + canvas.plot_w / 2 for i in range(n)]
    if target is not None and 0 <= target <= top:
        _target_line(canvas, target, top, percent)
    canvas.parts.append('<g class="lines">')
    for k, s in enumerate(series):
        _line(canvas, s, _colour(s, k), xs, top, labels=labels, percent=percent)
    canvas.parts.append("</g>")
    if not values:
        canvas.empty(empty)
    canvas.x_labels(labels, xs)
    canvas.legend(series)
    return canvas.done()


def _target_line(canvas: _Canvas, target: float, top: float, percent: bool) -> None:
    y = _num(canvas.y(target, top))
    canvas.parts.append(
        f'<line class="target" x1="{_LEFT}" x2="{_num(_LEFT + canvas.plot_w)}" y1="{y}" '
        f'y2="{y}" stroke="{_AXIS}" stroke-dasharray="4 3" stroke-width="1">'
        f"<title>{escape(f'target {_fmt(target, percent)}')}</title></line>"
    )


def _line(
    canvas: _Canvas,
    s: Series,
    colour: str,
    xs: Sequence[float],
    top: float,
    *,
    labels: Sequence[str],
    percent: bool,
) -> None:
    """One series: a polyline per run of values between gaps, and its points."""
    n = len(xs)
    runs: list[list[tuple[float, float]]] = [[]]
    for i, value in enumerate(s.values):
        if value is None:
            runs.append([])
            continue
        runs[-1].append((xs[i], canvas.y(min(max(value, 0.0), top), top)))
    for run in runs:
        if len(run) > 1:
            points = " ".join(f"{_num(x)},{_num(y)}" for x, y in run)
            canvas.parts.append(
                f'<polyline data-series={quoteattr(s.name)} points="{points}" fill="none" '
                f'stroke="{colour}" stroke-width="2" stroke-linejoin="round"/>'
            )
    # Points only where few enough to tell apart; a lone value still gets its dot.
    dots = n <= 24
    for i, value in enumerate(s.values):
        if value is None:
            continue
        alone = (i == 0 or s.values[i - 1] is None) and (i == n - 1 or s.values[i + 1] is None)
        if not (dots or alone):
            continue
        canvas.parts.append(
            f'<circle class="point" data-series={quoteattr(s.name)} '
            f'data-value="{_num(value)}" cx="{_num(xs[i])}" '
            f'cy="{_num(canvas.y(min(max(value, 0.0), top), top))}" r="3" fill="{colour}">'
            f"<title>{escape(f'{labels[i]} {s.shown}: {_fmt(value, percent)}')}</title>"
            "</circle>"
        )
