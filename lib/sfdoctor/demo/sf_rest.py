"""Salesforce REST API: /services/data/... (versions, query, describe, limits, composite).

What a runbook reads about an org (users, profiles, login history, OAuth usage, fields)
comes through here, over the same wire simple-salesforce and jsforce parse: errors are JSON
*lists* of `{"message", "errorCode"}` (a 401 body that is not a list breaks
simple-salesforce's session refresh), every authenticated answer carries
`Sforce-Limit-Info: api-usage=N/MAX` (simple-salesforce exposes it as `sf.api_usage`), and
query results page at 2,000 records with a `nextRecordsUrl` cursor (reference §3).

URLs inside bodies (nextRecordsUrl, attributes.url, resource maps) are paths, as in
Salesforce; clients prefix them with the host they are talking to, so a client that reached
the simulator directly stays on it.
"""
from __future__ import annotations

import json
import re
import secrets
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .faults import rest_errors
from .wire import SimRequest, SimResponse

__all__ = ["handle", "VERSIONS", "BATCH_SIZE", "LATEST_VERSION"]

BATCH_SIZE = 2000
MIN_VERSION, LATEST_VERSION = 31, 66

# Release names per API version (reference §3.4; 42.0's label has Salesforce's own
# typographic apostrophe).
_RELEASES = {
    31: "Summer '14", 32: "Winter '15", 33: "Spring '15", 34: "Summer '15", 35: "Winter '16",
    36: "Spring '16", 37: "Summer '16", 38: "Winter '17", 39: "Spring '17", 40: "Summer '17",
    41: "Winter '18", 42: "Spring \u201918", 43: "Summer '18", 44: "Winter '19", 45: "Spring '19",
    46: "Summer '19", 47: "Winter '20", 48: "Spring '20", 49: "Summer '20", 50: "Winter '21",
    51: "Spring '21", 52: "Summer '21", 53: "Winter '22", 54: "Spring '22", 55: "Summer '22",
    56: "Winter '23", 57: "Spring '23", 58: "Summer '23", 59: "Winter '24", 60: "Spring '24",
    61: "Summer '24", 62: "Winter '25", 63: "Spring '25", 64: "Summer '25", 65: "Winter '26",
    66: "Spring '26",
}
VERSIONS = [{"label": _RELEASES[v], "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v in range(MIN_VERSION, LATEST_VERSION + 1)]

_VERSIONED = re.compile(r"^/services/data/v(\d+)\.(\d+)(/.*)?$")
_LOCATOR = re.compile(r"^01g[A-Za-z0-9]{15}-\d+$")

_SESSION_INVALID = "Session expired or invalid"
_EXPIRED_PASSWORD = ("The users password has expired, you must call SetPassword before attempting "
                     "any other API operations")
_NOT_FOUND = "The requested resource does not exist"


# --------------------------------------------------------------------------- cursors

@dataclass
class _Cursor:
    records: list[dict[str, Any]]
    total_size: int
    user_id: str
    tooling: bool
    batch: int
    extra: dict[str, Any] = field(default_factory=dict)


class _CursorStore:
    """Open query cursors of one world (server memory: a cursor dies with the simulator,
    as a Salesforce query locator dies after 15 minutes of inactivity)."""

    def __init__(self) -> None:
        self.cursors: dict[str, _Cursor] = {}
        self.lock = threading.Lock()

    def open(self, cursor: _Cursor) -> str:
        locator = "01g" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                                  for _ in range(15))
        with self.lock:
            self.cursors[locator] = cursor
            if len(self.cursors) > 500:  # Salesforce also caps open cursors per user
                self.cursors.pop(next(iter(self.cursors)))
        return locator


_STORES: "weakref.WeakKeyDictionary[Any, _CursorStore]" = weakref.WeakKeyDictionary()
_STORES_LOCK = threading.Lock()


def _cursors(world: Any) -> _CursorStore:
    with _STORES_LOCK:
        store = _STORES.get(world)
        if store is None:
            store = _STORES[world] = _CursorStore()
        return store


# --------------------------------------------------------------------------- entry

@dataclass
class _Ctx:
    """One authenticated REST call: the caller, the API version, the world."""

    req: SimRequest
    world: Any
    user: dict[str, Any]
    user_id: str
    version: str

    @property
    def prefix(self) -> str:
        return f"/services/data/v{self.version}"

    def catalog(self) -> Any:
        return self.world.catalog_for(self.user_id)


def handle(req: SimRequest, world: Any) -> SimResponse | None:
    """Everything under /services/data; None for other paths."""
    if req.path in ("/services/data", "/services/data/"):
        if req.method not in ("GET", "HEAD"):
            return _method_not_allowed(req.method, "GET,HEAD")
        return SimResponse.json(VERSIONS)
    match = _VERSIONED.match(req.path)
    if not match:
        if req.path.startswith("/services/data/"):
            return rest_errors(404, "NOT_FOUND", _NOT_FOUND)
        return None
    major, minor, rest = int(match.group(1)), match.group(2), match.group(3) or "/"
    if not (MIN_VERSION <= major <= LATEST_VERSION) or minor != "0":
        return rest_errors(404, "NOT_FOUND", _NOT_FOUND)  # [I] unknown/retired versions
    user, denied = _authenticate(req, world)
    if denied is not None:
        return denied
    world.count_api_call()
    ctx = _Ctx(req, world, user, _user_id(user), f"{major}.0")
    response = _guarded(ctx, rest)
    return _with_limit_header(world, response)


def _user_id(user: dict[str, Any]) -> str:
    from .sf_soap import user_value  # noqa: PLC0415

    return user_value(user, "Id", "id")


def _authenticate(req: SimRequest, world: Any) -> tuple[dict[str, Any], SimResponse | None]:
    """Bearer/OAuth token -> session user; 401 INVALID_SESSION_ID (a JSON list) otherwise."""
    auth = req.headers.get("authorization", "").strip()
    if not auth:
        # [S] reference §3.1 (fixture of a missing header).
        return {}, rest_errors(401, "INVALID_AUTH_HEADER", "INVALID_AUTH_HEADER", {"WWW-Authenticate": "Token"})
    scheme, _, token = auth.partition(" ")
    user = world.session_user(token.strip()) if scheme.lower() in ("bearer", "oauth") and token.strip() else None
    if user is None:
        return {}, rest_errors(401, "INVALID_SESSION_ID", _SESSION_INVALID, {"WWW-Authenticate": "Token"})
    return user, None


def _with_limit_header(world: Any, response: SimResponse) -> SimResponse:
    used, limit = world.api_usage()
    response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{limit}"
    return response


def _method_not_allowed(method: str, allowed: str) -> SimResponse:
    return rest_errors(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}")


def _guarded(ctx: _Ctx, rest: str) -> SimResponse:
    """Org- and user-level refusals that apply to every resource, then routing."""
    if not getattr(ctx.world.scenario.salesforce, "api_enabled", True):
        return rest_errors(403, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization.")
    if _password_expired(ctx.world, ctx.user) and not _is_password_resource(rest):
        # [V] text; status 401 as in the captured responses (reference §3.1).
        return rest_errors(401, "INVALID_OPERATION_WITH_EXPIRED_PASSWORD", _EXPIRED_PASSWORD)
    return _route(ctx, ctx.req.method, rest, ctx.req.query, ctx.req.body)


def _password_expired(world: Any, user: dict[str, Any]) -> bool:
    """Whether the session's user must change their password first (World user dict)."""
    return bool(user.get("PasswordExpired"))


_PASSWORD_PATH = re.compile(r"^/sobjects/User/([A-Za-z0-9]{15,18})/password/?$", re.I)


def _is_password_resource(rest: str) -> bool:
    return bool(_PASSWORD_PATH.match(rest))


# --------------------------------------------------------------------------- routing

def _route(ctx: _Ctx, method: str, rest: str, query: dict[str, list[str]], body: bytes) -> SimResponse:
    """Dispatch `rest` (the path after /services/data/vNN.0) to its resource."""
    parts = [p for p in rest.split("/") if p]
    reads = ("GET", "HEAD")
    if not parts:
        return _only(method, reads) or SimResponse.json(_resource_map(ctx))
    head = parts[0]
    if head in ("query", "queryAll"):
        return _query_route(ctx, method, parts, query, tooling=False)
    if head == "tooling":
        return _tooling(ctx, method, parts[1:], query)
    if head == "limits" and len(parts) == 1:
        return _only(method, reads) or SimResponse.json(_limits(ctx))
    if head == "sobjects":
        return _sobjects(ctx, method, parts[1:], query, body)
    if head == "composite":
        if len(parts) == 1:
            return _only(method, ("POST",)) or _composite(ctx, body)
        if parts[1:] == ["batch"]:
            return _only(method, ("POST",)) or _composite_batch(ctx, body)
        return rest_errors(404, "NOT_FOUND", _NOT_FOUND)
    return rest_errors(404, "NOT_FOUND", _NOT_FOUND)


def _only(method: str, allowed: tuple[str, ...]) -> SimResponse | None:
    return None if method in allowed else _method_not_allowed(method, ",".join(allowed))


def _resource_map(ctx: _Ctx) -> dict[str, str]:
    p = ctx.prefix
    names = ["tooling", "metadata", "eclair", "folders", "prechatForms", "contact-tracing", "jsonxform",
             "chatter", "tabs", "appMenu", "quickActions", "queryAll", "commerce", "wave", "iot", "analytics",
             "search", "identity", "composite", "parameterizedSearch", "fingerprint", "theme", "nouns",
             "domino", "event", "serverTime", "recent", "process", "query", "consent", "compactLayouts",
             "knowledgeManagement", "sobjects", "actions", "support", "limits", "async-queries", "scheduling"]
    out = {n: f"{p}/{n}" for n in names}
    out["identity"] = f"{ctx.req.base_url}/id/{ctx.world.org_id}/{ctx.user_id}"
    return out


# --------------------------------------------------------------------------- query

def _batch_size(req: SimRequest) -> int:
    """`Sforce-Query-Options: batchSize=N` (200..2000, Salesforce's bounds)."""
    options = req.headers.get("sforce-query-options", "")
    match = re.search(r"batchSize\s*=\s*(\d+)", options)
    if not match:
        return BATCH_SIZE
    return max(200, min(BATCH_SIZE, int(match.group(1))))


def _run_soql(ctx: _Ctx, soql: str, tooling: bool) -> Any:
    from . import soql as engine  # noqa: PLC0415

    return engine.execute(soql, ctx.catalog(), api_version=ctx.version, tooling=tooling)


def _query(ctx: _Ctx, query: dict[str, list[str]], tooling: bool) -> SimResponse:
    from .soql import SoqlError  # noqa: PLC0415

    soql = (query.get("q") or [""])[0]
    if not soql.strip():
        return rest_errors(400, "MALFORMED_QUERY", "A query string has to be specified")  # [I]
    if (query.get("columns") or [""])[0].lower() == "true":
        return _query_columns(ctx, soql, tooling)
    try:
        result = _run_soql(ctx, soql, tooling)
    except SoqlError as exc:
        return rest_errors(exc.status, exc.error_code, exc.message)
    entity = None
    if tooling and result.records:
        entity = result.records[0].get("attributes", {}).get("type")
    cursor = _Cursor(records=list(result.records), total_size=result.total_size, user_id=ctx.user_id,
                     tooling=tooling, batch=_batch_size(ctx.req), extra={"entityTypeName": entity})
    return SimResponse.json(_page(ctx, cursor, 0, None))


# What a column's value is in Apex (`apexType` of the column metadata).
_APEX_TYPES = {
    "id": "Id", "reference": "Id", "boolean": "Boolean", "int": "Integer", "double": "Double",
    "percent": "Double", "currency": "Decimal", "date": "Date", "datetime": "Datetime",
}
_NUMBER_TYPES = ("int", "double", "percent", "currency")
_NUMBER_FUNCTIONS = ("COUNT", "COUNT_DISTINCT", "SUM", "AVG")


def _query_columns(ctx: _Ctx, soql: str, tooling: bool) -> SimResponse:
    """`query?q=...&columns=true`: the query's column metadata instead of its rows, as the
    Salesforce CLI's `sf data query` asks for it before printing a table (shape: the
    CLI's own test exemplars, salesforcecli/plugin-data queryFields.exemplars.ts [S])."""
    from . import soql as engine  # noqa: PLC0415

    try:
        described = engine.describe_columns(soql, ctx.catalog(), api_version=ctx.version, tooling=tooling)
    except engine.SoqlError as exc:
        return rest_errors(exc.status, exc.error_code, exc.message)
    return SimResponse.json({
        "columnMetadata": [_column_json(c) for c in described.columns],
        "entityName": described.sobject, "groupBy": described.group_by,
        "idSelected": described.id_selected, "keyPrefix": described.key_prefix,
    })


def _column_json(column: Any) -> dict[str, Any]:
    f = column.field
    writable = (f is not None and (column.sobject in _WRITABLE or str(column.sobject).endswith("__c"))
                and f.name not in _SYSTEM_FIELDS)
    text_like = f is not None and f.type in ("string", "textarea", "email", "phone", "url", "picklist")
    return {
        "aggregate": column.aggregate, "apexType": _APEX_TYPES.get(f.type, "String") if f is not None else None,
        "booleanType": f is not None and f.type == "boolean", "columnName": column.name,
        "custom": f is not None and f.custom, "displayName": column.display,
        "foreignKeyName": column.foreign_key, "insertable": writable,
        "joinColumns": [_column_json(j) for j in column.joins],
        "numberType": (f is not None and f.type in _NUMBER_TYPES) or column.function in _NUMBER_FUNCTIONS,
        "textType": text_like, "updatable": writable,
    }


def _page(ctx: _Ctx, cursor: _Cursor, start: int, locator: str | None) -> dict[str, Any]:
    """One batch starting at `start`; opens a cursor when more records remain."""
    batch = cursor.records[start:start + cursor.batch]
    done = start + len(batch) >= len(cursor.records)
    body: dict[str, Any] = {}
    if cursor.tooling:
        body["size"] = cursor.total_size
    body["totalSize"] = cursor.total_size
    body["done"] = done
    if not done:
        locator = locator or _cursors(ctx.world).open(cursor)
        base = f"{ctx.prefix}/tooling/query" if cursor.tooling else f"{ctx.prefix}/query"
        body["nextRecordsUrl"] = f"{base}/{locator}-{start + len(batch)}"
    if cursor.tooling:
        body["queryLocator"] = None if done else locator
        body["entityTypeName"] = cursor.extra.get("entityTypeName")
    body["records"] = batch
    return body


def _query_more(ctx: _Ctx, token: str, tooling: bool) -> SimResponse:
    if not _LOCATOR.match(token):
        return rest_errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")  # [I] text
    locator, _, offset = token.rpartition("-")
    store = _cursors(ctx.world)
    with store.lock:
        cursor = store.cursors.get(locator)
    if cursor is None or cursor.user_id != ctx.user_id or cursor.tooling != tooling:
        return rest_errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")  # [I] text
    start = int(offset)
    if start >= len(cursor.records):
        return rest_errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return SimResponse.json(_page(ctx, cursor, start, locator))


def _tooling(ctx: _Ctx, method: str, parts: list[str], query: dict[str, list[str]]) -> SimResponse:
    if not parts:
        return _only(method, ("GET", "HEAD")) or SimResponse.json(
            {n: f"{ctx.prefix}/tooling/{n}" for n in ("query", "sobjects", "search", "executeAnonymous", "runTestsAsynchronous")})
    if parts[0] == "query":
        return _query_route(ctx, method, parts, query, tooling=True)
    return rest_errors(404, "NOT_FOUND", _NOT_FOUND)


def _query_route(ctx: _Ctx, method: str, parts: list[str], query: dict[str, list[str]], *, tooling: bool) -> SimResponse:
    """`query` (a new query) or `query/<locator>` (the next batch), for data and Tooling alike."""
    if method not in ("GET", "HEAD"):
        return _method_not_allowed(method, "GET,HEAD")
    if len(parts) == 1:
        return _query(ctx, query, tooling=tooling)
    if len(parts) == 2:
        return _query_more(ctx, parts[1], tooling=tooling)
    return rest_errors(404, "NOT_FOUND", _NOT_FOUND)


# --------------------------------------------------------------------------- describe

def _object_names(ctx: _Ctx) -> list[str]:
    """Every sObject the world serves (standard catalog plus the scenario's custom objects)."""
    return list(ctx.catalog().sobject_names())


def _sobject_urls(prefix: str, name: str) -> dict[str, str]:
    return {
        "compactLayouts": f"{prefix}/sobjects/{name}/describe/compactLayouts",
        "rowTemplate": f"{prefix}/sobjects/{name}/{{ID}}",
        "defaultValues": f"{prefix}/sobjects/{name}/defaultValues?recordTypeId&fields",
        "describe": f"{prefix}/sobjects/{name}/describe",
        "sobject": f"{prefix}/sobjects/{name}",
    }


# Objects whose rows an integration can create/update in Salesforce (the rest are setup or
# audit objects: read-only through the API).
_WRITABLE = {"Account", "Contact", "Lead", "User", "PermissionSetAssignment"}


def _object_summary(prefix: str, schema: Any) -> dict[str, Any]:
    writable = schema.name in _WRITABLE or schema.custom
    return {
        "activateable": False, "associateEntityType": None, "associateParentEntity": None,
        "createable": writable, "custom": schema.custom, "customSetting": False,
        "deepCloneable": False, "deletable": writable and schema.name != "User",
        "deprecatedAndHidden": False, "feedEnabled": False, "hasSubtypes": False, "isInterface": False,
        "isSubtype": False, "keyPrefix": schema.key_prefix, "label": schema.label,
        "labelPlural": _plural(schema.label), "layoutable": writable, "mergeable": schema.name in ("Account", "Contact", "Lead"),
        "mruEnabled": writable, "name": schema.name, "queryable": schema.queryable, "replicateable": True,
        "retrieveable": True, "searchable": writable, "triggerable": writable, "undeletable": writable and schema.name != "User",
        "updateable": writable, "urls": _sobject_urls(prefix, schema.name),
    }


def _plural(label: str) -> str:
    if label.endswith("y") and not label.endswith(("ay", "ey", "oy")):
        return label[:-1] + "ies"
    if label.endswith(("s", "x", "sh", "ch")):
        return label + "es"
    return label + "s"


# Fields the platform sets: never createable or updateable through the API.
_SYSTEM_FIELDS = ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "CreatedById",
                  "LastModifiedById", "IsDeleted")

_SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
    "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double", "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


def _field_describe(f: Any, writable: bool) -> dict[str, Any]:
    text_like = f.type in ("string", "textarea", "email", "phone", "url", "picklist", "id", "reference")
    length = {"id": 18, "reference": 18, "textarea": 32768}.get(f.type, 255 if text_like else 0)
    system = f.name in _SYSTEM_FIELDS
    return {
        "aggregatable": f.type not in ("textarea",), "autoNumber": False, "byteLength": length * 3 if text_like else 0,
        "calculated": False, "caseSensitive": False, "createable": writable and not system,
        "custom": f.custom, "defaultValue": None, "defaultedOnCreate": system or f.type == "boolean",
        "deprecatedAndHidden": False, "digits": 0, "externalId": False, "filterable": f.filterable,
        "groupable": f.groupable, "htmlFormatted": False, "idLookup": f.name == "Id",
        "label": f.label or f.name, "length": length, "name": f.name, "nameField": f.name == "Name",
        "nillable": f.nillable, "permissionable": f.custom or (f.nillable and not system),
        "picklistValues": [], "polymorphicForeignKey": len(f.reference_to) > 1,
        "precision": 18 if f.type in ("double", "currency", "percent") else 0,
        "referenceTo": list(f.reference_to), "relationshipName": f.relationship_name,
        "restrictedPicklist": False, "scale": 2 if f.type in ("currency",) else 0,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"), "sortable": f.sortable, "type": f.type,
        "unique": False, "updateable": writable and not system,
    }


def _describe_object(ctx: _Ctx, schema: Any) -> dict[str, Any]:
    summary = _object_summary(ctx.prefix, schema)
    writable = summary["updateable"]
    summary.update({
        "childRelationships": [
            {"cascadeDelete": False, "childSObject": c.child_sobject, "deprecatedAndHidden": False,
             "field": c.field, "junctionIdListNames": [], "junctionReferenceTo": [],
             "relationshipName": c.name, "restrictedDelete": False}
            for c in schema.child_relationships],
        "fields": [_field_describe(f, writable) for f in schema.fields.values()],
        "recordTypeInfos": [], "supportedScopes": [{"label": "All " + _plural(schema.label).lower(), "name": "everything"}],
    })
    summary["urls"].update({"uiDetailTemplate": None, "uiEditTemplate": None, "uiNewRecord": None})
    return summary


def _sobjects(ctx: _Ctx, method: str, parts: list[str], query: dict[str, list[str]], body: bytes) -> SimResponse:
    catalog = ctx.catalog()
    if not parts:
        if method not in ("GET", "HEAD"):
            return _method_not_allowed(method, "GET,HEAD")
        objects = []
        for name in _object_names(ctx):
            schema = catalog.describe(name)
            if schema is not None:
                objects.append(_object_summary(ctx.prefix, schema))
        return SimResponse.json({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})
    schema = catalog.describe(parts[0])
    if schema is None:
        return rest_errors(404, "NOT_FOUND", _NOT_FOUND)
    if len(parts) == 1:
        if method in ("GET", "HEAD"):
            return SimResponse.json({"objectDescribe": _object_summary(ctx.prefix, schema), "recentItems": []})
        if method == "POST":
            return _write_refused(ctx)
        return _method_not_allowed(method, "GET,HEAD,POST")
    if parts[1] == "describe" and len(parts) == 2:
        return _only(method, ("GET", "HEAD")) or SimResponse.json(_describe_object(ctx, schema))
    if schema.name == "User" and len(parts) == 3 and parts[2] == "password":
        return _user_password(ctx, method, parts[1])
    if len(parts) == 2:
        if method in ("GET", "HEAD"):
            return _record(ctx, schema, parts[1], query)
        if method in ("PATCH", "DELETE"):
            return _write_refused(ctx)
        return _method_not_allowed(method, "GET,PATCH,HEAD,DELETE")
    return rest_errors(404, "NOT_FOUND", _NOT_FOUND)


def _write_refused(ctx: _Ctx) -> SimResponse:
    """The demo world's data is read-only through the API (its World has no write methods);
    Salesforce's answer for a caller lacking edit rights stands in for any write."""
    return rest_errors(403, "INSUFFICIENT_ACCESS", "insufficient access rights on object id")


def _record(ctx: _Ctx, schema: Any, record_id: str, query: dict[str, list[str]]) -> SimResponse:
    from .soql import SoqlError  # noqa: PLC0415

    wanted = [f.strip() for f in ",".join(query.get("fields", [])).split(",") if f.strip()]
    fields = wanted or list(schema.fields)
    if not re.fullmatch(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?", record_id):
        return rest_errors(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: " + record_id)
    soql = f"SELECT {', '.join(fields)} FROM {schema.name} WHERE Id = '{record_id}'"
    try:
        result = _run_soql(ctx, soql, tooling=False)
    except SoqlError as exc:
        return rest_errors(exc.status, exc.error_code, exc.message)
    if not result.records:
        return rest_errors(404, "NOT_FOUND", _NOT_FOUND)
    return SimResponse.json(result.records[0])


def _user_password(ctx: _Ctx, method: str, user_id: str) -> SimResponse:
    """GET -> {"isExpired": bool} ([V] REST guide "Manage User Passwords"); only for the
    caller's own id or an admin (Manage Users); setting or resetting a password is a write."""
    if method not in ("GET", "HEAD"):
        if method in ("POST", "DELETE"):
            return _write_refused(ctx)
        return _method_not_allowed(method, "GET,HEAD,POST,DELETE")
    row = next((r for r in ctx.catalog().rows("User") if str(r.get("Id", ""))[:15] == user_id[:15]), None)
    if row is None:
        return rest_errors(404, "NOT_FOUND", _NOT_FOUND)
    own = row["Id"][:15] == ctx.user_id[:15]
    if not own and not (ctx.user.get("IsAdmin") or ctx.user.get("ProfileName") == "System Administrator"):
        return rest_errors(403, "INSUFFICIENT_ACCESS", "You do not have permission to view this record.")
    target = ctx.world.user(row["Id"]) or {}
    return SimResponse.json({"isExpired": bool(target.get("PasswordExpired"))})


# --------------------------------------------------------------------------- limits

def _limits(ctx: _Ctx) -> dict[str, Any]:
    used, limit = ctx.world.api_usage()

    def mr(maximum: int, remaining: int | None = None) -> dict[str, int]:
        return {"Max": maximum, "Remaining": maximum if remaining is None else remaining}

    return {
        "ActiveScratchOrgs": mr(3), "AnalyticsExternalDataSizeMB": mr(40960),
        "ConcurrentAsyncGetReportInstances": mr(200), "ConcurrentEinsteinDataInsightsStoryCreation": mr(5),
        "ConcurrentSyncReportRuns": mr(20), "DailyAnalyticsDataflowJobExecutions": mr(60),
        "DailyApiRequests": mr(limit, max(0, limit - used)),
        "DailyAsyncApexExecutions": mr(250000), "DailyAsyncApexTests": mr(500),
        "DailyBulkApiBatches": mr(15000), "DailyBulkV2QueryFileStorageMB": mr(976562),
        "DailyBulkV2QueryJobs": mr(10000), "DailyDurableGenericStreamingApiEvents": mr(10000),
        "DailyDurableStreamingApiEvents": mr(10000), "DailyGenericStreamingApiEvents": mr(10000),
        "DailyScratchOrgs": mr(6), "DailyStandardVolumePlatformEvents": mr(10000),
        "DailyStreamingApiEvents": mr(10000), "DailyWorkflowEmails": mr(2000),
        "DataStorageMB": mr(5, 5), "FileStorageMB": mr(20, 20),
        "HourlyAsyncReportRuns": mr(1200), "HourlyDashboardRefreshes": mr(200),
        "HourlyDashboardResults": mr(5000), "HourlyDashboardStatuses": mr(999999999),
        "HourlyODataCallout": mr(10000), "HourlySyncReportRuns": mr(500),
        "HourlyTimeBasedWorkflow": mr(1000), "MassEmail": mr(10), "PermissionSets": mr(1500),
        "SingleEmail": mr(15), "StreamingApiConcurrentClients": mr(20),
    }


# --------------------------------------------------------------------------- composite

_REF = re.compile(r"@\{([A-Za-z0-9_]+)\.([^}]+)\}")
_MAX_SUBREQUESTS = 25  # [I] Salesforce's documented limit per composite request


def _resolve_refs(text: str, results: dict[str, Any]) -> str:
    """`@{ref.records[0].Id}` -> the value from an earlier subrequest's body."""
    def lookup(match: re.Match[str]) -> str:
        value: Any = results.get(match.group(1))
        for token in re.findall(r"[^.\[\]]+|\[\d+\]", match.group(2)):
            if token.startswith("["):
                value = value[int(token[1:-1])] if isinstance(value, list) else None
            else:
                value = value.get(token) if isinstance(value, dict) else None
        return "" if value is None else str(value)
    return _REF.sub(lookup, text)


def _sub_call(ctx: _Ctx, method: str, url: str, body: Any) -> tuple[int, Any, dict[str, str]]:
    """Run one subrequest through the router (no extra API call counted, as in Salesforce)."""
    parts = urlsplit(url if url.startswith("/") else "/services/data/" + url)
    match = _VERSIONED.match(parts.path)
    if not match:
        return 404, [{"errorCode": "NOT_FOUND", "message": _NOT_FOUND}], {}
    sub_ctx = _Ctx(ctx.req, ctx.world, ctx.user, ctx.user_id, f"{int(match.group(1))}.0")
    raw = json.dumps(body).encode() if body is not None else b""
    response = _route(sub_ctx, method.upper(), match.group(3) or "/", parse_qs(parts.query), raw)
    payload = json.loads(response.body) if response.body else None
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-type", "sforce-limit-info")}
    return response.status, payload, headers


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except json.JSONDecodeError:
        return _BAD_JSON


_BAD_JSON = object()


def _composite(ctx: _Ctx, body: bytes) -> SimResponse:
    data = _json_body(body)
    if data is _BAD_JSON or not isinstance(data, dict) or not isinstance(data.get("compositeRequest"), list):
        return rest_errors(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of composite request")  # [I]
    subrequests = data["compositeRequest"]
    if len(subrequests) > _MAX_SUBREQUESTS:
        return rest_errors(400, "INVALID_INPUT", f"Composite request must have at most {_MAX_SUBREQUESTS} subrequests")  # [I]
    all_or_none = bool(data.get("allOrNone"))
    results: dict[str, Any] = {}
    out: list[dict[str, Any]] = []
    failed = False
    for sub in subrequests:
        ref = sub.get("referenceId")
        if failed and all_or_none:
            out.append({"body": [{"errorCode": "PROCESSING_HALTED",
                                  "message": "The transaction was rolled back since another operation in the same transaction failed."}],
                        "httpHeaders": {}, "httpStatusCode": 400, "referenceId": ref})
            continue
        url = _resolve_refs(str(sub.get("url", "")), results)
        status, payload, headers = _sub_call(ctx, str(sub.get("method", "GET")), url, sub.get("body"))
        results[ref] = payload
        failed = failed or status >= 400
        out.append({"body": payload, "httpHeaders": headers, "httpStatusCode": status, "referenceId": ref})
    return SimResponse.json({"compositeResponse": out})


def _composite_batch(ctx: _Ctx, body: bytes) -> SimResponse:
    data = _json_body(body)
    if data is _BAD_JSON or not isinstance(data, dict) or not isinstance(data.get("batchRequests"), list):
        return rest_errors(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of batch request")  # [I]
    if len(data["batchRequests"]) > _MAX_SUBREQUESTS:
        return rest_errors(400, "INVALID_INPUT", f"Batch request must have at most {_MAX_SUBREQUESTS} subrequests")  # [I]
    halt = bool(data.get("haltOnError"))
    results: list[dict[str, Any]] = []
    has_errors = halted = False
    for sub in data["batchRequests"]:
        if halted:
            results.append({"statusCode": 412, "result": [{"errorCode": "BATCH_PROCESSING_HALTED",
                                                           "message": "Batch processing halted per request"}]})
            continue
        status, payload, _ = _sub_call(ctx, str(sub.get("method", "GET")), str(sub.get("url", "")),
                                       sub.get("richInput"))
        if status >= 400:
            has_errors = True
            halted = halt
        results.append({"statusCode": status, "result": payload})
    return SimResponse.json({"hasErrors": has_errors, "results": results})
