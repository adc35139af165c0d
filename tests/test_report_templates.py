"""Report pages are Jinja2 templates with autoescape, and a council can brand them: a file in the folder
WAREHOUSE_REPORT_TEMPLATES names replaces the shipped file of the same name (no database needed)."""

from __future__ import annotations

import ast
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from markupsafe import Markup

from complaints_warehouse.reports import charts, formatting, ombudsman_benchmark, page
from complaints_warehouse.reports.formatting import Suppression
from complaints_warehouse.settings import SettingsError, load_settings

PAGE = {
    "title": "BMMR pack: <script>alert(1)</script>",
    "kicker": "Complaints & compliments",
    "lede": "Figures for O'Brien's directorate",
    "public": True,
    "body": Markup("<p id='made-by-code'>x</p>"),
    "footer": [("Figures", "published <v1>")],
    "data": {"note": "</script><script>alert(2)</script>"},
}


def test_values_are_escaped_and_only_markup_the_code_made_is_not():
    html = page.render_template("report.html.j2", **PAGE)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Complaints &amp; compliments" in html and "published &lt;v1&gt;" in html
    assert "<p id='made-by-code'>x</p>" in html  # the body the code rendered, kept as markup
    assert "alert(2)</script>" not in html  # the data block cannot end its script element
    assert html.count("</script>") == 1 and "<span class='badge public'>PUBLIC</span>" in html


def test_a_council_folder_replaces_a_template_and_keeps_the_others(tmp_path, monkeypatch):
    (tmp_path / "report.css").write_text(":root { --accent: #6a1b9a; } /* Anytown Borough Council */\n")
    branded = page.render_template("report.html.j2", tmp_path, **PAGE)
    assert "Anytown Borough Council" in branded and "--accent: #0072B2" not in branded
    shipped = page.render_template("report.html.j2", **PAGE)
    assert "--accent: #0072B2" in shipped and "Anytown" not in shipped
    # The shipped page around the council's styles: header, badge, footer and data block as ever.
    assert "<span class='badge public'>PUBLIC</span>" in branded and "id='report-data'" in branded

    # A council's own page: its logo, the figures and the data block; the reports' bodies still shipped.
    (tmp_path / "report.html.j2").write_text(
        "<html><body><img alt='Anytown logo'><h1>{{ title }}</h1>{% block body %}{{ body }}{% endblock %}"
        "<script type='application/json' id='report-data'>{{ data_json }}</script></body></html>\n"
    )
    page.environment.cache_clear()  # the loader had found the shipped page for this folder
    own = page.render_template("report.html.j2", tmp_path, **PAGE)
    assert own.startswith("<html><body><img alt='Anytown logo'>") and "&lt;script&gt;" in own

    monkeypatch.setenv("WAREHOUSE_REPORT_TEMPLATES", str(tmp_path))
    assert load_settings().report_templates_dir == tmp_path.resolve()


