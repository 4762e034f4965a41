"""sObject schemas as the simulator's describe and SOQL engine see them.

The data classes here are the shared contract between store.py (which builds the catalog
of standard objects plus a scenario's custom fields), soql.py (which checks fields,
filterability and relationships) and sf_rest.py (which serves describe).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldSchema:
    name: str                         # API name, e.g. "LoginTime", "mkto71_Lead_Score__c"
    type: str                         # describe type: id, string, boolean, int, double, date,
                                      # datetime, reference, picklist, email, phone, textarea, url
    label: str = ""
    filterable: bool = True           # False: WHERE on it -> INVALID_FIELD "can not be filtered in query call"
    sortable: bool = True
    groupable: bool = True
    nillable: bool = True
    reference_to: tuple[str, ...] = ()    # for type "reference": target sObject(s)
    relationship_name: str | None = None  # e.g. "Profile" for ProfileId
    custom: bool = False
    hidden_from_profiles: tuple[str, ...] = ()  # field-level security: profile names that cannot see it


@dataclass(frozen=True)
class ChildRelationship:
    name: str            # relationship name used in subqueries, e.g. "LoginIpRanges"
    child_sobject: str   # e.g. "LoginIpRange"
    field: str           # the child's reference field, e.g. "ProfileId"


@dataclass
class ObjectSchema:
    name: str
    label: str
    key_prefix: str                    # "005" for User, "00Q" for Lead, ...
    fields: dict[str, FieldSchema]     # keyed by API name (case preserved; lookups are case-insensitive)
    child_relationships: list[ChildRelationship] = field(default_factory=list)
    custom: bool = False
    queryable: bool = True

    def field(self, name: str) -> FieldSchema | None:
        """Case-insensitive lookup, as SOQL is case-insensitive."""
        hit = self.fields.get(name)
        if hit:
            return hit
        lower = name.lower()
        for key, value in self.fields.items():
            if key.lower() == lower:
                return value
        return None


from typing import Any, Protocol


class Catalog(Protocol):
    """What the SOQL engine and describe need from the world, as one user sees it.

    Row values are Python-native: str, bool, int, float, None, `datetime` (aware, UTC) for
    datetime fields and `date` for date fields; every row has an "Id" (18 characters).
    Reference fields hold the target's Id; the engine resolves relationships (Profile.Name)
    by looking the Id up in the target object's rows.
    """

    def describe(self, sobject: str) -> ObjectSchema | None:
        """Case-insensitive; None when the object does not exist (INVALID_TYPE).
        Fields hidden from the viewing user's profile are left out (INVALID_FIELD if queried)."""
        ...

    def rows(self, sobject: str) -> list[dict[str, Any]]:
        """Every record of that object, keyed by canonical field API names."""
        ...

    def now(self) -> "Any":
        """The simulator's clock (aware UTC datetime), for date literals such as LAST_N_DAYS:7."""
        ...
