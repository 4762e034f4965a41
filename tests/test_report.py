"""The HTML report: the answer first, each check once, evidence in words, the run's details last;
code hidden, self-contained, plots kept, print CSS."""
from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest

from sfdoctor.findings import MIMETYPE
from bs4 import BeautifulSoup

from sfdoctor.report import STATUS_STYLE, evidence_html, export_html, finding_card_html, make_self_contained
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
    soup = BeautifulSoup(page, "html.parser")
    steps = [d.get_text() for d in soup.select("#sfd-summary .sfd-step")]
    assert steps[:2] == ["1. Open the fixture.", "2. Mend it."]  # what to do, one step a line
    assert "Echo &lt;the&gt; environment" in page  # escaped
    looked = " ".join(soup.select_one("#sfd-looked").get_text(" ").split())
    assert "Group Edition" in looked and "API calls used: 5" in looked and "last 7 days" in looked
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
    assert '<html lang="ja">' in ja and "正常" in ja and "修正は不要です" in ja and "この実行について" in ja
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


def test_evidence_reads_as_labelled_values_in_words_escaped():
    html_ = evidence_html(_NESTED, "en")
    assert "<script" not in html_ and "<b>" not in html_
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html_.replace("<wbr>", "")
    soup = BeautifulSoup(html_, "html.parser")
    items = {div["data-key"]: div for div in soup.select(".sfd-evidence > .sfd-ev")}
    assert list(items) == list(_NESTED)  # the check's own key order
    # each key by its label (texts/evidence.toml), never as the key
    assert items["login_attempts"].select_one(".sfd-label").get_text() == "Login attempts"
    assert "login_attempts" not in soup.get_text() and "suggested_ranges" not in soup.get_text()
    # a list of dicts: a small table with labelled columns (union of keys), values in words
    attempts = items["attempts"].find("table", class_="sfd-rows")
    assert [th.get_text() for th in attempts.thead.find_all("th")] == ["Kind", "Logged in", "Fault", "Message"]
    body = attempts.tbody.find_all("tr")
    assert [td.get_text() for td in body[0].find_all("td")[:2]] == ["password alone", "no"]
    assert body[1].find_all("td")[0].get_text() == "password + security token"
    assert "LOGIN_MUST_USE_SECURITY_TOKEN" in body[0].get_text()
    # a long string: its start, the full text in <details> and in a title
    details = body[0].find("details")
    full = _NESTED["attempts"][0]["message"]
    assert details.summary["title"] == full
    head = details.summary.get_text().split("…")[0].strip()
    rest = details.find(class_="sfd-rest").get_text()
    assert 40 <= len(head) <= 100 and " ".join((head + " " + rest).split()) == " ".join(full.split())
    # a dict of data: its keys as they are (a login status is data, not a field), escaped
    assert items["by_status"].select_one(".sfd-pairs").get_text() == "Success: 191; Failed: <b>token</b> required: 140"
    assert items["by_status"].find("b") is None  # the planted tag stayed text
    # a list of short scalars: a comma list (on a line of its own when long); an empty list says so
    assert items["trusted_ranges"].get_text() == "Trusted IP ranges: 198.51.100.0-198.51.100.255, 203.0.113.0-203.0.113.255"
    assert "grid-column:1/-1" in items["trusted_ranges"]["style"]
    short = BeautifulSoup(evidence_html({"trusted_ranges": ["198.51.100.0/24", "203.0.113.0/24"]}, "en"), "html.parser")
    assert short.get_text() == "Trusted IP ranges: 198.51.100.0/24, 203.0.113.0/24"
    assert "grid-column" not in short.select_one(".sfd-ev")["style"]
    assert items["profile_login_ip_ranges"].get_text() == "Profile login IP ranges: none"
    suggested = items["suggested_ranges"].find("table", class_="sfd-rows")
    assert [th.get_text() for th in suggested.thead.find_all("th")] == ["Start", "End", "Covers"]
    assert soup.find("script") is None
    assert items["note"].get_text().endswith(_NESTED["note"])  # shown as text, exactly


