"""A read sfdoctor's run-as user may not make is a `manual` step naming the Setup page and the
permission that would automate it: never an `error`, never a pass (docs/permissions.md).

The two built-in worlds: a Professional Edition org without the Metadata API, and a run-as
user holding only API Enabled and View Setup and Configuration. The checks run through
RunSession.check as the notebook runs them (no kernel), against the simulator, which refuses
as Salesforce refuses.
"""
from __future__ import annotations

import pytest

from sfdoctor import registry
from sfdoctor.session import RunSession

RUNBOOK = "security-token-required"


def run(scenario: str, lang: str = "en"):
    session = RunSession.open(RUNBOOK, f"demo:{scenario}", lang, {"username": "sync@acme.example"}, display=False)
    runbook = registry.get(RUNBOOK)
    runbook.run_all(session, runbook.facts.from_params(session.conn, username="sync@acme.example"))
    result = session.finish()
    return {f.id: f for f in result.checks}, result


def test_professional_edition_without_metadata_api():
    found, result = run("pe-no-metadata-api")
    assert result.to_json()["root_causes"] == ["TOKEN_MISSING"]      # the probe still finds the cause
    for cid in ("source-ip-ranges", "reset-link-network-access"):
        f = found[cid]
        assert f.status == "manual" and f.evidence["read"] == "trusted-ip-ranges"
        assert "Setup > Security > Network Access" in f.summary and "no Metadata API" in f.summary
    assert not [f for f in found.values() if f.status == "error"]


def test_run_as_user_with_view_setup_only():
    found, result = run("run-as-view-setup-only")
    assert result.to_json()["root_causes"] == ["TOKEN_MISSING"]
    assert not [f for f in found.values() if f.status == "error"]
    user = found["user-status"]
    assert user.status == "manual" and user.evidence["read"] == "user-login"       # never "not frozen" unread
    assert "Manage Users would let sfdoctor read it" in user.summary
    history = found["login-history"]
    assert history.status == "manual" and history.evidence["read"] == "login-history"
    assert "Monitor Login History" in history.summary and "Setup > Users > Login History" in history.summary
    assert found["reset-link-network-access"].evidence["read"] == "trusted-ip-ranges"
    assert "Modify Metadata Through Metadata API Functions" in found["reset-link-network-access"].summary


def test_manual_steps_in_japanese():
    found, _ = run("run-as-view-setup-only", lang="ja")
    assert "ログイン履歴を監視" in found["login-history"].summary
    assert "設定 > ユーザー > ログイン履歴" in found["login-history"].summary


@pytest.mark.parametrize("scenario", ["token-missing"])
def test_a_fully_permitted_run_as_user_has_no_manual_step(scenario):
    found, _ = run(scenario)
    assert not [f for f in found.values() if f.status == "manual" and "read" in f.evidence]
