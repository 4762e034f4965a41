"""What every runbook's tests do the same way, written once.

Two halves, both imported by the test modules (tests/ is on sys.path: pytest's default
"prepend" import mode puts the folder of conftest.py there, which is also how
`from test_checks_scenarios import EXPECTED` resolves; conftest.py registers this module for
assertion rewriting, so a failed `assert` here reports its values as in a test module):

- the checks without a kernel (test_checks_*.py): run a runbook's STEPS against the
  in-process simulator, compare the findings with a scenario's expectations, look for secrets
  in the findings and for a fix on every cause;
- `sfdoctor run` end to end (test_runbook_*.py): a built-in scenario plus a `faults:` block,
  the runs as separate processes started all at once, the canary scan of everything a run
  wrote or printed, the plain-papermill run and the committed notebook's shape.

A runbook's own scenarios, expected causes, fault matches and assertions stay in its module.
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
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import yaml

from sfdoctor import clients, orgs, runbooks
from sfdoctor import findings as sf_findings

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "lib" / "sfdoctor" / "demo" / "scenarios"
NOTEBOOKS = ROOT / "notebooks"
BIN = Path(sys.executable).parent
SFDOCTOR = str(BIN / "sfdoctor")

# ======================================================================= checks, without a kernel


def run_steps(runbook: str, org: str, facts_type: Any, steps: Iterable[Callable[..., list]],
              lang: str = "en", **params: Any) -> tuple[Any, Any, list]:
    """Connect to `org` as `runbook` does, build its facts from `params` and run every step in
    order, as the notebook's run_all would but without a session: (conn, facts, findings)."""
    spec = runbooks.load(runbook)
    conn = clients.connect(orgs.resolve(org, runbook=spec), runbook=spec)
    facts = facts_type.from_params(conn, **params)
    found = [f for step in steps for f in step(conn, facts, lang=lang)]
    return conn, facts, found


def assert_checks_match(found: Iterable[Any], expected: Mapping[str, tuple[str, Mapping[str, Any]]]) -> None:
    """Each named check has the expected status and at least the expected evidence values
    (a scenario's `{check id: (status, evidence subset)}`)."""
    by_id = {f.id: f for f in found}
    for cid, (status, evidence) in expected.items():
        assert by_id[cid].status == status, by_id[cid]
        for key, value in evidence.items():
            assert by_id[cid].evidence.get(key) == value, (cid, key, by_id[cid].evidence)


def assert_findings(found: Iterable[Any], roots: list[str], warns: list[str],
                    expected: Mapping[str, tuple[str, Mapping[str, Any]]],
                    order: Sequence[str] | None = None) -> None:
    """A scenario's verdict without a kernel: exactly these root causes and warnings in this
    order, the checks in `order` (when given: every check id once, in the runbook's order),
    and each named check as assert_checks_match wants it."""
    found = list(found)
    assert sf_findings.root_causes(found) == roots, [(f.id, f.status, f.cause, f.summary) for f in found]
    assert sf_findings.warnings(found) == warns
    if order is not None:
        assert [f.id for f in found] == list(order)
    assert_checks_match(found, expected)


def assert_no_secret_and_declared_fixes(runbook: str, found: Iterable[Any], secrets: Iterable[str]) -> None:
    """No secret in the findings as JSON (with non-ASCII escaped, as findings.json may be, and
    written out), and every finding with a cause carries a fix and names a cause code the
    runbook declares."""
    found = list(found)
    data = [f.to_json() for f in found]
    texts = (json.dumps(data), json.dumps(data, ensure_ascii=False))
    for secret in secrets:
        assert not any(secret in text for text in texts)
    causes = runbooks.load(runbook).causes
    for f in found:
        if f.cause:
            assert f.fix and f.cause in causes


# ======================================================================= `sfdoctor run`, end to end

