"""docs/star-schema.md is generated from the dbt YAML (scripts/star_schema_doc.py): it must not go stale."""

from __future__ import annotations

import importlib.util

from complaints_warehouse.settings import PROJECT_DIR


def _generator():
    spec = importlib.util.spec_from_file_location(
        "star_schema_doc", PROJECT_DIR / "scripts" / "star_schema_doc.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_star_schema_page_is_what_the_yaml_generates():
    generator = _generator()
    assert generator.DOC.read_text() == generator.render(), (
        "docs/star-schema.md is stale: run `make star-schema-doc` (python scripts/star_schema_doc.py)"
    )


def test_the_page_lists_every_fact_with_its_foreign_keys():
    text = _generator().render()
    for fact in ("fct_representations", "fct_complaint_stages", "fct_remedies", "fct_payments"):
        assert f"### `{fact}`" in text
    assert "| `service_area_key` | text |  | The service area version" not in text  # keys are shown
    assert "-> dim_service_area.service_area_key" in text
    assert "dim_procedure ||--o{ fct_complaint_stages" in text
