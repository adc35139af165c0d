"""A validation failure's way out without editing the database: a signed-off known issue, which lets
publication through only for the expectation and rows it names, only until it expires or is withdrawn,
and which the BMMR pack shows on its face. Real GX validations on a copy of the session's built warehouse
(``publication_fixtures``)."""

# ruff: noqa: F811 (the fixtures imported from publication_fixtures)
from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest
from publication_fixtures import LATEST_MONTH, QUIET, built, copy  # noqa: F401

from complaints_warehouse import known_issues, pipeline, publish
from complaints_warehouse.reports import bmmr_pack
from complaints_warehouse.validate import ValidationFailed

pytestmark = pytest.mark.slow

PERCENTAGES = (
    "Percentages are within 0-100 (the escalation rate, escalations per 100 Stage 1 answers, is only never "
    "negative)"
)
UNIQUE_KEYS = "Every fact's natural key is unique: a case, stage, remedy or payment is counted once"
REASON = "Stage 1 timescale double-counted for one team in March; corrected at source in April (INC-123)"
SIGNED_OFF_BY = "Jo Bloggs, Head of Governance"


def _break_a_percentage(copy, nth: int) -> tuple[str, object]:
    """Put one March BMMR percentage out of range (as a faulty build would); returns (bmmr_key, old value)."""
    key, old = copy.sql(
        "select bmmr_key, stage_1_within_timescale_pct from marts.bmmr_monthly "
        "where report_month = %s and period = 'month' order by bmmr_key offset %s limit 1",
        (LATEST_MONTH, nth),
    )[0]
    copy.sql("update marts.bmmr_monthly set stage_1_within_timescale_pct = 101 where bmmr_key = %s", (key,))
    return key, old


def _failed(copy, run_id: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as failed:
        pipeline.step_validate(copy.settings, copy.target, run_id, **QUIET)
    return failed.value


def test_a_known_issue_lets_publication_through_only_for_its_expectation_and_rows_until_it_expires(copy):
    expires = date.today() + timedelta(days=30)
    key, _ = _break_a_percentage(copy, 0)
    failure = _failed(copy, "test-broken")
    assert [f["expectation"] for f in failure.summary.failed] == [PERCENTAGES]
    assert "known issue" in str(failure)  # the way out is named

    # The latest failures, printed ready to sign off.
    listed = copy.cli("known-issue", "failures")
    assert listed.returncode == 0 and f'--row "bmmr_key={key}"' in listed.stdout

    # A known issue must name a real expectation and expire later.
    def add(*args: str):
        return copy.cli("known-issue", "add", "--reason", REASON, "--signed-off-by", SIGNED_OFF_BY, *args)

    unknown = add("--expectation", "Percentages", "--row", f"bmmr_key={key}", "--expires", f"{expires}")
    assert unknown.returncode == 2 and "Did you mean" in unknown.stderr, unknown
    past = add("--expectation", PERCENTAGES, "--row", f"bmmr_key={key}", "--expires", "2020-01-01")
    assert past.returncode == 2 and "must expire later" in past.stderr, past

    # One naming another row covers nothing of this failure.
    other, _ = copy.sql(
        "select bmmr_key, 0 from marts.bmmr_monthly where report_month = %s and period = 'month' "
        "and bmmr_key <> %s limit 1",
        (LATEST_MONTH, key),
    )[0]
    known_issues.add(
        copy.target,
        expectation=PERCENTAGES,
        rows=[{"bmmr_key": other}],
        reason="another row",
        signed_off_by=SIGNED_OFF_BY,
        expires_on=expires,
        recorded_by="test",
    )
    assert [f["expectation"] for f in _failed(copy, "test-other-row").summary.failed] == [PERCENTAGES]

    # Signed off for its row: the validation passes with the failure covered, and publication goes on.
    added = add("--expectation", PERCENTAGES, "--row", f"bmmr_key={key}", "--expires", f"{expires}")
    assert added.returncode == 0, added
    issue = int(added.stdout.split("#", 1)[1].split(":", 1)[0])
    summary = pipeline.step_validate(copy.settings, copy.target, "test-covered", **QUIET)
    assert summary["success"] and [c["expectation"] for c in summary["covered"]] == [PERCENTAGES]
    assert summary["covered"][0]["known_issues"] == [issue]

    # Only until it expires: on its expiry day it covers nothing.
    with pytest.raises(publish.PublicationRefused, match="not covered by an unexpired known issue"):
        publish.publish_month(copy.target, "test-covered", published_by="test", today=expires)
    published = publish.publish_month(copy.target, "test-covered", published_by="test")
    assert (published.status, published.version, published.known_issues) == ("published", 2, [issue])
    assert "despite known issue(s) #" in published.message

    # On the pack's face: which expectation, which rows, why, who signed it off, until when.
    [path] = bmmr_pack.write(copy.settings, copy.target)
    html = path.read_text()
    assert "Published despite 1 known issue(s)" in html
    for shown in (PERCENTAGES, f"bmmr_key={key}", REASON, SIGNED_OFF_BY):
        assert shown in html

    # The known issue is part of the published record: hiding it from the pack is tampering.
    with_issue = copy.cli("verify")
    assert with_issue.returncode == 0, with_issue

    # Anything else still blocks: a second row of the same expectation, and another expectation.
    _break_a_percentage(copy, 3)
    columns = [
        r[0]
        for r in copy.sql(
            "select column_name from information_schema.columns where table_schema = 'marts' "
            "and table_name = 'fct_representations' order by ordinal_position"
        )
    ]
    rest = ", ".join(columns[1:])
    copy.sql(
        f"insert into marts.fct_representations ({', '.join(columns)}) select 'duplicate-' || "
        f"representation_key, {rest} from marts.fct_representations order by representation_key limit 1"
    )
    blocked = _failed(copy, "test-more-failures")
    assert {PERCENTAGES, UNIQUE_KEYS} <= {f["expectation"] for f in blocked.summary.failed}
    with pytest.raises(publish.PublicationRefused, match="not covered"):
        publish.publish_month(copy.target, "test-more-failures", published_by="test")

    # Withdrawn: it stops covering at once; the record keeps both rows (append-only).
    withdrawn = copy.cli(
        "known-issue", "withdraw", str(issue), "--reason", "fixed at source", "--signed-off-by", SIGNED_OFF_BY
    )
    assert withdrawn.returncode == 0, withdrawn
    with pytest.raises(publish.PublicationRefused, match="not covered"):
        publish.publish_month(copy.target, "test-covered", published_by="test")
    listed = copy.cli("known-issue", "list", "--all")
    assert f"#{issue} [withdrawn]" in listed.stdout and "fixed at source" in listed.stdout
    with pytest.raises(psycopg.Error, match="append-only"):
        copy.sql("delete from audit.known_issues")
    assert copy.sql(
        "select action from audit.known_issues where issue_id = %s order by entry_id", (issue,)
    ) == [
        ("add",),
        ("withdraw",),
    ]

    # Removing the honoured known issue from the published record (to hide it from the pack) is found.
    copy.as_owner_bypassing_triggers("delete from published.known_issues_honoured")
    hidden = copy.cli("verify")
    assert hidden.returncode == 5 and "2024-03 version 2: its publication record" in hidden.stdout, hidden
