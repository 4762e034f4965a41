"""Principle 7 (gentle probes): a login probe that failed is not repeated with the same credentials.

Testing a failing user's credentials adds failed logins, and enough of them lock the user
out. So every run that is not made by hand (`schedule run-due`, `fleet run`) remembers, per
runbook, org and params, whether its last probe failed and a salted fingerprint of the
credentials it probed (`credentials.fingerprint`: an HMAC, never the secret), in
`OUT/.schedule-state.json`; the next such run probes again only when the credentials
changed. Both commands share the memory: they probe the same users.

The fingerprint's inputs are read where the run reads them: a demo org's from the operator's
answers (the simulator's info), a real org's from the environment variables or keyring entries
its orgs-file entry names (`credentials.probe_credentials`, the runbook's `probe_identity`). A
fleet does this on the worker, which holds the org's secrets (spec/cli.md "Fleet runs"); only
the salted fingerprint goes back to the `fleet run` process. So a real org whose password was
fixed is probed again on the next run. Credentials that cannot be read at all (a variable
unset) hold a probe that last failed: a missed re-check is cheaper than a locked-out user.
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import SfdoctorError
from .findings import iso
from .i18n import t
from .report_index import write_atomic

STATE = ".schedule-state.json"
Progress = Callable[[str], None]


def probe_key(runbook: str, org: str, params: Mapping[str, Any]) -> str:
    """Whose probe memory: a runbook on an org with its params. A schedule entry and a fleet's
    org-runbook with the same three share it (they probe the same user)."""
    return json.dumps([runbook, org, params], sort_keys=True, ensure_ascii=False)


def probe_parameter(runbook: str) -> Any:
    """The runbook's boolean `probe` parameter, if it has one (the switch for login probes)."""
    from .runbooks import load

    for p in load(runbook).parameters:
        if p.name == "probe" and p.type == "bool" and not p.secret:
            return p
    return None


def probing(runbook: str, params: Mapping[str, Any]) -> bool:
    """Whether a run of `runbook` with `params` would make login probes."""
    switch = probe_parameter(runbook)
    return switch is not None and bool(params.get("probe", switch.papermill_default()))


def probe_hold(rec: Mapping[str, Any] | None, fp: str | None) -> str | None:
    """Why the probe stays off this time, or None to probe: `same` when the last probe failed
    with these same credentials, `unknown` when it failed and the credentials it would use
    cannot be read now (a missed re-check is cheaper than a locked-out user)."""
    if not rec or not rec.get("failed"):
        return None
    if fp is None:
        return "unknown"
    return "same" if rec.get("fingerprint") == fp else None


def probe_fingerprint(org: str, runbook: str, params: Mapping[str, Any], salt: str) -> str | None:
    """The fingerprint of the credentials a run of `runbook` on `org` with `params` would probe.

    Whose credentials: the runbook's `probe_identity` (e.g. Marketing Cloud's integration
    user), else the Salesforce user of `username` with password and token. A demo org's come
    from the operator's answers (the simulator's info endpoint, read as the notebook reads
    them); a real org's from the references of its orgs-file entry, read in this process (a
    fleet's worker, or `schedule run-due`, whose runs read them the same way). With no
    `username`, a real org's probe can only be of `[orgs.NAME.probe] username` (its
    credentials are that user's alone). None when no credentials can be read.
    """
    from types import SimpleNamespace

    from . import orgs
    from .credentials import fingerprint, probe_credentials
    from .params import function_ref
    from .runbooks import load

    spec = load(runbook)
    org_ref = orgs.resolve(org, runbook=spec)
    if org_ref.is_demo:
        conn = _demo_stand_in(org_ref, spec.id)
        if conn is None:
            return None
        default_user = str(conn.operator.get("probe_username") or "")
    else:
        conn = SimpleNamespace(org_ref=org_ref, operator={}, info=None, secrets=set())
        probe = org_ref.config.get("probe")
        default_user = str(probe.get("username") or "") if isinstance(probe, Mapping) else ""
    try:
        if spec.probe_identity:
            identity = function_ref(spec.probe_identity)(conn, dict(params))
            return fingerprint(identity[0], identity[1], "", salt) if identity and identity[1] else None
        user = str(params.get("username") or "").strip() or default_user
        if not user:
            return None
        creds = probe_credentials(conn, user)
    except SfdoctorError:
        return None
    if not creds.password:
        return None
    return fingerprint(user, creds.password, creds.token, salt)


def _demo_stand_in(org_ref: Any, runbook_id: str) -> Any:
    """What a demo run's checks see of the operator (its answers, the world's info), or None
    when the simulator does not answer."""
    from types import SimpleNamespace

    import requests

    from .clients import demo_info, ensure_demo_simulator
    from .demo_operator import answers

    base = ensure_demo_simulator(org_ref.scenario_ref)
    try:
        with requests.Session() as session:
            info = demo_info(session, base)
    except SfdoctorError:
        return None
    return SimpleNamespace(org_ref=org_ref, operator=answers(info, runbook_id), info=info, secrets=set())


def probe_failed(findings: Mapping[str, Any]) -> bool:
    """Whether any login attempt the run made was refused (each probe lists its `attempts`)."""
    for check in findings.get("checks", []) or []:
        attempts = (check.get("evidence") or {}).get("attempts")
        if isinstance(attempts, list) and any(isinstance(a, dict) and a.get("ok") is False for a in attempts):
            return True
    return False


def probe_ran(findings: Mapping[str, Any]) -> bool:
    """Whether the run made any login attempt at all (a skipped probe leaves the state as it was)."""
    for check in findings.get("checks", []) or []:
        attempts = (check.get("evidence") or {}).get("attempts")
        if isinstance(attempts, list) and attempts:
            return True
    return False


class State:
    """`OUT/.schedule-state.json`: per entry key `{salt, fingerprint, failed}`; never a secret."""

    def __init__(self, out_dir: Path, progress: Progress | None, lang: str):
        self.path = Path(out_dir) / STATE
        self.entries: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.entries = dict(data.get("entries") or {})
            except (OSError, ValueError, AttributeError) as exc:
                if progress:
                    progress(t("schedule.state_bad", lang, state=self.path, reason=type(exc).__name__))

    def get(self, key: str) -> dict[str, Any] | None:
        rec = self.entries.get(key)
        return rec if isinstance(rec, dict) else None

    def put(self, entry: Any, salt: str, fp: str | None, failed: bool, now: datetime) -> None:
        """Store one schedule entry's (`.key`, `.runbook`, `.org`) probe outcome."""
        self.put_many({entry.key: self.record(entry.runbook, entry.org, salt, fp, failed, now)})

    @staticmethod
    def record(runbook: str, org: str, salt: str, fp: str | None, failed: bool, now: datetime) -> dict[str, Any]:
        return {"runbook": runbook, "org": org, "salt": salt, "fingerprint": fp, "failed": failed, "updated": iso(now)}

    def put_many(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        """Store `records` (key -> `record(...)`) in one write, over the file as it is now: a
        fleet run and `schedule run-due` may both have written to it meanwhile."""
        if not records:
            return
        fresh = State(self.path.parent, None, "en")
        fresh.entries.update({k: dict(v) for k, v in records.items()})
        self.entries = fresh.entries
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps({"version": 1, "entries": self.entries}, indent=2, ensure_ascii=False) + "\n")
