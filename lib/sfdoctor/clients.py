"""The HTTP session every client uses, and sfdoctor's own connection to an org.

One `requests.Session` carries four cross-cutting duties, all in one transport adapter so
nothing (simple-salesforce, zeep, our own calls) can go around them:

* routing (principle 5): for demo orgs, requests meant for `*.salesforce.com`, `*.force.com`,
  `*.mktorest.com`, `*.marketingcloudapis.com` go to the local simulator over plain HTTP with
  their original `Host` header and path; simple-salesforce itself stays unmodified;
* the read-only guard (principle 3): anything that is not a read or a login raises
  `ReadOnlyViolation` *before* a byte is sent;
* default timeouts, and retries of reads on 502/503/504 and dropped connections (never of a
  login: a repeated failed login counts twice against the user's lockout threshold);
* counting every request actually sent (principle 8: the report states the API cost).
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping
from urllib.parse import parse_qs, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from sfdoctor.demo.info import PATH as INFO_PATH
from sfdoctor.demo.info import DemoInfo, InfoFormatError
from sfdoctor import demo_operator
from sfdoctor.errors import BadInput, Inconclusive, OrgConfigError, ReadOnlyViolation, Said
from sfdoctor.i18n import Text
from sfdoctor.orgs import OrgRef, has_salesforce, login_host_of, resolve

DEFAULT_TIMEOUT: tuple[float, float] = (5, 30)
API_VERSION = "59.0"
ROUTED_SUFFIXES = (".salesforce.com", ".force.com", ".mktorest.com", ".marketingcloudapis.com")
RETRY_STATUSES = frozenset({502, 503, 504})
MAX_TRIES = 3
SIMULATOR_PREFIX = "/__sfdoctor/"
# Simulator-only stand-ins for logins no real API offers (demo/mcloud.py: logging in to
# Marketing Cloud *as a user*, which Data Cloud does internally). Logins: never retried.
SIMULATOR_LOGINS = frozenset({"/__sfdoctor/mc/user-login"})

# Request kinds the guard lets through.
READ = "read"
LOGIN = "login"

_SOAP_PARTNER = re.compile(r"^/services/Soap/[uc]/\d+\.\d+(/[^/]*)?/?$")
_SOAP_METADATA = re.compile(r"^/services/Soap/m/\d+\.\d+(/[^/]*)?/?$")
_COMPOSITE = re.compile(r"^/services/data/v\d+\.\d+/composite/?$")
_COMPOSITE_BATCH = re.compile(r"^/services/data/v\d+\.\d+/composite/batch/?$")
_PARTNER_READ_OPS = frozenset({
    "query", "queryAll", "queryMore", "retrieve", "describeSObject", "describeSObjects",
    "describeGlobal", "getUserInfo", "getServerTimestamp", "describeLayout",
})
_METADATA_READ_OPS = frozenset({"readMetadata", "listMetadata", "describeMetadata"})
_MC_READ_OPS = frozenset({"RetrieveRequestMsg", "Retrieve"})


# --------------------------------------------------------------------------- counting

class CallCounter:
    """Requests actually sent, in total and per normalized endpoint (`GET /services/data/vXX/query`).

    Retries count (each one costs the customer an API call); the simulator-only
    `/__sfdoctor/*` endpoints do not. `logins` counts every login request (sfdoctor's own
    token requests too); `probe_logins` only the logins tried with the credentials under
    diagnosis (sent through a probe session, the simulator's stand-in logins included), which
    the report states as "login attempts" (principle 7). Thread-safe: checks may run concurrently.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.logins = 0
        self.probe_logins = 0
        self.by_endpoint: Counter[str] = Counter()

    def add(self, method: str, path: str, *, login: bool = False) -> None:
        key = f"{method.upper()} {normalize_path(path)}"
        with self._lock:
            self.total += 1
            self.by_endpoint[key] += 1
            if login:
                self.logins += 1

    def add_probe_login(self) -> None:
        """One login tried with the credentials under diagnosis (counted whatever the endpoint)."""
        with self._lock:
            self.probe_logins += 1

    def snapshot(self) -> dict[str, Any]:
        """A JSON-native copy for reports."""
        with self._lock:
            return {"total": self.total, "logins": self.logins, "probe_logins": self.probe_logins,
                    "by_endpoint": dict(self.by_endpoint)}

    def __repr__(self) -> str:
        return f"CallCounter(total={self.total}, logins={self.logins})"


_ID = re.compile(r"^[a-zA-Z0-9]{3}[a-zA-Z0-9]{12}([a-zA-Z0-9]{3})?$")


def normalize_path(path: str) -> str:
    """Group paths by endpoint: API versions → `vXX`/`XX`, record ids → `{id}`, no trailing slash."""
    path = urlsplit(path).path or "/"
    path = re.sub(r"/v\d+\.\d+(?=/|$)", "/vXX", path)
    path = re.sub(r"(/services/Soap/[a-z])/\d+\.\d+(/[^/]+)?", r"\1/XX", path)
    parts = [("{id}" if _ID.match(p) and any(c.isdigit() for c in p) else p) for p in path.split("/")]
    path = "/".join(parts)
    return path.rstrip("/") or "/"


# --------------------------------------------------------------------------- the guard

def _soap_operation(body: bytes | str | None) -> str | None:
    """The local name of the first element in the SOAP Body: the operation actually called."""
    if body is None:
        return None
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, (bytes, bytearray)):
        return None  # a stream: cannot be inspected, so it is not known to be a read
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    for child in root:
        if child.tag.rsplit("}", 1)[-1] == "Body":
            for op in child:
                return op.tag.rsplit("}", 1)[-1]
    return None


