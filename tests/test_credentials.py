"""credentials.py: probe credentials from the demo operator, env vars and the keyring."""
from __future__ import annotations

import dataclasses

import pytest
from config_errors import said_in_both_languages

from sfdoctor.credentials import (ProbeCredentials, fingerprint, new_salt, probe_credentials, read_ref)
from sfdoctor.demo.info import SalesforceUser
from sfdoctor.demo.server import Simulator
from sfdoctor.errors import OrgConfigError
from sfdoctor.orgs import OrgRef


class Conn:
    def __init__(self, org_ref, operator=None, info=None):
        self.org_ref, self.operator, self.info = org_ref, operator or {}, info


DEMO = OrgRef(name="demo", kind="demo", slug="demo", scenario_ref="token-missing")


def real(probe=None, owner="u@x") -> OrgRef:
    if probe is not None and owner:
        probe = {"username": owner, **probe}
    return OrgRef(name="prod", kind="real", slug="prod", config={"probe": probe} if probe is not None else {})


def test_repr_never_shows_values():
    c = ProbeCredentials("CANARY-PASS-7f3e", "CANARY-TOK-1")
    for text in (repr(c), str(c), f"{c}", repr([c]), repr({"c": c})):
        assert "CANARY" not in text
    assert c.password_and_token == "CANARY-PASS-7f3eCANARY-TOK-1"
    assert c.secrets() == {"CANARY-PASS-7f3e", "CANARY-TOK-1", "CANARY-PASS-7f3eCANARY-TOK-1"}
    assert "<none>" in repr(ProbeCredentials("x"))


def test_demo_operator_answers():
    conn = Conn(DEMO, {"probe_username": "sync@acme.example", "probe_password": "Sync-pass-1",
                       "probe_token": "OLDtokenOLD"})
    c = probe_credentials(conn, "Sync@acme.example")
    assert (c.password, c.token) == ("Sync-pass-1", "OLDtokenOLD")


def test_demo_other_user_from_info_or_error():
    info = dataclasses.replace(Simulator("token-missing").info(),
                               salesforce_users=(SalesforceUser("a@x", "apw", "atok"),))
    conn = Conn(DEMO, {"probe_username": "sync@acme.example", "probe_password": "p"}, info)
    c = probe_credentials(conn, "a@x")
    assert (c.password, c.token) == ("apw", "atok")
    with pytest.raises(OrgConfigError) as exc:
        probe_credentials(conn, "nobody@x")
    assert "no credentials for nobody@x" in exc.value.one_line("en")
    said_in_both_languages(exc.value)
    assert "デモのオペレーターは nobody@x のログイン情報を持っていません" in exc.value.one_line("ja")


def test_demo_against_the_real_simulator(simulator, monkeypatch):
    from sfdoctor import clients, orgs

    sim = simulator("token-missing")
    monkeypatch.setattr(clients, "ensure_demo_simulator", lambda ref: sim.url)
    conn = clients.connect(orgs.resolve("demo:token-missing"))
    c = probe_credentials(conn, "sync@acme.example")
    assert (c.password, c.token) == ("Sync-pass-1", "BBBBtokenBBBB")
    # another user than the scenario's probe user: the operator knows the world's users
    c = probe_credentials(conn, "admin@acme.example")
    assert (c.password, c.token) == ("Adm1n-pass", "AAAAtokenAAAA")
    assert "Sync-pass-1BBBBtokenBBBB" in conn.secrets


def test_real_from_env(monkeypatch):
    monkeypatch.setenv("CR_PW", "pw-1")
    monkeypatch.setenv("CR_TOK", "tok-1")
    c = probe_credentials(Conn(real({"password_env": "CR_PW", "token_env": "CR_TOK"})), "u@x")
    assert (c.password, c.token) == ("pw-1", "tok-1")


def test_real_token_optional_when_not_referenced(monkeypatch):
    monkeypatch.setenv("CR_PW", "pw-1")
    c = probe_credentials(Conn(real({"password_env": "CR_PW"})), "u@x")
    assert c.token == ""


def test_real_missing_env_names_the_variable(monkeypatch):
    monkeypatch.delenv("CR_MISSING", raising=False)
    with pytest.raises(OrgConfigError) as exc:
        probe_credentials(Conn(real({"password_env": "CR_MISSING"})), "u@x")
    line = exc.value.one_line("en")
    assert "CR_MISSING is not set" in line and "export CR_MISSING=" in line and "\n" not in line
    said_in_both_languages(exc.value)
    assert exc.value.one_line("ja") == ("環境変数 CR_MISSING が設定されていません (orgs.prod.probe.password_env) — "
                                        "実行前に export CR_MISSING=... で設定してください")


