"""Marketo Engage as the marketo-sync-setup runbook meets it: identity and read-only REST.

The runbook needs Marketo for two questions: are Marketo's own API credentials accepted
(MARKETO_API_ACCESS_DENIED), and did recent Salesforce leads reach Marketo (SYNC_FAILED).
So the demo serves:

* ``GET|POST /identity/oauth/token?grant_type=client_credentials&client_id=..&client_secret=..``
  on ``{munchkin}.mktorest.com`` (reference §6.1);
* under ``/rest/v1/`` with ``Authorization: Bearer``: ``leads.json`` (filter by email, id or
  sfdcLeadId), ``lead/{id}.json``, ``leads/describe.json``, ``leads/describe2.json``,
  ``stats/usage.json``, ``stats/usage/last7days.json``, ``stats/errors.json``,
  ``stats/errors/last7days.json``.

Fidelity notes (V verified, S third-party copy of real output, I inferred):

* Identity success body and the 3599 s ``expires_in``: V. Asking again while a token is
  valid returns the same token with its remaining lifetime: V (Adobe authentication page,
  "remaining lifespan"). Identity 401 bodies: the ``error_description`` texts are from the
  marketo-rest-python maintainer (S); the ``error`` key values and the Spring-OAuth texts for
  a missing client id or grant type are I.
* REST envelope (HTTP 200, ``success:false``, quoted codes): V. Messages: 601 "Access token
  invalid", 602 "Access token expired", 603 "Access denied", 610 "Requested resource not
  found" are the documented descriptions (V; the docs' example also shows "Unauthorized" for
  601); 600 "Access token not specified" is S. The ``access_token`` query parameter is
  ignored (Adobe removed that support in 2026: V), so a call that carries only it gets 600,
  as a token-less call does (the exact post-removal answer is I).
* ``_method=GET`` turns a form-encoded POST into a read, in the URL or in the body (Adobe
  "Leads"; marketorestpython and node-marketo send it in the body): V. Repeated ``fields`` /
  ``filterValues`` parameters all count, each comma-separated (Adobe's OpenAPI arrays): V.
  See docs/simulator.md.
* Which codes count against the daily quota (the starred ones do not): V.
* 7xx/1xxx texts for bad lead queries (701 blank parameter, 1003 bad filterType, 1006
  unknown field): codes V from the error-code table, message wording I.
* Usage/errors statistics shapes: V (Adobe "Usage" endpoint reference). They count what
  this simulator served for this world since it started; nothing else.

Marketo's copy of leads comes from ``marketo.leads`` in the scenario. A lead's
``sfdcLeadId`` is its ``sfdc_lead_id`` when the scenario gives one, otherwise the Id of the
Salesforce Lead with the same email (a Contact with that email fills ``sfdcContactId``
instead), read from the world's records; with neither it is null — a lead that never
synced. Marketo's own lead ids, and createdAt for unlinked leads, are made up (I).

Per-world mutable state (issued tokens, usage and error counts) lives on the world object
as ``_sfdoctor_marketo`` (a :class:`MarketoState`): the World contract has no Marketo API for
it, and it must die with its world.
"""
from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

from .wire import SimRequest, SimResponse

HOST_SUFFIX = ".mktorest.com"
IDENTITY_PATH = "/identity/oauth/token"
TOKEN_LIFETIME = timedelta(seconds=3600)
TOKEN_POD = "int"                      # the suffix Adobe's own example token carries
LEAD_ID_BASE = 1000
MAX_FILTER_VALUES = 300
MAX_BATCH_SIZE = 300

DEFAULT_LEAD_FIELDS = ("id", "updatedAt", "lastName", "email", "createdAt", "firstName")

# Response-level error messages by code.
MESSAGES = {
    "600": "Access token not specified",
    "601": "Access token invalid",
    "602": "Access token expired",
    "603": "Access denied",
    "605": "HTTP Method not supported",
    "610": "Requested resource not found",
}
# Codes that do not count against the daily quota (the starred rows of the error table).
NOT_COUNTED = {"600", "601", "602", "604", "605", "606", "607", "608", "610", "611", "612"}


@dataclass(frozen=True)
class LeadField:
    """One field of Marketo's lead schema as describe/describe2 show it."""

    rest_name: str
    display_name: str
    data_type: str
    length: int | None = None
    read_only: bool = False
    crm_managed: bool = False
    soap_name: str = ""


