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


@pytest.mark.parametrize("lang, says", [("ja", "{user} 本人のパスワードとトークンが必要ですが"),
                                        ("en", "a login probe needs {user}'s own password and token")])
def test_security_token_without_a_username_probes_only_with_that_users_own_credentials(real, lang, says):
    """No username: the login history names the user failing most (sync@acme.example). The orgs
    file holds another user's credentials, so nothing is tried on sync's account: the probe is a
    manual step (not_checked), and the diagnosis comes from the history and setup."""
    org, sim = real("token-missing")
    org.orgs.write_text("[orgs.acme]\n" + cc_entry("acme.my.salesforce.com")
                        + '[orgs.acme.probe]\nusername = "admin@acme.example"\npassword_env = "ACME_ADMIN_PASSWORD"\n')
    org.secret("ACME_ADMIN_PASSWORD", "Adm1n-pass")
    before = dict(sim.stats)
    done = org.sfdoctor("run", "security-token-required", "--org", "acme", "--out", str(org.out), "--json",
                        "--lang", lang)
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)
    by_id = {c["id"]: c for c in findings["checks"]}
    assert by_id["failing-users"]["evidence"]["diagnosed"] == "sync@acme.example"
    probe = by_id["probe-login-password-only"]
    assert probe["status"] == "manual" and probe["evidence"]["login_attempts"] == 0
    assert says.format(user="sync@acme.example") in probe["summary"]
    assert "probe-login-password-only" in findings["not_checked"]
    assert findings["root_causes"] == ["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"]          # from the history
    soap = sum(n for k, n in sim.stats.items() if "Soap/u" in k) - sum(n for k, n in before.items() if "Soap/u" in k)
    assert soap == 0                                    # no login tried on anyone's account
    org.assert_no_secret_written()

    if lang == "ja":
        return
    # With that user's own credentials in [orgs.acme.probe], the found user is probed.
    org.orgs.write_text("[orgs.acme]\n" + cc_entry("acme.my.salesforce.com")
                        + '[orgs.acme.probe]\nusername = "sync@acme.example"\npassword_env = "ACME_SYNC_PASSWORD"\n')
    org.secret("ACME_SYNC_PASSWORD", "Sync-pass-1")
    done, findings = org.run("security-token-required", "acme")
    assert done.returncode == 1, done.stderr
    by_id = {c["id"]: c for c in findings["checks"]}
    assert (by_id["probe-login-password-only"]["status"], by_id["probe-login-password-only"]["cause"]) == \
        ("fail", "TOKEN_MISSING")
    assert "probe-login-password-only" not in findings["not_checked"]
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


# ------------------------------------------------------------------ the real Salesforce CLI

SF_BIN = Path(__file__).parent / "node" / "node_modules" / ".bin"


@pytest.mark.node
def test_the_real_salesforce_cli_signs_sfdoctor_in(real, tmp_path):
    """npm `@salesforce/cli` (tests/node), logged in with `sf org login access-token` through the
    proxy; its `org display` redacts the token since plugin-org 5.11.1, so sfdoctor must get it from
    `org auth show-access-token`. FORCE_COLOR=1 as ipykernel sets it for every subprocess."""
    if not (SF_BIN / "sf").exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the Salesforce CLI is not installed in tests/node: `make test` installs it")
        pytest.skip("the Salesforce CLI is not installed in tests/node (`make test` installs it)")
    org, sim = real("token-missing")
    token = _client_credentials_token(org)
    org.secrets.add(token)
    org.env.update({"PATH": f"{SF_BIN}:{org.env.get('PATH', '/usr/bin:/bin')}", "SF_ACCESS_TOKEN": token,
                    "SF_DISABLE_TELEMETRY": "true", "SF_AUTOUPDATE_DISABLE": "true", "FORCE_COLOR": "1",
                    "SF_DISABLE_DNS_CHECK": "true"})   # the CLI resolves the My Domain itself; no DNS here
    plain = {k: v for k, v in org.env.items() if k != "FORCE_COLOR"}
    login = subprocess.run(["sf", "org", "login", "access-token", "--instance-url", "https://acme.my.salesforce.com",
                            "--alias", "acme-cli", "--no-prompt", "--json"], capture_output=True, text=True,
                           env={**plain, "NO_COLOR": "1", "SF_JSON_TO_STDOUT": "true"}, timeout=300)
    assert login.returncode == 0, login.stdout[-1500:] + login.stderr[-1500:]
    display = subprocess.run(["sf", "org", "display", "--target-org", "acme-cli", "--json"], capture_output=True,
                             text=True, env={**plain, "NO_COLOR": "1", "SF_JSON_TO_STDOUT": "true"}, timeout=300)
    shown = json.loads(display.stdout)
    assert shown.get("status") == 0, display.stdout[-1500:] + display.stderr[-1500:]
    assert shown["result"]["accessToken"].startswith("[REDACTED]")
    added = org.sfdoctor("orgs", "add", "acme", "--sf-cli", "acme-cli")
    assert added.returncode == 0, added.stderr
    org.orgs.write_text(org.orgs.read_text() + '[orgs.acme.probe]\nusername = "sync@acme.example"\n'
                        'password_env = "ACME_SYNC_PASSWORD"\n')
    org.secret("ACME_SYNC_PASSWORD", "Sync-pass-1")
    done, findings = org.run("security-token-required", "acme", "username=sync@acme.example")
    assert done.returncode == 1, done.stderr
    assert findings["root_causes"] == ["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"]
    org.assert_no_secret_written()
    assert token not in done.stderr + done.stdout


