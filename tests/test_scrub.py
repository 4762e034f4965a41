"""scrub.py: canary secrets planted everywhere a notebook can hold them must not survive."""
from __future__ import annotations

import base64
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from sfdoctor import scrub
from sfdoctor.orgs import OrgRef
from sfdoctor.scrub import REDACTED, known_secrets, scrub_notebook, scrub_obj, scrub_text

PASS = "CANARY-PASS-7f3e"
TOKEN = "CANARY-TOK-91ab"
CSECRET = "CANARY-CSECRET-55d0"
SESSION = "00D5g000004XYZa!AQ4AQCanarySessionCanarySession1234"
UNKNOWN_BEARER = "eyJhbGciOiJIUzI1NiJ9.canary.unlisted"
SECRETS = {PASS, TOKEN, PASS + TOKEN, CSECRET}
ALL_CANARIES = [PASS, TOKEN, CSECRET, SESSION, UNKNOWN_BEARER, "CANARY-WIDGET-33aa", "CANARY-PM-0c0c"]


def planted_notebook() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"m1": {"state": {"value": "CANARY-WIDGET-33aa", "description": "password"}}}}}
    nb.metadata["papermill"] = {"parameters": {"org": "demo", "password": "CANARY-PM-0c0c",
                                               "probe_token": TOKEN, "days": 7, "password_env": "X"},
                                "input_path": "in.ipynb"}
    params = new_code_cell('org = "demo"\ndays = 7\n', metadata={"tags": ["parameters"]})
    injected = new_code_cell(
        f'# Parameters\norg = "demo"\npassword = "CANARY-PM-0c0c"\nmy_pw = "{PASS}"\n'
        f'probe_token = "{TOKEN}"\ndays = 7\npassword_env = "SFDOCTOR_PROBE_PASSWORD"\n',
        metadata={"tags": ["injected-parameters"]})
    login = new_code_cell("r = probe(username, password=creds.password)", outputs=[
        new_output("stream", name="stdout",
                   text=f"POST /services/oauth2/token grant_type=password&password={PASS}{TOKEN}&client_secret=x\n"),
        new_output("execute_result", execution_count=3, data={
            "text/plain": f"{{'access_token': '{SESSION}', 'instance_url': 'https://acme.my.salesforce.com'}}",
            "text/html": f"<pre>Authorization: Bearer {UNKNOWN_BEARER}</pre><td>{CSECRET}</td>"
                         f"<td>{PASS.replace('-', '&#45;')}</td>",
            "application/json": {"evidence": {"session": SESSION, "client_secret": "CANARY-JSON-VAL",
                                              "nested": [PASS]}},
            "application/vnd.sfdoctor.finding+json": {"evidence": {"password": "whatever-it-is"}},
            "application/vnd.jupyter.widget-view+json": {"model_id": "m1", "version_major": 2},
            "image/png": base64.b64encode(b"\x89PNG fake").decode(),
        }),
        new_output("error", ename="SalesforceAuthenticationFailed", evalue=f"bad {PASS}",
                   traceback=[f"\x1b[0;31mSalesforceAuthenticationFailed\x1b[0m: password={PASS}",
                              f'  body = "<n1:password>{PASS}{TOKEN}</n1:password>"',
                              f"  headers = {{'Authorization': 'Bearer {UNKNOWN_BEARER}'}}"]),
    ])
    md = new_markdown_cell(f"The token was `{TOKEN}` and the session <sessionId>{SESSION}</sessionId>")
    md.metadata["note"] = f"client secret {CSECRET}"
    nb.cells = [params, injected, login, md]
    return nb


def test_canaries_do_not_survive_in_ipynb():
    nb = planted_notebook()
    clean = scrub_notebook(nb, SECRETS, secret_params=("my_pw",))
    text = nbformat.writes(clean)
    # "CANARY" also catches the HTML-entity spelling CANARY&#45;PASS&#45;7f3e planted in text/html
    for canary in ALL_CANARIES + ["CANARY-JSON-VAL", "whatever-it-is", "CANARY"]:
        assert canary not in text, canary
    assert "widgets" not in clean.metadata
    pm = clean.metadata["papermill"]["parameters"]
    assert pm == {"org": "demo", "days": 7, "password_env": "X"}
    injected = clean.cells[1].source
    assert "password =" not in injected and "my_pw" not in injected and "probe_token" not in injected
    assert 'org = "demo"' in injected and "days = 7" in injected and "password_env" in injected
    data = clean.cells[2].outputs[1]["data"]
    assert "application/vnd.jupyter.widget-view+json" not in data
    assert data["image/png"] == nb.cells[2].outputs[1]["data"]["image/png"]
    # code stays readable: `password=creds.password` in a call is not a form body
    assert clean.cells[2].source == "r = probe(username, password=creds.password)"
    assert REDACTED in clean.cells[2].outputs[2]["traceback"][1]
    nbformat.validate(clean)
    # the input is not modified
    assert PASS in nbformat.writes(nb)


