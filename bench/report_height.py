"""How tall each runbook's report.html renders: a person should read it top-down in one screen.

    .venv/bin/python bench/report_height.py                  # run each runbook's default demo
                                                             # world in en and ja, then measure
    .venv/bin/python bench/report_height.py --reports DIR    # measure the report.html files under DIR
    .venv/bin/python bench/report_height.py --reports DIR --rerender
                                                             # draw each report under DIR again from its
                                                             # report.ipynb and findings.json with this
                                                             # tree's report.py (no run), then measure
    .venv/bin/python bench/report_height.py --json           # the figures as JSON

The height is that of a full-page screenshot in Debian's chromium (Playwright, as the browser
tests drive it), at a 1280 px wide viewport, screen media, offline. Also printed: the top of
the checks section (how far down the answer ends) and the visible text's length. A figure, not
a test: nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
WIDTH = 1280


def run_defaults(out: Path) -> list[Path]:
    """Each runbook's default demo world, en and ja, run as `sfdoctor run` runs it."""
    from sfdoctor import runbooks
    from sfdoctor.runner import run_runbook

    folders = []
    for spec in runbooks.all_specs():
        if not spec.default_scenario:
            continue
        for lang in ("en", "ja"):
            done = run_runbook(spec.id, f"demo:{spec.default_scenario}", {}, out / lang, lang, progress=None)
            folders.append(done.folder / "report.html")
    return folders


def rerender(report: Path) -> None:
    """report.html drawn again from the folder's report.ipynb and findings.json."""
    import nbformat

    from sfdoctor.report import context_from_notebook, export_html
    from sfdoctor.runbooks import load

    folder = report.parent
    findings = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
    nb = nbformat.read(folder / "report.ipynb", as_version=4)
    spec = load(findings["runbook"])
    report.write_text(export_html(nb, findings, findings["lang"], spec=spec, context=context_from_notebook(nb)),
                      encoding="utf-8")


def measure(reports: list[Path], shots: Path | None) -> list[dict]:
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": WIDTH, "height": 900})
            page = context.new_page()
            for report in reports:
                findings = json.loads((report.parent / "findings.json").read_text(encoding="utf-8"))
                page.goto(report.resolve().as_uri(), wait_until="load")
                height = page.evaluate("() => document.documentElement.scrollHeight")
                checks_top = page.evaluate(
                    "() => { const e = document.querySelector('#sfd-checks');"
                    " return e ? Math.round(e.getBoundingClientRect().top + window.scrollY) : null }")
                text = page.evaluate("() => document.body.innerText")
                name = f"{findings['runbook']}.{findings['lang']}"
                if shots is not None:
                    shots.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
                rows.append({"runbook": findings["runbook"], "lang": findings["lang"], "org": findings["org"],
                             "height_px": height, "checks_top_px": checks_top, "text_chars": len(text)})
        finally:
            browser.close()
    return sorted(rows, key=lambda r: (r["runbook"], r["lang"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reports", type=Path, help="measure the report.html files under this folder (no run)")
    ap.add_argument("--rerender", action="store_true", help="with --reports: draw each report again with this tree first")
    ap.add_argument("--shots", type=Path, help="keep a full-page screenshot of each report in this folder")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sfdoctor-height-") as tmp:
        if args.reports:
            reports = sorted(args.reports.rglob("report.html"))
            if args.rerender:
                for report in reports:
                    rerender(report)
        else:
            reports = run_defaults(Path(tmp))
        if not reports:
            print(f"no report.html under {args.reports}", file=sys.stderr)
            return 2
        rows = measure(reports, args.shots)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'runbook':28} {'lang':4} {'height px':>9} {'checks at':>9} {'text chars':>10}")
    for r in rows:
        print(f"{r['runbook']:28} {r['lang']:4} {r['height_px']:>9} {str(r['checks_top_px']):>9} {r['text_chars']:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
