"""preflight.py through `sfdoctor run`: a misconfigured own access is exit 2, one line, before any
kernel, with no report folder and no index line (spec/cli.md); an unreachable org is not."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from config_errors import JAPANESE, said_in_both_languages

from sfdoctor import clients, preflight
from sfdoctor.cli import main
from sfdoctor.demo.store import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from sfdoctor.errors import OrgConfigError
from sfdoctor.i18n import t
from sfdoctor.orgs import resolve
from sfdoctor.runbooks import load

FAKE_SF = Path(__file__).parent / "fixtures" / "fake_sf"


@pytest.fixture
def orgs_file(tmp_path, monkeypatch):
    path = tmp_path / "orgs.toml"
    monkeypatch.setenv("SFDOCTOR_ORGS", str(path))

    def write(text: str) -> Path:
        path.write_text(text)
        return path
    return write


def run_refused(tmp_path, capsys, org: str, runbook: str = "security-token-required", *, lang: str = "en") -> str:
    """`sfdoctor run` must refuse in one line with exit 2 and leave nothing behind."""
    out = tmp_path / "reports"
    code = main(["run", runbook, "--org", org, "--out", str(out), "--lang", lang])
    err = capsys.readouterr().err
    progress = t("run.progress.resolve", lang, org=org)
    lines = [line for line in err.splitlines() if line != f"sfdoctor: {progress}"]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("sfdoctor: "), err
    assert not out.exists()  # no folder, no index line
    return lines[0]


CC = '[orgs.acme]\nmy_domain = "acme.my.salesforce.com"\nauth = "client_credentials"\n' \
     'client_id_env = "PF_CID"\nclient_secret_env = "PF_SECRET"\n'


def test_missing_environment_variable(orgs_file, tmp_path, capsys, monkeypatch):
    orgs_file(CC)
    monkeypatch.setenv("PF_CID", DEMO_CLIENT_ID)
    monkeypatch.delenv("PF_SECRET", raising=False)
    line = run_refused(tmp_path, capsys, "acme")
    assert "PF_SECRET is not set" in line and "export PF_SECRET=" in line


def test_unset_probe_reference(orgs_file, tmp_path, capsys, monkeypatch):
    orgs_file('[orgs.cli]\nauth = "sf_cli"\nalias = "nope"\n[orgs.cli.probe]\nusername = "sync@acme.example"\n'
              'password_env = "PF_PROBE_PW"\n')
    monkeypatch.delenv("PF_PROBE_PW", raising=False)
    line = run_refused(tmp_path, capsys, "cli")
    assert "PF_PROBE_PW is not set" in line and "orgs.cli.probe" in line


def test_unknown_sf_alias(orgs_file, tmp_path, capsys, monkeypatch):
    store = tmp_path / "store.json"
    store.write_text("{}")
    monkeypatch.setenv("PATH", f"{FAKE_SF}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_SF_STORE", str(store))
    monkeypatch.setenv("FAKE_SF_LOG", str(tmp_path / "log"))
    orgs_file('[orgs.cli]\nauth = "sf_cli"\nalias = "acme-prod"\n')
    line = run_refused(tmp_path, capsys, "cli")
    assert "knows no org 'acme-prod'" in line and "sf org login web --alias acme-prod" in line


def test_unusable_jwt_key(orgs_file, tmp_path, capsys, monkeypatch):
    key = tmp_path / "server.key"
    key.write_text("not a key\n")
    monkeypatch.setenv("PF_CID", "3MVG9x")
    orgs_file(f'[orgs.j]\nauth = "jwt"\nusername = "admin@acme.example"\nprivate_key_file = "{key}"\n'
              'client_id_env = "PF_CID"\n')
    line = run_refused(tmp_path, capsys, "j")
    assert "not a PEM private key" in line and str(key) in line


def test_marketing_cloud_only_org_cannot_run_a_salesforce_runbook(orgs_file, tmp_path, capsys):
    orgs_file('[orgs.mc]\n[orgs.mc.marketing_cloud]\nsubdomain = "mc7xk2abcd0q1w2e3r4t5y6u7i8p"\n'
              'client_id = "c"\nclient_secret_env = "PF_MC_SECRET"\n')
    line = run_refused(tmp_path, capsys, "mc")
    assert "has no salesforce sign-in, which security-token-required needs" in line
    line = run_refused(tmp_path, capsys, "mc", lang="ja")
    assert "組織 'mc' には security-token-required に必要な salesforce のサインインがありません" in line
    assert f"{tmp_path / 'orgs.toml'} に auth = \"sf_cli\"" in line
    with pytest.raises(OrgConfigError) as exc:
        preflight.check_access(resolve("mc"), load("security-token-required"))
    said_in_both_languages(exc.value)


@pytest.mark.parametrize("command", [("run", "security-token-required"),
                                     ("triage", "API security token required")])
def test_an_org_error_reads_in_the_commands_language(orgs_file, tmp_path, capsys, monkeypatch, command):
    """`--lang ja`: the refusal is Japanese from start to end, as every line before it (triage's
    explanation, the progress): no English among Japanese lines; exit 2, nothing written."""
    orgs_file(CC)
    monkeypatch.setenv("PF_CID", DEMO_CLIENT_ID)
    monkeypatch.delenv("PF_SECRET", raising=False)
    out = tmp_path / "reports"
    expected = {"nosuch": f"sfdoctor: 組織 'nosuch' は定義されていません — {tmp_path / 'orgs.toml'} に定義するか、"
                          "demo / demo:名前 を使ってください",
                "acme": "sfdoctor: 環境変数 PF_SECRET が設定されていません (orgs.acme.client_secret_env) — "
                        "実行前に export PF_SECRET=... で設定してください"}
    for org, refusal in expected.items():
        assert main([*command, "--org", org, "--out", str(out), "--lang", "ja"]) == 2
        lines = capsys.readouterr().err.splitlines()
        assert lines[-1] == refusal
        assert all(JAPANESE.search(line) for line in lines), lines
        assert not out.exists()


def test_marketing_cloud_only_org_needs_only_its_section(orgs_file, monkeypatch):
    orgs_file('[orgs.mc]\n[orgs.mc.marketing_cloud]\nsubdomain = "mc7xk2abcd0q1w2e3r4t5y6u7i8p"\n'
              'client_id = "c"\nclient_secret_env = "PF_MC_SECRET"\n')
    monkeypatch.setenv("PF_MC_SECRET", "s3cret-mc")
    ref = resolve("mc")
    preflight.check_access(ref, load("mc-missing-oauth-token"))  # nothing to refuse
    conn = clients.connect(ref)
    assert conn.sf is None and "s3cret-mc" in conn.secrets
    monkeypatch.delenv("PF_MC_SECRET")
    with pytest.raises(OrgConfigError, match="PF_MC_SECRET is not set"):
        preflight.check_access(ref, load("mc-missing-oauth-token"))


@pytest.fixture
def routed_to(monkeypatch):
    """Real orgs' sessions aimed at a simulator (the TLS-proxy tests use no such patch)."""
    def aim(url: str) -> None:
        orig = clients._sessions
        monkeypatch.setattr(clients, "_sessions", lambda route_to, *a: orig(url, *a))
    return aim


