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
