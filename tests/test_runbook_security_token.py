"""security-token-required end to end: `sfdoctor run` (papermill, a real kernel) per scenario.

All runs start at once as separate `sfdoctor run` processes (each with its own simulator,
kernel and report folder), so the module costs about the slowest few runs, not their sum.
The check logic itself is covered per scenario, without kernels, in test_checks_scenarios.py.
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
from test_checks_scenarios import EXPECTED

pytestmark = pytest.mark.notebook

RUNBOOK = "security-token-required"
SFDOCTOR = str(Path(sys.executable).with_name("sfdoctor"))
SCENARIOS = Path(__file__).resolve().parents[1] / "lib" / "sfdoctor" / "demo" / "scenarios"

FAULTS = {
    # transient 503s on both composite requests, recovered by the client's retries
    "faults-503": '- {match: "POST /services/data/*/composite", status: 503, times: 2}',
    # the daily API allowance is gone: every REST read answers REQUEST_LIMIT_EXCEEDED
    "faults-limit": '- {match: "POST /services/data/*/composite", error: REQUEST_LIMIT_EXCEEDED}',
    # the REST endpoint hangs longer than the cell timeout
    "faults-hang": '- {match: "POST /services/data/*/composite", delay: 60s}',
}


def _fault_scenario(tmp: Path, name: str, faults: str) -> str:
    base = (SCENARIOS / "token-missing.yml").read_text(encoding="utf-8")
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


# Each cause code reached through `sfdoctor run` at least once, plus the healthy world; the
# locked/frozen/inactive variants of PASSWORD_INVALID run without a kernel only.
CLI_SCENARIOS = ["healthy", "token-missing", "token-stale", "password-invalid", "soap-login-disabled",
                 "profile-ip-ranges", "no-network-access", "profile-corrupted"]
JA = "profile-ip-ranges"   # run in Japanese: also shows the Professional edition's Setup path


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("stf")
    jobs = [(name, f"demo:{name}", ["--lang", "ja"] if name == JA else [], tmp / name) for name in CLI_SCENARIOS]
    for name, faults in FAULTS.items():
        extra = ["--cell-timeout", "5"] if name == "faults-hang" else []
        jobs.append((name, _fault_scenario(tmp, name, faults), extra, tmp / name))
    with ThreadPoolExecutor(max_workers=max(2, min(6, 2 * (os.cpu_count() or 1)))) as pool:
        return dict(pool.map(_run, jobs))


def test_cli_scenarios_reach_every_cause_code():
    reached = {c for name in CLI_SCENARIOS for c in EXPECTED[name][0] + EXPECTED[name][1]}
    assert reached | {"PROFILE_POSSIBLY_CORRUPTED"} >= set(runbooks.REQUIRED_CAUSES[RUNBOOK])


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
    assert f["api_calls"] <= 1 + 2 + 6   # OAuth token + at most two probes + at most six reads


def test_profile_corrupted_is_a_manual_step(runs):
    checks = {c["id"]: c for c in runs["profile-corrupted"]["findings"]["checks"]}
    assert checks["reset-link-profile"]["status"] == "manual"
    assert checks["reset-link-profile"]["cause"] == "PROFILE_POSSIBLY_CORRUPTED"


def test_japanese_run_has_japanese_fixes_for_its_edition(runs):
    f = runs[JA]["findings"]
    assert f["lang"] == "ja"
    fixes = {c["cause"]: c["fix"] for c in f["checks"] if c.get("cause")}
    assert "セッションの設定" in fixes["RESET_HIDDEN_BY_LOGIN_IP_RANGES"]
    assert "ログイン IP" in fixes["SOURCE_IP_UNTRUSTED"]


def test_transient_503s_recovered_give_the_same_result(runs):
    r, base = runs["faults-503"], runs["token-missing"]
    assert r["exit"] == base["exit"] == 1, r["stderr"]
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
        errors = json.dumps([c for c in f["checks"] if c["status"] == "error"])
        assert "REQUEST_LIMIT_EXCEEDED" in errors


SECRET_KEYS = {"password", "security_token", "client_secret", "probe_password", "probe_token"}
SESSION_ID = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{20,}")


def _secrets_in(node, found: set[str]) -> set[str]:
    """Every secret value a scenario holds, read independently of scrub.known_secrets."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SECRET_KEYS and isinstance(value, str) and value:
                found.add(value)
            _secrets_in(value, found)
        for user in node.get("users", []) if isinstance(node.get("users"), list) else []:
            if isinstance(user, dict) and user.get("password") and user.get("security_token"):
                found.add(user["password"] + user["security_token"])
    elif isinstance(node, list):
        for item in node:
            _secrets_in(item, found)
    return found


@pytest.mark.parametrize("scenario", CLI_SCENARIOS)
def test_no_secret_in_any_artifact(runs, scenario):
    """Canaries are the world's own secrets: every password, token, password+token, client
    secret and the demo app's secret; none may appear in any file of the run, in the index, or
    in what the command printed — nor any Salesforce session id."""
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
