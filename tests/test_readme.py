"""The README's examples work as written, in the order written, on a checkout with `.venv`.

Every command of the README's fenced `sh` blocks that needs nothing outside the machine runs
here, in a fresh directory (so `reports/` starts empty, as on a fresh clone) where `.venv` is
this checkout's. Left out, and why: the sections about a real org (they need one: a Salesforce
login, the Salesforce CLI from npm), `make ...` (sets up the checkout the test already runs
in) and `demo serve` (serves in the foreground until Ctrl-C).
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SKIPPED = (re.compile(r"^make\b"), re.compile(r"\bdemo serve\b"))
# Sections whose examples need a real org; their headings, in English and Japanese.
REAL_ORG_SECTION = re.compile(r"real org|本番組織", re.I)


def demo_sections(text: str) -> str:
    """The README without the `## ...` sections about a real org."""
    parts = re.split(r"^(?=## )", text, flags=re.M)
    return "".join(p for p in parts if not REAL_ORG_SECTION.search(p.splitlines()[0] if p else ""))


def readme_commands(text: str) -> list[str]:
    """The shell commands of the README's ```sh blocks, continuation lines joined, in order."""
    commands: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.M | re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        commands += [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return commands


def _runs_a_runbook(command: str) -> bool:
    """A command that writes a report: `sfdoctor run|triage`, or papermill on start-here.ipynb."""
    return bool(re.search(r"\bsfdoctor (run|triage)\b|\bpapermill notebooks/start-here\.ipynb\b", command))


def runnable(command: str) -> bool:
    return not any(p.search(command) for p in SKIPPED)


def test_readme_commands_parse() -> None:
    commands = readme_commands(README.read_text(encoding="utf-8"))
    assert any("sfdoctor run" in c for c in commands) and any("sfdoctor triage" in c for c in commands)
    assert any(c.startswith("make demo") for c in commands) and not runnable("make demo")
    assert not runnable(".venv/bin/sfdoctor demo serve --scenario token-missing   # x")
    # every quoted argument survives the joining of continuation lines
    oauth = next(c for c in commands if "oauth-connection-failure" in c and "run" in c)
    assert "-p oauth_app=Acme ETL" in " ".join(shlex.split(oauth, comments=True))
    demo = readme_commands(demo_sections(README.read_text(encoding="utf-8")))
    assert not any("--org acme" in c or c.startswith(("sf ", "npm ")) for c in demo)
    assert any("sfdoctor reports diff" in c for c in demo)


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "sfdoctor").exists(), reason="needs the checkout's .venv (make setup)")
def test_readme_examples_run_in_order(tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks")  # papermill's examples name them as in a clone
    env = {k: v for k, v in os.environ.items() if k not in ("SFDOCTOR_DEMO_URL", "SFDOCTOR_HOME")}
    env["SFDOCTOR_ORGS"] = str(tmp_path / "no-orgs.toml")
    ran = 0
    for command in filter(runnable, readme_commands(demo_sections(README.read_text(encoding="utf-8")))):
        proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)
        said = f"$ {command}\nexit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        assert "Traceback" not in proc.stderr, said
        if _runs_a_runbook(command):
            # a demo world with a failure in it is the point: 1 = problems found, as written
            assert proc.returncode in (0, 1), said
        else:
            assert proc.returncode == 0, said
        ran += 1
    assert ran >= 12
    runs = sum(1 for c in readme_commands(demo_sections(README.read_text(encoding="utf-8"))) if _runs_a_runbook(c))
    index = (tmp_path / "reports" / "index.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(index) == runs
