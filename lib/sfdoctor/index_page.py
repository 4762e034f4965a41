"""`reports/index.html`: the report history as one page to share (spec/cli.md "Report folder").

Why a page: the people who act on a report (an admin, the Marketo owner) often get it as a
file share link or an e-mail attachment, with no sfdoctor and no network. So, like each
report.html, the page is self-contained: inline CSS, a few lines of inline JS for the
filters and pages, the chart as inline SVG, no font, image or script from anywhere, and a
Content-Security-Policy that forbids every fetch, so even a mistake cannot leak a request.
Links to the reports are relative (`2026-11-23/RUNBOOK/ORG-HHMMSSZ/report.html`), so the
folder can be moved or zipped whole.

Made for a fleet's history (a thousand runs a night, hundreds of orgs), top to bottom:
- one chart for all orgs: runs per day stacked by outcome, the days a new sfdoctor version
  first ran marked;
- one row per org and runbook (a count that mixes runbooks says nothing): runs, failed runs,
  the latest run's outcome, its causes by their titles, what changed since the run before;
- the newest runs (`MAX_ROWS`), each with its index position (what `sfdoctor reports diff`
  takes) and what changed since the previous run of the same runbook on the same org (the
  same comparison as `reports diff`); `sfdoctor reports list` lists them all.
Both tables are filtered by text, runbook and outcome and shown a page at a time (inline JS;
without JS every row shows). Where two consecutive runs of one org and runbook were made by
different sfdoctor versions the page says so, so a change of wording or rules is not read as
the org changing. Dates, org names and runbook ids never wrap: a long one is cut with an
ellipsis and shown whole on hover.

Language: the page's own, never the last run's (runs in both languages share one history):
`sfdoctor reports index --lang` sets it (without `--lang` that command takes `$SFDOCTOR_LANG`,
as its help says); a run, a fleet run or a prune keeps the one the page has, and only a first
page takes `$SFDOCTOR_LANG`, else the locale, else English (`page_language`). Every text,
dates included, is in it.

When it is written: after every `sfdoctor run` (`runner.run_runbook` calls `refresh` right
after appending the index line), once per fleet run, after a prune, and by
`sfdoctor reports index`. Always under the index's lock (so it matches the index it was built
from) and atomically (temporary file, then `os.replace`: a reader never sees half a page;
see report_index).
"""
from __future__ import annotations

import html
import json
import os
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from .dates import day_text, when_text
from .findings import parse_iso
from .i18n import LANGS, t
from .report_index import cause_changes, causes, index_lock, list_reports, write_atomic

INDEX_HTML = "index.html"
CHART_DAYS = 90   # the chart's window: the last 90 days, ending at the newest run
# A fleet adds ~1,000 runs a night: the page lists the newest runs (the summary per org and
# runbook counts them all), so it stays a page people can open (all runs: `reports list`).
MAX_ROWS = 1000
PAGE_ROWS = 50    # rows per page of each table (the inline JS pages them)

OUTCOMES = ("problems_found", "error", "inconclusive", "healthy")   # worst first
# outcome: (symbol, pill background, text colour, border, chart colour)
OUTCOME_STYLE = {
    "healthy": ("\u2713", "#dafbe1", "#0f5323", "1px solid #1a7f37", "#8c959f"),
    "problems_found": ("\u2717", "#ffebe9", "#82071e", "2px solid #cf222e", "#cf222e"),
    "inconclusive": ("?", "#fff8c5", "#633c01", "2px dashed #bf8700", "#d4a72c"),
    "error": ("\u2298", "#fff1e5", "#762c00", "3px double #bc4c00", "#bc4c00"),
}

