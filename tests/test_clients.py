"""clients.py: routing, the read-only guard, retries, timeouts and counting, over real HTTP.

A tiny http.server fake records what arrives, so "refused before anything is sent" is checked
on the server side, not assumed.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
from config_errors import said_in_both_languages

from sfdoctor import clients
from sfdoctor.clients import CallCounter, classify, make_session, normalize_path
from sfdoctor.demo.info import OAuthApp
from sfdoctor.demo.server import Simulator
from sfdoctor.errors import Inconclusive, OrgConfigError, ReadOnlyViolation
from sfdoctor.orgs import OrgRef

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
SID = "00D000000000001!AQ0000000000000000000000000000fake"


def soap(op: str, ns: str = "urn:partner.soap.sforce.com") -> str:
    return (f'<env:Envelope xmlns:env="{SOAP}"><env:Header/><env:Body>'
            f'<n1:{op} xmlns:n1="{ns}"><n1:x>1</n1:x></n1:{op}></env:Body></env:Envelope>')


class QuietServer(ThreadingHTTPServer):
    """Keeps a handler's error (a client that hung up mid-answer) instead of printing it.

    The standard server prints such errors to stderr from its own thread, where they land
    in whatever test on this worker happens to be capturing stderr next. `server_close`
    joins the handler threads, so nothing of this fake outlives its test.
    """

    daemon_threads = False
    block_on_close = True

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.errors: list[BaseException | None] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.errors.append(sys.exc_info()[1])


class Fake:
    """A scripted HTTP server: `plan[(METHOD, path)]` is a list of (status, body) answers."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.plan: dict[tuple[str, str], list[tuple[int, Any]]] = {}
        self.default: Callable[[str, str], tuple[int, Any]] = lambda m, p: (200, {"ok": True})
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _do(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                fake.seen.append({"method": self.command, "path": path, "full": self.path,
                                  "host": self.headers.get("Host"), "body": body,
                                  "headers": dict(self.headers)})
                answers = fake.plan.get((self.command, path))
                status, payload = answers.pop(0) if answers else fake.default(self.command, path)
                if status == "reset":
                    self.close_connection = True
                    with contextlib.suppress(OSError):  # the client may already have gone
                        self.connection.shutdown(2)
                    return
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _do

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def paths(self) -> list[str]:
        return [f"{s['method']} {s['path']}" for s in self.seen]


@pytest.fixture
def fake():
    f = Fake()
    yield f
    f.server.shutdown()
    f.server.server_close()


@pytest.fixture
def session(fake):
    return make_session(route_to=fake.url, counter=CallCounter(), backoff=0.001)


# ------------------------------------------------------------------ routing

def test_routes_salesforce_hosts_keeping_host_and_path(fake, session):
    r = session.get("https://acme.my.salesforce.com/services/data/v59.0/limits/?x=1")
    assert r.status_code == 200
    assert fake.seen[-1]["host"] == "acme.my.salesforce.com"
    assert fake.seen[-1]["full"] == "/services/data/v59.0/limits/?x=1"
    assert r.url == "https://acme.my.salesforce.com/services/data/v59.0/limits/?x=1"
    for host in ("login.salesforce.com", "x.lightning.force.com", "123-ABC-456.mktorest.com",
                 "mc7x.auth.marketingcloudapis.com"):
        session.get(f"https://{host}/ping")
        assert fake.seen[-1]["host"] == host.lower()


def test_other_hosts_are_not_routed(fake, session):
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get("https://nonexistent.invalid/x", timeout=2)
    assert fake.seen == []


def test_real_simple_salesforce_over_the_routed_session(fake, session):
    from simple_salesforce import Salesforce

    fake.plan[("POST", "/services/oauth2/token")] = [
        (200, {"access_token": SID, "instance_url": "https://acme.my.salesforce.com", "token_type": "Bearer"})]
    fake.plan[("GET", "/services/data/v59.0/query/")] = [
        (200, {"totalSize": 1, "done": True, "records": [{"Id": "005000000000001AAA"}]})]
    sf = Salesforce(consumer_key="cid", consumer_secret="csecret", domain="acme.my", session=session)
    assert sf.session_id == SID and sf.sf_instance == "acme.my.salesforce.com"
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1
    token, query = fake.seen
    assert token["host"] == "acme.my.salesforce.com" and b"grant_type=client_credentials" in token["body"]
    assert query["headers"]["Authorization"] == f"Bearer {SID}"
    assert session.counter.total == 2 and session.counter.logins == 1
    assert session.counter.by_endpoint == {"POST /services/oauth2/token": 1, "GET /services/data/vXX/query": 1}


# ------------------------------------------------------------------ guard

ALLOWED = [
    ("GET", "https://acme.my.salesforce.com/services/data/v59.0/query", None),
    ("HEAD", "https://acme.my.salesforce.com/services/data/", None),
    ("POST", "https://login.salesforce.com/services/Soap/u/59.0", soap("login")),
    ("POST", "https://login.salesforce.com/services/Soap/c/59.0", soap("login", "urn:enterprise.soap.sforce.com")),
    ("POST", "https://acme.my.salesforce.com/services/oauth2/token", "grant_type=client_credentials"),
    ("GET", "https://123-ABC-456.mktorest.com/identity/oauth/token?grant_type=client_credentials", None),
    ("POST", "https://123-ABC-456.mktorest.com/identity/oauth/token", "grant_type=client_credentials"),
    ("POST", "https://mc7x.auth.marketingcloudapis.com/v2/token", json.dumps({"grant_type": "client_credentials"})),
    ("POST", "https://acme.my.salesforce.com/services/data/v59.0/composite",
     json.dumps({"compositeRequest": [{"method": "GET", "url": "/a", "referenceId": "a"},
                                      {"method": "get", "url": "/b", "referenceId": "b"}]})),
    ("POST", "https://acme.my.salesforce.com/services/data/v59.0/composite/batch",
     json.dumps({"batchRequests": [{"method": "GET", "url": "v59.0/limits"}]})),
    ("POST", "https://acme.my.salesforce.com/services/Soap/m/59.0", soap("readMetadata", "http://soap.sforce.com/2006/04/metadata")),
    ("POST", "https://acme.my.salesforce.com/services/Soap/m/59.0/00D000000000001", soap("listMetadata")),
    ("POST", "https://acme.my.salesforce.com/services/Soap/m/59.0", soap("describeMetadata")),
    ("POST", "https://mc7x.soap.marketingcloudapis.com/Service.asmx", soap("RetrieveRequestMsg", "http://exacttarget.com/wsdl/partnerAPI")),
]

REFUSED = [
    ("PATCH", "https://acme.my.salesforce.com/services/data/v59.0/sobjects/User/005000000000001AAA", "{}"),
    ("DELETE", "https://acme.my.salesforce.com/services/data/v59.0/sobjects/Lead/00Q000000000001AAA", None),
    ("PUT", "https://acme.my.salesforce.com/services/data/v59.0/x", "{}"),
    ("POST", "https://acme.my.salesforce.com/services/data/v59.0/sobjects/Lead", "{}"),
    ("POST", "https://acme.my.salesforce.com/services/data/v59.0/sobjects/User/005000000000001AAA/password",
     json.dumps({"NewPassword": "x"})),
    ("POST", "https://acme.my.salesforce.com/services/oauth2/revoke", "token=x"),
    ("POST", "https://acme.my.salesforce.com/services/data/v59.0/composite",
     json.dumps({"compositeRequest": [{"method": "GET", "url": "/a"}, {"method": "PATCH", "url": "/b"}]})),
    ("POST", "https://acme.my.salesforce.com/services/data/v59.0/composite", json.dumps({"compositeRequest": []})),
    ("POST", "https://acme.my.salesforce.com/services/data/v59.0/composite/batch",
     json.dumps({"batchRequests": [{"method": "DELETE", "url": "v59.0/sobjects/Lead/x"}]})),
    ("POST", "https://acme.my.salesforce.com/services/data/v59.0/composite/graph", "{}"),
    ("POST", "https://acme.my.salesforce.com/services/Soap/m/59.0", soap("deploy", "http://soap.sforce.com/2006/04/metadata")),
    ("POST", "https://acme.my.salesforce.com/services/Soap/m/59.0", soap("updateMetadata")),
    # verb and path of a read, but the body says otherwise: the operation decides
    ("POST", "https://acme.my.salesforce.com/services/Soap/m/59.0", "not xml at all"),
    ("POST", "https://login.salesforce.com/services/Soap/u/59.0", soap("setPassword")),
    ("POST", "https://login.salesforce.com/services/Soap/u/59.0", soap("update")),
    ("POST", "https://mc7x.soap.marketingcloudapis.com/Service.asmx", soap("UpdateRequest")),
    ("POST", "https://123-ABC-456.mktorest.com/rest/v1/leads.json", "{}"),
]


@pytest.mark.parametrize("method,url,body", ALLOWED)
def test_guard_allows_reads_and_logins(fake, session, method, url, body):
    r = session.request(method, url, data=body)
    assert r.status_code == 200
    assert len(fake.seen) == 1


@pytest.mark.parametrize("method,url,body", REFUSED)
def test_guard_refuses_before_sending(fake, session, method, url, body):
    with pytest.raises(ReadOnlyViolation) as exc:
        session.request(method, url, data=body)
    assert method in str(exc.value) and url.split("://", 1)[1].split("/", 1)[1].split("?")[0] in str(exc.value)
    assert fake.seen == []
    assert session.counter.total == 0


def test_guard_applies_to_the_simulator_reached_directly(fake, session):
    with pytest.raises(ReadOnlyViolation):
        session.delete(f"{fake.url}/services/data/v59.0/sobjects/Lead/x")
    assert fake.seen == []


def test_guard_can_be_turned_off_for_tooling(fake):
    s = make_session(route_to=fake.url, counter=CallCounter(), guard=False)
    assert s.delete("https://acme.my.salesforce.com/services/data/v59.0/x").status_code == 200


def test_classify_kinds():
    assert classify("POST", "https://login.salesforce.com/services/Soap/u/59.0", soap("login")) == "login"
    assert classify("POST", "https://login.salesforce.com/services/Soap/u/59.0", soap("query")) == "read"
    assert classify("GET", "https://x.mktorest.com/identity/oauth/token", None) == "login"
    assert classify("POST", "https://x.mktorest.com/rest/v1/leads.json?_method=GET", "filterType=id") == "read"
    assert classify("POST", "https://x.salesforce.com/services/Soap/m/59.0", b"\x00\x01") is None
    assert classify("POST", "http://127.0.0.1:1/__sfdoctor/mc/user-login", "{}") == "login"
    assert classify("POST", "http://127.0.0.1:1/__sfdoctor/stats", "{}") is None


# ------------------------------------------------------------------ retries, timeouts, counting

def test_read_retried_on_503_then_succeeds(fake, session):
    path = "/services/data/v59.0/query/"
    fake.plan[("GET", path)] = [(503, {"e": 1}), (503, {"e": 2}), (200, {"done": True})]
    r = session.get(f"https://acme.my.salesforce.com{path}")
    assert r.status_code == 200 and r.json() == {"done": True}
    assert len(fake.seen) == 3
    assert session.counter.total == 3
    assert session.counter.by_endpoint["GET /services/data/vXX/query"] == 3


def test_read_gives_up_after_three_tries(fake, session):
    path = "/services/data/v59.0/limits/"
    fake.plan[("GET", path)] = [(502, {}), (504, {}), (503, {"last": True}), (200, {})]
    r = session.get(f"https://acme.my.salesforce.com{path}")
    assert r.status_code == 503 and r.json() == {"last": True}
    assert len(fake.seen) == 3


def test_backoff_is_exponential(fake, monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setattr(clients.time, "sleep", sleeps.append)
    s = make_session(route_to=fake.url, counter=CallCounter(), backoff=0.5)
    fake.plan[("GET", "/q")] = [(503, {}), (503, {}), (200, {})]
    s.get("https://acme.my.salesforce.com/q")
    assert sleeps == [0.5, 1.0]


def test_read_only_soap_post_is_retried(fake, session):
    path = "/services/Soap/m/59.0"
    fake.plan[("POST", path)] = [(503, {}), (200, {})]
    assert session.post(f"https://acme.my.salesforce.com{path}", data=soap("readMetadata")).status_code == 200
    assert len(fake.seen) == 2


@pytest.mark.parametrize("url,body", [
    ("https://login.salesforce.com/services/Soap/u/59.0", soap("login")),
    ("https://acme.my.salesforce.com/services/oauth2/token", "grant_type=client_credentials"),
    ("https://1-A-2.mktorest.com/identity/oauth/token", "grant_type=client_credentials"),
    ("https://mc7x.auth.marketingcloudapis.com/v2/token", "{}"),
])
def test_login_is_never_retried(fake, session, url, body):
    from urllib.parse import urlsplit

    fake.plan[("POST", urlsplit(url).path)] = [(503, {}), (200, {})]
    assert session.post(url, data=body).status_code == 503
    assert len(fake.seen) == 1 and session.counter.logins == 1


def test_connection_reset_is_retried_for_reads(fake, session):
    fake.plan[("GET", "/r")] = [("reset", None), (200, {"ok": 1})]
    assert session.get("https://acme.my.salesforce.com/r").json() == {"ok": 1}
    assert session.counter.total == 2


def test_connection_reset_on_login_is_not_retried(fake, session):
    fake.plan[("POST", "/services/oauth2/token")] = [("reset", None), (200, {})]
    with pytest.raises(requests.exceptions.ConnectionError):
        session.post("https://acme.my.salesforce.com/services/oauth2/token", data="grant_type=x")
    assert len(fake.seen) == 1


def test_probe_session_never_retries(fake):
    s = make_session(route_to=fake.url, counter=CallCounter(), retries=False)
    fake.plan[("GET", "/x")] = [(503, {}), (200, {})]
    assert s.get("https://acme.my.salesforce.com/x").status_code == 503


def test_default_read_timeout_applies(fake):
    def slow(method: str, path: str):
        time.sleep(1.0)
        return 200, {}

    fake.default = slow
    s = make_session(route_to=fake.url, counter=CallCounter(), timeout=(2, 0.2), backoff=0.001)
    with pytest.raises(requests.exceptions.ReadTimeout):
        s.get("https://acme.my.salesforce.com/slow")
    # a timeout is not retried: one request reached the server
    assert s.counter.total == 1 and len(fake.seen) == 1


def test_simulator_endpoints_are_not_counted(fake, session):
    session.get(f"{fake.url}/__sfdoctor/info")
    session.get(f"{fake.url}/services/data/")
    assert session.counter.total == 1 and len(fake.seen) == 2
    assert session.counter.snapshot()["by_endpoint"] == {"GET /services/data": 1}


def test_normalize_path():
    assert normalize_path("/services/data/v59.0/query/?q=x") == "/services/data/vXX/query"
    assert normalize_path("/services/data/v61.0/sobjects/User/005000000000001AAA") == "/services/data/vXX/sobjects/User/{id}"
    assert normalize_path("/services/Soap/m/59.0/00D000000000001") == "/services/Soap/m/XX"
    assert normalize_path("/services/Soap/u/59.0") == "/services/Soap/u/XX"
    assert normalize_path("/rest/v1/leads.json") == "/rest/v1/leads.json"


def test_counter_is_thread_safe():
    c = CallCounter()
    threads = [threading.Thread(target=lambda: [c.add("GET", "/a") for _ in range(500)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.total == 4000 and c.by_endpoint["GET /a"] == 4000


# ------------------------------------------------------------------ connect()

def _demo_info(fake: Fake) -> dict[str, Any]:
    """A real simulator's info document, with the demo app's secret and the operator's answers
    set to values this fake knows."""
    info = dataclasses.replace(
        Simulator("token-missing").info(), oauth=OAuthApp("sfdoctor-demo", "demo-secret-xyz"),
        operator_overrides={"probe_username": "sync@acme.example", "probe_password": "Sync-pass-1",
                  "probe_token": "BBBBtokenBBBB"})
    return info.to_json()


def test_connect_demo_with_a_fake_simulator(fake, monkeypatch):
    fake.plan[("GET", "/__sfdoctor/info")] = [(200, _demo_info(fake))]
    fake.plan[("POST", "/services/oauth2/token")] = [
        (200, {"access_token": SID, "instance_url": "https://acme.my.salesforce.com"})]
    monkeypatch.setattr(clients, "ensure_demo_simulator", lambda ref: fake.url)
    conn = clients.connect(OrgRef(name="demo:x", kind="demo", slug="demo-x", scenario_ref="x"))
    assert conn.my_domain_host == "acme.my.salesforce.com" and conn.is_sandbox is False
    assert conn.instance == "acme.my.salesforce.com"
    assert conn.operator["probe_username"] == "sync@acme.example"
    assert {"demo-secret-xyz", SID, "Sync-pass-1", "BBBBtokenBBBB", "Sync-pass-1BBBBtokenBBBB"} <= conn.secrets
    assert conn.counter.total == 1  # the token call; /__sfdoctor/info is free
    assert fake.seen[1]["host"] == "acme.my.salesforce.com"
    assert conn.marketo_session is conn.session and conn.probe_session is not conn.session


def test_an_info_document_off_contract_is_one_line_inconclusive(fake, monkeypatch):
    fake.plan[("GET", "/__sfdoctor/info")] = [(200, {"scenario": "x"})]
    monkeypatch.setattr(clients, "ensure_demo_simulator", lambda ref: fake.url)
    with pytest.raises(Inconclusive) as exc:
        clients.connect(OrgRef(name="demo:x", kind="demo", slug="demo-x", scenario_ref="x"))
    line = exc.value.one_line("en")
    assert "info.runbook: missing" in line and "\n" not in line
    assert "info.runbook: missing" in exc.value.one_line("ja") and "sfdoctor demo serve" in exc.value.one_line("ja")


def test_a_missing_demo_extra_is_one_line_saying_how_to_add_it():
    """Without the `sfdoctor[demo]` extra (here: lark and tornado hidden), the demo world's
    door says what to install instead of a traceback."""
    code = ("import sys\n"
            "sys.modules['lark'] = None; sys.modules['tornado'] = None\n"
            "from sfdoctor import clients\n"
            "from sfdoctor.errors import BadInput\n"
            "try:\n"
            "    clients.ensure_demo_simulator('token-missing')\n"
            "except BadInput as exc:\n"
            "    print(exc.one_line('en'))\n")
    env = {k: v for k, v in os.environ.items() if k != "SFDOCTOR_DEMO_URL"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "not installed" in out.stdout and "pip install 'sfdoctor[demo]'" in out.stdout


def test_connect_demo_refused_login_is_one_line_without_secret(fake, monkeypatch):
    fake.plan[("GET", "/__sfdoctor/info")] = [(200, _demo_info(fake))]
    fake.plan[("POST", "/services/oauth2/token")] = [
        (400, {"error": "invalid_client", "error_description": "invalid client credentials demo-secret-xyz"})]
    monkeypatch.setattr(clients, "ensure_demo_simulator", lambda ref: fake.url)
    with pytest.raises(OrgConfigError) as exc:
        clients.connect(OrgRef(name="demo:x", kind="demo", slug="demo-x", scenario_ref="x"))
    line = exc.value.one_line("en")
    assert "invalid_client" in line and "demo-secret-xyz" not in line and "\n" not in line
    # typed (still exit 2), with Salesforce's own text, not simple-salesforce's message template
    assert isinstance(exc.value, clients.OwnLoginRefused) and exc.value.code == "invalid_client"
    assert "invalid client credentials" in line and "{content}" not in line
    said_in_both_languages(exc.value)
    assert exc.value.one_line("ja").startswith("組織 'demo:x' への sfdoctor 自身のログインが拒否されました: invalid_client: ")
    assert "demo-secret-xyz" not in exc.value.one_line("ja")


def test_probe_only_connection_when_the_org_refuses_sfdoctors_login(simulator, monkeypatch):
    """An edition without API access refuses sfdoctor's own login; `probe_only` still probes."""
    from simple_salesforce import SalesforceLogin
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed

    sim = simulator("marketo-org-api-disabled")
    monkeypatch.setenv("SFDOCTOR_DEMO_URL", sim.url)
    ref = OrgRef(name="demo:marketo-org-api-disabled", kind="demo", slug="demo-x",
                 scenario_ref="marketo-org-api-disabled")
    with pytest.raises(clients.OwnLoginRefused):
        clients.connect(ref)
    conn = clients.probe_only(ref)
    assert conn.sf is None and conn.base_url == sim.url and conn.login_host == "login.salesforce.com"
    assert conn.operator["probe_username"] == "marketo@hoshino-denki.example"
    assert {"Mkto-sync-7", "SYNCtokenSYNC"} <= conn.secrets
    with pytest.raises(SalesforceAuthenticationFailed) as fault:
        SalesforceLogin(username="marketo@hoshino-denki.example", password="Mkto-sync-7",
                        security_token="SYNCtokenSYNC", domain="login", session=conn.probe_session)
    assert fault.value.code == "API_DISABLED_FOR_ORG"
    assert conn.counter.snapshot()["by_endpoint"] == {"POST /services/Soap/u/XX": 1}
    with pytest.raises(ReadOnlyViolation):
        conn.session.post("https://hoshino-denki.my.salesforce.com/services/data/v59.0/sobjects/Lead", json={})


def test_connect_demo_unreachable_login_is_inconclusive(fake, monkeypatch):
    fake.plan[("GET", "/__sfdoctor/info")] = [(200, _demo_info(fake))]
    fake.plan[("POST", "/services/oauth2/token")] = [(503, b"Service Unavailable")]
    monkeypatch.setattr(clients, "ensure_demo_simulator", lambda ref: fake.url)
    with pytest.raises(Inconclusive) as exc:
        clients.connect(OrgRef(name="demo:x", kind="demo", slug="demo-x", scenario_ref="x"))
    assert "503" in exc.value.one_line("en")
    said_in_both_languages(exc.value)
    assert "ログインのエンドポイントが HTTP 503 を返しました" in exc.value.one_line("ja")


def test_connect_real_client_credentials(fake, monkeypatch):
    """A real org's code path, with the fake standing in for Salesforce via the same adapter."""
    monkeypatch.setenv("T_CID", "cid-1")
    monkeypatch.setenv("T_CSECRET", "real-secret-123")
    monkeypatch.setenv("T_PROBE_PW", "probe-pw-999")
    orig = clients._sessions
    monkeypatch.setattr(clients, "_sessions", lambda route_to, *a: orig(fake.url, *a))
    fake.plan[("POST", "/services/oauth2/token")] = [
        (200, {"access_token": SID, "instance_url": "https://acme.my.salesforce.com"})]
    ref = OrgRef(name="production", kind="real", slug="production", config={
        "my_domain": "acme.my.salesforce.com", "auth": "client_credentials",
        "client_id_env": "T_CID", "client_secret_env": "T_CSECRET",
        "probe": {"password_env": "T_PROBE_PW", "token_env": "T_UNSET_TOKEN"}})
    conn = clients.connect(ref)
    assert fake.seen[0]["host"] == "acme.my.salesforce.com"
    assert conn.login_host == "login.salesforce.com" and conn.operator == {}
    assert {"real-secret-123", SID, "probe-pw-999"} <= conn.secrets


def test_connect_real_missing_env_names_the_variable(monkeypatch):
    monkeypatch.delenv("T_NOPE", raising=False)
    ref = OrgRef(name="p", kind="real", slug="p", config={
        "my_domain": "acme.my.salesforce.com", "auth": "client_credentials",
        "client_id": "cid", "client_secret_env": "T_NOPE"})
    with pytest.raises(OrgConfigError, match="T_NOPE"):
        clients.connect(ref)


def test_connect_sf_cli_without_cli(monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    ref = OrgRef(name="p", kind="real", slug="p", config={"auth": "sf_cli", "alias": "prod"})
    with pytest.raises(OrgConfigError, match="sf command is not installed"):
        clients.connect(ref)


# ------------------------------------------------------------------ the real simulator

def test_connect_demo_end_to_end_with_the_real_simulator(simulator, monkeypatch):
    """`SFDOCTOR_DEMO_URL` → demo/runtime.py → our routed session → unmodified simple-salesforce."""
    sim = simulator("token-missing")
    monkeypatch.setenv("SFDOCTOR_DEMO_URL", sim.url)
    conn = clients.connect("demo:token-missing")
    assert conn.base_url == sim.url and conn.instance == "acme.my.salesforce.com"
    assert conn.login_host == "login.salesforce.com" and conn.is_sandbox is False
    users = conn.sf.query("SELECT Username FROM User ORDER BY Username")["records"]
    assert "sync@acme.example" in [u["Username"] for u in users]
    assert conn.sf.session_id in conn.secrets
    stats = conn.session.get(f"{sim.url}/__sfdoctor/stats").json()
    # what we counted is what the simulator saw (stats and info are not counted)
    assert conn.counter.total == stats["total"] == 2
    with pytest.raises(ReadOnlyViolation):
        conn.sf.Lead.create({"LastName": "x", "Company": "y"})
    assert conn.session.get(f"{sim.url}/__sfdoctor/stats").json()["total"] == 2


def test_connect_resolves_plain_demo_with_the_runbooks_scenario(simulator, monkeypatch):
    sim = simulator("token-missing")
    monkeypatch.setattr(clients, "ensure_demo_simulator", lambda ref: (seen.append(ref), sim.url)[1])
    seen: list = []

    from sfdoctor import runbooks

    conn = clients.connect("demo", runbook=runbooks.load("security-token-required"))
    assert seen == ["token-missing"] and conn.org_ref.slug == "demo-token-missing"


def test_connect_real_jwt(fake, monkeypatch, tmp_path):
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "server.key"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    monkeypatch.setenv("J_CID", "jwt-client-id")
    orig = clients._sessions
    monkeypatch.setattr(clients, "_sessions", lambda route_to, *a: orig(fake.url, *a))
    fake.plan[("POST", "/services/oauth2/token")] = [
        (200, {"access_token": SID, "instance_url": "https://acme--uat.sandbox.my.salesforce.com"})]
    ref = OrgRef(name="uat", kind="real", slug="uat", config={
        "auth": "jwt", "login_host": "test.salesforce.com", "sandbox": True, "username": "admin@acme.example.uat",
        "private_key_file": str(key_file), "client_id_env": "J_CID"})
    conn = clients.connect(ref)
    sent = fake.seen[0]
    assert sent["host"] == "test.salesforce.com"
    from urllib.parse import parse_qs
    assertion = parse_qs(sent["body"].decode())["assertion"][0]
    claims = jwt.decode(assertion, key.public_key(), algorithms=["RS256"], audience="https://test.salesforce.com")
    assert claims["iss"] == "jwt-client-id" and claims["sub"] == "admin@acme.example.uat"
    assert conn.is_sandbox and conn.instance == "acme--uat.sandbox.my.salesforce.com"


def test_connect_real_jwt_missing_key_file(monkeypatch, tmp_path):
    monkeypatch.setenv("J_CID", "x")
    ref = OrgRef(name="uat", kind="real", slug="uat", config={
        "auth": "jwt", "username": "u", "private_key_file": str(tmp_path / "nope.key"), "client_id_env": "J_CID"})
    with pytest.raises(OrgConfigError, match="nope.key not found"):
        clients.connect(ref)


FAKE_SF = Path(__file__).parent / "fixtures" / "fake_sf"


@pytest.fixture
def fake_sf(monkeypatch, tmp_path):
    """The fake Salesforce CLI on PATH, holding one org under the alias `prod`; returns its call log."""
    store = tmp_path / "sf-store.json"
    store.write_text(json.dumps({"prod": {"accessToken": SID, "instanceUrl": "https://acme.my.salesforce.com/",
                                          "username": "admin@acme.example", "apiVersion": "66.0"}}))
    log = tmp_path / "sf-calls.jsonl"
    log.write_text("")
    monkeypatch.setenv("PATH", f"{FAKE_SF}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_SF_STORE", str(store))
    monkeypatch.setenv("FAKE_SF_LOG", str(log))
    monkeypatch.setenv("FORCE_COLOR", "1")  # as ipykernel sets it for every subprocess of a kernel
    monkeypatch.delenv("NO_COLOR", raising=False)
    return lambda: [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.parametrize("shape,calls", [("current", 2), ("older", 1)])
def test_connect_sf_cli_reads_the_cli_token(fake, fake_sf, monkeypatch, shape, calls):
    """Current CLIs redact the token in `org display`: it comes from `org auth show-access-token`;
    older ones give it in `org display` and are asked once. Colours are turned off for the CLI."""
    monkeypatch.setenv("FAKE_SF_SHAPE", shape)
    orig = clients._sessions
    monkeypatch.setattr(clients, "_sessions", lambda route_to, *a: orig(fake.url, *a))
    conn = clients.connect(OrgRef(name="p", kind="real", slug="p", config={"auth": "sf_cli", "alias": "prod"}))
    assert conn.sf.session_id == SID and SID in conn.secrets
    assert conn.instance == "acme.my.salesforce.com"
    # the one call proving the session: userinfo, with the CLI's token
    assert fake.paths() == ["GET /services/oauth2/userinfo"]
    assert fake.seen[0]["headers"]["Authorization"] == f"Bearer {SID}"
    seen = fake_sf()
    assert len(seen) == calls and all(c["NO_COLOR"] == "1" and c["FORCE_COLOR"] is None for c in seen)
    assert seen[0]["argv"] == ["org", "display", "--target-org", "prod", "--json"]
    if calls == 2:
        assert seen[1]["argv"] == ["org", "auth", "show-access-token", "--target-org", "prod", "--json"]


@pytest.mark.parametrize("shape", ["current", "older"])
def test_connect_sf_cli_unknown_alias_is_a_config_error(fake_sf, monkeypatch, shape):
    monkeypatch.setenv("FAKE_SF_SHAPE", shape)
    with pytest.raises(OrgConfigError) as exc:
        clients.connect(OrgRef(name="p", kind="real", slug="p", config={"auth": "sf_cli", "alias": "other"}))
    line = exc.value.one_line("en")
    assert "knows no org 'other'" in line and "No authorization information found" in line
    assert "sf org login web --alias other" in line
    said_in_both_languages(exc.value)
    assert "Salesforce CLI は組織 'other' を知りません" in exc.value.one_line("ja")


def test_connect_sf_cli_expired_session_is_refused_in_one_line(fake, fake_sf, monkeypatch):
    monkeypatch.setenv("FAKE_SF_SHAPE", "current")
    orig = clients._sessions
    monkeypatch.setattr(clients, "_sessions", lambda route_to, *a: orig(fake.url, *a))
    fake.plan[("GET", "/services/oauth2/userinfo")] = [(403, b"Bad_OAuth_Token")]
    with pytest.raises(clients.OwnLoginRefused) as exc:
        clients.connect(OrgRef(name="p", kind="real", slug="p", config={"auth": "sf_cli", "alias": "prod"}))
    line = exc.value.one_line("en")
    assert "expired or revoked" in line and "sf org login web --alias prod" in line and SID not in line
    said_in_both_languages(exc.value)
    assert "期限切れか取り消し済み" in exc.value.one_line("ja")


def test_cli_json_tolerates_colour_codes_and_stray_lines():
    coloured = '\x1b[94m{\n  "status": \x1b[92m0,\n  "result": {"accessToken": "x"}\n}\x1b[39m'
    assert clients._cli_json(coloured) == {"status": 0, "result": {"accessToken": "x"}}
    assert clients._cli_json('Warning: update available\n{"status": 1, "name": "E"}') == {"status": 1, "name": "E"}
    assert clients._cli_json("not json") is None


def test_sf_cli_environment_turns_colours_off(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    env = clients.sf_cli_environment()
    assert env["NO_COLOR"] == "1" and "FORCE_COLOR" not in env and env["SF_JSON_TO_STDOUT"] == "true"


# ------------------------------------------------------------------ SFDX auth URL

AUTH_URL = "force://PlatformCLI::5Aep861refreshTOKEN.value_1@acme.my.salesforce.com"


def test_parse_sfdx_auth_url():
    parsed = clients.parse_sfdx_auth_url(AUTH_URL, "X")
    assert (parsed.client_id, parsed.client_secret, parsed.host) == ("PlatformCLI", "", "acme.my.salesforce.com")
    assert parsed.refresh_token == "5Aep861refreshTOKEN.value_1" and "refresh" not in repr(parsed)
    with pytest.raises(OrgConfigError) as exc:
        clients.parse_sfdx_auth_url("https://acme.my.salesforce.com?token=abcd1234", "the variable X")
    assert "abcd1234" not in exc.value.one_line("en") and "force://" in exc.value.one_line("en")
    said_in_both_languages(exc.value)
    assert "the variable X の値は SFDX 認証 URL" in exc.value.one_line("ja")


def test_connect_sfdx_url_uses_the_refresh_token_flow(fake, monkeypatch):
    monkeypatch.setenv("T_AUTH_URL", AUTH_URL)
    orig = clients._sessions
    monkeypatch.setattr(clients, "_sessions", lambda route_to, *a: orig(fake.url, *a))
    fake.plan[("POST", "/services/oauth2/token")] = [
        (200, {"access_token": SID, "instance_url": "https://acme.my.salesforce.com"})]
    conn = clients.connect(OrgRef(name="p", kind="real", slug="p",
                                  config={"auth": "sfdx_url", "auth_url_env": "T_AUTH_URL"}))
    from urllib.parse import parse_qs
    sent = fake.seen[0]
    assert sent["host"] == "acme.my.salesforce.com"
    assert parse_qs(sent["body"].decode()) == {"grant_type": ["refresh_token"], "client_id": ["PlatformCLI"],
                                               "refresh_token": ["5Aep861refreshTOKEN.value_1"]}
    assert conn.sf.session_id == SID and {AUTH_URL, "5Aep861refreshTOKEN.value_1", SID} <= conn.secrets


def test_connect_sfdx_url_revoked_refresh_token_is_one_line(fake, monkeypatch):
    monkeypatch.setenv("T_AUTH_URL", AUTH_URL)
    orig = clients._sessions
    monkeypatch.setattr(clients, "_sessions", lambda route_to, *a: orig(fake.url, *a))
    fake.plan[("POST", "/services/oauth2/token")] = [
        (400, {"error": "invalid_grant", "error_description": "expired access/refresh token"})]
    with pytest.raises(clients.OwnLoginRefused) as exc:
        clients.connect(OrgRef(name="p", kind="real", slug="p",
                               config={"auth": "sfdx_url", "auth_url_env": "T_AUTH_URL"}))
    line = exc.value.one_line("en")
    assert "invalid_grant" in line and "show-sfdx-auth-url" in line and "5Aep861" not in line
    said_in_both_languages(exc.value)
    assert "更新トークンが取り消されたか期限切れです" in exc.value.one_line("ja")


def test_connect_real_jwt_unusable_key_file(monkeypatch, tmp_path):
    monkeypatch.setenv("J_CID", "x")
    key = tmp_path / "server.key"
    key.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    ref = OrgRef(name="uat", kind="real", slug="uat", config={
        "auth": "jwt", "username": "u", "private_key_file": str(key), "client_id_env": "J_CID"})
    with pytest.raises(OrgConfigError, match="not a PEM private key") as exc:
        clients.connect(ref)
    said_in_both_languages(exc.value)
    assert exc.value.one_line("ja").startswith(f"orgs.uat.private_key_file: {key} は使えません: PEM 形式の秘密鍵ではありません — ")
    key.write_bytes(b"\xff\xfe not text")
    with pytest.raises(OrgConfigError, match="cannot read") as exc:
        clients.connect(ref)
    said_in_both_languages(exc.value)
    assert "テキスト (PEM) ファイルではありません" in exc.value.one_line("ja")
    key.unlink()
    with pytest.raises(OrgConfigError, match="not found") as exc:
        clients.connect(ref)
    said_in_both_languages(exc.value)
    assert f"{key} が見つかりません" in exc.value.one_line("ja")


def test_a_host_that_is_no_salesforce_host_is_one_line_in_both_languages():
    with pytest.raises(OrgConfigError) as exc:
        clients._domain_arg("acme.example.com")
    said_in_both_languages(exc.value)
    assert exc.value.one_line("ja") == ("acme.example.com は Salesforce のホストではありません — "
                                        "例: acme.my.salesforce.com のように指定してください")


def test_sf_cli_not_installed_is_one_line_in_both_languages(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(OrgConfigError) as exc:
        clients.connect(OrgRef(name="p", kind="real", slug="p", config={"auth": "sf_cli", "alias": "prod"}))
    said_in_both_languages(exc.value)
    assert "組織 'p' は auth = \"sf_cli\" を使いますが、sf コマンドがインストールされていません" in exc.value.one_line("ja")


def test_every_error_clients_raises_is_a_catalog_text():
    """No OrgConfigError, OwnLoginRefused or Inconclusive of clients.py is raised in English
    words alone: what reaches `--lang ja` reads Japanese."""
    import ast

    source = Path(clients.__file__).read_text(encoding="utf-8")
    kinds = {"OrgConfigError", "OwnLoginRefused", "Inconclusive", "BadInput"}
    calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call) and getattr(n.func, "id", None) in kinds]
    assert len(calls) > 15
    for call in calls:
        for part in [*call.args, *(k.value for k in call.keywords if k.arg == "hint")]:
            plain = isinstance(part, ast.JoinedStr) or (isinstance(part, ast.Constant) and isinstance(part.value, str))
            assert not plain, f"clients.py:{call.lineno}: English-only words in an error"
