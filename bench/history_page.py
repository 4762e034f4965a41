"""The history page (reports/index.html) at a fleet's scale: its bytes, and how long chromium takes.

    .venv/bin/python bench/history_page.py                 # 1,000 and 10,000 runs of 250 orgs
    .venv/bin/python bench/history_page.py 1000            # one size
    .venv/bin/python bench/history_page.py --json          # the figures as JSON

For each size, an index written by tests/history_gen.py (the newest 1,000 runs with their report
folders, as a fleet leaves them) and the page rebuilt by this tree's index_page.py; then, median
of 3 fresh chromium pages (Debian's chromium through Playwright, offline, 1280x800, from file://):
- `load`: navigation start to the load event's end (HTML parsed, inline script run);
- `ready`: navigation start to two animation frames after load (what the first screen shows
  is laid out and painted; the page's own script has drawn its tables and chart by then);
- `filter`: typing an org into the page's filter until two frames later (the tables and, since
  issue 18, the chart redrawn for that org).
Also the build time in Python (median of 3) and the page's size in bytes. A figure, not a test:
nothing is asserted. Run it on two trees to compare.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
sys.path.insert(0, str(ROOT / "tests"))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ORGS = 250
TIMES = 3
TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"


def build(out: Path, runs: int) -> tuple[Path, float]:
    from history_gen import write_history

    from sfdoctor import index_page

    write_history(out, runs, ORGS, reports=1000)
    spent = []
    for _ in range(TIMES):
        t0 = time.perf_counter()
        page = index_page.write(out, "en", by_command=True)
        spent.append(time.perf_counter() - t0)
    return page, statistics.median(spent)


def browse(browser, page_file: Path) -> dict[str, float]:
    own = page_file.resolve().as_uri()
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 800})
    context.route("**/*", lambda route: route.continue_() if route.request.url == own else route.abort())
    try:
        page = context.new_page()
        page.goto(own, wait_until="load")
        ready = page.evaluate(TWO_FRAMES)
        load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        t0 = page.evaluate("performance.now()")
        page.fill("#f-text", "client-017")
        filtered = page.evaluate(TWO_FRAMES)
        return {"load_ms": load, "ready_ms": ready, "filter_ms": filtered - t0}
    finally:
        context.close()


def measure(sizes: list[int]) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    figures = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for runs in sizes:
                with tempfile.TemporaryDirectory() as tmp:
                    page_file, build_s = build(Path(tmp) / "reports", runs)
                    seen = [browse(browser, page_file) for _ in range(TIMES)]
                    figures.append({"runs": runs, "orgs": ORGS, "bytes": page_file.stat().st_size,
                                    "build_s": round(build_s, 3),
                                    **{k: round(statistics.median(s[k] for s in seen), 1) for k in seen[0]}})
        finally:
            browser.close()
    return figures


def main(argv: list[str]) -> None:
    sizes = [int(a.replace(",", "").replace("_", "")) for a in argv if a != "--json"] or [1000, 10_000]
    figures = measure(sizes)
    if "--json" in argv:
        print(json.dumps(figures, indent=1))
        return
    for f in figures:
        print(f"{f['runs']:>6,} runs of {f['orgs']} orgs: index.html {f['bytes']:,} bytes, built in {f['build_s']:.2f} s; "
              f"chromium: load {f['load_ms']:.0f} ms, ready {f['ready_ms']:.0f} ms, filter {f['filter_ms']:.0f} ms "
              f"(median of {TIMES})")


if __name__ == "__main__":
    main(sys.argv[1:])
