"""sia-auth-failure end to end: `sfdoctor run` (papermill, a real kernel) per scenario, the
faults, the canaries, and `sfdoctor diagnose`.

All runs start at once as separate `sfdoctor run` processes (each with its own simulator,
kernel and report folder). The check logic per scenario is in test_checks_sia.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from sfdoctor import runbooks
from test_checks_sia import EXPECTED
from test_runbook_security_token import SESSION_ID, _secrets_in

pytestmark = pytest.mark.notebook

RUNBOOK = "sia-auth-failure"
SFDOCTOR = str(Path(sys.executable).with_name("sfdoctor"))
SCENARIOS = Path(__file__).resolve().parents[1] / "lib" / "sfdoctor" / "demo" / "scenarios"

FAULTS = {
    # transient 503s on the one composite request, recovered by the client's retries
    "faults-503": '- {match: "POST /services/data/*/composite", status: 503, times: 2}',
    # the daily API allowance is gone
    "faults-limit": '- {match: "POST /services/data/*/composite", error: REQUEST_LIMIT_EXCEEDED}',
    # the REST endpoint hangs longer than the cell timeout
    "faults-hang": '- {match: "POST /services/data/*/composite", delay: 60s}',
}
# Faults land on a world whose URL alone explains nothing (another error type: a warning), so
# the run must end inconclusive; a URL that says OAUTH_APP_BLOCKED is a finding of its own
# (findings.md: a fail explains the symptom), checked in faults-limit-blocked.
FAULT_BASE = "sia-unrecognized"
CLI_SCENARIOS = sorted(EXPECTED)
JA = "sia-sandbox"


def _fault_scenario(tmp: Path, name: str, faults: str, base: str = FAULT_BASE) -> str:
    text = (SCENARIOS / f"{base}.yml").read_text(encoding="utf-8")
    path = tmp / f"{name}.yml"
    path.write_text(text + "\nfaults:\n" + textwrap.indent(faults, "  ") + "\n", encoding="utf-8")
    return f"demo:{path}"


def _run(job: tuple[str, str, list[str], Path]) -> tuple[str, dict]:
    key, org, extra, out = job
    env = {k: v for k, v in os.environ.items() if k != "SFDOCTOR_DEMO_URL"}
    done = subprocess.run([SFDOCTOR, "run", RUNBOOK, "--org", org, "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=300, env=env)
    folders = sorted(p for p in out.glob(f"*/{RUNBOOK}/*") if p.is_dir())
    result = {"exit": done.returncode, "stderr": done.stderr[-2000:], "folders": [str(p) for p in folders],
              "output": done.stdout + done.stderr}
    if folders:
        result["findings"] = json.loads((folders[-1] / "findings.json").read_text(encoding="utf-8"))
    return key, result


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("sia")
    jobs = [(name, f"demo:{name}", ["--lang", "ja"] if name == JA else [], tmp / name) for name in CLI_SCENARIOS]
    for name, faults in FAULTS.items():
        extra = ["--cell-timeout", "5"] if name == "faults-hang" else []
        jobs.append((name, _fault_scenario(tmp, name, faults), extra, tmp / name))
    jobs.append(("faults-limit-blocked", _fault_scenario(tmp, "faults-limit-blocked", FAULTS["faults-limit"],
                                                         base="sia-oauth-blocked"), [], tmp / "faults-limit-blocked"))
    # the operator's answer given as a parameter overrides the demo operator's
    jobs.append(("param-answer", "demo:sia-healthy", ["-p", "oauth_usage_button=unblock"], tmp / "param-answer"))
    with ThreadPoolExecutor(max_workers=max(2, min(6, 2 * (os.cpu_count() or 1)))) as pool:
        return dict(pool.map(_run, jobs))


def test_cli_scenarios_reach_every_cause_code():
    reached = {c for name in CLI_SCENARIOS for c in EXPECTED[name][0] + EXPECTED[name][1]}
    assert reached == set(runbooks.REQUIRED_CAUSES[RUNBOOK])


@pytest.mark.parametrize("scenario", CLI_SCENARIOS)
def test_every_scenario_through_the_cli(runs, scenario):
    roots, warns, extra = EXPECTED[scenario]
    r = runs[scenario]
    assert r["exit"] == (1 if roots else 0), r["stderr"]
    f = r["findings"]
    assert (f["root_causes"], f["warnings"]) == (roots, warns)
    assert f["outcome"] == ("problems_found" if roots else "healthy")
    by_id = {c["id"]: c for c in f["checks"]}
    for cid, (status, _) in extra.items():
        assert by_id[cid]["status"] == status
    folder = Path(r["folders"][-1])
    assert (folder / "report.html").is_file() and (folder / "report.ipynb").is_file()
    assert f["api_calls"] == 2      # sfdoctor's OAuth sign-in + one composite read


def test_healthy_exits_zero(runs):
    assert runs["sia-healthy"]["exit"] == 0 and runs["sia-healthy"]["findings"]["outcome"] == "healthy"


def test_japanese_run(runs):
    f = runs[JA]["findings"]
    assert f["lang"] == "ja"
    fixes = {c["cause"]: c["fix"] for c in f["checks"] if c.get("cause")}
    assert "「Sandbox」" in fixes["SANDBOX_NOT_CONFIGURED"] and "私のドメイン" in fixes["RESTRICTED_DOMAIN"]
    titles = [c["title"] for c in f["checks"]]
    assert "エラーページの URL が示す内容" in titles


def test_unrecognized_error_is_shown_verbatim_in_the_report(runs):
    r = runs["sia-unrecognized"]
    check = {c["id"]: c for c in r["findings"]["checks"]}["error-url"]
    assert check["evidence"]["error"] == "HANDSHAKE_NOT_COMPLETED"
    html = (Path(r["folders"][-1]) / "report.html").read_text(encoding="utf-8")
    assert "HANDSHAKE_NOT_COMPLETED" in html


def test_a_parameter_answer_is_recorded(runs):
    r = runs["param-answer"]
    assert r["exit"] == 1, r["stderr"]
    f = r["findings"]
    assert f["root_causes"] == ["OAUTH_APP_BLOCKED"] and f["parameters"]["oauth_usage_button"] == "unblock"
    check = {c["id"]: c for c in f["checks"]}["toutapp-block"]
    assert check["evidence"]["operator_answer"] == "unblock"


def test_transient_503s_recovered_give_the_same_result(runs):
    r, base = runs["faults-503"], runs[FAULT_BASE]
    assert r["exit"] == base["exit"] == 0, r["stderr"]
    assert (r["findings"]["root_causes"], r["findings"]["warnings"]) == (
        base["findings"]["root_causes"], base["findings"]["warnings"])


@pytest.mark.parametrize("name", ["faults-limit", "faults-hang"])
def test_api_limit_and_hanging_endpoint_are_inconclusive_with_a_report(runs, name):
    r = runs[name]
    assert r["exit"] == 3, r["stderr"]
    f = r["findings"]
    assert f["outcome"] in ("inconclusive", "error")
    assert any(c["status"] == "error" for c in f["checks"])
    folder = Path(r["folders"][-1])
    assert (folder / "report.html").is_file() and (folder / "findings.json").is_file()
    if name == "faults-limit":
        errors = [c for c in f["checks"] if c["status"] == "error"]
        assert {c["id"] for c in errors} == {"user-api-enabled", "toutapp-oauth-usage"}
        assert "REQUEST_LIMIT_EXCEEDED" in json.dumps(errors)


def test_api_limit_with_a_blocked_url_still_reports_the_block(runs):
    r = runs["faults-limit-blocked"]
    f = r["findings"]
    assert r["exit"] == 1 and f["root_causes"] == ["OAUTH_APP_BLOCKED"], r["stderr"]
    assert any(c["status"] == "error" and "REQUEST_LIMIT_EXCEEDED" in json.dumps(c) for c in f["checks"])


@pytest.mark.parametrize("scenario", CLI_SCENARIOS)
def test_no_secret_in_any_artifact(runs, scenario):
    """Canaries are the world's own secrets (passwords, tokens, password+token, the demo app's
    secret); none may appear in any file of the run, the index or the command's output."""
    from sfdoctor.demo.store import DEMO_CLIENT_SECRET

    world = yaml.safe_load((SCENARIOS / f"{scenario}.yml").read_text(encoding="utf-8"))
    secrets = _secrets_in(world, {DEMO_CLIENT_SECRET})
    assert len(secrets) >= 3
    r = runs[scenario]
    out = Path(r["folders"][-1]).parents[2]
    texts = {"output": r["output"]}
    texts.update({str(p.relative_to(out)): p.read_text(encoding="utf-8", errors="replace")
                  for p in out.rglob("*") if p.is_file()})
    assert any(name.endswith("report.html") for name in texts) and "index.jsonl" in texts
    for name, text in texts.items():
        leaked = sorted(s for s in secrets if s in text)
        assert not leaked, f"{scenario}: {name} holds {len(leaked)} secret value(s)"
        assert not SESSION_ID.search(text), f"{scenario}: {name} holds a session id"


