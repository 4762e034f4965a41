"""`reports/index.html`: the report history as one page to share (spec/cli.md "Report folder").

Why a page: the people who act on a report (an admin, the Marketo owner) often get it as a
file share link or an e-mail attachment, with no sfdoctor and no network. So, like each
report.html, the page is self-contained: inline CSS, a few lines of inline JS for the
filters, the chart as inline SVG, no font, image or script from anywhere, and a
Content-Security-Policy that forbids every fetch, so even a mistake cannot leak a request.
Links to the reports are relative (`2026-11-23/RUNBOOK/ORG-HHMMSSZ/report.html`), so the
folder can be moved or zipped whole.

What it shows, newest first: every run in `index.jsonl` with its index position (what
`sfdoctor reports diff` takes), date, runbook, org, outcome and causes, what changed since
the previous run of the same runbook on the same org (new, fixed, unchanged causes: the
same comparison as `reports diff`), and a link to its report; filters by org and runbook;
per org, a small chart of runs and failed runs per day.

When it is written: after every run (`runner.run_runbook` calls `refresh` right after
appending the index line), after a prune, and by `sfdoctor reports index`. Always under
the index's lock (so it matches the index it was built from) and atomically (temporary
file, then `os.replace`: a reader never sees half a page; see report_index). Its language is the run's, or
`--lang`; a prune keeps the page's current language.
"""
from __future__ import annotations

import html
import os
import re
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Mapping

from .findings import parse_iso
from .i18n import t
from .report_index import cause_changes, causes, index_lock, list_reports, write_atomic

INDEX_HTML = "index.html"
CHART_DAYS = 90   # the chart's window: the last 90 days that have runs, ending at the newest
# A fleet adds ~1,000 runs a night: the page lists the newest runs and charts the orgs that
# failed most, so it stays a page people can open (all runs: `sfdoctor reports list`).
MAX_ROWS = 1000
MAX_CHARTS = 24

# outcome: (symbol, pill background, text colour, border)
OUTCOME_STYLE = {
    "healthy": ("\u2713", "#dafbe1", "#0f5323", "1px solid #1a7f37"),
    "problems_found": ("\u2717", "#ffebe9", "#82071e", "2px solid #cf222e"),
    "inconclusive": ("?", "#fff8c5", "#633c01", "2px dashed #bf8700"),
    "error": ("\u2298", "#fff1e5", "#762c00", "3px double #bc4c00"),
}

CSS = """
:root{color-scheme:light dark}
body{font-family:system-ui,-apple-system,'Segoe UI','Hiragino Sans','Noto Sans CJK JP','Yu Gothic',sans-serif;
 margin:1.2em auto;max-width:80em;padding:0 1em;line-height:1.45}
h1{font-size:1.4em;margin:.2em 0} h2{font-size:1.1em;margin:1.2em 0 .4em}
.muted{opacity:.72} code{font-family:ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace;font-size:.92em}
#filters{display:flex;gap:1.2em;align-items:center;flex-wrap:wrap;margin:.8em 0;padding:.5em .7em;
 border:1px solid rgba(127,127,127,.38);border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.93em}
th,td{text-align:left;vertical-align:top;padding:.25em .5em;border-bottom:1px solid rgba(127,127,127,.38)}
th{background:rgba(127,127,127,.11)}
.pill{display:inline-block;padding:0 .45em;border-radius:999px;white-space:nowrap;font-size:.9em;
 -webkit-print-color-adjust:exact;print-color-adjust:exact}
.new{color:#cf222e;font-weight:600} .fixed{color:#1a7f37;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:1em} figure{margin:0;padding:.4em .6em;border:1px solid rgba(127,127,127,.38);border-radius:6px}
figcaption{font-size:.88em} svg{display:block}
tr[hidden],figure[hidden]{display:none}
.wide{overflow-x:auto}
code.warn{opacity:.8;border-bottom:1px dashed currentColor}
@media print{#filters{display:none}}
"""

