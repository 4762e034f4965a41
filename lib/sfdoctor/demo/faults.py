"""Injected failures (the scenario's `faults:` list) and API-styled error bodies.

A runbook must still write a report when Salesforce answers 503, refuses a request with
REQUEST_LIMIT_EXCEEDED, answers late or drops the connection (DESIGN principle 6). The
scenario's `faults:` list (spec/scenario-format.md) lets the demo world do all of that on
demand, so the resilience of sfdoctor's checks is tested against the same wire as real
Salesforce, not against mocks.

Semantics (normative text in the spec, decisions made here are marked):
* `match: "METHOD PATH-GLOB"`: fnmatch, `*` also crosses `/`; METHOD `*` matches any method.
  A match without a space (`"*"`) is a path glob for any method. The query string is never
  part of the path that is matched.
* Faults are tried in order; the first *active* one wins.
* Every fault counts the requests that match its pattern (whether or not an earlier fault
  took them — decision: "the N-th matching request" means the N-th request the pattern
  matches). `times: N` is active for matches 1..N only; `after: N` from match N+1 on.
* Effects: `delay:` waits (without blocking other requests) and then, unless the same fault
  also says `status`/`error`/`reset`, lets the request be answered normally; `reset: true`
  drops the connection; `status:` answers that HTTP status with a body in the style of the
  API the path belongs to; `error: REQUEST_LIMIT_EXCEEDED` answers Salesforce's own status
  and body for that code.
"""
from __future__ import annotations

import fnmatch
import json
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Iterable
from xml.sax.saxutils import escape

from .wire import SimResponse

__all__ = [
    "Fault",
    "FaultPlan",
    "parse_delay",
    "api_kind",
    "status_response",
    "error_response",
    "not_found_response",
    "soap_fault",
    "rest_errors",
]


# --------------------------------------------------------------------------- matching

_DELAY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_delay(value: Any) -> float:
    """`30s`, `500ms`, `2m`, `1h` or a bare number of seconds -> seconds (float).

    Scenario files are written by people; a bare number is read as seconds, as YAML
    authors of `delay: 5` would expect."""
    if value is None or value is False:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if hasattr(value, "total_seconds"):
        return float(value.total_seconds())
    match = _DELAY_RE.match(str(value))
    if not match:
        raise ValueError(f"delay {value!r}: use a number with ms, s, m or h, e.g. 30s")
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]


def _get(source: Any, key: str, default: Any = None) -> Any:
    """Read a key from a scenario fault given as a dict or as a pydantic model."""
    if isinstance(source, dict):
        return source.get(key, default)
    return getattr(source, key, default)


@dataclass
class Fault:
    """One entry of `faults:`, parsed, with its own count of matching requests."""

    method: str
    glob: str
    status: int | None = None
    error: str | None = None
    delay: float = 0.0
    reset: bool = False
    times: int | None = None
    after: int | None = None
    seen: int = 0

    @classmethod
    def from_spec(cls, spec: Any) -> "Fault":
        """Build from a dict or a pydantic fault model with the spec's keys."""
        match = str(_get(spec, "match", "*") or "*").strip()
        if " " in match:
            method, glob = match.split(None, 1)
        else:
            method, glob = "*", match
        status = _get(spec, "status")
        times = _get(spec, "times")
        after = _get(spec, "after")
        return cls(
            method=method.upper(),
            glob=glob.strip(),
            status=int(status) if status is not None else None,
            error=_get(spec, "error"),
            delay=parse_delay(_get(spec, "delay")),
            reset=bool(_get(spec, "reset", False)),
            times=int(times) if times is not None else None,
            after=int(after) if after is not None else None,
        )

    def matches(self, method: str, path: str) -> bool:
        """Method and path glob; fnmatchcase so `/services/Soap` is not `/services/soap`."""
        if self.method not in ("*", method.upper()):
            return False
        return fnmatch.fnmatchcase(path, self.glob)

    def active_for(self, nth: int) -> bool:
        """Whether the nth (1-based) matching request gets this fault."""
        if self.times is not None and nth > self.times:
            return False
        if self.after is not None and nth <= self.after:
            return False
        return True

    @property
    def answers(self) -> bool:
        """True when the fault itself produces the answer (not just a delay)."""
        return self.reset or self.status is not None or self.error is not None


