"""Standard sObject schemas the demo world serves (describe + SOQL).

Kept apart from store.py because scenario.py needs them too: a scenario's `records:` may
only use fields that exist on the object, and custom fields must not shadow standard ones.

Field flags follow Salesforce's object reference where we know them (LoginHistory's filterable
set is the one from reference/salesforce-wire.md §4.1: Status can be grouped and sorted but
never filtered). Key prefixes are the real ones where known; the few we could not confirm
(LoginIpRange, UserLogin) are marked [I] and only need to be stable and distinct.
"""
from __future__ import annotations

from .schema import ChildRelationship, FieldSchema, ObjectSchema

# sObject -> 3-character key prefix (the first 3 characters of every Id of that object).
KEY_PREFIXES: dict[str, str] = {
    "Organization": "00D",
    "User": "005",
    "Profile": "00e",
    "UserLicense": "100",
    "PermissionSet": "0PS",
    "PermissionSetAssignment": "0Pa",
    "LoginHistory": "0Ya",
    "UserLogin": "060",          # [I]
    "LoginIpRange": "0Li",       # [I]
    "OauthToken": "0CQ",
    "UserPermissionAccess": "0Xr",   # [I]
    "ConnectedApplication": "0H4",
    "SetupEntityAccess": "0J0",
    "Lead": "00Q",
    "Contact": "003",
    "Account": "001",
}

# describe types a scenario may give a custom field (spec: `objects.<SObject>.fields[].type`).
CUSTOM_FIELD_TYPES = (
    "string", "textarea", "double", "int", "currency", "percent", "boolean", "date",
    "datetime", "email", "phone", "url", "picklist", "reference",
)


# UserPermissionAccess fields the simulator answers (the current user's own permissions).
USER_PERMISSION_FIELDS = ("ApiEnabled", "ViewSetup", "ManageUsers", "MonitorLoginHistory", "CustomizeApplication",
                          "ModifyMetadata", "ModifyAllData", "ViewAllData")


def _f(name: str, type_: str, label: str = "", **kw: object) -> FieldSchema:
    """Compact FieldSchema constructor; the label defaults to the API name split into words."""
    if not label:
        label = "".join(" " + c if c.isupper() and i and not name[i - 1].isupper() else c
                        for i, c in enumerate(name)).strip()
    return FieldSchema(name=name, type=type_, label=label, **kw)  # type: ignore[arg-type]


def _ref(name: str, target: str, relationship: str | None, label: str = "", **kw: object) -> FieldSchema:
    return _f(name, "reference", label, reference_to=(target,), relationship_name=relationship, **kw)


def _id() -> FieldSchema:
    return _f("Id", "id", "Record ID", nillable=False)


def _audit() -> list[FieldSchema]:
    return [_f("CreatedDate", "datetime", nillable=False), _f("LastModifiedDate", "datetime", nillable=False),
            _f("SystemModstamp", "datetime", nillable=False)]


def _obj(name: str, label: str, fields: list[FieldSchema],
         children: list[ChildRelationship] | None = None) -> ObjectSchema:
    return ObjectSchema(name=name, label=label, key_prefix=KEY_PREFIXES[name],
                        fields={f.name: f for f in fields}, child_relationships=list(children or []))


def _login_history_fields() -> list[FieldSchema]:
    """LoginHistory per the object reference: only 12 fields are filterable; the rest
    (Status, SourceIp, Application, ...) can be grouped and sorted but not used in WHERE."""
    filterable = {"AuthenticationServiceId", "CipherSuite", "CountryIso", "Id", "LoginTime", "LoginType",
                  "LoginUrl", "NetworkId", "OptionsIsGet", "OptionsIsPost", "TlsProtocol", "UserId"}
    spec: list[tuple[str, str, dict]] = [
        ("Id", "id", {"nillable": False}),
        ("ApiType", "string", {}), ("ApiVersion", "string", {}), ("Application", "string", {}),
        ("AuthMethodReference", "string", {}),
        ("AuthenticationServiceId", "reference", {"reference_to": ("AuthProvider", "SamlSsoConfig")}),
        ("Browser", "string", {}), ("CipherSuite", "picklist", {}), ("ClientVersion", "string", {}),
        ("CountryIso", "string", {}), ("ForwardedForIp", "string", {}),
        ("LoginGeoId", "reference", {"reference_to": ("LoginGeo",), "relationship_name": "LoginGeo"}),
        ("LoginSubType", "picklist", {}), ("LoginTime", "datetime", {"nillable": False}),
        ("LoginType", "picklist", {}), ("LoginUrl", "string", {}),
        ("NetworkId", "reference", {"reference_to": ("Network",)}),
        ("OptionsIsGet", "boolean", {"nillable": False}), ("OptionsIsPost", "boolean", {"nillable": False}),
        ("Platform", "string", {}), ("SourceIp", "string", {}), ("Status", "string", {}),
        ("TlsProtocol", "picklist", {}),
        ("UserId", "reference", {"reference_to": ("User",), "relationship_name": None}),
    ]
    out = []
    for name, type_, kw in spec:
        out.append(_f(name, type_, filterable=name in filterable, **kw))
    return out


