"""The dbt project's layers only look down, read from dbt's own manifest (``dbt parse``: no database).

    sources -> staging/<source> -> intermediate/{complaints,ombudsman,shared} -> marts/{complaints,ombudsman,shared}
            -> reporting/{complaints,ombudsman}

- a staging model reads its source tables only (no other model, no seed);
- every other model reads its own layer or the layers below (seeds count as staging); intermediate never
  reads a mart, a mart never a reporting model;
- raw data (raw_case_system, raw_ombudsman, raw_reference) enters through staging: above it, a model reaches
  a raw table only through the change-tracking macros, which read which cases a night's batches touched;
  the warehouse's own audit tables may be read from any layer;
- no model or macro names a raw or audit table by hand: each is a declared ``source()``, so dbt's lineage
  and docs show who reads it.

docs/architecture.md (The dbt project) describes the layers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
PACKAGE = "complaints_warehouse"

#: The layers, lowest first, and the domain folders each may have (staging: one folder per source).
LAYERS = ("staging", "intermediate", "marts", "reporting")
DOMAINS = {
    "intermediate": {"complaints", "ombudsman", "shared"},
    "marts": {"complaints", "ombudsman", "shared"},
    "reporting": {"complaints", "ombudsman"},
}
#: The schema each layer's relations are in (reporting stayed where BI tools, contracts and grants find it).
SCHEMAS = {"staging": "staging", "intermediate": "intermediate", "marts": "marts", "reporting": "marts"}
#: Reporting steps kept, as before, as views in schema intermediate: they read the facts, and only the
#: BMMR and `complaints-warehouse explain` read them.
INTERNAL_REPORTING = {
    "int_bmmr__figure_events",
    "int_bmmr__fact_counts",
    "int_bmmr__monthly_counts",
    "bmmr_figure_cases",
    "int_annual_report__fact_cells",
    "int_ombudsman__case_decisions",
}
RAW_SOURCES = {"case_system", "ombudsman", "reference"}
AUDIT_SOURCE = "warehouse_audit"
#: The macros that read raw batches to find the cases a night changed (and so give a model above staging a
#: raw source as a parent).
CHANGE_TRACKING = {"incremental_changes", "status_history_changes", "unlisted_service_area_cases"}
#: A raw or audit table named by hand, e.g. `raw_case_system.stages` or `audit.load_batches`.
NAMED_BY_HAND = re.compile(r"\b(raw_case_system|raw_ombudsman|raw_reference|audit)\.[a-z_{]", re.IGNORECASE)


@pytest.fixture(scope="module")
def manifest(dbt_manifest) -> dict:
    """dbt's manifest of the project as it is (``dbt parse``, once per session: conftest)."""
    return dbt_manifest


def models(manifest: dict) -> dict[str, dict]:
    return {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == PACKAGE
    }


def layer_of(manifest: dict, uid: str) -> str:
    """A model's layer is its folder under models/; a seed sits with staging, a snapshot with the marts."""
    node = manifest["nodes"].get(uid) or manifest["sources"][uid]
    kind = node["resource_type"]
    if kind == "source":
        return "source"
    if kind == "seed":
        return "staging"
    if kind == "snapshot":
        return "marts"
    return node["fqn"][1]


def parents(node: dict) -> list[str]:
    return node["depends_on"].get("nodes", [])


def test_every_model_sits_in_a_layer_and_a_domain_and_keeps_its_schema(manifest):
    misplaced, wrong_schema = [], []
    for node in models(manifest).values():
        layer, *rest = node["fqn"][1:-1] or ["(models/)"]
        domain = rest[0] if rest else None
        if layer not in LAYERS or (layer in DOMAINS and domain not in DOMAINS[layer]) or domain is None:
            misplaced.append(node["original_file_path"])
            continue
        expected = "intermediate" if node["name"] in INTERNAL_REPORTING else SCHEMAS[layer]
        if node["config"]["schema"] != expected:
            wrong_schema.append((node["name"], node["config"]["schema"], expected))
    assert misplaced == [], f"models outside models/<layer>/<domain>/: {misplaced}"
    assert wrong_schema == [], (
        f"relations that moved schema (BI, grants and contracts read them): {wrong_schema}"
    )
    names = {node["name"]: node for node in models(manifest).values()}
    assert layer_of(manifest, names["bmmr_monthly"]["unique_id"]) == "reporting"
    assert names["bmmr_monthly"]["config"]["materialized"] == "table"


