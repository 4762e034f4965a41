"""marketorestpython (PyPI, pinned in pyproject's test extra) against the simulator, over HTTPS
to the real Marketo host name `{munchkin}.mktorest.com` through the local TLS proxy.

A client nobody here wrote, called as its users call it: identity, describe, leads by filter
(a form-encoded POST with `_method=GET` in the body, `fields` as repeated parameters), a lead
by id with a list of fields, and the 60x errors it must see (docs/simulator.md)."""
from __future__ import annotations

import pytest
from marketorestpython.client import MarketoClient
from marketorestpython.helper.exceptions import MarketoException

from sfdoctor.demo import marketo as sim_marketo


@pytest.fixture
def through_proxy(simulator, tls_proxy, monkeypatch):
    """simulator(scenario) started, HTTPS_PROXY and the test CA set for this process's requests."""
    def start(scenario: str):
        sim = simulator(scenario)
        proxy = tls_proxy(sim)
        for name, value in proxy.env().items():
            monkeypatch.setenv(name, value)
        return sim, proxy
    return start


def _client(info, **kwargs) -> MarketoClient:
    return MarketoClient(info.marketo.munchkin_id, info.marketo.client_id, info.marketo.client_secret,
                         max_retry_time=1, **kwargs)


def test_identity_describe_filter_and_lead_by_id(through_proxy):
    sim, proxy = through_proxy("marketo-sync-failed")
    info = sim.info()
    mc = _client(info)

    fields = mc.describe()
    assert {f["rest"]["name"] for f in fields if "rest" in f} >= {"email", "sfdcLeadId", "firstName"}
    assert mc.token and mc.scope                       # the identity call answered as Marketo's does

    # a long query's form: POST /rest/v1/leads.json, `_method=GET` and `fields` twice in the body
    leads = mc.get_multiple_leads_by_filter_type("email", ["aiko@example.jp", "sho.fujita@sakura-foods.example"],
                                                 fields=["email", "sfdcLeadId", "sfdcContactId"])
    by_email = {lead["email"]: lead for lead in leads}
    assert set(by_email) == {"aiko@example.jp", "sho.fujita@sakura-foods.example"}
    assert all(set(lead) == {"id", "email", "sfdcLeadId", "sfdcContactId"} for lead in leads)
    assert by_email["aiko@example.jp"]["sfdcLeadId"].startswith("00Q")
    assert by_email["sho.fujita@sakura-foods.example"]["sfdcContactId"].startswith("003")

    # GET /rest/v1/lead/{id}.json?fields=email&fields=lastName
    lead_id = by_email["aiko@example.jp"]["id"]
    assert mc.get_lead_by_id(lead_id, fields=["email", "lastName"]) == [
        {"id": lead_id, "email": "aiko@example.jp", "lastName": "Sato"}]

    usage = mc.get_daily_usage()
    assert usage and usage[0]["total"] >= 3
    assert proxy.hosts() == [f"{info.marketo.munchkin_id.lower()}.mktorest.com"]
    stats = sim.stats_snapshot()
    assert stats["POST /rest/v1/leads.json"] == 1 and stats[f"GET /rest/v1/lead/{lead_id}.json"] == 1


def test_identity_refuses_a_wrong_secret(through_proxy):
    sim, _ = through_proxy("marketo-sync-failed")
    info = sim.info()
    mc = MarketoClient(info.marketo.munchkin_id, info.marketo.client_id, "not-the-secret", max_retry_time=1)
    with pytest.raises(Exception, match="^Bad client credentials$"):
        mc.describe()


def test_an_unknown_token_is_601(through_proxy):
    sim, _ = through_proxy("marketo-sync-failed")
    mc = MarketoClient(sim.info().marketo.munchkin_id, access_token="0f1e2d3c-0000-4000-8000-000000000000:ab",
                       max_retry_time=1)
    with pytest.raises(MarketoException) as err:
        mc.describe()
    assert (err.value.code, err.value.message) == ("601", sim_marketo.MESSAGES["601"])


def test_a_role_without_api_access_is_603(through_proxy):
    sim, _ = through_proxy("marketo-api-denied")
    mc = _client(sim.info())
    with pytest.raises(MarketoException) as err:
        mc.get_multiple_leads_by_filter_type("email", ["nobody@example.com"])
    assert (err.value.code, err.value.message) == ("603", sim_marketo.MESSAGES["603"])


def test_a_path_marketo_does_not_serve_is_610(through_proxy):
    sim, _ = through_proxy("marketo-sync-failed")
    mc = _client(sim.info())
    with pytest.raises(MarketoException) as err:
        mc.get_smart_campaign_by_id(1001)        # an asset endpoint the demo does not serve
    assert err.value.code == "610"
