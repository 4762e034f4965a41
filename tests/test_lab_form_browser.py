"""The interactive path as a person uses it: JupyterLab in Debian's chromium, driven by Playwright.

One headless JupyterLab on 127.0.0.1 for the whole module, started by `make lab` (random port,
token, every Jupyter directory and HOME in tmp, nothing in ~ touched: tests/lab_helpers.py) serves a copy per language of each
runbook's notebook. A test runs the parameters cell and the form cell as they are, chooses the
language (日本語 for the Japanese copy) and types the demo world into the form's org field, fills
the form, presses Run and waits for the findings in place: the form must state the login
attempts before anything runs (principle 7) and the findings must name the expected cause:

- security-token-required on demo:token-missing: the username typed, TOKEN_MISSING;
- sia-auth-failure on demo:sia-oauth-blocked: the failure page's URL pasted, OAUTH_APP_BLOCKED;
- marketo-sync-setup on demo:marketo-sync-failed: sync user, unwanted field, Marketo's status,
  SYNC_USER_LOGIN_FAILED among the causes;
- mc-missing-oauth-token on demo:mc-ip-not-allowlisted: a malformed allowlist is refused in one
  line with nothing run, then the corrected one gives MC_IP_NOT_ALLOWLISTED.

Widget state is saved into notebooks here ("Save Jupyter widget state" on), so after saving
through the UI the file's `metadata.widgets` really holds the form and its findings, and the
file must hold no secret of the scenario (runbook_harness.secrets_in / scan_for_secrets:
principle 4).

The runbooks above have no secret parameter, so a last notebook shows the fixture runbook's
masked field: a password typed into it must not reach the saved .ipynb, neither when the
notebook is saved before Run (autosave does that too) nor after Run, and Run still gets it.
Screenshots land in the module's tmp dir (lab0/).
"""
from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path

import nbformat
import pytest

import lab_helpers as L
import runbook_harness as H
from conftest import skip_without_chromium

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "security-token-required.ipynb"
FIXTURE_RUNBOOKS = REPO / "tests" / "fixtures" / "home" / "runbooks"
USERNAME = "sync@acme.example"
SF_SESSION = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{20,}")

pytestmark = pytest.mark.browser

skip_without_chromium()