class FaultPlan:
    """The scenario's faults with their counters; `pick()` is thread-safe."""

    def __init__(self, specs: Iterable[Any] | None):
        self.faults = [Fault.from_spec(s) for s in (specs or [])]
        self._lock = threading.Lock()

    def pick(self, method: str, path: str) -> Fault | None:
        """Count this request against every fault whose pattern matches it and return the
        first one active for it (None: serve normally)."""
        chosen: Fault | None = None
        with self._lock:
            for fault in self.faults:
                if not fault.matches(method, path):
                    continue
                fault.seen += 1
                if chosen is None and fault.active_for(fault.seen):
                    chosen = fault
        return chosen

    def reset_counts(self) -> None:
        """Start counting again (POST /__sfdoctor/reset)."""
        with self._lock:
            for fault in self.faults:
                fault.seen = 0


# --------------------------------------------------------------------------- API styles

def api_kind(host: str, path: str) -> str:
    """Which API a request belongs to, so errors come in that API's own format.

    One of: "sim", "soap", "metadata", "oauth", "rest", "marketo", "mcloud", "other"."""
    hostname = host.split(":")[0].lower()
    if path.startswith("/__sfdoctor/"):
        return "sim"
    if hostname.endswith(".mktorest.com") or path.startswith(("/identity/", "/rest/", "/bulk/")):
        return "marketo"
    if hostname.endswith(".marketingcloudapis.com") or path.startswith(("/v2/token", "/v1/requestToken", "/Service.asmx")):
        return "mcloud"
    if path.startswith("/services/Soap/m/"):
        return "metadata"
    if path.startswith("/services/Soap/"):
        return "soap"
    if path.startswith("/services/oauth2/") or path.startswith("/id/"):
        return "oauth"
    if path.startswith(("/services/data", "/services/apexrest", "/services/async")):
        return "rest"
    return "other"


_REASON = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 429: "Too Many Requests",
    500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}

# errorCode/message pairs for injected REST statuses. Salesforce documents the statuses
# (REST API guide errorcodes.htm); the bodies for 5xx are [I]: a JSON list like every other
# REST error, with codes from the SOAP ExceptionCode list.
_REST_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("MALFORMED_QUERY", "Bad Request"),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("INSUFFICIENT_ACCESS", "insufficient access rights on object id"),
    404: ("NOT_FOUND", "The requested resource does not exist"),
    405: ("METHOD_NOT_ALLOWED", "HTTP Method 'X' not allowed. Allowed are GET,HEAD"),
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: {error_id}"),
    502: ("SERVER_UNAVAILABLE", "Server temporarily unavailable"),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable"),
    504: ("REQUEST_RUNNING_TOO_LONG", "Your request was running for too long, and has been stopped."),
}


def rest_errors(status: int, error_code: str, message: str,
                headers: dict[str, str] | None = None) -> SimResponse:
    """Salesforce REST error: a JSON *list* of {message, errorCode} (reference §3.1).
    simple-salesforce indexes `[0]['errorCode']` on 401, so a dict would break it."""
    return SimResponse.json([{"message": message, "errorCode": error_code}], status, headers)


def soap_fault(code: str, message: str, *, fault_type: str = "UnexpectedErrorFault",
               fault_ns: str = "urn:fault.partner.soap.sforce.com", status: int = 500) -> SimResponse:
    """A Salesforce SOAP fault, literal `sf:` prefix and `CODE: message` faultstring (§1.3).
    simple-salesforce finds `sf:exceptionCode` by its literal prefixed tag name."""
    msg = escape(message)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:sf="{fault_ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {msg}</faultstring>"
        f'<detail><sf:{fault_type} xsi:type="sf:{fault_type}">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{msg}</sf:exceptionMessage>"
        f"</sf:{fault_type}></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return SimResponse.xml(body, status)


def soap_client_fault(faultstring: str, status: int = 500) -> SimResponse:
    """A transport-level SOAP fault (`soapenv:Client`), as Salesforce sends for envelopes
    it cannot dispatch (reference §1.3, [S])."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode>"
        f"<faultstring>{escape(faultstring)}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return SimResponse.xml(body, status)


# Messages of Marketo's limit and availability codes (reference §6.2: the 606 text is the
# documented template filled with the documented limits; the others are the table's descriptions).
_MARKETO_CODE_TEXTS = {
    "604": "Request timed out",
    "606": "Max rate limit '100' exceeded with in '20' secs",
    "607": "Daily quota reached",
    "608": "API Temporarily Unavailable",
    "611": "System error",
    "615": "Concurrent access limit reached",
}


def _marketo_error(status: int, code: str, message: str) -> SimResponse:
    """Marketo's envelope: success false, errors list with the code as a *string* (§6.2)."""
    request_id = f"{uuid.uuid4().hex[:4]}#{uuid.uuid4().hex[:11]}"
    return SimResponse.json(
        {"requestId": request_id, "success": False, "errors": [{"code": code, "message": message}]}, status)


