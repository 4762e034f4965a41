"""RunSession: timing, exceptions as error findings, display bundles, a failed connection."""
from __future__ import annotations

from pathlib import Path

import pytest

from simple_salesforce.exceptions import SalesforceExpiredSession

from sfdoctor import session as session_mod
from sfdoctor.errors import CheckError
from sfdoctor.marketo import MarketoApiError
from sfdoctor.findings import API_CALLS_METADATA, MIMETYPE, RUN_MIMETYPE
from sfdoctor.report import CONTEXT_MIMETYPE
from sfdoctor.runbooks import load
from sfdoctor.session import RunSession, describe_exception

FIXTURE_RUNBOOKS = Path(__file__).parent / "fixtures" / "home" / "runbooks"


class Shown(list):
    """The bundles a session displayed, and beside them each output's metadata."""

    def __init__(self) -> None:
        super().__init__()
        self.metadata: list[dict] = []

    def __call__(self, bundle: dict, metadata: dict | None = None) -> None:
        self.append(bundle)
        self.metadata.append(metadata or {})


@pytest.fixture()
def shown(monkeypatch):
    bundles = Shown()
    monkeypatch.setattr(session_mod, "_display", bundles)
    return bundles


@pytest.fixture()
def spec():
    return load("fixture-probe", FIXTURE_RUNBOOKS)


def _passing(conn, spec, *, lang):
    return [spec.finding("probe", "pass", lang, evidence={"edition": "Group Edition"})]


def test_check_records_times_and_displays(shown, spec):
    run = RunSession.open(spec, "demo", "ja", {"mode": "healthy", "password": "hunter22"}, connect=False)
    found = run.check(_passing, spec)
    assert found[0].status == "pass" and found[0].duration_ms >= 0
    card = shown[0]
    assert set(card) == {"text/html", MIMETYPE, "text/plain"}
    assert shown.metadata[0] == {API_CALLS_METADATA: 0}   # no connection: nothing spent
    assert "フィクスチャを検査" in card["text/html"] and card[MIMETYPE]["id"] == "probe"
    result = run.finish()
    assert result.outcome == "healthy" and result.lang == "ja"
    assert "password" not in result.parameters and result.parameters["mode"] == "healthy"
    final = shown[-1]
    assert final[RUN_MIMETYPE]["schema"] == "sfdoctor.findings/1"
    assert final[RUN_MIMETYPE]["checks"][0]["id"] == "probe"
    assert final[CONTEXT_MIMETYPE]["edition"] == "Group Edition"
    assert "hunter22" not in repr(shown)


def test_exception_becomes_error_finding_without_secret(shown, spec):
    run = RunSession.open(spec, "demo", "en", {"password": "hunter22"}, connect=False)

    def broken(conn, *, lang):
        raise SalesforceExpiredSession("https://acme.my.salesforce.com/?token=hunter22", 401, "query",
                                       [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}])

    found = run.check(broken, check_id="probe")
    f = found[0]
    assert f.status == "error" and f.id == "probe" and f.title == "Probe the fixture"
    assert f.evidence["http_status"] == 401 and f.evidence["code"] == "INVALID_SESSION_ID"
    assert "hunter22" not in repr(f.to_json())
    assert run.finish().outcome == "inconclusive"


def test_timeout_is_named():
    reason, evidence = describe_exception(TimeoutError("read timed out after 30 s"))
    assert evidence["timeout"] is True and "30 s" in reason


def test_our_own_error_is_said_in_the_runs_language():
    """A check that meets a configuration error (say, a probe's variable unset) records it in the
    run's language: message only, as for a plain-words error (the hint is the CLI's to show)."""
    from sfdoctor.errors import OrgConfigError
    from sfdoctor.i18n import Text

    exc = OrgConfigError(Text("orgs.secret.env_unset", env="X_PW", where="orgs.p.probe.password_env"),
                         hint=Text("orgs.secret.env_unset_hint", env="X_PW"))
    assert describe_exception(exc, lang="ja")[0] == "環境変数 X_PW が設定されていません (orgs.p.probe.password_env)"
    assert describe_exception(exc)[1] == {"exception": "OrgConfigError",
                                          "reason": "environment variable X_PW is not set (orgs.p.probe.password_env)"}


@pytest.mark.parametrize("exc, evidence", [
    (CheckError("LoginHistory could not be read: REQUEST_LIMIT_EXCEEDED"),
     {"exception": "CheckError", "reason": "LoginHistory could not be read: REQUEST_LIMIT_EXCEEDED"}),
    (CheckError("Marketo is busy", code="606"), {"exception": "CheckError", "code": "606", "reason": "Marketo is busy"}),
    (MarketoApiError("607", "Daily quota reached", "/rest/v1/leads.json"),
     {"exception": "MarketoApiError", "code": "607", "reason": "Daily quota reached"}),
    (ValueError("bad value"), {"exception": "ValueError", "reason": "bad value"}),
])
def test_error_types_table_says_status_code_and_words(exc, evidence):
    """One table maps an exception's type to what it says; a type not in it says its words only."""
    assert describe_exception(exc)[1] == evidence


