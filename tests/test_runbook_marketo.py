"""marketo-sync-setup end to end: `sfdoctor run` (papermill, a real kernel) per scenario.

Every built-in marketo-* scenario (each cause, and a healthy world), one run in Japanese,
and injected faults (503 recovered, REQUEST_LIMIT_EXCEEDED, a hang) that must end in a
report and exit 3. Runs start together as separate processes; the check logic per scenario
is covered without kernels in test_checks_marketo.py (EXPECTED is shared).
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
from test_checks_marketo import EXPECTED
from test_runbook_security_token import SESSION_ID, _secrets_in

pytestmark = pytest.mark.notebook

RUNBOOK = "marketo-sync-setup"
SFDOCTOR = str(Path(sys.executable).with_name("sfdoctor"))
SCENARIOS = Path(__file__).resolve().parents[1] / "lib" / "sfdoctor" / "demo" / "scenarios"
JA = "marketo-sync-failed"
FAULT_BASE = "marketo-healthy"     # nothing fails there, so a fault can only make the run inconclusive

FAULTS = {
    "faults-503": '- {match: "POST /services/data/*/composite", status: 503, times: 2}',
    "faults-limit": '- {match: "POST /services/data/*/composite", error: REQUEST_LIMIT_EXCEEDED}',
    "faults-hang": '- {match: "POST /services/data/*/composite", delay: 60s}',
}


def _fault_scenario(tmp: Path, name: str, faults: str) -> str:
    base = (SCENARIOS / f"{FAULT_BASE}.yml").read_text(encoding="utf-8")
    path = tmp / f"{name}.yml"
    path.write_text(base + "\nfaults:\n" + textwrap.indent(faults, "  ") + "\n", encoding="utf-8")
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
    tmp = tmp_path_factory.mktemp("mkto")
    jobs = [(name, f"demo:{name}", [], tmp / name) for name in sorted(EXPECTED)]
    jobs.append(("ja", f"demo:{JA}", ["--lang", "ja"], tmp / "ja"))
    jobs.append(("default", "demo", [], tmp / "default"))
    for name, faults in FAULTS.items():
        extra = ["--cell-timeout", "5"] if name == "faults-hang" else []
        jobs.append((name, _fault_scenario(tmp, name, faults), extra, tmp / name))
    with ThreadPoolExecutor(max_workers=max(2, min(4, 2 * (os.cpu_count() or 1)))) as pool:
        return dict(pool.map(_run, jobs))


def test_cli_scenarios_reach_every_cause_code():
    reached = {c for roots, warns, _ in EXPECTED.values() for c in roots + warns}
    assert reached == set(runbooks.REQUIRED_CAUSES[RUNBOOK])


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_every_scenario_through_the_cli(runs, scenario):
    roots, warns, _ = EXPECTED[scenario]
    r = runs[scenario]
    assert r["exit"] == (1 if roots else 0), r["stderr"]
    f = r["findings"]
    assert (f["root_causes"], f["warnings"]) == (roots, warns)
    assert f["outcome"] == ("problems_found" if roots else "healthy")
    folder = Path(r["folders"][-1])
    assert (folder / "report.html").is_file() and (folder / "report.ipynb").is_file()
    assert f["api_calls"] <= 6                    # Salesforce only: Marketo's calls are in evidence
    mk = next(c for c in f["checks"] if c["id"] == "marketo-api-access")
    if mk["status"] in ("pass", "fail"):
        assert 1 <= mk["evidence"]["marketo_api_calls"] <= 2


def test_default_demo_org_is_the_failed_sync(runs):
    r, named = runs["default"], runs["marketo-sync-failed"]
    assert r["exit"] == 1, r["stderr"]
    assert r["findings"]["org"] == "demo"
    assert r["findings"]["root_causes"] == named["findings"]["root_causes"]


def test_japanese_run(runs):
    r = runs["ja"]
    assert r["exit"] == 1, r["stderr"]
    f = r["findings"]
    assert f["lang"] == "ja" and f["root_causes"] == EXPECTED[JA][0]
    checks = {c["id"]: c for c in f["checks"]}
    assert checks["sync-user-login"]["title"] == "同期ユーザーがパスワード + セキュリティトークンでログインできる"
    assert "ページレイアウト" in checks["marketo-fields"]["fix"]          # Professional Edition's path
    html = (Path(r["folders"][-1]) / "report.html").read_text(encoding="utf-8")
    assert "最近の Salesforce のリードが Marketo に届いている" in html


def test_transient_503s_recovered_give_the_same_result(runs):
    r = runs["faults-503"]
    assert r["exit"] == 0, r["stderr"]
    assert r["findings"]["outcome"] == "healthy"


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
        errors = json.dumps([c for c in f["checks"] if c["status"] == "error"])
        assert "REQUEST_LIMIT_EXCEEDED" in errors


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_no_secret_in_any_artifact(runs, scenario):
    """Canaries: every password, token, password+token, Marketo and demo-app client secret of
    the world (Marketo's default secret included); none in any file, the index or the output."""
    from sfdoctor.demo.scenario import load_scenario
    from sfdoctor.demo.store import DEMO_CLIENT_SECRET

    world = yaml.safe_load((SCENARIOS / f"{scenario}.yml").read_text(encoding="utf-8"))
    secrets = _secrets_in(world, {DEMO_CLIENT_SECRET, load_scenario(scenario).marketo.client_secret})
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


@pytest.mark.parametrize("text", [
    "Marketo Salesforce sync failed",
    "Sync Fields: the Marketo Sync User cannot log in",
    "MarketoとSalesforceの接続で同期が失敗しました",
    "Salesforce同期を開始 できない",
])
def test_diagnose_sends_marketo_texts_here_first(text):
    done = subprocess.run([SFDOCTOR, "diagnose", text, "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    ranked = json.loads(done.stdout)
    first = ranked[0] if isinstance(ranked, list) else ranked["matches"][0]
    assert (first.get("id") or first.get("runbook")) == RUNBOOK
