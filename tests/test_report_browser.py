"""The shared report in a real browser with the network off (the history page: test_index_page_browser.py).

Debian's chromium via Playwright. The page must open complete offline (corporate networks
block CDNs; an e-mail attachment has no folder around it): every request is routed to a
handler that lets through only the page's own file and aborts (and records) everything
else, and the test asserts that nothing else was even attempted. Screenshots of each page
are kept in tests/artifacts/ (git-ignored) for people to look at.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from conftest import skip_without_chromium

from sfdoctor.report import export_html
from sfdoctor.runbooks import load

FIXTURE_RUNBOOKS = Path(__file__).parent / "fixtures" / "home" / "runbooks"
ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = pytest.mark.browser

skip_without_chromium()


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def _sealed(browser, page_file: Path):
    """A context that may load `page_file` and nothing else: (context, the URLs it tried)."""
    own = page_file.resolve().as_uri()
    attempted: list[str] = []
    context = browser.new_context(offline=True)

    def handle(route) -> None:
        attempted.append(route.request.url)
        if route.request.url == own:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", handle)
    return context, attempted, own


def _report(tmp_path: Path, lang: str) -> Path:
    spec = load("fixture-probe", FIXTURE_RUNBOOKS)
    findings = {
        "schema": "sfdoctor.findings/1", "runbook": "fixture-probe", "org": "demo", "lang": lang,
        "started_at": "2026-11-23T01:02:03Z", "finished_at": "2026-11-23T01:02:05Z", "outcome": "problems_found",
        "root_causes": ["FIXTURE_BROKEN"], "warnings": [], "api_calls": 4, "parameters": {"days": 7},
        "checks": [
            {"id": "probe", "title": spec.texts(lang).title("probe"), "status": "fail", "cause": "FIXTURE_BROKEN",
             "evidence": {"source_ip": "203.0.113.7", "message": _LONG}, "fix": spec.texts(lang).fix("FIXTURE_BROKEN"), "summary": "",
             "duration_ms": 5},
            {"id": "leak", "title": spec.texts(lang).title("leak"), "status": "pass", "cause": None,
             "evidence": {}, "fix": "", "summary": "", "duration_ms": 1},
        ],
    }
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output("display_data", data={"text/html": "<p id='nb-out'>notebook output</p>"})])]
    path = tmp_path / f"report-{lang}.html"
    path.write_text(export_html(nb, findings, lang, spec=spec), encoding="utf-8")
    return path


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_report_opens_complete_offline(tmp_path, lang, browser):
    page_file = _report(tmp_path, lang)
    context, attempted, own = _sealed(browser, page_file)
    try:
        page = context.new_page()
        page.goto(own, wait_until="load")
        summary = page.locator("#sfd-summary")
        cards = page.locator(".sfd-card")
        assert summary.is_visible() and cards.count() == 2 and cards.first.is_visible()
        assert "FIXTURE_BROKEN" in summary.inner_text()
        # top-down: the answer, then each check once, then the run's details
        tops = [page.locator(sel).first.bounding_box()["y"] for sel in ("#sfd-summary", ".sfd-card", "#sfd-looked")]
        assert tops == sorted(tops)
        assert page.locator("#nb-out").is_visible()
        expected = "Problems found" if lang == "en" else "問題が見つかりました"
        assert expected in summary.inner_text()
        page.emulate_media(media="print")
        assert page.locator("#sfd-summary").is_visible()
        page.emulate_media(media="screen")
        shot = _artifact(f"report-{lang}.png")
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 1000
    finally:
        context.close()
    assert attempted == [own]      # the file itself, and not one request more


_LONG = "Invalid username, password, security token; or user locked out. Are you at a new location? " * 3


def _card_page(tmp_path: Path, theme: str) -> Path:
    """A card as JupyterLab shows it: nbconvert's lab template carries JupyterLab's own CSS
    (rendered-HTML tables right-aligned and centred, light or dark theme), none of ours."""
    from nbconvert import HTMLExporter

    from sfdoctor.findings import MIMETYPE
    from sfdoctor.report import finding_card_html

    finding = {"id": "probe", "title": "Probe", "status": "fail", "cause": "FIXTURE_BROKEN", "summary": "It broke.",
               "fix": "1. Open.\n2. Mend.",
               "evidence": {"login_attempts": 2, "message": _LONG, "by_status": {"Success": 3},
                            "attempts": [{"kind": "password_only", "ok": False}]}}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/html": finding_card_html(finding, "en"), MIMETYPE: finding})])]
    body, _ = HTMLExporter(theme=theme, exclude_input=True).from_notebook_node(nb)
    path = tmp_path / f"card-{theme}.html"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_card_styles_itself_inside_jupyterlab_css(tmp_path, theme, browser):
    context = browser.new_context(offline=True)
    try:
        page = context.new_page()
        page.goto(_card_page(tmp_path, theme).as_uri(), wait_until="load")
        card = page.locator(".jp-RenderedHTMLCommon .sfd-card")
        assert card.is_visible()
        aligns = card.locator("td, th").evaluate_all("els => els.map(e => getComputedStyle(e).textAlign)")
        assert aligns and set(aligns) == {"left"}
        badge = card.locator(".sfd-badge")
        style = badge.evaluate("e => { const s = getComputedStyle(e); return [s.backgroundColor, s.color, s.borderTopStyle] }")
        assert style[0] not in ("rgba(0, 0, 0, 0)", "transparent") and style[0] != style[1] and style[2] == "solid"
        # the long message folds away, the whole text one click (or a hover) away
        long = card.locator("details.sfd-long")
        assert long.locator(".sfd-rest").is_hidden()
        long.locator("summary").click()
        assert long.locator(".sfd-rest").is_visible()
        # evidence as labelled values; records as a small table, left-aligned like the rest
        assert card.locator(".sfd-evidence .sfd-label").first.inner_text() == "Login attempts"
        assert card.locator(".sfd-evidence table.sfd-rows thead th").count() == 2
        page.screenshot(path=str(tmp_path / f"card-{theme}.png"), full_page=True)
    finally:
        context.close()


def test_report_prints_a4_with_folded_texts_open(tmp_path, browser):
    page_file = _report(tmp_path, "en")
    text = page_file.read_text(encoding="utf-8")
    assert "size: A4" in text
    context = browser.new_context(offline=True)
    try:
        page = context.new_page()
        page.goto(page_file.as_uri(), wait_until="load")
        page.emulate_media(media="print")
        # every badge keeps its symbol and border in print (greyscale-safe)
        borders = page.locator(".sfd-card .sfd-badge").evaluate_all(
            "els => els.map(e => getComputedStyle(e).borderTopStyle + ' ' + e.textContent.trim()[0])")
        assert borders == ["solid \u2717", "solid \u2713"]
        rest = page.locator(".sfd-card details.sfd-long .sfd-rest")
        assert rest.is_visible() and "new location?" in rest.inner_text()  # printed in full
        page.emulate_media(media="screen")
        assert rest.is_hidden()  # folded on screen
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4", print_background=True)
        assert pdf.startswith(b"%PDF")
    finally:
        context.close()


def _defaults() -> list[tuple[str, str]]:
    from sfdoctor import runbooks

    return [(s.id, s.default_scenario) for s in runbooks.all_specs() if s.default_scenario]


DEFAULTS = _defaults()


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("runbook,scenario", DEFAULTS, ids=[r for r, _ in DEFAULTS])
def test_each_runbooks_report_reads_top_down_offline(builtin_runs, browser, runbook, scenario, lang):
    """Each runbook's default demo world as `sfdoctor run` reports it: the answer first, each
    check once, the run's details last; opened offline; a full-page screenshot kept."""
    import runbook_harness as H

    result = builtin_runs.get(scenario, lang)
    page_file = H.report_folder(result) / "report.html"
    checks = result["findings"]["checks"]
    context, attempted, own = _sealed(browser, page_file)
    try:
        page = context.new_page()
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(own, wait_until="load")
        cards = page.locator(".sfd-card")
        assert [cards.nth(i).get_attribute("id") for i in range(cards.count())] == [f"sfd-check-{c['id']}" for c in checks]
        summary, looked = page.locator("#sfd-summary"), page.locator("#sfd-looked")
        assert summary.bounding_box()["y"] < 300  # the answer opens the page
        assert summary.bounding_box()["y"] < cards.first.bounding_box()["y"] < looked.bounding_box()["y"]
        outcome = {"en": "Problems found", "ja": "問題が見つかりました"}[lang]
        assert outcome in summary.inner_text()
        # a check that passed folds its values away; one that failed shows them
        failed = page.locator(".sfd-card-fail .sfd-evidence").first
        assert failed.is_visible()
        shot = _artifact(f"report-{runbook}-{lang}.png")
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 1000
    finally:
        context.close()
    assert attempted == [own]