# Marketo's standard lead fields the runbook and the sync touch (names as Marketo's REST
# API spells them; the sfdc* fields are what the Salesforce sync maintains).
LEAD_FIELDS: tuple[LeadField, ...] = (
    LeadField("id", "Id", "integer", None, True, False, "Id"),
    LeadField("email", "Email Address", "email", 255, False, False, "Email"),
    LeadField("firstName", "First Name", "string", 255, False, False, "FirstName"),
    LeadField("lastName", "Last Name", "string", 255, False, False, "LastName"),
    LeadField("company", "Company Name", "string", 255, False, False, "Company"),
    LeadField("createdAt", "Created At", "datetime", None, True, False, "CreatedAt"),
    LeadField("updatedAt", "Updated At", "datetime", None, True, False, "UpdatedAt"),
    LeadField("leadScore", "Lead Score", "integer", None, False, False, "LeadScore"),
    LeadField("sfdcLeadId", "SFDC Lead ID", "string", 18, True, True, "SFDCLeadId"),
    LeadField("sfdcContactId", "SFDC Contact ID", "string", 18, True, True, "SFDCContactId"),
    LeadField("sfdcAccountId", "SFDC Account ID", "string", 18, True, True, "SFDCAccountId"),
    LeadField("sfdcType", "SFDC Type", "string", 255, True, True, "SFDCType"),
)
LEAD_FIELD_NAMES = {f.rest_name for f in LEAD_FIELDS}
SEARCHABLE = ("email", "id", "sfdcLeadId")


@dataclass
class MkToken:
    """An issued access token: whose, for which instance, and until when."""

    client_id: str
    munchkin_id: str
    api_user: str
    expires_at: datetime


@dataclass
class MarketoState:
    """Mutable Marketo state of one world: tokens and what the usage endpoints report."""

    tokens: dict[str, MkToken] = field(default_factory=dict)
    usage: Counter = field(default_factory=Counter)     # (date, api user) -> calls
    errors: Counter = field(default_factory=Counter)    # (date, code) -> errors


class MarketoError(Exception):
    """A response-level error: becomes ``{"success": false, "errors": [...]}``."""

    def __init__(self, code: str, message: str | None = None):
        self.code = code
        self.message = message or MESSAGES.get(code, "")
        super().__init__(f"{code} {self.message}")


# --------------------------------------------------------------------------- dispatch

def handle(req: SimRequest, world: Any) -> SimResponse | None:
    """Answer Marketo identity and REST requests; None when the path or host is not Marketo's.

    Served on ``*.mktorest.com`` and when the simulator is reached directly. A host naming
    another instance's Munchkin ID is answered as that instance would: it knows neither
    this client nor its tokens (inferred; the real failure could also be DNS).
    """
    mk = _marketo(world)
    if mk is None:
        return None
    name = (req.host or "").split(":", 1)[0].lower()
    if name.endswith(HOST_SUFFIX):
        munchkin = name[: -len(HOST_SUFFIX)].upper()
    elif req.direct:
        munchkin = str(mk.munchkin_id).upper()
    else:
        return None                     # some other service's host
    path = req.path
    if path.rstrip("/") == IDENTITY_PATH:
        return identity(req, world, munchkin)
    if path.startswith("/rest/") or path == "/rest":
        return rest(req, world, munchkin)
    return None


def _marketo(world: Any) -> Any:
    scenario = getattr(world, "scenario", None)
    return getattr(scenario, "marketo", None) if scenario is not None else None


def state(world: Any) -> MarketoState:
    """This world's Marketo state (created on first use)."""
    st = getattr(world, "_sfdoctor_marketo", None)
    if st is None:
        st = MarketoState()
        already = int(getattr(world.scenario.marketo, "api_calls_today", 0) or 0)
        if already:
            st.usage[(_now(world).date(), world.scenario.marketo.client_id)] = already
        setattr(world, "_sfdoctor_marketo", st)
    return st


def _now(world: Any) -> datetime:
    now = world.now()
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def api_user_email(mk: Any) -> str:
    """The API-only user owning the LaunchPoint service (the token's ``scope``).

    The scenario format has no key for it, so it is derived from the Munchkin ID unless
    the scenario model carries an ``api_user`` value.
    """
    explicit = getattr(mk, "api_user", None)
    return str(explicit) if explicit else f"apis@{str(mk.munchkin_id).lower()}.example.com"


def _request_id(world: Any) -> str:
    millis = int(_now(world).timestamp() * 1000)
    return f"{secrets.token_hex(2)}#{millis:x}"


# --------------------------------------------------------------------------- identity