def _json_body(body: bytes | str | None) -> Any:
    if body is None:
        return None
    try:
        return json.loads(body)
    except (ValueError, TypeError):
        return None


def classify(method: str, url: str, body: bytes | str | None) -> str | None:
    """`"read"`, `"login"`, or None (would change the org, or cannot be shown to be a read)."""
    method = method.upper()
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path or "/"
    if path.startswith(SIMULATOR_PREFIX):
        if method == "POST" and path.rstrip("/") in SIMULATOR_LOGINS:
            return LOGIN
        return READ if method in ("GET", "HEAD") else None
    # Marketo identity is a login whatever the verb (its docs use GET): never retried.
    if path.rstrip("/").endswith("/identity/oauth/token") and method in ("GET", "POST"):
        return LOGIN
    if method in ("GET", "HEAD"):
        return READ
    if method != "POST":
        return None
    if path.rstrip("/") == "/services/oauth2/token":
        return LOGIN
    if path.rstrip("/") in ("/v2/token", "/v1/requestToken"):
        return LOGIN  # Marketing Cloud's token endpoints ({subdomain}.auth.marketingcloudapis.com)
    if _SOAP_PARTNER.match(path):
        op = _soap_operation(body)
        if op == "login":
            return LOGIN
        return READ if op in _PARTNER_READ_OPS else None
    if _SOAP_METADATA.match(path):
        return READ if _soap_operation(body) in _METADATA_READ_OPS else None
    if path.rstrip("/").lower() == "/service.asmx":
        return READ if _soap_operation(body) in _MC_READ_OPS else None
    if _COMPOSITE.match(path):
        data = _json_body(body)
        subs = data.get("compositeRequest") if isinstance(data, dict) else None
        return READ if _all_get(subs) else None
    if _COMPOSITE_BATCH.match(path):
        data = _json_body(body)
        subs = data.get("batchRequests") if isinstance(data, dict) else None
        return READ if _all_get(subs) else None
    if host.endswith(".mktorest.com") and parse_qs(parts.query).get("_method") == ["GET"]:
        return READ  # Marketo's documented "GET with a body" for long filter lists
    return None


def _all_get(subrequests: Any) -> bool:
    return (isinstance(subrequests, list) and bool(subrequests)
            and all(isinstance(s, dict) and str(s.get("method", "")).upper() == "GET" for s in subrequests))


def _is_routed_host(host: str) -> bool:
    host = host.lower()
    return any(host.endswith(suffix) for suffix in ROUTED_SUFFIXES)


# --------------------------------------------------------------------------- the adapter

class SfdoctorAdapter(HTTPAdapter):
    """Routing, guard, timeouts, retries and counting, in `send` where every request passes."""

    def __init__(self, *, route_to: str | None, counter: CallCounter, guard: bool = True,
                 retries: bool = True, timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
                 backoff: float = 0.5, probe: bool = False) -> None:
        super().__init__(max_retries=0)
        self.route_to = route_to.rstrip("/") if route_to else None
        self.counter = counter
        self.guard = guard
        self.retries = retries
        self.probe = probe   # its logins are attempts with the credentials under diagnosis
        self.timeout = timeout
        self.backoff = backoff

    def _route(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """A copy aimed at the simulator, keeping the Host the client meant."""
        parts = urlsplit(request.url)
        if not self.route_to or parts.scheme != "https" or not _is_routed_host(parts.hostname or ""):
            return request
        base = urlsplit(self.route_to)
        routed = request.copy()
        routed.url = urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))
        routed.headers["Host"] = parts.netloc
        return routed

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        parts = urlsplit(request.url)
        path = parts.path or "/"
        kind = classify(request.method or "GET", request.url, request.body)
        if kind is None and self.guard:
            raise ReadOnlyViolation(
                f"refused {request.method} {parts.hostname}{path}: sfdoctor only reads and logs in",
                hint="a fix is for the admin to apply; sfdoctor never changes an org",
            )
        if timeout is None:
            timeout = self.timeout
        outgoing = self._route(request)
        counted = not path.startswith(SIMULATOR_PREFIX)
        tries = MAX_TRIES if (self.retries and kind == READ) else 1
        for attempt in range(1, tries + 1):
            if counted:
                self.counter.add(request.method or "GET", path, login=(kind == LOGIN))
            if self.probe and kind == LOGIN:
                self.counter.add_probe_login()
            try:
                response = super().send(outgoing, stream=stream, timeout=timeout, verify=verify,
                                        cert=cert, proxies=proxies)
            except requests.exceptions.ConnectionError as exc:
                # Dropped/reset connections are retried; a timeout is not (it would only
                # multiply the wait) and ends up as an `error` finding.
                if attempt >= tries or isinstance(exc, requests.exceptions.Timeout):
                    raise
                self._sleep(attempt)
                continue
            if response.status_code in RETRY_STATUSES and attempt < tries:
                response.close()
                self._sleep(attempt)
                continue
            if outgoing is not request:
                response.request = request
                response.url = request.url
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _sleep(self, attempt: int) -> None:
        time.sleep(self.backoff * (2 ** (attempt - 1)))


