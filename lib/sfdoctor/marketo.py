"""A small read-only Marketo Engage REST client: identity token, GET calls, Marketo's limits.

The marketo-sync-setup runbook asks Marketo two things: are its own API credentials
accepted (identity, then a REST call), and did recent Salesforce leads arrive (a lead
lookup by email). This client does just that, through sfdoctor's routed, read-only,
counting session (clients.py routes `*.mktorest.com` to the simulator for demo orgs).

* Credentials: for demo orgs from the simulator's info (the operator may play a stale
  `marketo_client_secret`); for real orgs from the orgs file's `[orgs.NAME.marketo]` table
  (`munchkin_id`, `client_id` or `client_id_env`, `client_secret_env` or
  `client_secret_keyring`). The secret is added to the connection's scrub list and never
  travels in a URL: the identity call is a POST with a form body, so it cannot show up in
  an exception message, a proxy log or a report.
* Limits (Adobe "Marketo REST API limits"): 100 calls per 20 seconds and 10 concurrent
  calls per instance. `RateLimiter` enforces both, one per Munchkin ID in the process.
  Why our own ~20 lines and not pyrate-limiter (evaluated: 4.5.1, the current release):
  its sliding window (InMemoryBucket + SlidingWindowLog) takes no clock argument, only a
  private class attribute `_clock`; the buckets that do take `clock=` (StateBucket) run
  GCRA, token-bucket or fixed-window algorithms, and a fixed or token window lets up to
  200 calls into 20 rolling seconds, which Marketo answers with 606. Its blocking wait
  sleeps with `time.sleep` imported into `pyrate_limiter.limiter` and times its deadline
  with `time.monotonic()`, so a test can step time only by patching the library's
  internals (our tests step an injected clock and sleep, never the wall clock); and each
  limiter starts a background "Leaker" thread. Non-blocking `try_acquire` plus our own
  wait would keep our loop anyway. A threading.BoundedSemaphore would fit for the
  concurrency bound, as it does here.
* Every request is counted here too (`calls`, `by_endpoint`): the report states Marketo's
  cost apart from Salesforce's (the two have separate daily allowances).
* Marketo answers errors as HTTP 200 with `{"success": false, "errors": [{"code": "601", ...}]}`:
  those become `MarketoApiError(code, message)`; a refused identity call (HTTP 401) becomes
  `MarketoIdentityError(status, error, description)`.
"""
from __future__ import annotations

import threading
import time
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, TYPE_CHECKING

if TYPE_CHECKING:
    from .clients import Connection

MAX_CALLS = 100            # per PERIOD seconds, per instance
PERIOD = 20.0
MAX_CONCURRENT = 10
TOKEN_MARGIN = 60          # renew a token this many seconds before it expires
MAX_FILTER_VALUES = 300    # leads.json filterValues per call

# Marketo's response-level error codes and what they mean (reference §6.2); the runbook's
# findings carry the bilingual wording from its spec, these are for exception messages.
CODE_MEANINGS = {
    "600": "Empty access token",
    "601": "Access token invalid",
    "602": "Access token expired",
    "603": "Access denied: the API user's role lacks the permission, or IP restrictions block this address",
    "604": "Request timed out",
    "605": "HTTP method not supported",
    "606": "Rate limit exceeded (100 calls per 20 seconds)",
    "607": "Daily quota reached",
    "608": "API temporarily unavailable",
    "609": "Invalid JSON",
    "610": "Requested resource not found",
    "611": "System error",
    "612": "Invalid content type",
    "613": "Invalid multipart request",
    "614": "Invalid subscription",
    "615": "Concurrent access limit reached",
}


class MarketoError(Exception):
    """Base class: anything Marketo refused."""


class MarketoIdentityError(MarketoError):
    """The identity endpoint refused the client id / secret (HTTP 401, Spring-OAuth body)."""

    def __init__(self, status: int, error: str, description: str):
        self.status, self.error, self.description = status, error, description
        super().__init__(f"Marketo identity answered HTTP {status}: {error}: {description}")


class MarketoApiError(MarketoError):
    """A REST call answered `success: false` with a Marketo error code (quoted string)."""

    def __init__(self, code: str, message: str, path: str = ""):
        self.code, self.message, self.path = str(code), message, path
        meaning = CODE_MEANINGS.get(self.code, "")
        super().__init__(f"Marketo {path or 'REST'} answered {self.code} {message}"
                         + (f" ({meaning})" if meaning and meaning.lower() != message.lower() else ""))


