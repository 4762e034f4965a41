"""The HTML report: header from findings, code hidden, self-contained, plots kept, print CSS."""
from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest

from sfdoctor.findings import MIMETYPE
from bs4 import BeautifulSoup

from sfdoctor.report import STATUS_STYLE, evidence_table, export_html, finding_card_html, make_self_contained
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


def test_what_we_looked_at_leaves_out_what_the_runbook_never_uses():
    """The edition where no fix depends on it and none was read, the window where the runbook
    has no `days`: left out, not "not determined". Where they matter, an unknown one is said."""
    from sfdoctor import runbooks
    from sfdoctor.report import looked_at_html

    findings = {"org": "demo", "api_calls": 3, "parameters": {}}
    mc = looked_at_html(findings, {"edition": None, "window": None}, "en", runbooks.load("mc-missing-oauth-token"))
    assert "Edition" not in mc and "Time window" not in mc and "API calls" in mc
    st = looked_at_html(findings, {"edition": None, "window": None}, "en", runbooks.load("security-token-required"))
    assert "Edition" in st and "Time window" in st and "not determined" in st
    sia = looked_at_html(findings, {"edition": "Unlimited Edition"}, "en", runbooks.load("sia-auth-failure"))
    assert "Unlimited Edition" in sia


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
    assert "失敗" in card and "203.0.113.7" in card
    assert "1, 2" in card and "[1, 2]" not in card  # a list of scalars reads as a comma list, not JSON
    dirty = '<link rel="stylesheet" href="https://cdn.example/x.css"><style>@import url("https://f.example/a.css");</style><img src="//x.example/p.png">'
    clean = make_self_contained(dirty)
    assert "cdn.example" not in clean and "f.example" not in clean and "x.example" not in clean


# ------------------------------------------------------------------ evidence for people
_NESTED = {
    "login_attempts": 2,
    "attempts": [
        {"kind": "password_only", "ok": False, "fault": "LOGIN_MUST_USE_SECURITY_TOKEN",
         "message": "<script>alert('x')</script> " + "Are you at a new location? " * 12},
        {"kind": "password_and_token", "ok": True},
    ],
    "by_status": {"Success": 191, "Failed: <b>token</b> required": 140},
    "trusted_ranges": ["198.51.100.0-198.51.100.255", "203.0.113.0-203.0.113.255"],
    "profile_login_ip_ranges": [],
    "suggested_ranges": [{"start": "203.0.113.7", "end": "203.0.113.7", "covers": ["203.0.113.7"]}],
    "note": "<script>document.title='pwned'</script>",
}


def _own_table(table):
    """The rows of `table` itself, not those of tables nested in it."""
    return [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]


def test_evidence_renders_nested_tables_escaped():
    html_ = evidence_table(_NESTED, "en")
    assert "<script" not in html_ and "<b>" not in html_
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html_.replace("<wbr>", "")
    soup = BeautifulSoup(html_, "html.parser")
    top = soup.find("table", class_="sfd-evidence")
    rows = {tr.th.span["data-key"]: tr for tr in _own_table(top)}
    assert list(rows) == list(_NESTED)  # the check's own key order
    # humanized key, raw key kept recognizable (title and data-key)
    key = rows["login_attempts"].th.span
    assert key.get_text() == "login attempts" and key["title"] == "login_attempts"
    # a list of dicts: a small table with a header row (union of keys), one row per item
    attempts = rows["attempts"].td.find("table", class_="sfd-rows")
    assert [th.get_text() for th in attempts.thead.find_all("th")] == ["kind", "ok", "fault", "message"]
    body = [tr for tr in _own_table(attempts) if tr.find_parent("thead") is None]
    assert len(body) == 2 and body[0].find_all("td")[1].get_text() == "no"
    assert "LOGIN_MUST_USE_SECURITY_TOKEN" in body[0].get_text()
    # a long string: truncated, the full text in <details> and in a title
    details = body[0].find("details")
    full = _NESTED["attempts"][0]["message"]
    assert details.summary["title"] == full
    head = details.summary.get_text().split("…")[0].strip()
    rest = details.find(class_="sfd-rest").get_text()
    assert 40 <= len(head) <= 100 and " ".join((head + " " + rest).split()) == " ".join(full.split())
    # a dict: a nested key/value table, its keys as they are (data, not identifiers)
    by_status = rows["by_status"].td.find("table", class_="sfd-kv")
    assert [tr.th.get_text() for tr in _own_table(by_status)] == ["Success", "Failed: <b>token</b> required"]
    assert by_status.find("b") is None  # the planted tag stayed text
    # a list of scalars: a comma list; an empty list says so
    assert rows["trusted_ranges"].td.get_text() == "198.51.100.0-198.51.100.255, 203.0.113.0-203.0.113.255"
    assert rows["profile_login_ip_ranges"].td.get_text() == "none"
    suggested = rows["suggested_ranges"].td.find("table", class_="sfd-rows")
    assert [th.get_text() for th in suggested.thead.find_all("th")] == ["start", "end", "covers"]
    assert soup.find("script") is None
    assert rows["note"].td.get_text() == _NESTED["note"]  # shown as text, exactly


