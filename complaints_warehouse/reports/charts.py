"""Charts as inline SVG: no script, no web font, nothing fetched, so a page prints and opens offline exactly
as written. This module works out each chart's geometry (scales, coordinates, label positions) and returns it
as plain values; templates/_charts.html.j2 draws the SVG from them (autoescaped), so a council can restyle
the charts (WAREHOUSE_REPORT_TEMPLATES) like the rest of the page.

Readable without colour: the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies), and every series also has its own marker shape and dash pattern (or bar hatching), and
its name written beside it (direct labels rather than a legend to match by colour).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Okabe & Ito (2008), "Color Universal Design".
BLACK, ORANGE, SKY_BLUE, BLUISH_GREEN = "#000000", "#E69F00", "#56B4E9", "#009E73"
YELLOW, BLUE, VERMILLION, REDDISH_PURPLE = "#F0E442", "#0072B2", "#D55E00", "#CC79A7"
GREY, GRID, INK = "#6b6b6b", "#d9d9d9", "#1a1a1a"


@dataclass(frozen=True)
class Style:
    """How one series looks: colour, SVG dash pattern ("" for solid), marker shape and bar hatching."""

    colour: str
    dash: str = ""
    marker: str = "circle"  # circle, square, triangle, diamond
    hatch: str = ""  # "", "diagonal", "dots"


#: Series styles in the order series are given; the last year's figures always look the same.
STYLES = (
    Style(BLUE, "", "circle", ""),
    Style(VERMILLION, "7 4", "square", "diagonal"),
    Style(BLUISH_GREEN, "2 3", "triangle", "dots"),
    Style(ORANGE, "10 3 2 3", "diamond", "diagonal"),
    Style(REDDISH_PURPLE, "4 2", "circle", "dots"),
    Style(SKY_BLUE, "1 2", "square", ""),
)
LAST_YEAR = Style(GREY, "5 4", "circle", "diagonal")


@dataclass
class Series:
    """One line (or one set of bars): its name, values (None is a gap) and style. ``hollow`` marks
    points drawn with open markers (e.g. months not yet published)."""

    name: str
    values: Sequence[float | None]
    style: Style
    hollow: Sequence[bool] = field(default_factory=list)


def _nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^n at or above ``value`` (an axis that ends on a round number)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _f(value: float) -> str:
    """A coordinate as the SVG carries it: one decimal place."""
    return f"{value:.1f}"


def _marker(shape: str, x: float, y: float, colour: str, hollow: bool, size: float = 4.5) -> dict:
    """A marker's shape and geometry for the template (_charts.html.j2's ``marker``)."""
    marker = {"shape": shape, "fill": "#ffffff" if hollow else colour, "colour": colour}
    if shape == "square":
        return {**marker, "x": _f(x - size), "y": _f(y - size), "side": _f(2 * size)}
    if shape == "triangle":
        s = size * 1.25
        corners = ((x, y - s), (x + s, y + s * 0.8), (x - s, y + s * 0.8))
        return {**marker, "shape": "polygon", "points": " ".join(f"{a:.1f},{b:.1f}" for a, b in corners)}
    if shape == "diamond":
        s = size * 1.3
        corners = ((x, y - s), (x + s, y), (x, y + s), (x - s, y))
        return {**marker, "shape": "polygon", "points": " ".join(f"{a:.1f},{b:.1f}" for a, b in corners)}
    return {**marker, "shape": "circle", "x": _f(x), "y": _f(y), "r": _f(size)}


def _spread(positions: list[float], gap: float, low: float, high: float) -> list[float]:
    """Move label positions apart by at least ``gap``, keeping them within [low, high] and in order."""
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    placed = [positions[i] for i in order]
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + gap)
    overflow = placed[-1] - high if placed else 0
    if overflow > 0:
        placed = [p - overflow for p in placed]
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - gap)
    placed = [max(low, p) for p in placed]
    result = [0.0] * len(positions)
    for rank, i in enumerate(order):
        result[i] = placed[rank]
    return result


def _frame(kind: str, chart_id: str, title: str, description: str, width: int, height: int) -> dict:
    """What every chart's ``<svg>`` opens with: its id, size, title and description (read aloud)."""
    return {
        "kind": kind,
        "id": chart_id,
        "title": title,
        "description": description or title,
        "width": width,
        "height": height,
        "ink": INK,
        "grey": GREY,
        "grid": GRID,
        "black": BLACK,
    }


