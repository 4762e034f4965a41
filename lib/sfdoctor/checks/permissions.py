"""Who grants a user "API Enabled": the profile, or any assigned permission set.

Salesforce grants a permission through the profile *or* any permission set assigned to
the user, so looking at the profile alone calls a user "API disabled" who has it from a
permission set (and the seeds' "check the profile" step would send the admin to the
wrong screen). Every profile owns a permission set carrying its permissions
(`PermissionSet.IsOwnedByProfile`); an assignment of that set *is* the profile, so it is
counted as the profile, never as a separate permission set.

Two SOQL queries, both keyed on the username by a semi-join (so an unknown username simply
gives empty answers): they are one composite request on their own (`api_enabled_grants`),
or two entries in a caller's `query.composite(...)` (`queries` + `from_answers`), which is
how a runbook keeps its API calls low.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, TYPE_CHECKING

from ..errors import CheckError
from ..i18n import t
from .query import SubResult, composite, plain_record, soql

if TYPE_CHECKING:
    from ..clients import Connection

USER_REF = "user"
PERMS_REF = "apiperms"


@dataclass
class ApiGrants:
    """The user row read and what grants it API Enabled.

    `user` is None when no such user exists; `profile` is the profile's name;
    `from_profile` says the profile grants it; `permission_sets` are the labels of the
    other assigned permission sets that grant it.
    """

    user: dict[str, Any] | None
    profile: str | None
    from_profile: bool
    permission_sets: list[str] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        """True when anything grants API Enabled (profile or permission set)."""
        return self.from_profile or bool(self.permission_sets)

    @property
    def via(self) -> dict[str, Any]:
        """What grants it, for evidence: `{"profile": X, "permission_sets": [Y]}`, each key only
        when it grants (`{}`: nothing does). The report labels the keys in the run's language."""
        out: dict[str, Any] = {"profile": self.profile} if self.from_profile else {}
        if self.permission_sets:
            out["permission_sets"] = list(self.permission_sets)
        return out

    def via_text(self, lang: str) -> str:
        """Where "API Enabled" comes from, in a sentence in `lang`: `the profile X, the
        permission set Y` / `プロファイル X、権限セット Y` (`via` is the same for evidence)."""
        parts = [t("permissions.via_profile", lang, name=self.profile)] if self.from_profile else []
        parts += [t("permissions.via_permission_set", lang, name=name) for name in self.permission_sets]
        return t("permissions.list_separator", lang).join(parts)

    @classmethod
    def from_records(cls, user: Mapping[str, Any] | None, assignments: list[Mapping[str, Any]]) -> "ApiGrants":
        """From a User record (`Profile.Name`, `Profile.PermissionsApiEnabled`, nested as the
        REST API returns them or flattened to `Profile.Field`) and the PermissionSetAssignment
        records of `assignments_query`."""
        if user is None:
            return cls(None, None, False, [])
        profile_name = _field(user, "Profile", "Name")
        from_profile = bool(_field(user, "Profile", "PermissionsApiEnabled"))
        sets: list[str] = []
        for rec in assignments:
            ps = rec.get("PermissionSet") or {}
            if ps.get("IsOwnedByProfile"):
                from_profile = True      # the profile's own permission set is the profile
                continue
            name = ps.get("Label") or ps.get("Name")
            if name and name not in sets:
                sets.append(str(name))
        return cls(plain_record(dict(user)), profile_name, from_profile, sets)


def _field(record: Mapping[str, Any], parent: str, name: str) -> Any:
    nested = record.get(parent)
    if isinstance(nested, Mapping):
        return nested.get(name)
    return record.get(f"{parent}.{name}")


def user_query(username: str) -> str:
    """The user with its profile's API Enabled (one row, or none)."""
    return soql("SELECT Id, Username, IsActive, ProfileId, Profile.Name, Profile.PermissionsApiEnabled "
                "FROM User WHERE Username = {} LIMIT 1", username)


def assignments_query(username: str) -> str:
    """The user's permission set assignments whose set grants API Enabled.

    The same text security-token-required's org-and-user composite sends (org_info).
    A permission set GROUP's assignment is a PermissionSetAssignment too: its PermissionSetId
    is the group's own aggregated permission set (PermissionSet.Type 'Group') and its
    PermissionSetGroupId names the group [S], so this filter counts a group's API Enabled; the
    name shown is that aggregated set's label [I] (the demo world has no groups).
    """
    by_user = soql("SELECT Id FROM User WHERE Username = {}", username)
    return soql(
        "SELECT PermissionSet.Name, PermissionSet.Label, PermissionSet.IsOwnedByProfile "
        "FROM PermissionSetAssignment WHERE AssigneeId IN ({:literal}) "
        "AND PermissionSet.PermissionsApiEnabled = true", by_user)


def queries(username: str, prefix: str = "") -> dict[str, str]:
    """Two entries for a caller's `query.composite(...)`; `prefix` keeps the reference ids
    apart from the caller's own (`from_answers(answers, prefix)` reads them back)."""
    return {prefix + USER_REF: user_query(username), prefix + PERMS_REF: assignments_query(username)}


def from_answers(answers: Mapping[str, SubResult], prefix: str = "") -> ApiGrants:
    """The grants from a composite's answers to `queries(...)`.

    Raises CheckError when either subrequest failed: "no grant" must never be concluded
    from an answer that could not be read (a missing permission, an API limit).
    """
    user, perms = answers[prefix + USER_REF], answers[prefix + PERMS_REF]
    for name, sub in (("User", user), ("PermissionSetAssignment", perms)):
        if not sub.ok:
            raise CheckError(f"{name} could not be read: {sub.error}")
    users = user.records
    return ApiGrants.from_records(users[0] if users else None, perms.records)


def api_enabled_grants(conn: "Connection", username: str) -> ApiGrants:
    """Read the user and its API Enabled grants in ONE API call (a composite of two queries)."""
    return from_answers(composite(conn, queries(username)))


__all__ = ["ApiGrants", "api_enabled_grants", "assignments_query", "from_answers", "queries", "user_query"]