def test_staging_reads_sources_only(manifest):
    wrong = [
        (node["name"], parent)
        for node in models(manifest).values()
        if layer_of(manifest, node["unique_id"]) == "staging"
        for parent in parents(node)
        if layer_of(manifest, parent) != "source"
    ]
    assert wrong == [], f"staging models reading something other than a source: {wrong}"


def test_every_layer_reads_only_itself_or_the_layers_below(manifest):
    upward = []
    for node in models(manifest).values():
        layer = layer_of(manifest, node["unique_id"])
        for parent in parents(node):
            below = layer_of(manifest, parent)
            if below != "source" and LAYERS.index(below) > LAYERS.index(layer):
                upward.append(f"{layer} {node['name']} -> {below} {parent.split('.')[-1]}")
    assert upward == [], "ref() up a layer:\n" + "\n".join(upward)


def test_intermediate_never_reads_a_mart_and_the_calendar_is_shared_below_both(manifest):
    by_name = {node["name"]: node for node in models(manifest).values()}
    for node in by_name.values():
        if layer_of(manifest, node["unique_id"]) == "intermediate":
            assert not [p for p in parents(node) if layer_of(manifest, p) in ("marts", "reporting")], node[
                "name"
            ]
    calendar = "model.complaints_warehouse.int_calendar__days"
    assert by_name["int_calendar__days"]["fqn"][1:3] == ["intermediate", "shared"]
    assert calendar in parents(by_name["dim_date"])
    assert calendar in parents(by_name["int_complaint_stages__working_days"])
    assert "model.complaints_warehouse.int_service_areas__versions" in parents(
        by_name["int_representations__service_area_versions"]
    )


def test_no_model_or_macro_names_a_raw_or_audit_table_by_hand(manifest):
    def code(text: str) -> str:  # without Jinja or SQL comments, which may name tables in prose
        text = re.sub(r"\{#.*?#\}", "", text, flags=re.DOTALL)
        return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))

    named = [
        (macro["name"], match.group(0))
        for macro in manifest["macros"].values()
        if macro["package_name"] == PACKAGE
        for match in NAMED_BY_HAND.finditer(code(macro["macro_sql"]))
    ] + [
        (node["name"], match.group(0))
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "snapshot") and node["package_name"] == PACKAGE
        for match in NAMED_BY_HAND.finditer(code(node["raw_code"]))
    ]
    assert named == [], f"raw or audit tables named by hand (use source()): {named}"

    declared = {(s["source_name"], s["name"]) for s in manifest["sources"].values()}
    called = {
        (match.group(1), match.group(2))
        for macro in manifest["macros"].values()
        if macro["package_name"] == PACKAGE
        for match in re.finditer(r"\bsource\(\s*'(\w+)'\s*,\s*'(\w+)'\s*\)", macro["macro_sql"])
    }
    assert {("warehouse_audit", "incremental_watermarks"), ("warehouse_audit", "load_batches")} <= called
    assert called <= declared, called - declared
    undocumented = [s["unique_id"] for s in manifest["sources"].values() if not s["description"].strip()]
    assert undocumented == [], undocumented