CSS = """
:root{color-scheme:light dark}
body{font-family:system-ui,-apple-system,'Segoe UI','Hiragino Sans','Noto Sans CJK JP','Yu Gothic',sans-serif;
 margin:1em auto;max-width:90em;padding:0 1em;line-height:1.4;font-size:15px}
h1{font-size:1.35em;margin:.2em 0} h2{font-size:1.08em;margin:1em 0 .3em}
.muted{opacity:.72} code{font-family:ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace;font-size:.92em}
#filters{display:flex;gap:1em;align-items:center;flex-wrap:wrap;margin:.6em 0;padding:.4em .7em;
 border:1px solid rgba(127,127,127,.38);border-radius:6px}
#filters input{min-width:14em}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{text-align:left;vertical-align:top;padding:.2em .45em;border-bottom:1px solid rgba(127,127,127,.38)}
th{background:rgba(127,127,127,.11)}
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.nw{white-space:nowrap}
.clip{display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:12em}
.clip.rb{max-width:17em}
.cause{display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:20em}
.pill{display:inline-block;padding:0 .45em;border-radius:999px;white-space:nowrap;font-size:.9em;
 -webkit-print-color-adjust:exact;print-color-adjust:exact}
.new{color:#cf222e;font-weight:600} .fixed{color:#1a7f37;font-weight:600}
.ch .cause{display:inline-block;max-width:14em;vertical-align:bottom}
.ver{display:block;white-space:nowrap;font-size:.88em;color:#8250df}
.warn{opacity:.8;text-decoration:underline dashed}
figure{margin:0} figcaption{font-size:.85em} svg{display:block;max-width:100%;height:auto}
.legend span{margin-right:1em;white-space:nowrap} .legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:-.05em}
.pager{display:flex;gap:.8em;align-items:center;margin:.3em 0;font-size:.9em}
.pager button{font:inherit;padding:0 .6em}
tr[hidden]{display:none}
.wide{overflow-x:auto}
@media print{#filters,.pager{display:none}}
"""

# The filters and the pages: a row shows when it matches every filter and falls on the
# table's current page. Without JS every row shows.
JS = """
(function(){
  var q=document.getElementById('f-text'), rb=document.getElementById('f-runbook'), oc=document.getElementById('f-outcome');
  var tables=[].slice.call(document.querySelectorAll('table[data-page]')).map(function(tb){
    return {tb:tb, rows:[].slice.call(tb.tBodies[0].rows), size:+tb.dataset.page, page:0,
            pager:document.querySelector('.pager[data-for="'+tb.id+'"]')};
  });
  function match(tr){
    var text=(q.value||'').trim().toLowerCase();
    return (!text||tr.dataset.text.indexOf(text)>=0)&&(!rb.value||tr.dataset.runbook===rb.value)&&(!oc.value||tr.dataset.outcome===oc.value);
  }
  function draw(T){
    var hits=T.rows.filter(match), pages=Math.max(1,Math.ceil(hits.length/T.size));
    T.page=Math.min(T.page,pages-1);
    var from=T.page*T.size, to=Math.min(hits.length,from+T.size);
    T.rows.forEach(function(tr){tr.hidden=true;});
    hits.slice(from,to).forEach(function(tr){tr.hidden=false;});
    if(T.pager){
      var p=T.pager, label=p.querySelector('.range');
      label.textContent=hits.length?p.dataset.range.replace('{first}',from+1).replace('{last}',to).replace('{n}',hits.length):p.dataset.none;
      p.querySelector('.prev').disabled=T.page===0; p.querySelector('.next').disabled=T.page>=pages-1;
    }
  }
  tables.forEach(function(T){
    if(!T.pager){return;}
    T.pager.hidden=false;
    T.pager.querySelector('.prev').addEventListener('click',function(){T.page--;draw(T);});
    T.pager.querySelector('.next').addEventListener('click',function(){T.page++;draw(T);});
  });
  function apply(){tables.forEach(function(T){T.page=0;draw(T);});}
  q.addEventListener('input',apply); rb.addEventListener('change',apply); oc.addEventListener('change',apply); apply();
})();
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _tt(key: str, lang: str, **values: Any) -> str:
    """One text of this page (`texts/index_page.toml`), escaped for HTML."""
    return _e(t(f"index_page.{key}", lang, **values)) if values else _fixed_text(key, lang)


@lru_cache(maxsize=256)
def _fixed_text(key: str, lang: str) -> str:
    """A text without values, said once per page and language (a page of 10,000 runs says "open" 2,000 times)."""
    return _e(t(f"index_page.{key}", lang))


# --------------------------------------------------------------------------------------
# What the runbooks call things: cause and runbook titles in the page's language
# --------------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _runbook_texts(runbook: str, lang: str) -> tuple[str, dict[str, str]]:
    """(the runbook's title, {cause code: title}); an id no runbook spec has gives ("", {})."""
    from .errors import SfdoctorError
    from .runbooks import load

    try:
        spec = load(runbook)
    except (SfdoctorError, OSError, ValueError):
        return "", {}
    texts = spec.texts(lang)
    return texts.runbook_title, {code: texts.cause_title(code) for code in spec.causes}


def cause_title(runbook: str, code: str, lang: str) -> str:
    """A cause's title in `lang` as its runbook words it; the code itself when no runbook knows it."""
    return _runbook_texts(runbook, lang)[1].get(code, code)


@lru_cache(maxsize=4096)
def _cause(runbook: str, code: str, lang: str, warning: bool = False) -> str:
    title = cause_title(runbook, code, lang)
    tip = f"{code}: {title}" if title != code else code
    if warning:
        tip = f"{tip} ({t('index_page.warning', lang)})"
    return f'<span class="cause{" warn" if warning else ""}" data-code="{_e(code)}" title="{_e(tip)}">{_e(title)}</span>'


def _clip(text: str, tip: str | None = None, cls: str = "clip") -> str:
    """A name that must not wrap: one line, cut with an ellipsis when long, whole on hover."""
    return f'<span class="{cls}" title="{_e(tip or text)}">{_e(text)}</span>'


# --------------------------------------------------------------------------------------
# The runs, read once
# --------------------------------------------------------------------------------------
@dataclass
class _Run:
    pos: int                      # index position, as `reports diff` takes it (-1: the latest)
    entry: Mapping[str, Any]
    time: datetime | None
    key: tuple[str, str]          # (org, runbook)
    outcome: str
    prev: "_Run | None" = None

    @property
    def org(self) -> str:
        return self.key[0]

    @property
    def runbook(self) -> str:
        return self.key[1]


@dataclass
class _Pair:
    """One org and runbook: its runs, oldest first."""

    runs: list[_Run] = field(default_factory=list)

    @property
    def latest(self) -> _Run:
        return self.runs[-1]

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.runs if r.outcome == outcome)