def identity(req: SimRequest, world: Any, munchkin: str) -> SimResponse:
    """Client-credentials token from the Identity URL (query string, or form body on POST)."""
    mk = _marketo(world)
    params = {k: v[0] for k, v in req.query.items() if v}
    if req.method == "POST" and "application/x-www-form-urlencoded" in req.headers.get("content-type", ""):
        params = {**req.form(), **params}
    client_id = params.get("client_id")
    if not client_id:
        return SimResponse.json({"error": "unauthorized",
                                 "error_description": "Full authentication is required to access this resource"},
                                status=401)
    if client_id != mk.client_id or munchkin != str(mk.munchkin_id).upper():
        return SimResponse.json({"error": "unauthorized",
                                 "error_description": f"No client with requested id: {client_id}"}, status=401)
    if params.get("client_secret") != mk.client_secret:
        return SimResponse.json({"error": "invalid_client", "error_description": "Bad client credentials"},
                                status=401)
    grant = params.get("grant_type")
    if not grant:
        return SimResponse.json({"error": "invalid_request", "error_description": "Missing grant type"}, status=400)
    if grant != "client_credentials":
        return SimResponse.json({"error": "unsupported_grant_type",
                                 "error_description": f"Unsupported grant type: {grant}"}, status=400)
    now = _now(world)
    st = state(world)
    current = next(((t, info) for t, info in st.tokens.items()
                    if info.client_id == client_id and info.munchkin_id == munchkin and info.expires_at > now),
                   None)
    if current is None:
        access_token = f"{uuid.uuid4()}:{TOKEN_POD}"
        info = MkToken(client_id, munchkin, api_user_email(mk), now + TOKEN_LIFETIME)
        st.tokens[access_token] = info
    else:
        access_token, info = current
    remaining = max(0, int((info.expires_at - now).total_seconds()) - 1)
    return SimResponse.json({"access_token": access_token, "token_type": "bearer",
                             "expires_in": remaining, "scope": info.api_user})


# --------------------------------------------------------------------------- REST

def rest(req: SimRequest, world: Any, munchkin: str) -> SimResponse:
    """Authenticate the bearer token, then route; every failure is Marketo's HTTP-200 envelope."""
    st = state(world)
    today = _now(world).date()
    user: str | None = None
    try:
        user = _authenticate(req, world, munchkin)
        method, params = _effective(req)
        result, extra = _route(method, req.path, params, world)
    except MarketoError as err:
        st.errors[(today, err.code)] += 1
        if user is not None and err.code not in NOT_COUNTED:
            st.usage[(today, user)] += 1
        return SimResponse.json({"requestId": _request_id(world), "success": False,
                                 "errors": [{"code": err.code, "message": err.message}]})
    st.usage[(today, user)] += 1
    body: dict[str, Any] = {"requestId": _request_id(world), "result": result, "success": True,
                            "moreResult": bool(extra.get("nextPageToken"))}
    body.update(extra)
    return SimResponse.json(body)


def _authenticate(req: SimRequest, world: Any, munchkin: str) -> str:
    """Return the API user behind the bearer token or raise 600/601/602/603."""
    auth = req.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else ""
    if not token:
        raise MarketoError("600")       # the access_token query parameter is no longer read
    info = state(world).tokens.get(token)
    if info is None or info.munchkin_id != munchkin:
        raise MarketoError("601")
    if _now(world) >= info.expires_at:
        raise MarketoError("602")
    if not getattr(_marketo(world), "api_access", True):
        raise MarketoError("603")
    return info.api_user


Params = dict[str, list[str]]


def _effective(req: SimRequest) -> tuple[str, Params]:
    """Method and parameters, honouring Marketo's POST with ``_method=GET`` for long queries.

    Adobe ("Leads"): change the GET to POST, add ``_method=GET`` and put the query string in
    the body. Clients put ``_method`` in the URL or, as marketorestpython and node-marketo
    do, in the form-encoded body; either way the parameters are the URL's and the body's.
    Every value of a repeated parameter is kept (``fields=a&fields=b``)."""
    params: Params = {k: list(v) for k, v in req.query.items() if v}
    method = req.method.upper()
    if method == "POST" and "json" not in req.headers.get("content-type", "").lower():
        body = parse_qs(req.text())
        override = (params.get("_method") or body.get("_method") or [""])[0]
        if override.upper() == "GET":
            for name, values in body.items():
                params.setdefault(name, []).extend(values)
            method = "GET"
    params.pop("_method", None)
    params.pop("access_token", None)
    return method, params


def _first(params: Params, name: str, default: str = "") -> str:
    """A single-valued parameter: its first value (the URL's before the body's)."""
    values = params.get(name)
    return values[0] if values else default


