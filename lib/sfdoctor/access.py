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
from dataclasses import dataclass, field
from typing import Iterable, Mapping

# Salesforce's labels for the permissions sfdoctor's reads involve (Setup > Permission Sets).
PERMISSION_LABELS: dict[str, dict[str, str]] = {
    "ApiEnabled": {"en": "API Enabled", "ja": "API の有効化"},
    "ViewSetup": {"en": "View Setup and Configuration", "ja": "設定・定義を参照する"},
    "ManageUsers": {"en": "Manage Users", "ja": "ユーザーの管理"},
    "MonitorLoginHistory": {"en": "Monitor Login History", "ja": "ログイン履歴を監視"},
    "CustomizeApplication": {"en": "Customize Application", "ja": "アプリケーションのカスタマイズ"},
    "ModifyMetadata": {"en": "Modify Metadata Through Metadata API Functions",
                       "ja": "メタデータ API 関数を使用したメタデータの変更"},
    "ModifyAllData": {"en": "Modify All Data", "ja": "すべてのデータの編集"},
    "ViewAllData": {"en": "View All Data", "ja": "すべてのデータの参照"},
}

# Editions (Organization.OrganizationType) that have no Metadata API (meta_metadata_perm.htm:
# "One of these editions: Enterprise, Unlimited, or Developer"; Performance is Unlimited's superset).
METADATA_API_EDITIONS = ("Enterprise Edition", "Unlimited Edition", "Performance Edition", "Developer Edition")

DOC = "https://developer.salesforce.com/docs"


@dataclass(frozen=True)
class Read:
    """One kind of read sfdoctor makes, the permission(s) that allow it and where that is written."""

    id: str
    call: str                                   # what goes over the wire
    what: Mapping[str, str]                     # what it tells the runbook (en, ja)
    any_of: tuple[str, ...] = ()                # permissions of which one allows it; () = API Enabled alone
    own_rows_only: bool = False                 # without them: no error, only the user's own rows
    editions: tuple[str, ...] | None = None     # editions that offer the call (None: every API edition)
    setup: Mapping[str, str] = field(default_factory=dict)   # where a person looks instead (en, ja)
    source: str = ""
    note: str = ""

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
         {"en": "who sfdoctor's run-as user is and which permissions it holds",
          "ja": "sfdoctor の実行ユーザーが誰で、どの権限を持つか"},
         source=f"{DOC}/atlas.en-us.sfFieldRef.meta/sfFieldRef/salesforce_field_reference_UserPermissionAccess.htm",
         note="UserPermissionAccess represents the current user's own permissions."),
    Read("organization", "SOQL Organization",
         {"en": "the edition, sandbox or not, the instance", "ja": "エディション、Sandbox かどうか、インスタンス"},
         source=f"{DOC}/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_organization.htm"),
    Read("api-budget", "Sforce-Limit-Info response header (every REST answer)",
         {"en": "the daily API requests used and allowed", "ja": "1 日の API リクエストの使用数と上限"},
         source=f"{DOC}/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm",
         note="The /limits resource would need View Setup and Configuration; the header needs nothing more."),
    Read("users", "SOQL User (Username, IsActive, Profile.Name, UserType)",
         {"en": "the user under diagnosis: active, profile", "ja": "調べるユーザー: 有効かどうか、プロファイル"},
         source=f"{DOC}/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_user.htm",
         note="Users are visible to each other under the org's user sharing defaults."),
    Read("user-login", "SOQL UserLogin (IsFrozen, IsPasswordLocked)",
         {"en": "whether the user is frozen or locked out", "ja": "ユーザーが凍結・ロックされているか"},
         any_of=("ManageUsers",),
         setup={"en": "Setup > Users > Users > the user (Frozen / Locked: an Unfreeze or Unlock button shows)",
                "ja": "設定 > ユーザー > ユーザー > 対象ユーザー (凍結・ロック中は [凍結解除] [ロック解除] ボタンが出ます)"},
         source=f"{DOC}/platform/object-reference/references/standard-objects/object-userlogin.html"),
    Read("login-history", "SOQL LoginHistory (the user's logins in the window)",
         {"en": "the failing logins, their status, source address and application",
          "ja": "失敗しているログインの状況、送信元アドレス、アプリケーション"},
         any_of=("ManageUsers", "MonitorLoginHistory"), own_rows_only=True,
         setup={"en": "Setup > Users > Login History (download the CSV and filter on the user)",
                "ja": "設定 > ユーザー > ログイン履歴 (CSV をダウンロードしてユーザーで絞り込み)"},
         source=f"{DOC}/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_loginhistory.htm",
         note="Without either permission the query answers with the run-as user's own logins only."),
    Read("profile-ip-ranges", "SOQL LoginIpRange (the profile's login IP ranges)",
         {"en": "the login IP ranges of the user's profile", "ja": "ユーザーのプロファイルのログイン IP アドレスの制限"},
         any_of=("ViewSetup",),
         setup={"en": "Setup > Profiles > the user's profile > Login IP Ranges",
                "ja": "設定 > プロファイル > 対象ユーザーのプロファイル > ログイン IP アドレスの制限"},
         source=f"{DOC}/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_loginiprange.htm",
         note="[I] setup data: the object reference states no rule; Salesforce shows setup objects to View Setup."),
    Read("permission-grants", "SOQL PermissionSetAssignment with PermissionSet (PermissionsApiEnabled)",
         {"en": "whether the user's profile or a permission set grants API Enabled",
          "ja": "ユーザーのプロファイルか権限セットが「API の有効化」を与えているか"},
         any_of=("ViewSetup",),
         setup={"en": "Setup > Users > the user > Permission Set Assignments, and the profile's System Permissions",
                "ja": "設定 > ユーザー > 対象ユーザー > 権限セットの割り当て、およびプロファイルのシステム権限"},
         source=f"{DOC}/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_permissionsetassignment.htm",
         note="[I] setup data, as for LoginIpRange."),
    Read("trusted-ip-ranges", "Metadata API readMetadata(SecuritySettings) networkAccess.ipRanges",
         {"en": "the org-wide trusted IP ranges (Network Access)", "ja": "組織全体の信頼済み IP 範囲 (ネットワークアクセス)"},
         any_of=("ModifyMetadata", "ModifyAllData"), editions=METADATA_API_EDITIONS,
         setup={"en": "Setup > Security > Network Access (the Trusted IP Ranges list)",
                "ja": "設定 > セキュリティ > ネットワークアクセス (信頼済み IP 範囲の一覧)"},
         source=f"{DOC}/atlas.en-us.api_meta.meta/api_meta/meta_metadata_perm.htm",
         note="No read-only API exposes the org-wide trusted ranges: Metadata API is the only one, and it needs "
              "a permission that also allows changes. sfdoctor's permission set leaves it out; the step is manual."),
    Read("oauth-tokens", "SOQL OauthToken (use per app and user)",
         {"en": "which users use the app, how often, and when last", "ja": "どのユーザーがアプリをいつ、どれだけ使ったか"},
         any_of=("CustomizeApplication",), own_rows_only=True,
         setup={"en": "Setup > Apps > Connected Apps OAuth Usage", "ja": "設定 > アプリケーション > 接続アプリケーションの OAuth 利用状況"},
         source=f"{DOC}/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_oauthtoken.htm",
         note="Without Customize Application the query answers with the run-as user's own tokens only."),
    Read("connected-apps", "SOQL ConnectedApplication (the app and its policies)",
         {"en": "the connected app, whether it is blocked, its policies", "ja": "接続アプリケーション、ブロックの有無、ポリシー"},
         any_of=("CustomizeApplication",),
         setup={"en": "Setup > Apps > Connected Apps > Manage Connected Apps",
                "ja": "設定 > アプリケーション > 接続アプリケーション > 接続アプリケーションを管理する"},
         source=f"{DOC}/atlas.en-us.packagingGuide.meta/packagingGuide/connected_app_overview.htm",
         note="'To read: Customize Application' (connected apps overview)."),
    Read("lead-contact", "SOQL Lead, Contact (emails); describe Lead, Contact",
         {"en": "the records and fields the sync would move", "ja": "同期で移るレコードと項目"},
         setup={"en": "Object Manager > Lead / Contact > Fields & Relationships, and the sync user's field-level security",
                "ja": "オブジェクトマネージャー > リード / 取引先責任者 > 項目とリレーション、同期ユーザーの項目レベルセキュリティ"},
         source=f"{DOC}/atlas.en-us.securityImplGuide.meta/securityImplGuide/users_profiles_view_all_mod_all.htm",
         note="An object permission, not a user permission: Read on Lead and Contact shows the records sharing "
              "lets the user see, View All on them shows every record. The permission set grants Read and View All "
              "on Lead and Contact; a missing object permission answers INVALID_TYPE, which the check reports."),
)}


