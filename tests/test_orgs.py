"""orgs.py: `--org` resolution and the orgs file, including every one-line error."""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
from config_errors import said_in_both_languages

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


def one_line(exc: pytest.ExceptionInfo, lang: str = "en") -> str:
    line = exc.value.one_line(lang)
    assert "\n" not in line
    assert isinstance(exc.value, BadInput)  # exit 2
    said_in_both_languages(exc.value)
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
    with pytest.raises(OrgConfigError, match="orgs.b.client_secret") as exc:
        resolve("a")
    assert "orgs.b.client_secret" in one_line(exc, "ja") and "秘密情報の値" in one_line(exc, "ja")


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
    with pytest.raises(OrgConfigError, match="must be tables") as exc:
        resolve("p")
    assert "[orgs.production]" in one_line(exc, "ja")


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


# ------------------------------------------------------------------ every error, in both languages

@pytest.mark.parametrize("body,en,ja", [
    ('demo = ""', "orgs.p.demo must name a scenario file", "orgs.p.demo にはシナリオファイル"),
    ('[orgs.p.probe]\nusername = "u"', "orgs.p configures no sign-in", "orgs.p にサインインの設定がありません"),
    ('auth = "sf_cli"\nalias = "a"\nlogin_host = "https://login.salesforce.com/"', "orgs.p.login_host must be a host name",
     "orgs.p.login_host にはホスト名を"),
    ('auth = "sf_cli"\nalias = "a"\n[orgs.p.probe]\npassword_env = "X"', "orgs.p.probe: username is required",
     "orgs.p.probe: username が必要です"),
    ('auth = "sf_cli"\nalias = "a"\nmarketo = 1', "orgs.p.marketo must be a table [orgs.p.marketo]",
     "orgs.p.marketo は [orgs.p.marketo] のテーブルで"),
    ('auth = "sfdx_url"', 'auth_url_env (or auth_url_keyring) is required for auth = "sfdx_url"',
     'auth = "sfdx_url" には auth_url_env (または auth_url_keyring) が必要です'),
    ('auth = "password"', "auth = 'password' is not supported", "auth = 'password' には対応していません"),
    ('auth = "jwt"\nusername = "u"\nclient_id_env = "A"', "private_key_file is required", "には private_key_file が必要です"),
])
def test_each_config_error_in_both_languages(orgs_file, body, en, ja):
    path = orgs_file(f"[orgs.p]\n{body}\n")
    with pytest.raises(OrgConfigError) as exc:
        resolve("p")
    assert en in one_line(exc, "en") and ja in one_line(exc, "ja")
    assert one_line(exc, "ja").startswith(str(path))        # the file first, then the key path, then the problem


def test_demo_and_unknown_org_errors_in_japanese(orgs_file, builtin, tmp_path):
    orgs_file(GOOD)
    cases = {"staging": ("組織 'staging' は定義されていません", "demo / demo:名前"),
             "": ("組織が指定されていません", "--org demo"),
             "demo:": ("demo: の後にシナリオが必要です", "demo:パス.yml"),
             "demo:nope": ("デモシナリオ 'nope' はありません", "組み込みシナリオ: healthy, token-missing"),
             "demo:bad name!": ("デモシナリオ名 'bad name!' は使えません", "sfdoctor demo list"),
             f"demo:{tmp_path}/missing.yml": ("シナリオファイルが見つかりません", "missing.yml")}
    for org, words in cases.items():
        with pytest.raises(OrgConfigError) as exc:
            resolve(org)
        line = one_line(exc, "ja")
        assert all(w in line for w in words), line


def test_unreadable_and_invalid_files_in_both_languages(orgs_file, monkeypatch):
    orgs_file("[orgs.production\nx = 1")
    with pytest.raises(OrgConfigError) as exc:
        resolve("production")
    assert "TOML として正しくありません" in one_line(exc, "ja") and "https://toml.io" in one_line(exc, "ja")
    path = orgs_file(GOOD)
    read_text = Path.read_text

    def refused(self: Path, *args, **kwargs) -> str:
        if self == path:
            raise PermissionError(13, "Permission denied")
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refused)
    with pytest.raises(OrgConfigError) as exc:
        resolve("production")
    assert one_line(exc, "ja") == f"{path}: 読み込めません: Permission denied"


def test_add_org_errors_in_both_languages(orgs_file):
    orgs_file(GOOD)
    with pytest.raises(OrgConfigError) as exc:
        orgs.add_org("cli", {"auth": "sf_cli", "alias": "x"})
    assert "組織 'cli' はすでに" in one_line(exc, "ja") and "--replace" in one_line(exc, "ja")
    with pytest.raises(OrgConfigError) as exc:
        orgs.add_org("demo", {"auth": "sf_cli", "alias": "x"})
    assert "組織名 'demo' は使えません" in one_line(exc, "ja")
    orgs_file("[orgs.a\n")
    with pytest.raises(OrgConfigError) as exc:
        orgs.add_org("b", {"auth": "sf_cli", "alias": "x"})
    assert "先に書式を直してください" in one_line(exc, "ja")


@pytest.mark.parametrize("module", ["orgs.py", "credentials.py", "preflight.py"])
def test_every_config_error_is_a_catalog_text(module):
    """No OrgConfigError of these modules is raised in English words alone: message and hint are
    `Text(...)` (or a value computed from them), never a string literal or an f-string."""
    source = (Path(orgs.__file__).parent / module).read_text(encoding="utf-8")
    raised = [node for node in ast.walk(ast.parse(source))
              if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "OrgConfigError"]
    assert raised
    for call in raised:
        parts = [*call.args, *(k.value for k in call.keywords if k.arg == "hint")]
        for part in parts:
            literal = [n for n in ast.walk(part) if isinstance(n, (ast.JoinedStr, ast.Constant))
                       and isinstance(getattr(n, "value", None), str) and not _in_text_call(part, n)]
            assert not literal, f"{module}:{call.lineno}: English-only words in an OrgConfigError"


def _in_text_call(root: ast.AST, node: ast.AST) -> bool:
    """Whether `node` sits inside a `Text(...)` call under `root` (its key or its values)."""
    for call in ast.walk(root):
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Text" and \
                any(node is n for n in ast.walk(call)):
            return True
    return False
