"""Runbooks register themselves: each runbook module says its checks, in notebook order, once.

A runbook is `runbooks/<id>.yml` (texts, parameters, causes), one module
`sfdoctor/runbook_checks/<id with _ for ->.py` (its checks), `notebooks/<id>.ipynb`, its
scenarios and its tests. Nothing shared lists runbooks: as papermill finds its engines in
a registry that engines enter themselves, `get(id)` imports the module named after the
runbook and `all_runbooks()` imports every module of the package; each module enters
itself by building its `Runbook`:

    RUNBOOK = Runbook("sia-auth-failure", SiaFacts)

    @RUNBOOK.check("error-url")            # the check id, written once
    def error_url(conn: Connection, facts: SiaFacts, lang: str = "en") -> list[Finding]:
        ...
        return [RUNBOOK.finding("warn", lang, cause="UNRECOGNIZED_ERROR", evidence=..., summary=...)]

    @RUNBOOK.demo_operator
    def demo_operator(info: DemoInfo) -> dict: ...  # what the demo operator answers (parameters)

`RUNBOOK.finding` is how a check builds a finding: the running check's id comes from the
decorator (a context variable set while the check runs), title and fix from the YAML
(`spec.finding`, the one builder). Checks run in the order they are decorated (`steps`);
`step=False` registers a check the notebook calls on its own terms.
"""
from __future__ import annotations

import contextvars
import functools
import importlib
import logging
import pkgutil
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from .findings import Finding
from .i18n import pick, placeholders, t

if TYPE_CHECKING:
    from .demo.info import DemoInfo
    from .runbooks import RunbookSpec

PACKAGE = "sfdoctor.runbook_checks"

CheckFn = Callable[..., list[Finding]]
F = TypeVar("F", bound=Callable[..., list[Finding]])

_log = logging.getLogger(__name__)
_RUNBOOKS: dict[str, "Runbook"] = {}
_running_check: contextvars.ContextVar[str | None] = contextvars.ContextVar("sfdoctor_running_check", default=None)


def module_name(runbook_id: str) -> str:
    """`sia-auth-failure` -> `sfdoctor.runbook_checks.sia_auth_failure`."""
    return f"{PACKAGE}.{runbook_id.replace('-', '_')}"