def test_plain_papermill_runs_the_notebook(tmp_path):
    import papermill

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / f"{RUNBOOK}.ipynb"
    env_before = os.environ.pop("SFDOCTOR_DEMO_URL", None)
    try:
        papermill.execute_notebook(str(notebook), str(tmp_path / "out.ipynb"),
                                   parameters={"org": "demo:sia-api-disabled"}, progress_bar=False)
    finally:
        if env_before is not None:
            os.environ["SFDOCTOR_DEMO_URL"] = env_before
    text = (tmp_path / "out.ipynb").read_text(encoding="utf-8")
    assert "API_NOT_ENABLED_FOR_USER" in text


def test_notebook_shape():
    import nbformat

    nb = nbformat.read(Path(__file__).resolve().parents[1] / "notebooks" / f"{RUNBOOK}.ipynb", as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    src = tagged[0].source
    assert 'org = "demo"' in src and 'lang = "en"' in src
    assert {p.name for p in runbooks.load(RUNBOOK).parameters} <= {
        line.split("=")[0].strip() for line in src.splitlines() if "=" in line}
    assert [c for c in nb.cells if "skip-execution" in c.metadata.get("tags", [])]
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("text", [
    "We were unable to authenticate your request",
    "we were  UNABLE to authenticate your request.",
    "リクエストを認証できませんでした",
    "https://toutapp.com/auth/salesforce/failure?error=OAUTH_APP_BLOCKED&error_description=this+app+is+blocked+by+admin",
    "https%3A%2F%2Fapp.toutapp.com%2Fx%23error%3DLogin%2520error%2520restricted%2520domain",
    "https://example.invalid/cb#error=login+error+restricted+domain",
])
def test_diagnose_sends_these_texts_here_first(text):
    done = subprocess.run([SFDOCTOR, "diagnose", "--json", text], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    ranked = json.loads(done.stdout)
    assert ranked[0]["runbook"] == RUNBOOK
    assert all(m["score"] < ranked[0]["score"] for m in ranked[1:])