def _listed(params: Params, name: str) -> list[str]:
    """A list parameter: every value of a repeated parameter, each split at commas (Adobe's
    OpenAPI declares `fields` and `filterValues` as arrays of comma-separated strings)."""
    return [piece.strip() for value in params.get(name, []) for piece in value.split(",") if piece.strip()]


def _route(method: str, path: str, params: Params, world: Any) -> tuple[list[Any], dict[str, Any]]:
    routes = {
        "/rest/v1/leads.json": lambda: get_leads(params, world),
        "/rest/v1/leads/describe.json": lambda: (describe(), {}),
        "/rest/v1/leads/describe2.json": lambda: (describe2(), {}),
        "/rest/v1/stats/usage.json": lambda: (usage(world, days=1), {}),
        "/rest/v1/stats/usage/last7days.json": lambda: (usage(world, days=7), {}),
        "/rest/v1/stats/errors.json": lambda: (error_stats(world, days=1), {}),
        "/rest/v1/stats/errors/last7days.json": lambda: (error_stats(world, days=7), {}),
    }
    handler = routes.get(path)
    lead_id = None
    if handler is None and path.startswith("/rest/v1/lead/") and path.endswith(".json"):
        lead_id = path[len("/rest/v1/lead/"):-len(".json")]
        if lead_id.isdigit():
            handler = lambda: get_lead(int(lead_id), params, world)  # noqa: E731
    if handler is None:
        raise MarketoError("610")
    if method != "GET":
        raise MarketoError("605")
    return handler()


# --------------------------------------------------------------------------- leads

def marketo_leads(world: Any) -> list[dict[str, Any]]:
    """Marketo's copy of the leads, as full REST records (every field in LEAD_FIELDS).

    A lead linked to a Salesforce Lead or Contact (same email) takes its Salesforce Id
    and, when the scenario leaves them out, its names, company and creation time: the
    sync created it from that record. Unlinked leads were created at the last sync.
    """
    mk = _marketo(world)
    sync = getattr(mk, "sync", None)
    default_at = _world_time(world, getattr(sync, "last_synced_at", None)) or _now(world)
    rows = []
    for index, lead in enumerate(getattr(mk, "leads", None) or []):
        email = getattr(lead, "email", None)
        sf_type, sf = salesforce_match(world, email)
        created = _world_time(world, sf.get("CreatedDate")) or default_at
        sfdc_lead_id = getattr(lead, "sfdc_lead_id", None) or (sf.get("Id") if sf_type == "Lead" else None)
        rows.append({
            "id": LEAD_ID_BASE + index + 1,
            "email": email,
            "firstName": getattr(lead, "first_name", None) or sf.get("FirstName"),
            "lastName": getattr(lead, "last_name", None) or sf.get("LastName"),
            "company": sf.get("Company") or None,
            "createdAt": _iso(created),
            "updatedAt": _iso(max(created, default_at) if sf_type else created),
            "leadScore": None,
            "sfdcLeadId": sfdc_lead_id,
            "sfdcContactId": sf.get("Id") if sf_type == "Contact" else None,
            "sfdcAccountId": sf.get("AccountId") if sf_type == "Contact" else None,
            "sfdcType": "Lead" if sfdc_lead_id else sf_type,
        })
    return rows


def salesforce_match(world: Any, email: str | None) -> tuple[str | None, dict[str, Any]]:
    """("Lead"|"Contact", record) for the first Salesforce record with this email, else (None, {}).

    Read through the admin user's catalog (the World's read API), Leads before Contacts.
    """
    catalog_for = getattr(world, "catalog_for", None)
    if not email or not callable(catalog_for):
        return None, {}
    admin = getattr(world.scenario, "admin_user", None)
    row = world.user_by_username(admin.username) if admin is not None else None
    catalog = catalog_for(row["Id"] if row else "")
    wanted = email.lower()
    for sobject in ("Lead", "Contact"):
        for rec in catalog.rows(sobject):
            if str(rec.get("Email") or "").lower() == wanted:
                return sobject, rec
    return None, {}


def _world_time(world: Any, value: Any) -> datetime | None:
    """A scenario time as the world sees it (relative ones count from the world's epoch)."""
    at = getattr(world, "at", None)
    return _aware(at(value) if callable(at) else value)


