"""Paths where a check used to end `pass` or `skip` without having looked (a read that failed or
was refused, an empty answer that proves nothing, missing input): each now says what it could not
see, and the run's outcome follows findings.outcome's one rule. One test per path, on the
built-in world that shows it (or a world written here where the path needs no failure at all)."""
from __future__ import annotations

import pytest
import yaml

import runbook_harness as H
import test_outcome_honesty as honesty
from sfdoctor import registry
from sfdoctor.checks.query import SubResult
from sfdoctor.session import RunSession


def _run_file(path, lang: str) -> dict:
    """A world written here, run as test_outcome_honesty runs the built-in ones."""
    runbook = yaml.safe_load(path.read_text(encoding="utf-8"))["runbook"]
    module = __import__(registry.module_name(runbook), fromlist=["run_all"])
    run = RunSession.open(runbook, f"demo:{path}", lang, {}, display=False)
    module.run_all(run, registry.get(runbook).facts.from_params(run.conn))
    return run.finish().to_json()


def _checks(data: dict) -> dict[str, dict]:
    return {c["id"]: c for c in data["checks"]}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_oauth_reads_refused_to_the_run_as_user_are_manual_never_a_cause(lang):
    """ConnectedApplication and UserLogin refused, LoginHistory and OauthToken showing own rows
    only: before, the empty app list read as an uninstalled app (UNINSTALLED_APP_BLOCKED) and the
    user, tokens and history passed."""
    data = honesty._run(H.SCENARIOS / "oauth-run-as-view-setup-only.yml", lang)
    checks = _checks(data)
    for cid in ("app", "integration-user", "oauth-tokens", "login-history"):
        assert checks[cid]["status"] == "manual", checks[cid]
    assert data["root_causes"] == [] and data["outcome"] == "inconclusive"
    assert set(data["not_checked"]) >= {"app", "integration-user", "oauth-tokens", "login-history"}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_oauth_refused_sign_ins_with_nothing_pasted_are_never_healthy(lang):
    """Before: the refusals were a `pass` line of evidence and the run said healthy."""
    data = honesty._run(H.SCENARIOS / "oauth-refusals-not-pasted.yml", lang)
    history = _checks(data)["login-history"]
    assert history["status"] == "warn" and history.get("unexplained") is True
    assert data["outcome"] == "inconclusive" and data["reasons"]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_oauth_history_counts_only_oauth_sign_ins_not_another_integrations_soap_refusals(tmp_path, lang):
    """no-network-access's world (SOAP token failures of the user, application N/A) run as an
    OAuth health check with no app named: before, those SOAP refusals were the OAuth symptom and
    the run ended inconclusive with "sign-ins through ? ... include refusals"."""
    world = yaml.safe_load((H.SCENARIOS / "no-network-access.yml").read_text(encoding="utf-8"))
    world["runbook"] = "oauth-connection-failure"
    path = tmp_path / "soap-refusals-only.yml"
    path.write_text(yaml.safe_dump(world, allow_unicode=True), encoding="utf-8")
    data = _run_file(path, lang)
    history = _checks(data)["login-history"]
    assert history["status"] == "pass" and not history.get("unexplained"), history
    assert history["evidence"]["by_status"] == [] and "?" not in history["summary"]
    assert data["outcome"] == "healthy", data["reasons"]

    # A refused OAuth sign-in of the same user, no app named: that is the symptom.
    world["salesforce"]["login_history"].append(
        {"username": "sync@oldco.example", "at": "-2h", "source_ip": "198.51.100.20",
         "status": "Failed: Computer activation required", "login_type": "Remote Access 2.0",
         "application": "Sync Tool", "login_sub_type": "OauthJwtBearer"})
    path = tmp_path / "an-oauth-refusal-too.yml"
    path.write_text(yaml.safe_dump(world, allow_unicode=True), encoding="utf-8")
    data = _run_file(path, lang)
    history = _checks(data)["login-history"]
    assert history["status"] == "warn" and history.get("unexplained") is True
    assert [row["application"] for row in history["evidence"]["by_status"] if row["status"] != "Success"] == \
        ["Sync Tool"]
    assert "?" not in history["summary"] and "OAuth" in history["summary"]
    assert data["outcome"] == "inconclusive"


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_sia_restricted_domain_logins_hidden_from_the_run_as_user_are_manual(lang):
    """Before: LoginHistory's own-rows-only answer was empty, so the org check passed ("nothing on
    the org's side explains it") without having seen the refused logins."""
    data = honesty._run(H.SCENARIOS / "sia-run-as-view-setup-only.yml", lang)
    assert _checks(data)["target-org"]["status"] == "manual"
    assert "target-org" in data["not_checked"]
    assert data["root_causes"] == ["RESTRICTED_DOMAIN"]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_source_ranges_with_no_user_and_no_address_are_skipped_not_passed(tmp_path, lang):
    """healthy's world with no user named: before, source-ip-ranges passed ("no token-related
    failures") without a user's failing logins to look at."""
    world = yaml.safe_load((H.SCENARIOS / "healthy.yml").read_text(encoding="utf-8"))
    world.setdefault("operator", {})["probe_username"] = ""     # the operator names nobody
    path = tmp_path / "no-user-named.yml"
    path.write_text(yaml.safe_dump(world, allow_unicode=True), encoding="utf-8")
    check = _checks(_run_file(path, lang))["source-ip-ranges"]
    assert check["status"] == "skip" and check["evidence"]["reason"] == "no user and no source address"


