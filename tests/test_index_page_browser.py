"""The history page, reports/index.html, in Debian's chromium with the network off, as a person sees it.

A few runs (filters, links, pages), then a fleet's history: 10,000 runs over 250 orgs, written
straight into the index (tests/history_gen.py), as a thousand org-runbooks a night leave it.
Every request is routed to a handler that lets through only the page's own file and aborts
(and records) everything else; the test asserts nothing else was even attempted. Asserted on
what is drawn: one chart, a count per org and runbook, causes by their titles, version
changes marked, and dates, org names and runbook ids on one line (element heights measured).
The chart follows the filters as the tables do (issue 18), checked against the lines written.
Screenshots are kept in tests/artifacts/ (git-ignored): `index-{lang}.png` (the whole small
page), `index-filtered-{lang}.png` (the same filtered), `index-10000-{lang}.png` (the first
screen at 10,000 runs) and `index-10000-filtered-{lang}.png` (one org of the 250).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import skip_without_chromium
from history_gen import CAUSES, NEW_VERSION, OLD_VERSION, RUNBOOKS, org_name, write_history

from sfdoctor import index_page
from sfdoctor.report_index import append_index
from sfdoctor.runbooks import load

ARTIFACTS = Path(__file__).parent / "artifacts"
VIEWPORT = {"width": 1280, "height": 800}

pytestmark = pytest.mark.browser

skip_without_chromium()


@pytest.fixture(autouse=True)
def _no_language_setting(monkeypatch):
    for var in ("SFDOCTOR_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)


def _sealed(browser, page_file: Path):
    """A context that may load `page_file` and nothing else: (context, the URLs it tried, its URL)."""
    own = page_file.resolve().as_uri()
    attempted: list[str] = []
    context = browser.new_context(offline=True, viewport=VIEWPORT)

    def handle(route) -> None:
        attempted.append(route.request.url)
        route.continue_() if route.request.url == own else route.abort()

    context.route("**/*", handle)
    return context, attempted, own


def _shot(page, name: str, full_page: bool) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    page.screenshot(path=str(shot), full_page=full_page)
    assert shot.stat().st_size > 1000
    return shot


def _small_history(tmp_path: Path, lang: str) -> Path:
    out = tmp_path / f"reports-{lang}"
    runs = [("2026-11-20T02:00:00Z", "demo:token-missing", "problems_found", ["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"]),
            ("2026-11-21T02:00:00Z", "demo:token-missing", "problems_found", ["SOURCE_IP_UNTRUSTED"]),
            ("2026-11-21T03:00:00Z", "demo:healthy", "healthy", []),
            ("2026-11-22T02:00:00Z", "demo:token-missing", "healthy", [])]
    for i, (time, org, outcome, causes) in enumerate(runs):
        runbook = "security-token-required" if i != 2 else "sia-auth-failure"
        folder = f"{time[:10]}/{runbook}/{org.replace(':', '-')}-{time[11:19].replace(':', '')}Z"
        (out / folder).mkdir(parents=True)
        (out / folder / "report.html").write_text("<p>report</p>", encoding="utf-8")
        append_index(out, {"time": time, "runbook": runbook, "org": org, "outcome": outcome, "root_causes": causes,
                           "warnings": [], "folder": folder, "exit_code": 1 if causes else 0, "sfdoctor_version": "0.1.0"})
    return index_page.write(out, lang)


def _chart(page) -> dict:
    """What the chart draws: {iso day: {outcome: bar height}}, the top of its scale, its caption."""
    bars = page.locator("#chart g.day").evaluate_all(
        """gs => gs.map(g => [g.dataset.day, Object.fromEntries([...g.querySelectorAll('rect')].map(
             r => [r.getAttribute('class').slice(2), parseFloat(r.getAttribute('height'))]))])""")
    top = page.locator("#chart svg text").first.text_content()
    return {"days": dict(bars), "top": int(top), "caption": page.locator("#chart figcaption .caption").inner_text(),
            "label": page.locator("#chart svg").get_attribute("aria-label")}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_history_page_opens_complete_offline_and_filters(tmp_path, lang, browser):
    page_file = _small_history(tmp_path, lang)
    titles = load("security-token-required").texts(lang)
    context, attempted, own = _sealed(browser, page_file)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(own, wait_until="load")
        rows = page.locator("#runs tbody tr")
        assert rows.count() == 4 and all(rows.nth(i).is_visible() for i in range(4))
        assert rows.nth(0).locator("td").first.inner_text() == "-1"
        assert titles.cause_title("TOKEN_MISSING") in rows.nth(3).inner_text()
        assert rows.nth(3).locator('.cause[data-code="TOKEN_MISSING"]').get_attribute("title") == \
            f"TOKEN_MISSING: {titles.cause_title('TOKEN_MISSING')}"
        fixed = "fixed" if lang == "en" else "解消"
        assert f"{fixed}: {titles.cause_title('TOKEN_MISSING')}" in rows.nth(2).inner_text().replace("\n", " ")
        assert rows.nth(2).locator(".ch").get_attribute("title").endswith("sfdoctor reports diff -4 -3")
        assert page.locator("#pairs tbody tr").count() == 2
        # one chart: a drawn SVG, the failed runs in red on two days
        assert page.locator("svg").count() == 1
        box = page.locator("#chart svg").bounding_box()
        assert box and box["width"] > 60 and 60 < box["height"] < 200
        assert page.locator("#chart rect.o-problems_found").count() == 2
        drawn = _chart(page)
        assert drawn["top"] == 2 and set(drawn["days"]) == {"2026-11-20", "2026-11-21", "2026-11-22"}
        assert drawn["label"] == drawn["caption"]                       # what a screen reader hears is what is shown
        # relative links that lead to report files next to the page
        hrefs = page.locator("#runs a").evaluate_all("els => els.map(a => a.href)")
        assert len(hrefs) == 4 and all(h.startswith(page_file.parent.as_uri() + "/") for h in hrefs)
        assert all(Path(h[len("file://"):]).is_file() for h in hrefs)
        # filters: by text, then by runbook and outcome too; both tables and the chart follow
        page.fill("#f-text", "demo:healthy")
        assert rows.count() == 1 and "demo:healthy" in rows.first.inner_text()
        assert page.locator("#pairs tbody tr").count() == 1
        drawn = _chart(page)
        assert list(drawn["days"]) == ["2026-11-21"] and drawn["days"]["2026-11-21"].keys() == {"healthy"}
        assert drawn["top"] == 1 and ("0 of 1" if lang == "en" else "1 件中 0 件") in drawn["caption"]
        page.fill("#f-text", "token-missing")
        page.select_option("#f-runbook", "security-token-required")
        assert [r.split("\t")[0] for r in rows.all_inner_texts()] == ["-1", "-3", "-4"]
        page.select_option("#f-outcome", "problems_found")
        assert [r.split("\t")[0] for r in rows.all_inner_texts()] == ["-3", "-4"]
        assert page.locator("#pairs tbody tr").count() == 0     # its latest run is healthy
        drawn = _chart(page)
        assert {d: set(c) for d, c in drawn["days"].items()} == {"2026-11-20": {"problems_found"}, "2026-11-21": {"problems_found"}}
        assert drawn["top"] == 1 and drawn["label"] == drawn["caption"]
        assert ("Only the runs the filters above match" if lang == "en" else "絞り込みに合う実行だけ") in drawn["caption"]
        _shot(page, f"index-filtered-{lang}.png", full_page=True)
        page.fill("#f-text", "")
        page.select_option("#f-runbook", "")
        page.select_option("#f-outcome", "")
        assert rows.count() == 4 and _chart(page)["top"] == 2
        assert "filters" not in _chart(page)["caption"] and "絞り込み" not in _chart(page)["caption"]
        _shot(page, f"index-{lang}.png", full_page=True)
    finally:
        context.close()
    assert attempted == [own] and errors == []


def test_without_javascript_the_page_says_where_the_runs_are(tmp_path, browser):
    page_file = _small_history(tmp_path, "en")
    own = page_file.resolve().as_uri()
    context = browser.new_context(offline=True, viewport=VIEWPORT, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(own, wait_until="load")
        assert "JavaScript" in page.inner_text("body") and "sfdoctor reports list" in page.inner_text("body")
    finally:
        context.close()


# --------------------------------------------------------------------------------------
# 10,000 runs, 250 orgs
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fleet_history(tmp_path_factory):
    """10 nights x 250 orgs x 4 runbooks; sfdoctor upgraded before the last night."""
    out = tmp_path_factory.mktemp("fleet-history") / "reports"
    lines = write_history(out, 10_000, 250, upgrade_night=9, reports=1000)
    return out, lines


def _lines(page, selector: str) -> list[int]:
    """How many lines the text of each visible element matching `selector` takes on screen:
    its content's height (a Range around it, not the cell, which stretches to its row)
    over its line height."""
    return page.locator(selector).evaluate_all(
        """els => els.filter(e => e.offsetParent).map(e => {
             const r = document.createRange(); r.selectNodeContents(e);
             const line = parseFloat(getComputedStyle(e).lineHeight) || 1.4 * parseFloat(getComputedStyle(e).fontSize);
             return Math.round(r.getBoundingClientRect().height / line); })""")


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_10000_runs_of_250_orgs_read_on_one_screen(fleet_history, lang, browser):
    out, lines = fleet_history
    page_file = index_page.write(out, lang)
    context, attempted, own = _sealed(browser, page_file)
    try:
        page = context.new_page()
        page.goto(own, wait_until="load")
        # one chart for all orgs, short enough that the table per org and runbook starts on the first screen
        assert page.locator("svg").count() == 1 and page.locator("#chart g.day").count() == 10
        assert page.locator("#chart svg").bounding_box()["height"] < 150
        assert page.locator("#chart g.version").count() == 1                 # the night of the upgrade
        fifth_pair = page.locator("#pairs tbody tr").nth(4).bounding_box()
        assert fifth_pair["y"] + fifth_pair["height"] < VIEWPORT["height"]
        # a page at a time: 50 of the 1,000 org and runbook pairs, 50 of the newest 1,000 runs (only those drawn)
        assert page.locator("#pairs tbody tr").count() == 50 and page.locator("#runs tbody tr").count() == 50
        assert page.locator('.pager[data-for="runs"] .range').inner_text() == \
            ("1\u201350 of 1000" if lang == "en" else "1000 件中 1〜50 件目")
        pager = page.locator('.pager[data-for="pairs"] .range')
        assert pager.inner_text() == ("1\u201350 of 1000" if lang == "en" else "1000 件中 1〜50 件目")
        page.locator('.pager[data-for="pairs"] .next').click()
        assert pager.inner_text() == ("51\u2013100 of 1000" if lang == "en" else "1000 件中 51〜100 件目")
        # nothing wraps: dates, org names, runbook ids, outcomes and causes each on one line
        for selector in ("#pairs td.nw", "#pairs .clip", "#pairs .cause", "#runs td.nw", "#runs .clip", "#runs .cause"):
            counts = _lines(page, selector)
            assert counts and set(counts) == {1}, (selector, sorted(set(counts)))
        page.locator('.pager[data-for="pairs"] .prev').click()
        # a long org name is cut, whole on hover
        long_name = org_name(5)
        page.fill("#f-text", long_name)
        clipped = page.locator(f'#pairs tbody tr .clip[title="{long_name}"]').first
        assert clipped.evaluate("e => e.scrollWidth > e.clientWidth")
        # each org and runbook counted alone, with its latest causes by title: checked against the lines written
        titles = {rb: load(rb).texts(lang) for rb in RUNBOOKS}
        for org_i, rb_i in ((0, 0), (5, 1), (17, 2), (200, 3)):
            org, rb = org_name(org_i), RUNBOOKS[rb_i]
            mine = [x for x in lines if x["org"] == org and x["runbook"] == rb]
            failed = sum(x["outcome"] == "problems_found" for x in mine)
            page.fill("#f-text", org)
            page.select_option("#f-runbook", rb)
            row = page.locator("#pairs tbody tr")
            assert row.count() == 1
            cells = row.locator("td")
            expected = f"{failed} of {len(mine)}" if lang == "en" else f"{len(mine)} 件中 {failed} 件"
            assert cells.nth(2).inner_text() == expected
            latest = mine[-1]["root_causes"]
            shown = row.locator("td:nth-child(7) .cause").all_inner_texts()
            assert shown == [titles[rb].cause_title(c) for c in latest] and not set(shown) & set(sum(CAUSES[rb], []))
            assert f"{OLD_VERSION} \u2192 {NEW_VERSION}" in row.locator(".ver").inner_text()
            assert cells.nth(4).locator("a").count() == 1                 # the latest report, one click away
            # the chart follows: this org and runbook's runs, night by night, failed ones in red
            drawn = _chart(page)
            by_day = {x["time"][:10]: x["outcome"] for x in mine}
            assert drawn["top"] == 1 and {d: set(c) for d, c in drawn["days"].items()} == {d: {o} for d, o in by_day.items()}
        # the outcome filter over the whole history
        page.fill("#f-text", "")
        page.select_option("#f-runbook", "")
        page.select_option("#f-outcome", "problems_found")
        failing_pairs = {(x["org"], x["runbook"]) for x in lines[-1000:] if x["outcome"] == "problems_found"}
        n = len(failing_pairs)
        assert pager.inner_text() == (f"1\u201350 of {n}" if lang == "en" else f"{n} 件中 1〜50 件目")
        # the chart counts the failed runs of every night, and nothing else
        failed_per_night: dict[str, int] = {}
        for x in lines:
            if x["outcome"] == "problems_found":
                failed_per_night[x["time"][:10]] = failed_per_night.get(x["time"][:10], 0) + 1
        drawn = _chart(page)
        assert drawn["top"] == max(failed_per_night.values())
        assert {d: set(c) for d, c in drawn["days"].items()} == {d: {"problems_found"} for d in failed_per_night}
        total = f"{sum(failed_per_night.values()):,}"
        assert (f"{total} of {total}" if lang == "en" else f"{total} 件中 {total} 件") in drawn["caption"]
        # one org: its four runbooks each night
        page.select_option("#f-outcome", "")
        page.fill("#f-text", org_name(17))
        assert _chart(page)["top"] == 4 and len(_chart(page)["days"]) == 10
        _shot(page, f"index-10000-filtered-{lang}.png", full_page=False)
        page.fill("#f-text", "")
        page.evaluate("window.scrollTo(0, 0)")
        _shot(page, f"index-10000-{lang}.png", full_page=False)
    finally:
        context.close()
    assert attempted == [own]
