"""The project's own hygiene: dependency lists in step, notebooks committed clean."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!\[ ;]", req, maxsplit=1)[0].strip().lower().replace("_", "-")


def test_environment_yml_mirrors_pyproject() -> None:
    """Conda users get the package and its demo world (`make demo`, the default `--org demo`)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): r for r in project["dependencies"] + project["optional-dependencies"]["demo"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d): d for d in env["dependencies"] if isinstance(d, str)}
    conda.pop("python", None)
    conda.pop("pip", None)
    assert set(conda) == set(wanted), f"only in pyproject: {set(wanted) - set(conda)}; only in environment.yml: {set(conda) - set(wanted)}"
    for name, req in wanted.items():
        lower = re.search(r">=\s*([\d.]+)", req)
        if lower:
            assert lower.group(1) in conda[name], f"{name}: pyproject says {req}, environment.yml says {conda[name]}"
        upper = re.search(r"<\s*([\d.]+)", req)
        if upper:
            assert f"<{upper.group(1)}" in conda[name], f"{name}: pyproject says {req}, environment.yml says {conda[name]}"


def _notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_notebooks_are_committed_clean() -> None:
    """No outputs, no widget state, exactly one `parameters` cell, the standard python3 kernel."""
    assert _notebooks(), "no runbook notebooks found"
    for path in _notebooks():
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert not [c for c in code if c.get("outputs") or c.get("execution_count")], f"{path.name}: outputs committed"
        assert "widgets" not in nb.get("metadata", {}), f"{path.name}: widget state committed"
        params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(params) == 1, f"{path.name}: {len(params)} cells tagged parameters"
        src = "".join(params[0]["source"])
        assert re.search(r'^org\s*=\s*"demo"', src, re.M) and re.search(r'^lang\s*=\s*"en"', src, re.M), path.name
        assert nb["metadata"]["kernelspec"]["name"] == "python3", path.name
        assert not [c for c in code if "injected-parameters" in c.get("metadata", {}).get("tags", [])]


def test_every_notebook_has_a_runbook_spec() -> None:
    for path in _notebooks():
        assert (ROOT / "runbooks" / f"{path.stem}.yml").exists(), f"{path.name} has no runbooks/{path.stem}.yml"
