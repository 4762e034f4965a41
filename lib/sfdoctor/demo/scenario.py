"""Load and validate demo-world scenario files (spec/scenario-format.md).

A scenario states only what makes its world special; every other key has a default here.
Attribute names are exactly the YAML keys, so `scenario.salesforce.trusted_ip_ranges` reads
like the file. Every problem — YAML syntax, unknown key, wrong type, a duplicate username, a
profile that does not exist — becomes one `ScenarioError` line `FILE: key.path: problem`,
because `sfdoctor run` prints it as is and exits 2.

Times: ISO-8601 UTC or relative (`-2h`, `-3d`, `-45m`, `-30s`, `now`). A time value is a
`TimeRef`, a `datetime` (resolved against the real clock when parsed, so readers can use it
as is) that remembers its offset, so a `World` can re-resolve it against its own clock with
`ref.resolve(world_epoch)` (store.World does this for everything it loads).
"""
from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import core_schema

from .objects import CUSTOM_FIELD_TYPES, RECORD_OBJECTS, standard_objects

BUILTIN_DIR = Path(__file__).parent / "scenarios"


class ScenarioError(ValueError):
    """A scenario failed to load; the message is one line `FILE: key.path: problem`.

    The demo's own error (the demo package imports nothing else of sfdoctor); sfdoctor's door
    to the demo (`clients.ensure_demo_simulator`) says it as bad input, exit 2."""

    def one_line(self) -> str:
        return " ".join(str(self).split())

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_REL_RE = re.compile(r"^\s*([+-]?)\s*((?:\d+(?:\.\d+)?[smhdw])+)\s*$")   # -2h, -6d23h, 1h30m
_PART_RE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def _span_seconds(parts: str) -> float:
    """`6d23h` -> seconds (the parts were already checked by _REL_RE)."""
    return sum(float(n) * _UNITS[u] for n, u in _PART_RE.findall(parts))


# --------------------------------------------------------------------------- times


class TimeRef(datetime):
    """A scenario time: an aware UTC datetime that remembers whether it was relative.

    `offset` is the signed distance from "now" for relative values (`-2h`) and None for
    absolute ones; `text` is what the file said. Arithmetic on it yields values without
    an offset (they are derived, not scenario times).
    """

    offset: timedelta | None = None
    text: str = ""

    @classmethod
    def make(cls, value: datetime, offset: timedelta | None, text: str) -> "TimeRef":
        value = value.astimezone(timezone.utc)
        ref = cls(value.year, value.month, value.day, value.hour, value.minute, value.second,
                  value.microsecond, tzinfo=timezone.utc)
        ref.offset = offset
        ref.text = text
        return ref

    def resolve(self, epoch: datetime) -> datetime:
        """The plain datetime this stands for when "now" is `epoch`."""
        if self.offset is None:
            return datetime.fromtimestamp(self.timestamp(), tz=timezone.utc)
        return epoch + self.offset

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            parse_time,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda v: v.text or v.isoformat()),
        )


