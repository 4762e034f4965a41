"""jsforce (the Salesforce CLI's client library) against the simulator reached directly:
SOAP login with `loginUrl: http://127.0.0.1:PORT`, then a REST query on the serverUrl the
simulator handed back (spec: "any real client works with it as its login URL")."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ADMIN

NODE_DIR = Path(__file__).parent / "node"

pytestmark = pytest.mark.node


def _node_ready() -> str:
    """Path of node with jsforce installed into tests/node (installed once, on first use)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("node/npm not found: CI must run the jsforce conformance test")
        pytest.skip("node/npm not installed: jsforce conformance not checked")
    if not (NODE_DIR / "node_modules" / "jsforce" / "package.json").is_file():
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"npm install failed:\n{done.stderr[-2000:]}"
    return node


def test_jsforce_login_and_query(fresh_sim):
    node = _node_ready()
    done = subprocess.run([node, "jsforce_check.js", fresh_sim.url, ADMIN[0], ADMIN[1] + ADMIN[2]],
                          cwd=NODE_DIR, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["instanceUrl"] == fresh_sim.url
    assert out["organizationId"] == fresh_sim.world.org_id
    assert out["userId"].startswith("005")
    assert "admin@acme.example" in out["usernames"]
    assert out["totalSize"] == len(out["usernames"]) >= 9
    assert out["failure"]["errorCode"] == "INVALID_LOGIN" or "INVALID_LOGIN" in out["failure"]["message"]


# ------------------------------------------------------------------ OAuth through connected apps
@pytest.fixture(scope="module")
def apps_sim(tmp_path_factory):
    from conftest import simulator_on
    from test_simulator_oauth_apps import SCENARIO

    with simulator_on(SCENARIO, tmp_path_factory.mktemp("jsforce-apps"), "oauth-apps") as sim:
        yield sim


def test_jsforce_meets_salesforces_oauth_errors(apps_sim):
    """jsforce raises an Error whose name is Salesforce's `error` and whose message is its
    `error_description`: the same pairs a real org sends (reference §2.1-2.2)."""
    from test_simulator_oauth_apps import KEY

    node = _node_ready()
    attempts = [
        {"id": "cc_ok", "flow": "client_credentials", "clientId": "3MVG9etl", "clientSecret": "etl-secret-1"},
        {"id": "cc_bad_secret", "flow": "client_credentials", "clientId": "3MVG9etl", "clientSecret": "rotated"},
        {"id": "cc_no_run_as", "flow": "client_credentials", "clientId": "3MVG9norunas", "clientSecret": "s2"},
        {"id": "cc_unknown", "flow": "client_credentials", "clientId": "3MVG9nope", "clientSecret": "x"},
        {"id": "jwt_ok", "flow": "jwt_bearer", "clientId": "3MVG9etl", "username": "etl@acme.example"},
        {"id": "jwt_not_approved", "flow": "jwt_bearer", "clientId": "3MVG9etl", "username": "other@acme.example"},
        {"id": "refresh_stale", "flow": "refresh_token", "clientId": "3MVG9etl", "refreshToken": "stale-rt"},
        {"id": "password_not_approved", "flow": "password", "clientId": "3MVG9etl", "clientSecret": "etl-secret-1",
         "username": "other@acme.example", "password": "Other-pass-1"},
        {"id": "authorize_blocked", "flow": "authorize", "clientId": "3MVG9blocked",
         "redirectUri": "https://blocked.example/cb", "username": "etl@acme.example"},
    ]
    done = subprocess.run([node, "jsforce_oauth.js", apps_sim.url, json.dumps({"attempts": attempts, "key": KEY})],
                          cwd=NODE_DIR, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["cc_ok"]["ok"] and out["cc_ok"]["totalSize"] >= 6
    assert out["jwt_ok"]["ok"]
    expected = {
        "cc_bad_secret": ("invalid_client", "invalid client credentials"),
        "cc_no_run_as": ("invalid_grant", "no client credentials user enabled"),
        "cc_unknown": ("invalid_client_id", "client identifier invalid"),
        "jwt_not_approved": ("invalid_grant", "user hasn't approved this consumer"),
        "refresh_stale": ("invalid_grant", "expired access/refresh token"),
        "password_not_approved": ("invalid_app_access", "user is not admin approved to access this app"),
    }
    for key, (name, message) in expected.items():
        assert (out[key]["name"], out[key]["message"]) == (name, message), (key, out[key])
    location = out["authorize_blocked"]["location"]
    assert location.startswith("https://blocked.example/cb?") and "error=OAUTH_APP_BLOCKED" in location
    assert "state=xyz" in location