def test_machine_values_read_as_words_in_the_runs_language():
    ev = {"active": True, "frozen": False, "profile_login_ip_ranges": [], "restriction": "not_trusted",
          "fault": "none", "answered_by": "operator", "which": "wrong_password", "error": "invalid_grant"}
    for lang, said in (("en", ["Active: yes", "Frozen: no", "Profile login IP ranges: none",
                               "Restriction: outside every trusted IP range", "Fault: none", "Answered by: you",
                               "Case: wrong password", "Error: invalid_grant"]),
                       ("ja", ["有効: はい", "凍結: いいえ", "プロファイルのログイン IP アドレスの制限: なし",
                               "制限: どの信頼済み IP 範囲にも含まれない", "エラーコード: なし", "回答者: あなた",
                               "ケース: パスワードの誤り", "エラー: invalid_grant"])):
        soup = BeautifulSoup(evidence_html(ev, lang), "html.parser")
        assert [d.get_text() for d in soup.select(".sfd-ev")] == said  # an OAuth code stays as written


def test_steps_carried_in_evidence_read_one_a_line_in_full():
    steps = ["1. Add the missing ranges to Marketing Cloud's Login IP Allowlist.",
             "2. In Data Cloud Setup > Salesforce Integrations > Marketing > Marketing Cloud Engagement, "
             "check the configuration with the current credentials and go through the wizard again if it asks.",
             "3. Tick \"Exclude API Users From Password Expiration\"."]
    soup = BeautifulSoup(evidence_html({"steps": steps}, "en"), "html.parser")
    assert [li.get_text() for li in soup.select(".sfd-list li")] == steps  # no comma join, nothing cut
    assert soup.find("details") is None and ".," not in soup.get_text()


def test_japanese_texts_lose_the_space_after_their_punctuation():
    from sfdoctor.report import steps_html, tidy

    assert tidy("ログイン履歴を読み、 失敗した。 次に", "ja") == "ログイン履歴を読み、失敗した。次に"
    assert tidy("Read it, then fail. Next", "en") == "Read it, then fail. Next"
    assert "読み、失敗" in steps_html("1. 読み、 失敗したら\n2. 次へ", "ja")


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


def test_each_check_and_each_fix_stand_once_in_the_report():
    f = _findings()
    f["checks"].append(dict(f["checks"][0], id="probe-again", title="Probe once more", evidence={"n": 2}))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## 1. Probe / 検査\n\nProse written for JupyterLab.\n\nJupyterLab 向けの説明。"),
                nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", data={"text/html": finding_card_html(c, "en"), MIMETYPE: c, "text/plain": c["id"]})
        for c in f["checks"]
    ])]
    page = export_html(nb, f, "en", spec=load("fixture-probe", FIXTURE_RUNBOOKS))
    soup = BeautifulSoup(page, "html.parser")
    # each check once: one card per check of findings.json, in run order, no second table of them
    assert [c["id"] for c in soup.select(".sfd-card")] == ["sfd-check-probe", "sfd-check-leak", "sfd-check-probe-again"]
    assert page.count("Probe the fixture") == 1 and soup.find("table", class_="sfd-checks-table") is None
    # the steps stand once, in the answer at the top; the cards point to them
    assert [d.get_text() for d in soup.select(".sfd-step")].count("1. Open the fixture.") == 1
    assert soup.select_one("#sfd-summary #sfd-fix-FIXTURE_BROKEN") and soup.select_one("#sfd-summary #sfd-fix-FIXTURE_DRIFT")
    assert page.count('href="#sfd-fix-FIXTURE_BROKEN"') == 2 and page.count('href="#sfd-fix-FIXTURE_DRIFT"') == 1
    # the answer says the case the checks found, under the cause's title
    block = soup.select_one("#sfd-fix-FIXTURE_BROKEN")
    assert "The fixture is broken" in block.h3.get_text() and "It broke." in block.get_text()
    # the notebook's bilingual prose is JupyterLab's, not the report's
    assert "Prose written for JupyterLab" not in page and "JupyterLab 向け" not in page


