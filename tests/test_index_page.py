"""`reports/index.html`: what the page holds, that it is self-contained, its language, when it is written.

The browser side (what the script draws: rows, causes, changes, the chart; filters typed, pages
turned, nothing wrapping, no request attempted) is in test_index_page_browser.py; here the page's
data (`index_page.page_data`, read back with `data_of`), its HTML frame and the write path.
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


def data(out: Path, lang: str = "en") -> dict:
    return index_page.data_of(index_page.write(out, lang).read_text(encoding="utf-8"))


def runs_of(d: dict) -> list[dict]:
    """The page's runs (newest first) read back into words: what the script draws from each."""
    def cause_set(s: int | None) -> list[list[str]] | None:
        return None if s is None else [[d["causes"][c] for c in part] for part in d["sets"][s][1:]]

    rows = []
    for r, folder in zip(d["runs"], index_page.report_folders(d)):
        org, rb = d["pairs"][r[1]][:2]
        rows.append({"pos": r[0], "org": d["orgs"][org], "runbook": d["rbs"][rb][0], "when": r[2],
                     "outcome": d["outs"][r[3]][0], "causes": cause_set(r[4]), "folder": folder, "prev": r[6],
                     "before": cause_set(r[7]), "version": d["vch"][r[8]] if r[8] >= 0 else None})
    return rows


def listed(d: dict) -> list[dict]:
    return [r for r in runs_of(d) if r["pos"] >= -d["listed"]]


def pairs_of(d: dict) -> list[dict]:
    runs = runs_of(d)
    return [{"org": d["orgs"][p[0]], "runbook": d["rbs"][p[1]][0], "runs": p[2], "failed": p[3], "other": p[4],
             "latest": runs[p[5]], "chart": [[day + k, *p[6][i + 1:i + 3]] for i in range(0, len(p[6]), 4)
                                             for day, k in ((p[6][i], k) for k in range(p[6][i + 3]))]}
            for p in d["pairs"]]


def test_every_run_newest_first_with_position_outcome_causes_by_title_and_link(out):
    d = data(out)
    r = listed(d)
    assert len(r) == 5 and [x["pos"] for x in r] == [-1, -2, -3, -4, -5]
    assert (r[0]["org"], r[0]["runbook"], r[0]["outcome"]) == ("demo:healthy", "marketo-sync", "inconclusive")
    second = r[3]   # the 2nd run overall: position -4
    assert second["when"] == "Nov 21, 2026 02:00" and second["outcome"] == "problems_found"
    assert dict(d["outs"][i][:3:2] for i in range(4))["problems_found"] == "problems found"
    # causes by their titles in the page's language; a code no runbook knows stays a code
    assert second["causes"] == [[["SOURCE_IP_UNTRUSTED", IP_UNTRUSTED_EN], ["PASSWORD_EXPIRED", "PASSWORD_EXPIRED"]], []]
    assert second["folder"] == "2026-11-21/security-token-required/demo-token-missing-020000Z"
    assert r[1]["folder"] is None                                     # the report folder without report.html
    # each name, title and cause said once, however many runs carry it
    page = (out / "index.html").read_text(encoding="utf-8")
    block = page[page.index('id="page-data">'):]
    assert block.count(IP_UNTRUSTED_EN) == 1 and block.count('"demo:token-missing"') == 1


def test_one_row_per_org_and_runbook_counts_only_that_runbook(out):
    add(out, "2026-11-23T02:00:00Z", "demo:token-missing", "problems_found", ["RESTRICTED_DOMAIN"], runbook="sia-auth-failure")
    pairs = {(p["org"], p["runbook"]): p for p in pairs_of(data(out))}
    assert len(pairs) == 4
    token = pairs[("demo:token-missing", "security-token-required")]
    assert (token["failed"], token["runs"], token["latest"]["outcome"]) == (2, 3, "healthy")   # the sia run is not counted here
    sia = pairs[("demo:token-missing", "sia-auth-failure")]
    assert (sia["failed"], sia["runs"]) == (1, 1) and "Login error restricted domain" in sia["latest"]["causes"][0][0][1]
    # the worst latest outcome first
    assert list(pairs)[0] == ("demo:token-missing", "sia-auth-failure")
    assert list(pairs)[1] == ("demo:healthy", "marketo-sync")