def parse_duration(value: Any) -> timedelta:
    """`30m`, `30s`, `2h`, `1d`, or a number of seconds -> timedelta (never negative)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 30s, 30m, 2h or 1d, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        m = _REL_RE.match(value)
        if not m or m.group(1) == "-":
            raise ValueError(f"expected a duration like 30s, 30m, 2h or 1d, got {value!r}")
        seconds = _span_seconds(m.group(2))
    else:
        raise ValueError(f"expected a duration like 30s, 30m, 2h or 1d, got {value!r}")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    return timedelta(seconds=seconds)


def parse_time(value: Any, *, now: datetime | None = None) -> TimeRef:
    """ISO-8601 UTC (`2026-11-20T09:00:00Z`), a relative time (`-2h`, `-3d`, `-45m`, `-30s`, `-6d23h`,
    `+1d`) or `now` -> TimeRef. A time without a zone is refused: the spec says UTC."""
    if isinstance(value, TimeRef):
        return value
    now = now or datetime.now(timezone.utc)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"time {value.isoformat()} has no time zone; write it in UTC with a trailing Z")
        return TimeRef.make(value, None, value.isoformat())
    if isinstance(value, date):
        return TimeRef.make(datetime(value.year, value.month, value.day, tzinfo=timezone.utc), None,
                            value.isoformat())
    if not isinstance(value, str):
        raise ValueError(f"expected a time (ISO-8601 UTC or relative like -2h), got {value!r}")
    text = value.strip()
    if text.lower() == "now":
        return TimeRef.make(now, timedelta(0), text)
    m = _REL_RE.match(text)
    if m:
        offset = timedelta(seconds=_span_seconds(m.group(2)))
        if m.group(1) == "-":
            offset = -offset
        return TimeRef.make(now + offset, offset, text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected a time (ISO-8601 UTC like 2026-11-20T09:00:00Z, or relative like "
                         f"-2h, -3d, -45m), got {value!r}") from None
    if parsed.tzinfo is None:
        if len(text) == 10:  # a bare date: midnight UTC
            parsed = parsed.replace(tzinfo=timezone.utc)
        else:
            raise ValueError(f"time {text!r} has no time zone; write it in UTC with a trailing Z")
    return TimeRef.make(parsed, None, text)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _ip(value: Any) -> str:
    try:
        return str(ipaddress.IPv4Address(str(value).strip()))
    except (ipaddress.AddressValueError, ValueError):
        raise ValueError(f"{value!r} is not an IPv4 address") from None


IPv4 = Annotated[str, BeforeValidator(_ip)]


def _sandbox(value: Any) -> bool | str:
    if isinstance(value, (bool, str)):
        return value
    raise ValueError(f"expected false, true or the sandbox's name (e.g. uat), got {value!r}")


def ip_in_ranges(ip: str, ranges: list["IpRange"] | list[dict]) -> bool:
    """True when `ip` lies inside one of the inclusive [start, end] ranges."""
    try:
        value = int(ipaddress.IPv4Address(ip))
    except (ipaddress.AddressValueError, ValueError):
        return False
    for r in ranges:
        start, end = (r["start"], r["end"]) if isinstance(r, dict) else (r.start, r.end)
        if int(ipaddress.IPv4Address(start)) <= value <= int(ipaddress.IPv4Address(end)):
            return True
    return False


# --------------------------------------------------------------------------- models


class _Model(BaseModel):
    """Strict and read-only: an unknown key is a typo the author must hear about, and the
    scenario is shared by every module (mutable state lives in World, not here)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class IpRange(_Model):
    start: IPv4
    end: IPv4
    description: str = ""

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: str, info: Any) -> str:
        start = info.data.get("start")
        if start and int(ipaddress.IPv4Address(start)) > int(ipaddress.IPv4Address(end)):
            raise ValueError(f"end {end} lies before start {start}")
        return end


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WINDOW_RE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def _login_window(value: Any) -> str:
    """`08:00-18:00` (the org's time zone, end exclusive) or `none` (no login that day)."""
    text = str(value).strip().lower()
    if text == "none" or value is False:
        return "none"
    m = _WINDOW_RE.match(text.replace(" ", ""))
    if not m:
        raise ValueError(f"login hours {value!r} must read HH:MM-HH:MM (for example 08:00-18:00) or none")
    start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    if start >= end or end > 24 * 60:
        raise ValueError(f"login hours {value!r}: the end must come after the start, on the same day")
    return text.replace(" ", "")


LoginWindow = Annotated[str, BeforeValidator(_login_window)]


class Profile(_Model):
    """A profile. `view_setup`/`modify_all_data` default to True only for System Administrator."""

    name: str
    api_enabled: bool = True
    api_only_user: bool = False
    password_never_expires: bool = False
    view_setup: bool | None = None
    modify_all_data: bool | None = None
    user_license: str = "Salesforce"
    max_login_attempts: int = Field(10, ge=1)   # Setup > Password Policies: Maximum invalid login attempts
    login_ip_ranges: list[IpRange] = []
    login_hours: dict[Weekday, LoginWindow] = {}   # Profile.loginHours: a day's window, or `none`
    approve_uninstalled_apps: bool | None = None   # "Approve Uninstalled Connected Apps" (default: admin only)

    @property
    def is_admin_profile(self) -> bool:
        return self.name == "System Administrator"


