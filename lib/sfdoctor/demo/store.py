"""The demo world's state and domain logic: one `World` per running simulator.

The org's mutable state (users and their lockout counters, login history, sessions, records)
lives in SQLite, loaded from a `Scenario`; everything that decides (may this login succeed,
what row does LoginHistory get, which fields may this user see) lives here, so the wire
layers (sf_soap, sf_oauth, sf_rest, mcloud) only translate between HTTP and these methods
and never decide anything themselves. Reads for SOQL go through `catalog_for(user_id)`,
whose row lists are cached (LoginHistory can hold 200,000 rows) and refreshed on writes.

All public methods take the world's lock: the simulator's tornado thread and a test's
thread may call in at the same time.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator

from .objects import KEY_PREFIXES, RECORD_OBJECTS, standard_objects
from .scenario import Scenario, TimeRef, ip_in_ranges, parse_time
from .schema import FieldSchema, ObjectSchema

DEMO_CLIENT_ID = "sfdoctor-demo"
DEMO_CLIENT_SECRET = "sfdoctor-demo-secret-7Q2mX9"
DEMO_APP_NAME = "sfdoctor"

SESSION_SECONDS_VALID = 7200          # Salesforce's default session timeout (LoginResult.sessionSecondsValid)
DAILY_API_MAX = {"Enterprise Edition": 15000, "Unlimited Edition": 15000, "Performance Edition": 15000,
                 "Developer Edition": 15000}
DAILY_API_MAX_DEFAULT = 5000

# LoginHistory.Status per decision reason: Salesforce's own strings where observed
# (reference §4.1); [I] marks our best guess where no capture exists.
STATUS = {
    "OK": "Success",
    "TOKEN_REQUIRED": "Failed: API security token required",
    "INVALID_PASSWORD": "Invalid Password",
    "INVALID_TOKEN": "Invalid Password",          # Salesforce cannot tell a wrong token from a wrong password
    "LOCKED": "Password Lockout",
    "FROZEN": "User is Frozen",
    "INACTIVE": "User is Inactive",
    "RESTRICTED_IP": "Restricted IP",
    "API_DISABLED_FOR_ORG": "Failed: OAuth API access disabled",   # EventLogFile LOGIN_OAUTH_API_DISABLED; [I] for SOAP
    "API_DISABLED_FOR_USER": "Failed: API access disabled",        # [I] no capture found
}

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_DIRECT_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def case_safe_id(id15: str) -> str:
    """Salesforce's 18-character id: 3 suffix characters encode which of the 15 are upper case."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5:chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix += _SUFFIX[bits]
    return id15 + suffix


def _b62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(width, "0")


def _digest_b62(text: str, width: int) -> str:
    return _b62(int.from_bytes(hashlib.sha256(text.encode()).digest(), "big"), 60)[-width:]


@dataclass(frozen=True)
class LoginDecision:
    """The outcome of a login attempt; the wire layers map `reason` to faults/errors.

    `status` is the LoginHistory.Status recorded (None: no row, as for an unknown user).
    """

    ok: bool
    reason: str
    user: dict | None = None
    password_expired: bool = False
    status: str | None = None


@dataclass
class _Cache:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    hidden: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)


class WorldCatalog:
    """The Catalog (schema.py) as one user sees it: fields hidden from the user's profile by
    field-level security are absent from describe and from the rows."""

    def __init__(self, world: "World", profile_name: str):
        self._world = world
        self.profile_name = profile_name

    def sobject_names(self) -> list[str]:
        """Every queryable sObject (for describe global)."""
        return list(self._world.schemas)

    def describe(self, sobject: str) -> ObjectSchema | None:
        schema = self._world.schema(sobject)
        if schema is None:
            return None
        hidden = [n for n, f in schema.fields.items() if self.profile_name in f.hidden_from_profiles]
        if not hidden:
            return schema
        return ObjectSchema(name=schema.name, label=schema.label, key_prefix=schema.key_prefix,
                            fields={n: f for n, f in schema.fields.items() if n not in hidden},
                            child_relationships=list(schema.child_relationships), custom=schema.custom,
                            queryable=schema.queryable)

    def rows(self, sobject: str) -> list[dict[str, Any]]:
        """Shared, cached lists: callers must not modify them."""
        return self._world._rows_for(sobject, self.profile_name)

    def now(self) -> datetime:
        return self._world.now()