@dataclass(frozen=True, repr=False, eq=False)
class MarketoCredentials:
    """One Marketo instance and the LaunchPoint custom service sfdoctor reads it with."""

    munchkin_id: str
    client_id: str
    client_secret: str
    endpoint: str = ""     # REST API endpoint host when it is not {munchkin}.mktorest.com

    @property
    def host(self) -> str:
        return self.endpoint or f"{self.munchkin_id}.mktorest.com"

    def __repr__(self) -> str:
        return f"MarketoCredentials(munchkin_id={self.munchkin_id!r}, client_id={self.client_id!r}, client_secret=<hidden>)"

    __str__ = __repr__


def credentials_for(conn: "Connection") -> MarketoCredentials:
    """The Marketo instance and API credentials of the org `conn` talks to.

    Demo: the simulator's info (`marketo` section), with the operator's answers
    `marketo_client_id` / `marketo_client_secret` first (a mistaken operator or a stale
    secret). Real org: `[orgs.NAME.marketo]` references, never literal secrets.
    Raises OrgConfigError naming what is missing. The secret joins `conn.secrets`.
    """
    from sfdoctor.errors import OrgConfigError
    from sfdoctor.i18n import Text

    org_ref = getattr(conn, "org_ref", None)
    if org_ref is None or getattr(org_ref, "is_demo", True):
        demo = getattr(getattr(conn, "info", None), "marketo", None)
        operator: Mapping[str, Any] = getattr(conn, "operator", None) or {}
        munchkin = demo.munchkin_id if demo is not None else ""
        client_id = str(operator.get("marketo_client_id") or (demo.client_id if demo is not None else ""))
        secret = str(operator.get("marketo_client_secret") or (demo.client_secret if demo is not None else ""))
        if not (munchkin and client_id and secret):
            raise OrgConfigError(Text("orgs.secret.demo_no_marketo"), hint=Text("orgs.secret.demo_no_marketo_hint"))
        creds = MarketoCredentials(munchkin, client_id, secret)
    else:
        from sfdoctor.credentials import read_ref

        table = org_ref.config.get("marketo") or {}
        where = f"orgs.{org_ref.name}.marketo"
        if not table.get("munchkin_id"):
            raise OrgConfigError(Text("orgs.config.marketo_no_munchkin", org=org_ref.name, where=where),
                                 hint=Text("orgs.config.marketo_no_munchkin_hint"))
        creds = MarketoCredentials(str(table["munchkin_id"]),
                                   read_ref(table, "client_id", where=where) or "",
                                   read_ref(table, "client_secret", where=where) or "",
                                   str(table.get("endpoint") or ""))
    secrets = getattr(conn, "secrets", None)
    if isinstance(secrets, set):
        secrets.add(creds.client_secret)
    return creds


# --------------------------------------------------------------------------- limits

