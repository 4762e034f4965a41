"""docs/permissions.md, made from sfdoctor.access's catalog and the runbooks' `reads:`.

    python -m sfdoctor.permissions_doc > docs/permissions.md

One source for the page and for `sfdoctor orgs check`; tests/test_access.py holds the file
equal to what this prints. Kept apart from access.py, which the spec loader imports.
"""
from __future__ import annotations

from typing import Iterable

from .access import (PERMISSION_SET, PERMISSION_SET_GRANTS, READS, WRITE_CAPABLE, permission_label,
                     reads_of)


def permissions_markdown(specs: Iterable[object]) -> str:
    """docs/permissions.md, made from this catalog and the runbooks' `reads` (one source for
    both: `python -m sfdoctor.permissions_doc > docs/permissions.md`; a test holds the file to it)."""
    out: list[str] = []
    add = out.append
    add("# What sfdoctor reads, and the permissions its run-as user needs\n")
    add("sfdoctor diagnoses; it never changes an org (DESIGN principle 3). Its own connection runs as one")
    add("Salesforce user (the client-credentials app's Run As user, the JWT `username`, or the user the")
    add("Salesforce CLI is logged in as). This page lists every read a runbook makes, the permission")
    add("Salesforce documents for it, and where that is written. `sfdoctor orgs check NAME` reads the")
    add("run-as user's own permissions (UserPermissionAccess) and prints the same table for that org.")
    add("This page is made from `lib/sfdoctor/access.py` and the runbooks' `reads:` with")
    add("`python -m sfdoctor.permissions_doc > docs/permissions.md`.\n")
    add("## The permission set\n")
    add(f"`salesforce/force-app/main/default/permissionsets/{PERMISSION_SET}.permissionset-meta.xml` grants only")
    add("permissions that cannot change the org:\n")
    for p in PERMISSION_SET_GRANTS:
        add(f"- **{permission_label(p)}** (`{p}`)")
    add("- object permissions: Read and View All on Lead and Contact (no create, edit or delete)\n")
    add("Deploy it and assign it to sfdoctor's run-as user (a user whose profile grants nothing more, e.g.")
    add("*Minimum Access - Salesforce*):\n")
    add("```sh")
    add("sf project deploy start --source-dir salesforce/force-app --target-org ALIAS")
    add(f"sf org assign permset --name {PERMISSION_SET} --on-behalf-of RUNAS_USERNAME --target-org ALIAS")
    add("```\n")
    left = [r for r in READS.values() if r.any_of and not set(r.any_of) & set(PERMISSION_SET_GRANTS)]
    add("These reads are left to a person on purpose, because every permission that automates one also")
    add("allows changes. An admin who prefers automation may add it to the run-as user, knowing what it")
    add("allows; without it the runbook shows a `manual` step naming the Setup page to look at:\n")
    add("| read | permission that would automate it | what that permission also allows |")
    add("| --- | --- | --- |")
    for r in left:
        p = r.any_of[0]
        add(f"| {r.what('en')} | {permission_label(p)} (`{p}`) | {WRITE_CAPABLE.get(p, '-')} |")
    add("\n## Every read\n")
    add("| id | call | tells the runbook | allowed by (any one) | without it | source |")
    add("| --- | --- | --- | --- | --- | --- |")
    for r in READS.values():
        perms = ", ".join(f"{permission_label(p)} (`{p}`)" for p in r.any_of) or "API Enabled alone"
        if r.editions:
            perms += "; editions: " + ", ".join(e.replace(" Edition", "") for e in r.editions)
        without = ("only the run-as user's own rows come back: a manual step, " + r.setup("en")) if r.own_rows_only \
            else (("a manual step: " + r.setup("en")) if r.setup("en") else "-")
        add(f"| `{r.id}` | {r.call} | {r.what('en')} | {perms} | {without} | [Salesforce]({r.source}) |")
    add("\nNotes:\n")
    for r in READS.values():
        if r.note:
            add(f"- `{r.id}`: {r.note}")
    add("- [I] marks a rule Salesforce's object reference does not state for that object; it is what Salesforce")
    add("  does for setup objects in general and what the simulator plays. `orgs check` reads the run-as user's")
    add("  real permissions, so a wrong [I] shows there first.")
    add("- Every read also needs **API Enabled** (`ApiEnabled`) and an edition with API access (Enterprise,")
    add("  Unlimited, Performance, Developer; Professional only with the API add-on). An org without API access")
    add("  refuses every API sign-in.\n")
    add("## Per runbook\n")
    for spec in specs:
        add(f"### {getattr(spec, 'id')}\n")
        add(f"Talks to: {', '.join(getattr(spec, 'services', None) or ['salesforce'])}.\n")
        reads = reads_of(spec)
        if not reads:
            add("No Salesforce read: an orgs entry with only `[marketing_cloud]` runs it (the installed package's")
            add("client id and secret, and the integration user's password, are what it needs).\n")
            continue
        for r in reads:
            perms = " or ".join(permission_label(p) for p in r.any_of) or "API Enabled"
            add(f"- `{r.id}` — {r.what('en')}: {perms}")
        add("")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover - the documented command
    from .runbooks import all_specs

    print(permissions_markdown(all_specs()), end="")