def test_evidence_texts_localized():
    soup = BeautifulSoup(evidence_table({"active": True, "frozen": False, "ranges": []}, "ja"), "html.parser")
    assert [td.get_text() for td in soup.find_all("td")] == ["はい", "いいえ", "なし"]


def test_card_styles_itself():
    """A card looks right with no stylesheet around it (JupyterLab light/dark, any page)."""
    f = {"id": "probe", "title": "Probe", "status": "fail", "cause": "FIXTURE_BROKEN", "summary": "It broke.",
         "evidence": _NESTED, "fix": "1. Open.\n2. Mend."}
    card = finding_card_html(f, "en")
    soup = BeautifulSoup(card, "html.parser")
    assert soup.find("style") is None and soup.find("link") is None and soup.find("script") is None
    root = soup.div
    assert "sfd-card" in root["class"] and "border-left:6px solid " + STATUS_STYLE["fail"][1] in root["style"]
    for cell in soup.find_all(["th", "td"]):  # JupyterLab right-aligns cells unless told otherwise
        assert "text-align:left" in cell.get("style", ""), cell
    for table in soup.find_all("table"):
        assert "border-collapse:collapse" in table["style"]
    # theme-neutral: no fixed text colour or page background on the card itself
    assert "color:#" not in root["style"] and "background:#" not in root["style"]
    badge = soup.find("span", class_="sfd-badge")
    for prop in ("color:", "background:", "border:", "print-color-adjust:exact"):
        assert prop in badge["style"]


@pytest.mark.parametrize("lang,labels", [
    ("en", {"pass": "pass", "fail": "fail", "warn": "warning", "manual": "manual", "skip": "skipped", "error": "error"}),
    ("ja", {"pass": "合格", "fail": "失敗", "warn": "警告", "manual": "手動", "skip": "スキップ", "error": "エラー"}),
])
def test_status_badges_localized_and_distinct_in_greyscale(lang, labels):
    seen = set()
    for status, label in labels.items():
        card = finding_card_html({"id": "x", "title": "X", "status": status, "evidence": {}, "fix": ""}, lang)
        badge = BeautifulSoup(card, "html.parser").find("span", class_="sfd-badge")
        assert label in badge.get_text()
        symbol, accent, _bg, _fg, border, width = STATUS_STYLE[status]
        assert badge.get_text().startswith(symbol) and f"border:{width} {border} {accent}" in badge["style"]
        seen.add((symbol, border, width))
    assert len(seen) == len(labels)  # symbol + border tell them apart without colour


def test_each_fix_stands_once_in_the_report():
    f = _findings()
    fix = f["checks"][0]["fix"]
    f["checks"].append(dict(f["checks"][0], id="probe-again", title="Probe once more", evidence={"n": 2}))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", data={"text/html": finding_card_html(c, "en"), MIMETYPE: c, "text/plain": c["id"]})
        for c in f["checks"]
    ])]
    page = export_html(nb, f, "en", spec=load("fixture-probe", FIXTURE_RUNBOOKS))
    steps = "1. Open the fixture.<br>2. Mend it."
    assert page.count(steps) == 1 and fix  # in the summary only
    assert 'id="sfd-fix-FIXTURE_BROKEN"' in page and 'id="sfd-fix-FIXTURE_DRIFT"' in page
    # the checks table and every card point to it: 3 checks in the table, 3 cards
    assert page.count('href="#sfd-fix-FIXTURE_BROKEN"') == 4 and page.count('href="#sfd-fix-FIXTURE_DRIFT"') == 2
    assert "see fix for FIXTURE_BROKEN in the summary above" in page


def test_summary_at_end_of_notebook_points_to_the_top():
    from sfdoctor.findings import RUN_MIMETYPE
    from sfdoctor.report import summary_html

    f = _findings()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("run.finish()", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/html": summary_html(f, "ja"), RUN_MIMETYPE: f, "text/plain": "x"})])]
    page = export_html(nb, f, "ja")
    assert page.count('id="sfd-summary"') == 1 and "このレポートの先頭にあります" in page


def test_the_report_keeps_the_runs_language_of_the_notebooks_markdown():
    from sfdoctor.report import markdown_in_language

    source = ("## 2. Test the login / ログインを試す\n\nAt most two attempts (SOAP `login()`).\n\n"
              "最大 2 回試します (SOAP `login()`)。\n\nThe error says 「トークンが必要」 when the org speaks Japanese.")
    en = markdown_in_language(source, "en")
    ja = markdown_in_language(source, "ja")
    assert en == ("## 2. Test the login\n\nAt most two attempts (SOAP `login()`).\n\n"
                  "The error says 「トークンが必要」 when the org speaks Japanese.")
    assert ja == "## 2. ログインを試す\n\n最大 2 回試します (SOAP `login()`)。"
    assert markdown_in_language("# Only English", "ja") == "# Only English"  # a heading with one side stays