# The standard faults of a runbook whose Salesforce reads are REST composite requests.
REST_COMPOSITE_FAULTS = {
    # transient 503s, recovered by the client's retries of reads
    "faults-503": '- {match: "POST /services/data/*/composite", status: 503, times: 2}',
    # the daily API allowance is gone: every REST read answers REQUEST_LIMIT_EXCEEDED
    "faults-limit": '- {match: "POST /services/data/*/composite", error: REQUEST_LIMIT_EXCEEDED}',
    # the REST endpoint hangs longer than the cell timeout (see HANG_ARGS)
    "faults-hang": '- {match: "POST /services/data/*/composite", delay: 60s}',
}
# What a fault named "faults-hang" runs with: a cell timeout far below the fault's 60 s delay.
HANG_ARGS = ("--cell-timeout", "5")


def env_without_demo_url() -> dict[str, str]:
    """This environment without SFDOCTOR_DEMO_URL, so each run starts a simulator of its own
    on the scenario it names rather than reaching one a caller may have started."""
    return {k: v for k, v in os.environ.items() if k != "SFDOCTOR_DEMO_URL"}


def fault_scenario(tmp: Path, name: str, faults: str, base: str) -> str:
    """The built-in scenario `base` with `faults` (YAML list items) as its `faults:` block,
    written to tmp/<name>.yml; returns the org reference `demo:<path>`."""
    text = (SCENARIOS / f"{base}.yml").read_text(encoding="utf-8")
    path = tmp / f"{name}.yml"
    path.write_text(text + "\nfaults:\n" + textwrap.indent(faults, "  ") + "\n", encoding="utf-8")
    return f"demo:{path}"


class Job(NamedTuple):
    """One `sfdoctor run RUNBOOK --org ORG --out OUT EXTRA...`, its result kept under `key`."""
    key: str
    runbook: str
    org: str
    out: Path
    extra: tuple[str, ...] = ()


def scenario_jobs(runbook: str, tmp: Path, names: Iterable[str], ja: str | None = None) -> list[Job]:
    """A job per built-in scenario (`demo:<name>`), the one named `ja` run with --lang ja."""
    return [Job(name, runbook, f"demo:{name}", tmp / name, ("--lang", "ja") if name == ja else ())
            for name in names]


def fault_jobs(runbook: str, tmp: Path, faults: Mapping[str, str], base: str) -> list[Job]:
    """A job per fault on scenario `base`; "faults-hang" runs with HANG_ARGS."""
    return [Job(name, runbook, fault_scenario(tmp, name, text, base), tmp / name,
                HANG_ARGS if name == "faults-hang" else ()) for name, text in faults.items()]


def run_cli(job: Job) -> dict[str, Any]:
    """Run the job as its own process and read what it left: exit code, the tail of stderr,
    everything printed (for the canary scan), the report folders (oldest first) and the newest
    folder's findings.json (absent when the run wrote no folder)."""
    done = subprocess.run([SFDOCTOR, "run", job.runbook, "--org", job.org, "--out", str(job.out), *job.extra],
                          capture_output=True, text=True, timeout=300, env=env_without_demo_url())
    folders = sorted(p for p in job.out.glob(f"*/{job.runbook}/*") if p.is_dir())
    result: dict[str, Any] = {"exit": done.returncode, "stderr": done.stderr[-2000:],
                              "folders": [str(p) for p in folders], "output": done.stdout + done.stderr}
    if folders:
        result["findings"] = json.loads((folders[-1] / "findings.json").read_text(encoding="utf-8"))
    return result


def run_all(jobs: Sequence[Job], most: int = 6) -> dict[str, dict[str, Any]]:
    """Start all jobs at once (at most `most`, and at most two per core, at a time), so a module
    costs about its slowest few runs rather than their sum: {job key: run_cli's result}."""
    keys = [job.key for job in jobs]
    assert len(set(keys)) == len(keys), "two jobs share a key"
    with ThreadPoolExecutor(max_workers=max(2, min(most, 2 * (os.cpu_count() or 1)))) as pool:
        return dict(zip(keys, pool.map(run_cli, jobs)))


