"""Runbook spec files for tests: the fixture spec, and specs written into a temporary folder."""
from __future__ import annotations

from pathlib import Path

import yaml

from sfdoctor import runbooks

FIXTURE_HOME = Path(__file__).parent / "fixtures" / "home"
FIXTURE_SPEC = FIXTURE_HOME / "runbooks" / "fixture-probe.yml"


def fixture_data() -> dict:
    return yaml.safe_load(FIXTURE_SPEC.read_text(encoding="utf-8"))


def write_spec(tmp_path: Path, data: dict, name: str | None = None) -> Path:
    d = tmp_path / "runbooks"
    d.mkdir(exist_ok=True)
    p = d / f"{name or data['id']}.yml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def minimal_sia() -> dict:
    """A spec for a real runbook id: every cause of spec/causes.md must be there."""
    causes = {code: {"level": level, "title": {"en": code, "ja": code}, "fix": {"en": "do it", "ja": "やる"}}
              for code, level in runbooks.load("sia-auth-failure").stable_causes().items()}
    return {"id": "sia-auth-failure", "title": {"en": "SIA", "ja": "SIA"}, "summary": {"en": "s", "ja": "s"},
            "symptoms": [{"text": "We were unable to authenticate your request"},
                         {"text": "リクエストを認証できませんでした"}],
            "causes": causes}
