"""The shared report in a real browser with the network off: Debian's chromium via Playwright.

The report must open complete offline (corporate networks block CDNs): the summary and the
checks table are visible and no request leaves the page. A screenshot goes to tmp for people.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

from sfdoctor.report import export_html
from sfdoctor.runbooks import load

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
FIXTURE_RUNBOOKS = Path(__file__).parent / "fixtures" / "home" / "runbooks"

pytestmark = pytest.mark.browser

if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)) and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (make system-deps)", allow_module_level=True)


def _report(tmp_path: Path, lang: str) -> Path:
    spec = load("fixture-probe", FIXTURE_RUNBOOKS)
    findings = {
        "schema": "sfdoctor.findings/1", "runbook": "fixture-probe", "org": "demo", "lang": lang,
        "started_at": "2026-11-23T01:02:03Z", "finished_at": "2026-11-23T01:02:05Z", "outcome": "problems_found",
        "root_causes": ["FIXTURE_BROKEN"], "warnings": [], "api_calls": 4, "parameters": {"days": 7},
        "checks": [
            {"id": "probe", "title": spec.texts(lang).title("probe"), "status": "fail", "cause": "FIXTURE_BROKEN",
             "evidence": {"source_ip": "203.0.113.7"}, "fix": spec.texts(lang).fix("FIXTURE_BROKEN"), "summary": "",
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


@pytest.fixture(scope="module")
def browser():
    """One chromium for the module: starting it costs seconds."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_report_opens_complete_offline(tmp_path, lang, browser):
    page_file = _report(tmp_path, lang)
    external: list[str] = []
    context = browser.new_context(offline=True)
    try:
        page = context.new_page()
        page.on("request", lambda req: external.append(req.url) if not req.url.startswith(("file:", "data:")) else None)
        page.goto(page_file.as_uri(), wait_until="load")
        summary = page.locator("#sfd-summary")
        table = page.locator("#sfd-checks table.sfd-checks-table")
        assert summary.is_visible() and table.is_visible()
        assert "FIXTURE_BROKEN" in summary.inner_text()
        assert table.locator(":scope > tbody > tr").count() == 2
        assert page.locator("#nb-out").is_visible()
        expected = "Problems found" if lang == "en" else "問題が見つかりました"
        assert expected in summary.inner_text()
        page.emulate_media(media="print")
        assert page.locator("#sfd-summary").is_visible()
        page.emulate_media(media="screen")
        shot = tmp_path / f"report-{lang}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 1000
    finally:
        context.close()
    assert external == []