class _Versions:
    """The sfdoctor version of each run: its index line's `sfdoctor_version`, or, for a line
    written before index lines carried it, its findings.json's (read only when asked)."""

    def __init__(self, out: Path):
        self.out = out
        self._read: dict[str, str | None] = {}

    def of(self, run: _Run) -> str | None:
        entry = run.entry
        if "sfdoctor_version" in entry:
            value = entry.get("sfdoctor_version")
            return str(value) if value else None
        folder = entry.get("folder")
        if not isinstance(folder, str) or not folder:
            return None
        if folder not in self._read:
            try:
                data = json.loads((self.out / folder / "findings.json").read_text(encoding="utf-8"))
                value = data.get("sfdoctor_version") if isinstance(data, dict) else None
            except (OSError, ValueError):
                value = None
            self._read[folder] = str(value) if value else None
        return self._read[folder]

    def change(self, run: _Run) -> tuple[str | None, str | None] | None:
        """(before, after) when this run and the previous one of its org and runbook were made by
        different sfdoctor versions; None when they were not (or neither recorded one)."""
        if run.prev is None:
            return None
        a, b = self.of(run.prev), self.of(run)
        return (a, b) if a != b else None


def _read_runs(entries: list[dict[str, Any]]) -> tuple[list[_Run], dict[tuple[str, str], _Pair]]:
    n = len(entries)
    runs: list[_Run] = []
    pairs: dict[tuple[str, str], _Pair] = defaultdict(_Pair)
    for i, e in enumerate(entries):
        key = (str(e.get("org", "")), str(e.get("runbook", "")))
        run = _Run(pos=i - n, entry=e, time=parse_iso(e.get("time")), key=key, outcome=str(e.get("outcome", "")))
        pair = pairs[key]
        run.prev = pair.runs[-1] if pair.runs else None
        pair.runs.append(run)
        runs.append(run)
    return runs, pairs


# --------------------------------------------------------------------------------------
# Pieces of the page
# --------------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _outcome(outcome: str, lang: str) -> str:
    symbol, bg, fg, border, _ = OUTCOME_STYLE.get(outcome, ("?", "#eaeef2", "#32383f", "1px dotted #6e7781", ""))
    label = t(f"index_page.short_outcome.{outcome}", lang) if outcome in OUTCOME_STYLE else outcome
    return f'<span class="pill" style="background:{bg};color:{fg};border:{border}">{symbol} {_e(label)}</span>'