DEFAULT_PROFILES: tuple[Profile, ...] = (
    Profile(name="System Administrator", api_enabled=True),
    Profile(name="Standard User", api_enabled=True),
)


class PermissionSet(_Model):
    name: str
    label: str | None = None
    api_enabled: bool = False   # a permission set grants nothing unless it says so
    approve_uninstalled_apps: bool = False


class User(_Model):
    username: str
    password: str = "Demo-pass-1"
    security_token: str = ""    # "" = derived from the username (World.token_for)
    profile: str = "Standard User"
    permission_sets: list[str] = []
    admin: bool = False
    active: bool = True
    frozen: bool = False
    locked: bool = False
    password_expired: bool = False
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    created: TimeRef | None = None
    last_password_change: TimeRef | None = None

    @field_validator("username")
    @classmethod
    def _looks_like_email(cls, v: str) -> str:
        if "@" not in v or " " in v.strip():
            raise ValueError(f"username {v!r} must look like an email address (name@domain)")
        return v.strip()


OAUTH_FLOWS = ("client_credentials", "jwt_bearer", "refresh_token", "web_server", "password")
_REFRESH_POLICY_RE = re.compile(r"^(until_revoked|immediately|(unused\s+)?\d+[hdw])$")


class ConnectedApp(_Model):
    """A connected app or External Client App (oauth-connection-failure reads every key)."""

    name: str
    kind: Literal["connected_app", "external_client_app"] = "connected_app"
    consumer_key: str | None = None     # default: derived from the name (World.consumer_key_for)
    consumer_secret: str | None = None  # default: derived from the name
    installed: bool = True
    blocked: bool = False
    admin_approved_only: bool = False
    profiles: list[str] = []
    permission_sets: list[str] = []
    run_as: str | None = None
    flows: list[Literal[OAUTH_FLOWS]] = ["client_credentials", "jwt_bearer", "refresh_token",  # type: ignore[valid-type]
                                         "web_server"]
    callback_urls: list[str] = []
    refresh_token_policy: str = "until_revoked"
    ip_relaxation: Literal["enforce", "relax_with_activation", "relax"] = "enforce"
    certificate: str | None = None

    @field_validator("refresh_token_policy")
    @classmethod
    def _refresh_policy(cls, v: str) -> str:
        text = " ".join(str(v).split()).lower()
        if not _REFRESH_POLICY_RE.match(text):
            raise ValueError(f"refresh_token_policy {v!r} must be until_revoked, immediately, a span such as 90d "
                             "(expires that long after issue) or unused 90d (after that long unused)")
        return text


class OauthTokenSpec(_Model):
    """A user's OAuth grant to an app; `created` is when it was issued (the refresh token's age)."""

    app: str
    username: str
    use_count: int = Field(1, ge=0)
    last_used: TimeRef | None = None
    created: TimeRef | None = None
    refresh_token: str | None = None   # the refresh token the integration holds (refresh_token flow)
    revoked: bool = False              # revoked by an admin or the user: no row in OauthToken


class LoginHistoryLine(_Model):
    """One line makes `count` rows, the first at `at`, each next `every` later."""

    username: str
    at: TimeRef = Field(default_factory=lambda: parse_time("-1h"))
    count: int = Field(1, ge=1)
    every: Duration | None = None
    source_ip: IPv4 | None = None        # default: the scenario's client_ip
    status: str = "Success"
    login_type: str = "Application"
    login_sub_type: str | None = None
    application: str = "Browser"
    api_type: str = "N/A"
    api_version: str = "N/A"
    browser: str | None = None
    platform: str | None = None
    login_url: str | None = None         # default: the org's My Domain host
    country_iso: str | None = None
    tls_protocol: str = "TLS 1.3"