class SfdoctorSession(requests.Session):
    """A requests.Session whose adapter routes, guards, retries and counts (see module doc)."""

    counter: CallCounter
    route_to: str | None


def make_session(*, route_to: str | None, counter: CallCounter | None = None, guard: bool = True,
                 retries: bool = True, timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
                 backoff: float = 0.5, probe: bool = False) -> SfdoctorSession:
    """A session for one org. `route_to` is the simulator's base URL for demo orgs, else None.

    The adapter is mounted for both schemes: https for the real (or re-routed) hosts, http for
    the simulator reached directly, so the guard and counter apply there too.
    """
    session = SfdoctorSession()
    session.counter = counter if counter is not None else CallCounter()
    session.route_to = route_to
    adapter = SfdoctorAdapter(route_to=route_to, counter=session.counter, guard=guard,
                              retries=retries, timeout=timeout, backoff=backoff, probe=probe)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "sfdoctor (read-only diagnostics)"
    return session


# --------------------------------------------------------------------------- connections

class OwnLoginRefused(OrgConfigError):
    """The org refused sfdoctor's own API login (`code`: Salesforce's error, e.g. invalid_grant).

    Still an OrgConfigError (exit 2 when nothing else can be done), but typed, so a runbook
    whose own probes can tell *why* (an edition without API access refuses every API login)
    can go on with `probe_only(...)` instead of matching words in an error text.
    """

    def __init__(self, message: Said, *, code: str | int | None = None, hint: Said | None = None):
        super().__init__(message, hint=hint)
        self.code = code
        self.counter: CallCounter | None = None  # set by connect(): what the attempt spent


@dataclass
class Connection:
    """Everything a check needs to talk to one org (docs/architecture.md, clients.py).

    `sf` is sfdoctor's own OAuth connection (never SOAP login: that is what runbooks probe);
    `session` routes/guards/retries/counts; `probe_session` is the same without retries, for
    login probes; `secrets` are the values every artifact is scrubbed of.
    """

    org_ref: OrgRef
    sf: Any
    session: SfdoctorSession
    probe_session: SfdoctorSession
    counter: CallCounter
    login_host: str
    my_domain_host: str | None
    is_sandbox: bool
    operator: dict[str, Any] = field(default_factory=dict)
    info: DemoInfo | None = None   # the simulator's info document (demo orgs only)
    secrets: set[str] = field(default_factory=set, repr=False)
    base_url: str | None = None    # the simulator's URL (demo orgs)
    api_version: str = API_VERSION
    # When connect() began, before sfdoctor's own login: a LoginHistory window ending here
    # never counts that login, whichever second the login fell in.
    opened_at: datetime | None = None

    @property
    def marketo_session(self) -> SfdoctorSession:
        return self.session

    @property
    def mc_session(self) -> SfdoctorSession:
        return self.session

    @property
    def instance(self) -> str:
        """The REST host sfdoctor's own connection uses (e.g. `acme.my.salesforce.com`)."""
        return self.sf.sf_instance

    def stats(self) -> dict[str, Any]:
        """API calls made so far through this connection (for the report)."""
        return self.counter.snapshot()


def _domain_arg(host: str) -> str:
    """simple-salesforce's `domain=`: the host without `.salesforce.com` (`acme.my`)."""
    host = host.lower().rstrip(".")
    if not host.endswith(".salesforce.com"):
        raise OrgConfigError(Text("clients.not_salesforce_host", host=host), hint=Text("clients.not_salesforce_host_hint"))
    return host[: -len(".salesforce.com")]


def demo_info(session: requests.Session, base_url: str) -> DemoInfo:
    """The demo simulator's info document (demo/info.py), read and checked: the one reader.

    Not an API call of the org: `/__sfdoctor/` paths are never counted."""
    try:
        resp = session.get(f"{base_url}{INFO_PATH}", timeout=10)
        resp.raise_for_status()
        document = resp.json()
    except (requests.RequestException, ValueError) as exc:
        raise Inconclusive(Text("clients.demo_silent", url=base_url, path=INFO_PATH, error=type(exc).__name__),
                           hint=Text("clients.demo_silent_hint")) from None
    try:
        return DemoInfo.from_json(document)
    except InfoFormatError as exc:
        raise Inconclusive(Text("demo.info_unreadable", url=base_url, problem=str(exc)),
                           hint=Text("demo.info_unreadable_hint")) from None