def builtin_and_fresh_runs(cache: Any, scenarios: Mapping[str, tuple[str, str]],
                           jobs: Sequence[Job] = ()) -> dict[str, dict[str, Any]]:
    """A module's runs: each built-in `scenarios[key] = (scenario, lang)` from the session's
    shared cache (the `builtin_runs` fixture: one run per scenario and language serves every
    test), and `jobs` (faults, parameters, anything not a plain built-in run) run fresh, both at
    once: {key: run_cli's result}."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        cached = pool.submit(cache.get_many, list(scenarios.values()))
        fresh = run_all(jobs) if jobs else {}
        by_key = cached.result()
    assert not set(fresh) & set(scenarios), "a job shares a key with a built-in run"
    return {**{key: by_key[ref] for key, ref in scenarios.items()}, **fresh}


def builtin_refs(names: Iterable[str], ja: str | None = None) -> dict[str, tuple[str, str]]:
    """{name: (name, lang)} for builtin_and_fresh_runs: en, except the one named `ja`."""
    return {name: (name, "ja" if name == ja else "en") for name in names}


def report_folder(result: Mapping[str, Any]) -> Path:
    """The newest report folder of a run."""
    return Path(result["folders"][-1])


def assert_verdict(result: Mapping[str, Any], roots: list[str], warns: list[str],
                   outcome: str | None = None) -> dict[str, Any]:
    """A scenario's run: exit 1 with root causes, else 0 (3 for `outcome="inconclusive"`: the
    symptom left unexplained); exactly these root causes and warnings in this order; the
    matching outcome; report.html and report.ipynb written. Returns findings."""
    outcome = outcome or ("problems_found" if roots else "healthy")
    assert result["exit"] == sf_findings.EXIT_CODES[outcome], result["stderr"]
    f = result["findings"]
    assert (f["root_causes"], f["warnings"]) == (roots, warns)
    assert f["outcome"] == outcome
    if outcome == "inconclusive":
        assert f["reasons"], f
    folder = report_folder(result)
    assert (folder / "report.html").is_file() and (folder / "report.ipynb").is_file()
    return f


def assert_inconclusive_with_report(result: Mapping[str, Any]) -> dict[str, Any]:
    """A run a fault broke: exit 3, outcome inconclusive (or error), at least one check in error,
    and still a report.html and findings.json. Returns findings."""
    assert result["exit"] == 3, result["stderr"]
    f = result["findings"]
    assert f["outcome"] in ("inconclusive", "error")
    assert any(c["status"] == "error" for c in f["checks"])
    folder = report_folder(result)
    assert (folder / "report.html").is_file() and (folder / "findings.json").is_file()
    return f


def assert_same_verdict(result: Mapping[str, Any], base: Mapping[str, Any], exit_code: int) -> None:
    """A run whose faults the client recovered from: the same exit code (`exit_code`) and the
    same root causes and warnings as the run of its base world without faults."""
    assert result["exit"] == base["exit"] == exit_code, result["stderr"]
    assert (result["findings"]["root_causes"], result["findings"]["warnings"]) == (
        base["findings"]["root_causes"], base["findings"]["warnings"])


def error_checks(findings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The checks of a findings.json that ended in error (what a fault broke)."""
    return [c for c in findings["checks"] if c["status"] == "error"]


# ----------------------------------------------------------------------- canaries

SECRET_KEYS = {"password", "security_token", "client_secret", "probe_password", "probe_token"}
SESSION_ID = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{20,}")


