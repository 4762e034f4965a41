"""`sfdoctor orgs check`: before the first run, what sfdoctor may read in an org and what not.

It signs in as a run would, then reads who the run-as user is (`/services/oauth2/userinfo`),
that user's own effective permissions (UserPermissionAccess: every user may read its own),
the edition (Organization) and the daily API budget (the `Sforce-Limit-Info` header of those
answers, which needs no permission, unlike `/limits`). With `sfdoctor.access.READS` that says,
for each runbook the org entry can run, which reads will work and which will be a manual
step, and the permission that would automate it. Three to four requests, all reads.

Exit codes (spec/cli.md): 0 ready, 1 usable with gaps, 2 configuration error (raised as
OrgConfigError before anything is printed).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import access
from .errors import Inconclusive, OrgConfigError
from .i18n import Text, t
from .orgs import OrgRef, has_salesforce

# The permissions sfdoctor's reads involve, as UserPermissionAccess fields.
_PERMISSION_FIELDS = ("ApiEnabled", "ViewSetup", "ManageUsers", "MonitorLoginHistory", "CustomizeApplication",
                      "ModifyMetadata", "ModifyAllData", "ViewAllData")


@dataclass
class ReadStatus:
    id: str
    allowed: bool
    refusal: str | None                 # "permission" | "edition" | "api"
    permissions: tuple[str, ...]        # what would allow it
    own_rows_only: bool


@dataclass
class RunbookStatus:
    id: str
    runnable: bool                      # the org entry configures every service it needs
    missing: list[str] = field(default_factory=list)
    reads: list[ReadStatus] = field(default_factory=list)
    wanted: bool = False                # the org entry's `runbooks` names it

    @property
    def gaps(self) -> list[ReadStatus]:
        return [r for r in self.reads if not r.allowed]


@dataclass
class OrgStatus:
    org: str
    kind: str
    services: list[str]
    username: str | None = None
    edition: str | None = None
    permissions: list[str] = field(default_factory=list)
    api_used: int | None = None
    api_max: int | None = None
    marketing_cloud: str | None = None  # "ok" or the refusal, when the entry has that section
    runbooks: list[RunbookStatus] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        # A runbook the entry has no sign-in for is not a gap unless the entry's `runbooks` names it.
        gaps = any(rb.gaps or (not rb.runnable and rb.wanted) for rb in self.runbooks)
        return 1 if gaps or (self.marketing_cloud not in (None, "ok")) else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "org": self.org, "kind": self.kind, "services": self.services, "username": self.username,
            "edition": self.edition, "permissions": self.permissions,
            "api_budget": None if self.api_max is None else {"used": self.api_used, "max": self.api_max},
            "marketing_cloud": self.marketing_cloud, "exit_code": self.exit_code,
            "runbooks": [{"id": rb.id, "runnable": rb.runnable, "wanted": rb.wanted, "missing": rb.missing,
                          "reads": [{"id": r.id, "allowed": r.allowed, "refusal": r.refusal,
                                     "permissions": list(r.permissions), "own_rows_only": r.own_rows_only}
                                    for r in rb.reads]} for rb in self.runbooks],
        }


def services_configured(org_ref: OrgRef) -> list[str]:
    """What the org entry signs in to (demo worlds: all three)."""
    if org_ref.is_demo:
        return ["salesforce", "marketo", "marketing_cloud"]
    out = ["salesforce"] if has_salesforce(org_ref.config) else []
    return out + [s for s in ("marketo", "marketing_cloud") if isinstance(org_ref.config.get(s), dict)]


def check_org(org_ref: OrgRef, specs: list[Any]) -> OrgStatus:
    """Sign in and read what `orgs check` reports. OrgConfigError: exit 2; Inconclusive: unreachable."""
    from . import clients

    services = services_configured(org_ref)
    kind = "demo" if org_ref.is_demo else (org_ref.config.get("auth", "client_credentials")
                                           if "salesforce" in services else "marketing_cloud")
    status = OrgStatus(org=org_ref.name, kind=str(kind), services=services)
    conn = clients.connect(org_ref)   # OrgConfigError / OwnLoginRefused: exit 2 in the CLI
    if conn.sf is not None:
        _read_salesforce(conn, status)
    if "marketing_cloud" in services:
        status.marketing_cloud = _check_marketing_cloud(conn)
    for spec in specs:
        needs = list(getattr(spec, "services", None) or ["salesforce"])
        missing = [s for s in needs if s not in services]
        wanted = spec.id in (org_ref.config.get("runbooks") or [])
        rb = RunbookStatus(id=spec.id, runnable=not missing, missing=missing, wanted=wanted)
        if not missing:
            for read in access.reads_of(spec):
                refusal = read.refusal(status.permissions, status.edition)
                rb.reads.append(ReadStatus(read.id, refusal is None, refusal, read.any_of, read.own_rows_only))
        status.runbooks.append(rb)
    return status


def _read_salesforce(conn: Any, status: OrgStatus) -> None:
    from simple_salesforce.exceptions import SalesforceError

    sf = conn.sf
    resp = conn.session.get(f"https://{sf.sf_instance}/services/oauth2/userinfo",
                            headers={"Authorization": f"Bearer {sf.session_id}"})
    if resp.status_code in (401, 403):
        raise OrgConfigError(Text("orgs.check.session_refused", org=status.org, status=resp.status_code),
                             hint=Text("orgs.check.session_refused_hint"))
    if resp.ok:
        status.username = str(resp.json().get("preferred_username") or "") or None
    fields = ", ".join(f"Permissions{p}" for p in _PERMISSION_FIELDS)
    try:
        rows = sf.query(f"SELECT {fields} FROM UserPermissionAccess")["records"]
        org = sf.query("SELECT OrganizationType, IsSandbox FROM Organization LIMIT 1")["records"]
    except SalesforceError as exc:
        raise Inconclusive(Text("orgs.check.permissions_unreadable", org=status.org, status=exc.status)) from None
    if rows:
        status.permissions = [p for p in _PERMISSION_FIELDS if rows[0].get(f"Permissions{p}")]
    if org:
        status.edition = org[0].get("OrganizationType")
    usage = (getattr(sf, "api_usage", None) or {}).get("api-usage")
    if usage is not None:
        status.api_used, status.api_max = int(usage.used), int(usage.total)


def _check_marketing_cloud(conn: Any) -> str:
    """Sign in with the installed package (one `/v2/token`): "ok", or Marketing Cloud's refusal."""
    from . import mcloud

    try:
        mcloud.get_token(conn, mcloud.package(conn))
    except OrgConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - any refusal is reported, not raised
        text = " ".join(str(getattr(exc, "message", None) or exc).split())[:200]
        return text or type(exc).__name__
    return "ok"


