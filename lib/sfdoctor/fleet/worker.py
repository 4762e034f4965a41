"""The worker's side of a fleet run: one task is one org, all of its runbooks, in order.

Partitioning by org keeps each org's API rate limits (Salesforce's, Marketo's 100 calls per
20 s and 10 at once) on one worker, so they hold however many workers run. The task carries
everything the worker needs that is not secret: the org's orgs-file entry (references only),
its demo world's text, the runbooks and their parameters. Secrets are read here, from this
worker's own environment or keyring, and everything returned is already scrubbed of them:
the `fleet run` process only writes what it gets back.

Each runbook runs its notebook's cells in this process (`inprocess`), against a fresh
simulator for a demo world (as `sfdoctor run` would start one), and returns its findings,
the executed notebook and the report page. Before any runbook, the API budget guard reads
the org's daily API usage (and its Marketo instance's).
"""
from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..i18n import t

SKIP_SHARE = 0.90
WARN_SHARE = 0.70
MARKETO_DAILY_QUOTA = 50_000  # Marketo's default daily API quota; an orgs file may say otherwise
# Which runbooks use which service's API, and the orgs-file section a real org needs for them.
NEEDS_SECTION = {"marketo-sync-setup": "marketo", "mc-missing-oauth-token": "marketing_cloud"}
USES_MARKETO = {"marketo-sync-setup"}
_WARMED = {"done": False}


