"""Every built-in scenario of every runbook, in English and Japanese, through the engine's own
session (no kernel): a world that carries its runbook's symptom never ends `healthy`.

Every built-in world except the `*healthy*` ones is built around a failure (spec/scenario-format.md:
one scenario per cause or adversarial case), so its run must say what is wrong (`problems_found`)
or that it could not tell (`inconclusive`, with reasons) — never that nothing is wrong.
"""
from __future__ import annotations

import pytest
import yaml

import runbook_harness as H
from sfdoctor import registry
from sfdoctor.session import RunSession

SCENARIOS = sorted(p for p in H.SCENARIOS.glob("*.yml"))
# Worlds where the connection works and only a prevention warning applies (the symptom is absent):
# healthy with that warning is the honest answer there.
PREVENTION = {"marketo-unwanted-fields", "marketo-duplicates", "mc-not-api-user"}


def _run(path, lang):
    runbook = yaml.safe_load(path.read_text(encoding="utf-8"))["runbook"]
    module = __import__(registry.module_name(runbook), fromlist=["run_all"])
    run = RunSession.open(runbook, f"demo:{path.stem}", lang, {}, display=False)
    facts_type = registry.get(runbook).facts
    module.run_all(run, facts_type.from_params(run.conn))
    return run.finish().to_json()


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_a_world_with_the_symptom_is_never_healthy(path, lang):
    data = _run(path, lang)
    if path.stem in PREVENTION:
        assert data["outcome"] == "healthy" and data["warnings"], data["checks"]
    elif "healthy" not in path.stem:
        assert data["outcome"] != "healthy", [(c["id"], c["status"], c["summary"]) for c in data["checks"]]
    if data["outcome"] == "inconclusive":
        assert data["reasons"] and all(" - " not in r.split(":")[-1][:3] for r in data["reasons"])
    assert data["outcome"] == "healthy" or data["reasons"] or data["root_causes"]