def get_leads(params: Params, world: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``leads.json``: filter on one searchable field, choose fields, page by token."""
    filter_type = _first(params, "filterType")
    values = _listed(params, "filterValues")
    if not filter_type:
        raise MarketoError("701", "filterType cannot be blank")
    if filter_type not in SEARCHABLE:
        raise MarketoError("1003", f"Invalid filterType '{filter_type}'")
    if not values:
        raise MarketoError("701", "filterValues cannot be blank")
    if len(values) > MAX_FILTER_VALUES:
        raise MarketoError("1003", f"Too many filterValues: at most {MAX_FILTER_VALUES}")
    fields = _fields(params)
    batch = _batch_size(params)
    offset = _decode_page(_first(params, "nextPageToken") or None)
    wanted = {v.lower() for v in values}
    matches = [r for r in marketo_leads(world) if str(r.get(filter_type) or "").lower() in wanted]
    page = matches[offset: offset + batch]
    extra: dict[str, Any] = {}
    if offset + batch < len(matches):
        extra["nextPageToken"] = _encode_page(offset + batch)
    return [_project(r, fields) for r in page], extra


def get_lead(lead_id: int, params: Params, world: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``lead/{id}.json``: one lead, or an empty result when there is none."""
    fields = _fields(params)
    return [_project(r, fields) for r in marketo_leads(world) if r["id"] == lead_id], {}


def _fields(params: Params) -> list[str]:
    requested = _listed(params, "fields")
    if not requested:
        return list(DEFAULT_LEAD_FIELDS)
    lower = {n.lower(): n for n in LEAD_FIELD_NAMES}
    out = []
    for name in requested:
        if name.lower() not in lower:
            raise MarketoError("1006", f"Field '{name}' not found")
        out.append(lower[name.lower()])
    return out if "id" in out else ["id", *out]


def _batch_size(params: Params) -> int:
    raw = _first(params, "batchSize") or None
    if raw is None:
        return MAX_BATCH_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_BATCH_SIZE:
        raise MarketoError("1003", f"Invalid batchSize '{raw}': use 1 to {MAX_BATCH_SIZE}")
    return int(raw)


def _encode_page(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sfdoctor:{offset}".encode()).decode().rstrip("=")


def _decode_page(token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix == "sfdoctor" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError):
        pass
    raise MarketoError("1003", "Invalid nextPageToken")


def _project(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    return {f: row.get(f) for f in fields}


def describe() -> list[dict[str, Any]]:
    """``leads/describe.json``: one entry per field with its REST and SOAP names."""
    out = []
    for index, f in enumerate(LEAD_FIELDS, start=1):
        entry: dict[str, Any] = {"id": index, "displayName": f.display_name, "dataType": f.data_type}
        if f.length is not None:
            entry["length"] = f.length
        entry["rest"] = {"name": f.rest_name, "readOnly": f.read_only}
        entry["soap"] = {"name": f.soap_name or f.rest_name, "readOnly": f.read_only}
        out.append(entry)
    return out


def describe2() -> list[dict[str, Any]]:
    """``leads/describe2.json``: the lead object with searchable fields and field flags."""
    fields = []
    for f in LEAD_FIELDS:
        entry: dict[str, Any] = {"name": f.rest_name, "displayName": f.display_name, "dataType": f.data_type}
        if f.length is not None:
            entry["length"] = f.length
        entry["updateable"] = not f.read_only
        entry["crmManaged"] = f.crm_managed
        fields.append(entry)
    return [{"name": "API Lead", "searchableFields": [[name] for name in SEARCHABLE], "fields": fields}]


# --------------------------------------------------------------------------- statistics

def usage(world: Any, *, days: int) -> list[dict[str, Any]]:
    """Daily API calls per API user, today first (``stats/usage*.json``)."""
    st = state(world)
    out = []
    for day in _days(world, days):
        users = [{"userId": user, "count": n} for (d, user), n in sorted(st.usage.items(), key=str) if d == day]
        if users or days == 1:
            out.append({"date": day.isoformat(), "total": sum(u["count"] for u in users), "users": users})
    return out


def error_stats(world: Any, *, days: int) -> list[dict[str, Any]]:
    """Daily response-level errors per code (``stats/errors*.json``)."""
    st = state(world)
    out = []
    for day in _days(world, days):
        errs = [{"errorCode": code, "count": n} for (d, code), n in sorted(st.errors.items(), key=str) if d == day]
        if errs or days == 1:
            out.append({"date": day.isoformat(), "total": sum(e["count"] for e in errs), "errors": errs})
    return out


def _days(world: Any, days: int) -> list[date]:
    today = _now(world).date()
    return [today - timedelta(days=i) for i in range(days)]


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _iso(moment: datetime) -> str:
    """Marketo writes datetimes as UTC with a ``Z``, to the second."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
