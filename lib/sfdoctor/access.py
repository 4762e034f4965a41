"""What sfdoctor reads in a Salesforce org, and the permission Salesforce documents for each read.

One catalog (`READS`) serves `docs/permissions.md`, `sfdoctor orgs check`, the permission
set in `salesforce/permissionsets/`, and the manual steps a runbook shows when its run-as
user may not make a read. Permission names are Salesforce's API names without the
`Permissions` prefix (`ViewSetup` is `PermissionsViewSetup` in UserPermissionAccess and
PermissionSet, "View Setup and Configuration" in Setup). A read lists the permissions of
which ANY one allows it; `own_rows_only` marks objects that answer without the permission
but show only the run-as user's own rows (so an empty answer proves nothing).

Each entry names its source: the page of Salesforce's documentation that states the rule.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .i18n import TextError, t

# The permissions sfdoctor's reads involve (their Setup labels: texts/access.toml `permission.NAME`).
PERMISSIONS = ("ApiEnabled", "ViewSetup", "ManageUsers", "MonitorLoginHistory", "CustomizeApplication",
               "ModifyMetadata", "ModifyAllData", "ViewAllData")

# Editions (Organization.OrganizationType) that have no Metadata API (meta_metadata_perm.htm:
# "One of these editions: Enterprise, Unlimited, or Developer"; Performance is Unlimited's superset).
METADATA_API_EDITIONS = ("Enterprise Edition", "Unlimited Edition", "Performance Edition", "Developer Edition")

DOC = "https://developer.salesforce.com/docs"


@dataclass(frozen=True)
class Read:
    """One kind of read sfdoctor makes, the permission(s) that allow it and where that is written."""

    id: str
    call: str                                   # what goes over the wire
    any_of: tuple[str, ...] = ()                # permissions of which one allows it; () = API Enabled alone
    own_rows_only: bool = False                 # without them: no error, only the user's own rows
    editions: tuple[str, ...] | None = None     # editions that offer the call (None: every API edition)
    source: str = ""
    note: str = ""

    def what(self, lang: str) -> str:
        """What the read tells a runbook (texts/access.toml `read.ID.what`)."""
        return t(f"access.read.{self.id}.what", lang)

    def setup(self, lang: str) -> str:
        """Where a person looks when sfdoctor may not read it (`read.ID.setup`); "" for reads
        that need nothing beyond API Enabled."""
        try:
            return t(f"access.read.{self.id}.setup", lang)
        except TextError:
            return ""

    def allowed(self, permissions: Iterable[str], edition: str | None = None) -> bool:
        """Whether a user with `permissions` (API names) in an org of `edition` may make this read."""
        if self.editions is not None and edition and edition not in self.editions:
            return False
        granted = set(permissions)
        if "ApiEnabled" not in granted:
            return False
        return not self.any_of or bool(granted & set(self.any_of))

    def refusal(self, permissions: Iterable[str], edition: str | None = None) -> str | None:
        """Why the read is not possible (`edition` or `permission`), or None."""
        if self.editions is not None and edition and edition not in self.editions:
            return "edition"
        if "ApiEnabled" not in set(permissions):
            return "api"
        return None if self.allowed(permissions, edition) else "permission"


READS: dict[str, Read] = {r.id: r for r in (
    Read("identity", "GET /services/oauth2/userinfo; SOQL UserPermissionAccess",
         source=f"{DOC}/atlas.en-us.sfFieldRef.meta/sfFieldRef/salesforce_field_reference_UserPermissionAccess.htm",
         note="UserPermissionAccess represents the current user's own permissions."),
    Read("organization", "SOQL Organization",
         source=f"{DOC}/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_organization.htm"),
    Read("api-budget", "Sforce-Limit-Info response header (every REST answer)",
         source=f"{DOC}/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm",
         note="The /limits resource would need View Setup and Configuration; the header needs nothing more."),
    Read("users", "SOQL User (Username, IsActive, Profile.Name, UserType)",
         source=f"{DOC}/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_user.htm",
         note="Users are visible to each other under the org's user sharing defaults."),
    Read("user-login", "SOQL UserLogin (IsFrozen, IsPasswordLocked)",
         any_of=("ManageUsers",),
         source=f"{DOC}/platform/object-reference/references/standard-objects/object-userlogin.html"),
    Read("login-history", "SOQL LoginHistory (the user's logins in the window)",
         any_of=("ManageUsers", "MonitorLoginHistory"), own_rows_only=True,
         source=f"{DOC}/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_loginhistory.htm",
         note="Without either permission the query answers with the run-as user's own logins only."),
    Read("profile-ip-ranges", "SOQL LoginIpRange (the profile's login IP ranges)",
         any_of=("ViewSetup",),
         source=f"{DOC}/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_loginiprange.htm",
         note="[I] setup data: the object reference states no rule; Salesforce shows setup objects to View Setup."),
    Read("permission-grants", "SOQL PermissionSetAssignment with PermissionSet (PermissionsApiEnabled)",
         any_of=("ViewSetup",),
         source=f"{DOC}/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_permissionsetassignment.htm",
         note="[I] setup data, as for LoginIpRange."),
    Read("trusted-ip-ranges", "Metadata API readMetadata(SecuritySettings) networkAccess.ipRanges",
         any_of=("ModifyMetadata", "ModifyAllData"), editions=METADATA_API_EDITIONS,
         source=f"{DOC}/atlas.en-us.api_meta.meta/api_meta/meta_metadata_perm.htm",
         note="No read-only API exposes the org-wide trusted ranges: Metadata API is the only one, and it needs "
              "a permission that also allows changes. sfdoctor's permission set leaves it out; the step is manual."),
    Read("oauth-tokens", "SOQL OauthToken (use per app and user)",
         any_of=("CustomizeApplication",), own_rows_only=True,
         source=f"{DOC}/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_oauthtoken.htm",
         note="Without Customize Application the query answers with the run-as user's own tokens only."),
    Read("connected-apps", "SOQL ConnectedApplication (the app and its policies)",
         any_of=("CustomizeApplication",),
         source=f"{DOC}/atlas.en-us.packagingGuide.meta/packagingGuide/connected_app_overview.htm",
         note="'To read: Customize Application' (connected apps overview)."),
    Read("setup-entity-access", "SOQL SetupEntityAccess (which profiles and permission sets may use the app)",
         any_of=("ViewSetup",),
         source=f"{DOC}/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_setupentityaccess.htm",
         note="'As of Spring '20 and later, only users with View Setup and Configuration permission can access "
              "this object.'"),
    Read("app-policies", "Metadata API readMetadata(ConnectedApp, ExtlClntAppOauthConfigurablePolicies, "
                         "OauthOidcSettings, Profile)",
         any_of=("ModifyMetadata", "ModifyAllData"), editions=METADATA_API_EDITIONS,
         source=f"{DOC}/atlas.en-us.api_meta.meta/api_meta/meta_metadata_perm.htm",
         note="The app's OAuth policies (flows, refresh token policy, IP relaxation, run-as user) and profile "
              "login hours are only readable through the Metadata API, as for the trusted IP ranges."),
    Read("lead-contact", "SOQL Lead, Contact (emails); describe Lead, Contact",
         source=f"{DOC}/atlas.en-us.securityImplGuide.meta/securityImplGuide/users_profiles_view_all_mod_all.htm",
         note="An object permission, not a user permission: Read on Lead and Contact shows the records sharing "
              "lets the user see, View All on them shows every record. The permission set grants Read and View All "
              "on Lead and Contact; a missing object permission answers INVALID_TYPE, which the check reports."),
)}


def permission_label(name: str, lang: str = "en") -> str:
    """Salesforce's Setup label for a permission's API name (texts/access.toml)."""
    return t(f"access.permission.{name}", lang) if name in PERMISSIONS else name


def needed_for(read_ids: Iterable[str]) -> list[str]:
    """The least set of permissions that allows every read (the first permission each read lists)."""
    out: list[str] = ["ApiEnabled"]
    for rid in read_ids:
        read = READS[rid]
        if read.any_of and not set(read.any_of) & set(out):
            out.append(read.any_of[0])
    return out


# What the shipped permission set grants (salesforce/force-app/.../Sfdoctor_Reader.permissionset-meta.xml):
# only permissions that cannot change the org.
PERMISSION_SET = "Sfdoctor_Reader"
PERMISSION_SET_GRANTS = ("ApiEnabled", "MonitorLoginHistory", "ViewSetup")
# Permissions that would automate a manual step, each of which also allows changes to the org:
# an admin adds them knowingly, or keeps the manual step.
WRITE_CAPABLE = {
    "ManageUsers": "creates and edits users, resets passwords",
    "CustomizeApplication": "changes the org's configuration",
    "ModifyMetadata": "deploys metadata, Apex included",
    "ModifyAllData": "changes every record and setting",
}


def reads_of(spec: object) -> list[Read]:
    """The reads a runbook makes (its spec's `reads`), in catalog order."""
    wanted = set(getattr(spec, "reads", None) or ())
    return [r for rid, r in READS.items() if rid in wanted]


# The sObject whose absence for the run-as user (INVALID_TYPE) means a read it may not make.
_READ_OF_SOBJECT = {"SetupEntityAccess": "setup-entity-access", "UserLogin": "user-login", "LoginIpRange": "profile-ip-ranges",
                    "PermissionSetAssignment": "permission-grants", "PermissionSet": "permission-grants",
                    "ConnectedApplication": "connected-apps", "LoginHistory": "login-history",
                    "OauthToken": "oauth-tokens", "Lead": "lead-contact", "Contact": "lead-contact"}
_INVALID_TYPE = re.compile(r"sObject type '([A-Za-z0-9_]+)' is not supported")
# Salesforce's refusals of the Metadata API: no permission, or an edition without it.
_METADATA_REFUSALS = ("INSUFFICIENT_ACCESS", "API_DISABLED_FOR_ORG")
_METADATA_WORDS = ("use of the Metadata API requires", "The Metadata API is not enabled")


METADATA_READS = ("trusted-ip-ranges", "app-policies")


def refused_read(code: object, message: str, *, metadata: bool = False,
                 runbook_reads: Iterable[str] = ()) -> Read | None:
    """The read a refusal says the run-as user may not make, or None for any other error.

    `INVALID_TYPE: sObject type 'UserLogin' is not supported` is how Salesforce answers a
    query on an object the user has no access to; a Metadata API fault INSUFFICIENT_ACCESS
    or API_DISABLED_FOR_ORG refuses the only read sfdoctor makes there (trusted IP ranges).
    """
    code = str(code or "")
    marked = _REFUSED_MARK.search(message or "")
    if marked and marked.group(1) in READS:
        return READS[marked.group(1)]
    if (metadata and code in _METADATA_REFUSALS) or any(m in (message or "") for m in _METADATA_WORDS):
        # The runbook's own Metadata API read (a runbook makes one kind: trusted ranges, or app policies).
        mine = [r for r in runbook_reads if r in METADATA_READS]
        return READS[mine[0] if mine else "trusted-ip-ranges"]
    if code == "INVALID_TYPE" or "is not supported" in (message or ""):
        m = _INVALID_TYPE.search(message or "")
        if m and m.group(1) in _READ_OF_SOBJECT:
            return READS[_READ_OF_SOBJECT[m.group(1)]]
    return None


def manual_step(read: Read, lang: str, *, refusal: str = "permission", edition: str | None = None) -> str:
    """What a `manual` step says when the run-as user may not make `read` (texts/access.toml)."""
    if refusal == "edition":
        return t("access.manual.edition", lang, edition=edition or t("access.manual.this_edition", lang), call=read.call.split(" ", 2)[0] + " API"
                 if read.call.startswith("Metadata") else read.call, what=read.what(lang), setup=read.setup(lang))
    permission = t("access.manual.or", lang).join(permission_label(p, lang) for p in read.any_of) or \
        permission_label("ApiEnabled", lang)
    return t("access.manual.permission", lang, what=read.what(lang), setup=read.setup(lang), permission=permission)


# ------------------------------------------------------------------ the run-as user's own permissions

_REFUSED_MARK = re.compile(r"\[read refused: ([a-z-]+)\]")


class ReadRefused(Exception):
    """A read the run-as user may not make, found out before it misled a verdict (an empty
    LoginHistory answer for a user that only its own rows would show). The session turns it,
    as any refusal of `refused_read`, into a `manual` step."""

    def __init__(self, read: Read):
        self.read = read
        self.code = "READ_REFUSED"
        super().__init__(f"[read refused: {read.id}] sfdoctor's run-as user may not read {read.what('en')}")


PERMISSIONS_QUERY = "SELECT " + ", ".join(f"Permissions{p}" for p in PERMISSIONS) + " FROM UserPermissionAccess"


def run_as_permissions(conn: object) -> frozenset[str]:
    """The run-as user's own permissions (one UserPermissionAccess query per connection, none
    when a runbook's composite already carried PERMISSIONS_QUERY: `remember_permissions`)."""
    cached = getattr(conn, "_run_as_permissions", None)
    if cached is not None:
        return cached
    return remember_permissions(conn, conn.sf.query(PERMISSIONS_QUERY)["records"])  # type: ignore[attr-defined]


def remember_permissions(conn: object, rows: list[dict]) -> frozenset[str]:
    """Keep the run-as user's permissions from PERMISSIONS_QUERY's answer on the connection, so
    that telling an own-rows-only answer from an empty one costs no call of its own."""
    granted = frozenset(p for p in PERMISSIONS if rows and rows[0].get(f"Permissions{p}"))
    setattr(conn, "_run_as_permissions", granted)
    return granted


def check_rows_visible(conn: object, read_id: str) -> None:
    """Raise ReadRefused when `read_id` answers the run-as user with its own rows only and it
    lacks every permission that shows the others' (call it when such an answer came back empty)."""
    read = READS[read_id]
    if read.own_rows_only and not read.allowed(run_as_permissions(conn) | {"ApiEnabled"}):
        raise ReadRefused(read)
