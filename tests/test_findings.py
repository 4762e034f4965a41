"""findings.outcome is the one outcome rule (spec/findings.md), with reasons and not_checked."""
from datetime import datetime, timezone

import pytest

from sfdoctor import __version__, findings
from sfdoctor.findings import Finding, RunResult


def _f(status, *, unexplained=False, summary="", cid="c"):
    return Finding(id=cid, title=f"Check {cid}", status=status, summary=summary, unexplained=unexplained)


def test_unexplained_symptom_is_never_healthy():
    checks = [_f("pass", cid="a"), _f("warn", unexplained=True, summary="143 logins refused", cid="b")]
    assert findings.outcome(checks) == "inconclusive"
    lines = findings.reasons(checks, "en")
    assert lines == ["Check b: 143 logins refused (not explained by any check)"]
    assert "143" in findings.reasons(checks, "ja")[0]


def test_a_fail_explains_the_symptom():
    checks = [_f("warn", unexplained=True, cid="a"), _f("fail", cid="b")]
    assert findings.outcome(checks) == "problems_found"
    assert findings.reasons(checks, "en") == []


def test_error_is_a_reason_and_manual_is_not_checked():
    checks = [_f("error", summary="HTTP 500", cid="a"), _f("manual", cid="m")]
    assert findings.outcome(checks) == "inconclusive"
    assert findings.reasons(checks, "en") == ["Check a could not run: HTTP 500"]
    assert findings.not_checked(checks) == ["m"]


def test_healthy_with_unanswered_manual_steps():
    checks = [_f("pass", cid="a"), _f("manual", cid="m")]
    assert findings.outcome(checks) == "healthy"
    assert findings.reasons(checks, "en") == []


def test_findings_json_carries_version_reasons_and_flag_only_where_it_holds():
    result = RunResult(runbook="r", org="demo", lang="en", started_at=datetime.now(timezone.utc),
                       checks=[_f("pass", cid="a"), _f("warn", unexplained=True, summary="x", cid="b")])
    data = result.to_json()
    assert data["sfdoctor_version"] == __version__
    assert data["outcome"] == "inconclusive" and data["reasons"] and data["not_checked"] == []
    assert "unexplained" not in data["checks"][0] and data["checks"][1]["unexplained"] is True
    assert Finding.from_json(data["checks"][1]).unexplained is True


@pytest.mark.parametrize("data, line", [
    ({"outcome": "healthy", "root_causes": []}, "Healthy: no check failed"),
    ({"outcome": "problems_found", "root_causes": ["TOKEN_MISSING"]}, "Problems found: TOKEN_MISSING"),
    ({"outcome": "problems_found", "root_causes": ["PASSWORD_INVALID"],
      "checks": [{"status": "fail", "cause": "PASSWORD_INVALID", "summary": "sync@acme.example is locked out."}]},
     "Problems found: PASSWORD_INVALID (sync@acme.example is locked out)"),
    ({"outcome": "inconclusive", "root_causes": [], "reasons": ["A could not run: timeout"]},
     "Inconclusive: A could not run: timeout"),
    ({"outcome": "healthy", "root_causes": [], "not_checked": ["mc-login"],
      "checks": [{"id": "mc-login", "status": "manual", "title": "Log in as the integration user"}]},
     "Healthy: no check failed, except what was not checked: Log in as the integration user"),
])
def test_done_line_never_ends_in_a_dash(data, line):
    assert findings.done_line(data, "en") == line
