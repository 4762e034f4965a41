"""`sfdoctor run`: execute a runbook notebook headlessly and write its dated audit report.

Order matters (spec/cli.md): every bad input (runbook, parameter, org, scenario) is refused
with one line *before* a report folder exists; once the folder exists, every outcome is a
report (principle 6) — a timeout, a raising cell or a dead kernel still yields
report.ipynb, report.html and findings.json, with the reason as an `error` check.

The outcome comes from the findings the notebook published (`MIMETYPE` / `RUN_MIMETYPE`
outputs), never from papermill's cell metadata, which reads "completed" even after a cell
timeout. Everything written is scrubbed of the org's known secrets first.

Runs in parallel are meant to be processes (papermill's chdir is process-wide; the kernel's
extra environment is given to the kernel alone): absolute paths, no `cwd=`, the index
appended under a file lock.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ._imports import skip_slow_optional_imports

skip_slow_optional_imports()

import nbformat  # noqa: E402

from . import project_root, registry
from .errors import BadInput, check_lang, problem_text
from .findings import API_CALLS_METADATA, EXIT_CODES, MIMETYPE, RUN_MIMETYPE, SCHEMA, Finding, RunResult, iso, utcnow
from .findings import done_line as findings_done_line
from .i18n import Text, t
from .kernel import PREWARM_ENV, EarlyKernel, execute_notebook
from .params import orgs_file_params, validate_params  # noqa: F401 (validate_params: the runner's name too)
from .report_index import append_index, write_atomic
from .runbooks import VALIDATED_SPEC_ENV, load, spec_json, spec_path

if TYPE_CHECKING:
    from .runbooks import RunbookSpec

# What every runbook's first code cell imports, imported by its kernel ahead (see kernel.prewarm);
# the runbook's own module joins them (registry.module_name).
PREWARM_MODULES = ("sfdoctor.session", "sfdoctor.clients", "simple_salesforce")
SKIP_TAG = "skip-execution"

Progress = Callable[[str], None]


def _stderr(line: str) -> None:
    print(f"sfdoctor: {line}", file=sys.stderr, flush=True)


@dataclass
class RunOutcome:
    """What one run produced: its report folder, its findings and the exit code of spec/cli.md."""

    folder: Path
    result: RunResult
    findings: dict[str, Any]
    exit_code: int

    @property
    def outcome(self) -> str:
        return self.findings["outcome"]


# --------------------------------------------------------------------------------------
# Inputs: checked before anything is created
# --------------------------------------------------------------------------------------
def check_demo_answers(spec: RunbookSpec, base_url: str, lang: str, world: str = "") -> None:
    """Refuse a demo world whose `operator:` gives one of the runbook's parameters a value it does
    not take (spec/scenario-format.md: a load error, said with the file and the key path), before
    any folder, kernel or login."""
    import requests

    from .clients import demo_info
    from .demo_operator import check_overrides

    with requests.Session() as session:
        overrides = demo_info(session, base_url).operator_overrides
    try:
        check_overrides(spec, overrides)
    except ValueError as exc:
        said = problem_text(exc, lang)
        raise BadInput(f"{world}: {said}" if world else said) from None


def notebooks_dir(home: str | os.PathLike[str] | None = None) -> Path:
    return (Path(home).resolve() if home else project_root()) / "notebooks"


def notebook_path(spec: RunbookSpec, home: str | os.PathLike[str] | None = None) -> Path:
    path = notebooks_dir(home) / f"{spec.id}.ipynb"
    if not path.is_file():
        raise BadInput(Text("run.no_notebook", runbook=spec.id, path=str(path)), hint=Text("run.no_notebook_hint"))
    return path


# --------------------------------------------------------------------------------------
# Report folder
# --------------------------------------------------------------------------------------
def make_report_folder(out_dir: Path, runbook: str, slug: str, now: datetime) -> Path:
    """`OUT/YYYY-MM-DD/RUNBOOK/SLUG-HHMMSSZ[-N]/`, created atomically: never an existing one."""
    base = Path(out_dir).resolve() / now.strftime("%Y-%m-%d") / runbook
    base.mkdir(parents=True, exist_ok=True)
    stem = f"{slug}-{now.strftime('%H%M%S')}Z"
    for n in range(1, 10_000):
        folder = base / (stem if n == 1 else f"{stem}-{n}")
        try:
            folder.mkdir()  # atomic: of two runs in the same second, exactly one gets each name
        except FileExistsError:
            continue
        return folder
    raise RuntimeError(f"no free report folder name under {base}")  # pragma: no cover


def _executable_cells(nb: nbformat.NotebookNode) -> int:
    return sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip() and SKIP_TAG not in c.metadata.get("tags", []))


@dataclass
class _Execution:
    nb: nbformat.NotebookNode | None
    error: BaseException | None
    reason: str | None = None
    run_broke: bool = False
    timeout: bool = False


def _warm_report() -> None:
    try:
        from .report import warm_up

        warm_up()
    except Exception:  # pragma: no cover - only a head start; the report itself says what is wrong
        pass


def _execute(src: Path, params: dict[str, Any], lang: str, cell_timeout: float, total_timeout: float,
             env: Mapping[str, str], progress: Progress | None) -> _Execution:
    """papermill on the `python3` kernel; returns the executed (possibly partial) notebook.

    """
    try:
        kernel: EarlyKernel | None = EarlyKernel(env)  # boots while papermill is imported
    except Exception:  # e.g. no python3 kernel: execute_notebook meets it again and says so
        kernel = None
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    source = nbformat.read(src, as_version=4)
    total = _executable_cells(source) + (1 if params else 0)
    if progress:
        progress(t("run.progress.execute", lang, notebook=src.name, cells=total))
    deadline = time.monotonic() + total_timeout
    started = {"n": 0}
    hit_deadline = {"v": False}

    def timeout_func(cell: Any) -> float:
        # Each cell gets the per-cell limit, but never more than what is left of the total:
        # the overall timeout is enforced at cell granularity, with the kernel still stopped.
        remaining = deadline - time.monotonic()
        if remaining < cell_timeout:
            hit_deadline["v"] = True
        return max(1.0, min(cell_timeout, remaining))

    def on_cell_start(cell: Any = None, cell_index: int = 0, **_: Any) -> None:
        # nbclient calls this for every cell, also markdown and skipped ones: count what runs.
        if cell is None or cell.cell_type != "code" or not cell.source.strip() or SKIP_TAG in cell.metadata.get("tags", []):
            return
        started["n"] += 1
        hit_deadline["v"] = False
        if progress:
            progress(t("run.progress.cell", lang, i=started["n"], n=total))

    # While the kernel starts and runs, this process mostly waits: get nbconvert ready for
    # the report meanwhile (imports, compiled templates), off the critical path.
    warm = threading.Thread(target=_warm_report, name="sfdoctor-warm-report", daemon=True)
    warm.start()
    nb, error = execute_notebook(src, params, cell_timeout=cell_timeout, start_timeout=min(60, total_timeout),
                                 timeout_func=timeout_func, on_cell_start=on_cell_start, env=env,
                                 kernel=kernel)
    ex = _Execution(nb, error)
    if error is None:
        return ex
    if isinstance(error, CellTimeoutError):
        ex.timeout = True
        ex.reason = (t("run.total_timeout", lang, seconds=int(total_timeout)) if hit_deadline["v"]
                     else t("run.cell_timeout", lang, seconds=int(cell_timeout)))
    elif isinstance(error, PapermillExecutionError):
        ex.run_broke = True
        ex.reason = t("run.cell_raised", lang, cell=error.exec_count, ename=error.ename, evalue=str(error.evalue)[:200])
    elif isinstance(error, DeadKernelError):
        ex.run_broke = True
        ex.reason = t("run.kernel_died", lang)
    else:
        ex.run_broke = True
        ex.reason = t("run.kernel_failed", lang, reason=f"{type(error).__name__}: {' '.join(str(error).split())[:200]}")
    return ex


def collect(nb: nbformat.NotebookNode | None) -> tuple[list[Finding], dict[str, Any] | None]:
    """The findings and the final run payload the notebook published, in output order."""
    checks, run, _ = collect_with_cost(nb)
    return checks, run


def collect_with_cost(nb: nbformat.NotebookNode | None) -> tuple[list[Finding], dict[str, Any] | None, int]:
    """`collect`, plus the API calls the last published finding reported (for broken runs)."""
    checks: list[Finding] = []
    run: dict[str, Any] | None = None
    api_calls = 0
    for cell in (nb.cells if nb is not None else []):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            if MIMETYPE in data:
                checks.append(Finding.from_json(dict(data[MIMETYPE])))
                spent = (out.get("metadata") or {}).get(API_CALLS_METADATA)
                if isinstance(spent, int) and spent >= api_calls:
                    api_calls = spent
            if RUN_MIMETYPE in data:
                run = json.loads(json.dumps(data[RUN_MIMETYPE]))
    return checks, run, api_calls


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------
def run_runbook(
    runbook_id: str,
    org: str,
    params: Mapping[str, Any] | None,
    out_dir: str | os.PathLike[str] = "reports",
    lang: str = "en",
    *,
    cell_timeout: float = 120,
    total_timeout: float = 600,
    home: str | os.PathLike[str] | None = None,
    progress: Progress | None = _stderr,
    index_extra: Mapping[str, Any] | None = None,
    first_page_lang: str | None = None,
) -> RunOutcome:
    """Run one runbook against one org and write its report; see the module docstring.

    `index_extra`: more keys for the run's index line (never replacing the runner's own);
    `sfdoctor schedule` records there which entry and slot the run was for.
    `first_page_lang`: the language `OUT/index.html` takes if this run creates it (the
    command's explicit `--lang`; None lets the environment decide, index_page.page_language).

    Raises BadInput (exit 2, no folder) for an unknown runbook, parameter, org or scenario;
    returns a RunOutcome with exit code 0, 1 or 3 otherwise.
    """
    lang = check_lang(lang)
    home_path = Path(home).resolve() if home else None
    spec = load(runbook_id, home_path / "runbooks" if home_path else None)
    src = notebook_path(spec, home_path)
    given = validate_params(spec, params or {}, lang)

    from . import orgs, scrub

    if progress:
        progress(t("run.progress.resolve", lang, org=org))
    org_ref = orgs.resolve(org, runbook=spec)
    # The orgs file's [orgs.NAME.params.RUNBOOK] first, -p over it: the parameters a fleet run
    # gives this org (principle 12: a single run writes exactly the report a fleet would).
    given = {**orgs_file_params(spec, org_ref.config, org_ref.name, org_ref.source, lang), **given}
    from .preflight import check_access

    check_access(org_ref, spec)  # sfdoctor's own access misconfigured: exit 2, still no folder
    env: dict[str, str] = {}
    if home_path:
        env["SFDOCTOR_HOME"] = str(home_path)
    if org_ref.is_demo and org_ref.scenario_ref:
        from .clients import ensure_demo_simulator

        url = ensure_demo_simulator(org_ref.scenario_ref)  # a bad scenario: exit 2, still no folder
        check_demo_answers(spec, url, lang, str(org_ref.scenario_ref))  # a bad operator answer: exit 2, no folder
        env["SFDOCTOR_DEMO_URL"] = url
        if progress:
            progress(t("run.progress.simulator", lang, url=url))
    secrets = set(scrub.known_secrets(org_ref))

    started = utcnow()
    folder = make_report_folder(Path(out_dir), spec.id, org_ref.slug, started)
    pm_params = {"org": org, "lang": lang, **given}
    with tempfile.TemporaryDirectory(prefix="sfdoctor-run-") as tmp:
        # The spec validated above, handed to the kernel so that it need not import pydantic
        # and validate it again (~0.3 s of every kernel; see runbooks.VALIDATED_SPEC_ENV).
        handed = Path(tmp) / "spec.json"
        handed.write_text(spec_json(spec, spec_path(spec.id, home_path / "runbooks" if home_path else None)),
                          encoding="utf-8")
        kernel_env = {**env, VALIDATED_SPEC_ENV: str(handed),
                      PREWARM_ENV: ",".join((*PREWARM_MODULES, registry.module_name(spec.id)))}
        ex = _execute(src, pm_params, lang, cell_timeout, total_timeout, kernel_env, progress)
    if ex.reason and progress:
        progress(t("run.progress.broke", lang, reason=scrub.scrub_text(ex.reason, secrets)))

    checks, run_payload, api_calls_seen = collect_with_cost(ex.nb)
    if run_payload is not None and ex.error is None:
        findings = run_payload
    else:
        if ex.error is None:  # finished without calling run.finish(): the notebook is broken
            ex.run_broke, ex.reason = True, t("run.error.no_results", lang)
        defaults = {p.name: p.papermill_default() for p in spec.parameters if not p.secret}
        error_check = spec.finding(
            "run", "error", lang,
            evidence={"reason": ex.reason, "timeout": ex.timeout,
                      **({"exception": type(ex.error).__name__} if ex.error else {})},
            summary=t("run.error.run_broke", lang, reason=ex.reason),
        )
        result = RunResult(runbook=spec.id, org=org, lang=lang, started_at=started, finished_at=utcnow(),
                           parameters={**defaults, **given}, api_calls=api_calls_seen,
                           checks=[*checks, error_check],
                           run_broke=ex.run_broke)
        findings = result.to_json()
    findings["schema"] = SCHEMA

    if progress:
        progress(t("run.progress.write", lang))
    findings = _scrub_obj(scrub, findings, secrets)
    nb = ex.nb if ex.nb is not None else nbformat.read(src, as_version=4)
    nb = _scrub_nb(scrub, nb, secrets, {p.name for p in spec.parameters if p.secret})
    from .report import context_from_notebook, export_html

    html = export_html(nb, findings, lang, spec=spec, context=context_from_notebook(nb))
    html = scrub.scrub_html(html, secrets)
    write_atomic(folder / "report.ipynb", nbformat.writes(nb))
    write_atomic(folder / "report.html", html)
    write_atomic(folder / "findings.json", json.dumps(findings, ensure_ascii=False, indent=2) + "\n")

    exit_code = EXIT_CODES[findings["outcome"]]
    out_root = Path(out_dir).resolve()
    append_index(out_root, {
        "time": findings.get("started_at") or iso(started),
        "runbook": spec.id,
        "org": org,
        "outcome": findings["outcome"],
        "root_causes": findings.get("root_causes", []),
        "warnings": findings.get("warnings", []),
        "folder": folder.relative_to(out_root).as_posix(),
        "exit_code": exit_code,
        "sfdoctor_version": findings.get("sfdoctor_version"),
        **{k: v for k, v in (index_extra or {}).items()
           if k not in ("time", "runbook", "org", "outcome", "root_causes", "warnings", "folder", "exit_code")},
    })
    from .index_page import refresh

    refresh(out_root, first=first_page_lang)  # reports/index.html (in its own language) from the index, under its lock; never fails the run
    if progress:
        progress(findings_done_line(findings, lang))
    result = RunResult(
        runbook=findings["runbook"], org=findings["org"], lang=findings["lang"], started_at=started,
        finished_at=utcnow(), parameters=findings.get("parameters", {}), api_calls=findings.get("api_calls", 0),
        checks=[Finding.from_json(c) for c in findings.get("checks", [])],
        run_broke=findings["outcome"] == "error",
    )
    return RunOutcome(folder=folder, result=result, findings=findings, exit_code=exit_code)


def _scrub_obj(scrub: Any, obj: Any, secrets: set[str]) -> Any:
    cleaned = scrub.scrub_obj(obj, secrets)
    return obj if cleaned is None else cleaned


def _scrub_nb(scrub: Any, nb: nbformat.NotebookNode, secrets: set[str], secret_params: set[str]) -> nbformat.NotebookNode:
    cleaned = scrub.scrub_notebook(nb, secrets, secret_params=secret_params)
    return nb if cleaned is None else cleaned
