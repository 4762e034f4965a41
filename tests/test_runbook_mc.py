"""mc-missing-oauth-token end to end: `sfdoctor run` (papermill, a real kernel) per scenario.

All runs start at once as separate processes (own simulator, kernel and report folder); the
check logic per scenario is covered without kernels in test_checks_mc.py.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from sfdoctor import runbooks
from test_checks_mc import EXPECTED
from test_runbook_security_token import SESSION_ID, _secrets_in

pytestmark = pytest.mark.notebook

RUNBOOK = "mc-missing-oauth-token"
BIN = Path(sys.executable).parent
SFDOCTOR = str(BIN / "sfdoctor")
ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "lib" / "sfdoctor" / "demo" / "scenarios"

# On the healthy world, so nothing else explains the symptom and a broken read ends inconclusive.
FAULTS = {
    # transient 503s on the SOAP Retrieve, recovered by the client's retries of reads
    "faults-503": '- {match: "POST /Service.asmx", status: 503, times: 2}',
    # Marketing Cloud's API allowance is gone: the Retrieve answers its rate-limit error
    "faults-limit": '- {match: "POST /Service.asmx", error: REQUEST_LIMIT_EXCEEDED}',
    # the token endpoint hangs longer than the cell timeout
    "faults-hang": '- {match: "POST /v2/token", delay: 60s}',
}

CLI_SCENARIOS = sorted(EXPECTED)
JA = "mc-password-expired"


def _fault_scenario(tmp: Path, name: str, faults: str) -> str:
    base = (SCENARIOS / "mc-healthy.yml").read_text(encoding="utf-8")
    path = tmp / f"{name}.yml"
    path.write_text(base + "\nfaults:\n" + textwrap.indent(faults, "  ") + "\n", encoding="utf-8")
    return f"demo:{path}"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "SFDOCTOR_DEMO_URL"}


def _run(job: tuple[str, str, list[str], Path]) -> tuple[str, dict]:
    key, org, extra, out = job
    done = subprocess.run([SFDOCTOR, "run", RUNBOOK, "--org", org, "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=300, env=_env())
    folders = sorted(p for p in out.glob(f"*/{RUNBOOK}/*") if p.is_dir())
    result = {"exit": done.returncode, "stderr": done.stderr[-2000:], "folders": [str(p) for p in folders],
              "output": done.stdout + done.stderr}
    if folders:
        result["findings"] = json.loads((folders[-1] / "findings.json").read_text(encoding="utf-8"))
    return key, result


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("mc")
    jobs = [(name, f"demo:{name}", ["--lang", "ja"] if name == JA else [], tmp / name) for name in CLI_SCENARIOS]
    jobs.append(("default", "demo", [], tmp / "default"))
    jobs.append(("bad-range", "demo:mc-healthy", ["-p", "ip_allowlist=192.0.2.0 - 192.0.2.999"], tmp / "bad-range"))
    for name, faults in FAULTS.items():
        extra = ["--cell-timeout", "5"] if name == "faults-hang" else []
        jobs.append((name, _fault_scenario(tmp, name, faults), extra, tmp / name))
    with ThreadPoolExecutor(max_workers=max(2, min(6, 2 * (os.cpu_count() or 1)))) as pool:
        return dict(pool.map(_run, jobs))


def test_cli_scenarios_reach_every_cause_code():
    reached = {c for name in CLI_SCENARIOS for c in EXPECTED[name][0] + EXPECTED[name][1]}
    assert reached >= set(runbooks.REQUIRED_CAUSES[RUNBOOK])


@pytest.mark.parametrize("scenario", CLI_SCENARIOS)
def test_every_scenario_through_the_cli(runs, scenario):
    roots, warns, _ = EXPECTED[scenario]
    r = runs[scenario]
    assert r["exit"] == (1 if roots else 0), r["stderr"]
    f = r["findings"]
    assert (f["root_causes"], f["warnings"]) == (roots, warns)
    assert f["outcome"] == ("problems_found" if roots else "healthy")
    folder = Path(r["folders"][-1])
    assert (folder / "report.html").is_file() and (folder / "report.ipynb").is_file()
    assert f["api_calls"] == 3        # sfdoctor's own sign-in + /v2/token + one SOAP Retrieve
    assert "sfd-mc-allowlist" in (folder / "report.html").read_text(encoding="utf-8") or scenario != "mc-ip-not-allowlisted"


def test_default_demo_org_is_the_allowlist_scenario(runs):
    r = runs["default"]
    assert r["exit"] == 1, r["stderr"]
    assert r["findings"]["org"] == "demo" and r["findings"]["root_causes"] == ["MC_IP_NOT_ALLOWLISTED"]


def test_wrong_credentials_say_which(runs):
    for scenario, which in (("mc-credentials-invalid", "wrong_password"), ("mc-user-locked", "locked"),
                            ("mc-user-inactive", "inactive")):
        checks = runs[scenario]["findings"]["checks"]
        assert which in {c["evidence"].get("which") for c in checks if c.get("cause") == "MC_CREDENTIALS_INVALID"}


def test_japanese_run(runs):
    f = runs[JA]["findings"]
    assert f["lang"] == "ja"
    checks = {c["id"]: c for c in f["checks"]}
    assert "期限切れ" in checks["mc-login"]["summary"]
    assert "構成ウィザード" in checks["mc-login"]["fix"]
    assert checks["mc-next-steps"]["title"] == "対処の順序"


def test_unparsable_range_is_one_line_in_the_report_not_a_traceback(runs):
    r = runs["bad-range"]
    assert r["exit"] == 3, r["stderr"]
    (a,) = [c for c in r["findings"]["checks"] if c["id"] == "mc-allowlist"]
    assert a["status"] == "error" and "192.0.2.999" in a["summary"] and "\n" not in a["summary"]
    assert "Traceback" not in r["output"]


def test_transient_503s_recovered_give_the_same_result(runs):
    r = runs["faults-503"]
    assert r["exit"] == 0, r["stderr"]
    assert r["findings"]["outcome"] == "healthy"
    assert r["findings"]["api_calls"] == 5     # the two 503s cost calls too


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
        (err,) = [c for c in f["checks"] if c["status"] == "error"]
        assert err["id"] == "mc-user" and err["evidence"].get("http_status") == 429


JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}")


@pytest.mark.parametrize("scenario", CLI_SCENARIOS)
def test_no_secret_in_any_artifact(runs, scenario):
    """Canaries are the world's own secrets: the installed package's client secret, every
    Marketing Cloud and Salesforce password, the operator's mistaken password, the demo app's
    secret; none may appear in any file of the run, the index, or the output — nor a session
    id or a Marketing Cloud access token."""
    from sfdoctor.demo.store import DEMO_CLIENT_SECRET

    from sfdoctor.demo.scenario import load_scenario

    world = yaml.safe_load((SCENARIOS / f"{scenario}.yml").read_text(encoding="utf-8"))
    mc = load_scenario(scenario).marketing_cloud       # with its defaults (the package secret may be one)
    secrets = _secrets_in(world, {DEMO_CLIENT_SECRET, mc.client_secret} | {u.password for u in mc.users})
    secrets |= {v for k, v in (world.get("operator") or {}).items() if k == "mc_password"}
    assert len(secrets) >= 4
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
        assert not JWT.search(text), f"{scenario}: {name} holds an access token"


@pytest.mark.parametrize("text", [
    "Missing_OAuth_Token",
    "Change your expired Marketing Cloud password and try again",
    "Data Cloud を Marketing Cloud に接続しようとすると「Missing_OAuth_Token」というエラーメッセージが表示されます",
    "期限切れの Marketing Cloud パスワードを変更して、もう一度お試しください",
])
def test_diagnose_sends_the_symptoms_here_first(text):
    done = subprocess.run([SFDOCTOR, "diagnose", text, "--json"], capture_output=True, text=True, timeout=60,
                          env=_env())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["runbook"] == RUNBOOK


def test_plain_papermill_runs_the_notebook(tmp_path):
    out = tmp_path / "out.ipynb"
    done = subprocess.run([str(BIN / "papermill"), str(ROOT / "notebooks" / f"{RUNBOOK}.ipynb"), str(out),
                           "-p", "org", "demo:mc-not-api-user"], capture_output=True, text=True, timeout=300,
                          env=_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "MC_USER_NOT_API_USER" in out.read_text(encoding="utf-8")


def test_notebook_is_committed_without_outputs_and_with_one_parameters_cell():
    nb = json.loads((ROOT / "notebooks" / f"{RUNBOOK}.ipynb").read_text(encoding="utf-8"))
    tags = [t for c in nb["cells"] for t in (c.get("metadata", {}).get("tags") or [])]
    assert tags.count("parameters") == 1 and tags.count("skip-execution") == 1
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    params = next(c for c in nb["cells"] if "parameters" in (c["metadata"].get("tags") or []))
    names = {line.split("=")[0].strip() for line in "".join(params["source"]).splitlines() if "=" in line}
    assert names == {"org", "lang"} | {p.name for p in runbooks.load(RUNBOOK).parameters}
