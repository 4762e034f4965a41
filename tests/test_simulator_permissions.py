"""The simulator plays a less-privileged run-as user (`run_as_permissions`) and an org without
the Metadata API (`metadata_api: false`) as Salesforce does: setup objects the user may not
read do not exist for it (INVALID_TYPE), LoginHistory and OauthToken show its own rows only,
Metadata API calls are refused with Salesforce's faults, and UserPermissionAccess tells the
user its own permissions."""
from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfdoctor import clients
from sfdoctor.metadata import MetadataError, read_metadata

VIEW_SETUP_ONLY = """
name: view-setup-only
client_ip: 203.0.113.7
salesforce:
  my_domain: acme
  edition: {edition}
  metadata_api: {metadata_api}
  run_as_permissions: {permissions}
  users:
    - {{username: admin@acme.example, password: Adm1n-pass, profile: System Administrator, admin: true}}
    - {{username: sync@acme.example, password: Sync-pass-1, profile: Standard User}}
  login_history:
    - {{username: sync@acme.example, at: -2h, status: "Failed: API security token required"}}
    - {{username: admin@acme.example, at: -3h, status: Success}}
  connected_apps:
    - {{name: Sales Insight Actions}}
  oauth_tokens:
    - {{app: Sales Insight Actions, username: sync@acme.example, use_count: 3, last_used: -1d}}
"""


@pytest.fixture
def connect(write_scenario, simulator, monkeypatch):
    def open_world(permissions="[ApiEnabled, ViewSetup]", metadata_api="true", edition="Enterprise Edition"):
        path = write_scenario(VIEW_SETUP_ONLY.format(permissions=permissions, metadata_api=metadata_api,
                                                     edition=edition))
        sim = simulator(str(path))
        monkeypatch.setenv("SFDOCTOR_DEMO_URL", sim.url)
        return clients.connect(f"demo:{path}")
    return open_world


def test_user_permission_access_tells_the_run_as_user_its_own_permissions(connect):
    conn = connect()
    (row,) = conn.sf.query("SELECT PermissionsApiEnabled, PermissionsViewSetup, PermissionsManageUsers, "
                           "PermissionsModifyAllData FROM UserPermissionAccess")["records"]
    assert (row["PermissionsApiEnabled"], row["PermissionsViewSetup"], row["PermissionsManageUsers"],
            row["PermissionsModifyAllData"]) == (True, True, False, False)


@pytest.mark.parametrize("sobject", ["UserLogin", "ConnectedApplication"])
def test_setup_objects_the_user_may_not_read_do_not_exist_for_it(connect, sobject):
    conn = connect()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        conn.sf.query(f"SELECT Id FROM {sobject}")
    assert exc.value.content[0]["errorCode"] == "INVALID_TYPE"
    assert f"sObject type '{sobject}' is not supported" in exc.value.content[0]["message"]


def test_view_setup_still_reads_profiles_ip_ranges_and_permission_sets(connect):
    conn = connect()
    for sobject in ("LoginIpRange", "PermissionSetAssignment", "PermissionSet"):
        conn.sf.query(f"SELECT Id FROM {sobject}")


def test_login_history_and_oauth_tokens_show_only_the_users_own_rows(connect):
    restricted = connect()
    names = {r["UserId"] for r in restricted.sf.query("SELECT UserId FROM LoginHistory")["records"]}
    me = restricted.sf.query("SELECT Id FROM User WHERE Username = 'admin@acme.example'")["records"][0]["Id"]
    assert names == {me}
    assert restricted.sf.query("SELECT Id FROM OauthToken")["totalSize"] == 0
    monitor = connect("[ApiEnabled, MonitorLoginHistory]")
    assert len({r["UserId"] for r in monitor.sf.query("SELECT UserId FROM LoginHistory")["records"]}) == 2


def test_metadata_api_needs_modify_metadata_or_modify_all_data(connect):
    with pytest.raises(MetadataError) as exc:
        read_metadata(connect(), "SecuritySettings", ["Security"])
    assert "INSUFFICIENT_ACCESS" in str(exc.value)
    assert "requires a user with the ModifyAllData or ModifyMetadata permissions" in str(exc.value)
    read_metadata(connect("[ApiEnabled, ModifyMetadata]"), "SecuritySettings", ["Security"])


def test_an_org_without_the_metadata_api_refuses_every_metadata_call(connect):
    conn = connect("[ApiEnabled, ModifyAllData]", metadata_api="false", edition="Professional Edition")
    with pytest.raises(MetadataError) as exc:
        read_metadata(conn, "SecuritySettings", ["Security"])
    assert "API_DISABLED_FOR_ORG" in str(exc.value)


def test_unknown_permission_is_a_load_error(write_scenario):
    from sfdoctor.demo.scenario import ScenarioError, load_scenario

    path = write_scenario(VIEW_SETUP_ONLY.format(permissions="[ApiEnabled, ViewEverything]", metadata_api="true",
                                                 edition="Enterprise Edition"))
    with pytest.raises(ScenarioError) as exc:
        load_scenario(str(path))
    assert "salesforce.run_as_permissions" in str(exc.value) and "ViewEverything" in str(exc.value)
