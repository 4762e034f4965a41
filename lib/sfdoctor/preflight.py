"""Before a kernel starts: is sfdoctor's own access to a real org configured right?

spec/cli.md: a named environment variable unset, a key file unreadable, credentials refused,
an unknown Salesforce CLI alias, a My Domain that does not exist — each is bad input (exit 2):
one line saying what is wrong and how to fix it, no report folder, no index line. A run that
cannot *reach* the org is not a configuration mistake: it goes on and its report says so
(exit 3).

What a runbook needs comes from its spec's `services` (salesforce, marketo, marketing_cloud):
an org entry with only `[marketing_cloud]` is complete for a runbook that needs only that.
"""
from __future__ import annotations

from typing import Any, Iterable

from .errors import Inconclusive, OrgConfigError
from .i18n import Text
from .orgs import OrgRef, has_salesforce

SERVICES = ("salesforce", "marketo", "marketing_cloud")
# The references each service's section must resolve (base names of `*_env` / `*_keyring`).
_SECTION_REFS = {
    "marketo": ("client_id", "client_secret"),
    "marketing_cloud": ("client_id", "client_secret"),
}


def services_of(spec: Any) -> tuple[str, ...]:
    """What a runbook talks to (its spec's `services`; Salesforce when it says nothing)."""
    return tuple(getattr(spec, "services", None) or ("salesforce",))


def missing_services(org_ref: OrgRef, spec: Any) -> list[str]:
    """The services `spec` needs that the org entry does not configure (orgs-file sections)."""
    missing = []
    for service in services_of(spec):
        if service == "salesforce":
            if not has_salesforce(org_ref.config):
                missing.append(service)
        elif not isinstance(org_ref.config.get(service), dict):
            missing.append(service)
    return missing


def _config_error_of_refusal(exc: Exception) -> bool:
    """A refused own sign-in that only a configuration change fixes.

    Salesforce's generic `invalid_grant: authentication failure` is left to the run: an
    edition without API access refuses every API login that way, and a runbook (marketo-
    sync-setup) diagnoses exactly that from its probes.
    """
    code = str(getattr(exc, "code", "") or "").lower()
    text = str(exc).lower()
    return not (code == "invalid_grant" and "authentication failure" in text)


def check_access(org_ref: OrgRef, spec: Any) -> None:
    """Raise OrgConfigError (exit 2) when the org's configuration cannot work for `spec`.

    Signs in to Salesforce once when the runbook needs it (the kernel signs in again: a
    token is never handed over). Demo orgs need nothing here.
    """
    if org_ref.is_demo:
        return
    runbook = getattr(spec, "id", "?")
    missing = missing_services(org_ref, spec)
    if missing:
        section = missing[0]
        source = org_ref.source or Text("orgs.preflight.the_orgs_file")
        how = (Text("orgs.preflight.add_salesforce", source=source) if section == "salesforce"
               else Text("orgs.preflight.add_section", org=org_ref.name, section=section, source=source))
        raise OrgConfigError(Text("orgs.preflight.no_service", org=org_ref.name, service=section.replace("_", " "),
                                  runbook=runbook), hint=how)
    from .credentials import read_ref

    for section, bases in _SECTION_REFS.items():
        if section in services_of(spec):
            table = org_ref.config.get(section) or {}
            for base in bases:
                read_ref(table, base, where=f"orgs.{org_ref.name}.{section}")
    probe = org_ref.config.get("probe")
    if isinstance(probe, dict):
        for base in _ref_bases(probe):
            read_ref(probe, base, where=f"orgs.{org_ref.name}.probe")
    if "salesforce" in services_of(spec):
        _sign_in(org_ref)


def _ref_bases(table: dict[str, Any]) -> Iterable[str]:
    for key in table:
        for suffix in ("_env", "_keyring"):
            if key.endswith(suffix):
                yield key[: -len(suffix)]


def _sign_in(org_ref: OrgRef) -> None:
    from . import clients

    try:
        clients.connect(org_ref)
    except clients.OwnLoginRefused as exc:
        if _config_error_of_refusal(exc):
            raise
    except Inconclusive:
        return  # unreachable: the run goes on and its report says so (exit 3)
