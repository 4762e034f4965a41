"""One `sfdoctor run` per built-in scenario and language, shared by every test that needs it.

Running a runbook end to end (papermill, a real kernel, the report) costs about two seconds;
the golden test, the runbook modules' CLI tests and their canary scans all want the same runs.
Each (scenario, lang) runs once per pytest session into a cache folder that every pytest-xdist
worker of that session sees; a file lock per key makes the first worker that asks run it and
every later asker (in any worker) read what it left.

The key is the built-in scenario's name and the language; the runbook is the one the scenario
names (`runbook:` in its YAML). A run's result is what `runbook_harness.run_cli` returns, so a
cached run is used exactly like a fresh one (`report_folder`, `artifact_texts`, ...).
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterable

import yaml
from filelock import FileLock

import runbook_harness as H

LANGS = ("en", "ja")


def builtin_scenarios() -> list[str]:
    """Every built-in scenario's name, sorted (the files in lib/sfdoctor/demo/scenarios)."""
    return sorted(p.stem for p in H.SCENARIOS.glob("*.yml"))


def runbook_of(scenario: str) -> str:
    """The runbook a built-in scenario names in its `runbook:` key."""
    return yaml.safe_load((H.SCENARIOS / f"{scenario}.yml").read_text(encoding="utf-8"))["runbook"]


def all_keys() -> list[tuple[str, str]]:
    """Every (scenario, lang) the built-in scenarios give."""
    return [(s, lang) for s in builtin_scenarios() for lang in LANGS]


def session_cache_dir(tmp_path_factory: Any) -> Path:
    """A folder shared by every xdist worker of this pytest session (the workers' basetemps
    are siblings under one session folder), and by the single process without xdist."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = root / "builtin-runs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class BuiltinRuns:
    """The session's cache: `get(scenario, lang)` and `get_many(keys)` return run_cli results."""

    def __init__(self, folder: Path, most: int = 4):
        self.folder = folder
        self.most = most

    def get(self, scenario: str, lang: str = "en") -> dict[str, Any]:
        """The result of `sfdoctor run <its runbook> --org demo:SCENARIO --lang LANG`, run at
        most once per session whichever worker asks first."""
        stem = self.folder / f"{scenario}.{lang}"
        result_file = stem.with_suffix(stem.suffix + ".result.json")
        with FileLock(str(stem) + ".lock"):
            if result_file.is_file():
                return json.loads(result_file.read_text(encoding="utf-8"))
            job = H.Job(f"{scenario}.{lang}", runbook_of(scenario), f"demo:{scenario}",
                        self.folder / f"{scenario}.{lang}.out", ("--lang", lang))
            result = H.run_cli(job)
            tmp = result_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
            tmp.replace(result_file)
            return result

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Several runs at once (at most `most` processes from this worker at a time): the
        missing ones run in parallel, those another worker holds are waited for."""
        keys = list(dict.fromkeys(keys))
        with ThreadPoolExecutor(max_workers=max(1, self.most)) as pool:
            return dict(zip(keys, pool.map(lambda k: self.get(*k), keys)))