# The filters: a row (or an org's chart) shows when it matches both selects.
JS = """
(function(){
  var org=document.getElementById('f-org'), rb=document.getElementById('f-runbook'), n=document.getElementById('f-count');
  function apply(){
    var shown=0;
    document.querySelectorAll('#runs tbody tr').forEach(function(tr){
      var ok=(!org.value||tr.dataset.org===org.value)&&(!rb.value||tr.dataset.runbook===rb.value);
      tr.hidden=!ok; if(ok){shown++;}
    });
    document.querySelectorAll('figure[data-org]').forEach(function(f){f.hidden=!!org.value&&f.dataset.org!==org.value;});
    n.textContent=shown;
  }
  org.addEventListener('change',apply); rb.addEventListener('change',apply); apply();
})();
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _time(entry: Mapping[str, Any]) -> datetime | None:
    return parse_iso(entry.get("time"))


def _outcome(outcome: str, lang: str) -> str:
    symbol, bg, fg, border = OUTCOME_STYLE.get(outcome, ("?", "#eaeef2", "#32383f", "1px dotted #6e7781"))
    label = t(f"index_page.short_outcome.{outcome}", lang) if outcome in OUTCOME_STYLE else outcome
    return f'<span class="pill" style="background:{bg};color:{fg};border:{border}">{symbol} {_e(label)}</span>'


def _cause_cell(entry: Mapping[str, Any], lang: str) -> str:
    """Root causes as they are, warnings after them marked as such (an index line keeps both lists)."""
    roots = [str(c) for c in entry.get("root_causes") or []]
    warns = [str(c) for c in entry.get("warnings") or [] if c not in roots]
    if not roots and not warns:
        return '<span class="muted">-</span>'
    parts = [f"<code>{_e(c)}</code>" for c in roots]
    parts += [f'<code class="warn" title="{_e(t("index_page.warning", lang))}">{_e(c)}</code>' for c in warns]
    return ", ".join(parts)


def _report_link(out: Path, folder: Any, lang: str) -> str:
    if not isinstance(folder, str) or not folder:
        return f'<span class="muted">{_e(t("index_page.missing", lang))}</span>'
    href = f"{folder.strip('/')}/report.html"
    if not (out / href).is_file():
        return f'<span class="muted">{_e(t("index_page.missing", lang))}</span>'
    return f'<a href="{_e(href)}">{_e(t("index_page.open", lang))}</a>'


def _changes(prev: tuple[int, Mapping[str, Any]] | None, pos: int, entry: Mapping[str, Any], lang: str) -> str:
    if prev is None:
        return f'<span class="muted">{_e(t("index_page.first", lang))}</span>'
    new, fixed, unchanged = cause_changes(causes(prev[1]), causes(entry))
    parts = []
    if new:
        parts.append(f'<span class="new">+ {_e(t("index_page.new", lang))}: {_e(", ".join(new))}</span>')
    if fixed:
        parts.append(f'<span class="fixed">\u2212 {_e(t("index_page.fixed", lang))}: {_e(", ".join(fixed))}</span>')
    if unchanged:
        parts.append(f'<span>= {_e(t("index_page.unchanged", lang))}: {_e(", ".join(unchanged))}</span>')
    if not (new or fixed):
        parts.insert(0, f'<span class="muted">{_e(t("index_page.same", lang))}</span>')
    hint = t("index_page.diff_hint", lang, a=prev[0], b=pos)
    return f'<span title="{_e(hint)}">' + "<br>".join(parts) + "</span>"


def _failed(entry: Mapping[str, Any]) -> bool:
    return entry.get("outcome") == "problems_found"


def chart_svg(org: str, entries: list[Mapping[str, Any]], lang: str) -> str:
    """One org's runs and failed runs per day, as an inline SVG bar chart (no library, no request)."""
    days: Counter[date] = Counter()
    failed: Counter[date] = Counter()
    for e in entries:
        ts = _time(e)
        if ts is None:
            continue
        days[ts.date()] += 1
        failed[ts.date()] += _failed(e)
    if not days:
        return ""
    last = max(days)
    first = max(min(days), last - timedelta(days=CHART_DAYS - 1))
    span = (last - first).days + 1
    width_per = max(4, min(18, 360 // span))
    height, top = 60, max(days[d] for d in days if d >= first)
    bars = []
    for i in range(span):
        d = first + timedelta(days=i)
        if not days[d]:
            continue
        x = i * width_per
        h_all = round(height * days[d] / top)
        h_fail = round(height * failed[d] / top)
        tip = _e(t("index_page.chart_day", lang, day=d.isoformat(), failed=failed[d], runs=days[d]))
        bars.append(f'<g><title>{tip}</title>'
                    f'<rect x="{x}" y="{height - h_all}" width="{width_per - 1}" height="{h_all}" fill="#8c959f" fill-opacity=".45"/>'
                    + (f'<rect class="fail" x="{x}" y="{height - h_fail}" width="{width_per - 1}" height="{h_fail}" fill="#cf222e"/>'
                       if h_fail else "") + "</g>")
    in_window = [d for d in days if d >= first]
    caption = t("index_page.chart_org", lang, org=org, failed=sum(failed[d] for d in in_window), runs=sum(days[d] for d in in_window),
                 first=first.isoformat(), last=last.isoformat())
    w = span * width_per
    return (f'<figure data-org="{_e(org)}"><svg xmlns="http://www.w3.org/2000/svg" role="img" width="{max(w, 40)}" '
            f'height="{height + 1}" viewBox="0 0 {max(w, 40)} {height + 1}" aria-label="{_e(caption)}">'
            f'<line x1="0" y1="{height + .5}" x2="{max(w, 40)}" y2="{height + .5}" stroke="#8c959f"/>'
            + "".join(bars) + f'</svg><figcaption>{_e(caption)}</figcaption></figure>')


def render(entries: list[dict[str, Any]], lang: str, out: Path, now: datetime | None = None) -> str:
    """The whole page for the index `entries` (oldest first, as `report_index.list_reports` gives them)."""
    from .findings import iso, utcnow

    n = len(entries)
    orgs = sorted({str(e.get("org", "")) for e in entries})
    runbooks = sorted({str(e.get("runbook", "")) for e in entries})
    prev_of: dict[int, tuple[int, Mapping[str, Any]]] = {}
    last_seen: dict[tuple[str, str], tuple[int, Mapping[str, Any]]] = {}
    for i, e in enumerate(entries):
        key = (str(e.get("runbook", "")), str(e.get("org", "")))
        if key in last_seen:
            prev_of[i] = last_seen[key]
        last_seen[key] = (i - n, e)

    rows = []
    for i in range(n - 1, max(-1, n - 1 - MAX_ROWS), -1):
        e = entries[i]
        pos = i - n
        ts = _time(e)
        when = ts.strftime("%Y-%m-%d %H:%M:%S") if ts else str(e.get("time", ""))
        rows.append(
            f'<tr data-org="{_e(e.get("org", ""))}" data-runbook="{_e(e.get("runbook", ""))}">'
            f'<td class="muted">{pos}</td><td>{_report_link(out, e.get("folder"), lang)}</td><td>{_e(when)}</td>'
            f'<td><code>{_e(e.get("runbook", ""))}</code></td>'
            f'<td><code>{_e(e.get("org", ""))}</code></td><td>{_outcome(str(e.get("outcome", "")), lang)}</td>'
            f'<td>{_cause_cell(e, lang)}</td>'
            f'<td>{_changes(prev_of.get(i), pos, e, lang)}</td></tr>')

    by_org: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for e in entries:
        by_org[str(e.get("org", ""))].append(e)
    charted = orgs
    if len(orgs) > MAX_CHARTS:
        worst = sorted(orgs, key=lambda o: (-sum(_failed(e) for e in by_org[o]), o))[:MAX_CHARTS]
        charted = sorted(worst)
    charts = "".join(chart_svg(org, by_org[org], lang) for org in charted)
    if len(charted) < len(orgs):
        charts = f'<p class="muted">{_e(t("index_page.charts_top", lang, shown=len(charted), orgs=len(orgs)))}</p>' + charts
    older = (f'<p class="muted">{_e(t("index_page.older", lang, shown=MAX_ROWS, n=n))}</p>' if n > MAX_ROWS else "")

    def select(name: str, label: str, values: list[str]) -> str:
        options = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in values)
        return (f'<label>{_e(label)} <select id="f-{name}"><option value="">{_e(t("index_page.all", lang))}</option>'
                f'{options}</select></label>')

    # The link to the report stands next to the position, so a narrow window never hides it.
    head = (f'<th>{_e(t("index_page.pos", lang))}</th><th>{_e(t("index_page.report", lang))}</th><th>{_e(t("index_page.date", lang))}</th>'
            f'<th>{_e(t("index_page.runbook", lang))}</th>'
            f'<th>{_e(t("index_page.org", lang))}</th><th>{_e(t("index_page.outcome", lang))}</th><th>{_e(t("index_page.causes", lang))}</th>'
            f'<th>{_e(t("index_page.changes", lang))}</th>')
    body = (
        f'<h1>{_e(t("index_page.title", lang))}</h1>'
        f'<p class="muted">{_e(t("index_page.intro", lang, n=n, out=out.name))}</p>'
        + (f'<p>{_e(t("index_page.none", lang))}</p>' if not entries else
           f'<div id="filters">{select("org", t("index_page.org", lang), orgs)}{select("runbook", t("index_page.runbook", lang), runbooks)}'
           f'<span><span id="f-count">{len(rows)}</span> / {len(rows)} {_e(t("index_page.shown", lang))}</span></div>'
           f'<h2>{_e(t("index_page.chart", lang))}</h2><p class="muted">{_e(t("index_page.legend", lang))}</p><div class="charts">{charts}</div>'
           f'<h2>{_e(t("index_page.runs", lang))}</h2>{older}<div class="wide"><table id="runs"><thead><tr>{head}</tr></thead>'
           f'<tbody>{"".join(rows)}</tbody></table></div>')
        + f'<p class="muted">{_e(t("index_page.generated", lang, now=iso(now or utcnow())))}</p>'
    )
    return (f'<!DOCTYPE html>\n<html lang="{_e(lang)}"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{_e(t("index_page.title", lang))}</title><style>{CSS}</style></head>'
            f'<body>{body}<script>{JS}</script></body></html>\n')


_LANG_ATTR = re.compile(r'<html lang="(en|ja)"')


def page_lang(out_dir: str | os.PathLike[str]) -> str:
    """The language the page has now (a prune keeps it), else English."""
    try:
        with open(Path(out_dir) / INDEX_HTML, encoding="utf-8") as fh:
            match = _LANG_ATTR.search(fh.read(200))
    except OSError:
        return "en"
    return match.group(1) if match else "en"


def write_locked(out_dir: str | os.PathLike[str], lang: str | None) -> Path:
    """Rebuild the page from the index; the caller holds the index lock."""
    out = Path(out_dir).resolve()
    lang = lang or page_lang(out)
    path = out / INDEX_HTML
    write_atomic(path, render(list_reports(out), lang, out))
    return path


def write(out_dir: str | os.PathLike[str], lang: str | None = None) -> Path:
    """Rebuild `OUT/index.html` under the index lock (`sfdoctor reports index`)."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with index_lock(out):
        return write_locked(out, lang)


def refresh(out_dir: str | os.PathLike[str], lang: str | None = None) -> Path | None:
    """After a run: rebuild the page; a failure is one line on stderr, never the run's outcome."""
    try:
        return write(out_dir, lang)
    except Exception as exc:  # the report itself is written: the history page must not break the run
        print(f"sfdoctor: {Path(out_dir) / INDEX_HTML}: not rewritten ({type(exc).__name__}: "
              f"{' '.join(str(exc).split())[:200]}); `sfdoctor reports index` rebuilds it", file=sys.stderr, flush=True)
        return None

