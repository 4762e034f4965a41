"""`reports/index.html`: what the page holds, that it is self-contained, its language, when it is written.

The browser side (filters typed, pages turned, chart drawn, nothing wrapping, no request
attempted) is in test_report_browser.py and, at 10,000 runs, test_index_page_scale.py; here
the HTML itself is checked, and the write path.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sfdoctor import index_page
from sfdoctor.cli import main
from sfdoctor.report_index import append_index

TOKEN_MISSING_EN = "Right password, untrusted network, no token appended"
IP_UNTRUSTED_EN = "The failing logins come from outside every trusted and login IP range"


def add(out: Path, time: str, org: str, outcome: str, causes: list[str], runbook: str = "security-token-required",
        report: bool = True, version: str | None = "0.1.0", findings_version: str | None = None) -> str:
    """One run as the runner leaves it; `version=None` writes an index line from before lines
    carried the version (then `findings_version` goes into its findings.json)."""
    folder = f"{time[:10]}/{runbook}/{org.replace(':', '-')}-{time[11:19].replace(':', '')}Z"
    (out / folder).mkdir(parents=True)
    if report:
        (out / folder / "report.html").write_text("<p>report</p>", encoding="utf-8")
    if findings_version:
        (out / folder / "findings.json").write_text(json.dumps({"sfdoctor_version": findings_version}), encoding="utf-8")
    line = {"time": time, "runbook": runbook, "org": org, "outcome": outcome, "root_causes": causes,
            "warnings": [], "folder": folder, "exit_code": {"healthy": 0, "problems_found": 1}.get(outcome, 3)}
    if version is not None:
        line["sfdoctor_version"] = version
    append_index(out, line)
    return folder


@pytest.fixture(autouse=True)
def _no_language_setting(monkeypatch):
    """The page's language must come from the command or the settings a test gives, not the machine's."""
    for var in ("SFDOCTOR_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture()
def out(tmp_path: Path) -> Path:
    out = tmp_path / "reports"
    add(out, "2026-11-20T02:00:00Z", "demo:token-missing", "problems_found", ["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"])
    add(out, "2026-11-21T02:00:00Z", "demo:token-missing", "problems_found", ["SOURCE_IP_UNTRUSTED", "PASSWORD_EXPIRED"])
    add(out, "2026-11-21T03:00:00Z", "demo:healthy", "healthy", [])
    add(out, "2026-11-22T02:00:00Z", "demo:token-missing", "healthy", [], report=False)
    add(out, "2026-11-22T05:00:00Z", "demo:healthy", "inconclusive", [], runbook="marketo-sync")
    return out


def table_rows(page: str, table: str) -> list[str]:
    body = re.search(rf'<table id="{table}".*?<tbody>(.*?)</tbody>', page, re.S)
    return re.findall(r"<tr data-org=.*?</tr>", body.group(1)) if body else []


def test_every_run_newest_first_with_position_outcome_causes_by_title_and_link(out):
    page = index_page.write(out, "en").read_text(encoding="utf-8")
    r = table_rows(page, "runs")
    assert len(r) == 5
    assert 'data-org="demo:healthy" data-runbook="marketo-sync" data-outcome="inconclusive"' in r[0] and ">-1<" in r[0]
    second = r[3]   # the 2nd run overall: position -4
    assert ">-4<" in second and "Nov 21, 2026 02:00" in second and "problems found" in second
    # causes by their titles in the page's language, the code on hover; a code no runbook knows stays a code
    assert f'title="SOURCE_IP_UNTRUSTED: {IP_UNTRUSTED_EN}">{IP_UNTRUSTED_EN}</span>' in second
    assert '<span class="cause" data-code="PASSWORD_EXPIRED" title="PASSWORD_EXPIRED">PASSWORD_EXPIRED</span>' in second
    assert '<a href="2026-11-21/security-token-required/demo-token-missing-020000Z/report.html">open</a>' in second
    assert "missing" in r[1] and "<a href" not in r[1]           # the report folder without report.html


def test_one_row_per_org_and_runbook_counts_only_that_runbook(out):
    add(out, "2026-11-23T02:00:00Z", "demo:token-missing", "problems_found", ["RESTRICTED_DOMAIN"], runbook="sia-auth-failure")
    page = index_page.write(out, "en").read_text(encoding="utf-8")
    pairs = {(re.search(r'data-org="([^"]+)"', r).group(1), re.search(r'data-runbook="([^"]+)"', r).group(1)): r
             for r in table_rows(page, "pairs")}
    assert len(pairs) == 4
    token = pairs[("demo:token-missing", "security-token-required")]
    assert ">2 of 3<" in token and "healthy" in token            # the sia run is not counted here
    sia = pairs[("demo:token-missing", "sia-auth-failure")]
    assert ">1 of 1<" in sia and "Login error restricted domain" in sia
    # the worst latest outcome first
    assert list(pairs)[0] == ("demo:token-missing", "sia-auth-failure")
    assert list(pairs)[1] == ("demo:healthy", "marketo-sync")


def test_warnings_follow_the_root_causes_marked_as_warnings(tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    append_index(out, {"time": "2026-11-20T02:00:00Z", "runbook": "mc-missing-oauth-token", "org": "demo",
                       "outcome": "problems_found", "root_causes": ["MC_IP_NOT_ALLOWLISTED"],
                       "warnings": ["MC_USER_NOT_API_USER"], "folder": "x", "exit_code": 1})
    (row,) = table_rows(index_page.write(out, "ja").read_text(encoding="utf-8"), "runs")
    assert '<span class="cause warn" data-code="MC_USER_NOT_API_USER" title="MC_USER_NOT_API_USER: ' in row
    assert "(警告:" in row and "API ユーザー" in row
    assert row.index("MC_IP_NOT_ALLOWLISTED") < row.index("MC_USER_NOT_API_USER")


def test_changes_since_the_previous_run_of_the_same_runbook_and_org(out):
    page = index_page.write(out, "en").read_text(encoding="utf-8")
    r = table_rows(page, "runs")
    first, second, third = r[4], r[3], r[1]                          # the three runs on demo:token-missing
    assert "first run" in first
    assert re.search(r'\+ new:</span> <span class="cause" data-code="PASSWORD_EXPIRED"', second)
    assert re.search(r'\u2212 fixed:</span> <span class="cause" data-code="TOKEN_MISSING" title="TOKEN_MISSING: '
                     + re.escape(TOKEN_MISSING_EN), second)
    assert "sfdoctor reports diff -5 -4" in second
    assert third.count("fixed:") == 2 and "new:" not in third
    assert "first run" in r[0] and "first run" in r[2]               # other runbook / org: own history


def test_a_change_of_sfdoctor_version_between_two_runs_is_marked(tmp_path):
    out = tmp_path / "reports"
    add(out, "2026-11-20T02:00:00Z", "acme", "problems_found", ["TOKEN_MISSING"], version=None, findings_version="0.1.0")
    add(out, "2026-11-21T02:00:00Z", "acme", "problems_found", ["TOKEN_MISSING"], version="0.1.0")
    add(out, "2026-11-22T02:00:00Z", "acme", "problems_found", ["SOURCE_IP_UNTRUSTED"], version="0.2.0")
    add(out, "2026-11-22T03:00:00Z", "other", "healthy", [], version=None)      # no version anywhere: nothing said
    add(out, "2026-11-23T03:00:00Z", "other", "healthy", [], version=None)
    page = index_page.write(out, "en").read_text(encoding="utf-8")
    runs = table_rows(page, "runs")
    marks = ['class="ver"' in r for r in runs]
    assert marks == [False, False, True, False, False]               # only 0.1.0 -> 0.2.0 on acme
    assert "sfdoctor 0.1.0 \u2192 0.2.0" in runs[2] and "not from the org" in runs[2]
    (acme,) = [r for r in table_rows(page, "pairs") if 'data-org="acme"' in r]
    assert 'class="ver"' in acme                                      # the summary says it of the latest run too
    # the chart marks the day the new version first ran
    assert page.count('<g class="version">') == 1 and "sfdoctor 0.2.0 first ran on Nov 22, 2026" in page
    ja = index_page.write(out, "ja").read_text(encoding="utf-8")
    assert "異なる sfdoctor のバージョン (0.1.0 と 0.2.0)" in ja


def test_one_chart_for_all_orgs_and_nothing_from_outside(out):
    page = index_page.write(out, "en").read_text(encoding="utf-8")
    assert page.count("<svg") == 1 and '<figure id="chart">' in page
    days = dict(re.findall(r'<g class="day" data-day="([^"]+)"><title>([^<]+)</title>', page))
    assert days == {"2026-11-20": "Nov 20, 2026: 1 of 1 runs found problems, in 1 orgs; 0 could not finish",
                    "2026-11-21": "Nov 21, 2026: 1 of 2 runs found problems, in 1 orgs; 0 could not finish",
                    "2026-11-22": "Nov 22, 2026: 0 of 2 runs found problems, in 0 orgs; 1 could not finish"}
    assert page.count('class="o-problems_found"') == 2 and "2 of 5 runs found problems, Nov 20, 2026 to Nov 22, 2026" in page
    # filters: text (with the orgs to pick from), runbook, outcome
    assert '<datalist id="f-orgs"><option value="demo:healthy"><option value="demo:token-missing"></datalist>' in page
    assert '<option value="marketo-sync">' in page and '<option value="problems_found">problems found</option>' in page
    # self-contained: no URL to fetch, a CSP that forbids fetching, inline script only
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page and page.count("<script>") == 1 and "<script src" not in page


def test_japanese_page_dates_titles_and_escaping(out):
    add(out, "2026-11-23T01:00:00Z", '<b>"x"</b>', "healthy", [])
    page = index_page.write(out, "ja").read_text(encoding="utf-8")
    assert '<html lang="ja">' in page and "レポート履歴" in page and "問題あり" in page
    assert "2026年11月21日 02:00" in page and "11月20日" in page and "Nov " not in page
    assert "信頼されていないネットワークからトークンなしで" in page and TOKEN_MISSING_EN not in page
    assert "<b>" not in page and "&lt;b&gt;&quot;x&quot;&lt;/b&gt;" in page
    assert index_page.page_lang(out) == "ja"


def test_the_pages_language_is_the_commands_or_the_setting_never_the_last_runs(out, monkeypatch):
    assert index_page.page_language(out) == "en"                    # nothing chosen anywhere
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert index_page.page_language(out) == "ja"                    # the locale, for a first page
    index_page.write(out, "en", by_command=True)                     # `reports index --lang en`
    assert index_page.page_language(out) == "en"                    # kept over the locale
    assert index_page.refresh(out) and index_page.page_lang(out) == "en"
    monkeypatch.setenv("SFDOCTOR_LANG", "ja")
    assert index_page.refresh(out) and index_page.page_lang(out) == "en"   # a run keeps the chosen language
    assert index_page.page_language(out, by_command=True) == "ja"   # `reports index` without --lang: the setting
    assert index_page.write(out, "en", by_command=True) and index_page.page_lang(out) == "en"   # the command over it


def test_a_first_page_takes_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("SFDOCTOR_LANG", "ja")
    out = tmp_path / "reports"
    add(out, "2026-11-20T02:00:00Z", "demo", "healthy", [])
    assert index_page.refresh(out) and index_page.page_lang(out) == "ja"


def test_refresh_in_another_process_keeps_the_language_reports_index_chose(out, monkeypatch):
    """The issue's repro: `reports index --lang en`, then a run's refresh under SFDOCTOR_LANG=ja."""
    import os
    import subprocess
    import sys

    assert main(["reports", "index", "--out", str(out), "--lang", "en"]) == 0
    code = "import sys; from sfdoctor.index_page import refresh; sys.exit(0 if refresh(sys.argv[1]) else 1)"
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, env={**os.environ, "SFDOCTOR_LANG": "ja"})
    assert '<html lang="en">' in (out / "index.html").read_text(encoding="utf-8")
    monkeypatch.setenv("SFDOCTOR_LANG", "ja")                        # the command without --lang takes the setting
    assert main(["reports", "index", "--out", str(out)]) == 0
    assert '<html lang="ja">' in (out / "index.html").read_text(encoding="utf-8")


def test_a_run_in_another_language_leaves_the_pages_language(tmp_path, monkeypatch):
    """`sfdoctor run --lang ja` writes a Japanese report; the history page stays as it was."""
    from sfdoctor.runner import run_runbook

    out = tmp_path / "reports"
    index_page.write(out, "en")
    run_runbook("security-token-required", "demo:token-missing", {}, out, "ja", progress=None)
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "problems found" in page
    (line,) = [json.loads(x) for x in (out / "index.jsonl").read_text().splitlines()]
    from sfdoctor import __version__

    assert line["sfdoctor_version"] == __version__                  # the index line carries it


def test_empty_history(tmp_path):
    page = index_page.write(tmp_path / "none", "en").read_text(encoding="utf-8")
    assert "No runs yet" in page and "<table" not in page and "<script>" not in page


def test_written_under_the_index_lock_and_atomically(out, monkeypatch):
    import contextlib

    held: list[bool] = []
    state = {"locked": False}

    @contextlib.contextmanager
    def lock(_out):
        state["locked"] = True
        yield
        state["locked"] = False

    real = index_page.render
    monkeypatch.setattr(index_page, "index_lock", lock)
    monkeypatch.setattr(index_page, "render", lambda *a, **k: (held.append(state["locked"]), real(*a, **k))[1])
    index_page.write(out, "en")
    assert held == [True]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []   # no temporary file left


def test_refresh_never_breaks_a_run(out, monkeypatch, capsys):
    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index_page, "render", boom)
    assert index_page.refresh(out) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not rewritten" in err and "sfdoctor reports index" in err


def test_reports_index_command(out, capsys):
    assert main(["reports", "index", "--out", str(out), "--lang", "ja"]) == 0
    cap = capsys.readouterr()
    assert cap.out.strip() == str((out / "index.html").resolve()) and "作り直しました" in cap.err
    assert '<html lang="ja">' in (out / "index.html").read_text(encoding="utf-8")
    assert main(["reports", "index", "--out", str(out)]) == 0       # without --lang: the page keeps its language
    assert '<html lang="ja">' in (out / "index.html").read_text(encoding="utf-8")
    # a prune keeps the page's language
    from datetime import datetime, timedelta, timezone

    from sfdoctor.history import prune

    prune(out, timedelta(days=1), now=datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert '<html lang="ja">' in (out / "index.html").read_text(encoding="utf-8")
    assert json.loads((out / "index.jsonl").read_text() or "null") is None    # every run was older than a day


def test_a_fleet_run_rebuilds_the_page_once_in_its_own_language(tmp_path, monkeypatch):
    """A fleet adds many runs and rebuilds the page once at its end (spec/cli.md "Fleet runs"),
    in the page's language, not the fleet's `--lang`; its index lines carry the version too."""
    from sfdoctor import __version__
    from sfdoctor.fleet.run import FleetOptions, run_fleet

    orgs = tmp_path / "orgs.toml"
    orgs.write_text('[orgs.one]\ndemo = "sia-healthy"\n\n[orgs.two]\ndemo = "sia-healthy"\n\n'
                    '[orgs.three]\ndemo = "token-missing"\n', encoding="utf-8")
    out = tmp_path / "out"
    index_page.write(out, "en")
    written: list[str] = []
    real = index_page.write_locked
    monkeypatch.setattr(index_page, "write_locked", lambda o, lang=None, **kw: (written.append(str(o)), real(o, lang, **kw))[1])
    fleet, _code, _page = run_fleet(FleetOptions(orgs_file=orgs, runbooks=["sia-auth-failure", "security-token-required"],
                                                 workers=1, out=out, progress=False, lang="ja"))
    lines = [json.loads(x) for x in (out / "index.jsonl").read_text().splitlines()]
    assert len(lines) == len([e for e in fleet["entries"] if e["folder"]]) >= 4
    assert written == [str(out.resolve())]                              # once, for the whole fleet
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and page.count('<tr data-org="two"') == 4   # 2 runbooks, in both tables
    assert {x["sfdoctor_version"] for x in lines} == {__version__}
