"""The page every report shares: one self-contained HTML file (styles inline, charts as inline SVG, no
script but the figures' JSON data block), laid out to read on screen and to print on A4.

Pages are Jinja2 templates (``templates/``, autoescaped): ``report.html.j2`` is the page, ``_macros.html.j2``
its blocks (tiles, tables, figures, sections), and each report has its own (``bmmr_pack.html.j2``...). A
council brands them with the setting WAREHOUSE_REPORT_TEMPLATES: a file in that folder named like one here
is used instead (``environment``). The functions below render the same blocks for code that builds a page
piece by piece.

The data block (``<script type="application/json" id="report-data">``) carries every figure the page
shows, already suppressed when the page is public, so a reader's tool can take the figures without
scraping the tables.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from complaints_warehouse.reports.formatting import uk_datetime

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The pages' styles (templates/report.css, included by report.html.j2).
CSS = (TEMPLATES / "report.css").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    sub: str = ""


@cache
def environment(council_dir: Path | None = None) -> jinja2.Environment:
    """The templates, autoescaped; those in ``council_dir`` (WAREHOUSE_REPORT_TEMPLATES) first."""
    folders = [str(council_dir)] if council_dir else []
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([*folders, str(TEMPLATES)]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _macro(name: str):
    return getattr(environment().get_template("_macros.html.j2").module, name)


def _page_facts(footer: Sequence[tuple[str, str]], data: dict) -> dict:
    generated = datetime.now(UTC)
    return {
        "footer": [*footer, ("Generated", f"{uk_datetime(generated)} UTC by complaints-warehouse")],
        "data_block": Markup(data_block(data)),
    }


def render_template(name: str, council_dir: Path | None = None, **context) -> str:
    """A report's page from its template (e.g. ``bmmr_pack.html.j2``); ``context`` needs title, kicker,
    lede, public, footer (pairs) and data (the data block's figures) besides the report's own."""
    from complaints_warehouse.settings import SettingsError

    facts = _page_facts(context.pop("footer"), context.pop("data"))
    try:
        return environment(council_dir).get_template(name).render(**context, **facts)
    except jinja2.TemplateError as exc:  # a council's own template (WAREHOUSE_REPORT_TEMPLATES) is config
        where = getattr(exc, "filename", None) or getattr(exc, "name", None) or name
        line = f", line {exc.lineno}" if getattr(exc, "lineno", None) else ""
        raise SettingsError(
            f"The report template {where}{line} cannot be rendered: {exc.message or exc}. Fix it, or remove it "
            "from WAREHOUSE_REPORT_TEMPLATES to use the template shipped."
        ) from exc


def tiles(items: Sequence[Tile]) -> str:
    return str(_macro("tiles")(items))


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

    def cells(row):
        return [Markup(v) if raw_cells else v for v in row] if row else row

    spec = {
        "headers": headers,
        "rows": [cells(r) for r in rows],
        "numeric": numeric,
        "caption": caption,
        "footer": cells(footer),
        "table_id": table_id,
    }
    return str(_macro("table")(spec))


def figure(chart: dict, caption: str, note: str = "") -> str:
    return str(_macro("figure")({"chart": chart, "caption": caption, "note": note}))


def section(title: str, body: str, section_id: str = "") -> str:
    return str(_macro("section")(title, section_id, caller=lambda: Markup(body)))


def empty(message: str) -> str:
    return str(_macro("empty")(message))


def data_block(data: dict) -> str:
    """The figures as JSON inside the page; every "<" is escaped (as JSON's \\u003c) so no value can end
    the script element or open a comment in it."""
    text = json.dumps(data, indent=1, ensure_ascii=False, default=str).replace("<", "\\u003c")
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
    """The whole page (report.html.j2): header (with a public or internal badge), body, footer facts and
    the data block."""
    return render_template(
        "report.html.j2",
        title=title,
        kicker=kicker,
        lede=lede,
        public=public,
        body=Markup(body),
        footer=footer,
        data=data,
    )
