"""Report modules select and render; the reporting models (dbt_project/models/reporting, rpt_*) compute.

Read from the source, no database: no report module's SQL reads ``staging.`` (reports read marts and
published figures), and the modules that render the BMMR pack and the annual report divide no figure
(every rate, like every sum and RAG rating, comes from an rpt_ model). Also: the BMMR's measure and key
lists have one definition (the dbt macro), which Python reads rather than copies.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from complaints_warehouse import bmmr_measures
from complaints_warehouse.reports import bmmr_pack

REPORTS_DIR = Path(__file__).resolve().parents[1] / "complaints_warehouse" / "reports"
#: The modules that render a report from the rpt_ models, and bmmr_explain, which explains a published
#: figure by its cases: its percentages are computed by PostgreSQL with the models' macro (bmmr_ratio).
RENDERERS = ("bmmr_pack.py", "annual_report.py", "bmmr_explain.py")
#: Names a Python ratio or rating went by, and the arithmetic of one.
RATIO_FUNCTIONS = {"ratio", "_ratio", "rate", "_rate", "rag", "_rag", "derive", "_derive"}
RATIO_ARITHMETIC = ("ROUND_HALF_UP", "ROUND_HALF_EVEN", ".quantize(", "Decimal(100)", 'Decimal("100")')


def _tree(name: str) -> ast.Module:
    return ast.parse((REPORTS_DIR / name).read_text(encoding="utf-8"), filename=name)


def _strings(tree: ast.Module) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


@pytest.mark.parametrize("module", sorted(p.name for p in REPORTS_DIR.glob("*.py")))
def test_no_report_module_reads_staging(module):
    found = [(line, text) for line, text in _strings(_tree(module)) if "staging." in text.lower()]
    assert found == [], f"{module} reads staging (read the marts or an rpt_ model): {found}"


def _divisions(tree: ast.Module) -> list[int]:
    """Lines dividing numbers: ``a / b``, ``a // b``, ``a /= b`` (a path joined with a string is not one)."""

    def is_text(node) -> bool:
        return isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.Constant) and isinstance(node.value, str)
        )

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Div | ast.FloorDiv):
            right = node.right if isinstance(node, ast.BinOp) else node.value
            if not is_text(right):
                found.append(node.lineno)
    return found


#: Report modules that divide, and what: never a figure.
GEOMETRY = {
    "charts.py": "pixel positions and bar widths of the SVG charts, from figures already computed",
    "__init__.py": "add_months: calendar arithmetic (a month index into a year and a month)",
}
#: The one module that rounds, and why: it shows a figure already computed to so many places.
DISPLAY_ROUNDING = {"formatting.py": "a figure shown to 0, 1 or 2 places, half up, as people round"}


@pytest.mark.parametrize("module", sorted(p.name for p in REPORTS_DIR.glob("*.py")))
def test_no_report_module_computes_a_ratio(module):
    tree = _tree(module)
    if module not in GEOMETRY:
        assert _divisions(tree) == [], (
            f"{module} divides figures at these lines: compute the rate in an rpt_ model"
        )
    functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert not functions & RATIO_FUNCTIONS, f"{module} defines {functions & RATIO_FUNCTIONS}"
    text = (REPORTS_DIR / module).read_text(encoding="utf-8")
    if module not in DISPLAY_ROUNDING:
        assert [a for a in RATIO_ARITHMETIC if a in text] == [], f"{module} rounds a figure in Python"


def test_the_ratio_checks_find_the_ratio_explain_had():
    """What bmmr_explain computed before its percentages moved to SQL fails every check above."""
    old = (
        "def _ratio(numerator, denominator):\n"
        "    if numerator is None or not denominator:\n"
        "        return None\n"
        "    return (Decimal(100) * Decimal(numerator) / Decimal(denominator)).quantize(Decimal('0.1'))\n"
    )
    tree = ast.parse(old)
    assert _divisions(tree) == [4]
    assert {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)} & RATIO_FUNCTIONS == {"_ratio"}
    assert [a for a in RATIO_ARITHMETIC if a in old] == [".quantize(", "Decimal(100)"]


def test_explain_takes_its_percentages_from_the_ratio_macro():
    from complaints_warehouse.reports import bmmr_explain

    assert bmmr_measures.ratio_sql("n", "d") == "round(100.0 * n / nullif(d, 0), 1)"
    text = (REPORTS_DIR / "bmmr_explain.py").read_text(encoding="utf-8")
    assert "bmmr_measures.ratio_sql" in text
    # The rates bmmr_monthly publishes, from the macro its SQL loops over; the reporting models' are the
    # same fractions (the escalation rate under its reporting name), and upheld_pct besides.
    assert bmmr_explain.RATIOS == bmmr_measures.MONTHLY_RATES
    assert len(bmmr_explain.RATIOS) == 5 and "escalation_rate_stage_1_to_2_pct" in bmmr_explain.RATIOS
    assert set(bmmr_measures.MONTHLY_RATES.values()) <= set(bmmr_measures.RATES.values())


def test_every_renderer_is_scanned_for_divisions():
    assert set(RENDERERS) <= {p.name for p in REPORTS_DIR.glob("*.py")} - set(GEOMETRY)
    assert set(GEOMETRY) <= {p.name for p in REPORTS_DIR.glob("*.py")}


def test_the_division_scan_finds_a_ratio():
    """The scan above can fail: a ratio like the one bmmr_pack had is found; a path join is not."""
    assert _divisions(ast.parse("x = 100 * a / b\ny = folder / f'{name}.html'\nz = p / 'x'")) == [1]
    assert _divisions(ast.parse("total /= count")) == [1]


def test_the_measure_and_key_lists_are_the_dbt_macros_not_copies():
    macros = (
        Path(__file__).resolve().parents[1] / "dbt_project" / "macros" / "bmmr_measures.sql"
    ).read_text()
    for name in (*bmmr_measures.COUNTS, *bmmr_measures.AMOUNTS, *bmmr_measures.KEY_COLUMNS):
        assert f"'{name}'" in macros
    assert bmmr_pack.COUNTS is bmmr_measures.COUNTS and bmmr_pack.AMOUNTS is bmmr_measures.AMOUNTS
    assert "stage_2_escalations" in bmmr_measures.COUNTS and "bmmr_key" in bmmr_measures.KEY_COLUMNS
    # Nothing else in Python spells the key list out.
    root = Path(__file__).resolve().parents[1]
    spelled = '"bmmr_key", "report_month", "financial_year", "period"'
    copies = [
        str(p.relative_to(root))
        for folder in ("complaints_warehouse", "expectations")
        for p in (root / folder).rglob("*.py")
        if spelled in p.read_text(encoding="utf-8")
    ]
    assert copies == []