def test_a_template_folder_that_does_not_exist_is_a_settings_error(tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_REPORT_TEMPLATES", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="WAREHOUSE_REPORT_TEMPLATES=.*is not a folder"):
        load_settings()
    monkeypatch.delenv("WAREHOUSE_REPORT_TEMPLATES")
    assert load_settings().report_templates_dir is None


# --- No markup made in Python; the Ombudsman benchmark and the charts are templates too -----------------

REPORTS = Path(page.__file__).parent
#: An HTML or SVG element in a string of Python: markup that belongs in a template.
TAG = re.compile(
    r"</?(?:a|br|caption|circle|defs|desc|details|div|em|figure|figcaption|h[1-6]|line|p|pattern|polygon"
    r"|polyline|rect|script|section|span|strong|summary|svg|table|tbody|td|text|tfoot|th|thead|title|tr)\b",
    re.I,
)


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """The string literals and f-strings' literal parts of a module, docstrings left out."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_report_module_builds_markup_or_escapes_by_hand():
    modules = sorted(REPORTS.glob("*.py"))
    assert {"charts.py", "ombudsman_benchmark.py", "page.py", "bmmr_pack.py"} <= {m.name for m in modules}
    found = []
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        found += [f"{module.name}:{line}: {text!r}" for line, text in _strings(tree) if TAG.search(text)]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = {a.name for a in node.names}
                if names & {"esc", "escape"} or node.module in ("html", "xml.sax.saxutils"):
                    found.append(f"{module.name}:{node.lineno}: from {node.module} import {', '.join(names)}")
            elif isinstance(node, ast.Import) and {a.name for a in node.names} & {"html", "cgi"}:
                found.append(f"{module.name}:{node.lineno}: import html")
            elif isinstance(node, ast.Attribute) and node.attr in ("esc", "escape"):
                found.append(f"{module.name}:{node.lineno}: .{node.attr}")
    assert found == []
    assert not hasattr(formatting, "esc")
    # The check sees markup where it is: a string of an element is caught, "<5" (a suppressed count) is not.
    assert TAG.search("<td class='num'>") and TAG.search("</svg>") and not TAG.search("<5")
    assert [t for _, t in _strings(ast.parse('"""<svg> in a docstring"""\nx = f"<rect x={1}/>"\n'))] == [
        "<rect x=",
        "/>",
    ]


def _benchmark_figures(names: list[str]) -> dict:
    """Two years of the Ombudsman's figures for each of ``names``, their similar-authority averages and a
    reconciliation (no database: what ombudsman_benchmark.gather returns)."""
    benchmark, averages = [], []
    for year, caveat in (("2021/22", None), ("2022/23", "From 2022/23: a new investigation <process>")):
        for measure, council, similar in (
            ("uphold_rate_pct", Decimal(70), Decimal(80)),
            ("compliance_rate_pct", Decimal(100), Decimal(99)),
            ("satisfactory_remedy_rate_pct", Decimal(10), Decimal(12)),
            ("upheld_per_100k", Decimal("4.6"), None),
        ):
            for name in names:
                benchmark.append(
                    {
                        "authority_name": name,
                        "ons_code": "E10000099",
                        "similar_authority_group": "Counties <A&B>",
                        "financial_year": year,
                        "measure": measure,
                        "council_value": council,
                        "similar_authority_value": similar,
                        "difference": None,
                        "comparison": "better",
                        "recomputation": "differs",
                        "similar_authority_recomputed": None,
                        "similar_authority_recomputation": "group incomplete",
                        "caveat": caveat,
                    }
                )
            averages.append(
                {
                    "similar_authority_group": "Counties <A&B>",
                    "financial_year": year,
                    "measure": measure,
                    "councils_in_group": 2,
                    "councils_in_statistics": 1,
                    "councils": "; ".join(names),
                    "councils_missing": "<b>Elsewhere</b> County Council",
                    "published_average": similar,
                    "recomputed_average": council,
                    "recomputation": "differs",
                }
            )
    day = date(2023, 5, 2)
    reconciliation = [
        {
            "ombudsman_reference": "22 001 <ref>",
            "reconciliation_status": "only theirs",
            "our_decision": None,
            "their_decision": "upheld_maladministration",
            "our_decision_date": None,
            "their_decision_date": day,
            "decision_date_difference_days": None,
        },
        *(
            {
                "ombudsman_reference": f"22 00{k}",
                "reconciliation_status": "matched",
                "our_decision": "upheld",
                "their_decision": "upheld",
                "our_decision_date": day,
                "their_decision_date": day,
                "decision_date_difference_days": 0,
            }
            for k in range(2, 9)
        ),
    ]
    return {"councils": names, "benchmark": benchmark, "averages": averages, "reconciliation": reconciliation}


HOSTILE = "<script>alert('x')</script> Council"


def test_a_hostile_authority_name_is_escaped_on_the_benchmark_page_and_in_its_charts():
    html, data = ombudsman_benchmark.render(
        _benchmark_figures([HOSTILE, "Anytown Council"]), Suppression(False, 5)
    )
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    assert "<script>alert" not in html and html.count("<script") == 1  # the data block alone
    assert data["councils"][0] == HOSTILE  # the figures themselves are as recorded
    # The section heading, the overview's cell, a line chart's title and the overview chart's bar labels.
    assert f"<h2>{escaped} Council</h2>" in html
    assert f"<td>{escaped} Council<br><strong>2022/23</strong>" in html
    assert f"<title id='chart-0-0-title'>{escaped} Council: Uphold rate by year" in html
    assert f"text-anchor='end' fill='#1a1a1a'>{escaped} 2022/23</text>" in html
    # Every other value from the data: the group, a caveat, the members missing, a case reference.
    assert "Similar authorities: Counties &lt;A&amp;B&gt; councils." in html
    assert "new investigation &lt;process&gt;</span>" in html and "&lt;b&gt;Elsewhere&lt;/b&gt;" in html
    assert "<td>22 001 &lt;ref&gt;</td>" in html and "id='reconciliation-differences'" in html
    # Markup the templates make stays markup (not escaped twice): the caveat under the figure, the SVG.
    assert "70%<br><span class='caveat'>avg 80% · better · differs from its recomputation" in html
    assert (
        html.count("<svg class='chart'") == 2 + 4 * 2 + 1 and "&lt;svg" not in html and "&amp;lt;" not in html
    )


def test_a_chart_escapes_its_labels():
    chart = charts.bar_chart(
        "chart-x",
        "Cases by <directorate>",
        [HOSTILE],
        [charts.Series("Series & co", [3.0], charts.STYLES[0])],
        fmt=lambda v: f"<{int(v) + 2}",
    )
    svg = str(page.environment().get_template("_charts.html.j2").module.chart(chart))
    assert svg.startswith("<svg class='chart' id='chart-x'") and svg.endswith("</svg>")
    assert "<script>" not in svg and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Council</text>" in svg
    assert "<title id='chart-x-title'>Cases by &lt;directorate&gt;</title>" in svg
    assert "<title>Series &amp; co: &lt;5</title>" in svg and ">&lt;5</text>" in svg


def test_a_council_folder_replaces_the_benchmark_page_and_the_charts(tmp_path):
    shipped = REPORTS / "templates"
    (tmp_path / "ombudsman_benchmark.html.j2").write_text(
        (shipped / "ombudsman_benchmark.html.j2")
        .read_text()
        .replace("Similar authorities: {{ c.group }} councils.", "Anytown's comparators: {{ c.group }}."),
        encoding="utf-8",
    )
    (tmp_path / "_charts.html.j2").write_text(
        (shipped / "_charts.html.j2").read_text().replace("Arial, Helvetica, sans-serif", "Anytown Sans"),
        encoding="utf-8",
    )
    figures = _benchmark_figures([HOSTILE])
    branded, _ = ombudsman_benchmark.render(figures, Suppression(True, 5), tmp_path)
    assert "Anytown's comparators: Counties &lt;A&amp;B&gt;." in branded
    assert "font-family='Anytown Sans'" in branded and "font-family='Arial" not in branded
    assert "<script>alert" not in branded and "&lt;script&gt;alert(&#39;x&#39;)" in branded
    # Public: the case-by-case list is withheld, a count of 1 is suppressed.
    assert "<tr><td>Only theirs</td><td class='num'>&lt;5</td>" in branded
    assert (
        "in the internal version of this report only" in branded
        and "id='reconciliation-differences'" not in branded
    )
    plain, _ = ombudsman_benchmark.render(figures, Suppression(True, 5))
    assert "Similar authorities: Counties" in plain and "font-family='Arial, Helvetica, sans-serif'" in plain
    assert "Anytown" not in plain


def test_the_benchmark_says_so_when_every_case_both_records_hold_agrees():
    figures = _benchmark_figures(["Anytown Council"])
    figures["reconciliation"][0]["reconciliation_status"] = "only ours"
    html, _ = ombudsman_benchmark.render(figures, Suppression(False, 5))
    assert "<p class='empty'>Every case both records hold agrees.</p>" in html
    assert "id='reconciliation-differences'" not in html
