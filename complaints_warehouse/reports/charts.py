"""Charts as inline SVG, drawn in Python: no script, no web font, nothing fetched, so a page prints and
opens offline exactly as written.

Readable without colour: the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies), and every series also has its own marker shape and dash pattern (or bar hatching), and
its name written beside it (direct labels rather than a legend to match by colour).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from complaints_warehouse.reports.formatting import esc

# Okabe & Ito (2008), "Color Universal Design".
BLACK, ORANGE, SKY_BLUE, BLUISH_GREEN = "#000000", "#E69F00", "#56B4E9", "#009E73"
YELLOW, BLUE, VERMILLION, REDDISH_PURPLE = "#F0E442", "#0072B2", "#D55E00", "#CC79A7"
GREY, GRID, INK = "#6b6b6b", "#d9d9d9", "#1a1a1a"
FONT = "font-family='Arial, Helvetica, sans-serif'"


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


def _marker(shape: str, x: float, y: float, colour: str, hollow: bool, size: float = 4.5) -> str:
    fill = "#ffffff" if hollow else colour
    common = f"fill='{fill}' stroke='{colour}' stroke-width='1.8'"
    if shape == "square":
        return f"<rect x='{x - size:.1f}' y='{y - size:.1f}' width='{2 * size:.1f}' height='{2 * size:.1f}' {common}/>"
    if shape == "triangle":
        s = size * 1.25
        return (
            f"<polygon points='{x:.1f},{y - s:.1f} {x + s:.1f},{y + s * 0.8:.1f} {x - s:.1f},{y + s * 0.8:.1f}' "
            f"{common}/>"
        )
    if shape == "diamond":
        s = size * 1.3
        return f"<polygon points='{x:.1f},{y - s:.1f} {x + s:.1f},{y:.1f} {x:.1f},{y + s:.1f} {x - s:.1f},{y:.1f}' {common}/>"
    return f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{size:.1f}' {common}/>"


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


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> str:
    return (
        f"<svg class='chart' id='{esc(chart_id)}' role='img' viewBox='0 0 {width} {height}' "
        f"width='100%' style='max-width:{width}px' preserveAspectRatio='xMinYMin meet' aria-labelledby='{esc(chart_id)}-title {esc(chart_id)}-desc' "
        f"xmlns='http://www.w3.org/2000/svg' {FONT}>"
        f"<title id='{esc(chart_id)}-title'>{esc(title)}</title><desc id='{esc(chart_id)}-desc'>{esc(description)}</desc>"
    )


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
) -> str:
    """A line chart with markers, dashed lines per series, each series named at its last point, and
    optional horizontal target lines and notes above given x positions (e.g. a caveat on a year)."""
    left, right, top, bottom = 46, 118, 26, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s.values if v is not None] + [t for t, _ in targets]
    top_value = y_max if y_max is not None else _nice_max(max(values, default=0) * 1.08)
    n = len(labels)

    def x_at(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n if n else 0)

    def y_at(v: float) -> float:
        return top + plot_h - plot_h * (min(v, top_value) / top_value if top_value else 0)

    parts = [_open(chart_id, title, description or title, width, height)]
    for k in range(5):  # grid and y axis
        v = top_value * k / 4
        y = y_at(v)
        parts.append(f"<line x1='{left}' x2='{left + plot_w}' y1='{y:.1f}' y2='{y:.1f}' stroke='{GRID}'/>")
        parts.append(
            f"<text x='{left - 6}' y='{y + 4:.1f}' font-size='11' text-anchor='end' fill='{INK}'>{esc(fmt(v))}</text>"
        )
    for i, label in enumerate(labels):  # x axis: "Mar" with the year under January and the first month
        month, _, year = label.partition(" ")
        x = x_at(i)
        parts.append(
            f"<text x='{x:.1f}' y='{top + plot_h + 16}' font-size='11' text-anchor='middle' fill='{INK}'>{esc(month)}</text>"
        )
        if year and (i == 0 or not labels[i - 1].endswith(year)):
            parts.append(
                f"<text x='{x:.1f}' y='{top + plot_h + 30}' font-size='11' text-anchor='middle' fill='{GREY}'>{esc(year)}</text>"
            )
    for index, note in (annotations or {}).items():
        x = x_at(index)
        parts.append(
            f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top}' y2='{top + plot_h}' stroke='{GREY}' stroke-dasharray='1 3'/>"
            f"<text x='{x:.1f}' y='{top - 8}' font-size='11' text-anchor='middle' fill='{INK}'>{esc(note)}</text>"
        )
    label_rows: list[tuple[float, str, str]] = []
    for value, name in targets:
        y = y_at(value)
        parts.append(
            f"<line class='target' x1='{left}' x2='{left + plot_w}' y1='{y:.1f}' y2='{y:.1f}' stroke='{BLACK}' "
            f"stroke-width='1.2' stroke-dasharray='2 2'/>"
        )
        label_rows.append((y, f"{name} {fmt(value)}", BLACK))
    for s in series:
        points = [(x_at(i), y_at(v)) if v is not None else None for i, v in enumerate(s.values)]
        runs, run = [], []
        for p in points:  # a missing value breaks the line
            if p is None:
                runs, run = runs + ([run] if run else []), []
            else:
                run.append(p)
        runs += [run] if run else []
        for r in runs:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in r)
            dash = f" stroke-dasharray='{s.style.dash}'" if s.style.dash else ""
            parts.append(
                f"<polyline class='series' points='{path}' fill='none' stroke='{s.style.colour}' stroke-width='2.4'{dash}/>"
            )
        for i, p in enumerate(points):
            if p is not None:
                hollow = bool(s.hollow[i]) if i < len(s.hollow) else False
                parts.append(_marker(s.style.marker, p[0], p[1], s.style.colour, hollow))
        last = max((i for i, v in enumerate(s.values) if v is not None), default=None)
        if last is not None:
            label_rows.append((y_at(s.values[last]), f"{s.name} {fmt(s.values[last])}", s.style.colour))
    ys = _spread([y for y, _, _ in label_rows], 15, top + 4, top + plot_h + 4)
    for (_, text, colour), y in zip(label_rows, ys, strict=True):
        ink = (
            INK if colour in (YELLOW, SKY_BLUE, ORANGE) else colour
        )  # light colours are hard to read as text
        parts.append(
            f"<text class='direct-label' x='{left + plot_w + 8}' y='{y + 4:.1f}' font-size='12' fill='{ink}'>{esc(text)}</text>"
        )
    parts.append(
        f"<line x1='{left}' x2='{left}' y1='{top}' y2='{top + plot_h}' stroke='{INK}'/>"
        f"<line x1='{left}' x2='{left + plot_w}' y1='{top + plot_h}' y2='{top + plot_h}' stroke='{INK}'/>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _hatch_defs(chart_id: str, series: Sequence[Series]) -> str:
    defs = []
    for k, s in enumerate(series):
        pid = f"{chart_id}-hatch-{k}"
        if s.style.hatch == "diagonal":
            defs.append(
                f"<pattern id='{pid}' patternUnits='userSpaceOnUse' width='6' height='6' patternTransform='rotate(45)'>"
                f"<rect width='6' height='6' fill='#ffffff'/><line x1='0' y1='0' x2='0' y2='6' stroke='{s.style.colour}' stroke-width='3'/></pattern>"
            )
        elif s.style.hatch == "dots":
            defs.append(
                f"<pattern id='{pid}' patternUnits='userSpaceOnUse' width='5' height='5'>"
                f"<rect width='5' height='5' fill='#ffffff'/><circle cx='2.5' cy='2.5' r='1.4' fill='{s.style.colour}'/></pattern>"
            )
    return f"<defs>{''.join(defs)}</defs>" if defs else ""


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
) -> str:
    """Horizontal bars, one group per category and one bar per series, each bar's value written at its
    end; bars of the second and later series are hatched, so the series differ in print without colour.
    ``shown(series_index, category_index)`` may replace a written value (e.g. a suppressed count)."""
    label_w = min(230, 12 + 6.6 * max((len(c) for c in categories), default=4))
    left, right, top = int(label_w), 70, 30 if len(series) > 1 else 8
    bar_h, inner_gap, group_gap = 14, 2, 10
    group_h = len(series) * (bar_h + inner_gap) - inner_gap
    height = top + len(categories) * (group_h + group_gap) + 8
    plot_w = width - left - right
    values = [v for s in series for v in s.values if v is not None]
    top_value = _nice_max(max(values, default=0))
    parts = [_open(chart_id, title, description or title, width, height), _hatch_defs(chart_id, series)]
    if len(series) > 1:  # a key for the series: a swatch and its name
        x = left
        for k, s in enumerate(series):
            fill = f"url(#{chart_id}-hatch-{k})" if s.style.hatch else s.style.colour
            parts.append(
                f"<rect x='{x}' y='6' width='16' height='12' fill='{fill}' stroke='{s.style.colour}' stroke-width='1.5'/>"
                f"<text x='{x + 22}' y='16' font-size='12' fill='{INK}'>{esc(s.name)}</text>"
            )
            x += 40 + 7 * len(s.name)
    for c, category in enumerate(categories):
        y0 = top + c * (group_h + group_gap)
        parts.append(
            f"<text x='{left - 8}' y='{y0 + group_h / 2 + 4:.1f}' font-size='12' text-anchor='end' fill='{INK}'>{esc(category)}</text>"
        )
        for k, s in enumerate(series):
            value = s.values[c] if c < len(s.values) else None
            y = y0 + k * (bar_h + inner_gap)
            w = plot_w * (value or 0) / top_value if top_value else 0
            fill = f"url(#{chart_id}-hatch-{k})" if s.style.hatch else s.style.colour
            if value:
                parts.append(
                    f"<rect class='bar' x='{left}' y='{y}' width='{max(w, 1):.1f}' height='{bar_h}' fill='{fill}' "
                    f"stroke='{s.style.colour}' stroke-width='1.2'><title>{esc(s.name)}: {esc(fmt(value))}</title></rect>"
                )
            text = shown(k, c) if shown else (fmt(value) if value is not None else "–")
            parts.append(
                f"<text x='{left + w + 5:.1f}' y='{y + bar_h - 3}' font-size='11' fill='{INK}'>{esc(text)}</text>"
            )
    parts.append(f"<line x1='{left}' x2='{left}' y1='{top - 2}' y2='{height - 6}' stroke='{INK}'/>")
    parts.append("</svg>")
    return "".join(parts)