def _collect_secrets(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SECRET_KEYS and isinstance(value, str) and value:
                found.add(value)
            _collect_secrets(value, found)
        for user in node.get("users", []) if isinstance(node.get("users"), list) else []:
            if isinstance(user, dict) and user.get("password") and user.get("security_token"):
                found.add(user["password"] + user["security_token"])
    elif isinstance(node, list):
        for item in node:
            _collect_secrets(item, found)
    return found


def scenario_document(scenario: str | Path) -> Any:
    """A built-in scenario's name, or a scenario file's path, as its parsed YAML."""
    path = Path(scenario) if str(scenario).endswith((".yml", ".yaml")) else SCENARIOS / f"{scenario}.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def secrets_in(scenario: Any, also: Iterable[str] = ()) -> set[str]:
    """Every secret value a scenario holds (each password, token, password+token, client secret
    and probe credential, at any depth) plus the demo app's client secret and `also`.

    Read from the YAML independently of scrub.known_secrets, so a secret that function forgets
    is still a canary here. `scenario` is a built-in name, a path, or the parsed document."""
    from sfdoctor.demo.store import DEMO_CLIENT_SECRET

    document = scenario if isinstance(scenario, (dict, list)) else scenario_document(scenario)
    return _collect_secrets(document, {DEMO_CLIENT_SECRET, *also})


def artifact_texts(result: Mapping[str, Any]) -> dict[str, str]:
    """What a run printed ("output") and every file below its --out folder (the report folder,
    the index, anything else), by path relative to that folder."""
    out = report_folder(result).parents[2]
    texts = {"output": result["output"]}
    texts.update({str(p.relative_to(out)): p.read_text(encoding="utf-8", errors="replace")
                  for p in out.rglob("*") if p.is_file()})
    return texts


def scan_for_secrets(texts: Mapping[str, str] | str, secrets: Iterable[str],
                     patterns: Mapping[str, re.Pattern[str]] | None = None) -> list[str]:
    """Where a secret value or a pattern (default: a Salesforce session id) occurs: one line per
    text and kind, naming the text and how many values, never the value itself. [] when clean."""
    if isinstance(texts, str):
        texts = {"text": texts}
    patterns = {"a session id": SESSION_ID} if patterns is None else patterns
    secrets = sorted(set(secrets))
    problems = []
    for name, text in texts.items():
        leaked = [s for s in secrets if s in text]
        if leaked:
            problems.append(f"{name} holds {len(leaked)} secret value(s)")
        problems.extend(f"{name} holds {what}" for what, pattern in patterns.items() if pattern.search(text))
    return problems


def assert_no_secret_in_artifacts(result: Mapping[str, Any], secrets: Iterable[str],
                                  patterns: Mapping[str, re.Pattern[str]] | None = None) -> None:
    """The canary test of one run: its report.html and the index are among the texts scanned,
    and no secret value or pattern is in any of them."""
    texts = artifact_texts(result)
    assert any(name.endswith("report.html") for name in texts) and "index.jsonl" in texts
    assert scan_for_secrets(texts, secrets, patterns) == []


# ----------------------------------------------------------------------- the notebook and the CLI

def run_plain_papermill(runbook: str, org: str, tmp: Path) -> str:
    """`papermill notebooks/RUNBOOK.ipynb out.ipynb -p org ORG` as a user would type it (no
    sfdoctor runner, no demo URL inherited); asserts it succeeded and returns the output notebook."""
    out = tmp / "out.ipynb"
    done = subprocess.run([str(BIN / "papermill"), str(NOTEBOOKS / f"{runbook}.ipynb"), str(out), "-p", "org", org],
                          capture_output=True, text=True, timeout=300, env=env_without_demo_url(), cwd=tmp)
    assert done.returncode == 0, done.stderr[-2000:]
    return out.read_text(encoding="utf-8")


def assert_notebook_shape(runbook: str) -> None:
    """The committed notebook: no outputs; exactly one `parameters` cell, holding `org = "demo"`,
    `lang = "en"` and exactly the runbook's declared parameters; exactly one `skip-execution`
    cell (the form)."""
    nb = json.loads((NOTEBOOKS / f"{runbook}.ipynb").read_text(encoding="utf-8"))
    tags = [t for c in nb["cells"] for t in (c.get("metadata", {}).get("tags") or [])]
    assert tags.count("parameters") == 1 and tags.count("skip-execution") == 1
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    params = next(c for c in nb["cells"] if "parameters" in (c["metadata"].get("tags") or []))
    source = "".join(params["source"])
    assert 'org = "demo"' in source and 'lang = "en"' in source
    names = {line.split("=")[0].strip() for line in source.splitlines() if "=" in line}
    assert names == {"org", "lang"} | {p.name for p in runbooks.load(runbook).parameters}


def assert_diagnosed_here_first(runbook: str, text: str) -> None:
    """`sfdoctor diagnose --json TEXT` ranks `runbook` first, strictly above every other match."""
    done = subprocess.run([SFDOCTOR, "diagnose", "--json", text], capture_output=True, text=True, timeout=60,
                          env=env_without_demo_url())
    assert done.returncode == 0, done.stderr
    ranked = json.loads(done.stdout)
    assert ranked[0]["runbook"] == runbook
    assert all(m["score"] < ranked[0]["score"] for m in ranked[1:])