@pytest.mark.parametrize("cid,secret,expected", [
    (DEMO_CLIENT_ID, "wrong-secret-1", "invalid_client"),
    ("3MVG9unknown", DEMO_CLIENT_SECRET, "invalid_client_id"),
])
def test_refused_client_credentials(orgs_file, tmp_path, capsys, monkeypatch, simulator, routed_to,
                                    cid, secret, expected):
    sim = simulator("token-missing")
    routed_to(sim.url)
    orgs_file(CC)
    monkeypatch.setenv("PF_CID", cid)
    monkeypatch.setenv("PF_SECRET", secret)
    line = run_refused(tmp_path, capsys, "acme")
    assert expected in line and ("External Client App Manager" in line or "consumer secret" in line)
    assert secret not in line


def test_unreachable_org_is_not_a_configuration_error(orgs_file, monkeypatch):
    """Nothing answers: preflight lets the run go on, and its report will say why (exit 3)."""
    orgs_file(CC)
    monkeypatch.setenv("PF_CID", DEMO_CLIENT_ID)
    monkeypatch.setenv("PF_SECRET", DEMO_CLIENT_SECRET)
    monkeypatch.setattr(clients, "_host_missing_while_salesforce_answers", lambda host: False)
    orig = clients._sessions
    monkeypatch.setattr(clients, "_sessions", lambda route_to, *a: orig("http://127.0.0.1:9", *a))
    preflight.check_access(resolve("acme"), load("security-token-required"))


def test_reasons_of_an_inconclusive_run():
    from sfdoctor.findings import reasons_of

    findings = {"outcome": "inconclusive", "checks": [
        {"id": "connect", "status": "error", "summary": "Could not connect: could not reach acme (ConnectTimeout)"},
        {"id": "x", "status": "skip", "summary": "skipped"}]}
    assert reasons_of(findings) == ["connect: Could not connect: could not reach acme (ConnectTimeout)"]
    assert reasons_of({**findings, "reasons": ["the login history still shows failures"]}) == [
        "the login history still shows failures"]
    assert reasons_of({"outcome": "healthy", "checks": []}) == []
    json.dumps(findings)


def test_unreachable_org_runs_and_its_exit_3_line_names_the_reason(orgs_file, tmp_path):
    """No network (a proxy nobody listens on): a report, exit 3, and the line says why."""
    import os
    import subprocess
    import sys

    orgs_file(CC)
    env = {**os.environ, "PF_CID": DEMO_CLIENT_ID, "PF_SECRET": DEMO_CLIENT_SECRET,
           "HTTPS_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": ""}
    out = tmp_path / "reports"
    done = subprocess.run([sys.executable, "-m", "sfdoctor.cli", "run", "sia-auth-failure", "--org", "acme",
                           "--out", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 3, done.stderr
    last = [line for line in done.stderr.splitlines() if line.startswith("sfdoctor: Inconclusive")]
    assert last and "could not reach acme.my.salesforce.com" in last[0], done.stderr
    assert DEMO_CLIENT_SECRET not in done.stderr
    assert len((out / "index.jsonl").read_text().splitlines()) == 1