def connect(org: OrgRef | str, *, runbook: Any = None, timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
            backoff: float = 0.5) -> Connection:
    """Open sfdoctor's own connection to `org` (an OrgRef, or an `--org` string to resolve).

    Errors: `OrgConfigError` when the org's own login is refused (its configuration is wrong:
    exit 2), `Inconclusive` when the org could not be reached (exit 3). One line, no secret.
    """
    org_ref = org if isinstance(org, OrgRef) else resolve(org, runbook=runbook)
    if org_ref.is_demo and org_ref.scenario_ref is None and runbook is not None:
        org_ref = resolve(org_ref.name, runbook=runbook)
    counter = CallCounter()
    opened_at = datetime.now(timezone.utc)
    try:
        if org_ref.is_demo:
            conn = _connect_demo(org_ref, counter, timeout, backoff, runbook)
        elif not has_salesforce(org_ref.config):
            # Only Marketing Cloud (or Marketo) configured: no Salesforce org to sign in to.
            conn = probe_only(org_ref, timeout=timeout, backoff=backoff, counter=counter)
        else:
            conn = _connect_real(org_ref, counter, timeout, backoff)
    except OwnLoginRefused as exc:
        exc.counter = counter  # the refused request cost an API call too: probe_only goes on counting
        raise
    conn.opened_at = opened_at
    return conn


def _sessions(route_to: str | None, counter: CallCounter, timeout: Any, backoff: float
              ) -> tuple[SfdoctorSession, SfdoctorSession]:
    session = make_session(route_to=route_to, counter=counter, timeout=timeout, backoff=backoff)
    probe = make_session(route_to=route_to, counter=counter, retries=False, timeout=timeout, probe=True)
    return session, probe


@contextmanager
def demo_package_errors() -> Iterator[None]:
    """sfdoctor's door to its demo package, which imports nothing of sfdoctor: inside it a
    bad scenario becomes BadInput (exit 2), and a package the `sfdoctor[demo]` extra brings
    (tornado, lark) that is missing becomes one line saying how to add it."""
    try:
        from sfdoctor.demo.scenario import ScenarioError
    except ModuleNotFoundError as exc:
        raise BadInput(Text("demo.extra_missing", package=exc.name), hint=Text("demo.extra_hint")) from None
    try:
        yield
    except ModuleNotFoundError as exc:
        if (exc.name or "sfdoctor").startswith("sfdoctor"):
            raise
        raise BadInput(Text("demo.extra_missing", package=exc.name), hint=Text("demo.extra_hint")) from None
    except ScenarioError as exc:
        raise BadInput(exc.one_line()) from None


def ensure_demo_simulator(scenario_ref: str | None) -> str:
    """The demo simulator's base URL (demo/runtime.py: `$SFDOCTOR_DEMO_URL` or one started here)."""
    with demo_package_errors():
        from sfdoctor.demo.runtime import ensure_simulator

        return ensure_simulator(scenario_ref).rstrip("/")


def _connect_demo(org_ref: OrgRef, counter: CallCounter, timeout: Any, backoff: float, runbook: Any = None) -> Connection:
    base_url = ensure_demo_simulator(org_ref.scenario_ref)
    session, probe = _sessions(base_url, counter, timeout, backoff)
    info = demo_info(session, base_url)
    client_id, client_secret, my_domain = info.oauth.client_id, info.oauth.client_secret, info.my_domain_host
    secrets = {client_secret}
    for section in (info.marketo, info.marketing_cloud):
        if section is not None:
            secrets.add(section.client_secret)
    sf = _login(org_ref, secrets, lambda: _sf_client_credentials(client_id, client_secret, my_domain, session))
    secrets.add(sf.session_id)
    operator = demo_operator.answers(info, runbook.id if runbook is not None else None)
    for key in ("probe_password", "probe_token"):
        if operator.get(key):
            secrets.add(str(operator[key]))
    if operator.get("probe_password") and operator.get("probe_token"):
        secrets.add(str(operator["probe_password"]) + str(operator["probe_token"]))
    return Connection(
        org_ref=org_ref, sf=sf, session=session, probe_session=probe, counter=counter,
        login_host=info.login_host, my_domain_host=my_domain, is_sandbox=info.sandbox,
        operator=operator, info=info, secrets={s for s in secrets if s}, base_url=base_url,
    )