def test_failed_connection_still_finishes_inconclusive(shown, spec, monkeypatch, tmp_path):
    monkeypatch.setenv("SFDOCTOR_ORGS", str(tmp_path / "none.toml"))
    run = RunSession.open(spec, "no-such-org", "en", {})
    assert run.conn is None and run.connect_error
    assert run.findings[0].id == "connect" and run.findings[0].status == "error"
    later = run.check(_passing, spec, check_id="probe")
    assert later[0].status == "skip"
    result = run.finish()
    assert result.outcome == "inconclusive" and result.exit_code == 3


def test_check_returning_wrong_type_is_an_error(shown, spec):
    run = RunSession.open(spec, "demo", "en", {}, connect=False)
    found = run.check(lambda conn, *, lang: ["not a finding"], check_id="probe")
    assert found[0].status == "error" and found[0].evidence["exception"] == "TypeError"


def test_a_cause_fix_is_shown_once_then_referred_to(shown, spec):
    """The first card with a cause shows its fix; later cards with that cause point back to it."""
    run = RunSession.open(spec, "demo", "en", {}, connect=False)

    def two_failures(conn, *, lang):
        return [spec.finding("probe", "fail", lang, cause="FIXTURE_BROKEN", evidence={"n": 1}),
                spec.finding("leak", "fail", lang, cause="FIXTURE_BROKEN", evidence={"n": 2})]

    run.check(two_failures)
    first, second = (b["text/html"] for b in shown[:2])
    step = "1. Open the fixture.</div>"
    assert step in first and step not in second
    assert "the same steps as check “Probe the fixture” above" in second
    assert "text-align:left" in first  # the card styles itself: JupyterLab has no report.css
    assert all(f.fix for f in run.findings)  # findings.json keeps every fix


@pytest.mark.parametrize("runbook, scenario, attempts", [
    # two SOAP login() probes; sfdoctor's own OAuth token is not one of them
    ("security-token-required", "token-missing", 2),
    # from a Data Cloud address, then from this machine: the simulated user logins count,
    # sfdoctor's own OAuth token and the installed package's /v2/token do not
    ("mc-missing-oauth-token", "mc-ip-not-allowlisted", 2),
    # a locked user is read, never tried
    ("mc-missing-oauth-token", "mc-user-locked", 0),
])
def test_login_attempts_count_only_the_credentials_under_diagnosis(runbook, scenario, attempts):
    from sfdoctor import registry


    run = RunSession.open(runbook, f"demo:{scenario}", "en", {}, display=False)
    assert run.connect_error is None
    book = registry.get(runbook)
    book.run_all(run, book.facts.from_params(run.conn))
    tried = [f.evidence.get("login_attempts") for f in run.findings if "login_attempts" in f.evidence]
    assert max(tried) == attempts                                     # what the login checks say
    assert run.context()["login_attempts"] == attempts                # what the report says
    assert run.conn.counter.by_endpoint["POST /services/oauth2/token"] == 1   # sfdoctor's own sign-in: made, not counted
    assert run.conn.counter.snapshot()["probe_logins"] == attempts


@pytest.mark.parametrize("lang, words", [("en", "Login probe held back"), ("ja", "ログインテストの保留")])
def test_a_held_probe_leaves_the_run_unable_to_say_healthy(lang, words):
    """A schedule or fleet held the probe back (principle 7): with nothing failing, the run is
    inconclusive and lists the probe as not checked, never healthy (principle 9)."""
    run = RunSession.open("security-token-required", "demo", lang, {"probe": False, "probe_held": "2030-01-01T10:05:00Z"},
                          connect=False, display=False)
    data = run.finish().to_json()
    held = next(c for c in data["checks"] if c["id"] == "probe-held")
    assert held["status"] == "manual" and held["unexplained"] and held["title"] == words
    assert held["evidence"] == {"held_since": "2030-01-01T10:05:00Z", "login_attempts": 0}
    assert "2030" in held["summary"] and "T10:05" not in held["summary"]
    assert data["outcome"] == "inconclusive" and data["not_checked"] == ["probe-held"]
    [reason] = data["reasons"]
    assert words in reason and reason.rstrip("。.").endswith(held["summary"].rstrip("。."))   # no "not explained" suffix


def test_without_a_held_probe_nothing_is_added():
    run = RunSession.open("security-token-required", "demo", "en", {"probe": False, "probe_held": ""},
                          connect=False, display=False)
    data = run.finish().to_json()
    assert data["checks"] == [] and data["outcome"] == "healthy"
