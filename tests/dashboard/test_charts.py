"""Server-side SVG bar charts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from dashboard.charts import bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def bars(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    return [r for r in root.iter(f"{SVG}rect") if "bar" in r.get("class", "")]


def test_one_bar_per_value_and_gaps_for_missing_data() -> None:
    """None is a gap, every number a bar, and the SVG is well-formed."""
    svg = bar_chart("NPS", [("a", 10.0), ("b", None), ("c", 30.0)])
    assert len(bars(svg)) == 2


def test_negative_values_hang_below_zero() -> None:
    """A negative NPS gets the negative style and sits under the zero line."""
    svg = bar_chart("NPS", [("a", -40.0), ("b", 20.0)], lo=-100, hi=100)
    neg, pos = bars(svg)
    assert neg.get("class") == "bar neg" and pos.get("class") == "bar"
    assert float(neg.get("y", 0)) > float(pos.get("y", 0)) + float(pos.get("height", 0)) - 1


def test_taller_bars_for_bigger_values() -> None:
    """Bar heights follow the values."""
    small, big = bars(bar_chart("Calls", [("a", 2.0), ("b", 8.0)]))
    assert float(big.get("height", 0)) > 3 * float(small.get("height", 0))


def test_labels_are_escaped() -> None:
    """Survey names with markup cannot inject into the page."""
    svg = bar_chart("<b>x</b>", [("<script>", 1.0)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_no_data_says_so() -> None:
    """An empty period shows a sentence, not an empty chart."""
    assert "No data" in bar_chart("NPS", [("a", None)])