def probe_only(org: OrgRef, *, timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
               backoff: float = 0.5, counter: CallCounter | None = None, runbook: Any = None) -> Connection:
    """A Connection without sfdoctor's own sign-in (`sf` is None), for when the org refuses it
    (`OwnLoginRefused`): the same routed, guarded, counting sessions, so login probes of the
    credentials under diagnosis and other services' APIs (Marketo) still work and are counted.
    `counter`: the refusal's own (`OwnLoginRefused.counter`), so the refused request is counted;
    `runbook`: the spec whose demo operator answers (as for `connect`)."""
    counter = counter if counter is not None else CallCounter()
    info: DemoInfo | None = None
    base_url = None
    if org.is_demo:
        base_url = ensure_demo_simulator(org.scenario_ref)
        session, probe = _sessions(base_url, counter, timeout, backoff)
        info = demo_info(session, base_url)
        login_host = info.login_host
    else:
        session, probe = _sessions(None, counter, timeout, backoff)
        login_host = login_host_of(org)
    from sfdoctor.scrub import known_secrets  # noqa: PLC0415 (scrub reads the scenario and orgs file)

    secrets = set(known_secrets(org))
    operator = demo_operator.answers(info, runbook.id if runbook is not None else None) if info is not None else {}
    for key in ("probe_password", "probe_token"):
        if operator.get(key):
            secrets.add(str(operator[key]))
    return Connection(
        org_ref=org, sf=None, session=session, probe_session=probe, counter=counter, login_host=login_host,
        my_domain_host=info.my_domain_host if info is not None else org.config.get("my_domain"),
        is_sandbox=info.sandbox if info is not None else bool(org.config.get("sandbox", False)),
        operator=operator, info=info, secrets={s for s in secrets if s}, base_url=base_url)


def _sf_client_credentials(client_id: str, client_secret: str, my_domain: str, session: requests.Session) -> Any:
    from simple_salesforce import Salesforce

    return Salesforce(consumer_key=client_id, consumer_secret=client_secret,
                      domain=_domain_arg(my_domain), session=session, version=API_VERSION)


def _login(org_ref: OrgRef, secrets: set[str], do_login: Any, *, host: str | None = None,
           hint: Text | None = None) -> Any:
    """Run a login and turn its failures into one-line errors without any secret in them.

    A refused login is `OwnLoginRefused` (exit 2: the configuration is wrong); a host that
    cannot be reached is `Inconclusive` (exit 3), unless `host` is a My Domain that does not
    exist while Salesforce's generic login host answers: then the orgs file names it wrongly.
    """
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed

    try:
        return do_login()
    except SalesforceAuthenticationFailed as exc:
        # `auth_message` is Salesforce's text; `message` is simple-salesforce's class-level template.
        code, message = exc.code, str(getattr(exc, "auth_message", None) or "")
        for secret in secrets:
            if secret and len(secret) >= 4:
                message = message.replace(secret, "[redacted]")
        message = " ".join(message.split())[:200]
        if isinstance(code, int) and code >= 500:
            raise Inconclusive(Text("clients.login_unavailable", org=org_ref.name, status=code),
                               hint=Text("clients.try_later")) from None
        raise OwnLoginRefused(Text("clients.own_login_refused", org=org_ref.name, code=code, message=message),
                              code=code, hint=hint or _refusal_hint(org_ref, code, message)) from None
    except requests.exceptions.RequestException as exc:
        if host and _host_missing_while_salesforce_answers(host):
            key = "my_domain" if host == org_ref.config.get("my_domain") else "auth host"
            raise OrgConfigError(Text("clients.host_missing", org=org_ref.name, host=host),
                                 hint=_host_hint(key, org_ref)) from None
        raise Inconclusive(Text("clients.unreachable", org=org_ref.name, host=host or Text("clients.the_login_endpoint"),
                                error=type(exc).__name__),
                           hint=Text("clients.unreachable_login_hint")) from None


def _host_hint(key: str, org_ref: OrgRef) -> Text:
    """How to fix a host the orgs file names wrongly."""
    if key == "my_domain":
        return Text("clients.host_missing_my_domain", org=org_ref.name)
    return Text("clients.host_missing_auth_url")


def _refusal_hint(org_ref: OrgRef, code: Any, message: str) -> Text:
    """What to change for Salesforce's own refusal codes (token endpoint errors)."""
    cfg = org_ref.config
    text = f"{code} {message}".lower()
    if "invalid_client_id" in text or "client identifier invalid" in text:
        return Text("clients.refusal.client_id", ref=cfg.get("client_id_env") or "client_id")
    if "invalid_client" in text or "invalid client credentials" in text:
        return Text("clients.refusal.client_secret", ref=cfg.get("client_secret_env") or cfg.get("client_secret_keyring"))
    if "not supported on this domain" in text:
        return Text("clients.refusal.my_domain", org=org_ref.name)
    if "no client credentials user enabled" in text or "client credentials" in text:
        return Text("clients.refusal.run_as")
    if "audience" in text:
        return Text("clients.refusal.sandbox", org=org_ref.name)
    if "hasn't approved" in text or "user hasn" in text:
        return Text("clients.refusal.pre_authorize")
    return Text("clients.refusal.other")


def _host_missing_while_salesforce_answers(host: str) -> bool:
    """True when `host` does not resolve but Salesforce's generic login host does.

    Through an HTTPS proxy the proxy resolves names: a proxy refusing the tunnel to `host`
    (HTTP 502/503/504 to CONNECT) while it opens one to login.salesforce.com means the same.
    """
    import socket

    proxies = requests.utils.get_environ_proxies(f"https://{host}")
    if proxies.get("https"):
        return _proxy_refuses(proxies["https"], host) and not _proxy_refuses(proxies["https"], "login.salesforce.com")
    try:
        socket.getaddrinfo(host, 443)
        return False
    except socket.gaierror:
        pass
    except OSError:
        return False
    try:
        socket.getaddrinfo("login.salesforce.com", 443)
        return True
    except OSError:
        return False