class RateLimiter:
    """At most `calls` calls in any `period` seconds (a sliding window) and `concurrent` at once.

    Marketo counts calls per instance over a rolling 20 s window; a token bucket would
    let a burst of 100 follow a full window, which Marketo answers with 606. `clock` and
    `sleep` are injectable so tests step time instead of waiting for it.
    """

    def __init__(self, calls: int = MAX_CALLS, period: float = PERIOD, concurrent: int = MAX_CONCURRENT, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if calls < 1 or period <= 0 or concurrent < 1:
            raise ValueError("calls, period and concurrent must be positive")
        self.calls, self.period = calls, period
        self._clock, self._sleep = clock, sleep
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrent)
        self.waited = 0.0            # total seconds spent waiting for the window (for tests, reports)

    def _reserve(self) -> float:
        """Take a place in the window now, or say how long to wait for one."""
        with self._lock:
            now = self._clock()
            while self._stamps and now - self._stamps[0] >= self.period:
                self._stamps.popleft()
            if len(self._stamps) < self.calls:
                self._stamps.append(now)
                return 0.0
            return self.period - (now - self._stamps[0])

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the concurrent slots and one place in the window for a call."""
        with self._slots:
            while (wait := self._reserve()) > 0:
                self.waited += wait
                self._sleep(wait)
            yield


_LIMITERS: dict[str, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(munchkin_id: str) -> RateLimiter:
    """The process-wide limiter of one Marketo instance (its limits are per instance)."""
    with _LIMITERS_LOCK:
        return _LIMITERS.setdefault(munchkin_id.upper(), RateLimiter())


# --------------------------------------------------------------------------- the client

class MarketoClient:
    """Identity token and read-only REST GETs against one instance, limited and counted."""

    def __init__(self, session: Any, creds: MarketoCredentials, *, limiter: RateLimiter | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.session = session
        self.creds = creds
        self.limiter = limiter or limiter_for(creds.munchkin_id)
        self._clock = clock
        self._token: str | None = None
        self._token_until = 0.0
        self.scope: str | None = None          # the API-only user owning the custom service
        self.calls = 0
        self.by_endpoint: Counter[str] = Counter()
        self._count_lock = threading.Lock()

    @classmethod
    def for_connection(cls, conn: "Connection", creds: MarketoCredentials | None = None) -> "MarketoClient":
        """A client for the org `conn` talks to, on a session of its own made by clients.py:
        routed (demo) and read-only guarded like the org's, but with its own counter, so a
        run's Salesforce API calls and login attempts are not mixed with Marketo's."""
        from sfdoctor.clients import CallCounter, make_session

        session = make_session(route_to=getattr(conn, "base_url", None), counter=CallCounter())
        return cls(session, creds or credentials_for(conn))

    def __repr__(self) -> str:
        return f"MarketoClient({self.creds.munchkin_id}, calls={self.calls})"

    def _send(self, method: str, path: str, **kw: Any) -> Any:
        import requests

        url = f"https://{self.creds.host}{path}"
        with self.limiter.slot():
            with self._count_lock:
                self.calls += 1
                self.by_endpoint[f"{method} {path}"] += 1
            try:
                return self.session.request(method, url, **kw)
            except requests.RequestException as exc:
                # Re-raised without the request (its body holds the secret on identity calls).
                raise MarketoError(f"Marketo {path} could not be reached: {type(exc).__name__}") from None

    def token(self) -> str:
        """An access token from the identity endpoint, reused until shortly before it expires."""
        if self._token and self._clock() < self._token_until:
            return self._token
        response = self._send("POST", "/identity/oauth/token", data={
            "grant_type": "client_credentials", "client_id": self.creds.client_id,
            "client_secret": self.creds.client_secret})
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            if response.status_code >= 500:
                raise MarketoError(f"Marketo identity answered HTTP {response.status_code}")
            body = body if isinstance(body, dict) else {}
            raise MarketoIdentityError(response.status_code, str(body.get("error") or ""),
                                       " ".join(str(body.get("error_description") or response.reason or "").split())[:200])
        self._token = str(body["access_token"])
        self.scope = body.get("scope")
        lifetime = float(body.get("expires_in") or 0)
        self._token_until = self._clock() + max(0.0, lifetime - TOKEN_MARGIN)
        return self._token

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One GET under /rest; the whole envelope when `success` is true, else MarketoApiError.

        An expired token (602) is renewed once; every other code is the caller's to read.
        """
        for attempt in (1, 2):
            response = self._send("GET", path, params=dict(params or {}),
                                  headers={"Authorization": f"Bearer {self.token()}"})
            body = _json(response)
            if response.status_code >= 500 or not isinstance(body, dict):
                raise MarketoError(f"Marketo {path} answered HTTP {response.status_code}")
            if body.get("success"):
                return body
            errors = body.get("errors") or [{}]
            code, message = str(errors[0].get("code") or ""), str(errors[0].get("message") or "")
            if code == "602" and attempt == 1:
                self._token = None
                continue
            raise MarketoApiError(code, message, path)
        raise AssertionError("unreachable")  # pragma: no cover

    def leads_by_email(self, emails: list[str], fields: tuple[str, ...] = ("id", "email", "sfdcLeadId",
                                                                           "sfdcContactId", "createdAt")
                       ) -> list[dict[str, Any]]:
        """Marketo's leads with any of these emails (one call per 300 addresses).

        `filterType=email`, at most 300 `filterValues`, and the lead fields `sfdcLeadId` /
        `sfdcContactId` (set by the Salesforce sync): S (several independent public clients
        use exactly these names). Whether Marketo's email filter ignores case: I, so the
        caller compares the answers case-insensitively itself.
        """
        out: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(e.strip() for e in emails if e and e.strip()))
        for start in range(0, len(unique), MAX_FILTER_VALUES):
            chunk = unique[start: start + MAX_FILTER_VALUES]
            body = self.get("/rest/v1/leads.json", {"filterType": "email", "filterValues": ",".join(chunk),
                                                    "fields": ",".join(fields)})
            out.extend(body.get("result") or [])
        return out

    def stats(self) -> dict[str, Any]:
        """Calls made, for the report (JSON-native)."""
        with self._count_lock:
            return {"total": self.calls, "by_endpoint": dict(self.by_endpoint)}


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


__all__ = ["CODE_MEANINGS", "MarketoApiError", "MarketoClient", "MarketoCredentials", "MarketoError",
           "MarketoIdentityError", "RateLimiter", "credentials_for", "limiter_for"]
