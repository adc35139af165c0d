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
#: The modules that render a report from the rpt_ models (bmmr_explain explains a figure by its cases).
RENDERERS = ("bmmr_pack.py", "annual_report.py")


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


@pytest.mark.parametrize("module", RENDERERS)
def test_report_renderers_compute_no_ratio(module):
    tree = _tree(module)
    assert _divisions(tree) == [], (
        f"{module} divides figures at these lines: compute the rate in an rpt_ model"
    )
    functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert not functions & {"ratio", "rag", "derive"}, (
        f"{module} defines {functions & {'ratio', 'rag', 'derive'}}"
    )
    assert "ROUND_HALF_UP" not in (REPORTS_DIR / module).read_text(encoding="utf-8")


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