def test_canaries_do_not_survive_in_html():
    from nbconvert import HTMLExporter

    clean = scrub_notebook(planted_notebook(), SECRETS, secret_params=("my_pw",))
    html, _ = HTMLExporter(exclude_input=True).from_notebook_node(clean)
    for canary in ALL_CANARIES:
        assert canary not in html, canary


def test_scrub_html_scrubs_the_page_but_not_its_style_sheets_or_images():
    png = base64.b64encode(b"\x89PNG password=" + PASS.encode()).decode()
    page = (f"<html><head><style>.a {{ color: red }} /* {PASS[:8]} */</style></head><body>"
            f"<p>{PASS}</p><img src=\"data:image/png;base64,{png}\"><style id=x>b{{}}</style>"
            f"<pre>Authorization: Bearer {UNKNOWN_BEARER}</pre><p>{SESSION}</p></body></html>")
    out = scrub.scrub_html(page, SECRETS)
    for canary in (PASS, UNKNOWN_BEARER, SESSION):
        assert canary not in out, canary
    assert f"/* {PASS[:8]} */</style>" in out and png in out and "<style id=x>b{}</style>" in out
    assert out.count(REDACTED) == 3
    assert scrub.scrub_html(page, SECRETS) == scrub_text(page.replace(png, "IMG"), SECRETS).replace("IMG", png)


def test_scrub_notebook_accepts_plain_dicts():
    nb = json.loads(nbformat.writes(planted_notebook()))
    clean = scrub_notebook(nb, SECRETS)
    assert isinstance(clean, dict)
    assert PASS not in json.dumps(clean)


@pytest.mark.parametrize("text,leak", [
    (f"sid={SESSION}", SESSION),
    ("Authorization: Basic Y2lkOnNlY3JldA==", "Y2lkOnNlY3JldA=="),
    ("curl -H 'Authorization: Bearer abcdefgh12345678'", "abcdefgh12345678"),
    ('{"access_token": "opaque-token-value", "x": 1}', "opaque-token-value"),
    ('{"access_token":"a\\"b-escaped-quote"}', "escaped-quote"),
    ("<urn:sessionId>opaque-sid-value</urn:sessionId>", "opaque-sid-value"),
    ("<sessionId>opaque-sid-value</sessionId>", "opaque-sid-value"),
    ("https://x/token?client_secret=zz-top-secret&a=1", "zz-top-secret"),
    ("&quot;access_token&quot;: &quot;html-escaped-tok&quot;", "html-escaped-tok"),
    (f"grant_type=password&password={PASS.replace('-', '%2D')}", "CANARY"),
])
def test_patterns(text, leak):
    assert leak not in scrub_text(text, SECRETS)


# A pasted browser URL (sia-auth-failure's error_url) carries OAuth values nobody told us about.
_URL = "https://app.toutapp.com/cb?error=OAUTH_APP_BLOCKED&code=URLCODE-c4n4ry&state=URLSTATE-c4n4ry#access_token=URLTOK-c4n4ry&sid=URLSID-c4n4ry"


@pytest.mark.parametrize("spelling", [
    _URL,
    _URL.replace("&", "&amp;"),                                            # in HTML
    json.dumps(_URL).replace("&", "\\u0026"),                             # JSON-escaped
    __import__("urllib.parse").parse.quote(_URL, safe=""),                 # pasted encoded
    __import__("urllib.parse").parse.quote(__import__("urllib.parse").parse.quote(_URL, safe=""), safe=""),
    f'error_url = "{_URL}"\n',                                             # papermill's injected cell
])
def test_url_oauth_values_are_removed_in_every_spelling(spelling):
    out = scrub_text(spelling)
    assert "c4n4ry" not in out, out
    assert "OAUTH_APP_BLOCKED" in out and "app.toutapp.com" in out        # the rest of the URL stays readable