def _cause_cell(run: _Run, lang: str) -> str:
    """Root causes by title, then warnings marked as such (an index line keeps both lists)."""
    roots = [str(c) for c in run.entry.get("root_causes") or []]
    warns = [str(c) for c in run.entry.get("warnings") or [] if c not in roots]
    if not roots and not warns:
        return '<span class="muted">-</span>'
    return "".join([*(_cause(run.runbook, c, lang) for c in roots),
                    *(_cause(run.runbook, c, lang, warning=True) for c in warns)])


def _report_link(out: Path, folder: Any, lang: str) -> str:
    if not isinstance(folder, str) or not folder:
        return f'<span class="muted">{_tt("missing", lang)}</span>'
    href = f"{folder.strip('/')}/report.html"
    if not (out / href).is_file():
        return f'<span class="muted">{_tt("missing", lang)}</span>'
    return f'<a href="{_e(href)}">{_tt("open", lang)}</a>'


def _version_note(change: tuple[str | None, str | None] | None, lang: str) -> str:
    if change is None:
        return ""
    unknown = t("index_page.version_unknown", lang)
    a, b = change[0] or unknown, change[1] or unknown
    return (f'<span class="ver" title="{_tt("version_hint", lang, a=a, b=b)}">'
            f'\u2691 {_tt("version_changed", lang, a=a, b=b)}</span>')


def _changes(run: _Run, versions: _Versions, lang: str) -> str:
    """What changed since the previous run of the same runbook on the same org (as `reports diff`)."""
    if run.prev is None:
        return f'<span class="muted">{_tt("first", lang)}</span>'
    new, fixed, unchanged = cause_changes(causes(run.prev.entry), causes(run.entry))
    parts = []
    for label, cls, codes in (("+ " + t("index_page.new", lang), "new", new),
                              ("\u2212 " + t("index_page.fixed", lang), "fixed", fixed)):
        parts += [f'<div class="nw"><span class="{cls}">{_e(label)}:</span> {_cause(run.runbook, c, lang)}</div>' for c in codes]
    if not (new or fixed):
        parts.append(f'<span class="muted nw">{_tt("same", lang)}</span>')
    parts.append(_version_note(versions.change(run), lang))
    hint = t("index_page.diff_hint", lang, a=run.prev.pos, b=run.pos)
    return f'<div class="ch" title="{_e(hint)}">' + "".join(parts) + "</div>"


def _search_text(run: _Run, lang: str) -> str:
    """What the text filter matches: org, runbook, the causes' codes and titles (lower case)."""
    return f"{run.org} {_cause_words(run.runbook, tuple(causes(run.entry)), lang)}".lower()


@lru_cache(maxsize=4096)
def _cause_words(runbook: str, codes: tuple[str, ...], lang: str) -> str:
    return " ".join([runbook, *codes, *(cause_title(runbook, c, lang) for c in codes)])


def _row_attrs(run: _Run, lang: str) -> str:
    return (f'data-org="{_e(run.org)}" data-runbook="{_e(run.runbook)}" data-outcome="{_e(run.outcome)}" '
            f'data-text="{_e(_search_text(run, lang))}"')