def mcloud_error(status: int, message: str, errorcode: int = 0) -> SimResponse:
    """Marketing Cloud REST error shape (§5.1)."""
    return SimResponse.json({
        "documentation": "https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/error-handling.htm",
        "errorcode": errorcode,
        "message": message,
    }, status)


def status_response(kind: str, status: int) -> SimResponse:
    """An injected `status:` in the style of the API `kind` (see `api_kind`)."""
    reason = _REASON.get(status, "Error")
    if kind in ("soap", "metadata"):
        code = "SERVER_UNAVAILABLE" if status >= 500 else "INVALID_OPERATION"
        return soap_fault(code, reason if status < 500 else "Server temporarily unavailable", status=status)
    if kind == "oauth":
        error = "server_error" if status >= 500 else "invalid_request"
        return SimResponse.json({"error": error, "error_description": reason.lower()}, status,
                                {"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"})
    if kind == "marketo":
        # Marketo's own "API Temporarily Unavailable" (608) or "System error" (611).
        code, msg = ("608", "API Temporarily Unavailable") if status in (502, 503, 504) else ("611", "System error")
        return _marketo_error(status, code, msg)
    if kind == "mcloud":
        return mcloud_error(status, reason)
    code, message = _REST_STATUS_ERRORS.get(status, ("UNKNOWN_EXCEPTION", reason))
    return rest_errors(status, code, message.format(error_id=_error_id()))


def _error_id() -> str:
    """An ErrorId in the shape Salesforce prints for unexpected errors (`NNN-NNN (-NNN)`) [I]."""
    n = uuid.uuid4().int
    return f"{n % 10**10}-{(n >> 40) % 10**6} ({-((n >> 80) % 10**10)})"


def error_response(kind: str, error: str) -> SimResponse:
    """An injected `error:` code with the status and body the real API uses for it."""
    code = error.strip().upper()
    if code == "REQUEST_LIMIT_EXCEEDED":
        if kind in ("soap", "metadata"):
            return soap_fault(code, "TotalRequests Limit exceeded.")
        if kind == "marketo":
            return _marketo_error(200, "607", "Daily quota reached")
        if kind == "mcloud":
            return mcloud_error(429, "Rate limit exceeded")  # [I]
        return rest_errors(403, code, "TotalRequests Limit exceeded.")  # §3.1 [V]
    if code == "INVALID_SESSION_ID":
        if kind in ("soap", "metadata"):
            return soap_fault(code, "Invalid Session ID found in SessionHeader: Illegal Session")
        return rest_errors(401, code, "Session expired or invalid", {"WWW-Authenticate": "Token"})
    if code == "SERVER_UNAVAILABLE":
        return status_response(kind, 503)
    if kind == "marketo" and code.isdigit():
        # A Marketo response-level code (`error: "606"`): Marketo's HTTP-200 envelope (§6.2).
        return _marketo_error(200, code, _MARKETO_CODE_TEXTS.get(code, "Error"))
    # Any other code: Salesforce's envelope with a 400 (REST) or a SOAP fault.
    if kind in ("soap", "metadata"):
        return soap_fault(code, code.replace("_", " ").lower())
    return rest_errors(400, code, code.replace("_", " ").lower())


def not_found_response(kind: str, method: str, path: str) -> SimResponse:
    """404 (or the API's equivalent) for a path no handler serves."""
    if kind in ("soap", "metadata"):
        # Axis-style transport fault Salesforce returns for unknown SOAP endpoints [I].
        return soap_client_fault(f"No service was found for path {path}", 404)
    if kind == "oauth":
        return SimResponse(404, b"Bad_OAuth_Token" if path.startswith("/id/") else b"Not Found",
                           {"Content-Type": "text/plain;charset=UTF-8"})
    if kind == "marketo":
        return _marketo_error(200, "610", "Requested resource not found")
    if kind == "mcloud":
        return mcloud_error(404, "Not Found")
    if kind == "sim":
        return SimResponse.json({"error": "not_found", "path": path}, 404)
    return rest_errors(404, "NOT_FOUND", "The requested resource does not exist")


def dumps(data: Any) -> bytes:
    """JSON bytes the way the simulator-only endpoints send them (readable, stable)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")
