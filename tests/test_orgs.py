"""orgs.py: `--org` resolution and the orgs file, including every one-line error."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sfdoctor import orgs
from sfdoctor.errors import BadInput, OrgConfigError
from sfdoctor.orgs import list_orgs, resolve

GOOD = """
[orgs.production]
login_host = "login.salesforce.com"
my_domain = "acme.my.salesforce.com"
sandbox = false
auth = "client_credentials"
client_id_env = "SFDOCTOR_PROD_CLIENT_ID"
client_secret_env = "SFDOCTOR_PROD_CLIENT_SECRET"

[orgs.production.probe]
username = "sync@acme.example"
password_env = "SFDOCTOR_PROBE_PASSWORD"
token_keyring = "sfdoctor:sync@acme.example"

[orgs.production.marketo]
munchkin_id = "123-ABC-456"
client_id_env = "MKTO_ID"
client_secret_env = "MKTO_SECRET"

[orgs."UAT Sandbox"]
login_host = "test.salesforce.com"
sandbox = true
auth = "jwt"
username = "admin@acme.example.uat"
private_key_file = "~/.keys/server.key"
client_id_env = "UAT_CID"

[orgs.cli]
auth = "sf_cli"
alias = "prod"
"""


@pytest.fixture
def orgs_file(tmp_path, monkeypatch):
    def write(text: str) -> Path:
        path = tmp_path / "orgs.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        monkeypatch.setenv("SFDOCTOR_ORGS", str(path))
        return path
    return write


@pytest.fixture
def builtin(tmp_path, monkeypatch):
    d = tmp_path / "scenarios"
    d.mkdir()
    (d / "token-missing.yml").write_text("name: token-missing\n")
    (d / "healthy.yml").write_text("name: healthy\n")
    monkeypatch.setattr(orgs, "builtin_scenario_dir", lambda: d)
    return d


def one_line(exc: pytest.ExceptionInfo) -> str:
    line = exc.value.one_line()
    assert "\n" not in line
    assert isinstance(exc.value, BadInput)  # exit 2
    return line


# ------------------------------------------------------------------ demo

def test_demo_uses_the_runbooks_default_scenario(builtin):
    ref = resolve("demo", "token-missing")
    assert (ref.name, ref.kind, ref.slug, ref.scenario_ref) == ("demo", "demo", "demo-token-missing", "token-missing")
    assert ref.is_demo and ref.config == {}


def test_demo_accepts_a_runbook_spec_or_name(builtin):
    class Spec:
        default_scenario = "healthy"
    assert resolve("demo", runbook=Spec()).scenario_ref == "healthy"
    assert resolve("demo", runbook="token-missing").scenario_ref == "token-missing"
    assert resolve("demo", runbook={"default_scenario": "healthy"}).scenario_ref == "healthy"
    assert resolve("demo").scenario_ref is None and resolve("demo").slug == "demo"


def test_demo_name(builtin):
    ref = resolve("demo:token-missing")
    assert ref.name == "demo:token-missing" and ref.slug == "demo-token-missing"
    assert ref.scenario_ref == "token-missing"


def test_demo_unknown_name_lists_builtins(builtin):
    with pytest.raises(OrgConfigError) as exc:
        resolve("demo:nope")
    line = one_line(exc)
    assert "unknown demo scenario 'nope'" in line and "healthy, token-missing" in line


def test_demo_path(tmp_path, builtin):
    f = tmp_path / "My World.yml"
    f.write_text("name: x\n")
    ref = resolve(f"demo:{f}")
    assert ref.scenario_ref == str(f.resolve()) and ref.slug == "demo-my-world"


def test_demo_missing_path(tmp_path):
    with pytest.raises(OrgConfigError) as exc:
        resolve(f"demo:{tmp_path}/missing.yml")
    assert "scenario file not found" in one_line(exc)


@pytest.mark.parametrize("org", ["", "demo:", "demo:bad name!"])
def test_bad_demo_forms(org, builtin):
    with pytest.raises(OrgConfigError) as exc:
        resolve(org)
    one_line(exc)


# ------------------------------------------------------------------ orgs file

def test_real_org_from_file(orgs_file):
    orgs_file(GOOD)
    ref = resolve("production")
    assert (ref.kind, ref.slug, ref.scenario_ref) == ("real", "production", None)
    assert ref.config["my_domain"] == "acme.my.salesforce.com"
    assert ref.config["probe"]["password_env"] == "SFDOCTOR_PROBE_PASSWORD"
    assert orgs.login_host_of(ref) == "login.salesforce.com"
    uat = resolve("UAT Sandbox")
    assert uat.slug == "uat-sandbox" and orgs.login_host_of(uat) == "test.salesforce.com"
    assert [r.name for r in list_orgs()] == ["production", "UAT Sandbox", "cli"]


def test_unknown_org(orgs_file):
    orgs_file(GOOD)
    with pytest.raises(OrgConfigError) as exc:
        resolve("staging")
    line = one_line(exc)
    assert line.startswith("unknown org 'staging'") and "demo / demo:NAME" in line


def test_unknown_org_without_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SFDOCTOR_ORGS", str(tmp_path / "none.toml"))
    with pytest.raises(OrgConfigError) as exc:
        resolve("production")
    assert "unknown org 'production'" in one_line(exc)
    assert list_orgs() == []


def test_default_orgs_file_location(monkeypatch, tmp_path):
    monkeypatch.delenv("SFDOCTOR_ORGS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert orgs.orgs_file() == tmp_path / ".config" / "sfdoctor" / "orgs.toml"
    with pytest.raises(OrgConfigError) as exc:
        resolve("x")
    assert "~/.config/sfdoctor/orgs.toml" in one_line(exc)


def test_invalid_toml(orgs_file):
    orgs_file("[orgs.production\nx = 1")
    with pytest.raises(OrgConfigError) as exc:
        resolve("production")
    assert "not valid TOML" in one_line(exc)


@pytest.mark.parametrize("key,value", [
    ("password", '"hunter22"'),
    ("client_secret", '"abc123"'),
    ("security_token", '"TOKEN"'),
    ("access_token", '"00D...!x"'),
])
def test_literal_secret_is_refused(orgs_file, key, value):
    orgs_file(f'[orgs.p]\nauth = "sf_cli"\nalias = "a"\n[orgs.p.probe]\n{key} = {value}\n')
    with pytest.raises(OrgConfigError) as exc:
        resolve("p")
    line = one_line(exc)
    assert f"orgs.p.probe.{key} holds a literal secret" in line
    assert f"{key}_env" in line and f"{key}_keyring" in line
    assert value.strip('"') not in line


def test_literal_secret_refused_even_for_another_org(orgs_file):
    orgs_file('[orgs.a]\nauth = "sf_cli"\nalias = "a"\n[orgs.b]\nauth = "sf_cli"\nalias = "b"\nclient_secret = "x1"\n')
    with pytest.raises(OrgConfigError, match="orgs.b.client_secret"):
        resolve("a")


@pytest.mark.parametrize("body,expected", [
    ('auth = "password"', "auth = 'password' is not supported"),
    ('auth = "client_credentials"\nclient_id_env = "A"\nclient_secret_env = "B"', "my_domain is required"),
    ('auth = "client_credentials"\nmy_domain = "https://acme.my.salesforce.com"', "my_domain must be a host"),
    ('auth = "client_credentials"\nmy_domain = "acme.my.salesforce.com"\nclient_secret_env = "B"',
     "client_id_env (or client_id_keyring) is required"),
    ('auth = "client_credentials"\nmy_domain = "acme.my.salesforce.com"\nclient_id = "A"',
     "client_secret_env or client_secret_keyring is required"),
    ('auth = "jwt"\nprivate_key_file = "k"\nclient_id_env = "A"', "username is required"),
    ('auth = "jwt"\nusername = "u"\nclient_id_env = "A"', "private_key_file is required"),
    ('auth = "sf_cli"', "alias is required"),
    ('auth = "sf_cli"\nalias = "a"\nsandbox = "yes"', "sandbox must be true or false"),
    ('auth = "sf_cli"\nalias = "a"\nprobe = "x"', "probe must be a table"),
    ('auth = "sf_cli"\nalias = "a"\nclient_secret_keyring = "nocolon"', 'must be "service:account"'),
    ('auth = "sf_cli"\nalias = "a"\ntoken_env = ""', "must name an environment variable"),
])
def test_each_config_error_is_one_line(orgs_file, body, expected):
    orgs_file(f"[orgs.p]\n{body}\n")
    with pytest.raises(OrgConfigError) as exc:
        resolve("p")
    assert expected in one_line(exc)


def test_orgs_must_be_tables(orgs_file):
    orgs_file('orgs = "x"\n')
    with pytest.raises(OrgConfigError, match="must be tables"):
        resolve("p")


def test_slugify():
    assert orgs.slugify("Prod / EU #1") == "prod-eu-1"
    assert orgs.slugify("///") == "org"


def test_a_fact_about_a_secret_is_not_a_literal_secret(orgs_file):
    """`password_expires_in = "90"` is the Marketing Cloud password policy's answer, no secret."""
    orgs_file('[orgs.mc]\nauth = "sf_cli"\nalias = "a"\n[orgs.mc.params.mc-missing-oauth-token]\npassword_expires_in = "90"\n'
              '[orgs.mc.marketing_cloud]\nsubdomain = "mc7xk2abcd0q1w2e3r4t5y6u7i8p"\nclient_id = "c"\n'
              'client_secret_env = "MC_SECRET"\n')
    assert orgs.resolve("mc").config["params"]["mc-missing-oauth-token"]["password_expires_in"] == "90"


def test_sfdx_url_needs_a_reference_never_the_url(orgs_file):
    orgs_file('[orgs.n]\nauth = "sfdx_url"\nauth_url_env = "ACME_SFDX_AUTH_URL"\n')
    assert orgs.resolve("n").config["auth"] == "sfdx_url"
    orgs_file('[orgs.n]\nauth = "sfdx_url"\n')
    with pytest.raises(OrgConfigError, match="auth_url_env"):
        orgs.resolve("n")
    orgs_file('[orgs.n]\nauth = "sfdx_url"\nauth_url = "force://a::b@acme.my.salesforce.com"\n')
    with pytest.raises(OrgConfigError, match="literal secret"):
        orgs.resolve("n")