class World:
    """One org (plus Marketo / Marketing Cloud state read from the scenario), in SQLite.

    `clock` returns the current aware UTC time; the default is the real clock. Relative scenario
    times are resolved against the clock's value when the World is created (`self.epoch`).
    """

    def __init__(self, scenario: Scenario, db_path: str = ":memory:",
                 clock: Callable[[], datetime] | None = None):
        self.scenario = scenario
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self.epoch = self._clock()
        self._lock = threading.RLock()
        self._db = sqlite3.connect(db_path, check_same_thread=False)
        self._cache = _Cache()
        self._api_calls = 0
        sf = scenario.salesforce
        self.client_ip: str = scenario.client_ip
        self.is_sandbox: bool = sf.sandbox_name is not None
        self.sandbox_name: str | None = sf.sandbox_name
        self.network_access: bool = sf.network_access
        self.my_domain_host = (f"{sf.my_domain}--{sf.sandbox_name}.sandbox.my.salesforce.com" if self.is_sandbox
                               else f"{sf.my_domain}.my.salesforce.com")
        self.login_host = "test.salesforce.com" if self.is_sandbox else "login.salesforce.com"
        self._pod = _digest_b62("pod:" + scenario.name, 2)
        self.org_id = case_safe_id("00D" + self._pod + "0000" + _digest_b62("org:" + scenario.name, 6).upper())
        self.org_id15 = self.org_id[:15]
        self.instance_name = ("CS" if self.is_sandbox else "USA") + str(100 + int(self.org_id15[-3:], 36) % 800)
        self._seq: dict[str, int] = {}
        self.schemas = self._build_schemas()
        with self._lock:
            self._create_tables()
            self._load()

    # ------------------------------------------------------------------ clock, ids, hosts

    def now(self) -> datetime:
        """The simulator's clock (aware UTC)."""
        return self._clock()

    def at(self, ref: datetime | None) -> datetime | None:
        """A scenario time as this world sees it (relative ones counted from `epoch`)."""
        if ref is None:
            return None
        return ref.resolve(self.epoch) if isinstance(ref, TimeRef) else ref

    def new_id(self, sobject: str) -> str:
        prefix = KEY_PREFIXES.get(sobject) or self.schemas[sobject].key_prefix
        n = self._seq.get(prefix, 0) + 1
        self._seq[prefix] = n
        return case_safe_id(prefix + self._pod + _b62(n, 10))

    def token_for(self, username: str) -> str:
        """A user's security token: the scenario's, or a stable one derived from the username."""
        user = self.scenario.salesforce.user(username)
        if user is not None and user.security_token:
            return user.security_token
        return _digest_b62("token:" + username.lower(), 24)

    def accepts_login_host(self, host: str) -> bool:
        """Production answers on login.salesforce.com and its My Domain, a sandbox on
        test.salesforce.com and its sandbox My Domain; the simulator reached directly accepts all."""
        h = (host or "").strip().lower()
        if _is_direct(h):
            return True
        if h.endswith(":443"):
            h = h[:-4]
        return h in (self.login_host, self.my_domain_host)

    # ------------------------------------------------------------------ schema

    def _build_schemas(self) -> dict[str, ObjectSchema]:
        schemas = standard_objects()
        custom_n = 0
        for obj, spec in self.scenario.salesforce.objects.items():
            extra = {f.name: FieldSchema(
                name=f.name, type=f.type, label=f.label or f.name[:-3].replace("_", " "),
                reference_to=(f.reference_to,) if f.reference_to else (), custom=True,
                hidden_from_profiles=tuple(f.hidden_from)) for f in spec.fields}
            if obj in schemas:
                schemas[obj].fields.update(extra)
            else:
                base = standard_objects()["Account"]
                fields = {n: base.fields[n] for n in ("Id", "OwnerId", "IsDeleted", "CreatedDate",
                                                       "LastModifiedDate", "SystemModstamp")}
                fields["Name"] = FieldSchema(name="Name", type="string", label=f"{spec.label or obj} Name")
                fields.update(extra)
                schemas[obj] = ObjectSchema(name=obj, label=spec.label or obj[:-3].replace("_", " "),
                                            key_prefix="a" + _b62(custom_n, 2), fields=fields, custom=True)
                custom_n += 1
        return schemas

    def schema(self, sobject: str) -> ObjectSchema | None:
        hit = self.schemas.get(sobject)
        if hit is not None:
            return hit
        lower = sobject.lower()
        return next((s for n, s in self.schemas.items() if n.lower() == lower), None)

    # ------------------------------------------------------------------ loading

    def _create_tables(self) -> None:
        self._db.executescript("""
        CREATE TABLE user_licenses(id TEXT PRIMARY KEY, name TEXT UNIQUE);
        CREATE TABLE profiles(id TEXT PRIMARY KEY, name TEXT UNIQUE, license_id TEXT, api_enabled INT,
            api_only INT, pw_never_expires INT, view_setup INT, modify_all INT, max_attempts INT);
        CREATE TABLE permission_sets(id TEXT PRIMARY KEY, name TEXT, label TEXT, profile_id TEXT,
            api_enabled INT, api_only INT, pw_never_expires INT, view_setup INT, modify_all INT);
        CREATE TABLE permission_set_assignments(id TEXT PRIMARY KEY, assignee_id TEXT, permission_set_id TEXT);
        CREATE TABLE users(id TEXT PRIMARY KEY, username TEXT UNIQUE COLLATE NOCASE, first_name TEXT,
            last_name TEXT, email TEXT, profile_id TEXT, password TEXT, token TEXT, admin INT, active INT,
            frozen INT, locked INT, password_expired INT, failed_attempts INT, last_login REAL,
            last_pw_change REAL, created REAL, userlogin_id TEXT);
        CREATE TABLE login_ip_ranges(id TEXT PRIMARY KEY, profile_id TEXT, start_address TEXT,
            end_address TEXT, description TEXT);
        CREATE TABLE login_history(id TEXT PRIMARY KEY, user_id TEXT, login_time REAL, login_type TEXT,
            login_sub_type TEXT, source_ip TEXT, login_url TEXT, status TEXT, application TEXT, api_type TEXT,
            api_version TEXT, browser TEXT, platform TEXT, country_iso TEXT, tls_protocol TEXT);
        CREATE TABLE oauth_tokens(id TEXT PRIMARY KEY, app TEXT, user_id TEXT, use_count INT,
            last_used REAL, created REAL);
        CREATE TABLE connected_apps(id TEXT PRIMARY KEY, name TEXT UNIQUE, blocked INT, admin_approved_only INT,
            created REAL);
        CREATE TABLE records(id TEXT PRIMARY KEY, sobject TEXT, data TEXT);
        CREATE TABLE sessions(sid TEXT PRIMARY KEY, user_id TEXT, created REAL, last_used REAL);
        """)

    def _load(self) -> None:
        sf = self.scenario.salesforce
        db = self._db
        ep = self.epoch.timestamp()
        licenses: dict[str, str] = {}
        profile_ids: dict[str, str] = {}
        owned_ps: dict[str, str] = {}
        for p in sf.profiles:
            if p.user_license not in licenses:
                licenses[p.user_license] = self.new_id("UserLicense")
                db.execute("INSERT INTO user_licenses VALUES (?,?)", (licenses[p.user_license], p.user_license))
            pid = profile_ids[p.name] = self.new_id("Profile")
            admin_like = p.is_admin_profile
            view_setup = admin_like if p.view_setup is None else p.view_setup
            modify_all = admin_like if p.modify_all_data is None else p.modify_all_data
            perms = (p.api_enabled, p.api_only_user, p.password_never_expires, view_setup, modify_all)
            db.execute("INSERT INTO profiles VALUES (?,?,?,?,?,?,?,?,?)",
                       (pid, p.name, licenses[p.user_license], *perms, p.max_login_attempts))
            # Every profile owns a permission set carrying its permissions (IsOwnedByProfile).
            psid = owned_ps[p.name] = self.new_id("PermissionSet")
            db.execute("INSERT INTO permission_sets VALUES (?,?,?,?,?,?,?,?,?)",
                       (psid, "X" + pid[:15], pid[:15], pid, *perms))
            for r in p.login_ip_ranges:
                db.execute("INSERT INTO login_ip_ranges VALUES (?,?,?,?,?)",
                           (self.new_id("LoginIpRange"), pid, r.start, r.end, r.description or None))
        ps_ids: dict[str, str] = {}
        for ps in sf.permission_sets:
            psid = ps_ids[ps.name] = self.new_id("PermissionSet")
            api_name = "".join(c if c.isalnum() else "_" for c in ps.name)
            db.execute("INSERT INTO permission_sets VALUES (?,?,?,?,?,?,?,?,?)",
                       (psid, api_name, ps.label or ps.name, None, ps.api_enabled, False, False, False, False))
        self._user_ids: dict[str, str] = {}
        for i, u in enumerate(sf.users):
            uid = self._user_ids[u.username.lower()] = self.new_id("User")
            local = u.username.split("@")[0]
            first = u.first_name if u.first_name is not None else local.split(".")[0].capitalize()
            last = u.last_name or ("Admin" if u.admin else local.split(".")[-1].capitalize() + " User")
            created = self.at(u.created) or (self.epoch - timedelta(days=400 - i))
            pw_change = self.at(u.last_password_change) or (self.epoch - timedelta(days=30 + 7 * i))
            db.execute("INSERT INTO users VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (uid, u.username, first, last, u.email or u.username, profile_ids[u.profile], u.password,
                        self.token_for(u.username), u.admin, u.active, u.frozen, u.locked, u.password_expired,
                        0, None, pw_change.timestamp(), created.timestamp(), self.new_id("UserLogin")))
            db.execute("INSERT INTO permission_set_assignments VALUES (?,?,?)",
                       (self.new_id("PermissionSetAssignment"), uid, owned_ps[u.profile]))
            for ps_name in u.permission_sets:
                db.execute("INSERT INTO permission_set_assignments VALUES (?,?,?)",
                           (self.new_id("PermissionSetAssignment"), uid, ps_ids[ps_name]))
        declared = {a.name: a for a in sf.connected_apps}
        # An app that holds OAuth tokens is installed, so it is listed even when not declared;
        # sfdoctor's own demo app is always there (admin-approved, as client credentials needs).
        names = list(dict.fromkeys([*declared, *(t.app for t in sf.oauth_tokens), DEMO_APP_NAME]))
        for name in names:
            a = declared.get(name)
            db.execute("INSERT INTO connected_apps VALUES (?,?,?,?,?)",
                       (self.new_id("ConnectedApplication"), name, bool(a and a.blocked),
                        a.admin_approved_only if a else name == DEMO_APP_NAME, ep - 200 * 86400))
        for t in sf.oauth_tokens:
            last_used = self.at(t.last_used) or (self.epoch - timedelta(days=1))
            created = self.at(t.created) or (last_used - timedelta(days=60))
            db.execute("INSERT INTO oauth_tokens VALUES (?,?,?,?,?,?)",
                       (self.new_id("OauthToken"), t.app, self._user_ids[t.username.lower()], t.use_count,
                        last_used.timestamp(), created.timestamp()))
        db.executemany("INSERT INTO login_history VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", self._history_rows())
        db.execute("""UPDATE users SET last_login = (SELECT MAX(login_time) FROM login_history h
                      WHERE h.user_id = users.id AND h.status = 'Success')""")
        self._load_records()
        db.commit()

    def _history_rows(self) -> Iterator[tuple]:
        """Expand `count`/`every` lines lazily: one line may stand for 200,000 rows."""
        for line in self.scenario.salesforce.login_history:
            uid = self._user_ids[line.username.lower()]
            start = self.at(line.at).timestamp()
            step = line.every.total_seconds() if line.every else 0.0
            api = line.login_type in ("Other Apex API", "Partner Product", "Remote Access 2.0")
            browser = line.browser or ("Unknown" if api else "Chrome 124")
            platform = line.platform or ("Unknown" if api else "Windows 10")
            sub = line.login_sub_type or _default_sub_type(line.login_type)
            fixed = (line.login_type, sub, line.source_ip or self.client_ip, line.login_url or self.my_domain_host,
                     line.status, line.application, line.api_type, line.api_version, browser, platform,
                     line.country_iso, line.tls_protocol)
            for k in range(line.count):
                yield (self.new_id("LoginHistory"), uid, start + k * step, *fixed)

    def _load_records(self) -> None:
        sf = self.scenario.salesforce
        owner = next(iter(self._user_ids.values()), None)
        admin = self.scenario.admin_user
        if admin is not None:
            owner = self._user_ids[admin.username.lower()]
        for obj, rows in sf.records.items():
            schema = self.schemas[obj]
            for i, given in enumerate(rows):
                canon = {schema.field(k).name: v for k, v in given.items()}  # type: ignore[union-attr]
                rec = self._record_defaults(obj, i, len(rows), owner)
                rec.update(canon)
                if "Id" not in canon:
                    rec["Id"] = self.new_id(obj) if obj in KEY_PREFIXES else self._custom_id(schema)
                if obj in ("Lead", "Contact") and "Name" not in canon:
                    rec["Name"] = " ".join(x for x in (rec.get("FirstName"), rec.get("LastName")) if x)
                for name, f in schema.fields.items():
                    rec.setdefault(name, None)
                    rec[name] = self._coerce(rec[name], f)
                self._db.execute("INSERT INTO records VALUES (?,?,?)",
                                 (rec["Id"], obj, json.dumps(rec, default=_json_default)))

    def _custom_id(self, schema: ObjectSchema) -> str:
        n = self._seq.get(schema.key_prefix, 0) + 1
        self._seq[schema.key_prefix] = n
        return case_safe_id(schema.key_prefix + self._pod + _b62(n, 10))

    def _record_defaults(self, obj: str, i: int, n: int, owner: str | None) -> dict[str, Any]:
        created = self.epoch - timedelta(days=n - i, hours=3)
        rec: dict[str, Any] = {"OwnerId": owner, "IsDeleted": False, "CreatedDate": created,
                               "LastModifiedDate": created, "SystemModstamp": created}
        if obj == "Lead":
            rec.update(Status="Open - Not Contacted", IsConverted=False, HasOptedOutOfEmail=False, Company="")
        elif obj == "Contact":
            rec.update(HasOptedOutOfEmail=False)
        return rec

    def _coerce(self, value: Any, f: FieldSchema) -> Any:
        """Scenario values into the Python types the Catalog promises (datetime, date, float...)."""
        if value is None:
            return None
        if f.type == "datetime":
            return self.at(parse_time(value, now=self.epoch))
        if f.type == "date":
            if isinstance(value, datetime):
                return value.date()
            if isinstance(value, date):
                return value
            return self.at(parse_time(value, now=self.epoch)).date()
        if f.type in ("double", "currency", "percent"):
            return float(value)
        if f.type == "int":
            return int(value)
        if f.type == "boolean":
            return bool(value)
        return value if isinstance(value, str) else str(value)

    # ------------------------------------------------------------------ rows (the Catalog's data)

    def catalog_for(self, user_id: str) -> WorldCatalog:
        """The Catalog as `user_id` sees it (field-level security by profile)."""
        with self._lock:
            row = self._db.execute("SELECT p.name FROM users u JOIN profiles p ON p.id = u.profile_id "
                                   "WHERE u.id = ?", (user_id,)).fetchone()
        return WorldCatalog(self, row[0] if row else "")

    def _rows_for(self, sobject: str, profile_name: str) -> list[dict[str, Any]]:
        schema = self.schema(sobject)
        if schema is None:
            return []
        name = schema.name
        with self._lock:
            rows = self._cache.rows.get(name)
            if rows is None:
                rows = self._cache.rows[name] = self._build_rows(name)
            hidden = [n for n, f in schema.fields.items() if profile_name in f.hidden_from_profiles]
            if not hidden:
                return rows
            key = (name, profile_name)
            if key not in self._cache.hidden:
                self._cache.hidden[key] = [{k: v for k, v in r.items() if k not in hidden} for r in rows]
            return self._cache.hidden[key]

    def _invalidate(self, *sobjects: str) -> None:
        for s in sobjects:
            self._cache.rows.pop(s, None)
            for key in [k for k in self._cache.hidden if k[0] == s]:
                del self._cache.hidden[key]

    def _build_rows(self, sobject: str) -> list[dict[str, Any]]:
        q = self._db.execute
        ts = _ts
        if sobject == "Organization":
            created = self.epoch - timedelta(days=1500)
            sf = self.scenario.salesforce
            return [{"Id": self.org_id, "Name": sf.my_domain.capitalize(), "OrganizationType": sf.edition,
                     "IsSandbox": self.is_sandbox, "InstanceName": self.instance_name, "TrialExpirationDate": None,
                     "NamespacePrefix": None, "PrimaryContact": None, "Country": "JP",
                     "DefaultLocaleSidKey": "ja_JP", "LanguageLocaleKey": "ja", "TimeZoneSidKey": "Asia/Tokyo",
                     "CreatedDate": created, "LastModifiedDate": created, "SystemModstamp": created}]
        created = self.epoch - timedelta(days=1500)
        audit = {"CreatedDate": created, "LastModifiedDate": created, "SystemModstamp": created}
        if sobject == "UserLicense":
            return [{"Id": i, "Name": n, "LicenseDefinitionKey": "SFDC" if n == "Salesforce" else n.upper(),
                     "Status": "Active", "TotalLicenses": 10, "UsedLicenses": 0, **audit}
                    for i, n in q("SELECT id, name FROM user_licenses")]
        if sobject == "Profile":
            return [{"Id": r[0], "Name": r[1], "Description": None, "UserLicenseId": r[2], "UserType": "Standard",
                     "PermissionsApiEnabled": bool(r[3]), "PermissionsApiUserOnly": bool(r[4]),
                     "PermissionsPasswordNeverExpires": bool(r[5]), "PermissionsViewSetup": bool(r[6]),
                     "PermissionsModifyAllData": bool(r[7]), "PermissionsManageUsers": bool(r[7]), **audit}
                    for r in q("SELECT * FROM profiles")]
        if sobject == "PermissionSet":
            return [{"Id": r[0], "Name": r[1], "Label": r[2], "Description": None, "IsOwnedByProfile": r[3] is not None,
                     "IsCustom": r[3] is None, "ProfileId": r[3], "NamespacePrefix": None,
                     "PermissionsApiEnabled": bool(r[4]), "PermissionsApiUserOnly": bool(r[5]),
                     "PermissionsPasswordNeverExpires": bool(r[6]), "PermissionsViewSetup": bool(r[7]),
                     "PermissionsModifyAllData": bool(r[8]), **audit}
                    for r in q("SELECT * FROM permission_sets")]
        if sobject == "PermissionSetAssignment":
            return [{"Id": r[0], "AssigneeId": r[1], "PermissionSetId": r[2], "IsActive": True,
                     "ExpirationDate": None, "SystemModstamp": created}
                    for r in q("SELECT * FROM permission_set_assignments")]
        if sobject == "User":
            return [self._user_row(r) for r in q("SELECT * FROM users")]
        if sobject == "UserLogin":
            return [{"Id": r[0], "UserId": r[1], "IsFrozen": bool(r[2]), "IsPasswordLocked": bool(r[3]),
                     "LastModifiedDate": created}
                    for r in q("SELECT userlogin_id, id, frozen, locked FROM users")]
        if sobject == "LoginHistory":
            return [_history_dict(r) for r in q("SELECT * FROM login_history")]
        if sobject == "LoginIpRange":
            return [{"Id": r[0], "ProfileId": r[1], "StartAddress": r[2], "EndAddress": r[3], "Description": r[4],
                     **audit} for r in q("SELECT * FROM login_ip_ranges")]
        if sobject == "OauthToken":
            return [{"Id": r[0], "AppName": r[1], "UserId": r[2], "UseCount": r[3], "LastUsedDate": ts(r[4]),
                     "CreatedDate": ts(r[5])} for r in q("SELECT * FROM oauth_tokens")]
        if sobject == "ConnectedApplication":
            return [{"Id": r[0], "Name": r[1], "OptionsAllowAdminApprovedUsersOnly": bool(r[2]),
                     "OptionsHasSessionLevelPolicy": False, "OptionsRefreshTokenValidityMetric": False,
                     "RefreshTokenValidityPeriod": None, "MobileSessionTimeout": None, "PinLength": None,
                     "StartUrl": None, "MobileStartUrl": None, "CreatedDate": ts(r[3]),
                     "LastModifiedDate": ts(r[3]), "SystemModstamp": ts(r[3])}
                    for r in q("SELECT id, name, admin_approved_only, created FROM connected_apps")]
        schema = self.schemas[sobject]
        out = []
        for (data,) in q("SELECT data FROM records WHERE sobject = ?", (sobject,)):
            rec = json.loads(data)
            for name, f in schema.fields.items():
                v = rec.get(name)
                if v is not None and f.type == "datetime":
                    rec[name] = datetime.fromisoformat(v)
                elif v is not None and f.type == "date":
                    rec[name] = date.fromisoformat(v)
            out.append(rec)
        return out

    def _user_row(self, r: tuple) -> dict[str, Any]:
        first, last = r[2], r[3]
        return {"Id": r[0], "Username": r[1], "Name": f"{first} {last}".strip() if first else last,
                "FirstName": first, "LastName": last, "Alias": (r[1][:1] + (last or "")[:4]).lower(),
                "Email": r[4], "IsActive": bool(r[9]), "ProfileId": r[5], "UserType": "Standard",
                "LastLoginDate": _ts(r[14]), "LastPasswordChangeDate": _ts(r[15]),
                "LanguageLocaleKey": "ja", "LocaleSidKey": "ja_JP", "TimeZoneSidKey": "Asia/Tokyo",
                "CreatedDate": _ts(r[16]), "LastModifiedDate": _ts(r[16]), "SystemModstamp": _ts(r[16])}

    # ------------------------------------------------------------------ users

    def user(self, user_id: str) -> dict | None:
        """The User row (sObject field names) plus ProfileName and IsAdmin, or None."""
        with self._lock:
            r = self._db.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
            return self._user_dict(r) if r else None

    def user_by_username(self, username: str) -> dict | None:
        with self._lock:
            r = self._db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
            return self._user_dict(r) if r else None

    def _user_dict(self, r: tuple) -> dict:
        d = self._user_row(r)
        prof = self._db.execute("SELECT name FROM profiles WHERE id = ?", (r[5],)).fetchone()
        d.update(ProfileName=prof[0] if prof else None, IsAdmin=bool(r[8]), OrganizationId=self.org_id,
                 IsFrozen=bool(r[10]), IsPasswordLocked=bool(r[11]), PasswordExpired=bool(r[12]))
        return d

    def _api_enabled_for(self, user_id: str) -> bool:
        """API Enabled comes from the profile (its owned permission set) or any assigned permission set."""
        return self._db.execute(
            "SELECT 1 FROM permission_set_assignments a JOIN permission_sets s ON s.id = a.permission_set_id "
            "WHERE a.assignee_id = ? AND s.api_enabled LIMIT 1", (user_id,)).fetchone() is not None

    # ------------------------------------------------------------------ logins

    def password_login(self, username: str, password_and_token: str, *, host: str, channel: str,
                       api_version: str = "59.0", application: str | None = None,
                       source_ip: str | None = None) -> LoginDecision:
        """Decide a username+password(+token) login as Salesforce would, and record it.

        Order (each step only when the previous ones passed):
          1. WRONG_HOST: the host does not serve this org (sandbox vs production) -- the org
             never sees the attempt, so no LoginHistory row.
          2. UNKNOWN_USER: no such username -- no row (LoginHistory needs a UserId).
          3. SOAP_LOGIN_DISABLED (channel "soap"): the org refuses the login() call itself before
             authenticating anyone -- no row [I].
          4. API_DISABLED_FOR_ORG: the edition has no API -- row.
          5. INACTIVE, FROZEN, LOCKED: the account's state wins over any password -- row
             ("User is Inactive", "User is Frozen", "Password Lockout").
          6. INVALID_PASSWORD: the string neither equals the password nor starts with it --
             row "Invalid Password"; counts toward lockout.
          7. RESTRICTED_IP: the profile has login IP ranges and the source is outside them --
             row "Restricted IP", whether or not a token was appended.
          8. Token: from a trusted network (org trusted ranges, or inside the profile's login IP
             ranges) the password alone or password+token passes; otherwise password alone is
             TOKEN_REQUIRED ("Failed: API security token required", not counted toward lockout)
             and password+wrong token is INVALID_TOKEN ("Invalid Password", counted).
          9. API_DISABLED_FOR_USER: neither the profile nor a permission set grants API Enabled;
             only revealed to someone who knows the credentials.
         10. OK, with password_expired when the password has expired (Salesforce lets the login
             succeed and allows only setPassword()).
        A failure counted toward lockout that reaches the profile's maximum invalid attempts
        (default 10) locks the user; a success resets the count.
        """
        if channel not in ("soap", "oauth_password"):
            raise ValueError(f"channel must be 'soap' or 'oauth_password', not {channel!r}")
        with self._lock:
            if not self.accepts_login_host(host):
                return LoginDecision(False, "WRONG_HOST")
            r = self._db.execute("SELECT u.*, p.max_attempts, p.id FROM users u JOIN profiles p "
                                 "ON p.id = u.profile_id WHERE u.username = ?", (username,)).fetchone()
            if r is None:
                return LoginDecision(False, "UNKNOWN_USER")
            if channel == "soap" and self.scenario.salesforce.soap_login_disabled:
                return LoginDecision(False, "SOAP_LOGIN_DISABLED", self._user_dict(r[:18]))
            uid, password, token = r[0], r[6], r[7]
            active, frozen, locked, expired, failed, max_attempts, profile_id = (
                r[9], r[10], r[11], r[12], r[13], r[18], r[19])
            ip = source_ip or self.client_ip
            ranges = [{"start": s, "end": e} for s, e in self._db.execute(
                "SELECT start_address, end_address FROM login_ip_ranges WHERE profile_id = ?", (profile_id,))]
            given = password_and_token or ""
            counted = False
            if not self.scenario.salesforce.api_enabled:
                reason = "API_DISABLED_FOR_ORG"
            elif not active:
                reason = "INACTIVE"
            elif frozen:
                reason = "FROZEN"
            elif locked:
                reason = "LOCKED"
            elif not given.startswith(password) or not password:
                reason, counted = "INVALID_PASSWORD", True
            elif ranges and not ip_in_ranges(ip, ranges):
                reason = "RESTRICTED_IP"
            elif given == password or given == password + token:
                trusted = bool(ranges) or (self.network_access and ip_in_ranges(
                    ip, self.scenario.salesforce.trusted_ip_ranges))
                reason = "OK" if trusted or given == password + token else "TOKEN_REQUIRED"
            else:
                reason, counted = "INVALID_TOKEN", True
                # A trusted network takes the whole string as the password: still "Invalid Password".
            if reason == "OK" and not self._api_enabled_for(uid):
                reason = "API_DISABLED_FOR_USER"
            now = self.now()
            if counted:
                failed += 1
                self._db.execute("UPDATE users SET failed_attempts = ?, locked = ? WHERE id = ?",
                                 (failed, failed >= max_attempts, uid))
            elif reason == "OK":
                self._db.execute("UPDATE users SET failed_attempts = 0, last_login = ? WHERE id = ?",
                                 (now.timestamp(), uid))
            self._invalidate("User", "UserLogin")
            status = STATUS[reason]
            soap = channel == "soap"
            self._append_history(uid, now, login_type="Other Apex API" if soap else "Remote Access 2.0",
                                 sub_type="SoapApiLogin" if soap else "OauthUsernamePassword",
                                 source_ip=ip, login_url=_bare_host(host), status=status,
                                 application=application or "N/A", api_type="SOAP Partner" if soap else "N/A",
                                 api_version=api_version if soap else "N/A")
            self._db.commit()
            r2 = self._db.execute("SELECT * FROM users WHERE id = ?", (uid,)).fetchone()
            return LoginDecision(reason == "OK", reason, self._user_dict(r2),
                                 password_expired=bool(expired) and reason == "OK", status=status)

    def client_credentials_login(self, client_id: str, client_secret: str, *, host: str) -> LoginDecision:
        """sfdoctor's own OAuth connection: the demo connected app's client-credentials flow,
        run as the first `admin: true` user, on the My Domain host only (as Salesforce requires).
        Reasons: WRONG_HOST, UNKNOWN_CLIENT, BAD_CLIENT_SECRET, NO_RUN_AS_USER,
        API_DISABLED_FOR_ORG, INACTIVE, FROZEN, OK."""
        with self._lock:
            h = (host or "").strip().lower().removesuffix(":443")
            if not (_is_direct(h) or h == self.my_domain_host):
                return LoginDecision(False, "WRONG_HOST")
            if client_id != DEMO_CLIENT_ID:
                return LoginDecision(False, "UNKNOWN_CLIENT")
            if client_secret != DEMO_CLIENT_SECRET:
                return LoginDecision(False, "BAD_CLIENT_SECRET")
            admin = self.scenario.admin_user
            if admin is None:
                return LoginDecision(False, "NO_RUN_AS_USER")
            r = self._db.execute("SELECT * FROM users WHERE username = ?", (admin.username,)).fetchone()
            user = self._user_dict(r)
            reason = ("API_DISABLED_FOR_ORG" if not self.scenario.salesforce.api_enabled else
                      "INACTIVE" if not user["IsActive"] else "FROZEN" if user["IsFrozen"] else "OK")
            now = self.now()
            status = STATUS[reason]
            self._append_history(r[0], now, login_type="Remote Access 2.0", sub_type="OauthClientCredentials",
                                 source_ip=self.client_ip, login_url=_bare_host(host), status=status,
                                 application=DEMO_APP_NAME, api_type="N/A", api_version="N/A")
            if reason == "OK":
                self._db.execute("UPDATE users SET last_login = ? WHERE id = ?", (now.timestamp(), r[0]))
                self._invalidate("User")
            self._db.commit()
            return LoginDecision(reason == "OK", reason, user, status=status)

    def _append_history(self, user_id: str, when: datetime, *, login_type: str, sub_type: str, source_ip: str,
                        login_url: str, status: str, application: str, api_type: str, api_version: str) -> None:
        row = (self.new_id("LoginHistory"), user_id, when.timestamp(), login_type, sub_type, source_ip, login_url,
               status, application, api_type, api_version, "Unknown", "Unknown", None, "TLS 1.3")
        self._db.execute("INSERT INTO login_history VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
        cached = self._cache.rows.get("LoginHistory")
        if cached is not None:  # append instead of rebuilding 200,000 dicts
            cached.append(_history_dict(row))

    # ------------------------------------------------------------------ sessions

    def issue_session(self, user_id: str) -> str:
        """A new session id in Salesforce's shape: the 15-character org id, '!', an opaque part."""
        sid = f"{self.org_id15}!AQ{secrets.token_urlsafe(72)}"
        now = self.now().timestamp()
        with self._lock:
            self._db.execute("INSERT INTO sessions VALUES (?,?,?,?)", (sid, user_id, now, now))
            self._db.commit()
        return sid

    def session_user(self, sid: str) -> dict | None:
        """The session's user, or None when unknown, revoked, timed out (2 h idle) or the user
        can no longer log in (inactive or frozen)."""
        now = self.now().timestamp()
        with self._lock:
            r = self._db.execute("SELECT user_id, last_used FROM sessions WHERE sid = ?", (sid or "",)).fetchone()
            if r is None or now - r[1] > SESSION_SECONDS_VALID:
                return None
            user = self.user(r[0])
            if user is None or not user["IsActive"] or user["IsFrozen"]:
                return None
            if now - r[1] > 60:
                self._db.execute("UPDATE sessions SET last_used = ? WHERE sid = ?", (now, sid))
            return user

    def revoke_session(self, sid: str) -> bool:
        """End a session (logout / revoke); True when it existed."""
        with self._lock:
            cur = self._db.execute("DELETE FROM sessions WHERE sid = ?", (sid,))
            self._db.commit()
            return cur.rowcount > 0

    # ------------------------------------------------------------------ org settings and limits

    def trusted_ip_ranges(self) -> list[dict]:
        """Setup > Network Access, as SecuritySettings.networkAccess.ipRanges shows it
        (empty when the org has no Network Access setting)."""
        if not self.network_access:
            return []
        return [{"start": r.start, "end": r.end, "description": r.description}
                for r in self.scenario.salesforce.trusted_ip_ranges]

    def count_api_call(self) -> None:
        with self._lock:
            self._api_calls += 1

    def api_usage(self) -> tuple[int, int]:
        """(used, max) of the daily API allowance, for /limits and Sforce-Limit-Info."""
        return self._api_calls, DAILY_API_MAX.get(self.scenario.salesforce.edition, DAILY_API_MAX_DEFAULT)

    def connected_app(self, name: str) -> dict | None:
        """A connected app's state including `blocked`, which no SOQL field exposes: Salesforce
        shows it only on Setup > Connected Apps OAuth Usage (Block / Unblock)."""
        with self._lock:
            r = self._db.execute("SELECT id, name, blocked, admin_approved_only FROM connected_apps "
                                 "WHERE name = ? COLLATE NOCASE", (name,)).fetchone()
        return {"Id": r[0], "Name": r[1], "blocked": bool(r[2]), "admin_approved_only": bool(r[3])} if r else None

    def oauth_usage(self) -> list[dict]:
        """Setup > Connected Apps OAuth Usage: per app, its users, use count and Block state."""
        with self._lock:
            rows = self._db.execute(
                "SELECT a.name, a.blocked, COUNT(DISTINCT t.user_id), COALESCE(SUM(t.use_count), 0) "
                "FROM connected_apps a LEFT JOIN oauth_tokens t ON t.app = a.name GROUP BY a.id ORDER BY a.name"
            ).fetchall()
        return [{"app": n, "blocked": bool(b), "user_count": c, "use_count": u} for n, b, c, u in rows]

    # ------------------------------------------------------------------ Marketing Cloud

    def mc_user_login(self, username: str, password: str, *, source_ip: str | None = None) -> tuple[bool, str]:
        """A Marketing Cloud user login (what Data Cloud does with the integration user).

        Reasons, in the order checked: IP_NOT_ALLOWLISTED (the allowlist is on and `source_ip`,
        e.g. a Data Cloud egress address, is outside it), INVALID_CREDENTIALS (unknown user or
        wrong password), INACTIVE, LOCKED, PASSWORD_EXPIRED (older than the policy allows and the
        user is not an exempt API user), OK.
        """
        mc = self.scenario.marketing_cloud
        ip = source_ip or self.client_ip
        if mc.ip_allowlist.enabled and not ip_in_ranges(ip, mc.ip_allowlist.ranges):
            return False, "IP_NOT_ALLOWLISTED"
        user = mc.user(username)
        if user is None:
            return False, "INVALID_CREDENTIALS"
        if not user.active:
            return False, "INACTIVE"
        if user.locked:
            return False, "LOCKED"
        if password != user.password:
            return False, "INVALID_CREDENTIALS"
        if self.mc_password_expired(username):
            return False, "PASSWORD_EXPIRED"
        return True, "OK"

    def mc_password_expired(self, username: str) -> bool:
        """True when the user's password is older than policy.expire_days and they are not exempt."""
        mc = self.scenario.marketing_cloud
        user = mc.user(username)
        policy = mc.password_policy
        if user is None or policy.expire_days is None or (user.api_user and policy.exclude_api_users):
            return False
        return self.now() - self.at(user.password_changed_at) > timedelta(days=policy.expire_days)

    def close(self) -> None:
        with self._lock:
            self._db.close()


# ---------------------------------------------------------------------- helpers


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


def _history_dict(r: tuple) -> dict[str, Any]:
    return {"Id": r[0], "UserId": r[1], "LoginTime": datetime.fromtimestamp(r[2], tz=timezone.utc),
            "LoginType": r[3], "LoginSubType": r[4], "SourceIp": r[5], "LoginUrl": r[6], "Status": r[7],
            "Application": r[8], "ApiType": r[9], "ApiVersion": r[10], "Browser": r[11], "Platform": r[12],
            "CountryIso": r[13], "TlsProtocol": r[14], "CipherSuite": "ECDHE-RSA-AES256-GCM-SHA384",
            "ClientVersion": "N/A", "AuthMethodReference": None, "AuthenticationServiceId": None,
            "ForwardedForIp": None, "LoginGeoId": None, "NetworkId": None,
            "OptionsIsGet": False, "OptionsIsPost": r[3] != "Application"}


def _default_sub_type(login_type: str) -> str | None:
    return {"Other Apex API": "SoapApiLogin", "Partner Product": "SoapApiLogin",
            "Remote Access 2.0": "OauthUsernamePassword", "Application": "UsernamePasswordUiLogin"}.get(login_type)


def _is_direct(host: str) -> bool:
    h = host.strip().lower()
    return any(h == d or h.startswith(d + ":") for d in _DIRECT_HOSTS)


def _bare_host(host: str) -> str:
    h = (host or "").strip().lower()
    return h[:-4] if h.endswith(":443") else h


def _json_default(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__}")
