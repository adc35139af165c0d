"""Catalogue entries for settings an operator mistypes: every one is a settings error (exit 2) naming the
setting, never a traceback and never a run on a guess."""

from __future__ import annotations

from .catalogue import BadInput, Exits, _cli

ENTRIES: tuple[BadInput, ...] = (
    BadInput(
        "setting-retention-years-superscript-digit",
        "settings",
        "cli",
        "`WAREHOUSE_RETENTION_YEARS=²` (a digit to Python's str.isdigit, not to int)",
        _cli("retention", "purge", "--dry-run", WAREHOUSE_RETENTION_YEARS="²"),
        Exits(2, "WAREHOUSE_RETENTION_YEARS='²' must be a whole number of years from 1 to 100"),
        notes="One whole-number parser serves every such setting (retention, suppression, Airflow's timeouts).",
    ),
    BadInput(
        "setting-report-templates-missing-folder",
        "settings",
        "cli",
        "`WAREHOUSE_REPORT_TEMPLATES` naming a folder that does not exist",
        _cli("report", "bmmr", WAREHOUSE_REPORT_TEMPLATES="/nonexistent/report-templates"),
        Exits(2, "WAREHOUSE_REPORT_TEMPLATES='/nonexistent/report-templates' is not a folder"),
    ),
    BadInput(
        "setting-expectations-dir-without-gx-project",
        "settings",
        "cli",
        "`WAREHOUSE_EXPECTATIONS_DIR` naming a folder with no Great Expectations project",
        _cli("validate", WAREHOUSE_EXPECTATIONS_DIR="/"),
        Exits(2, "holds no Great Expectations project"),
        notes="Great Expectations would otherwise make an empty project there and fail on the missing checkpoint.",
    ),
)