def line_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Callable[[float], str],
    y_max: float | None = None,
    targets: Sequence[tuple[float, str]] = (),
    annotations: dict[int, str] | None = None,
    description: str = "",
    width: int = 480,
    height: int = 250,
) -> dict:
    """A line chart with markers, dashed lines per series, each series named at its last point, and
    optional horizontal target lines and notes above given x positions (e.g. a caveat on a year).
    Returns its geometry for the template (_charts.html.j2's ``line_chart``)."""
    left, right, top, bottom = 46, 118, 26, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s.values if v is not None] + [t for t, _ in targets]
    top_value = y_max if y_max is not None else _nice_max(max(values, default=0) * 1.08)
    n = len(labels)

    def x_at(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n if n else 0)

    def y_at(v: float) -> float:
        return top + plot_h - plot_h * (min(v, top_value) / top_value if top_value else 0)

    chart = _frame("line", chart_id, title, description, width, height)
    chart |= {"left": left, "right": left + plot_w, "top": top, "bottom": top + plot_h}
    chart["grid_lines"] = [  # grid and y axis
        {
            "y": _f(y_at(top_value * k / 4)),
            "label_y": _f(y_at(top_value * k / 4) + 4),
            "label": fmt(top_value * k / 4),
        }
        for k in range(5)
    ]
    chart["tick_x"], chart["month_y"], chart["year_y"] = left - 6, top + plot_h + 16, top + plot_h + 30
    chart["x_labels"] = []
    for i, label in enumerate(labels):  # x axis: "Mar" with the year under January and the first month
        month, _, year = label.partition(" ")
        shown = year if year and (i == 0 or not labels[i - 1].endswith(year)) else ""
        chart["x_labels"].append({"x": _f(x_at(i)), "month": month, "year": shown})
    chart["note_y"] = top - 8
    chart["annotations"] = [
        {"x": _f(x_at(index)), "text": note} for index, note in (annotations or {}).items()
    ]
    label_rows: list[tuple[float, str, str]] = []
    chart["targets"] = []
    for value, name in targets:
        chart["targets"].append({"y": _f(y_at(value))})
        label_rows.append((y_at(value), f"{name} {fmt(value)}", BLACK))
    chart["series"] = []
    for s in series:
        points = [(x_at(i), y_at(v)) if v is not None else None for i, v in enumerate(s.values)]
        runs, run = [], []
        for p in points:  # a missing value breaks the line
            if p is None:
                runs, run = runs + ([run] if run else []), []
            else:
                run.append(p)
        runs += [run] if run else []
        markers = [
            _marker(
                s.style.marker, p[0], p[1], s.style.colour, bool(s.hollow[i]) if i < len(s.hollow) else False
            )
            for i, p in enumerate(points)
            if p is not None
        ]
        chart["series"].append(
            {
                "colour": s.style.colour,
                "dash": s.style.dash,
                "runs": [" ".join(f"{x:.1f},{y:.1f}" for x, y in r) for r in runs],
                "markers": markers,
            }
        )
        last = max((i for i, v in enumerate(s.values) if v is not None), default=None)
        if last is not None:
            label_rows.append((y_at(s.values[last]), f"{s.name} {fmt(s.values[last])}", s.style.colour))
    ys = _spread([y for y, _, _ in label_rows], 15, top + 4, top + plot_h + 4)
    chart["label_x"] = left + plot_w + 8
    chart["labels"] = [
        # light colours are hard to read as text
        {"y": _f(y + 4), "text": text, "ink": INK if colour in (YELLOW, SKY_BLUE, ORANGE) else colour}
        for (_, text, colour), y in zip(label_rows, ys, strict=True)
    ]
    return chart


def _hatches(chart_id: str, series: Sequence[Series]) -> list[dict]:
    """The bar hatchings (SVG patterns) the series use: id, kind (diagonal or dots) and colour."""
    return [
        {"id": f"{chart_id}-hatch-{k}", "hatch": s.style.hatch, "colour": s.style.colour}
        for k, s in enumerate(series)
        if s.style.hatch in ("diagonal", "dots")
    ]


def bar_chart(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Callable[[float], str],
    shown: Callable[[int, int], str] | None = None,
    description: str = "",
    width: int = 660,
) -> dict:
    """Horizontal bars, one group per category and one bar per series, each bar's value written at its
    end; bars of the second and later series are hatched, so the series differ in print without colour.
    ``shown(series_index, category_index)`` may replace a written value (e.g. a suppressed count).
    Returns its geometry for the template (_charts.html.j2's ``bar_chart``)."""
    label_w = min(230, 12 + 6.6 * max((len(c) for c in categories), default=4))
    left, right, top = int(label_w), 70, 30 if len(series) > 1 else 8
    bar_h, inner_gap, group_gap = 14, 2, 10
    group_h = len(series) * (bar_h + inner_gap) - inner_gap
    height = top + len(categories) * (group_h + group_gap) + 8
    plot_w = width - left - right
    values = [v for s in series for v in s.values if v is not None]
    top_value = _nice_max(max(values, default=0))
    chart = _frame("bar", chart_id, title, description, width, height)
    chart |= {
        "left": left,
        "label_x": left - 8,
        "bar_h": bar_h,
        "axis_top": top - 2,
        "axis_bottom": height - 6,
    }
    chart["patterns"] = _hatches(chart_id, series)

    def fill(k: int, s: Series) -> str:
        return f"url(#{chart_id}-hatch-{k})" if s.style.hatch else s.style.colour

    chart["key"] = []
    if len(series) > 1:  # a key for the series: a swatch and its name
        x = left
        for k, s in enumerate(series):
            chart["key"].append(
                {"x": x, "text_x": x + 22, "fill": fill(k, s), "colour": s.style.colour, "name": s.name}
            )
            x += 40 + 7 * len(s.name)
    chart["groups"] = []
    for c, category in enumerate(categories):
        y0 = top + c * (group_h + group_gap)
        bars = []
        for k, s in enumerate(series):
            value = s.values[c] if c < len(s.values) else None
            y = y0 + k * (bar_h + inner_gap)
            w = plot_w * (value or 0) / top_value if top_value else 0
            bars.append(
                {
                    "drawn": bool(value),
                    "y": y,
                    "width": _f(max(w, 1)),
                    "fill": fill(k, s),
                    "colour": s.style.colour,
                    "name": s.name,
                    "value": fmt(value) if value else "",
                    "text_x": _f(left + w + 5),
                    "text_y": y + bar_h - 3,
                    "text": shown(k, c) if shown else (fmt(value) if value is not None else "–"),
                }
            )
        chart["groups"].append({"label": category, "label_y": _f(y0 + group_h / 2 + 4), "bars": bars})
    return chart