def _proxy_refuses(proxy_url: str, host: str) -> bool:
    """Ask the HTTPS proxy for a tunnel to `host` (CONNECT, no TLS, nothing sent inside)."""
    import socket

    parts = urlsplit(proxy_url if "://" in proxy_url else f"http://{proxy_url}")
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=5) as sock:
            sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode("ascii"))
            line = sock.makefile("rb").readline(200).decode("latin-1")
    except OSError:
        return True
    parts_line = line.split()
    return len(parts_line) < 2 or parts_line[1] in ("502", "503", "504", "404")


def _read_private_key(cfg: Mapping[str, Any], where: str) -> str:
    """The JWT app's private key (PEM), checked here so a wrong file is one line, not a traceback."""
    from pathlib import Path

    key_file = Path(str(cfg["private_key_file"])).expanduser()
    if not key_file.is_file():
        raise OrgConfigError(Text("clients.key.not_found", where=where, path=str(key_file)),
                             hint=Text("clients.key.not_found_hint"))
    try:
        pem = key_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else Text("clients.key.not_text")
        raise OrgConfigError(Text("clients.key.unreadable", where=where, path=str(key_file), reason=reason),
                             hint=Text("clients.key.unreadable_hint")) from None
    from cryptography.hazmat.primitives import serialization

    try:
        serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError) as exc:
        why = Text("clients.key.encrypted") if "encrypted" in str(exc).lower() or isinstance(exc, TypeError) else \
            Text("clients.key.not_pem")
        raise OrgConfigError(Text("clients.key.unusable", where=where, path=str(key_file), why=why),
                             hint=Text("clients.key.unusable_hint")) from None
    return pem


def _connect_real(org_ref: OrgRef, counter: CallCounter, timeout: Any, backoff: float) -> Connection:
    from simple_salesforce import Salesforce

    from sfdoctor.credentials import read_ref

    cfg = org_ref.config
    where = f"orgs.{org_ref.name}"
    session, probe = _sessions(None, counter, timeout, backoff)
    auth = cfg.get("auth", "client_credentials")
    my_domain = cfg.get("my_domain")
    login_host = login_host_of(org_ref)
    secrets: set[str] = set()
    if auth == "client_credentials":
        client_id = read_ref(cfg, "client_id", where=where)
        client_secret = read_ref(cfg, "client_secret", where=where)
        secrets.add(client_secret)
        sf = _login(org_ref, secrets, lambda: _sf_client_credentials(client_id, client_secret, my_domain, session),
                    host=my_domain)
    elif auth == "jwt":
        client_id = read_ref(cfg, "client_id", where=where)
        pem = _read_private_key(cfg, where)
        secrets.add(pem)
        # simple-salesforce uses the domain for both the token URL and the JWT `aud`, and
        # Salesforce expects aud = the login/test host, not My Domain ("Audience validation failed").
        domain = _domain_arg(login_host)
        sf = _login(org_ref, secrets, lambda: Salesforce(
            username=cfg["username"], consumer_key=client_id, privatekey=pem,
            domain=domain, session=session, version=API_VERSION), host=login_host)
    elif auth == "sfdx_url":
        raw = read_ref(cfg, "auth_url", where=where) or ""
        secrets.add(raw)
        parsed = parse_sfdx_auth_url(raw, Text("clients.sfdx.variable", ref=cfg["auth_url_env"], key=f"{where}.auth_url_env")
                                     if cfg.get("auth_url_env") else
                                     Text("clients.sfdx.keyring_entry", ref=cfg.get("auth_url_keyring"),
                                          key=f"{where}.auth_url_keyring"))
        secrets.update({parsed.refresh_token, parsed.client_secret})
        sf = _login(org_ref, secrets, lambda: _sf_refresh_token(parsed, session), host=parsed.host,
                    hint=Text("clients.refusal.refresh_token"))
    else:  # sf_cli
        cli = sf_cli_session(cfg["alias"], org_ref.name)
        secrets.add(cli.access_token)
        sf = Salesforce(instance_url=cli.instance_url, session_id=cli.access_token, session=session,
                        version=API_VERSION)
        _verify_session(org_ref, sf, session, cfg["alias"])
    secrets.add(sf.session_id)
    for section in ("probe", "marketo", "marketing_cloud"):
        for value in _ref_values(cfg.get(section) or {}, f"{where}.{section}"):
            secrets.add(value)
    return Connection(
        org_ref=org_ref, sf=sf, session=session, probe_session=probe, counter=counter,
        login_host=login_host, my_domain_host=my_domain or sf.sf_instance,
        is_sandbox=bool(cfg.get("sandbox", login_host.startswith("test.") or ".sandbox." in sf.sf_instance)),
        operator={}, info=None, secrets={s for s in secrets if s},
    )


