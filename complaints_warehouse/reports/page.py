"""The page every report shares: one self-contained HTML file (styles inline, charts as inline SVG, no
script but the figures' JSON data block), laid out to read on screen and to print on A4.

Pages are Jinja2 templates (``templates/``, autoescaped): ``report.html.j2`` is the page, ``_macros.html.j2``
its blocks (tiles, tables, figures, sections), and each report has its own (``bmmr_pack.html.j2``...). A
council brands them with the setting WAREHOUSE_REPORT_TEMPLATES: a file in that folder named like one here
is used instead (``environment``). Charts are drawn by ``_charts.html.j2`` from the geometry charts.py
works out. No markup is made in Python: every value reaches a template as text and is escaped there.

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


def _page_facts(footer: Sequence[tuple[str, str]], data: dict) -> dict:
    generated = datetime.now(UTC)
    return {
        "footer": [*footer, ("Generated", f"{uk_datetime(generated)} UTC by complaints-warehouse")],
        "data_json": data_json(data),
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


def data_json(data: dict) -> Markup:
    """The figures as JSON for the page's data block (report.html.j2 puts it in
    ``<script type="application/json" id="report-data">``); every "<" is escaped (as JSON's \\u003c) so no
    value can end the script element or open a comment in it. Markup: the JSON goes in as it is (a script
    element's text is not HTML, so autoescape's entities would only corrupt it)."""
    return Markup(json.dumps(data, indent=1, ensure_ascii=False, default=str).replace("<", "\\u003c"))
