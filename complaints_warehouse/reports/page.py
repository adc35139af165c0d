"""The page every report shares: one self-contained HTML file (styles inline, charts as inline SVG, no
script but the figures' JSON data block), laid out to read on screen and to print on A4.

The data block (``<script type="application/json" id="report-data">``) carries every figure the page
shows, already suppressed when the page is public, so a reader's tool can take the figures without
scraping the tables.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from complaints_warehouse.reports.formatting import esc, uk_datetime

CSS = """
:root { --ink: #1a1a1a; --muted: #555; --rule: #c8c8c8; --panel: #f4f6f8; --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink); font: 15px/1.45 Arial, Helvetica, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 32px 40px; }
header.report { border-bottom: 4px solid var(--accent); padding-bottom: 12px; margin-bottom: 20px; }
header.report .kicker { text-transform: uppercase; letter-spacing: .06em; font-size: 12px; color: var(--muted); margin: 0; }
h1 { font-size: 28px; margin: 4px 0 6px; }
h2 { font-size: 20px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 16px; margin: 18px 0 6px; }
p.lede { margin: 0; color: var(--muted); }
p.note, .caveat { font-size: 13px; color: var(--muted); }
span.caveat { display: inline-block; max-width: 16em; font-size: 12px; }
td:first-child, #trend-table td, #directorate-table td { white-space: nowrap; }
#trend-table, #directorate-table { font-size: 12.5px; }
#trend-table th, #trend-table td, #directorate-table th, #directorate-table td { padding: 5px 6px; }
td:first-child span.caveat { white-space: normal; }
.badge { display: inline-block; font-size: 12px; font-weight: bold; padding: 2px 8px; border-radius: 3px;
  border: 1.5px solid var(--ink); margin-left: 8px; vertical-align: middle; }
.badge.public { background: #fff; }
.badge.internal { background: var(--ink); color: #fff; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.tile { background: var(--panel); border-left: 5px solid var(--accent); padding: 10px 12px 12px; break-inside: avoid; }
.tile .label { font-size: 13px; color: var(--muted); margin: 0 0 4px; min-height: 2.6em; }
.tile .value { font-size: 30px; font-weight: bold; margin: 0; line-height: 1.1; }
.tile .sub { font-size: 12.5px; color: var(--muted); margin: 6px 0 0; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 18px 24px; }
figure { margin: 0; break-inside: avoid; }
figcaption { font-weight: bold; font-size: 14px; margin: 0 0 4px; }
figure .note { margin: 4px 0 0; }
svg.chart { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 6px 0 4px; break-inside: auto; }
table.compact { width: auto; min-width: 460px; }
caption { text-align: left; font-weight: bold; font-size: 14px; padding: 4px 0; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--rule); vertical-align: top; }
thead th { border-bottom: 2px solid var(--ink); text-align: left; background: #fff; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafafa; }
tfoot td { font-weight: bold; border-top: 2px solid var(--ink); }
.rag { font-weight: bold; white-space: nowrap; padding: 2px 8px; border-radius: 3px; border: 1.5px solid; }
.rag.green { background: #d6efe6; border-color: #009E73; color: #004d38; }
.rag.amber { background: #fdf0cf; border-color: #E69F00; color: #5c3d00; }
.rag.red { background: #f8dccf; border-color: #D55E00; color: #6b2300; }
.rag.nodata { background: #fff; border-color: #999; color: #555; }
.empty { padding: 10px 12px; background: var(--panel); font-size: 14px; }
footer.report { margin-top: 34px; border-top: 1px solid var(--rule); padding-top: 10px; font-size: 12.5px; color: var(--muted); }
footer.report dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
footer.report dt { font-weight: bold; color: var(--ink); }
footer.report dd { margin: 0; }
@media (max-width: 760px) { .tiles { grid-template-columns: repeat(2, 1fr); } .charts { grid-template-columns: 1fr; } }
@media print {
  @page { size: A4; margin: 14mm; }
  body { font-size: 11pt; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  .tiles { grid-template-columns: repeat(4, 1fr); }
}
"""


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    sub: str = ""


def tiles(items: Sequence[Tile]) -> str:
    cells = "".join(
        f"<div class='tile'><p class='label'>{esc(t.label)}</p><p class='value'>{esc(t.value)}</p>"
        + (f"<p class='sub'>{esc(t.sub)}</p>" if t.sub else "")
        + "</div>"
        for t in items
    )
    return f"<div class='tiles'>{cells}</div>"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric: Sequence[bool] | None = None,
    caption: str = "",
    footer: Sequence[str] | None = None,
    table_id: str = "",
    raw_cells: bool = False,
) -> str:
    """A table of already formatted cells. ``numeric`` right-aligns columns; ``raw_cells`` lets cells
    carry markup made by the caller (e.g. a RAG badge), which must then be escaped by the caller."""
    numeric = numeric or [False] * len(headers)

    def cls(i: int) -> str:
        return " class='num'" if numeric[i] else ""

    def cell(tag: str, i: int, value: str) -> str:
        return f"<{tag}{cls(i)}>{value if raw_cells else esc(value)}</{tag}>"

    head = "".join(f"<th scope='col'{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    foot = (
        "<tfoot><tr>" + "".join(cell("td", i, v) for i, v in enumerate(footer)) + "</tr></tfoot>"
        if footer
        else ""
    )
    ident = f" id='{esc(table_id)}'" if table_id else ""
    ident += " class='compact'" if len(headers) <= 4 else ""
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table{ident}>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table>"


def figure(svg: str, caption: str, note: str = "") -> str:
    extra = f"<p class='note'>{esc(note)}</p>" if note else ""
    return f"<figure><figcaption>{esc(caption)}</figcaption>{svg}{extra}</figure>"


def section(title: str, body: str, section_id: str = "") -> str:
    ident = f" id='{esc(section_id)}'" if section_id else ""
    return f"<section{ident}><h2>{esc(title)}</h2>{body}</section>"


def empty(message: str) -> str:
    return f"<p class='empty'>{esc(message)}</p>"


def data_block(data: dict) -> str:
    """The figures as JSON inside the page; "</" is escaped so no value can end the script element."""
    text = json.dumps(data, indent=1, ensure_ascii=False, default=str).replace("</", "<\\/")
    return f"<script type='application/json' id='report-data'>{text}</script>"


def render(
    *,
    title: str,
    kicker: str,
    lede: str,
    public: bool,
    body: str,
    footer: Sequence[tuple[str, str]],
    data: dict,
) -> str:
    """The whole page: header (with a public or internal badge), body, footer facts and the data block."""
    badge = (
        "<span class='badge public'>PUBLIC</span>"
        if public
        else "<span class='badge internal'>INTERNAL – NOT FOR PUBLICATION</span>"
    )
    generated = datetime.now(UTC)
    facts = list(footer) + [("Generated", f"{uk_datetime(generated)} UTC by complaints-warehouse")]
    foot = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    return (
        "<!DOCTYPE html>\n<html lang='en-GB'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<meta name='generator' content='complaints-warehouse'><title>{esc(title)}</title>"
        f"<style>{CSS}</style></head><body><main>"
        f"<header class='report'><p class='kicker'>{esc(kicker)}</p><h1>{esc(title)}{badge}</h1>"
        f"<p class='lede'>{esc(lede)}</p></header>"
        f"{body}<footer class='report'><dl>{foot}</dl></footer>{data_block(data)}</main></body></html>\n"
    )
