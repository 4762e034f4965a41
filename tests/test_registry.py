"""The runbook registry: every spec has its module, every module registers itself and its checks."""
from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

from sfdoctor import registry, runbooks
from sfdoctor.findings import Finding

ROOT = Path(__file__).resolve().parents[1]
SPECS = {spec.id: spec for spec in runbooks.all_specs(ROOT / "runbooks")}


def test_every_spec_has_a_module_and_every_module_a_spec():
    assert [rb.id for rb in registry.all_runbooks()] == sorted(SPECS)


@pytest.mark.parametrize("runbook_id", sorted(SPECS))
def test_checks_are_registered_once_and_declared(runbook_id):
    book = registry.get(runbook_id)
    spec = SPECS[runbook_id]
    assert book.steps, "a runbook registers at least one step"
    assert set(book.checks) <= set(spec.checks), "every registered check id is declared in the YAML"
    assert all(fn.check_id in book.checks for fn in book.steps)
    assert hasattr(book.facts, "from_params")


@pytest.mark.parametrize("runbook_id", sorted(SPECS))
def test_the_notebook_runs_the_registered_steps_in_order(runbook_id):
    """The notebook's `run.check(module.fn, ...)` calls name the registered steps, in the same order."""
    nb = json.loads((ROOT / "notebooks" / f"{runbook_id}.ipynb").read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"]
                     if c["cell_type"] == "code" and "skip-execution" not in c["metadata"].get("tags", []))
    called = re.findall(r"run\.check\(\w+\.(\w+)", code)
    steps = [fn.__name__ for fn in registry.get(runbook_id).steps]
    assert [name for name in called if name in steps] == steps
    assert registry.module_name(runbook_id).rsplit(".", 1)[1] in code


@pytest.mark.parametrize("runbook_id", sorted(SPECS))
def test_every_cause_a_module_names_is_declared_and_every_stable_one_is_named(runbook_id):
    """A stable code (spec/causes.md) dropped from the YAML, or one the code no longer gives, fails here."""
    source = Path(importlib.import_module(registry.module_name(runbook_id)).__file__).read_text(encoding="utf-8")
    named = set(re.findall(r'cause="([A-Z][A-Z0-9_]+)"', source))
    spec = SPECS[runbook_id]
    assert named <= set(spec.causes)
    quoted = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', source))
    assert set(spec.stable_causes()) <= quoted | _named_by_topic_helpers()


def _named_by_topic_helpers() -> set[str]:
    """Causes that shared topic helpers decide (login_history's verdict, login_probe's interpretation)."""
    text = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "lib" / "sfdoctor" / "checks").glob("*.py"))
    return set(re.findall(r'"([A-Z][A-Z0-9_]+)"', text))


def test_a_finding_takes_the_running_checks_id():
    book = registry.get("sia-auth-failure")
    found = book.checks["error-url"](None, book.facts.from_params(None), lang="ja")
    assert isinstance(found[0], Finding) and found[0].id == "error-url"
    assert found[0].title == SPECS["sia-auth-failure"].texts("ja").title("error-url")
    with pytest.raises(RuntimeError, match="outside a registered check"):
        book.finding("pass", "en")


def test_an_unknown_runbook_is_a_key_error():
    with pytest.raises(KeyError, match="no runbook module"):
        registry.get("no-such-runbook")


def test_the_simulator_knows_no_runbook():
    """What the demo operator answers for a runbook's parameters is said by that runbook's module:
    the simulator's code names no runbook and none of a runbook's own notions (its app names)."""
    from sfdoctor.runbook_checks import sia_auth_failure

    strings = set()
    for path in (ROOT / "lib" / "sfdoctor" / "demo").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        strings |= {n.value for n in ast.walk(tree)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings}
    text = "\n".join(strings)
    for runbook_id in SPECS:
        assert runbook_id not in text
    for app in sia_auth_failure.APP_NAMES:
        assert app not in strings


@pytest.mark.parametrize("runbook_id", sorted(SPECS))
def test_each_runbook_answers_for_its_own_parameters_in_demo_mode(runbook_id):
    from sfdoctor import demo_operator
    from sfdoctor.clients import demo_info
    from sfdoctor.demo.runtime import ensure_simulator
    import requests

    with requests.Session() as session:
        info = demo_info(session, ensure_simulator(SPECS[runbook_id].default_scenario))
    answers = demo_operator.answers(info, runbook_id)
    named = info.operator_overrides.get("probe_username")
    # the probe user is the one the scenario names, with that user's own credentials; none is invented
    assert answers.get("probe_username") == named and ("probe_password" in answers) == bool(named)
    assert set(registry.get(runbook_id).operator_answers(info)) <= set(answers)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_case_text_missing_a_value_keeps_the_causes_text_and_says_which(lang, caplog):
    """The registry's fallback is not silent: the finding keeps the cause's whole text (a menu, but
    true) and the run's log names the value, the message and the check (the cell's stderr in a
    notebook). tests/test_case_fix_values.py keeps a call site from shipping this way."""
    book = registry.get("sia-auth-failure")
    whole = SPECS["sia-auth-failure"].texts(lang).fix("SANDBOX_NOT_CONFIGURED")
    with caplog.at_level("WARNING", logger="sfdoctor.registry"):
        found = book.finding("fail", lang, check_id="target-org", cause="SANDBOX_NOT_CONFIGURED",
                             evidence={"my_domain_host": "acme--uat.sandbox.my.salesforce.com"})
    assert found.fix == whole
    [said] = [r.getMessage() for r in caplog.records if r.name == "sfdoctor.registry"]
    assert "aimed" in said and "fix_sandbox_not_configured" in said and "target-org" in said
    assert "SANDBOX_NOT_CONFIGURED" in said and "my_domain_host" not in said
    caplog.clear()
    with caplog.at_level("WARNING", logger="sfdoctor.registry"):
        named = book.finding("fail", lang, check_id="target-org", cause="SANDBOX_NOT_CONFIGURED",
                             evidence={"my_domain_host": "acme--uat.sandbox.my.salesforce.com"}, values={"aimed": ""})
    assert "acme--uat.sandbox.my.salesforce.com" in named.fix and named.fix != whole and not caplog.records
