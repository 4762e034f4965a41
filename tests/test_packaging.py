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
    """Each notebook is a runbook's, but start-here.ipynb, which picks one and runs it."""
    for path in _notebooks():
        if path.name == "start-here.ipynb":
            continue
        assert (ROOT / "runbooks" / f"{path.stem}.yml").exists(), f"{path.name} has no runbooks/{path.stem}.yml"


# ------------------------------------------------------------------ the lock
LOCK = ROOT / "requirements" / "lock.txt"


def _locked() -> list:
    """The lock's pins as packaging Requirements (`name==version ; marker`)."""
    from packaging.requirements import Requirement

    pins = []
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pins.append(Requirement(line))
    return pins


def _declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *(r for extra in project.get("optional-dependencies", {}).values() for r in extra)]


def test_the_lock_pins_every_declared_dependency_within_its_range() -> None:
    """A dependency added to or re-ranged in pyproject.toml without `make lock` fails here."""
    from packaging.requirements import Requirement

    pins: dict[str, list] = {}
    for pin in _locked():
        spec = str(pin.specifier)
        assert spec.startswith("==") and "," not in spec, f"{LOCK.name}: {pin} is not one exact version"
        pins.setdefault(_name(pin.name), []).append(pin)
    for text in _declared():
        req = Requirement(text)
        locked = pins.get(_name(req.name))
        assert locked, f"{req.name} is declared in pyproject.toml but not in {LOCK.name}: run `make lock`"
        for pin in locked:
            version = str(pin.specifier).removeprefix("==")
            assert req.specifier.contains(version, prereleases=True), (
                f"{LOCK.name} pins {pin}, pyproject.toml asks {text}: run `make lock`")


def test_a_make_built_environment_holds_the_locked_versions() -> None:
    """`make` installs exactly the lock; an environment not built by make (conda) is not held to it."""
    import sys
    from importlib.metadata import PackageNotFoundError, version

    import pytest

    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip("not the checkout's .venv: installed some other way than `make`")
    drift = []
    for pin in _locked():
        if pin.marker is not None and not pin.marker.evaluate():
            continue
        want = str(pin.specifier).removeprefix("==")
        try:
            have = version(pin.name)
        except PackageNotFoundError:
            have = None
        if have != want:
            drift.append(f"{pin.name} {have or 'missing'} (lock: {want})")
    assert not drift, f"the .venv differs from {LOCK.name}: {', '.join(drift)}; run `make setup`"
