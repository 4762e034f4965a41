"""The HTML report: header from findings, code hidden, self-contained, plots kept, print CSS."""
from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest

from sfdoctor.findings import MIMETYPE
from sfdoctor.report import export_html, finding_card_html, make_self_contained
from sfdoctor.runbooks import load

FIXTURE_RUNBOOKS = Path(__file__).parent / "fixtures" / "home" / "runbooks"
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")).decode()


def _findings(outcome="problems_found"):
    return {
        "schema": "sfdoctor.findings/1", "runbook": "fixture-probe", "org": "demo:x", "lang": "en",
        "started_at": "2026-11-23T01:02:03Z", "finished_at": "2026-11-23T01:02:05Z", "outcome": outcome,
        "root_causes": ["FIXTURE_BROKEN"], "warnings": ["FIXTURE_DRIFT"], "api_calls": 5,
        "parameters": {"days": 7},
        "checks": [
            {"id": "probe", "title": "Probe the fixture", "status": "fail", "cause": "FIXTURE_BROKEN",
             "evidence": {"source_ip": "203.0.113.7", "ranges": [1, 2]}, "fix": "1. Open the fixture.\n2. Mend it.",
             "summary": "It broke.", "duration_ms": 3},
            {"id": "leak", "title": "Echo <the> environment", "status": "warn", "cause": "FIXTURE_DRIFT",
             "evidence": {}, "fix": "Re-align the fixture.", "summary": "", "duration_ms": 1},
        ],
    }


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"x": {"value": "s3cr3t-widget"}}}}
    nb.cells = [
        nbformat.v4.new_code_cell("secret_code_line = 1", outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
            nbformat.v4.new_output("display_data", data={"text/html": "<script src='https://evil.example/x.js'></script><b>kept</b>",
                                                         "application/javascript": "alert(1)"}),
            nbformat.v4.new_output("display_data", data={MIMETYPE: {"id": "probe"}, "text/plain": "[fail] probe"}),
            nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                                                         "text/plain": "Button()"}),
        ]),
        nbformat.v4.new_code_cell("boom()", outputs=[
            nbformat.v4.new_output("error", ename="RuntimeError", evalue="broke", traceback=["\x1b[31mRuntimeError\x1b[0m: broke"])]),
    ]
    return nb


@pytest.fixture()
def page():
    spec = load("fixture-probe", FIXTURE_RUNBOOKS)
    return export_html(_notebook(), _findings(), "en", spec=spec,
                       context={"edition": "Group Edition", "login_attempts": 1, "window": None})


def test_no_network_resource_and_no_script(page):
    assert "<script" not in page.lower()
    assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", page, re.I)
    assert not re.search(r"""src=["']?(https?:)?//""", page, re.I)
    assert "@import" not in page
    assert "<b>kept</b>" in page  # the output's own HTML survives, its script does not


def test_header_code_hidden_plots_embedded(page):
    assert page.index('id="sfd-summary"') < page.index('id="sfd-checks"') < page.index('id="sfd-looked"')
    assert "Problems found" in page and "FIXTURE_BROKEN" in page and "The fixture is broken" in page
    assert "1. Open the fixture.<br>2. Mend it." in page  # what to do first, steps kept apart
    assert "Echo &lt;the&gt; environment" in page  # escaped
    assert "Group Edition" in page and ">5<" in page  # edition and API calls in "what we looked at"
    assert "last 7 days" in page
    assert f"data:image/png;base64,{PNG}" in page
    assert "secret_code_line" not in page and "s3cr3t-widget" not in page
    assert "RuntimeError: broke" in page and "\x1b[" not in page
    assert "@media print" in page and '<html lang="en">' in page


def test_japanese_report():
    spec = load("fixture-probe", FIXTURE_RUNBOOKS)
    f = _findings("healthy")
    f["root_causes"], f["warnings"], f["checks"] = [], [], []
    ja = export_html(nbformat.v4.new_notebook(), f, "ja", spec=spec)
    assert '<html lang="ja">' in ja and "正常" in ja and "最初にやること" in ja and "修正は不要です" in ja
    assert "sfdoctor レポート: フィクスチャ検査" in ja


def test_inconclusive_summary_says_why():
    f = _findings("inconclusive")
    f["checks"] = [{"id": "run", "title": "Run", "status": "error", "evidence": {"reason": "timeout"}, "fix": ""}]
    f["root_causes"] = f["warnings"] = []
    page = export_html(nbformat.v4.new_notebook(), f, "en")
    assert "Re-run when the reason below is gone" in page and "timeout" in page


def test_card_and_strip():
    card = finding_card_html(_findings()["checks"][0], "ja")
    assert "失敗" in card and "203.0.113.7" in card and "[1, 2]" in card
    dirty = '<link rel="stylesheet" href="https://cdn.example/x.css"><style>@import url("https://f.example/a.css");</style><img src="//x.example/p.png">'
    clean = make_self_contained(dirty)
    assert "cdn.example" not in clean and "f.example" not in clean and "x.example" not in clean
