"""The simulator shell: faults end to end, stats, info, 404 styles, lifecycle, serve_forever,
ensure_simulator."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceRefusedRequest

from conftest import BASE_SCENARIO, SYNC, routed_session
from sfdoctor import demo_operator
from sfdoctor.clients import demo_info
from sfdoctor.demo import mcloud, runtime
from sfdoctor.demo.faults import Fault, FaultPlan, api_kind, parse_delay
from sfdoctor.demo.info import OAuthApp
from sfdoctor.demo.scenario import ScenarioError
from sfdoctor.demo.server import Simulator, normalize_path
from sfdoctor.demo.store import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET


def with_faults(faults: str) -> str:
    return BASE_SCENARIO + "faults:\n" + faults


def admin(sim) -> Salesforce:
    return Salesforce(consumer_key=DEMO_CLIENT_ID, consumer_secret=DEMO_CLIENT_SECRET, domain="acme.my",
                      session=routed_session(sim))


# --------------------------------------------------------------------------- units

@pytest.mark.parametrize("path, expected", [
    ("/services/data/v59.0/query/", "/services/data/vXX.X/query"),
    ("/services/data/v66.0/query", "/services/data/vXX.X/query"),
    ("/services/data/v59.0/query/01gAB0000016PIAYA2-2000", "/services/data/vXX.X/query/{id}"),
    ("/services/data/v59.0/sobjects/User/005DV0000000001YAA/password", "/services/data/vXX.X/sobjects/User/{id}/password"),
    ("/services/Soap/u/59.0", "/services/Soap/u/XX.X"),
    ("/services/Soap/m/59.0/00DDV0000YLXYJM", "/services/Soap/m/XX.X/{id}"),
    ("/services/data/v59.0/sobjects/Lead/describe", "/services/data/vXX.X/sobjects/Lead/describe"),
    ("/", "/"),
])
def test_normalize_path(path, expected):
    assert normalize_path(path) == expected


@pytest.mark.parametrize("value, seconds", [("30s", 30), ("500ms", 0.5), ("2m", 120), (5, 5),
                                            (timedelta(seconds=3), 3), (None, 0)])
def test_parse_delay(value, seconds):
    assert parse_delay(value) == seconds


def test_fault_plan_times_after_first_match():
    plan = FaultPlan([
        {"match": "GET /services/data/*/query*", "status": 503, "times": 2},
        {"match": "POST /services/Soap/u/*", "delay": "1s"},
        {"match": "*", "reset": True, "after": 3},
    ])
    picks = [plan.pick("GET", "/services/data/v59.0/query/") for _ in range(5)]
    assert [p.status if p else None for p in picks[:2]] == [503, 503]
    # the catch-all counts every request: 3rd query is its 3rd match (not yet), 4th and 5th reset
    assert picks[2] is None and picks[3].reset and picks[4].reset
    assert plan.pick("POST", "/services/Soap/u/59.0").delay == 1.0  # first match wins over the reset
    assert Fault.from_spec({"match": "get /x"}).matches("GET", "/x")
    assert not Fault.from_spec({"match": "GET /services/data/*"}).matches("POST", "/services/data/v59.0/")


def test_api_kind():
    assert api_kind("acme.my.salesforce.com", "/services/Soap/u/59.0") == "soap"
    assert api_kind("acme.my.salesforce.com", "/services/Soap/m/59.0") == "metadata"
    assert api_kind("login.salesforce.com", "/services/oauth2/token") == "oauth"
    assert api_kind("acme.my.salesforce.com", "/services/data/v59.0/query") == "rest"
    assert api_kind("123-ABC-456.mktorest.com", "/identity/oauth/token") == "marketo"
    assert api_kind("x.auth.marketingcloudapis.com", "/v2/token") == "mcloud"


# --------------------------------------------------------------------------- faults end to end

def test_503_twice_then_request_limit_exceeded(simulator, write_scenario):
    sim = simulator(write_scenario(with_faults(
        '  - {match: "GET /services/data/*/query*", status: 503, times: 2}\n'
        '  - {match: "GET /services/data/*/query*", error: REQUEST_LIMIT_EXCEEDED}\n')))
    sf = admin(sim)
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as info:
            sf.query("SELECT Id FROM User")
        assert info.value.status == 503
        assert info.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    with pytest.raises(SalesforceRefusedRequest) as info:
        sf.query("SELECT Id FROM User")
    assert info.value.status == 403
    assert info.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert sf.limits()["DailyApiRequests"]["Max"] == 15000  # other paths unaffected


def test_query_string_is_not_part_of_the_match(simulator, write_scenario):
    sim = simulator(write_scenario(with_faults('  - {match: "GET /services/data/v59.0/query/", status: 500}\n')))
    resp = routed_session(sim).get("https://acme.my.salesforce.com/services/data/v59.0/query/?q=SELECT+Id+FROM+User")
    assert resp.status_code == 500 and resp.json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"


def test_soap_status_fault_is_a_soap_fault(simulator, write_scenario):
    sim = simulator(write_scenario(with_faults('  - {match: "POST /services/Soap/*", status: 503}\n')))
    resp = routed_session(sim).post("https://login.salesforce.com/services/Soap/u/59.0", data="<x/>",
                                    headers={"Content-Type": "text/xml"})
    assert resp.status_code == 503 and "<faultcode>sf:SERVER_UNAVAILABLE</faultcode>" in resp.text


def test_delay_answers_late_without_blocking_others(simulator, write_scenario):
    # A delay far longer than any call takes on a loaded machine, so that "answered meanwhile"
    # does not depend on timing; the delay itself is checked from below only.
    sim = simulator(write_scenario(with_faults('  - {match: "GET /services/data/*/query*", delay: 5s}\n')))
    sf = admin(sim)
    session = routed_session(sim)
    url = "https://acme.my.salesforce.com/services/data/v59.0/query/"
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(url, params={"q": "SELECT Id FROM User"}, headers=headers, timeout=0.4)
    slow: dict = {}

    def run_slow() -> None:
        start = time.monotonic()
        slow["status"] = routed_session(sim).get(url, params={"q": "SELECT Id FROM User"}, headers=headers,
                                                 timeout=30).status_code
        slow["elapsed"] = time.monotonic() - start

    worker = threading.Thread(target=run_slow)
    worker.start()
    time.sleep(0.1)
    assert sf.limits()["DailyApiRequests"]["Max"] == 15000
    assert "status" not in slow  # answered while the delayed query still waits: not queued behind it
    worker.join(30)
    assert slow["status"] == 200 and slow["elapsed"] >= 4.9


def test_reset_drops_the_connection_after_n(simulator, write_scenario):
    sim = simulator(write_scenario(with_faults('  - {match: "GET /services/data/*", reset: true, after: 1}\n')))
    token = requests.post(sim.url + "/services/oauth2/token", data={"grant_type": "client_credentials"},
                          auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET), timeout=10).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(sim.url + "/services/data/v59.0/limits", headers=headers, timeout=5).status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(sim.url + "/services/data/v59.0/limits", headers=headers, timeout=5)
    with pytest.raises(requests.exceptions.ConnectionError):  # and every later matching one
        requests.get(sim.url + "/services/data/", timeout=5)
    # the server itself is fine: other paths still answer
    assert requests.get(sim.url + "/__sfdoctor/stats", timeout=5).json()["GET /services/data/vXX.X/limits"] == 2


# --------------------------------------------------------------------------- stats, info

def test_stats_counts_per_endpoint_and_method(fresh_sim):
    requests.post(fresh_sim.url + "/__sfdoctor/reset", timeout=5)
    sf = admin(fresh_sim)
    sf.query("SELECT Id FROM User")
    sf.query("SELECT Id FROM Profile")
    sf.limits()
    stats = requests.get(fresh_sim.url + "/__sfdoctor/stats", timeout=5).json()
    assert stats["GET /services/data/vXX.X/query"] == 2
    assert stats["GET /services/data/vXX.X/limits"] == 1
    assert stats["POST /services/oauth2/token"] == 1
    assert stats["total"] == 4
    assert not any(k.startswith("GET /__sfdoctor") for k in stats)


def test_a_doubled_slash_after_the_host_is_the_same_resource(base_sim):
    """The Salesforce CLI keeps a trailing slash on the instance URL and so asks for
    `//services/data/...`; Salesforce serves it (docs/simulator.md). Marketo keeps its paths."""
    s = routed_session(base_sim)
    token = s.post("https://acme.my.salesforce.com/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    before = base_sim.stats_snapshot().get("GET /services/data/vXX.X/query", 0)
    one = s.get("https://acme.my.salesforce.com/services/data/v59.0/query", params={"q": "SELECT Id FROM User"},
                headers=auth)
    two = s.get("https://acme.my.salesforce.com//services/data/v59.0/query", params={"q": "SELECT Id FROM User"},
                headers=auth)
    assert one.status_code == two.status_code == 200 and one.json()["totalSize"] == two.json()["totalSize"]
    assert s.get("https://acme.my.salesforce.com//services/data/v59.0", headers=auth).status_code == 200
    assert base_sim.stats_snapshot()["GET /services/data/vXX.X/query"] == before + 2
    mkto = s.get("https://123-ABC-456.mktorest.com//rest/v1/leads/describe.json")
    assert mkto.json()["errors"][0]["code"] in ("600", "610")


def test_the_request_log_masks_secrets_or_leaves_the_query_out(write_scenario):
    plain = Simulator(write_scenario(BASE_SCENARIO))
    uri = "/identity/oauth/token?grant_type=client_credentials&client_id=mkto-client&client_secret=mkto-secret"
    assert plain.log_line(200, "GET", "123-ABC-456.mktorest.com", uri) == \
        "200 GET 123-ABC-456.mktorest.com/identity/oauth/token"
    masked = Simulator(write_scenario(BASE_SCENARIO), log_mask=lambda line: line.replace("mkto-secret", "***"))
    assert masked.log_line(200, "GET", "h", uri).endswith("client_id=mkto-client&client_secret=***")


def test_info_states_world_facts_the_operator_answers_from(simulator, write_scenario):
    """The document states facts (and the scenario's overrides); the answers a runbook's demo
    operator gives are computed on sfdoctor's side (demo_operator + the runbook's hook)."""
    sim = simulator(write_scenario(BASE_SCENARIO + "operator:\n  probe_username: sync@acme.example\n"
                                   "  probe_token: OLDtokenOLD\n  fields_not_to_sync: [Lead.AnnualRevenue]\n"))
    with requests.Session() as session:
        info = demo_info(session, sim.url)       # sfdoctor's one reader of the document
    assert info.scenario == "conformance"
    assert (info.my_domain_host, info.login_host, info.sandbox) == ("acme.my.salesforce.com",
                                                                   "login.salesforce.com", False)
    assert info.oauth == OAuthApp(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    assert not hasattr(info, "operator")             # the simulator answers no runbook's form
    op = demo_operator.answers(info, "mc-missing-oauth-token")
    assert op["probe_username"] == SYNC[0]
    assert op["probe_password"] == SYNC[1]          # the user's real one: the operator knows it
    assert op["probe_token"] == "OLDtokenOLD"       # the scenario plays a stale token
    assert op["fields_not_to_sync"] == ["Lead.AnnualRevenue"]
    assert op["mc_ip_allowlist"] == {"enabled": False, "ranges": []}
    assert info.operator_overrides == {"probe_username": SYNC[0], "probe_token": "OLDtokenOLD",
                                       "fields_not_to_sync": ["Lead.AnnualRevenue"]}
    assert info.marketo is not None and info.marketo.munchkin_id == "123-ABC-456"
    assert info.marketo.host == "123-ABC-456.mktorest.com"
    mc = info.marketing_cloud
    assert mc is not None and mc.client_secret == "mc-secret" and mc.account_id == mcloud.DEMO_MID
    assert (mc.auth_host, mc.rest_host, mc.soap_host) == tuple(
        f"{mc.subdomain}.{kind}.marketingcloudapis.com" for kind in ("auth", "rest", "soap"))
    assert info.salesforce_user("SYNC@acme.example").security_token == "BBBBtokenBBBB"
    assert info.salesforce_user("admin@acme.example").admin is True


def test_info_sandbox_hosts(simulator, write_scenario):
    sim = simulator(write_scenario(BASE_SCENARIO.replace("  my_domain: acme\n", "  my_domain: acme\n  sandbox: uat\n")))
    info = requests.get(sim.url + "/__sfdoctor/info", timeout=5).json()
    assert (info["my_domain_host"], info["login_host"], info["sandbox"]) == (
        "acme--uat.sandbox.my.salesforce.com", "test.salesforce.com", True)


def test_not_found_in_each_apis_style(base_sim):
    s = routed_session(base_sim)
    rest = s.get("https://acme.my.salesforce.com/services/apexrest/nothing")
    assert rest.status_code == 404 and rest.json()[0]["errorCode"] == "NOT_FOUND"
    soap = s.post("https://acme.my.salesforce.com/services/Soap/x/59.0", data="<x/>")
    assert soap.status_code == 404 and "soapenv:Client" in soap.text
    assert requests.get(base_sim.url + "/__sfdoctor/nothing", timeout=5).status_code == 404


def test_marketo_and_mcloud_are_dispatched_by_host(base_sim):
    s = routed_session(base_sim)
    resp = s.get("https://123-ABC-456.mktorest.com/identity/oauth/token",
                 params={"grant_type": "client_credentials", "client_id": "mkto-client", "client_secret": "mkto-secret"})
    assert resp.status_code == 200 and resp.json()["token_type"] == "bearer"
    resp = s.post("https://mc7xk2abcd0q1w2e3r4t5y6u7i8p.auth.marketingcloudapis.com/v2/token",
                  json={"grant_type": "client_credentials", "client_id": "mc-client", "client_secret": "mc-secret"})
    assert resp.status_code == 200 and "access_token" in resp.json()


# --------------------------------------------------------------------------- lifecycle

def test_two_simulators_side_by_side_and_stop(write_scenario):
    path = write_scenario(BASE_SCENARIO)
    one, two = Simulator(path), Simulator(path)
    try:
        assert one.start() != two.start()
        assert requests.get(one.url + "/services/data/", timeout=5).status_code == 200
        url = one.url
        one.stop()
        one.stop()  # idempotent
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(url + "/services/data/", timeout=2)
        assert requests.get(two.url + "/services/data/", timeout=5).status_code == 200
        assert requests.get(one.start() + "/services/data/", timeout=5).status_code == 200  # restartable
    finally:
        one.stop()
        two.stop()


def test_bad_scenario_fails_at_construction(write_scenario):
    with pytest.raises(ScenarioError) as info:
        Simulator(write_scenario("salesforce:\n  userz: []\n"))
    assert "salesforce.userz: unknown key" in str(info.value)


def _as_in_a_terminal() -> None:
    """Ctrl-C reaches the server as at a terminal: a suite started in the background by a
    shell without job control inherits an ignored SIGINT, which Python then never turns
    into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_demo_serve_logs_requests_masked_as_reports_are():
    """`sfdoctor demo serve` logs every request; Marketo's identity call carries its secret in
    the query string, which the log masks with sfdoctor's report scrubber."""
    proc = subprocess.Popen([sys.executable, "-m", "sfdoctor.cli", "demo", "serve", "--scenario", "marketo-sync-failed"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_as_in_a_terminal)
    try:
        url = proc.stdout.readline().strip()
        info = requests.get(url + "/__sfdoctor/info", timeout=10).json()
        secret = info["marketo"]["client_secret"]
        resp = requests.get(url + "/identity/oauth/token", timeout=10, params={
            "grant_type": "client_credentials", "client_id": info["marketo"]["client_id"], "client_secret": secret},
            headers={"Host": info["marketo"]["host"]})
        assert resp.status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
        log = proc.stderr.read()
        assert "GET " + info["marketo"]["host"] + "/identity/oauth/token?" in log
        assert "client_secret=[redacted]" in log and secret not in log
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_forever_prints_url_and_exits_on_ctrl_c(write_scenario):
    path = write_scenario(BASE_SCENARIO)
    code = f"from sfdoctor.demo.server import serve_forever; serve_forever({path!r}, 0)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_as_in_a_terminal)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url + "/__sfdoctor/info", timeout=5).json()["scenario"] == "conformance"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
        assert url in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_ensure_simulator_env_wins_else_one_per_scenario(write_scenario, monkeypatch):
    monkeypatch.setenv(runtime.ENV_VAR, "http://127.0.0.1:9/")
    assert runtime.ensure_simulator("anything") == "http://127.0.0.1:9"
    monkeypatch.delenv(runtime.ENV_VAR)
    a = write_scenario(BASE_SCENARIO, "a")
    b = write_scenario(BASE_SCENARIO.replace("name: conformance", "name: b"), "b")
    try:
        url_a = runtime.ensure_simulator(a)
        assert runtime.ensure_simulator(a) == url_a
        url_b = runtime.ensure_simulator(b)
        assert url_b != url_a
        assert requests.get(url_b + "/__sfdoctor/info", timeout=5).json()["scenario"] == "b"
        assert runtime.running_simulator(a).url == url_a
    finally:
        for ref in (a, b):
            sim = runtime.running_simulator(ref)
            if sim is not None:
                sim.stop()