def standard_objects() -> dict[str, ObjectSchema]:
    """A fresh dict of the standard objects (fresh so a World can add custom fields to its copy)."""
    objs = [
        _obj("Organization", "Organization", [
            _id(), _f("Name", "string"), _f("OrganizationType", "picklist", "Edition"),
            _f("IsSandbox", "boolean"), _f("InstanceName", "string"), _f("TrialExpirationDate", "datetime"),
            _f("NamespacePrefix", "string"), _f("PrimaryContact", "string"), _f("Country", "string"),
            _f("DefaultLocaleSidKey", "picklist"), _f("LanguageLocaleKey", "picklist"),
            _f("TimeZoneSidKey", "picklist"), *_audit()]),
        _obj("UserLicense", "User License", [
            _id(), _f("Name", "string"), _f("LicenseDefinitionKey", "string"), _f("Status", "picklist"),
            _f("TotalLicenses", "int"), _f("UsedLicenses", "int"), *_audit()]),
        _obj("Profile", "Profile", [
            _id(), _f("Name", "string"), _f("Description", "string"),
            _ref("UserLicenseId", "UserLicense", "UserLicense", "User License ID"),
            _f("UserType", "picklist"), _f("PermissionsApiEnabled", "boolean", "API Enabled"),
            _f("PermissionsApiUserOnly", "boolean", "API Only User"),
            _f("PermissionsPasswordNeverExpires", "boolean", "Password Never Expires"),
            _f("PermissionsViewSetup", "boolean", "View Setup and Configuration"),
            _f("PermissionsModifyAllData", "boolean", "Modify All Data"),
            _f("PermissionsManageUsers", "boolean", "Manage Users"), *_audit()],
            [ChildRelationship("LoginIpRanges", "LoginIpRange", "ProfileId"),
             ChildRelationship("Users", "User", "ProfileId")]),
        _obj("PermissionSet", "Permission Set", [
            _id(), _f("Name", "string"), _f("Label", "string"), _f("Description", "string"),
            _f("IsOwnedByProfile", "boolean"), _f("IsCustom", "boolean"),
            _ref("ProfileId", "Profile", "Profile", "Profile ID"), _f("NamespacePrefix", "string"),
            _f("PermissionsApiEnabled", "boolean", "API Enabled"),
            _f("PermissionsApiUserOnly", "boolean", "API Only User"),
            _f("PermissionsPasswordNeverExpires", "boolean", "Password Never Expires"),
            _f("PermissionsViewSetup", "boolean", "View Setup and Configuration"),
            _f("PermissionsModifyAllData", "boolean", "Modify All Data"), *_audit()],
            [ChildRelationship("Assignments", "PermissionSetAssignment", "PermissionSetId")]),
        _obj("PermissionSetAssignment", "Permission Set Assignment", [
            _id(), _ref("AssigneeId", "User", "Assignee", "Assignee ID"),
            _ref("PermissionSetId", "PermissionSet", "PermissionSet", "Permission Set ID"),
            _f("IsActive", "boolean"), _f("ExpirationDate", "datetime"), _f("SystemModstamp", "datetime")]),
        _obj("User", "User", [
            _id(), _f("Username", "string", nillable=False), _f("Name", "string"), _f("FirstName", "string"),
            _f("LastName", "string", nillable=False), _f("Alias", "string"), _f("Email", "email"),
            _f("IsActive", "boolean"), _ref("ProfileId", "Profile", "Profile", "Profile ID"),
            _f("UserType", "picklist"), _f("LastLoginDate", "datetime"), _f("LastPasswordChangeDate", "datetime"),
            _f("LanguageLocaleKey", "picklist"), _f("LocaleSidKey", "picklist"), _f("TimeZoneSidKey", "picklist"),
            *_audit()],
            [ChildRelationship("PermissionSetAssignments", "PermissionSetAssignment", "AssigneeId"),
             ChildRelationship("OauthTokens", "OauthToken", "UserId")]),
        _obj("UserLogin", "User Login", [
            _id(), _ref("UserId", "User", "User", "User ID"), _f("IsFrozen", "boolean"),
            _f("IsPasswordLocked", "boolean"), _f("LastModifiedDate", "datetime")]),
        _obj("LoginHistory", "Login History", _login_history_fields()),
        _obj("UserPermissionAccess", "User Permission Access", [
            _id(), *[_f(f"Permissions{p}", "boolean") for p in USER_PERMISSION_FIELDS], _f("LastCacheUpdate", "datetime")]),
        _obj("LoginIpRange", "Login IP Range", [
            _id(), _ref("ProfileId", "Profile", "Profile", "Profile ID"), _f("StartAddress", "string"),
            _f("EndAddress", "string"), _f("Description", "string"), *_audit()]),
        _obj("OauthToken", "OAuth Token", [
            _id(), _f("AppName", "string"), _ref("UserId", "User", "User", "User ID"), _f("UseCount", "int"),
            _f("LastUsedDate", "datetime"), _f("CreatedDate", "datetime"), _f("AccessToken", "string"),
            _f("RequestToken", "string"), _f("DeleteToken", "string"), _f("AppMenuItemId", "reference")]),
        _obj("SetupEntityAccess", "Setup Entity Access", [
            _id(), _ref("ParentId", "PermissionSet", "Parent", "Parent ID"), _f("SetupEntityId", "reference"),
            _f("SetupEntityType", "picklist"), _f("SystemModstamp", "datetime")]),
        _obj("ConnectedApplication", "Connected App", [
            _id(), _f("Name", "string"), _f("OptionsAllowAdminApprovedUsersOnly", "boolean",
                                            "Admin approved users are pre-authorized"),
            _f("OptionsHasSessionLevelPolicy", "boolean"), _f("OptionsRefreshTokenValidityMetric", "boolean"),
            _f("RefreshTokenValidityPeriod", "int"), _f("MobileSessionTimeout", "picklist"),
            _f("PinLength", "picklist"), _f("StartUrl", "url"), _f("MobileStartUrl", "url"), *_audit()]),
        _obj("Account", "Account", [
            _id(), _f("Name", "string", nillable=False), _f("Type", "picklist"), _f("Industry", "picklist"),
            _f("AnnualRevenue", "currency"), _f("NumberOfEmployees", "int"), _f("Phone", "phone"),
            _f("Website", "url"), _f("BillingCountry", "string"), _f("BillingCity", "string"),
            _ref("ParentId", "Account", "Parent", "Parent Account ID"),
            _ref("OwnerId", "User", "Owner", "Owner ID"), _f("IsDeleted", "boolean"),
            _ref("MasterRecordId", "Account", "MasterRecord", "Master Record ID"), *_audit()],
            [ChildRelationship("Contacts", "Contact", "AccountId")]),
        _obj("Contact", "Contact", [
            _id(), _f("FirstName", "string"), _f("LastName", "string", nillable=False), _f("Name", "string"),
            _f("Email", "email"), _f("Phone", "phone"), _f("Title", "string"), _f("LeadSource", "picklist"),
            _f("HasOptedOutOfEmail", "boolean", "Email Opt Out"), _f("MailingCountry", "string"),
            _ref("AccountId", "Account", "Account", "Account ID"), _ref("OwnerId", "User", "Owner", "Owner ID"),
            _f("IsDeleted", "boolean"), _ref("MasterRecordId", "Contact", "MasterRecord", "Master Record ID"),
            *_audit()]),
        _obj("Lead", "Lead", [
            _id(), _f("FirstName", "string"), _f("LastName", "string", nillable=False), _f("Name", "string"),
            _f("Email", "email"), _f("Company", "string", nillable=False), _f("Title", "string"),
            _f("Phone", "phone"), _f("Status", "picklist", nillable=False), _f("LeadSource", "picklist"),
            _f("Industry", "picklist"), _f("AnnualRevenue", "currency"), _f("NumberOfEmployees", "int"),
            _f("Website", "url"), _f("City", "string"), _f("State", "string"), _f("Country", "string"),
            _f("HasOptedOutOfEmail", "boolean", "Email Opt Out"),
            _ref("OwnerId", "User", "Owner", "Owner ID"), _f("IsDeleted", "boolean"),
            _f("IsConverted", "boolean"), _f("ConvertedDate", "date"),
            _ref("ConvertedAccountId", "Account", "ConvertedAccount", "Converted Account ID"),
            _ref("ConvertedContactId", "Contact", "ConvertedContact", "Converted Contact ID"),
            _f("ConvertedOpportunityId", "reference", "Converted Opportunity ID", reference_to=("Opportunity",)),
            _ref("MasterRecordId", "Lead", "MasterRecord", "Master Record ID"), *_audit()]),
    ]
    return {o.name: o for o in objs}


# Objects a scenario may put `records:` into (the setup objects are built from the
# salesforce: section instead) and give custom fields.
RECORD_OBJECTS = ("Account", "Contact", "Lead")
