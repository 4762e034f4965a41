"""`reports/index.html`: what the page holds, that it is self-contained, when it is written.

The browser side (filters clicked, chart drawn, no request attempted) is in
test_report_browser.py; here the HTML itself is checked, and the write path.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sfdoctor import index_page
from sfdoctor.cli import main
from sfdoctor.report_index import append_index


def add(out: Path, time: str, org: str, outcome: str, causes: list[str], runbook: str = "security-token-required",
        report: bool = True) -> str:
    folder = f"{time[:10]}/{runbook}/{org.replace(':', '-')}-{time[11:19].replace(':', '')}Z"
    (out / folder).mkdir(parents=True)
    if report:
        (out / folder / "report.html").write_text("<p>report</p>", encoding="utf-8")
    append_index(out, {"time": time, "runbook": runbook, "org": org, "outcome": outcome, "root_causes": causes,
                       "warnings": [], "folder": folder, "exit_code": {"healthy": 0, "problems_found": 1}.get(outcome, 3)})
    return folder


@pytest.fixture()
def out(tmp_path: Path) -> Path:
    out = tmp_path / "reports"
    add(out, "2026-11-20T02:00:00Z", "demo:token-missing", "problems_found", ["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"])
    add(out, "2026-11-21T02:00:00Z", "demo:token-missing", "problems_found", ["SOURCE_IP_UNTRUSTED", "PASSWORD_EXPIRED"])
    add(out, "2026-11-21T03:00:00Z", "demo:healthy", "healthy", [])
    add(out, "2026-11-22T02:00:00Z", "demo:token-missing", "healthy", [], report=False)
    add(out, "2026-11-22T05:00:00Z", "demo:healthy", "inconclusive", [], runbook="marketo-sync")
    return out


def rows(page: str) -> list[str]:
    return re.findall(r"<tr data-org=.*?</tr>", page)


def test_every_run_newest_first_with_position_outcome_causes_and_link(out):
    page = index_page.write(out, "en").read_text(encoding="utf-8")
    r = rows(page)
    assert len(r) == 5
    assert 'data-org="demo:healthy" data-runbook="marketo-sync"' in r[0] and ">-1<" in r[0] and "inconclusive" in r[0]
    second = r[3]   # the 2nd run overall: position -4
    assert ">-4<" in second and "2026-11-21 02:00:00" in second and "problems found" in second
    assert "<code>SOURCE_IP_UNTRUSTED</code>, <code>PASSWORD_EXPIRED</code>" in second
    assert '<a href="2026-11-21/security-token-required/demo-token-missing-020000Z/report.html">open</a>' in second
    assert "missing" in r[1] and "<a href" not in r[1]           # the report folder without report.html


def test_warnings_follow_the_root_causes_marked_as_warnings(tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    append_index(out, {"time": "2026-11-20T02:00:00Z", "runbook": "mc-missing-oauth-token", "org": "demo",
                       "outcome": "problems_found", "root_causes": ["MC_IP_NOT_ALLOWLISTED"],
                       "warnings": ["MC_USER_NOT_API_USER"], "folder": "x", "exit_code": 1})
    (row,) = rows(index_page.write(out, "ja").read_text(encoding="utf-8"))
    assert '<code>MC_IP_NOT_ALLOWLISTED</code>, <code class="warn" title="警告:' in row
    assert row.index("MC_IP_NOT_ALLOWLISTED") < row.index("MC_USER_NOT_API_USER")


def test_changes_since_the_previous_run_of_the_same_runbook_and_org(out):
    page = index_page.write(out, "en").read_text(encoding="utf-8")
    r = rows(page)
    first, second, third = r[4], r[3], r[1]                          # the three runs on demo:token-missing
    assert "first run" in first
    assert "+ new: PASSWORD_EXPIRED" in second and "\u2212 fixed: TOKEN_MISSING" in second
    assert "= unchanged: SOURCE_IP_UNTRUSTED" in second and "sfdoctor reports diff -5 -4" in second
    assert "fixed: SOURCE_IP_UNTRUSTED, PASSWORD_EXPIRED" in third and "new:" not in third
    assert "first run" in r[0] and "first run" in r[2]               # other runbook / org: own history


def test_filters_chart_and_nothing_from_outside(out):
    page = index_page.write(out, "en").read_text(encoding="utf-8")
    assert re.search(r'<select id="f-org"><option value="">all</option><option value="demo:healthy">', page)
    assert '<option value="marketo-sync">' in page
    # one chart per org; demo:token-missing failed on 2 of its 3 runs, on two different days
    charts = re.findall(r'<figure data-org="([^"]+)">(.*?)</figure>', page, re.S)
    assert [c[0] for c in charts] == ["demo:healthy", "demo:token-missing"]
    svg = charts[1][1]
    assert svg.count('class="fail"') == 2 and "2 of 3 runs failed, 2026-11-20 to 2026-11-22" in svg
    assert "<title>2026-11-21: 1 of 1 runs failed</title>" in svg
    # self-contained: no URL to fetch, a CSP that forbids fetching, inline script only
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page and page.count("<script>") == 1 and "<script src" not in page


def test_japanese_page_and_escaping(out):
    add(out, "2026-11-23T01:00:00Z", '<b>"x"</b>', "healthy", [])
    page = index_page.write(out, "ja").read_text(encoding="utf-8")
    assert '<html lang="ja">' in page and "レポート履歴" in page and "問題あり" in page and "新規: PASSWORD_EXPIRED" in page
    assert "<b>" not in page and "&lt;b&gt;&quot;x&quot;&lt;/b&gt;" in page
    assert index_page.page_lang(out) == "ja"


def test_empty_history(tmp_path):
    page = index_page.write(tmp_path / "none", "en").read_text(encoding="utf-8")
    assert "No runs yet" in page and "<table" not in page


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
    assert index_page.refresh(out, "en") is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not rewritten" in err and "sfdoctor reports index" in err


def test_reports_index_command(out, capsys):
    assert main(["reports", "index", "--out", str(out), "--lang", "ja"]) == 0
    cap = capsys.readouterr()
    assert cap.out.strip() == str((out / "index.html").resolve()) and "作り直しました" in cap.err
    assert '<html lang="ja">' in (out / "index.html").read_text(encoding="utf-8")
    # a prune keeps the page's language
    from datetime import datetime, timedelta, timezone

    from sfdoctor.history import prune

    prune(out, timedelta(days=1), now=datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert '<html lang="ja">' in (out / "index.html").read_text(encoding="utf-8")
    assert json.loads((out / "index.jsonl").read_text() or "null") is None    # every run was older than a day


def test_a_fleets_history_lists_the_newest_runs_and_charts_the_worst_orgs(tmp_path):
    entries = [{"time": f"2026-11-{1 + i // 500:02d}T02:00:{i % 60:02d}Z", "runbook": "sia-auth-failure",
                "org": f"client-{i % 100:03d}", "outcome": "problems_found" if i % 100 < 3 else "healthy",
                "root_causes": ["OAUTH_APP_BLOCKED"] if i % 100 < 3 else [], "folder": f"f{i}"} for i in range(1500)]
    page = index_page.render(entries, "en", tmp_path)
    assert len(rows(page)) == index_page.MAX_ROWS
    assert f"The newest {index_page.MAX_ROWS} of 1500 runs" in page and "sfdoctor reports list" in page
    assert page.count("<figure data-org") == index_page.MAX_CHARTS
    assert 'data-org="client-000"' in page and 'data-org="client-002"' in page  # the orgs that failed
    ja = index_page.render(entries, "ja", tmp_path)
    assert "1500 件のうち新しい 1000 件" in ja
