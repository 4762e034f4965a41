"""start-here.ipynb in JupyterLab as a new admin meets it: `make lab`, open it, run it, paste, pick, press.

One JupyterLab for the module, started by `make lab` itself with JupyterLab's default settings
(tests/lab_helpers.py), so it also shows that make lab's jupyter-config/ holds: nothing has
answered the news question (the setting still says "none", which is when JupyterLab asks), yet
the plugin that asks is not loaded and no pop-up shows. The admin edits no code: runs the
parameters cell and the form cell, pastes a Japanese error message, types a demo world into the
org field (which offers it), presses the button and gets the runbook that fits, the summary,
and a link that serves the report. Screenshots are kept in tests/artifacts/ (git-ignored).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urljoin

import pytest

import lab_helpers as L
from conftest import skip_without_chromium

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "start-here.ipynb"
ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = pytest.mark.browser

skip_without_chromium()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with L.serve_lab(tmp_path_factory.mktemp("lab")) as served:
        shutil.copy(NOTEBOOK, served["root"] / NOTEBOOK.name)
        yield served


@pytest.fixture()
def page(browser, lab, request):
    ARTIFACTS.mkdir(exist_ok=True)
    with L.lab_page(browser, lab, ARTIFACTS / f"start-here-end-{request.node.name}.png") as p:
        yield p


def test_make_labs_config_keeps_the_news_popup_away(lab, page) -> None:
    L.open_notebook(page, lab, NOTEBOOK.name)
    notification = L.api(lab, "GET", "/lab/api/settings/@jupyterlab/apputils-extension:notification")
    # What the user settings say, else the schema's default: "none" (unanswered) is when JupyterLab asks.
    fetch_news = notification["settings"].get("fetchNews", notification["schema"]["properties"]["fetchNews"]["default"])
    assert fetch_news == "none", "the question was answered: this would prove nothing"
    assert page.evaluate("id => window.jupyterapp.hasPlugin(id)", "@jupyterlab/apputils-extension:notification")
    assert not page.evaluate("id => window.jupyterapp.hasPlugin(id)", L.NEWS_PLUGIN)
    assert page.get_by_text("official Jupyter news").count() == 0
    page.screenshot(path=str(ARTIFACTS / "start-here-opened.png"))


# Per language chosen on the form: what the admin pastes (the other language on purpose:
# the text's language does not have to be the form's), and what the form and summary say.
CASES = {
    "en": {"paste": "ログインに失敗しました: セキュリティトークンが必要です", "phrase": "セキュリティトークンが必要です",
           "button": "Find the runbook and run it", "outcome": "Problems found", "link": "Open the report"},
    "ja": {"paste": "LOGIN_MUST_USE_SECURITY_TOKEN: API security token required", "phrase": "security token required",
           "button": "合うランブックを探して実行", "outcome": "問題が見つかりました", "link": "レポートを開く"},
}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_start_here_finds_the_runbook_runs_it_and_links_the_report(lab, page, lang) -> None:
    from playwright.sync_api import expect

    case = CASES[lang]
    name = f"start-here-{lang}.ipynb"
    shutil.copy(NOTEBOOK, lab["root"] / name)
    L.open_notebook(page, lab, name)
    L.run_cell(page, 1)
    L.wait_idle(page)
    L.run_cell(page, 2)
    form, button = L.wait_form(page, 2, CASES["en"]["button"])
    if lang != "en":  # no code to edit: the form's own language choice relabels it
        form.locator(".widget-toggle-buttons button", has_text="日本語").click()
        form, button = L.wait_form(page, 2, case["button"])
        assert form.locator(".widget-textarea label").inner_text() == "エラーまたは URL"
    org = form.locator(".widget-text input[list]")  # the Combobox: a text input with a datalist
    offered = org.evaluate("input => Array.from(input.list ? input.list.options : [], o => o.value)")
    assert "demo:token-missing" in offered and "demo:sia-oauth-blocked" in offered, offered
    form.locator("textarea").fill(case["paste"])
    org.fill("demo:token-missing")
    page.screenshot(path=str(ARTIFACTS / f"start-here-filled-{lang}.png"))

    button.click()
    out = form.locator(".widget-output")
    out.locator("#sfd-summary").wait_for(timeout=120_000)
    expect(button).to_be_enabled(timeout=20_000)
    choice = out.locator(".sfd-triage-choice").inner_text()
    assert "security-token-required" in choice and case["phrase"] in choice.casefold(), choice
    summary = out.locator("#sfd-summary").inner_text()
    assert case["outcome"] in summary and "TOKEN_MISSING" in summary
    link = out.locator(".sfd-triage-report a")
    assert link.inner_text() == case["link"]
    href = link.get_attribute("href")
    assert "/files/reports/" in href, href  # JupyterLab resolved it against the notebook's folder
    report = page.request.get(urljoin(page.url, href), headers={"Authorization": f"token {lab['token']}"})
    assert report.ok, report.status
    assert "TOKEN_MISSING" in report.text() and f'lang="{lang}"' in report.text()
    assert href.split("/files/")[1].split("?")[0] in {p.relative_to(lab["root"]).as_posix()
                                                      for p in (lab["root"] / "reports").rglob("report.html")}
    out.locator(".sfd-triage-report").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"start-here-summary-{lang}.png"))