class Runbook:
    """One runbook's checks (in notebook order), its facts type and its demo operator."""

    def __init__(self, runbook_id: str, facts: type) -> None:
        if runbook_id in _RUNBOOKS:
            raise ValueError(f"runbook {runbook_id} is registered twice")
        self.id = runbook_id
        self.facts = facts
        self.steps: list[CheckFn] = []
        self.checks: dict[str, CheckFn] = {}
        self._demo_operator: Callable[["DemoInfo"], dict[str, Any]] | None = None
        _RUNBOOKS[runbook_id] = self

    def __repr__(self) -> str:
        return f"Runbook({self.id!r}, {len(self.checks)} checks)"

    # ------------------------------------------------------------------ registration
    def check(self, check_id: str, *, step: bool = True) -> Callable[[F], F]:
        """Register a check under `check_id` (declared in the YAML's `checks:`); in `steps`
        unless `step=False`. Findings the check builds with `finding` carry this id."""
        if check_id in self.checks:
            raise ValueError(f"runbook {self.id}: check {check_id} is registered twice")

        def register(fn: F) -> F:
            @functools.wraps(fn)
            def run(*args: Any, **kw: Any) -> list[Finding]:
                token = _running_check.set(check_id)
                try:
                    return fn(*args, **kw)
                finally:
                    _running_check.reset(token)

            run.check_id = check_id  # type: ignore[attr-defined]  # RunSession.check names errors by it
            self.checks[check_id] = run
            if step:
                self.steps.append(run)
            return run  # type: ignore[return-value]

        return register

    def demo_operator(self, fn: Callable[["DemoInfo"], dict[str, Any]]) -> Callable[["DemoInfo"], dict[str, Any]]:
        """Register what the demo operator answers for this runbook's parameters, given the
        simulator's info document (spec/scenario-format.md "The demo operator")."""
        self._demo_operator = fn
        return fn

    def operator_answers(self, info: "DemoInfo") -> dict[str, Any]:
        """The registered demo operator's answers ({} when the runbook registers none)."""
        return dict(self._demo_operator(info)) if self._demo_operator is not None else {}

    # ------------------------------------------------------------------ texts and findings
    def spec(self) -> "RunbookSpec":
        """The runbook's YAML (loaded on each use; runbooks.load caches it by file mtime)."""
        from . import runbooks

        return runbooks.load(self.id)

    def finding(self, status: str, lang: str, *, check_id: str | None = None, cause: str | None = None,
                evidence: dict[str, Any] | None = None, summary: str = "", edition: str | None = None,
                unexplained: bool = False, case: str | None = None,
                values: dict[str, Any] | None = None) -> Finding:
        """A finding of the running check (or of `check_id`): title and fix from the YAML.
        `unexplained=True` declares that this finding is the symptom's own evidence (a refused
        login, failing history rows, an error in a pasted URL, a Failed sync): the engine's one
        outcome rule (findings.outcome) then refuses `healthy` unless a fail explains it."""
        cid = check_id or _running_check.get()
        if cid is None:
            raise RuntimeError(f"runbook {self.id}: a finding outside a registered check needs check_id")
        spec = self.spec()
        found = spec.finding(cid, status, lang, cause=cause, evidence=evidence, summary=summary, edition=edition)
        found.unexplained = unexplained
        case = case or (evidence or {}).get("which")
        key = self._case_key(spec, cause, case if isinstance(case, str) else None, edition, lang,
                             found.fix) if cause else None
        if found.fix and key:
            # The case the check found (`case`, else the evidence's "which"), with its values
            # (`values` over the evidence's), instead of the menu of every case the cause's text
            # in the YAML covers (that stays whole for the form and `sfdoctor list`).
            said = {k: v for k, v in (evidence or {}).items() if isinstance(v, (str, int))}
            said.update(values or {})
            said.setdefault("username", self.msg(lang, "the_user") if "the_user" in spec.messages else "-")
            try:
                found.fix = self.msg(lang, key, **said)
            except KeyError:
                # A value the case's text names was not passed: the cause's whole text stays (a
                # menu, but true), and the run says which value was missing where it is read (the
                # cell's stderr in the notebook; findings.json has no place for it).
                # tests/test_case_fix_values.py reads every call site so that this does not ship.
                names = sorted(placeholders(pick(spec.messages[key], lang)) - set(said))
                _log.warning(t("run.fix.value_missing", lang, runbook=self.id, check=cid, cause=cause, text=key,
                               names=", ".join(names)))
        return found

    @staticmethod
    def _case_key(spec: "RunbookSpec", cause: str, case: str | None, edition: str | None, lang: str,
                  fix: str) -> str | None:
        """The message that says this finding's fix with its values: `fix_<cause>_<case>` (the
        case the check found), else `fix_<cause>` (a cause of one case, said with its values);
        each first in the edition family's own wording (`..._professional`) where its Setup paths
        differ. A cause's edition text (fix_by_edition) outranks a message not written for it."""
        from .runbooks import edition_family

        family = edition_family(edition)
        edition_text = family is not None and fix != spec.texts(lang).fix(cause, None)
        for base in ([f"fix_{cause.lower()}_{case}"] if case else []) + [f"fix_{cause.lower()}"]:
            if family and f"{base}_{family}" in spec.messages:
                return f"{base}_{family}"
            if base in spec.messages and not edition_text:
                return base
        return None

    def msg(self, lang: str, key: str, **values: Any) -> str:
        """The YAML's `messages.<key>` in `lang`, formatted."""
        return self.spec().texts(lang).msg(key, **values)

    # ------------------------------------------------------------------ running
    def run_all(self, run: Any, facts: Any) -> None:
        """Every step through `run.check`, in order (the form cell runs them all)."""
        for step in self.steps:
            run.check(step, facts)


def get(runbook_id: str) -> Runbook:
    """The runbook registered under `runbook_id`, importing its module on first use."""
    if runbook_id not in _RUNBOOKS:
        try:
            importlib.import_module(module_name(runbook_id))
        except ModuleNotFoundError as exc:
            if exc.name != module_name(runbook_id):
                raise
            raise KeyError(f"no runbook module {module_name(runbook_id)}") from None
    if runbook_id not in _RUNBOOKS:
        raise KeyError(f"{module_name(runbook_id)} registers no Runbook({runbook_id!r})")
    return _RUNBOOKS[runbook_id]


def all_runbooks() -> list[Runbook]:
    """Every runbook module of the package, imported; sorted by id."""
    package = importlib.import_module(PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{PACKAGE}.{info.name}")
    return sorted(_RUNBOOKS.values(), key=lambda rb: rb.id)


__all__ = ["PACKAGE", "Runbook", "all_runbooks", "get", "module_name"]
