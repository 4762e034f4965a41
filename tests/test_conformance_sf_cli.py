"""The real Salesforce CLI (npm `@salesforce/cli`, pinned in tests/node/package.json) against
the simulator, over HTTPS to `acme.my.salesforce.com` through the local TLS proxy.

`sf org login access-token` stores the instance URL with a trailing slash, so every later
call goes to `//services/data/...` (docs/simulator.md): `sf org display` must say
Connected, and `sf data query` must read the setup objects the runbooks read. The CLI runs
with its home and config in a temporary directory, NO_COLOR=1 and JSON on stdout."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import routed_session
from sfdoctor.demo.store import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

NODE_DIR = Path(__file__).parent / "node"
SF = NODE_DIR / "node_modules" / ".bin" / "sf"

pytestmark = pytest.mark.node

# Setup objects the runbooks read, one query each as an admin would type it.
QUERIES = {
    "Organization": "SELECT Id, Name, OrganizationType, IsSandbox FROM Organization",
    "User": "SELECT Username, IsActive, Profile.Name FROM User ORDER BY Username",
    "LoginHistory": "SELECT UserId, Status, LoginType FROM LoginHistory ORDER BY LoginTime DESC LIMIT 5",
    "PermissionSetAssignment": "SELECT Assignee.Username, PermissionSet.Name FROM PermissionSetAssignment",
}


def _cli() -> Path:
    if not SF.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the Salesforce CLI is not installed in tests/node: `make test` installs it")
        pytest.skip("the Salesforce CLI is not installed in tests/node (`make test` installs it)")
    return SF


def _access_token(sim) -> str:
    """sfdoctor's demo app's token (client credentials), as `sf org login access-token` takes one."""
    resp = routed_session(sim).post(f"https://{sim.world.my_domain_host}/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET})
    resp.raise_for_status()
    return resp.json()["access_token"]


def _run(sf: Path, args: list[str], env: dict[str, str]) -> dict:
    done = subprocess.run([str(sf), *args, "--json"], env=env, capture_output=True, text=True, timeout=180)
    assert done.stdout.strip(), done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["status"] == 0, out
    return out["result"]


def test_login_display_and_query_through_the_real_cli(simulator, tls_proxy, tmp_path):
    sf = _cli()
    sim = simulator("token-missing")
    proxy = tls_proxy(sim)
    token = _access_token(sim)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
        "NO_COLOR": "1", "SF_JSON_TO_STDOUT": "true", "SF_DISABLE_TELEMETRY": "true",
        "SF_AUTOUPDATE_DISABLE": "true", "SF_SKIP_NEW_VERSION_CHECK": "true", "SF_USE_PROGRESS_BAR": "false",
        "SF_DISABLE_DNS_CHECK": "true", "SF_ACCESS_TOKEN": token, **proxy.env(),
    }
    host = sim.world.my_domain_host

    login = _run(sf, ["org", "login", "access-token", "--instance-url", f"https://{host}",
                      "--alias", "demo", "--no-prompt"], env)
    assert login["orgId"] == sim.world.org_id and login["instanceUrl"].rstrip("/") == f"https://{host}"

    display = _run(sf, ["org", "display", "--target-org", "demo"], env)
    assert display["connectedStatus"] == "Connected", display["connectedStatus"]
    assert display["id"] == sim.world.org_id

    results = {sobject: _run(sf, ["data", "query", "--target-org", "demo", "--query", soql], env)
               for sobject, soql in QUERIES.items()}
    for sobject, result in results.items():
        assert result["totalSize"] == len(result["records"]) >= 1, sobject
        assert all(r["attributes"]["type"] == sobject for r in result["records"])
    users = results["User"]["records"]
    assert {"admin@acme.example", "sync@acme.example"} <= {u["Username"] for u in users}
    assert all(u["Profile"]["Name"] for u in users)          # a parent relationship's column
    assert results["Organization"]["records"][0]["Id"] == sim.world.org_id
    # every call went over HTTPS to the org's own host; the doubled slash reached the same resources
    assert proxy.hosts() == [host]
    stats = sim.stats_snapshot()
    assert stats["GET /services/data/vXX.X/query"] >= len(QUERIES) + 1
    assert not any(key.startswith("GET //") for key in stats)