def _ref_values(table: Mapping[str, Any], where: str) -> list[str]:
    """Values behind the `_env`/`_keyring` references of a section that are set (for scrubbing)."""
    from sfdoctor.credentials import read_ref

    values = []
    for key in table:
        for suffix in ("_env", "_keyring"):
            if key.endswith(suffix):
                try:
                    value = read_ref(table, key[: -len(suffix)], where=where, required=False)
                except OrgConfigError:
                    value = None
                if value:
                    values.append(value)
    return values


# --------------------------------------------------------------------------- the Salesforce CLI

# What `sf org display --json` shows instead of the token since plugin-org 5.11.1
# (messages/secrets-redacted.md: "[REDACTED] Use 'sf org auth show-access-token' to view").
_REDACTED_PREFIX = "[REDACTED]"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
SF_CLI_TIMEOUT = 90.0


@dataclass(frozen=True, repr=False)
class CliSession:
    """What the Salesforce CLI holds for an alias: its org's instance, user and access token.
    Its repr never shows the token (it may end up in a traceback)."""

    access_token: str
    instance_url: str
    username: str = ""
    api_version: str = ""

    def __repr__(self) -> str:
        return f"CliSession(instance_url={self.instance_url!r}, username={self.username!r}, access_token=<hidden>)"


def sf_cli_environment() -> dict[str, str]:
    """The CLI's environment: plain JSON on stdout, no colours, no prompts, no update checks.

    ipykernel sets FORCE_COLOR=1 for every subprocess of a kernel (zmqshell.py), and the CLI
    then colours its `--json` output with ANSI codes; NO_COLOR turns that off. With `--json`
    the CLI writes a failure's JSON to stderr unless SF_JSON_TO_STDOUT is true.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")}
    env.update({"NO_COLOR": "1", "SF_JSON_TO_STDOUT": "true", "SF_AUTOUPDATE_DISABLE": "true",
                "SF_DISABLE_AUTOUPDATE": "true", "SF_DISABLE_TELEMETRY": "true", "SF_USE_PROGRESS_BAR": "false"})
    return env


def _cli_json(text: str) -> dict[str, Any] | None:
    """The JSON object the CLI printed (colour codes and stray lines around it tolerated)."""
    text = _ANSI.sub("", text or "").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        first, last = text.find("{"), text.rfind("}")
        if first < 0 or last <= first:
            return None
        try:
            data = json.loads(text[first:last + 1])
        except ValueError:
            return None
    return data if isinstance(data, dict) else None


def _run_sf(exe: str, args: list[str], alias: str) -> dict[str, Any]:
    """One `sf ... --json` call; its JSON (a success's or a failure's), never its raw text."""
    import subprocess

    try:
        done = subprocess.run([exe, *args, "--json"], capture_output=True, text=True, timeout=SF_CLI_TIMEOUT,
                              env=sf_cli_environment(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Inconclusive(Text("clients.sf.timeout", command=" ".join(args), seconds=f"{SF_CLI_TIMEOUT:.0f}"),
                           hint=Text("clients.sf.timeout_hint")) from None
    except OSError as exc:
        raise OrgConfigError(Text("clients.sf.not_started", error=exc.strerror), hint=Text("clients.sf.reinstall")) from None
    data = _cli_json(done.stdout) or _cli_json(done.stderr)
    if data is None:
        raise OrgConfigError(Text("clients.sf.no_json", command=" ".join(args), code=done.returncode),
                             hint=Text("clients.sf.no_json_hint"))
    data.setdefault("_exit", done.returncode)
    return data


def _cli_failure(data: Mapping[str, Any], alias: str, command: str) -> OrgConfigError | None:
    """A one-line error for a failed CLI call, or None when it succeeded."""
    status = data.get("status", data.get("_exit", 0))
    if status in (0, None) and isinstance(data.get("result"), Mapping):
        return None
    name = str(data.get("name") or data.get("code") or "")
    message = " ".join(str(data.get("message") or name or "failed").split())[:200]
    if name in ("NamedOrgNotFoundError", "NoOrgFound", "NoAuthInfoFound", "AuthInfoNotFound") or \
            "No authorization information found" in message:
        return OrgConfigError(Text("clients.sf.unknown_alias", alias=alias, message=message),
                              hint=Text("clients.sf.unknown_alias_hint", alias=alias))
    detail = f"{name}: {message}" if name and name not in message else message
    return OrgConfigError(Text("clients.sf.failed", command=command, alias=alias, message=detail),
                          hint=Text("clients.sf.login_again", alias=alias))


def _looks_like_token(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and not value.startswith(_REDACTED_PREFIX) and " " not in value


def sf_cli_session(alias: str, org_name: str) -> CliSession:
    """The org and access token the Salesforce CLI holds for `alias`.

    `sf org display --json` gives the instance URL, username and API version. Since
    plugin-org 5.11.1 its `accessToken` is a redaction notice; the token then comes from
    `sf org auth show-access-token --json` (`result.accessToken`). Older CLIs put the token
    in the display output, and it is used from there. Both commands refresh a stale token
    first when the CLI holds a refresh token.
    """
    import shutil

    exe = shutil.which("sf")
    if not exe:
        raise OrgConfigError(Text("clients.sf.not_installed", org=org_name), hint=Text("clients.sf.install", alias=alias))
    display = _run_sf(exe, ["org", "display", "--target-org", alias], alias)
    failure = _cli_failure(display, alias, "org display")
    if failure is not None:
        raise failure
    result = display["result"]
    instance_url = str(result.get("instanceUrl") or "").rstrip("/")
    if not instance_url.startswith("https://"):
        raise OrgConfigError(Text("clients.sf.no_instance_url", alias=alias), hint=Text("clients.sf.login_again", alias=alias))
    token = result.get("accessToken")
    if not _looks_like_token(token):
        shown = _run_sf(exe, ["org", "auth", "show-access-token", "--target-org", alias], alias)
        failure = _cli_failure(shown, alias, "org auth show-access-token")
        if failure is not None:
            raise failure
        token = shown["result"].get("accessToken")
        if not _looks_like_token(token):
            raise OrgConfigError(Text("clients.sf.no_access_token", alias=alias),
                                 hint=Text("clients.sf.login_again", alias=alias))
    return CliSession(access_token=str(token), instance_url=instance_url,
                      username=str(result.get("username") or ""), api_version=str(result.get("apiVersion") or ""))


def _verify_session(org_ref: OrgRef, sf: Any, session: SfdoctorSession, alias: str) -> None:
    """One call proving a token sfdoctor did not just get from a login is still accepted.

    `/services/oauth2/userinfo` answers who the token belongs to; Salesforce does not count
    it against the org's daily API requests."""
    url = f"https://{sf.sf_instance}/services/oauth2/userinfo"
    try:
        resp = session.get(url, headers={"Authorization": f"Bearer {sf.session_id}"})
    except requests.exceptions.RequestException as exc:
        raise Inconclusive(Text("clients.unreachable", org=org_ref.name, host=sf.sf_instance, error=type(exc).__name__),
                           hint=Text("clients.unreachable_hint")) from None
    if resp.status_code in (401, 403):
        raise OwnLoginRefused(Text("clients.sf.session_refused", org=org_ref.name, alias=alias, status=resp.status_code),
                              code="INVALID_SESSION_ID", hint=Text("clients.sf.log_in_again", alias=alias))
    if resp.status_code >= 500:
        raise Inconclusive(Text("clients.server_error", org=org_ref.name, host=sf.sf_instance, status=resp.status_code),
                           hint=Text("clients.try_later"))


