"""The real-org path, end to end, with the production code unchanged: `sfdoctor run` and
`sfdoctor orgs` in their own processes, an orgs file as an admin writes it, secrets in
environment variables, and HTTPS to the real host names (acme.my.salesforce.com,
*.mktorest.com, *.marketingcloudapis.com) through a local TLS-terminating proxy (tests/
tls_proxy.py: a trustme CA made at test time, HTTPS_PROXY, REQUESTS_CA_BUNDLE) to the simulator.

Covered: the four runbooks; sfdoctor's own sign-in by client credentials (production and
sandbox), by the Salesforce CLI (a fake answering in the older output shape, which puts the
token in `sf org display`), and every configuration mistake of spec/cli.md giving exit 2 in
one line with no report. Nothing here patches sfdoctor.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sfdoctor.demo.store import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

pytestmark = pytest.mark.notebook

FAKE_SF = Path(__file__).parent / "fixtures" / "fake_sf"
SFDOCTOR = [sys.executable, "-m", "sfdoctor.cli"]


class RealOrg:
    """An orgs file plus the environment an admin's shell would have, aimed at one proxy."""

    def __init__(self, tmp: Path, proxy: Any):
        self.tmp = tmp
        self.proxy = proxy
        self.orgs = tmp / "orgs.toml"
        self.out = tmp / "reports"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SFDOCTOR_DEMO", "FAKE_SF"))}
        self.env.update(proxy.env())
        self.env.update({"SFDOCTOR_ORGS": str(self.orgs), "SFDOCTOR_LANG": "en", "HOME": str(tmp / "home")})
        (tmp / "home").mkdir(exist_ok=True)
        self.secrets: set[str] = set()

    def secret(self, name: str, value: str) -> str:
        self.env[name] = value
        self.secrets.add(value)
        return name

    def sfdoctor(self, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([*SFDOCTOR, *argv], capture_output=True, text=True, env=self.env, timeout=timeout)

    def run(self, runbook: str, org: str, *params: str) -> tuple[subprocess.CompletedProcess, dict | None]:
        args = ["run", runbook, "--org", org, "--out", str(self.out), "--json"]
        for p in params:
            args += ["-p", p]
        done = self.sfdoctor(*args)
        findings = json.loads(done.stdout) if done.stdout.strip().startswith("{") else None
        return done, findings

    def assert_no_secret_written(self) -> None:
        for path in [*self.out.rglob("*")] if self.out.exists() else []:
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")
                for value in self.secrets:
                    assert value not in text, f"{value[:3]}... leaked into {path}"


def cc_entry(my_domain: str, sandbox: bool = False) -> str:
    return (f'my_domain = "{my_domain}"\nauth = "client_credentials"\nclient_id_env = "ACME_CLIENT_ID"\n'
            f'client_secret_env = "ACME_CLIENT_SECRET"\n' + ("sandbox = true\n" if sandbox else ""))


@pytest.fixture
def real(tmp_path, simulator, tls_proxy):
    def world(scenario: str, resolves: Any = None) -> tuple[RealOrg, Any]:
        sim = simulator(scenario)
        org = RealOrg(tmp_path, tls_proxy(sim, resolves=resolves))
        org.secret("ACME_CLIENT_ID", DEMO_CLIENT_ID)
        org.secret("ACME_CLIENT_SECRET", DEMO_CLIENT_SECRET)
        return org, sim
    return world


# ------------------------------------------------------------------ the four runbooks

def test_security_token_required_over_https(real):
    org, sim = real("token-missing")
    org.orgs.write_text("[orgs.acme]\n" + cc_entry("acme.my.salesforce.com")
                        + '[orgs.acme.probe]\nusername = "sync@acme.example"\npassword_env = "ACME_SYNC_PASSWORD"\n')
    org.secret("ACME_SYNC_PASSWORD", "Sync-pass-1")
    done, findings = org.run("security-token-required", "acme", "username=sync@acme.example")
    assert done.returncode == 1, done.stderr
    assert findings["root_causes"] == ["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"]
    assert findings["org"] == "acme"
    org.assert_no_secret_written()


def test_sia_auth_failure_over_https(real):
    org, sim = real("sia-oauth-blocked")
    org.orgs.write_text("[orgs.acme]\n" + cc_entry("acme.my.salesforce.com"))
    url = ("https://toutapp.com/auth/salesforce/failure?error=OAUTH_APP_BLOCKED"
           "&error_description=this+app+is+blocked+by+admin")
    done, findings = org.run("sia-auth-failure", "acme", f"error_url={url}", "username=kenji.mori@acme.example",
                             "oauth_usage_button=unblock")
    assert done.returncode == 1, done.stderr
    assert findings["root_causes"] == ["OAUTH_APP_BLOCKED"]
    org.assert_no_secret_written()


def test_marketo_sync_setup_over_https(real):
    org, sim = real("marketo-sync-failed")
    info = sim.world.scenario
    org.orgs.write_text(
        "[orgs.kt]\n" + cc_entry("kobayashi-trading.my.salesforce.com")
        + '[orgs.kt.probe]\nusername = "marketo@kobayashi-trading.example"\npassword_env = "KT_SYNC_PASSWORD"\n'
          'token_env = "KT_SYNC_TOKEN"\n'
        + f'[orgs.kt.marketo]\nmunchkin_id = "{info.marketo.munchkin_id}"\nclient_id = "{info.marketo.client_id}"\n'
          'client_secret_env = "KT_MKTO_SECRET"\n')
    org.secret("KT_SYNC_PASSWORD", "Mkto-sync-2")
    org.secret("KT_SYNC_TOKEN", "OLDtokenOLD0")          # Marketo still holds the old token
    org.secret("KT_MKTO_SECRET", info.marketo.client_secret)
    done, findings = org.run("marketo-sync-setup", "kt", "username=marketo@kobayashi-trading.example",
                             "fields_not_to_sync=Lead.AnnualRevenue", "marketo_sync_status=Failed")
    assert done.returncode == 1, done.stderr
    assert findings["root_causes"] == ["SYNC_USER_LOGIN_FAILED", "MARKETO_FIELDS_MISSING", "SYNC_FAILED"]
    org.assert_no_secret_written()


def test_marketing_cloud_only_org_over_https(real):
    """An orgs entry with only [marketing_cloud]: no Salesforce app, no Salesforce sign-in."""
    org, sim = real("mc-ip-not-allowlisted")
    mc = sim.world.scenario.marketing_cloud
    org.orgs.write_text(f'[orgs.mc]\n[orgs.mc.marketing_cloud]\nsubdomain = "{mc.subdomain}"\n'
                        f'client_id = "{mc.client_id}"\nclient_secret_env = "MC_SECRET"\n'
                        'user_password_env = "MC_DC_PASSWORD"\n')
    org.secret("MC_SECRET", mc.client_secret)
    org.secret("MC_DC_PASSWORD", "Mc-pass-1")
    done, findings = org.run("mc-missing-oauth-token", "mc", "mc_username=dc-integration",
                             "ip_allowlist_enabled=on", "ip_allowlist=198.51.100.0-198.51.100.255",
                             "data_cloud_ips=203.0.113.40\n203.0.113.41", "password_expires_in=90",
                             "exclude_api_users=no")
    assert done.returncode == 1, done.stderr
    assert "MC_IP_NOT_ALLOWLISTED" in findings["root_causes"]
    hosts = org.proxy.hosts()
    assert any(h.endswith(".marketingcloudapis.com") for h in hosts)
    assert not any(h.endswith(".salesforce.com") for h in hosts)
    org.assert_no_secret_written()


# ------------------------------------------------------------------ sign-in kinds

def test_sandbox_client_credentials_and_orgs_check(real, write_scenario):
    path = write_scenario("name: uat\nsalesforce:\n  my_domain: acme\n  sandbox: uat\n")
    org, sim = real(str(path))
    org.orgs.write_text("[orgs.uat]\n" + cc_entry("acme--uat.sandbox.my.salesforce.com", sandbox=True))
    done = org.sfdoctor("orgs", "check", "uat", "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["edition"] == "Enterprise Edition" and "ApiEnabled" in status["permissions"]
    assert DEMO_CLIENT_SECRET not in done.stdout + done.stderr


def test_older_salesforce_cli_shape_over_https(real, tmp_path):
    """A CLI that still prints the token in `sf org display --json` (before plugin-org 5.11.1)."""
    org, sim = real("token-missing")
    token = _client_credentials_token(org)
    store = tmp_path / "sf-store.json"
    store.write_text(json.dumps({"acme": {"accessToken": token, "username": "admin@acme.example",
                                          "instanceUrl": "https://acme.my.salesforce.com/"}}))
    org.secrets.add(token)
    org.env.update({"PATH": f"{FAKE_SF}:{org.env.get('PATH', '/usr/bin:/bin')}", "FAKE_SF_STORE": str(store),
                    "FAKE_SF_LOG": str(tmp_path / "sf.log"), "FAKE_SF_SHAPE": "older", "FORCE_COLOR": "1"})
    assert org.sfdoctor("orgs", "add", "acme", "--sf-cli", "acme").returncode == 0
    done = org.sfdoctor("orgs", "check", "acme")
    assert done.returncode == 0, done.stderr
    assert token not in done.stdout + done.stderr


def _client_credentials_token(org: RealOrg) -> str:
    """An access token from the simulator's client-credentials flow, fetched through the proxy."""
    import requests

    session = requests.Session()
    session.trust_env = False
    session.proxies = {"https": org.env["HTTPS_PROXY"]}
    resp = session.post("https://acme.my.salesforce.com/services/oauth2/token",
                        data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID,
                              "client_secret": DEMO_CLIENT_SECRET}, verify=org.env["REQUESTS_CA_BUNDLE"])
    resp.raise_for_status()
    return resp.json()["access_token"]


# ------------------------------------------------------------------ configuration mistakes: exit 2, one line

@pytest.mark.parametrize("mistake,expected", [
    ("secret", "invalid_client"),
    ("client_id", "invalid_client_id"),
    ("unset", "ACME_CLIENT_SECRET is not set"),
    ("my_domain", "acme-typo.my.salesforce.com does not exist"),
])
def test_configuration_mistakes_are_one_line_exit_2(real, mistake, expected):
    org, sim = real("token-missing", resolves=lambda host: not host.startswith("acme-typo."))
    domain = "acme-typo.my.salesforce.com" if mistake == "my_domain" else "acme.my.salesforce.com"
    org.orgs.write_text("[orgs.acme]\n" + cc_entry(domain))
    if mistake == "secret":
        org.secret("ACME_CLIENT_SECRET", "wrong-secret-0")
    elif mistake == "client_id":
        org.env["ACME_CLIENT_ID"] = "3MVG9notAnAppOfThisOrg"
    elif mistake == "unset":
        org.env.pop("ACME_CLIENT_SECRET")
    done, findings = org.run("sia-auth-failure", "acme")
    lines = [line for line in done.stderr.splitlines() if not line.startswith("sfdoctor: resolving org")]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert not org.out.exists()
    assert not any(s in done.stderr for s in org.secrets)