def test_url_pattern_leaves_code_and_prose_alone():
    for text in ("f(code=1, state=2)", "state=CA is a word", 'cell_type = "code"', "?error=X&state=[redacted]"):
        assert scrub_text(text) == text


def test_url_oauth_values_leave_a_notebook_parameters_and_metadata():
    nb = new_notebook()
    nb.metadata["papermill"] = {"parameters": {"org": "demo", "error_url": _URL}}
    nb.cells = [new_code_cell(f'error_url = "{_URL}"\n', metadata={"tags": ["injected-parameters"]})]
    clean = json.dumps(scrub_notebook(nb))
    assert "c4n4ry" not in clean and "OAUTH_APP_BLOCKED" in clean


def test_known_values_in_escaped_spellings():
    odd = "p&ss<w>rd \"1\"+"
    for spelling in (odd, "p%26ss%3Cw%3Erd%20%221%22%2B", "p&amp;ss&lt;w&gt;rd &quot;1&quot;+",
                     'p&ss<w>rd \\"1\\"+', "p%26ss%3Cw%3Erd+%221%22%2B"):
        assert "ss" not in scrub_text(f"x {spelling} y", {odd}).replace("[redacted]", ""), spelling


def test_longest_secret_first_and_short_ones_ignored():
    assert scrub_text(f"{PASS}{TOKEN}!", SECRETS) == f"{REDACTED}!"
    assert scrub_text("a abc b", {"abc"}) == "a abc b"  # < 4 chars: would shred text


def test_ordinary_text_is_left_alone():
    text = "Failed: API security token required from 203.0.113.7; check the password policy"
    assert scrub_text(text, SECRETS) == text


def test_scrub_obj_recurses_and_redacts_secret_keys():
    obj = {"a": [PASS, {"b": (TOKEN, 3)}], "client_secret": "unknown-val", "token_present": True,
           "password_env": "SFDOCTOR_X", "n": None}
    out = scrub_obj(obj, SECRETS)
    assert out == {"a": [REDACTED, {"b": (REDACTED, 3)}], "client_secret": REDACTED, "token_present": True,
                   "password_env": "SFDOCTOR_X", "n": None}
    assert obj["a"][0] == PASS  # copy, not in place


def test_known_secrets_of_a_demo_scenario():
    got = known_secrets(OrgRef(name="demo:token-missing", kind="demo", slug="demo-token-missing",
                               scenario_ref="token-missing"))
    assert {"Adm1n-pass", "AAAAtokenAAAA", "Adm1n-passAAAAtokenAAAA", "Sync-pass-1", "BBBBtokenBBBB",
            "Sync-pass-1BBBBtokenBBBB"} <= got
    from sfdoctor.demo import store
    assert store.DEMO_CLIENT_SECRET in got
    assert "sync@acme.example" not in got and all(len(s) >= 4 for s in got)


@pytest.mark.parametrize("scenario", ["sia-oauth-blocked", "sia-restricted-domain", "sia-sandbox",
                                      "sia-api-disabled", "sia-unrecognized", "sia-healthy"])
def test_known_secrets_of_the_sia_scenarios(scenario):
    from sfdoctor.demo.scenario import load_scenario

    world = load_scenario(scenario)
    got = known_secrets(OrgRef(name=f"demo:{scenario}", kind="demo", slug=f"demo-{scenario}", scenario_ref=scenario))
    assert {u.password for u in world.salesforce.users} <= got


@pytest.mark.parametrize("scenario", ["marketo-healthy", "marketo-sync-failed", "marketo-org-api-disabled",
                                      "marketo-user-api-disabled", "marketo-fields-missing", "marketo-unwanted-fields",
                                      "marketo-sandbox-mismatch", "marketo-api-denied", "marketo-duplicates"])
def test_known_secrets_of_the_marketo_scenarios(scenario):
    """Marketo's client secret (the scenario's or its default) is scrubbed like Salesforce's."""
    from sfdoctor.demo.scenario import load_scenario

    world = load_scenario(scenario)
    got = known_secrets(OrgRef(name=f"demo:{scenario}", kind="demo", slug=f"demo-{scenario}", scenario_ref=scenario))
    assert {u.password for u in world.salesforce.users} | {world.marketo.client_secret} <= got