def test_warnings_follow_the_root_causes_marked_as_warnings(tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    append_index(out, {"time": "2026-11-20T02:00:00Z", "runbook": "mc-missing-oauth-token", "org": "demo",
                       "outcome": "problems_found", "root_causes": ["MC_IP_NOT_ALLOWLISTED"],
                       "warnings": ["MC_USER_NOT_API_USER", "MC_IP_NOT_ALLOWLISTED"], "folder": "x", "exit_code": 1})
    d = data(out, "ja")
    (row,) = listed(d)
    roots, warnings = row["causes"]
    assert [c for c, _ in roots] == ["MC_IP_NOT_ALLOWLISTED"] and [c for c, _ in warnings] == ["MC_USER_NOT_API_USER"]
    assert "API ユーザー" in warnings[0][1] and d["t"]["warning"].startswith("警告:")


def test_changes_since_the_previous_run_of_the_same_runbook_and_org(out):
    r = listed(data(out))
    first, second, third = r[4], r[3], r[1]                          # the three runs on demo:token-missing
    assert first["prev"] is None and first["before"] is None
    assert second["prev"] == -5 and [c for c, _ in second["before"][0]] == ["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"]
    assert third["prev"] == -4 and third["causes"] == [[], []]
    assert r[0]["prev"] is None and r[2]["prev"] is None             # other runbook / org: own history


def test_a_change_of_sfdoctor_version_between_two_runs_is_marked(tmp_path):
    out = tmp_path / "reports"
    add(out, "2026-11-20T02:00:00Z", "acme", "problems_found", ["TOKEN_MISSING"], version=None, findings_version="0.1.0")
    add(out, "2026-11-21T02:00:00Z", "acme", "problems_found", ["TOKEN_MISSING"], version="0.1.0")
    add(out, "2026-11-22T02:00:00Z", "acme", "problems_found", ["SOURCE_IP_UNTRUSTED"], version="0.2.0")
    add(out, "2026-11-22T03:00:00Z", "other", "healthy", [], version=None)      # no version anywhere: nothing said
    add(out, "2026-11-23T03:00:00Z", "other", "healthy", [], version=None)
    d = data(out)
    assert [r["version"] for r in listed(d)] == [None, None, ["0.1.0", "0.2.0"], None, None]   # only 0.1.0 -> 0.2.0 on acme
    (acme,) = [p for p in pairs_of(d) if p["org"] == "acme"]
    assert acme["latest"]["version"] == ["0.1.0", "0.2.0"]           # the summary says it of the latest run too
    # the chart marks the day the new version first ran
    assert d["chart"]["versions"] == [[2, "sfdoctor 0.2.0 first ran on Nov 22, 2026: a change from here on may be "
                                          "sfdoctor's wording or rules, not the org"]]
    assert "not from the org" in d["t"]["version_hint"]
    ja = data(out, "ja")
    assert "異なる sfdoctor のバージョン ({a} と {b})" in ja["t"]["version_hint"]


def test_one_chart_for_all_orgs_and_nothing_from_outside(out):
    page = index_page.write(out, "en").read_text(encoding="utf-8")
    d = index_page.data_of(page)
    assert page.count('<figure id="chart">') == 1
    assert d["chart"]["iso"] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert d["chart"]["days"] == ["Nov 20, 2026", "Nov 21, 2026", "Nov 22, 2026"]
    # every run in the window, as (day, outcome, cause set), under its org and runbook: what the filters act on
    charted = {(p["org"], p["runbook"]): [(day, d["outs"][o][0]) for day, o, _s in p["chart"]] for p in pairs_of(d)}
    assert charted == {("demo:token-missing", "security-token-required"): [(0, "problems_found"), (1, "problems_found"), (2, "healthy")],
                       ("demo:healthy", "security-token-required"): [(1, "healthy")],
                       ("demo:healthy", "marketo-sync"): [(2, "inconclusive")]}
    # filters: text (with the orgs to pick from), runbook, outcome
    assert '<datalist id="f-orgs"><option value="demo:healthy"><option value="demo:token-missing"></datalist>' in page
    assert '<option value="marketo-sync">' in page and '<option value="problems_found">problems found</option>' in page
    # self-contained: no URL to fetch, a CSP that forbids fetching, inline script only
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page and page.count("<script>") == 1 and "<script src" not in page
    assert "<noscript>" in page and "sfdoctor reports list" in page


def test_japanese_page_dates_titles_and_escaping(out):
    add(out, "2026-11-23T01:00:00Z", '<b>"x"</b></script><!--', "healthy", [])
    page = index_page.write(out, "ja").read_text(encoding="utf-8")
    d = index_page.data_of(page)
    assert '<html lang="ja">' in page and "レポート履歴" in page and "問題あり" in page
    assert "2026年11月21日 02:00" in page and "11月20日" in page and "Nov " not in page
    assert "信頼されていないネットワークからトークンなしで" in page and TOKEN_MISSING_EN not in page
    # a name that looks like markup stays a name: escaped in the filters' list, and in the data block
    # no "<" at all, so it can neither close the block nor open a comment
    assert "<b>" not in page and "&lt;b&gt;&quot;x&quot;&lt;/b&gt;" in page
    block = page[page.index('id="page-data">'):]
    assert "<" not in block[len('id="page-data">'):block.index("</script>")]
    assert '<b>"x"</b></script><!--' in d["orgs"]
    assert index_page.page_lang(out) == "ja"
    # The page's own stamp: words to read, the exact instant only for machines (<time datetime>).
    from bs4 import BeautifulSoup
    shown = BeautifulSoup(page[:page.index('<script')], "html.parser").get_text(" ")
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", shown), re.findall(r"\S*\d{4}-\d\d-\d\dT\S*", shown)
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+">[^<]*sfdoctor が作成', page)


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


def test_a_first_page_takes_the_creating_commands_lang_over_the_setting(tmp_path, monkeypatch):
    """`first` (a run's explicit --lang) decides only a page not there yet; the setting only
    when no --lang was given; a page already there keeps its language."""
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.delenv("SFDOCTOR_LANG", raising=False)
    out = tmp_path / "reports"
    add(out, "2026-11-20T02:00:00Z", "demo", "healthy", [])
    assert index_page.page_language(out, first="ja") == "ja" and index_page.page_language(out) == "en"
    assert index_page.refresh(out, first="ja") and index_page.page_lang(out) == "ja"
    assert index_page.refresh(out, first="en") and index_page.page_lang(out) == "ja"   # kept


@pytest.mark.parametrize("command", ["run", "fleet run"])
def test_run_and_fleet_run_with_lang_make_a_first_page_in_that_lang(tmp_path, monkeypatch, command):
    """The reviewer's repro (REVIEW @lead 14:41): a fresh OUT, an English locale, `--lang ja`:
    index.html in Japanese like the report and fleet.html; then `--lang en` leaves it so."""
    for var in ("SFDOCTOR_LANG", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    out = tmp_path / "out"
    if command == "run":
        argv = ["run", "security-token-required", "--org", "demo:token-missing", "--out", str(out)]
    else:
        orgs = tmp_path / "orgs.toml"
        orgs.write_text('[orgs.one]\ndemo = "token-missing"\n', encoding="utf-8")
        argv = ["fleet", "run", "--orgs", str(orgs), "--runbooks", "security-token-required", "--workers", "1",
                "--no-progress", "--out", str(out)]
    assert main([*argv, "--lang", "ja"]) == 1
    assert index_page.page_lang(out) == "ja"
    if command == "fleet run":
        assert '<html lang="ja">' in (out / "fleet.html").read_text(encoding="utf-8")
    assert main([*argv, "--lang", "en"]) == 1
    assert index_page.page_lang(out) == "ja"                         # later runs keep the page's language


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
    assert "No runs yet" in page and "<table" not in page and "<script" not in page


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
    d = index_page.data_of(page)
    assert '<html lang="en">' in page and [p[1] for p in d["pairs"] if d["orgs"][p[0]] == "two"] and \
        len([p for p in d["pairs"] if d["orgs"][p[0]] == "two"]) == 2                # 2 runbooks
    assert {x["sfdoctor_version"] for x in lines} == {__version__}


def test_the_charts_data_grows_with_the_changes_not_the_nights(tmp_path):
    """A pair's runs in the window are stretches (day, outcome, cause set, n): nights that stay the
    same are one, a change of outcome or causes, a skipped night or a second run on a day starts another."""
    out = tmp_path / "reports"
    for day in range(1, 6):
        add(out, f"2026-11-0{day}T02:00:00Z", "acme", "healthy", [], report=False)
    add(out, "2026-11-06T02:00:00Z", "acme", "problems_found", ["TOKEN_MISSING"], report=False)
    add(out, "2026-11-07T02:00:00Z", "acme", "problems_found", ["TOKEN_MISSING"], report=False)
    add(out, "2026-11-07T05:00:00Z", "acme", "problems_found", ["TOKEN_MISSING"], report=False)   # the same day again
    add(out, "2026-11-08T02:00:00Z", "acme", "problems_found", ["SOURCE_IP_UNTRUSTED"], report=False)
    add(out, "2026-11-10T02:00:00Z", "acme", "problems_found", ["SOURCE_IP_UNTRUSTED"], report=False)  # a night skipped
    d = data(out)
    (pair,) = d["pairs"]
    stretches = [pair[6][i:i + 4] for i in range(0, len(pair[6]), 4)]
    assert [(day, d["outs"][o][0], n) for day, o, _s, n in stretches] == [
        (0, "healthy", 5), (5, "problems_found", 2), (6, "problems_found", 1), (7, "problems_found", 1), (9, "problems_found", 1)]
    assert stretches[1][2] == stretches[2][2] != stretches[3][2] == stretches[4][2]
    assert [day for day, _o, _s in pairs_of(d)[0]["chart"]] == [0, 1, 2, 3, 4, 5, 6, 6, 7, 9]


def test_runs_without_a_time_or_a_known_outcome_still_list(tmp_path):
    """Lines from a hand-edited or very old index: no time (no chart, no chart heading), an
    outcome and a runbook sfdoctor does not know (shown as they are)."""
    out = tmp_path / "reports"
    append_index(out, {"runbook": "retired-runbook", "org": "acme", "outcome": "skipped", "root_causes": ["GONE"]})
    page = index_page.write(out, "en").read_text(encoding="utf-8")
    d = index_page.data_of(page)
    assert d["chart"] is None and '<figure id="chart">' not in page and "Runs per day" not in page
    (run,) = runs_of(d)
    assert (run["outcome"], run["runbook"], run["when"], run["folder"]) == ("skipped", "retired-runbook", "", None)
    assert run["causes"] == [[["GONE", "GONE"]], []] and d["rbs"] == [["retired-runbook", ""]]
