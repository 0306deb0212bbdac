"""Server-side SVG charts: valid SVG, sizes proportional to values, empty data, escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from router.stats.charts import Series, line_chart, nice_max, stacked_bars

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def bars(root: ET.Element) -> list[ET.Element]:
    return root.findall(".//svg:rect[@class='bar']", NS)


def test_bars_are_proportional_to_values() -> None:
    svg = stacked_bars("Contacts", ["12:00", "12:05", "12:10"], [Series("chat", (2, 4, 1))])
    found = bars(parse(svg))
    assert [b.get("data-value") for b in found] == ["2", "4", "1"]
    heights = [float(b.get("height", "0")) for b in found]
    assert heights[1] == pytest.approx(2 * heights[0])
    assert heights[0] == pytest.approx(2 * heights[2])
    # Bars stand on the same baseline.
    bottoms = {round(float(b.get("y", "0")) + float(b.get("height", "0")), 2) for b in found}
    assert len(bottoms) == 1


def test_stacked_series_sit_on_each_other_and_titles_name_them() -> None:
    svg = stacked_bars(
        "Contacts", ["12:00"], [Series("voice", (3,), "Voice"), Series("chat", (1,), "Chat")]
    )
    voice, chat = bars(parse(svg))
    assert voice.get("data-series") == "voice" and chat.get("data-series") == "chat"
    assert float(chat.get("y", "0")) + float(chat.get("height", "0")) == pytest.approx(
        float(voice.get("y", "0"))
    )
    assert float(voice.get("height", "0")) == pytest.approx(3 * float(chat.get("height", "0")))
    assert voice.findtext("svg:title", namespaces=NS) == "12:00 Voice: 3"
    assert voice.get("fill") != chat.get("fill")


def test_tallest_bar_fits_the_axis() -> None:
    root = parse(stacked_bars("x", ["a", "b"], [Series("s", (7, 3))]))
    axis_labels = [t.text for t in root.findall(".//svg:g[@class='axis']/svg:text", NS)]
    assert axis_labels[-1] == "10"  # the next 1-2-5 step above 7
    tallest = max(float(b.get("height", "0")) for b in bars(root))
    assert tallest == pytest.approx((240 - 30 - 46) * 0.7)


@pytest.mark.parametrize(
    "chart",
    [
        lambda: stacked_bars("Contacts", [], []),
        lambda: stacked_bars("Contacts", ["a", "b"], [Series("chat", (0, 0))]),
        lambda: line_chart("Waiting", ["a", "b"], [Series("billing", (None, None))]),
        lambda: line_chart("SL", [], [], percent=True, target=0.8),
    ],
)
def test_empty_data_still_draws_a_valid_chart_that_says_so(chart) -> None:  # type: ignore[no-untyped-def]
    root = parse(chart())
    assert bars(root) == []
    assert root.findall(".//svg:polyline", NS) == []
    assert root.find(".//svg:text[@class='empty']", NS) is not None


def test_line_chart_leaves_gaps_and_scales_percent() -> None:
    svg = line_chart(
        "Service level",
        ["a", "b", "c", "d", "e"],
        [Series("sl", (1.0, 0.5, None, 0.25, 0.0))],
        percent=True,
        target=0.8,
    )
    root = parse(svg)
    lines = root.findall(".//svg:polyline", NS)
    assert len(lines) == 2  # split at the gap

    def points(line: ET.Element) -> list[tuple[float, ...]]:
        return [tuple(map(float, p.split(","))) for p in line.get("points", "").split()]

    (_, y100), (_, y50) = points(lines[0])
    (_, y25), (_, y0) = points(lines[1])
    assert y0 - y50 == pytest.approx(2 * (y0 - y25))
    assert y0 - y100 == pytest.approx(2 * (y0 - y50))
    target = root.find(".//svg:line[@class='target']", NS)
    assert target is not None
    assert float(target.get("y1", "0")) == pytest.approx(y0 - 0.8 * (y0 - y100))
    circles = root.findall(".//svg:circle[@class='point']", NS)
    assert [c.get("data-value") for c in circles] == ["1", "0.5", "0.25", "0"]
    assert circles[1].findtext("svg:title", namespaces=NS) == "b sl: 50%"
    assert "100%" in [t.text for t in root.findall(".//svg:g[@class='axis']/svg:text", NS)]


def test_names_are_escaped_and_no_style_attributes_are_used() -> None:
    evil = '<script>alert(1)</script>"&'
    svg = stacked_bars(evil, [evil], [Series(evil, (1,), evil)])
    root = parse(svg)
    assert root.find(".//svg:script", NS) is None
    assert root.findtext("svg:title", namespaces=NS) == evil
    assert bars(root)[0].get("data-series") == evil
    assert all("style" not in el.attrib for el in root.iter())
    assert "<style" not in svg


def test_a_series_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="'chat' has 1 values for 2 labels"):
        stacked_bars("x", ["a", "b"], [Series("chat", (1,))])


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (0.3, 1), (1, 1), (7, 10), (12, 20), (45, 50), (51, 100)]
)
def test_nice_max(value: float, top: float) -> None:
    assert nice_max(value, integer=True) == top


def test_long_label_lists_are_thinned() -> None:
    labels = [f"12:{m:02d}" for m in range(61)]
    root = parse(line_chart("Waiting", labels, [Series("billing", tuple(range(61)))]))
    shown = root.findall(".//svg:g[@class='x-labels']/svg:text", NS)
    assert 6 <= len(shown) <= 9 and shown[0].text == "12:00"
    assert root.findall(".//svg:circle", NS) == []  # too many points for dots


@pytest.mark.parametrize(
    ("top_value", "labels"),
    [
        (3, ["0", "1", "2", "3", "4", "5"]),
        (2, ["0", "1", "2"]),
        (17, ["0", "5", "10", "15", "20"]),
        (80, ["0", "20", "40", "60", "80", "100"]),
    ],
)
def test_axis_ticks_are_round_counts(top_value: int, labels: list[str]) -> None:
    root = parse(stacked_bars("x", ["a"], [Series("s", (top_value,))]))
    assert [t.text for t in root.findall(".//svg:g[@class='axis']/svg:text", NS)] == labels
