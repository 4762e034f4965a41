"""sfmc-sdk (npm, pinned in tests/node/package.json) against the simulator, over HTTPS to the
tenant's real host names (`{subdomain}.auth|soap|rest.marketingcloudapis.com`) through the
local TLS proxy: the installed package's token, a SOAP Retrieve of AccountUser, a REST
resource, and the 401 a REST call with an unknown token gets (docs/simulator.md)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sfdoctor.demo import mcloud

NODE_DIR = Path(__file__).parent / "node"

pytestmark = pytest.mark.node


def _node() -> str:
    node = shutil.which("node")
    if not node or not (NODE_DIR / "node_modules" / "sfmc-sdk" / "package.json").is_file():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("node or sfmc-sdk missing in tests/node: `make test` installs them")
        pytest.skip("node or sfmc-sdk not installed in tests/node (`make test` installs them)")
    return node


def test_token_retrieve_rest_and_401_through_sfmc_sdk(simulator, tls_proxy):
    node = _node()
    sim = simulator("mc-ip-not-allowlisted")
    proxy = tls_proxy(sim)
    mc = sim.info().marketing_cloud
    assert mc is not None
    config = {"client_id": mc.client_id, "client_secret": mc.client_secret, "account_id": mc.account_id,
              "auth_url": f"https://{mc.auth_host}/"}
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "SFMC_CHECK": json.dumps(config), **proxy.env()}
    done = subprocess.run([node, "sfmc_check.mjs"], cwd=NODE_DIR, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])

    assert out["token"]["type"] == "Bearer" and out["token"]["expiresIn"] == mcloud.REPORTED_EXPIRES_IN
    assert out["token"]["restUrl"] == f"https://{mc.rest_host}/"
    assert out["token"]["soapUrl"] == f"https://{mc.soap_host}/"

    assert out["users"]["status"] == "OK"
    results = out["users"]["results"]
    results = results if isinstance(results, list) else [results]
    assert {r["UserID"] for r in results} == {u.username for u in mc.users}

    assert out["context"]["organization"]["id"] == mc.account_id
    assert out["context"]["enterprise"]["id"] == mc.account_id

    bad = out["badToken"]
    assert bad["status"] == 401 and bad["body"]["errorcode"] == 0 and bad["body"]["message"] == "Not Authorized"
    assert out["badSecret"]["status"] == 401 and out["badSecret"]["code"] == "invalid_client"

    assert set(proxy.hosts()) == {mc.auth_host, mc.soap_host, mc.rest_host}
    assert mc.client_secret not in done.stdout