def warm_up() -> None:
    """Import and build what every org-runbook uses, once per worker process."""
    if _WARMED["done"]:
        return
    import logging

    # nbconvert and papermill log through traitlets; a worker's stderr is the fleet's progress
    # display, which must hold our lines only (the reports say what went wrong).
    for name in ("traitlets", "papermill", "nbconvert", "distributed.worker"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from ..report import warm_up as warm_report
    from . import inprocess

    inprocess.warm_up()
    import papermill.parameterize  # noqa: F401
    import simple_salesforce  # noqa: F401

    from .. import checks, clients, session  # noqa: F401
    from ..demo import server  # noqa: F401

    warm_report()
    _WARMED["done"] = True


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_org(task: Mapping[str, Any]) -> dict[str, Any]:
    """Run one org's runbooks; never raises for anything an org can do wrong."""
    from . import inprocess

    warm_up()
    with inprocess.EXECUTION_LOCK, tempfile.TemporaryDirectory(prefix="sfd-fleet-") as tmp:
        return _run_org(task, Path(tmp))


def _run_org(task: Mapping[str, Any], tmp: Path) -> dict[str, Any]:
    from .. import orgs
    from ..errors import SfdoctorError

    org = task["org"]
    lang = task.get("lang", "en")
    entry = dict(task.get("entry") or {})
    if task.get("world") is not None:
        world = tmp / f"{orgs.slugify(org)}.yml"
        world.write_text(task["world"], encoding="utf-8")
        entry["demo"] = str(world)
    out: dict[str, Any] = {"org": org, "worker": worker_name(), "results": []}
    with orgs.given_entries({org: entry}, task.get("source") or "orgs.toml"):
        try:
            org_ref = orgs.resolve(org)
        except SfdoctorError as exc:
            out["results"] = [_ended(r["runbook"], "error", t("fleet.error.config", lang, reason=_one_line(exc, lang))) for r in task["runbooks"]]
            return out
        world = _World(org_ref)
        world.serve()
        budget = api_budget(org_ref, entry, lang)
        secrets: set[str] | None = None  # the same for all the org's runbooks: read once
        out["budget"] = {k: v for k, v in budget.items() if k != "config_error"}
        for item in task["runbooks"]:
            runbook = item["runbook"]
            if budget.get("config_error"):
                out["results"].append(_ended(runbook, "error", t("fleet.error.config", lang, reason=budget["config_error"])))
                continue
            skip = budget.get("skip") or (budget.get("skip_marketo") if runbook in USES_MARKETO else None)
            if skip:
                out["results"].append(_ended(runbook, "skipped", skip))
                continue
            section = NEEDS_SECTION.get(runbook)
            if not org_ref.is_demo and section and section not in entry and "runbooks" not in entry:
                out["results"].append(_ended(runbook, "skipped", t("fleet.skip.prereq", lang, section=section, runbook=runbook)))
                continue
            world.serve()
            if secrets is None:
                from ..scrub import known_secrets

                secrets = set(known_secrets(org_ref))
            params = dict(item.get("params") or {})
            memory = item.get("probe_memory")
            fp, held = _probe_memory(org, runbook, params, memory)
            if held:
                # Off, and said so: the run reports that it could not look (session._probe_held).
                params["probe"], params["probe_held"] = False, str(memory.get("failed_at") or "unknown")
            result = run_runbook_here(runbook, org, org_ref, params, lang,
                                      float(task.get("runbook_timeout") or 120), secrets=secrets)
            if held:
                result["probe_held"] = held
            elif memory is not None:
                result["probe"] = _probe_outcome(result.get("findings"), memory["salt"], fp)
            warning = budget.get("warn_marketo") if runbook in USES_MARKETO else None
            warning = warning or budget.get("warn")
            if warning:
                result["budget_warning"] = warning
            out["results"].append(result)
    return out


def _probe_memory(org: str, runbook: str, params: Mapping[str, Any],
                  memory: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """Principle 7 on the worker, where the credentials are: the fingerprint of those this
    run would probe (salted as the fleet process said) and, when the last probe failed with
    them (or they cannot be read), why the probe stays off. The fleet process keeps the memory;
    it sends it only for runbooks that would probe."""
    if memory is None:
        return None, None
    from ..probe_memory import probe_fingerprint, probe_hold

    try:
        fp = probe_fingerprint(org, runbook, params, str(memory["salt"]))
    except Exception:  # noqa: BLE001 - unreadable credentials are an unknown fingerprint
        fp = None
    return fp, probe_hold(memory, fp)


def _probe_outcome(findings: Mapping[str, Any] | None, salt: str, fp: str | None) -> dict[str, Any] | None:
    """What the fleet process remembers of a run that could probe: None when it made no login
    attempt (the memory stays as it was), else the salted fingerprint and whether one failed."""
    from ..probe_memory import probe_failed, probe_ran

    if not findings or not probe_ran(findings):
        return None
    return {"salt": salt, "fingerprint": fp, "failed": probe_failed(findings)}


class _World:
    """An org's demo world, parsed once per task and served fresh (a new World, so no run sees
    another's login attempts) before the budget guard and before each runbook."""

    def __init__(self, org_ref: Any) -> None:
        self.ref = org_ref.scenario_ref if getattr(org_ref, "is_demo", False) else None
        self.scenario = None
        if self.ref and not os.environ.get("SFDOCTOR_DEMO_URL"):
            try:
                from ..demo.scenario import load_scenario

                self.scenario = load_scenario(self.ref)
            except Exception:  # noqa: BLE001 - the runbook's own connect reports a broken world
                self.scenario = None

    def serve(self) -> None:
        if self.scenario is not None:
            from ..demo.runtime import serve_world
            from ..demo.store import World

            serve_world(self.ref, World(self.scenario))


def _ended(runbook: str, outcome: str, reason: str) -> dict[str, Any]:
    return {"runbook": runbook, "outcome": outcome, "reason": reason, "findings": None}


def _one_line(exc: BaseException, lang: str = "en") -> str:
    one_line = getattr(exc, "one_line", None)
    return one_line(lang) if callable(one_line) else " ".join(str(exc).split())


# --------------------------------------------------------------------------------------
# The API budget guard
# --------------------------------------------------------------------------------------
def _percent(used: int, limit: int) -> int:
    return int(round(100 * used / limit)) if limit else 0


def api_budget(org_ref: Any, entry: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The org's daily API usage (`/limits`' DailyApiRequests) and its Marketo instance's
    (`stats/usage.json` against its quota), with the skip or warn texts they call for.

    What cannot be read is left out (the runbooks then meet the same trouble and report it);
    a configuration error (a variable unset, credentials refused) is `config_error`.
    """
    from .. import clients
    from ..errors import OrgConfigError

    found: dict[str, Any] = {}
    try:
        conn = clients.connect(org_ref)
    except clients.OwnLoginRefused:
        # The org refused sfdoctor's own sign-in (API disabled, app not approved): that is
        # often the diagnosis itself, and the runbooks say so as `sfdoctor run` would.
        _release(org_ref)
        return found
    except OrgConfigError as exc:
        _release(org_ref)
        return {"config_error": _one_line(exc, lang)}
    except Exception:  # network, simulator: the runbooks will say what is wrong
        _release(org_ref)
        return found
    try:
        limits = conn.sf.limits() if conn.sf is not None else {}
        daily = limits.get("DailyApiRequests") or {}
        limit, remaining = int(daily.get("Max") or 0), int(daily.get("Remaining") or 0)
        if limit:
            used = max(0, limit - remaining)
            found["salesforce"] = {"used": used, "max": limit, "percent": _percent(used, limit)}
            share = used / limit
            if share > SKIP_SHARE:
                found["skip"] = t("fleet.skip.budget", lang, percent=_percent(used, limit), max=limit)
            elif share > WARN_SHARE:
                found["warn"] = t("fleet.warn.budget", lang, percent=_percent(used, limit), max=limit)
    except Exception:  # noqa: BLE001 - an org that will not say its limits is still audited
        pass
    if org_ref.is_demo or "marketo" in entry:
        try:
            from ..marketo import MarketoClient

            client = MarketoClient.for_connection(conn)
            days = client.get("/rest/v1/stats/usage.json").get("result") or []
            used = int(sum(int(d.get("total") or sum(int(u.get("count", 0)) for u in d.get("users", [])))
                           for d in days[:1]))
            quota = int((entry.get("marketo") or {}).get("daily_quota") or MARKETO_DAILY_QUOTA)
            found["marketo"] = {"used": used, "max": quota, "percent": _percent(used, quota)}
            if used / quota > SKIP_SHARE:
                found["skip_marketo"] = t("fleet.skip.budget_marketo", lang, percent=_percent(used, quota), max=quota)
            elif used / quota > WARN_SHARE:
                found["warn_marketo"] = t("fleet.warn.budget_marketo", lang, percent=_percent(used, quota), max=quota)
        except Exception:  # noqa: BLE001 - no Marketo, or it refuses us: the runbook says why
            pass
    _release(org_ref)
    return found


def _release(org_ref: Any) -> None:
    """A demo world is served fresh for each runbook, as `sfdoctor run` starts one per run."""
    if getattr(org_ref, "is_demo", False) and org_ref.scenario_ref:
        from ..demo.runtime import release_simulator

        release_simulator(org_ref.scenario_ref)


# --------------------------------------------------------------------------------------
# One runbook, in this process
# --------------------------------------------------------------------------------------
def run_runbook_here(runbook: str, org: str, org_ref: Any, params: Mapping[str, Any], lang: str,
                     timeout: float, *, secrets: set[str] | None = None) -> dict[str, Any]:
    """What `sfdoctor run RUNBOOK --org ORG` would write, computed here and returned:
    findings, the executed notebook and its report page, all scrubbed of the org's secrets
    (`secrets`: `scrub.known_secrets(org_ref)`, given when the caller already has them)."""
    from .. import scrub
    from ..errors import SfdoctorError
    from ..findings import utcnow
    from ..runbooks import load
    from ..runner import collect_with_cost, notebook_path, validate_params
    from . import inprocess

    t0 = time.monotonic()
    try:
        spec = load(runbook)
        given = validate_params(spec, params, lang)
    except SfdoctorError as exc:
        return _ended(runbook, "error", t("fleet.error.param", lang, runbook=runbook, reason=_one_line(exc, lang)))
    src = notebook_path(spec)
    started = utcnow()
    try:
        secrets = set(scrub.known_secrets(org_ref)) if secrets is None else set(secrets)
        nb = inprocess.prepare(str(src), {"org": org, "lang": lang, **given})
        nb, failure = inprocess.execute(nb, timeout=timeout)
    finally:
        _release(org_ref)
    checks, run_payload, api_calls_seen = collect_with_cost(nb)
    if run_payload is not None and failure is None:
        findings = run_payload
    else:
        if failure is None:
            reason, timed_out = t("run.error.no_results", lang), False
        elif failure.timeout:
            reason, timed_out = t("run.total_timeout", lang, seconds=int(timeout)), True
        else:
            reason, timed_out = t("run.cell_raised", lang, cell=failure.cell, ename=failure.ename,
                                   evalue=failure.evalue[:200]), False
        findings = _unfinished(spec, org, lang, given, started, reason, timed_out=timed_out,
                               exception=failure.ename if failure else None, checks=checks,
                               api_calls=api_calls_seen, run_broke=failure is None or not failure.timeout)
    return _report(spec, nb, findings, lang, secrets, started, time.monotonic() - t0)


def lost_result(runbook: str, org: str, params: Mapping[str, Any], lang: str, reason: str) -> dict[str, Any]:
    """The report of an org-runbook whose result never came back (its worker hung past the
    org's time or was lost): `inconclusive`, the `run` check in error with the reason, and the
    notebook as it was handed over, unexecuted. Principle 6: every outcome is a report, so the
    history and `reports diff` show it as they show any run. Made by the `fleet run` process."""
    from ..errors import SfdoctorError
    from ..findings import utcnow
    from ..runbooks import load
    from ..runner import notebook_path, validate_params
    from . import inprocess

    try:
        spec = load(runbook)
        given = validate_params(spec, params, lang)
    except SfdoctorError as exc:
        return _ended(runbook, "error", t("fleet.error.param", lang, runbook=runbook, reason=_one_line(exc, lang)))
    started = utcnow()
    nb = inprocess.prepare(str(notebook_path(spec)), {"org": org, "lang": lang, **given})
    findings = _unfinished(spec, org, lang, given, started, reason, timed_out=True, run_broke=False)
    result = _report(spec, nb, findings, lang, set(), started, 0.0)
    result["reason"] = reason
    return result


def _unfinished(spec: Any, org: str, lang: str, given: Mapping[str, Any], started: Any, reason: str, *,
                timed_out: bool, run_broke: bool, exception: str | None = None, checks: Sequence[Any] = (),
                api_calls: Any = 0) -> dict[str, Any]:
    """findings.json of a run that did not finish, as `sfdoctor run` writes it: the checks that
    ran, then the `run` check in error with the reason."""
    from ..findings import Finding, RunResult, utcnow

    defaults = {p.name: p.papermill_default() for p in spec.parameters if not p.secret}
    error_check = Finding(
        id="run", title=spec.texts(lang).title("run"), status="error",
        evidence={"reason": reason, "timeout": timed_out, **({"exception": exception} if exception else {})},
        summary=t("run.error.run_broke", lang, reason=reason),
    )
    result = RunResult(runbook=spec.id, org=org, lang=lang, started_at=started, finished_at=utcnow(),
                       parameters={**defaults, **given}, api_calls=api_calls,
                       checks=[*checks, error_check], run_broke=run_broke)
    return result.to_json()


def _report(spec: Any, nb: Any, findings: dict[str, Any], lang: str, secrets: set[str], started: Any,
            duration: float) -> dict[str, Any]:
    """findings, notebook and report page, scrubbed, as the `fleet run` process writes them."""
    import nbformat

    from .. import scrub
    from ..findings import SCHEMA, iso
    from ..report import context_from_notebook, export_html

    findings["schema"] = SCHEMA
    findings = scrub.scrub_obj(findings, secrets) or findings
    nb = scrub.scrub_notebook(nb, secrets, secret_params={p.name for p in spec.parameters if p.secret}) or nb
    page = scrub.scrub_html(export_html(nb, findings, lang, spec=spec, context=context_from_notebook(nb)), secrets)
    return {
        "runbook": spec.id,
        "outcome": findings["outcome"],
        "reason": "; ".join(findings.get("reasons") or []) or None,
        "findings": findings,
        "notebook": nbformat.writes(nb),
        "html": page,
        "started_at": findings.get("started_at") or iso(started),
        "duration_s": round(duration, 3),
        "api_calls": int(findings.get("api_calls") or 0),
    }