class CustomField(_Model):
    name: str
    label: str = ""
    type: Literal[CUSTOM_FIELD_TYPES] = "string"   # type: ignore[valid-type]
    hidden_from: list[str] = []
    reference_to: str | None = None

    @field_validator("name")
    @classmethod
    def _custom_suffix(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*__c", v):
            raise ValueError(f"custom field name {v!r} must be an API name ending in __c")
        return v


class ObjectSpec(_Model):
    label: str | None = None
    fields: list[CustomField] = []


def _default_users() -> list[User]:
    return [User(username="admin@acme.example", password="Adm1n-pass", profile="System Administrator",
                 admin=True)]


# The user permissions the simulator plays for sfdoctor's run-as user (`run_as_permissions`).
RUN_AS_PERMISSIONS = ("ApiEnabled", "ViewSetup", "ManageUsers", "MonitorLoginHistory", "CustomizeApplication",
                      "ModifyMetadata", "ModifyAllData", "ViewAllData")


class Salesforce(_Model):
    my_domain: str = "acme"
    sandbox: Annotated[bool | str, BeforeValidator(_sandbox)] = False
    edition: str = "Enterprise Edition"
    api_enabled: bool = True
    network_access: bool = True
    soap_login_disabled: bool = False
    password_flow_blocked: bool = True   # OauthOidcSettings.blockOAuthUnPwFlow (new orgs since Summer '23)
    trusted_ip_ranges: list[IpRange] = []
    profiles: list[Profile] = Field([], validate_default=True)
    permission_sets: list[PermissionSet] = []
    users: list[User] = Field(default_factory=_default_users)
    connected_apps: list[ConnectedApp] = []
    oauth_tokens: list[OauthTokenSpec] = []
    login_history: list[LoginHistoryLine] = []
    objects: dict[str, ObjectSpec] = {}
    records: dict[str, list[dict[str, Any]]] = {}
    # Daily API requests already used when the world starts (/limits, Sforce-Limit-Info).
    api_requests_today: int = Field(0, ge=0)
    metadata_api: bool = True       # false: no Metadata API (Professional edition)
    # sfdoctor's own run-as user's permissions (Salesforce's names without `Permissions`);
    # None: every permission sfdoctor's reads involve. A read it may not do is refused as
    # Salesforce refuses it (INVALID_TYPE, own rows only, INSUFFICIENT_ACCESS).
    run_as_permissions: list[str] | None = None

    @field_validator("run_as_permissions")
    @classmethod
    def _known_permissions(cls, v: list[str] | None) -> list[str] | None:
        unknown = [p for p in v or [] if p not in RUN_AS_PERMISSIONS]
        if unknown:
            raise ValueError(f"unknown permission(s) {unknown}; known: {', '.join(RUN_AS_PERMISSIONS)}")
        return v

    @field_validator("my_domain")
    @classmethod
    def _dns_label(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?", v):
            raise ValueError(f"my_domain {v!r} must be a lower-case DNS label like 'acme'")
        return v

    @field_validator("sandbox")
    @classmethod
    def _sandbox_name(cls, v: bool | str) -> bool | str:
        if isinstance(v, str) and not re.fullmatch(r"[a-z0-9]{1,10}", v):
            raise ValueError(f"sandbox name {v!r} must be 1-10 lower-case letters or digits (or true/false)")
        return v

    @field_validator("profiles")
    @classmethod
    def _with_defaults(cls, profiles: list[Profile]) -> list[Profile]:
        """System Administrator and Standard User always exist; a scenario may redefine them."""
        given = [p.name for p in profiles]
        for i, name in enumerate(given):
            if given.index(name) != i:
                raise ValueError(f"profile {name!r} is defined twice (profiles[{given.index(name)}] and [{i}])")
        return [p for p in DEFAULT_PROFILES if p.name not in given] + list(profiles)

    @property
    def sandbox_name(self) -> str | None:
        """The sandbox's name (`uat`), `sandbox` for a bare `sandbox: true`, None in production."""
        if self.sandbox is True:
            return "sandbox"
        return self.sandbox or None

    def profile(self, name: str) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def user(self, username: str) -> User | None:
        lower = username.lower()
        return next((u for u in self.users if u.username.lower() == lower), None)


class MarketoSync(_Model):
    status: Literal["Last synced", "Sync in progress", "Failed"] = "Last synced"
    last_synced_at: TimeRef = Field(default_factory=lambda: parse_time("-10m"))
    sandbox: bool = False


class MarketoLead(_Model):
    email: str
    sfdc_lead_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class Marketo(_Model):
    munchkin_id: str = "123-ABC-456"
    client_id: str = "mkto-client"
    client_secret: str = "mkto-secret"
    api_access: bool = True
    sync: MarketoSync = Field(default_factory=MarketoSync)
    leads: list[MarketoLead] = []
    # API calls already made today when the world starts (stats/usage.json).
    api_calls_today: int = Field(0, ge=0)

    @field_validator("munchkin_id")
    @classmethod
    def _munchkin(cls, v: str) -> str:
        if not re.fullmatch(r"\d{3}-[A-Z]{3}-\d{3}", v):
            raise ValueError(f"munchkin_id {v!r} must look like 123-ABC-456")
        return v


class IpAllowlist(_Model):
    enabled: bool = False
    ranges: list[IpRange] = []


class PasswordPolicy(_Model):
    expire_days: int | None = Field(90, ge=1)    # null: passwords never expire
    exclude_api_users: bool = False


class McUser(_Model):
    username: str
    password: str = "Mc-pass-1"
    api_user: bool = False
    password_changed_at: TimeRef = Field(default_factory=lambda: parse_time("-10d"))
    active: bool = True
    locked: bool = False
    must_change_password: bool = False   # an admin reset the password: a new one is due at the next login
    email: str | None = None
    name: str | None = None


def _default_mc_users() -> list[McUser]:
    return [McUser(username="dc-integration", api_user=True)]


class MarketingCloud(_Model):
    subdomain: str = "mc7xk2abcd0q1w2e3r4t5y6u7i8p"
    client_id: str = "mc-client"
    client_secret: str = "mc-secret"
    ip_allowlist: IpAllowlist = Field(default_factory=IpAllowlist)
    password_policy: PasswordPolicy = Field(default_factory=PasswordPolicy)
    users: list[McUser] = Field(default_factory=_default_mc_users)

    @field_validator("subdomain")
    @classmethod
    def _tenant_subdomain(cls, v: str) -> str:
        # "Tenant-Specific API Endpoints": a 28-character string that begins with "mc";
        # Marketing Cloud clients (sfmc-sdk) refuse any other before sending a request.
        if not re.fullmatch(r"mc[a-z0-9-]{26}", v):
            raise ValueError(f"subdomain {v!r} must be 28 characters starting with mc "
                             f"(lower-case letters, digits, hyphens), as Marketing Cloud assigns them")
        return v

    def user(self, username: str) -> McUser | None:
        return next((u for u in self.users if u.username.lower() == username.lower()), None)


class DataCloud(_Model):
    egress_ips: list[IPv4] = ["203.0.113.40", "203.0.113.41"]
    marketing_cloud_username: str = "dc-integration"


class Fault(_Model):
    """An injected failure; the server applies the first fault whose `match` fits."""

    match: str
    status: int | None = Field(None, ge=100, le=599)
    error: str | None = None
    delay: Duration | None = None
    reset: bool = False
    times: int | None = Field(None, ge=1)   # only the first N matching requests
    after: int = Field(0, ge=0)             # skip the first N matching requests

    @field_validator("match")
    @classmethod
    def _method_and_glob(cls, v: str) -> str:
        parts = v.split()
        if v.strip() == "*":
            return "* *"
        if len(parts) != 2 or not (parts[0] == "*" or parts[0].isalpha() and parts[0].isupper()):
            raise ValueError(f"match {v!r} must be 'METHOD PATH-GLOB' (for example 'GET /services/data/*' or '*')")
        return v


class Scenario(_Model):
    name: str = ""
    runbook: str | None = None
    description: str = ""
    client_ip: IPv4 = "203.0.113.7"
    salesforce: Salesforce = Field(default_factory=Salesforce)
    marketo: Marketo = Field(default_factory=Marketo)
    marketing_cloud: MarketingCloud = Field(default_factory=MarketingCloud)
    data_cloud: DataCloud = Field(default_factory=DataCloud)
    faults: list[Fault] = []
    operator: dict[str, Any] = {}
    source: str = Field("", exclude=True)   # where it was loaded from (not a YAML key; set by the loader)

    @property
    def admin_user(self) -> User | None:
        """The run-as user of sfdoctor's own connection: the first `admin: true` user."""
        return next((u for u in self.salesforce.users if u.admin), None)


# --------------------------------------------------------------------------- loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top)"


def _unwrap(annotation: Any) -> type[BaseModel] | None:
    """The model class inside an annotation such as `list[User] | None` (None for scalars)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _unwrap(arg)
        if found is not None:
            return found
    return None


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model class that validates the mapping at `loc` (to list its known keys)."""
    current: type[BaseModel] | None = Scenario
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int) or part not in current.model_fields:
            continue  # a list index or a dict key (objects.Lead): stay on the item's model
        current = _unwrap(current.model_fields[part].annotation)
    return current


def _describe(err: dict) -> str:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        known = ", ".join(k for k in model.model_fields if k != "source") if model else ""
        return f"{_path(loc)}: unknown key" + (f" (known: {known})" if known else "")
    if kind == "missing":
        return f"{_path(loc)}: required key is missing"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    else:
        msg = msg[0].lower() + msg[1:]
        if "input" in err and not isinstance(err["input"], (dict, list)):
            msg += f", got {err['input']!r}"
    # pydantic reports a union of a model and a plain type per branch ("sandbox.bool", "sandbox.str"):
    # keep the path at the key the author wrote.
    clean = tuple(p for p in loc if p not in ("bool", "str", "int", "function-after[_ordered(), str]"))
    return f"{_path(clean)}: {msg}"


def _check(s: Scenario) -> tuple[tuple, str] | None:
    """Cross-reference checks pydantic cannot express; returns (loc, problem) of the first."""
    sf = s.salesforce
    profile_names = [p.name for p in sf.profiles]
    ps_names = [p.name for p in sf.permission_sets]
    for i, p in enumerate(sf.permission_sets):
        if ps_names.index(p.name) != i:
            return ("salesforce", "permission_sets", i, "name"), f"permission set {p.name!r} is defined twice"
    users: dict[str, int] = {}
    for i, u in enumerate(sf.users):
        key = u.username.lower()
        if key in users:
            return ("salesforce", "users", i, "username"), \
                f"duplicate username {u.username!r} (also users[{users[key]}])"
        users[key] = i
        if u.profile not in profile_names:
            return ("salesforce", "users", i, "profile"), \
                f"profile {u.profile!r} does not exist (known: {', '.join(profile_names)})"
        for j, ps in enumerate(u.permission_sets):
            if ps not in ps_names:
                return ("salesforce", "users", i, "permission_sets", j), \
                    f"permission set {ps!r} does not exist (known: {', '.join(ps_names) or 'none'})"
    for section in ("oauth_tokens", "login_history"):
        for i, line in enumerate(getattr(sf, section)):
            if line.username.lower() not in users:
                return ("salesforce", section, i, "username"), f"user {line.username!r} does not exist"
    for i, line in enumerate(sf.login_history):
        if line.count > 1 and line.every is None:
            return ("salesforce", "login_history", i, "every"), "required when count is more than 1 (e.g. every: 30m)"
    apps = [a.name for a in sf.connected_apps]
    keys: dict[str, int] = {}
    for i, a in enumerate(sf.connected_apps):
        if apps.index(a.name) != i:
            return ("salesforce", "connected_apps", i, "name"), f"connected app {a.name!r} is defined twice"
        if a.consumer_key:
            if a.consumer_key in keys:
                return ("salesforce", "connected_apps", i, "consumer_key"), \
                    f"consumer key also used by connected_apps[{keys[a.consumer_key]}]"
            keys[a.consumer_key] = i
        for j, prof in enumerate(a.profiles):
            if prof not in profile_names:
                return ("salesforce", "connected_apps", i, "profiles", j), \
                    f"profile {prof!r} does not exist (known: {', '.join(profile_names)})"
        for j, ps in enumerate(a.permission_sets):
            if ps not in ps_names:
                return ("salesforce", "connected_apps", i, "permission_sets", j), \
                    f"permission set {ps!r} does not exist (known: {', '.join(ps_names) or 'none'})"
        if a.run_as and a.run_as.lower() not in users:
            return ("salesforce", "connected_apps", i, "run_as"), f"user {a.run_as!r} does not exist"
        if a.certificate and "BEGIN CERTIFICATE" not in a.certificate and "BEGIN PUBLIC KEY" not in a.certificate:
            return ("salesforce", "connected_apps", i, "certificate"), "must be a PEM certificate (or public key)"
    std = standard_objects()
    for obj, spec in sf.objects.items():
        if obj not in RECORD_OBJECTS and not obj.endswith("__c"):
            return ("salesforce", "objects", obj), \
                f"cannot add fields to {obj!r} (standard: {', '.join(RECORD_OBJECTS)}; or a custom object ending in __c)"
        names: set[str] = set()
        for j, f in enumerate(spec.fields):
            if f.name.lower() in names:
                return ("salesforce", "objects", obj, "fields", j, "name"), f"field {f.name!r} is defined twice"
            names.add(f.name.lower())
            for k, prof in enumerate(f.hidden_from):
                if prof not in profile_names:
                    return ("salesforce", "objects", obj, "fields", j, "hidden_from", k), \
                        f"profile {prof!r} does not exist (known: {', '.join(profile_names)})"
    for obj, rows in sf.records.items():
        if obj not in RECORD_OBJECTS and obj not in sf.objects:
            return ("salesforce", "records", obj), \
                f"unknown sObject {obj!r} (records can go into {', '.join(RECORD_OBJECTS)} or a custom object under objects:)"
        known = {n.lower() for n in (std[obj].fields if obj in std else {"Id": None, "Name": None})}
        known |= {f.name.lower() for f in sf.objects.get(obj, ObjectSpec()).fields}
        if obj not in std:
            known |= {"ownerid", "createddate", "lastmodifieddate", "systemmodstamp", "isdeleted"}
        for i, row in enumerate(rows):
            for key in row:
                if str(key).lower() not in known:
                    return ("salesforce", "records", obj, i, key), f"no such field on {obj}"
    mc_seen: dict[str, int] = {}
    for i, u in enumerate(s.marketing_cloud.users):
        if u.username.lower() in mc_seen:
            return ("marketing_cloud", "users", i, "username"), \
                f"duplicate username {u.username!r} (also users[{mc_seen[u.username.lower()]}])"
        mc_seen[u.username.lower()] = i
    return None


def parse_scenario(data: Any, *, source: str = "<scenario>", name: str | None = None) -> Scenario:
    """Validate already-parsed YAML data; `source` names the file in error messages."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: (top): expected a mapping of keys (name, salesforce, ...), "
                            f"got {type(data).__name__}")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {_describe(exc.errors()[0])}") from None
    problem = _check(scenario)
    if problem:
        raise ScenarioError(f"{source}: {_path(problem[0])}: {problem[1]}")
    updates: dict[str, Any] = {"source": source}
    if not scenario.name:
        updates["name"] = name or Path(source).stem
    return scenario.model_copy(update=updates)


def parse_scenario_text(text: str, *, source: str = "<scenario>", name: str | None = None) -> Scenario:
    """Parse YAML text; syntax errors name the line and column."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(top)"
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise ScenarioError(f"{source}: {where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: (top): YAML error: {' '.join(str(exc).split())}") from None
    return parse_scenario(data, source=source, name=name)


def _builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yml"))


def load_scenario(ref: str | Path) -> Scenario:
    """A built-in scenario by name (`token-missing`) or a `.yml` file by path."""
    text_ref = str(ref)
    path = Path(text_ref)
    looks_like_path = text_ref.endswith((".yml", ".yaml")) or "/" in text_ref or "\\" in text_ref
    if not looks_like_path:
        path = BUILTIN_DIR / f"{text_ref}.yml"
        if not path.is_file():
            raise ScenarioError(f"{text_ref}: unknown built-in scenario "
                                f"(built-in: {', '.join(_builtin_names()) or 'none'}; or give a path to a .yml file)")
        source = path.name
    else:
        source = text_ref
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{source}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{source}: cannot read the file ({exc.__class__.__name__})") from None
    return parse_scenario_text(text, source=source, name=path.stem)


def list_builtin() -> list[Scenario]:
    """Every built-in scenario, loaded (and so validated), sorted by name."""
    return [load_scenario(name) for name in _builtin_names()]