def chart_svg(runs: list[_Run], versions: _Versions, lang: str) -> str:
    """Runs per day for all orgs together, stacked by outcome (failed at the bottom, in red), as
    one inline SVG: a fleet of hundreds of orgs is one chart, not one per org. A dashed line
    marks the first day a new sfdoctor version ran (a change there may be sfdoctor's)."""
    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    failing_orgs: dict[date, set[str]] = defaultdict(set)
    for r in runs:
        if r.time is None:
            continue
        d = r.time.date()
        per_day[d][r.outcome] += 1
        if r.outcome == "problems_found":
            failing_orgs[d].add(r.org)
    if not per_day:
        return ""
    last = max(per_day)
    first = max(min(per_day), last - timedelta(days=CHART_DAYS - 1))
    span = (last - first).days + 1
    new_version_days: dict[date, str] = {}
    seen: set[str] = set()
    for r in runs:   # oldest first: the first day each version appears
        if r.time is None:
            continue
        v = versions.of(r) if "sfdoctor_version" in r.entry else None
        if v and v not in seen:
            if seen and r.time.date() >= first:
                new_version_days.setdefault(r.time.date(), v)
            seen.add(v)
    bar = max(6, min(24, 900 // span))
    left, height, top_pad, bottom = 44, 84, 6, 18
    width = left + max(span * bar, 96) + 4   # room for the day labels even when there is one day
    top = max(sum(c.values()) for d, c in per_day.items() if d >= first)
    scale = height / top
    order = ["problems_found", "error", "inconclusive", "healthy"]
    parts = [f'<line x1="{left}" y1="{top_pad + height + .5}" x2="{width}" y2="{top_pad + height + .5}" stroke="#8c959f"/>',
             f'<text x="{left - 4}" y="{top_pad + 9}" text-anchor="end" font-size="11" fill="currentColor">{top}</text>',
             f'<text x="{left - 4}" y="{top_pad + height}" text-anchor="end" font-size="11" fill="currentColor">0</text>']
    for i in range(span):
        d = first + timedelta(days=i)
        counts = per_day.get(d)
        if not counts:
            continue
        x, y = left + i * bar, top_pad + height
        total = sum(counts.values())
        tip = t("index_page.chart_day", lang, day=day_text(d, lang), failed=counts["problems_found"], runs=total,
                orgs=len(failing_orgs[d]), other=counts["error"] + counts["inconclusive"])
        rects = []
        for outcome in order + sorted(set(counts) - set(order)):
            if not counts[outcome]:
                continue
            h = counts[outcome] * scale
            y -= h
            colour = OUTCOME_STYLE.get(outcome, ("", "", "", "", "#6e7781"))[4]
            rects.append(f'<rect class="o-{_e(outcome)}" x="{x}" y="{y:.1f}" width="{bar - 1}" height="{h:.1f}" fill="{colour}"/>')
        parts.append(f'<g class="day" data-day="{d.isoformat()}"><title>{_e(tip)}</title>{"".join(rects)}</g>')
    for d, v in sorted(new_version_days.items()):
        x = left + (d - first).days * bar - .5
        tip = t("index_page.chart_version", lang, version=v, day=day_text(d, lang))
        parts.append(f'<g class="version"><title>{_e(tip)}</title><line x1="{x}" y1="{top_pad - 4}" x2="{x}" '
                     f'y2="{top_pad + height}" stroke="#8250df" stroke-width="2" stroke-dasharray="3 2"/></g>')
    label_y = top_pad + height + 14
    parts.append(f'<text x="{left}" y="{label_y}" font-size="11" fill="currentColor">{_e(day_text(first, lang, year=False))}</text>')
    if span > 1:
        parts.append(f'<text x="{left + span * bar}" y="{label_y}" text-anchor="end" font-size="11" fill="currentColor">'
                     f'{_e(day_text(last, lang, year=False))}</text>')
    in_window = [c for d, c in per_day.items() if d >= first]
    caption = t("index_page.chart_caption", lang, failed=f'{sum(c["problems_found"] for c in in_window):,}',
                runs=f"{sum(sum(c.values()) for c in in_window):,}", first=day_text(first, lang), last=day_text(last, lang))
    legend = "".join(f'<span><i style="background:{OUTCOME_STYLE[o][4]}"></i>{_tt(f"short_outcome.{o}", lang)}</span>'
                     for o in order)
    if new_version_days:
        legend += f'<span><i style="background:#8250df;width:.2em"></i>{_tt("legend_version", lang)}</span>'
    total_h = top_pad + height + bottom
    return (f'<figure id="chart"><svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{total_h}" '
            f'viewBox="0 0 {width} {total_h}" aria-label="{_e(caption)}">{"".join(parts)}</svg>'
            f'<figcaption><span class="muted">{_e(caption)}</span> <span class="legend">{legend}</span></figcaption></figure>')


def _pager(table_id: str, lang: str) -> str:
    return (f'<div class="pager" data-for="{table_id}" hidden data-range="{_tt("page_range", lang, first="{first}", last="{last}", n="{n}")}" '
            f'data-none="{_tt("page_none", lang)}"><button type="button" class="prev">\u2039 {_tt("page_prev", lang)}</button>'
            f'<span class="range"></span><button type="button" class="next">{_tt("page_next", lang)} \u203a</button></div>')


def _summary_rows(pairs: dict[tuple[str, str], _Pair], out: Path, versions: _Versions, lang: str) -> list[str]:
    """One row per org and runbook, the worst latest outcome first, then the most failed runs."""
    rank = {o: i for i, o in enumerate(OUTCOMES)}
    ordered = sorted(pairs.values(), key=lambda p: (rank.get(p.latest.outcome, len(OUTCOMES)),
                                                    -p.count("problems_found"), p.latest.org, p.latest.runbook))
    rows = []
    for pair in ordered:
        run = pair.latest
        rb_title = _runbook_texts(run.runbook, lang)[0]
        when = when_text(run.time, lang) if run.time else str(run.entry.get("time", ""))
        failed = pair.count("problems_found")
        other = pair.count("error") + pair.count("inconclusive")
        counts = _tt("counts", lang, failed=failed, runs=len(pair.runs))
        counts_tip = t("index_page.counts_hint", lang, failed=failed, runs=len(pair.runs), other=other)
        rows.append(
            f'<tr {_row_attrs(run, lang)}>'
            f'<td>{_clip(run.org)}</td><td>{_clip(run.runbook, f"{run.runbook}: {rb_title}" if rb_title else None, "clip rb")}</td>'
            f'<td class="n" title="{_e(counts_tip)}">{counts}</td>'
            f'<td class="nw">{_outcome(run.outcome, lang)}</td>'
            f'<td class="nw">{_report_link(out, run.entry.get("folder"), lang)}</td><td class="nw">{_e(when)}</td>'
            f'<td>{_cause_cell(run, lang)}</td>'
            f'<td>{_changes(run, versions, lang)}</td></tr>')
    return rows


def _run_rows(runs: list[_Run], out: Path, versions: _Versions, lang: str) -> list[str]:
    rows = []
    for run in reversed(runs[-MAX_ROWS:]):
        when = when_text(run.time, lang) if run.time else str(run.entry.get("time", ""))
        rows.append(
            f'<tr {_row_attrs(run, lang)}>'
            f'<td class="n muted">{run.pos}</td><td class="nw">{_report_link(out, run.entry.get("folder"), lang)}</td>'
            f'<td class="nw">{_e(when)}</td>'
            f'<td>{_clip(run.runbook, None, "clip rb")}</td><td>{_clip(run.org)}</td><td class="nw">{_outcome(run.outcome, lang)}</td>'
            f'<td>{_cause_cell(run, lang)}</td>'
            f'<td>{_changes(run, versions, lang)}</td></tr>')
    return rows


def render(entries: list[dict[str, Any]], lang: str, out: Path, now: datetime | None = None) -> str:
    """The whole page for the index `entries` (oldest first, as `report_index.list_reports` gives them)."""
    from .findings import iso, utcnow

    runs, pairs = _read_runs(entries)
    versions = _Versions(out)
    n = len(runs)
    orgs = sorted({r.org for r in runs})
    runbooks = sorted({r.runbook for r in runs})
    times = [r.time for r in runs if r.time is not None]

    def th(*keys: str) -> str:
        return "".join(f"<th>{_tt(k, lang)}</th>" for k in keys)

    if not runs:
        body = f'<h1>{_tt("title", lang)}</h1><p>{_tt("none", lang)}</p>'
    else:
        span = (_tt("span", lang, first=day_text(min(times), lang), last=day_text(max(times), lang)) if times else "")
        intro = _tt("intro", lang, n=f"{n:,}", orgs=len(orgs), runbooks=len(runbooks), out=out.name, span=span)
        runbook_opts = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in runbooks)
        outcome_opts = "".join(f'<option value="{o}">{_tt(f"short_outcome.{o}", lang)}</option>' for o in OUTCOMES)
        org_list = "".join(f'<option value="{_e(o)}">' for o in orgs)
        filters = (f'<div id="filters"><label>{_tt("filter", lang)} <input id="f-text" type="search" list="f-orgs" '
                   f'placeholder="{_tt("filter_hint", lang)}"></label><datalist id="f-orgs">{org_list}</datalist>'
                   f'<label>{_tt("runbook", lang)} <select id="f-runbook"><option value="">{_tt("all", lang)}</option>'
                   f'{runbook_opts}</select></label>'
                   f'<label>{_tt("outcome", lang)} <select id="f-outcome"><option value="">{_tt("all", lang)}</option>'
                   f'{outcome_opts}</select></label></div>')
        summary = _summary_rows(pairs, out, versions, lang)
        listed = _run_rows(runs, out, versions, lang)
        older = f'<p class="muted">{_tt("older", lang, shown=f"{MAX_ROWS:,}", n=f"{n:,}")}</p>' if n > MAX_ROWS else ""
        body = (
            f'<h1>{_tt("title", lang)}</h1><p class="muted">{intro}</p>{filters}'
            f'<h2>{_tt("chart", lang)}</h2>{chart_svg(runs, versions, lang)}'
            f'<h2>{_tt("pairs", lang)}</h2><p class="muted">{_tt("pairs_intro", lang, n=len(pairs))}</p>'
            f'{_pager("pairs", lang)}<div class="wide"><table id="pairs" data-page="{PAGE_ROWS}"><thead><tr>'
            f'{th("org", "runbook", "failed_runs", "latest", "report", "date", "causes", "changes")}</tr></thead>'
            f'<tbody>{"".join(summary)}</tbody></table></div>'
            f'<h2>{_tt("runs", lang)}</h2>{older}'
            f'{_pager("runs", lang)}<div class="wide"><table id="runs" data-page="{PAGE_ROWS}"><thead><tr>'
            f'{th("pos", "report", "date", "runbook", "org", "outcome", "causes", "changes")}</tr></thead>'
            f'<tbody>{"".join(listed)}</tbody></table></div>'
        )
    generated = now or utcnow()
    body += f'<p class="muted">{_tt("generated", lang, now=when_text(generated, lang), iso=iso(generated))}</p>'
    return (f'<!DOCTYPE html>\n<html lang="{_e(lang)}"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{_tt("title", lang)}</title><style>{CSS}</style></head>'
            f'<body>{body}' + (f'<script>{JS}</script>' if runs else "") + '</body></html>\n')


# --------------------------------------------------------------------------------------
# The page's language, and writing it
# --------------------------------------------------------------------------------------
_LANG_ATTR = re.compile(r'<html lang="(en|ja)"')


def page_lang(out_dir: str | os.PathLike[str]) -> str | None:
    """The language the page has now, None when there is no page yet."""
    try:
        with open(Path(out_dir) / INDEX_HTML, encoding="utf-8") as fh:
            match = _LANG_ATTR.search(fh.read(200))
    except OSError:
        return None
    return match.group(1) if match else None


def _lang_of(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower()
    return next((lang for lang in LANGS if value.startswith(lang)), None)


def page_language(out_dir: str | os.PathLike[str], lang: str | None = None, *, by_command: bool = False) -> str:
    """The history page's language: `lang` when a command names it (`reports index --lang`);
    for `reports index` without `--lang` (`by_command`), `$SFDOCTOR_LANG` before the page's
    current one (that command is how a person changes it); for every other rewrite (a run, a
    fleet run, a prune) the page's current one first, so neither a run's language nor the
    environment it ran in changes a language someone chose. A first page: `$SFDOCTOR_LANG`,
    else the locale's, else English."""
    setting, current = _lang_of(os.environ.get("SFDOCTOR_LANG")), page_lang(out_dir)
    order = (setting, current) if by_command else (current, setting)
    for choice in (_lang_of(lang), *order):
        if choice:
            return choice
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(var):
            return _lang_of(os.environ[var]) or "en"
    return "en"


def write_locked(out_dir: str | os.PathLike[str], lang: str | None = None, *, by_command: bool = False) -> Path:
    """Rebuild the page from the index; the caller holds the index lock."""
    out = Path(out_dir).resolve()
    path = out / INDEX_HTML
    write_atomic(path, render(list_reports(out), page_language(out, lang, by_command=by_command), out))
    return path


def write(out_dir: str | os.PathLike[str], lang: str | None = None, *, by_command: bool = False) -> Path:
    """Rebuild `OUT/index.html` under the index lock: `sfdoctor reports index` (`by_command`),
    a fleet run's end and every run (through `refresh`)."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with index_lock(out):
        return write_locked(out, lang, by_command=by_command)


def refresh(out_dir: str | os.PathLike[str]) -> Path | None:
    """After a run or a fleet run: rebuild the page in its own language (`page_language`); a
    failure is one line on stderr, never the run's outcome."""
    try:
        return write(out_dir)
    except Exception as exc:  # the report itself is written: the history page must not break the run
        print(f"sfdoctor: {Path(out_dir) / INDEX_HTML}: not rewritten ({type(exc).__name__}: "
              f"{' '.join(str(exc).split())[:200]}); `sfdoctor reports index` rebuilds it", file=sys.stderr, flush=True)
        return None
