"""The reporting marts are validated: the GX suite ``reporting_totals`` (expectations/define.py) reads the rpt_
models the reports render and fails the nightly checkpoint when one of them no longer adds up, to
bmmr_monthly, to the published cells, or to its own counts. All real: the session's simulated council after
a clean nightly run (validated and published), copied; the doctored tables are changed by hand, as
something outside dbt would."""

from __future__ import annotations

import pytest

from complaints_warehouse import pipeline
from complaints_warehouse.validate import ValidationFailed

pytestmark = pytest.mark.slow

QUIET = {"echo": lambda line: None}
SUITE = "reporting_totals"
TREND = "The BMMR pack's trend (rpt_bmmr_provisional_months) is bmmr_monthly's months summed"
RATES = "Every rate of the BMMR pack's trend and figures is its numerator / denominator"
ANNUAL = "The annual report's representations received in a year (rpt_annual_report"
PACK = "The BMMR pack's figures (rpt_bmmr_pack_figures) are the published cells summed"
SCORECARD = "The BMMR pack's scorecard (rpt_bmmr_pack_scorecard) takes its numerators"


def test_the_clean_night_validated_every_reporting_check(after_simulated_night, sql):
    run_id = after_simulated_night.summary["run_id"]
    results = dict(
        sql(
            "select expectation, success from audit.validation_results where run_id = %s and suite = %s",
            (run_id, SUITE),
        )
    )
    assert len(results) == 5 and all(results.values()), results
    # Checked against something: the night published a month, so the pack's views hold figures.
    assert sql("select count(*) > 0 from marts.rpt_bmmr_pack_figures") == [(True,)]
    assert sql("select count(*) > 0 from marts.rpt_bmmr_pack_scorecard") == [(True,)]


def test_a_doctored_reporting_mart_fails_the_checkpoint(after_simulated_night, settings, warehouse, sql):
    # One month of the pack's trend counts one complaint too many; one rate of another is not its ratio;
    # one year of the annual report received one representation more than the BMMR's months.
    (month,) = sql(
        "select min(report_month) from marts.rpt_bmmr_provisional_months where complaints_received > 0"
    )[0]
    sql(
        "update marts.rpt_bmmr_provisional_months set complaints_received = complaints_received + 1 "
        "where report_month = %s",
        (month,),
    )
    sql(
        "update marts.rpt_bmmr_provisional_months set stage_1_within_timescale_pct = 100 - "
        "coalesce(stage_1_within_timescale_pct, 50) + 0.3 "
        "where report_month = (select max(report_month) from marts.rpt_bmmr_provisional_months)"
    )
    (key,) = sql(
        "select rpt_annual_report_key from marts.rpt_annual_report "
        "where section = '1 representations received' and procedure_code = 'all' and this_year > 0 "
        "order by rpt_annual_report_key limit 1"
    )[0]
    sql(
        "update marts.rpt_annual_report set this_year = this_year + 1 where rpt_annual_report_key = %s",
        (key,),
    )

    with pytest.raises(ValidationFailed) as failed:
        pipeline.step_validate(settings, warehouse, "doctored-reporting", **QUIET)
    named = {f["expectation"] for f in failed.value.summary.failed if f["suite"] == SUITE}
    assert {next(n for n in named if n.startswith(s)) for s in (TREND, RATES, ANNUAL)} == named, named
    assert "complaints_received" in str(failed.value) and month.isoformat() in str(failed.value)
    # The views over the published cells were not touched: their checks passed.
    passed = dict(
        sql(
            "select expectation, success from audit.validation_results where run_id = 'doctored-reporting' "
            "and suite = %s",
            (SUITE,),
        )
    )
    assert [ok for name, ok in passed.items() if name.startswith((PACK, SCORECARD))] == [True, True]
    # Every other suite still passed: only the reporting marts were doctored.
    assert sql(
        "select count(*) from audit.validation_results where run_id = 'doctored-reporting' "
        "and not success and suite <> %s",
        (SUITE,),
    ) == [(0,)]