def test_a_refused_object_keeps_its_reason_behind_a_long_query():
    """A composite answer's INVALID_TYPE repeats the SOQL first; the error kept the first 300
    characters and lost "sObject type ... is not supported", so the refusal read as a failure
    of the check instead of a manual step naming the permission."""
    soql = "SELECT Id, Name, " + ", ".join(f"Field{i}__c" for i in range(40)) + " FROM ConnectedApplication"
    message = f"\n{soql}\n{' ' * 200}^\nERROR at Row:1:Column:400\nsObject type 'ConnectedApplication' is not supported."
    error = SubResult(400, [{"errorCode": "INVALID_TYPE", "message": message}]).error
    assert error == "INVALID_TYPE: sObject type 'ConnectedApplication' is not supported."
    plain = SubResult(400, [{"errorCode": "MALFORMED_QUERY", "message": "unexpected token: FROM"}]).error
    assert plain == "MALFORMED_QUERY: unexpected token: FROM"


def test_an_empty_oauth_settings_answer_is_a_manual_step_not_an_allowed_flow(monkeypatch):
    """No OauthOidcSettings record came back (the simulator always has one, so the read is
    replaced here): before, the empty answer read as "the flow is allowed" and the run blamed the
    password and token (PASSWORD_OR_TOKEN_REFUSED)."""
    from sfdoctor import metadata

    real = metadata.read_metadata

    def without_oauth_settings(conn, type_name, full_names):
        return [] if type_name == "OauthOidcSettings" else real(conn, type_name, full_names)

    monkeypatch.setattr(metadata, "read_metadata", without_oauth_settings)
    data = honesty._run(H.SCENARIOS / "oauth-password-refused.yml", "en")
    flow = _checks(data)["password-flow"]
    assert flow["status"] == "manual" and flow["evidence"]["blocked"] is None
    assert "PASSWORD_OR_TOKEN_REFUSED" not in data["root_causes"]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_mc_does_not_say_nothing_blocks_when_the_login_was_never_tried(tmp_path, lang):
    """mc-healthy's world with no password for the integration user: before, the login was
    skipped and a closing "next steps" check still passed with "Nothing here blocks Data Cloud's
    sign-in". The untested login is the operator's to answer, and no check claims otherwise."""
    world = yaml.safe_load((H.SCENARIOS / "mc-healthy.yml").read_text(encoding="utf-8"))
    world.setdefault("operator", {})["mc_password"] = ""      # no password to try the login with
    path = tmp_path / "mc-no-password.yml"
    path.write_text(yaml.safe_dump(world, allow_unicode=True), encoding="utf-8")
    data = _run_file(path, lang)
    checks = _checks(data)
    # The password is the operator's answer: the untested login is a manual step in not_checked.
    assert checks["mc-login"]["status"] == "manual" and "dc-integration" in checks["mc-login"]["summary"]
    assert data["not_checked"] == ["mc-login"]
    assert "mc-next-steps" not in checks


def test_user_status_does_not_pass_when_userlogin_could_not_be_read(monkeypatch, tmp_path):
    """A failed UserLogin read that is not a refusal (the simulator fails a composite's parts only
    by permission, so the answer is replaced here): before, frozen and locked read as "no" and
    the user passed; now the check errors, naming the read."""
    from sfdoctor.runbook_checks import security_token_required as stq

    real = stq.composite_once

    def userlogin_fails(conn, errors, key, queries, what):
        answers = real(conn, errors, key, queries, what)
        if "userlogin" in answers:
            answers["userlogin"] = SubResult(500, [{"errorCode": "UNKNOWN_EXCEPTION", "message": "try again"}])
        return answers

    monkeypatch.setattr(stq, "composite_once", userlogin_fails)
    # The healthy world names no user (nobody failed), so the operator names the integration user.
    world = yaml.safe_load((H.SCENARIOS / "healthy.yml").read_text(encoding="utf-8"))
    world.setdefault("operator", {})["probe_username"] = "sync@acme.example"
    path = tmp_path / "healthy-named-user.yml"
    path.write_text(yaml.safe_dump(world, allow_unicode=True), encoding="utf-8")
    check = _checks(_run_file(path, "en"))["user-status"]
    assert check["status"] == "error" and "UserLogin could not be read" in check["summary"]


@pytest.mark.parametrize("world", ["token-stale", "user-locked", "user-frozen"])
def test_failed_logins_with_no_user_under_diagnosis_are_not_healthy(tmp_path, world):
    """No user named and none failing for a missing token: the failures this runbook diagnoses
    (a stale token logs as Invalid Password; lockouts; frozen users) stand unexplained, so the run
    is inconclusive with that reason, never healthy."""
    data = yaml.safe_load((H.SCENARIOS / f"{world}.yml").read_text(encoding="utf-8"))
    (data.get("operator") or {}).pop("probe_username", None)
    path = tmp_path / f"{world}-no-user.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = _run_file(path, "en")
    org = _checks(result)["login-history-org"]
    assert result["outcome"] == "inconclusive" and org["status"] == "warn" and org.get("unexplained") is True
    assert any("failed logins" in reason for reason in result["reasons"])