# --------------------------------------------------------------------------- printing

def render(status: OrgStatus, lang: str) -> list[str]:
    """The lines `orgs check` prints (stderr), in `lang` (texts/orgs.toml)."""
    lines = []
    if "salesforce" in status.services:
        lines.append(t("orgs.check.identity", lang, org=status.org, user=status.username or "-",
                       edition=status.edition or "-"))
        if status.api_max:
            lines.append(t("orgs.check.budget", lang, used=status.api_used, max=status.api_max,
                           percent=f"{100 * (status.api_used or 0) / status.api_max:.0f}"))
        names = ", ".join(access.permission_label(p, lang) for p in status.permissions) or "-"
        lines.append(t("orgs.check.permissions", lang, names=names))
    if status.marketing_cloud is not None:
        result = t("orgs.check.mc_ok", lang) if status.marketing_cloud == "ok" else status.marketing_cloud
        lines.append(t("orgs.check.mc", lang, result=result))
    for rb in status.runbooks:
        if not rb.runnable:
            key = "orgs.check.cannot_run" if rb.wanted else "orgs.check.not_set_up"
            lines.append(t(key, lang, runbook=rb.id, services=", ".join(rb.missing)))
            continue
        if not rb.reads:
            lines.append(t("orgs.check.no_reads", lang, runbook=rb.id))
            continue
        allowed = sum(1 for r in rb.reads if r.allowed)
        lines.append(t("orgs.check.reads", lang, runbook=rb.id, allowed=allowed, total=len(rb.reads))
                     + ("" if rb.gaps else t("orgs.check.reads_ready", lang)))
        for r in rb.gaps:
            read = access.READS[r.id]
            if r.refusal == "edition":
                why = t("orgs.check.why_edition", lang, edition=status.edition)
            elif r.refusal == "api":
                why = t("orgs.check.why_api", lang)
            else:
                why = t("orgs.check.why_permission", lang, permissions=t("access.manual.or", lang).join(
                    access.permission_label(p, lang) for p in r.permissions))
            lines.append(t("orgs.check.manual", lang, what=read.what(lang), why=why, setup=read.setup(lang)))
    lines.append(t("orgs.check.ready" if status.exit_code == 0 else "orgs.check.gaps", lang))
    return lines
