"""`sfdoctor orgs list | check | add` (spec/cli.md), against the simulator and the fake sf CLI."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from sfdoctor.cli import main

FAKE_SF = Path(__file__).parent / "fixtures" / "fake_sf"
SID = "00D000000000001!AQ0000000000000000000000000000fake"

PE_VIEW_SETUP = """
name: pe-view-setup
runbook: security-token-required
description: Professional org without Metadata API; run-as user with View Setup only
salesforce:
  my_domain: acme
  edition: Professional Edition
  metadata_api: false
  run_as_permissions: [ApiEnabled, ViewSetup]
"""


@pytest.fixture
def orgs_path(tmp_path, monkeypatch):
    path = tmp_path / "orgs.toml"
    monkeypatch.setenv("SFDOCTOR_ORGS", str(path))
    return path


def test_list_shows_name_kind_host_and_never_a_secret(orgs_path, capsys, monkeypatch):
    monkeypatch.setenv("OL_SECRET", "s3cr3t-value")
    orgs_path.write_text('[orgs.acme]\nmy_domain = "acme.my.salesforce.com"\nclient_id_env = "OL_ID"\n'
                         'client_secret_env = "OL_SECRET"\n[orgs.cli]\nauth = "sf_cli"\nalias = "acme-uat"\n'
                         '[orgs.mc]\n[orgs.mc.marketing_cloud]\nsubdomain = "mc7xk2abcd0q1w2e3r4t5y6u7i8p"\n'
                         'client_id = "c"\nclient_secret_env = "OL_SECRET"\n')
    assert main(["orgs", "list"]) == 0
    err = capsys.readouterr().err
    assert "acme" in err and "client_credentials" in err and "acme.my.salesforce.com" in err
    assert "sf_cli" in err and "sf alias acme-uat" in err
    assert "marketing_cloud" in err and "s3cr3t-value" not in err
    assert main(["orgs", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["kind"] for r in rows] == ["client_credentials", "sf_cli", "marketing_cloud"]


def test_check_a_ready_demo_org(capsys):
    assert main(["orgs", "check", "demo:token-missing"]) == 0
    err = capsys.readouterr().err
    assert "run-as user admin@acme.example, edition Enterprise Edition" in err
    assert "security-token-required: 9 of 9 reads allowed, ready" in err
    assert "API requests today:" in err and err.rstrip().endswith("ready")


def test_check_a_view_setup_only_user_in_professional_edition(write_scenario, capsys):
    path = write_scenario(PE_VIEW_SETUP)
    assert main(["orgs", "check", f"demo:{path}", "--json"]) == 1
    status = json.loads(capsys.readouterr().out)
    assert status["permissions"] == ["ApiEnabled", "ViewSetup"] and status["edition"] == "Professional Edition"
    stok = next(rb for rb in status["runbooks"] if rb["id"] == "security-token-required")
    refused = {r["id"]: r["refusal"] for r in stok["reads"] if not r["allowed"]}
    assert refused == {"user-login": "permission", "login-history": "permission", "trusted-ip-ranges": "edition"}
    assert main(["orgs", "check", f"demo:{path}", "--lang", "ja"]) == 1
    err = capsys.readouterr().err
    assert "手作業" in err and "ユーザーの管理 または ログイン履歴を監視" in err and "Professional Edition では使えません" in err


def test_check_a_misconfigured_org_is_exit_2_in_one_line(orgs_path, capsys, monkeypatch):
    monkeypatch.delenv("OC_SECRET", raising=False)
    orgs_path.write_text('[orgs.acme]\nmy_domain = "acme.my.salesforce.com"\nclient_id = "x"\n'
                         'client_secret_env = "OC_SECRET"\n')
    assert main(["orgs", "check", "acme"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("checking")]
    assert len(err) == 1 and "OC_SECRET is not set" in err[0]


def test_check_all_reports_each_org_and_exits_with_the_worst(orgs_path, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("OC_SECRET", raising=False)
    store = tmp_path / "store.json"
    store.write_text("{}")
    monkeypatch.setenv("PATH", f"{FAKE_SF}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_SF_STORE", str(store))
    monkeypatch.setenv("FAKE_SF_LOG", str(tmp_path / "log"))
    orgs_path.write_text('[orgs.broken]\nmy_domain = "acme.my.salesforce.com"\nclient_id = "x"\n'
                         'client_secret_env = "OC_SECRET"\n[orgs.cli]\nauth = "sf_cli"\nalias = "gone"\n')
    assert main(["orgs", "check", "--all", "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert [o["org"] for o in out] == ["broken", "cli"]
    assert "OC_SECRET" in out[0]["error"] and "knows no org 'gone'" in out[1]["error"]
    assert {o["exit_code"] for o in out} == {2}


def test_check_needs_a_name_or_all(capsys):
    assert main(["orgs", "check"]) == 2
    assert "--all" in capsys.readouterr().err


@pytest.mark.parametrize("shape", ["current", "older"])
def test_add_from_a_salesforce_cli_alias(orgs_path, tmp_path, capsys, monkeypatch, shape):
    store = tmp_path / "store.json"
    store.write_text(json.dumps({"acme-uat": {"accessToken": SID, "username": "admin@acme.example.uat",
                                              "instanceUrl": "https://acme--uat.sandbox.my.salesforce.com"}}))
    monkeypatch.setenv("PATH", f"{FAKE_SF}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_SF_STORE", str(store))
    monkeypatch.setenv("FAKE_SF_LOG", str(tmp_path / "log"))
    monkeypatch.setenv("FAKE_SF_SHAPE", shape)
    orgs_path.write_text("# my orgs\n[orgs.other]\nauth = \"sf_cli\"  # keep this comment\nalias = \"o\"\n")
    assert main(["orgs", "add", "uat", "--sf-cli", "acme-uat"]) == 0
    captured = capsys.readouterr()
    text = orgs_path.read_text()
    assert "# my orgs" in text and "# keep this comment" in text and SID not in text
    entry = tomllib.loads(text)["orgs"]["uat"]
    assert entry == {"auth": "sf_cli", "alias": "acme-uat", "my_domain": "acme--uat.sandbox.my.salesforce.com",
                     "sandbox": True}
    assert "next: sfdoctor orgs check uat" in captured.err and SID not in captured.err + captured.out
    assert main(["orgs", "add", "uat", "--sf-cli", "acme-uat"]) == 2
    assert "already in" in capsys.readouterr().err


def test_add_client_credentials_writes_references_only(orgs_path, capsys):
    assert main(["orgs", "add", "acme-prod", "--client-credentials", "--my-domain", "acme.my.salesforce.com",
                 "--probe-username", "sync@acme.example", "--mc-subdomain", "mc7xk2abcd0q1w2e3r4t5y6u7i8p",
                 "--mc-client-id", "mc-client"]) == 0
    err = capsys.readouterr().err
    entry = tomllib.loads(orgs_path.read_text())["orgs"]["acme-prod"]
    assert entry["client_id_env"] == "ACME_PROD_CLIENT_ID" and entry["client_secret_env"] == "ACME_PROD_CLIENT_SECRET"
    assert entry["probe"] == {"username": "sync@acme.example", "password_env": "ACME_PROD_PROBE_PASSWORD"}
    assert entry["marketing_cloud"]["client_secret_env"] == "ACME_PROD_MC_CLIENT_SECRET"
    assert "ACME_PROD_CLIENT_SECRET" in err and "ACME_PROD_PROBE_PASSWORD" in err


@pytest.mark.parametrize("argv,message", [
    (["orgs", "add", "x"], "nothing to add"),
    (["orgs", "add", "x", "--client-credentials"], "--my-domain"),
    (["orgs", "add", "demo", "--sf-cli", "a"], "bad org name"),
    (["orgs", "add", "x", "--sf-cli", "a", "--jwt"], "choose one sign-in"),
])
def test_add_bad_input_is_one_line(orgs_path, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not orgs_path.exists()
