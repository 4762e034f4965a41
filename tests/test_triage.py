"""`sfdoctor triage`: a pasted text picks the runbook and goes into its `pasted: true` parameter."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sfdoctor import runbooks
from sfdoctor.errors import BadInput
from sfdoctor.triage import plan
from spec_files import minimal_sia, write_spec

SFDOCTOR = Path(sys.executable).parent / "sfdoctor"
SIA_URL = "https://toutapp.com/auth/salesforce/failure?error=OAUTH_APP_BLOCKED&error_description=this+app+is+blocked+by+admin"


def test_the_specs_name_their_pasted_parameter() -> None:
    assert runbooks.load("sia-auth-failure").pasted_parameter() == "error_url"
    assert runbooks.load("oauth-connection-failure").pasted_parameter() == "oauth_error"
    assert runbooks.load("security-token-required").pasted_parameter() is None


def test_a_url_goes_into_the_runbooks_pasted_parameter() -> None:
    chosen = plan(SIA_URL, {"username": "x@acme.example"})
    assert chosen.runbook == "sia-auth-failure"
    assert chosen.params == {"username": "x@acme.example", "error_url": SIA_URL}
    assert chosen.carried_into == "error_url"


def test_a_parameter_given_with_p_wins_over_the_text() -> None:
    chosen = plan(SIA_URL, {"error_url": "https://toutapp.com/auth/salesforce/failure?error=OTHER"})
    assert chosen.params["error_url"].endswith("error=OTHER") and chosen.carried_into is None


def test_japanese_text_picks_a_runbook_without_a_pasted_parameter() -> None:
    chosen = plan("セキュリティトークンが必要です")
    assert chosen.runbook == "security-token-required"
    assert chosen.params == {} and chosen.carried_into is None


def test_no_fit_is_bad_input() -> None:
    with pytest.raises(BadInput) as exc:
        plan("the coffee machine is empty")
    assert "\n" not in exc.value.one_line("ja") and "ランブック" in exc.value.one_line("ja")


@pytest.mark.parametrize("change, words", [
    (lambda p: p.update(type="int", default=0), "type str"),
    (lambda p: p.update(secret=True), "not secret"),
])
def test_a_pasted_parameter_is_plain_text(tmp_path, change, words) -> None:
    data = minimal_sia()
    param = {"name": "error_url", "type": "str", "default": "", "pasted": True,
             "label": {"en": "URL", "ja": "URL"}, "help": {"en": "h", "ja": "h"}}
    change(param)
    data["parameters"] = [param]
    with pytest.raises(BadInput, match=words):
        runbooks.load_file(write_spec(tmp_path, data))


def test_only_one_parameter_is_pasted(tmp_path) -> None:
    data = minimal_sia()
    data["parameters"] = [{"name": n, "type": "str", "default": "", "pasted": True,
                           "label": {"en": n, "ja": n}, "help": {"en": "h", "ja": "h"}} for n in ("a", "b")]
    with pytest.raises(BadInput, match="only one"):
        runbooks.load_file(write_spec(tmp_path, data))


def _triage(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SFDOCTOR_DEMO_URL", "SFDOCTOR_HOME")}
    env["SFDOCTOR_ORGS"] = str(tmp_path / "orgs.toml")
    return subprocess.run([str(SFDOCTOR), "triage", *argv, "--out", str(tmp_path / "reports")],
                          capture_output=True, text=True, env=env, timeout=600)


def test_triage_runs_the_runbook_with_the_pasted_url(tmp_path) -> None:
    res = _triage(tmp_path, SIA_URL, "--org", "demo:sia-oauth-blocked", "--json", "--lang", "ja")
    assert res.returncode == 1, res.stderr
    findings = json.loads(res.stdout)
    assert findings["runbook"] == "sia-auth-failure"
    assert findings["root_causes"] == ["OAUTH_APP_BLOCKED"]
    assert findings["parameters"]["error_url"] == SIA_URL
    assert "ランブック: sia-auth-failure" in res.stderr and "「エラーページの URL」" in res.stderr


def test_triage_with_nothing_that_fits_is_one_line_exit_2(tmp_path) -> None:
    res = _triage(tmp_path, "the coffee machine is empty", "--org", "demo")
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert not (tmp_path / "reports").exists()