def test_real_referenced_token_missing_is_an_error(monkeypatch):
    monkeypatch.setenv("CR_PW", "pw-1")
    monkeypatch.delenv("CR_TOK_MISSING", raising=False)
    with pytest.raises(OrgConfigError, match="CR_TOK_MISSING"):
        probe_credentials(Conn(real({"password_env": "CR_PW", "token_env": "CR_TOK_MISSING"})), "u@x")


def test_real_without_probe_table():
    with pytest.raises(OrgConfigError, match=r"no \[orgs.prod.probe\] table") as exc:
        probe_credentials(Conn(real()), "u@x")
    said_in_both_languages(exc.value)


def test_keyring(monkeypatch):
    import keyring

    store = {("sfdoctor", "sync@acme.example"): "kr-pw"}
    monkeypatch.setattr(keyring, "get_password", lambda s, a: store.get((s, a)))
    c = probe_credentials(Conn(real({"password_keyring": "sfdoctor:sync@acme.example"})), "U@x")
    assert c.password == "kr-pw"
    with pytest.raises(OrgConfigError) as exc:
        read_ref({"token_keyring": "sfdoctor:nobody"}, "token", where="orgs.prod.probe")
    assert "keyring set sfdoctor nobody" in exc.value.one_line("en")
    said_in_both_languages(exc.value)
    assert "キーリングにエントリ sfdoctor:nobody がありません" in exc.value.one_line("ja")
    with pytest.raises(OrgConfigError) as exc:
        read_ref({"token_env": "CR_NONE"}, "password", where="orgs.prod.probe")
    said_in_both_languages(exc.value)
    assert "orgs.prod.probe: password_env も password_keyring もありません" in exc.value.one_line("ja")


def test_a_broken_keyring_is_one_line_in_both_languages(monkeypatch):
    import keyring
    from keyring.errors import KeyringLocked

    def locked(service, account):
        raise KeyringLocked("locked")

    monkeypatch.setattr(keyring, "get_password", locked)
    with pytest.raises(OrgConfigError) as exc:
        read_ref({"password_keyring": "sfdoctor:u"}, "password", where="orgs.prod.probe")
    said_in_both_languages(exc.value)
    assert "キーリングを使えません: KeyringLocked" in exc.value.one_line("ja")


def test_fingerprint():
    salt = new_salt()
    a = fingerprint("Sync@acme.example", "pw", "tok", salt)
    assert a == fingerprint("sync@acme.example", "pw", "tok", salt)   # usernames are case-insensitive
    assert a != fingerprint("sync@acme.example", "pw", "tok2", salt)
    assert a != fingerprint("sync@acme.example", "pwt", "ok", salt)     # the split matters
    assert a != fingerprint("sync@acme.example", "pw", "tok", new_salt())
    assert "pw" not in a.split(":", 1)[1] and a.startswith("hmac-sha256:")
    with pytest.raises(ValueError):
        fingerprint("u", "p", "t", "")


def test_real_probe_credentials_belong_to_their_user(monkeypatch):
    """Another user's password tried on this user is a failed login on this user: never."""
    monkeypatch.setenv("CR_PW", "pw-1")
    with pytest.raises(OrgConfigError) as exc:
        probe_credentials(Conn(real({"password_env": "CR_PW"}, owner="sync@acme.example")), "admin@acme.example")
    line = exc.value.one_line("en")
    assert "belong to sync@acme.example, not admin@acme.example" in line and "pw-1" not in line
    said_in_both_languages(exc.value)
    assert "sync@acme.example のもので、admin@acme.example のものではありません" in exc.value.one_line("ja")
    with pytest.raises(OrgConfigError, match="does not say whose credentials") as exc:
        probe_credentials(Conn(real({"password_env": "CR_PW"}, owner="")), "u@x")
    said_in_both_languages(exc.value)


def test_a_demo_world_without_a_probe_password_says_so_in_both_languages():
    with pytest.raises(OrgConfigError) as exc:
        probe_credentials(Conn(DEMO, {}), "")
    said_in_both_languages(exc.value)
    assert "デモの世界に試すパスワードがありません" in exc.value.one_line("ja")