# ------------------------------------------------------------------ JWT bearer and SFDX auth URL

def _key_and_certificate(tmp: Path) -> tuple[Path, str]:
    """A private key file and its self-signed certificate (PEM), made now, as an admin makes them
    for an app's "Use digital signatures"."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sfdoctor")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    path = tmp / "server.key"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path, cert.public_bytes(serialization.Encoding.PEM).decode()


OWN_APPS = """
name: own-apps
client_ip: 203.0.113.7
salesforce:
  my_domain: acme
  users:
    - {{username: admin@acme.example, password: Adm1n-pass, security_token: AAAAtokenAAAA,
       profile: System Administrator, admin: true}}
  connected_apps:
    - name: sfdoctor JWT
      kind: external_client_app
      consumer_key: 3MVG9sfdoctorJWTkey
      flows: [jwt_bearer]
      admin_approved_only: true
      profiles: [System Administrator]
      certificate: |
{certificate}
    - name: sfdoctor CLI
      consumer_key: PlatformCLI
      flows: [refresh_token, web_server]
  oauth_tokens:
    - {{app: sfdoctor CLI, username: admin@acme.example, refresh_token: 5Aep861sfdoctorREFRESHtoken, use_count: 3,
       last_used: -1d}}
"""


@pytest.fixture
def own_apps(tmp_path, write_scenario, real):
    key, cert = _key_and_certificate(tmp_path)
    (tmp_path / "other").mkdir()
    other_key, _ = _key_and_certificate(tmp_path / "other")
    path = write_scenario(OWN_APPS.format(certificate="\n".join("        " + line for line in cert.splitlines())))
    org, sim = real(str(path))
    return org, key, other_key


def test_jwt_bearer_signed_by_the_apps_key(own_apps):
    org, key, other_key = own_apps
    org.secret("ACME_JWT_CLIENT_ID", "3MVG9sfdoctorJWTkey")
    org.orgs.write_text(f'[orgs.acme]\nauth = "jwt"\nmy_domain = "acme.my.salesforce.com"\n'
                        f'username = "admin@acme.example"\nprivate_key_file = "{key}"\n'
                        'client_id_env = "ACME_JWT_CLIENT_ID"\n'
                        f'[orgs.other]\nauth = "jwt"\nusername = "admin@acme.example"\n'
                        f'private_key_file = "{other_key}"\nclient_id_env = "ACME_JWT_CLIENT_ID"\n')
    done = org.sfdoctor("orgs", "check", "acme", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["username"] == "admin@acme.example"
    wrong = org.sfdoctor("orgs", "check", "other")       # a key whose certificate the app does not hold
    lines = [line for line in wrong.stderr.splitlines() if not line.startswith("checking")]
    assert wrong.returncode == 2 and len(lines) == 1 and "refused" in lines[0], wrong.stderr


def test_sfdx_auth_url_refresh_token(own_apps):
    org, _, _ = own_apps
    org.secret("ACME_SFDX_AUTH_URL", "force://PlatformCLI::5Aep861sfdoctorREFRESHtoken@acme.my.salesforce.com")
    org.orgs.write_text('[orgs.acme]\nauth = "sfdx_url"\nauth_url_env = "ACME_SFDX_AUTH_URL"\n')
    done = org.sfdoctor("orgs", "check", "acme", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["username"] == "admin@acme.example"
    assert "5Aep861" not in done.stdout + done.stderr
    org.secret("ACME_SFDX_AUTH_URL", "force://PlatformCLI::5Aep861revokedTOKEN@acme.my.salesforce.com")
    refused = org.run("sia-auth-failure", "acme")[0]
    assert refused.returncode == 2 and "show-sfdx-auth-url" in refused.stderr
    assert not org.out.exists()