def test_known_secrets_of_a_real_orgs_marketo_section(monkeypatch):
    monkeypatch.setenv("KS_MKTO_SECRET", "real-marketo-secret")
    ref = OrgRef(name="p", kind="real", slug="p", config={
        "marketo": {"munchkin_id": "123-ABC-456", "client_id": "cid", "client_secret_env": "KS_MKTO_SECRET"}})
    assert known_secrets(ref) == {"real-marketo-secret"}


def test_known_secrets_of_a_scenario_file_with_operator(write_scenario):
    path = write_scenario("""
        salesforce:
          users:
            - {username: a@x.example, password: Pw-file-1, security_token: TokFile1, admin: true}
        marketo: {client_secret: mkto-canary-secret}
        operator: {probe_username: a@x.example, probe_token: StaleTok99}
        """)
    got = known_secrets(OrgRef(name=f"demo:{path}", kind="demo", slug="demo-x", scenario_ref=path))
    assert {"Pw-file-1", "TokFile1", "Pw-file-1TokFile1", "mkto-canary-secret", "StaleTok99"} <= got


def test_known_secrets_of_a_real_org(monkeypatch):
    monkeypatch.setenv("KS_SECRET", "real-client-secret")
    monkeypatch.setenv("KS_PW", "real-probe-pw")
    monkeypatch.delenv("KS_UNSET", raising=False)
    ref = OrgRef(name="p", kind="real", slug="p", config={
        "client_secret_env": "KS_SECRET", "client_id": "cid-not-secret",
        "probe": {"password_env": "KS_PW", "token_env": "KS_UNSET"}})

    class Conn:
        secrets = {"00Dxx!access-token-value"}
        info = None
    got = known_secrets(ref, Conn())
    assert got == {"real-client-secret", "real-probe-pw", "00Dxx!access-token-value"}


def test_is_secret_name():
    assert scrub.is_secret_name("probe_password") and scrub.is_secret_name("client_secret")
    assert not scrub.is_secret_name("password_env") and not scrub.is_secret_name("token_keyring")
    assert not scrub.is_secret_name("username")


@pytest.mark.parametrize("scenario", ["mc-healthy", "mc-ip-not-allowlisted", "mc-password-expired",
                                      "mc-credentials-invalid", "mc-user-locked", "mc-user-inactive", "mc-not-api-user"])
def test_known_secrets_of_the_mc_scenarios(scenario):
    """Marketing Cloud's package secret, every MC user's password and the operator's mistaken
    integration password (`operator.mc_password`) are scrubbed like Salesforce's."""
    from sfdoctor.demo.scenario import load_scenario

    world = load_scenario(scenario)
    got = known_secrets(OrgRef(name=f"demo:{scenario}", kind="demo", slug=f"demo-{scenario}", scenario_ref=scenario))
    mc = world.marketing_cloud
    assert {mc.client_secret} | {u.password for u in mc.users} <= got
    if world.operator.get("mc_password"):
        assert world.operator["mc_password"] in got


@pytest.mark.parametrize("name", ["password", "probe_password", "mc_password", "client_secret", "consumer_secret",
                                  "security_token", "probe_token", "access_token", "refreshToken", "sessionId",
                                  "session_id", "password_and_token", "private_key", "apiKey", "Authorization",
                                  "assertion", "marketo_client_secret", "sid"])
def test_secret_names_are_secret(name):
    assert scrub.is_secret_name(name)


@pytest.mark.parametrize("name", ["password_expires_in", "password_policy", "password_changed_at",
                                  "passwordExpiresIn", "token_reset_at", "password_never_expires",
                                  "password_expired", "token_present", "secret_names", "api_key_env",
                                  "client_secret_keyring", "private_key_file", "tokens_used", "username",
                                  "consumer_key", "client_id"])
def test_facts_about_secrets_are_not_secret(name):
    assert not scrub.is_secret_name(name)


def test_password_expires_in_survives_in_findings_parameters():
    """A non-secret neighbour of a secret stays readable; the secret itself is still removed."""
    out = scrub_obj({"parameters": {"password_expires_in": "90", "mc_password": "Mc-pass-1",
                                    "exclude_api_users": "no"}})
    assert out == {"parameters": {"password_expires_in": "90", "mc_password": REDACTED, "exclude_api_users": "no"}}


def test_sfdx_auth_urls_are_removed():
    text = 'auth: force://PlatformCLI::5Aep861refresh.Token_1@acme.my.salesforce.com, "x"'
    assert scrub_text(text) == 'auth: [redacted], "x"'