# --------------------------------------------------------------------------- SFDX auth URLs

# sfdx-core AuthInfo.parseSfdxAuthUrl: force://CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN@INSTANCE
_SFDX_AUTH_URL = re.compile(
    r"^force://([a-zA-Z0-9._-]+={0,2}):([a-zA-Z0-9._-]*={0,2}):([a-zA-Z0-9._-]+={0,2})@([a-zA-Z0-9:._-]+)/?$")


@dataclass(frozen=True, repr=False)
class SfdxAuthUrl:
    """A parsed SFDX auth URL (`sf org auth show-sfdx-auth-url`); repr hides its secrets."""

    client_id: str
    client_secret: str
    refresh_token: str
    host: str

    def __repr__(self) -> str:
        return f"SfdxAuthUrl(host={self.host!r}, client_id={self.client_id!r}, <secrets hidden>)"


def parse_sfdx_auth_url(text: str, where: Text | str) -> SfdxAuthUrl:
    """Parse an SFDX auth URL; a malformed one is a one-line error that never repeats it."""
    m = _SFDX_AUTH_URL.match((text or "").strip())
    if not m:
        raise OrgConfigError(Text("clients.sfdx.not_a_url", where=where), hint=Text("clients.sfdx.not_a_url_hint"))
    client_id, client_secret, refresh_token, host = m.groups()
    return SfdxAuthUrl(client_id, client_secret, refresh_token, host.lower())


def _sf_refresh_token(auth: SfdxAuthUrl, session: requests.Session) -> Any:
    """The OAuth refresh-token flow on the auth URL's host, then simple-salesforce on the
    instance Salesforce names. Errors raise simple-salesforce's SalesforceAuthenticationFailed
    (from Salesforce's own `error` / `error_description`), as its own logins do."""
    from simple_salesforce import Salesforce
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed

    form = {"grant_type": "refresh_token", "client_id": auth.client_id, "refresh_token": auth.refresh_token}
    if auth.client_secret:
        form["client_secret"] = auth.client_secret
    resp = session.post(f"https://{auth.host}/services/oauth2/token", data=form)
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code != 200 or not body.get("access_token"):
        raise SalesforceAuthenticationFailed(body.get("error") or resp.status_code,
                                             body.get("error_description") or resp.reason or "")
    instance = urlsplit(str(body.get("instance_url") or f"https://{auth.host}")).netloc
    return Salesforce(instance=instance, session_id=body["access_token"], session=session, version=API_VERSION)
