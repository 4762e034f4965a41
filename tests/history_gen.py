"""A report history as a fleet leaves it after some nights, written straight into `index.jsonl`.

Shared by tests/test_index_page_browser.py and bench/fleet.py: N orgs x the four fleet runbooks,
one run of each org-runbook a night, with real cause codes (so the page can give their
titles), an sfdoctor upgrade part-way (so version changes show), and some long org names (so
the page's no-wrap rule is tried). Deterministic: the same arguments give the same lines.
Writing the lines directly takes well under a second for 10,000 runs; running them would take
an hour.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

RUNBOOKS = ["security-token-required", "sia-auth-failure", "marketo-sync-setup", "mc-missing-oauth-token"]
# Per runbook, the causes a failing run carries in turn (codes of runbooks/<id>.yml).
CAUSES = {
    "security-token-required": [["TOKEN_MISSING"], ["SOURCE_IP_UNTRUSTED"], ["PASSWORD_INVALID", "TOKEN_INVALID"]],
    "sia-auth-failure": [["RESTRICTED_DOMAIN"], ["OAUTH_APP_BLOCKED"], ["USER_NOT_APPROVED"]],
    "marketo-sync-setup": [["MARKETO_FIELDS_MISSING"], ["SYNC_USER_LOGIN_FAILED"], ["SANDBOX_MISMATCH"]],
    "mc-missing-oauth-token": [["MC_IP_NOT_ALLOWLISTED"], ["MC_PASSWORD_EXPIRED"], ["MC_CREDENTIALS_INVALID"]],
}
OLD_VERSION, NEW_VERSION = "0.1.0", "0.2.0"
FIRST_NIGHT = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)


def org_name(i: int) -> str:
    """`client-007`, and every 25th org a long name as real orgs have."""
    return f"client-{i:03d}" + ("-kabushiki-kaisha-example-manufacturing-prod" if i % 25 == 5 else "")


def outcome_of(org: int, rb: int, night: int) -> tuple[str, list[str]]:
    """Most runs healthy; some org-runbooks fail for a few nights, some for all of them."""
    if (org + rb) % 9 == 0:                                   # a standing failure
        return "problems_found", CAUSES[RUNBOOKS[rb]][(org // 9) % 3]
    if (org * 7 + rb * 3 + night) % 23 == 0:                  # a failure that comes and goes
        return "problems_found", CAUSES[RUNBOOKS[rb]][(org + night) % 3]
    if (org * 5 + night) % 61 == 0:
        return "inconclusive", []
    if (org + night * 11) % 97 == 0:
        return "error", []
    return "healthy", []


def write_history(out: Path, runs: int = 10_000, orgs: int = 250, *, upgrade_night: int | None = None,
                  reports: int = 0) -> list[dict]:
    """Append `runs` index lines to `out/index.jsonl` (one night = every org x runbook, 02:00 UTC
    onwards); from `upgrade_night` on (default: the middle night) the runs carry NEW_VERSION.
    The newest `reports` runs get a folder with a small report.html (so the page links them).
    Returns the lines written, oldest first."""
    out.mkdir(parents=True, exist_ok=True)
    per_night = orgs * len(RUNBOOKS)
    nights = -(-runs // per_night)
    upgrade = nights // 2 if upgrade_night is None else upgrade_night
    lines: list[dict] = []
    for n in range(runs):
        night, k = divmod(n, per_night)
        org, rb = divmod(k, len(RUNBOOKS))
        outcome, causes = outcome_of(org, rb, night)
        when = FIRST_NIGHT + timedelta(days=night, seconds=k)
        name, runbook = org_name(org), RUNBOOKS[rb]
        slug = name.replace(":", "-")
        folder = f"{when:%Y-%m-%d}/{runbook}/{slug}-{when:%H%M%S}Z"
        lines.append({"time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "runbook": runbook, "org": name,
                      "outcome": outcome, "root_causes": causes, "warnings": [], "folder": folder,
                      "exit_code": {"healthy": 0, "problems_found": 1}.get(outcome, 3),
                      "sfdoctor_version": NEW_VERSION if night >= upgrade else OLD_VERSION,
                      "fleet": f"{when:%Y-%m-%d}/020000Z"})
        if n >= runs - reports:
            (out / folder).mkdir(parents=True, exist_ok=True)
            (out / folder / "report.html").write_text(f"<p>{runbook} on {name}</p>", encoding="utf-8")
    with open(out / "index.jsonl", "a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return lines
