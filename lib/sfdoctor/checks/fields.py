"""Fields on Lead and Contact as the Marketo sync user sees them (marketo-sync-setup).

"Sync Fields" in Marketo creates, for good, every Lead and Contact field the sync user can
see. So before it is clicked: the fields step 1 adds must be there and visible to the sync
user (MARKETO_FIELDS_MISSING), and the fields the admin does not want in Marketo must be
hidden from that user (UNWANTED_FIELDS_VISIBLE). Both are read from describe *as the sync
user* (marketo_sync's probe makes that one composite call with the probe's session);
sfdoctor's own describe (in its first composite) tells "does not exist" from "hidden".
"""
from __future__ import annotations

from typing import Any

OBJECTS = ("Lead", "Contact")
# Step 1 of 3 (Professional): the three recommended fields, on both objects (reference §6.3).
REQUIRED_FIELDS = ("mkto71_Lead_Score__c", "mkto71_Acquisition_Date__c", "mkto71_Acquisition_Program__c")
MAX_LISTED = 200   # field names per object in evidence


def field_names(describe_body: Any) -> list[str]:
    """The field API names of a describe answer (`fields[].name`), in describe order."""
    if not isinstance(describe_body, dict):
        return []
    return [str(f.get("name")) for f in describe_body.get("fields") or [] if isinstance(f, dict) and f.get("name")]


def _split(raw: Any) -> tuple[str | None, str]:
    """`lead.AnnualRevenue` → ("Lead", "AnnualRevenue") (object names are not case-sensitive
    in Salesforce); a bare name → (None, name); another object keeps its spelling."""
    obj, sep, name = str(raw).strip().partition(".")
    if not sep:
        return None, obj.strip()
    canonical = {o.lower(): o for o in OBJECTS}
    return canonical.get(obj.strip().lower(), obj.strip()), name.strip()


def parse_unwanted(entries: list[str]) -> list[tuple[str, str]]:
    """`Lead.AnnualRevenue` → (Lead, AnnualRevenue); a bare `AnnualRevenue` means both objects."""
    out: list[tuple[str, str]] = []
    for raw in entries:
        obj, name = _split(raw)
        if not name:
            continue
        pairs = [(obj, name)] if obj else [(o, name) for o in OBJECTS]
        for pair in pairs:
            if pair not in out:
                out.append(pair)
    return out


def unknown_unwanted(entries: list[str], own: dict[str, list[str]]) -> list[dict[str, str]]:
    """Entries of the not-to-sync list that name no Lead/Contact field sfdoctor's own describe
    knows: most often a typo, which would leave the field that was meant visible to the sync.
    A bare name counts as unknown only when neither object has it; an object other than Lead
    and Contact is reported too, since this runbook reads only those two. Each is
    `{field, why}`, `why` one of `no_such_field`, `on_neither_lead_nor_contact`,
    `object_not_read` (words for people: texts/evidence.toml)."""
    names = {o: {n.lower() for n in own.get(o, [])} for o in OBJECTS}
    out: dict[str, str] = {}
    for raw in entries:
        obj, name = _split(raw)
        if not name:
            continue
        if obj is None:
            if not any(name.lower() in names[o] for o in OBJECTS):
                out.setdefault(name, "on_neither_lead_nor_contact")
        elif obj not in OBJECTS:
            out.setdefault(f"{obj}.{name}", "object_not_read")
        elif name.lower() not in names[obj]:
            out.setdefault(f"{obj}.{name}", "no_such_field")
    return [{"field": field, "why": why} for field, why in out.items()]


def missing_fields(own: dict[str, list[str]] | None, sync: dict[str, list[str]] | None
                   ) -> tuple[list[dict[str, str]], bool]:
    """Required fields not visible to the sync user: [{object, field, why}], and whether
    the sync user's own view was available (else only "does not exist" can be said)."""
    out = []
    for obj in OBJECTS:
        own_names = {n.lower() for n in (own or {}).get(obj, [])}
        sync_names = {n.lower() for n in (sync or {}).get(obj, [])} if sync is not None else None
        for name in REQUIRED_FIELDS:
            if own is not None and name.lower() not in own_names:
                out.append({"object": obj, "field": name, "why": "missing"})
            elif sync_names is not None and name.lower() not in sync_names:
                out.append({"object": obj, "field": name, "why": "hidden"})
    return out, sync is not None


def visible_unwanted(sync: dict[str, list[str]], unwanted: list[tuple[str, str]]) -> list[str]:
    """`Object.Field` of each unwanted field the sync user can see (case-insensitive names)."""
    out = []
    for obj, name in unwanted:
        visible = {n.lower(): n for n in sync.get(obj, [])}
        if name.lower() in visible:
            out.append(f"{obj}.{visible[name.lower()]}")
    return out


def would_create(sync: dict[str, list[str]]) -> dict[str, list[str]]:
    """What "Sync Fields" would create in Marketo: every field the sync user sees, per object."""
    return {obj: list(sync.get(obj, []))[:MAX_LISTED] for obj in OBJECTS}


__all__ = ["OBJECTS", "REQUIRED_FIELDS", "field_names", "missing_fields", "parse_unwanted",
           "unknown_unwanted", "visible_unwanted", "would_create"]