def test_the_lineage_shows_what_the_change_tracking_macros_read_and_raw_data_enters_through_staging(manifest):
    nodes = {node["name"]: node for node in manifest["nodes"].values() if node["package_name"] == PACKAGE}
    audit = f"source.{PACKAGE}.{AUDIT_SOURCE}"
    for name in ("fct_representations", "fct_payments", "representation_status_history"):
        read = set(parents(nodes[name]))
        assert f"source.{PACKAGE}.case_system.representations" in read, name
        assert {f"{audit}.incremental_watermarks", f"{audit}.load_batches"} <= read, name
    assert f"source.{PACKAGE}.case_system.representations" in parents(nodes["int_service_areas__versions"])
    # A test's parents stay the models it tests: the foreign keys are drawn from relationships tests
    # with exactly one parent besides the model (macro foreign_keys).
    sourced_tests = [
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and (node.get("attached_node") or "").startswith("model.")
        and any(p.startswith("source.") for p in parents(node))
    ]
    assert sourced_tests == []
    # Above staging, a raw table is a parent only through those macros, never a source() of the model's own.
    wrong = []
    for node in models(manifest).values():
        if layer_of(manifest, node["unique_id"]) == "staging":
            continue
        raw = [p for p in parents(node) if p.startswith("source.") and p.split(".")[2] in RAW_SOURCES]
        calls_source = re.search(r"\bsource\(\s*['\"](\w+)", node["raw_code"])
        # The warehouse's own tables (its audit ledger, its frozen publications) are not raw data.
        if calls_source and calls_source.group(1) not in {AUDIT_SOURCE, "published"}:
            wrong.append(f"{node['name']} calls source('{calls_source.group(1)}', ...) itself")
        macros = {m.split(".")[-1] for m in node["depends_on"].get("macros", [])}
        if raw and not macros & CHANGE_TRACKING:
            wrong.append(f"{node['name']} reads {raw} without a change-tracking macro")
    assert wrong == [], wrong


#: The April start of the financial year, as SQL writes it for a date: the year of the date less 3 months.
FINANCIAL_YEAR_RULE = re.compile(r"extract\(\s*year\s+from\s+[^)]*-\s*interval\s+'3 months'\s*\)", re.I)


def test_one_financial_year_macro():
    """The financial year (and its start) is worked out from a date in one macro (macros/financial_year.sql):
    no model or other macro writes the rule again, and no Python module does (the reports read the
    financial_year columns the models give them)."""
    macro = PROJECT_DIR / "macros" / "financial_year.sql"
    assert FINANCIAL_YEAR_RULE.search(macro.read_text())
    written = [
        str(path.relative_to(PROJECT_DIR))
        for folder in ("models", "macros")
        for path in sorted((PROJECT_DIR / folder).rglob("*.sql"))
        if path != macro and FINANCIAL_YEAR_RULE.search(path.read_text())
    ]
    assert written == []
    python_rule = re.compile(r"\.month\s*(<|>=)\s*4\b")
    package = PROJECT_DIR.parent / "complaints_warehouse"
    assert [str(p) for p in package.rglob("*.py") if python_rule.search(p.read_text())] == []
    # The scans can fail: the rule as annual_report.sql and formatting.py used to write it is found.
    assert FINANCIAL_YEAR_RULE.search("extract(year from event_date - interval '3 months')::int")
    assert python_rule.search("value.year - (1 if value.month < 4 else 0)")


def test_tables_rebuilt_whole_enforce_not_null_and_keys_as_constraints_not_tests(manifest):
    """A table model with an enforced contract declares not_null and its primary key as constraints,
    which PostgreSQL checks while the new table is filled (the old one stays if it fails), not as data
    tests that run after the swap; one node fewer per column each night (docs/architecture.md)."""
    tables = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
        and node["config"]["materialized"] == "table"
        and node["config"].get("contract", {}).get("enforced")
    }
    assert len(tables) > 20
    redundant = []
    for node in manifest["nodes"].values():
        kind = (node.get("test_metadata") or {}).get("name")
        model = tables.get(node.get("attached_node") or "")
        if node["resource_type"] != "test" or model is None or kind not in {"not_null", "unique"}:
            continue
        column = model["columns"].get(node["test_metadata"]["kwargs"].get("column_name"), {})
        constraints = {c["type"] for c in column.get("constraints", [])}
        if kind == "not_null" or "primary_key" in constraints:
            redundant.append(node["name"])
    assert redundant == []
    not_null = sum(
        any(c["type"] == "not_null" for c in column.get("constraints", []))
        for model in tables.values()
        for column in model["columns"].values()
    )
    assert not_null > 150