def test_the_notebooks_closing_summary_is_not_repeated():
    from sfdoctor.findings import RUN_MIMETYPE
    from sfdoctor.report import summary_html

    f = _findings()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("run.finish()", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/html": summary_html(f, "ja"), RUN_MIMETYPE: f, "text/plain": "x"})])]
    page = export_html(nb, f, "ja")
    assert page.count('id="sfd-summary"') == 1


def test_an_output_that_names_its_check_stands_under_that_checks_card():
    from sfdoctor.findings import CHECK_METADATA

    f = _findings()
    nb = nbformat.v4.new_notebook()
    cards = [nbformat.v4.new_output("display_data", data={"text/html": "x", MIMETYPE: c, "text/plain": c["id"]})
             for c in f["checks"]]
    chart = nbformat.v4.new_output("display_data", data={"text/html": "<p id='chart'>chart</p>"},
                                   metadata={CHECK_METADATA: "probe"})
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[*cards, chart])]
    soup = BeautifulSoup(export_html(nb, f, "en"), "html.parser")
    cells = soup.select(".jp-Cell")
    assert cells[0].select_one("#sfd-check-probe") and cells[0].select_one("#chart")
    assert cells[1].select_one("#chart") is None


def test_steps_written_inline_read_one_a_line():
    from sfdoctor.report import steps_html

    for lang, fix, lines in (
        ("en", "The token is outdated (every reset voids it). 1. Find the newest token. 2. Enter it in Marketo, then \"Verify\".",
         ["The token is outdated (every reset voids it).", "1. Find the newest token.", "2. Enter it in Marketo, then \"Verify\"."]),
        ("ja", "トークンが古くなっています。 1. 最新のトークンを探します。2. Marketo に入力します。",
         ["トークンが古くなっています。", "1. 最新のトークンを探します。", "2. Marketo に入力します。"]),
        ("en", "Use API 31.0-64.0. Then stop.", ["Use API 31.0-64.0. Then stop."]),
    ):
        soup = BeautifulSoup(steps_html(fix, lang), "html.parser")
        assert [d.get_text() for d in soup.select(".sfd-step")] == lines


@pytest.mark.parametrize("lang, said", [("en", "Dec 3, 2026 09:55 UTC"), ("ja", "2026年12月3日 09:55 UTC")])
def test_times_read_as_the_runs_language_writes_them(lang, said):
    """A UTC timestamp (Salesforce's `…+0000`, findings.json's `…Z`) in evidence, the header and
    "About this run" reads as dates.when_text writes it for the page's language (the history page
    too), never as an ISO string."""
    soup = BeautifulSoup(evidence_html({"last_login": "2026-12-03T09:55:37.946+0000",
                                        "window": "2026-11-26T09:55:00Z .. 2026-12-03T09:55:00Z"}, lang), "html.parser")
    text = soup.get_text()
    assert said in text and not re.search(r"\d{4}-\d\d-\d\d", text), text
    findings = {**_findings(), "lang": lang, "started_at": "2026-12-03T09:55:01Z", "finished_at": "2026-12-03T09:55:04Z"}
    page = export_html(_notebook(), findings, lang, spec=load("fixture-probe", FIXTURE_RUNBOOKS))
    header = BeautifulSoup(page, "html.parser").select_one("p.sfd-generated").get_text()
    assert said in header and not re.search(r"\d{4}-\d\d-\d\d", header), header


def test_a_fix_text_that_fell_back_is_said_under_its_checks_card():
    """registry.Runbook.finding logs when a case's fix text lacked a value (the cause's whole text
    shown instead): in a notebook that line is the cell's stderr, and the report keeps it under the
    card of the check whose cell wrote it, where the reader of the fix sees it."""
    from sfdoctor.i18n import t

    f = _findings()
    said = t("run.fix.value_missing", "ja", runbook="fixture-probe", check="probe", cause="FIXTURE_BROKEN",
             text="fix_fixture_broken_case", names="profile")
    card = nbformat.v4.new_output("display_data", data={"text/html": "x", MIMETYPE: f["checks"][0], "text/plain": "probe"})
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[card, nbformat.v4.new_output("stream", name="stderr", text=said)]),
                nbformat.v4.new_code_cell("y", outputs=[nbformat.v4.new_output(
                    "display_data", data={"text/html": "x", MIMETYPE: f["checks"][1], "text/plain": "drift"})])]
    soup = BeautifulSoup(export_html(nb, f, "ja"), "html.parser")
    cells = soup.select(".jp-Cell")
    assert cells[0].select_one("#sfd-check-probe") and "profile" in cells[0].get_text() and "fix_fixture_broken_case" in cells[0].get_text()
    assert "fix_fixture_broken_case" not in cells[1].get_text()