def permission_label(name: str, lang: str = "en") -> str:
    """Salesforce's Setup label for a permission's API name."""
    labels = PERMISSION_LABELS.get(name)
    return labels.get(lang, labels["en"]) if labels else name


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
_READ_OF_SOBJECT = {"UserLogin": "user-login", "LoginIpRange": "profile-ip-ranges",
                    "PermissionSetAssignment": "permission-grants", "PermissionSet": "permission-grants",
                    "ConnectedApplication": "connected-apps", "LoginHistory": "login-history",
                    "OauthToken": "oauth-tokens", "Lead": "lead-contact", "Contact": "lead-contact"}
_INVALID_TYPE = re.compile(r"sObject type '([A-Za-z0-9_]+)' is not supported")
# Salesforce's refusals of the Metadata API: no permission, or an edition without it.
_METADATA_REFUSALS = ("INSUFFICIENT_ACCESS", "API_DISABLED_FOR_ORG")


def refused_read(code: object, message: str, *, metadata: bool = False) -> Read | None:
    """The read a refusal says the run-as user may not make, or None for any other error.

    `INVALID_TYPE: sObject type 'UserLogin' is not supported` is how Salesforce answers a
    query on an object the user has no access to; a Metadata API fault INSUFFICIENT_ACCESS
    or API_DISABLED_FOR_ORG refuses the only read sfdoctor makes there (trusted IP ranges).
    """
    code = str(code or "")
    if metadata and code in _METADATA_REFUSALS:
        return READS["trusted-ip-ranges"]
    if code == "INVALID_TYPE" or "is not supported" in (message or ""):
        m = _INVALID_TYPE.search(message or "")
        if m and m.group(1) in _READ_OF_SOBJECT:
            return READS[_READ_OF_SOBJECT[m.group(1)]]
    return None