# --------------------------------------------------------------------------- the server
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`make lab` on a free loopback port (tests/lab_helpers.py); widget state saved into notebooks."""
    with L.serve_lab(tmp_path_factory.mktemp("lab"), settings={
        "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True},
        "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    }) as served:
        yield served


@pytest.fixture()
def page(browser, lab, request):
    with L.lab_page(browser, lab, lab["root"].parent / f"end-{request.node.name}.png") as p:
        yield p


def _widget_state(nb: dict) -> dict:
    widgets = nb.get("metadata", {}).get("widgets", {})
    return widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})


def _assert_no_secret_saved(lab, name: str, saved: dict, scenario: str) -> None:
    """The file JupyterLab wrote holds no secret of `scenario` (nor a session id): its text as
    on disk, and decoded (a value could hide behind JSON escapes), outputs and widget state in."""
    texts = {"the saved file": (lab["root"] / name).read_text(encoding="utf-8"),
             "the saved notebook, decoded": json.dumps(saved, ensure_ascii=False)}
    assert H.scan_for_secrets(texts, H.secrets_in(scenario)) == []


def _demo_secrets() -> set[str]:
    from sfdoctor import orgs
    from sfdoctor.scrub import known_secrets

    return {s for s in known_secrets(orgs.resolve("demo:token-missing")) if s and len(s) >= 6}


# --------------------------------------------------------------------------- the tests
# What the form and its findings say, per language of the notebook's `lang` parameter.
TEXTS = {
    "en": {"run": "Run the checks", "attempts": "at most 2 login attempt(s)", "lockout": "lockout",
           "username": "Username under diagnosis", "outcome": "Problems found"},
    "ja": {"run": "チェックを実行", "attempts": "最大 2 回ログインを試みます", "lockout": "ロックアウト",
           "username": "調査するユーザー名", "outcome": "問題が見つかりました"},
}


def _start_form(page, lab, notebook: Path, org: str, lang: str):
    """Open a copy of `notebook` (one per language), run its parameters cell and form cell as
    they are, then choose the language and the org on the form, as an admin does with no code
    to edit: (file name, form, Run button)."""
    name = f"{notebook.stem}-{lang}.ipynb"
    if not (lab["root"] / name).exists():
        shutil.copy(notebook, lab["root"] / name)
    L.open_notebook(page, lab, name)
    L.run_cell(page, 1)
    L.wait_idle(page)
    L.run_cell(page, 2)
    form, run_button = L.wait_form(page, 2, TEXTS["en"]["run"])
    if lang != "en":
        form.locator(".widget-toggle-buttons button", has_text="日本語").click()
        form, run_button = L.wait_form(page, 2, TEXTS[lang]["run"])
    form.locator(".widget-text input[list]").fill(org)  # the org Combobox: a text input with a datalist
    return name, form, run_button


# Every runbook's parameters cell, untouched: the form chose the org and the language.
UNEDITED = 'org = "demo"\nlang = "en"\n'


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_form_runs_the_runbook_in_lab(lab, page, lang):
    from playwright.sync_api import expect  # importable: the browser fixture skipped otherwise
    texts = TEXTS[lang]
    shots = lab["root"].parent
    name, form, run_button = _start_form(page, lab, NOTEBOOK, "demo:token-missing", lang)
    # Principle 7: the form says how many login attempts a run makes before anything runs.
    assert texts["attempts"] in form.inner_text()
    assert texts["lockout"] in form.inner_text()
    username = form.locator(".widget-text", has_text=texts["username"]).locator("input")
    username.fill(USERNAME)
    page.screenshot(path=str(shots / f"form-filled-{lang}.png"), full_page=True)

    run_button.click()
    findings = form.locator(".widget-output")
    # run.finish() shows the summary last: then every finding is in place.
    findings.locator("#sfd-summary").wait_for(timeout=45_000)
    expect(run_button).to_be_enabled(timeout=20_000)
    text = findings.inner_text()
    assert "TOKEN_MISSING" in text
    assert USERNAME in text
    assert texts["outcome"] in findings.locator("#sfd-summary").inner_text()
    findings.get_by_text("TOKEN_MISSING").first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"form-findings-{lang}.png"))
    findings.locator("#sfd-summary").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"form-summary-{lang}.png"))

    saved = L.save(page, lab, name)
    raw = json.dumps(saved)
    state = _widget_state(saved)
    # Not vacuous: the form's widgets (and the findings in its Output) were saved.
    assert any(m.get("state", {}).get("value") == USERNAME for m in state.values()), "form state not saved"
    assert "TOKEN_MISSING" in json.dumps(state)
    for value in _demo_secrets():
        assert value not in raw, "a demo secret reached the saved notebook"
    assert not SF_SESSION.search(raw), "a session id reached the saved notebook"
    _assert_no_secret_saved(lab, name, saved, "token-missing")
    assert "".join(saved["cells"][1]["source"]).startswith(UNEDITED)
    # The headless path is unchanged: the form cell is still skipped by papermill.
    assert "skip-execution" in saved["cells"][2]["metadata"].get("tags", [])


# --------------------------------------------------------------------------- the other runbooks
NOTEBOOKS = REPO / "notebooks"
# The form's note on login attempts (principle 7), for a runbook that makes two or none.
ATTEMPTS = {
    2: {"en": "at most 2 login attempt(s)", "ja": "最大 2 回ログインを試みます"},
    0: {"en": "makes no login attempts", "ja": "ログインを試みません"},
}


def _field(form, runbook: str, name: str, lang: str, kind: str):
    """The form's `kind` widget (text, textarea, dropdown) whose label is parameter `name`'s in `lang`."""
    from sfdoctor.i18n import pick
    from sfdoctor.runbooks import load

    label = pick(next(p for p in load(runbook).parameters if p.name == name).label, lang)
    exact = form.page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    field = form.locator(f".widget-{kind}").filter(has=exact)
    assert field.count() == 1, f"no single {kind} field labelled {label!r}"
    return field


def _run_to_summary(form, run_button):
    """Press Run and wait until run.finish() has shown the summary: the findings (output) area."""
    from playwright.sync_api import expect

    run_button.click()
    out = form.locator(".widget-output")
    out.locator("#sfd-summary").wait_for(timeout=60_000)
    expect(run_button).to_be_enabled(timeout=20_000)
    return out


def _card_causes(out) -> set[str]:
    return {c.strip() for c in out.locator(".sfd-card .sfd-cause").all_inner_texts()}


def _check_outcome(lab, page, name: str, out, lang: str, scenario: str, expected: list[str]) -> dict:
    """The expected causes are on the findings' cards and in the summary; saved through the UI,
    the notebook holds the findings (not vacuous) and no secret of `scenario`."""
    summary = out.locator("#sfd-summary").inner_text()
    assert TEXTS[lang]["outcome"] in summary
    causes = _card_causes(out)
    for cause in expected:
        assert cause in causes, (cause, sorted(causes))
        assert cause in summary, (cause, summary)
    out.locator("#sfd-summary").scroll_into_view_if_needed()
    page.screenshot(path=str(lab["root"].parent / f"summary-{name.removesuffix('.ipynb')}.png"))
    saved = L.save(page, lab, name)
    state = json.dumps(_widget_state(saved))
    assert all(cause in state for cause in expected), "the findings were not saved with the form"
    _assert_no_secret_saved(lab, name, saved, scenario)
    assert "".join(saved["cells"][1]["source"]).startswith(UNEDITED)
    return saved


def _operator(scenario: str) -> dict:
    return H.scenario_document(scenario).get("operator") or {}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_sia_form_finds_the_blocked_app(lab, page, lang):
    runbook, scenario = "sia-auth-failure", "sia-oauth-blocked"
    error_url = _operator(scenario)["error_url"]
    name, form, run_button = _start_form(page, lab, NOTEBOOKS / f"{runbook}.ipynb", f"demo:{scenario}", lang)
    assert ATTEMPTS[0][lang] in form.inner_text()
    _field(form, runbook, "error_url", lang, "text").locator("input").fill(error_url)
    out = _run_to_summary(form, run_button)
    _check_outcome(lab, page, name, out, lang, scenario, ["OAUTH_APP_BLOCKED"])


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_marketo_form_finds_the_sync_user_login_failing(lab, page, lang):
    runbook, scenario = "marketo-sync-setup", "marketo-sync-failed"
    sync_user = _operator(scenario)["probe_username"]
    name, form, run_button = _start_form(page, lab, NOTEBOOKS / f"{runbook}.ipynb", f"demo:{scenario}", lang)
    assert ATTEMPTS[2][lang] in form.inner_text()
    _field(form, runbook, "username", lang, "text").locator("input").fill(sync_user)
    _field(form, runbook, "fields_not_to_sync", lang, "textarea").locator("textarea").fill("Lead.AnnualRevenue")
    _field(form, runbook, "marketo_sync_status", lang, "dropdown").locator("select").select_option(
        label={"en": "Failed", "ja": "失敗"}[lang])   # the choice's label in the form's language
    out = _run_to_summary(form, run_button)
    assert sync_user in out.inner_text()
    _check_outcome(lab, page, name, out, lang, scenario, ["SYNC_USER_LOGIN_FAILED"])


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_mc_form_refuses_a_malformed_allowlist_then_finds_the_missing_range(lab, page, lang):
    runbook, scenario = "mc-missing-oauth-token", "mc-ip-not-allowlisted"
    name, form, run_button = _start_form(page, lab, NOTEBOOKS / f"{runbook}.ipynb", f"demo:{scenario}", lang)
    assert ATTEMPTS[2][lang] in form.inner_text()
    _field(form, runbook, "ip_allowlist_enabled", lang, "dropdown").locator("select").select_option(
        label={"en": "Enabled", "ja": "有効"}[lang])
    allowlist = _field(form, runbook, "ip_allowlist", lang, "textarea").locator("textarea")
    out = form.locator(".widget-output")

    # A typo in the pasted allowlist: one line naming the entry, nothing run, the form usable.
    allowlist.fill("192.0.2.1 - 192.0.2.999")
    run_button.click()
    out.get_by_text(re.compile(r"192\.0\.2\.999")).wait_for(timeout=30_000)
    refusal = out.inner_text().strip()
    assert "\n" not in refusal and refusal.startswith("ip_allowlist:"), refusal
    assert out.locator("#sfd-summary").count() == 0 and out.locator(".sfd-card").count() == 0
    assert run_button.is_enabled()
    page.screenshot(path=str(lab["root"].parent / f"refused-{name.removesuffix('.ipynb')}.png"))

    # Fixed: the office range as Setup lists it plus a range of the person's own (so the table
    # shows the typed allowlist was used, not the demo operator's answer).
    allowlist.fill("198.51.100.0 - 198.51.100.255 Head office\n192.0.2.0/24")
    _field(form, runbook, "data_cloud_ips", lang, "textarea").locator("textarea").fill("203.0.113.40, 203.0.113.41")
    out = _run_to_summary(form, run_button)
    text = out.inner_text()
    assert "192.0.2.999" not in text
    assert "192.0.2.0" in text and "203.0.113.40" in text
    _check_outcome(lab, page, name, out, lang, scenario, ["MC_IP_NOT_ALLOWLISTED"])


def _secret_notebook(root: Path) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [nbformat.v4.new_code_cell(
        "from sfdoctor.forms import build_form\n"
        "from sfdoctor.runbooks import load\n\n"
        "def on_run(values):\n"
        "    print('received', len(values['password']), 'characters; mode', values['mode'])\n\n"
        f"build_form(load('fixture-probe', {str(FIXTURE_RUNBOOKS)!r}), 'en', on_run)\n"
    )]
    nbformat.write(nb, root / "secret-form.ipynb")
    return "secret-form.ipynb"


def test_typed_password_never_reaches_the_saved_notebook(lab, page):
    from playwright.sync_api import expect
    name = _secret_notebook(lab["root"])
    shots = lab["root"].parent
    canary = "Canary-" + secrets.token_hex(8)
    L.open_notebook(page, lab, name)
    L.run_cell(page, 0)
    form, run_button = L.wait_form(page, 0, "Run the checks")
    assert "never saved in the notebook" in form.inner_text()
    masked = form.locator(".widget-text", has_text="Password to test").locator("input")
    assert masked.get_attribute("type") == "password"
    masked.click()
    page.keyboard.type(canary)
    page.keyboard.press("Tab")  # the person moves on to the next field
    L.wait_idle(page)
    form.screenshot(path=str(shots / "secret-typed.png"))

    # Saved before Run (what autosave does): the typed secret must not be in the file.
    saved = L.save(page, lab, name)
    assert _widget_state(saved), "widget state was not saved: the check below would prove nothing"
    assert canary not in json.dumps(saved)

    run_button.click()
    out = form.locator(".widget-output")
    out.get_by_text("received").wait_for(timeout=30_000)
    assert f"received {len(canary)} characters" in out.inner_text()  # Run got the secret
    expect(run_button).to_be_enabled(timeout=20_000)
    form.screenshot(path=str(shots / "secret-after-run.png"))

    # The usual way: type the secret and click Run straight away (the blur syncs it first).
    second = "Canary-" + secrets.token_hex(5)
    masked.click()
    page.keyboard.type(second)
    run_button.click()
    out.get_by_text(f"received {len(second)} characters").wait_for(timeout=30_000)
    expect(run_button).to_be_enabled(timeout=20_000)
    saved = L.save(page, lab, name)
    assert canary not in json.dumps(saved) and second not in json.dumps(saved)
    assert masked.input_value() == ""
