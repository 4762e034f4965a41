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
The filters (text, runbook, outcome) act on the chart and both tables together; the tables show
a page at a time. Where two consecutive runs of one org and runbook were made by different
sfdoctor versions the page says so, so a change of wording or rules is not read as the org
changing. Dates, org names and runbook ids never wrap: a long one is cut with an ellipsis and
shown whole on hover.

Why the rows are data and not markup: 1,000 org-runbook rows and the newest 1,000 runs written
as <tr> repeat the same classes, titles and links a few thousand times (1.8 MB at 10,000 runs),
and a chart drawn once in Python cannot follow the filters. So the page carries its data once
(`page_data`: every org, runbook, cause title and outcome said once, a run a short list of
numbers, in a JSON block the browser never executes) and a small inline script draws the chart
and the visible page of each table, again on every filter change (bench/history_page.py
measures bytes and chromium's times). Without JavaScript the page says so and points to
`sfdoctor reports list`.

Language: the page's own, never the last run's (runs in both languages share one history):
`sfdoctor reports index --lang` sets it (without `--lang` that command takes `$SFDOCTOR_LANG`,
as its help says); a run, a fleet run or a prune keeps the one the page has, and only a first
page takes the language of the command creating it when that command was given `--lang`
(`first`), else `$SFDOCTOR_LANG`, else the locale, else English (`page_language`). Every text,
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
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from .dates import day_text, when_text
from .findings import parse_iso
from .i18n import LANGS, t
from .report_index import index_lock, list_reports, write_atomic

INDEX_HTML = "index.html"
CHART_DAYS = 90   # the chart's window: the last 90 days, ending at the newest run
# A fleet adds ~1,000 runs a night: the page lists the newest runs (the summary per org and
# runbook counts them all), so it stays a page people can open (all runs: `reports list`).
MAX_ROWS = 1000
PAGE_ROWS = 50    # rows per page of each table (the inline JS pages them)

OUTCOMES = ("problems_found", "error", "inconclusive", "healthy")   # worst first
# outcome: (symbol, chart colour); the pills' colours are in CSS (`.pill.o-OUTCOME`)
OUTCOME_STYLE = {
    "healthy": ("\u2713", "#8c959f"),
    "problems_found": ("\u2717", "#cf222e"),
    "inconclusive": ("?", "#d4a72c"),
    "error": ("\u2298", "#bc4c00"),
}
UNKNOWN_COLOUR = "#6e7781"

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
 background:#eaeef2;color:#32383f;border:1px dotted #6e7781;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.pill.o-healthy{background:#dafbe1;color:#0f5323;border:1px solid #1a7f37}
.pill.o-problems_found{background:#ffebe9;color:#82071e;border:2px solid #cf222e}
.pill.o-inconclusive{background:#fff8c5;color:#633c01;border:2px dashed #bf8700}
.pill.o-error{background:#fff1e5;color:#762c00;border:3px double #bc4c00}
.new{color:#cf222e;font-weight:600} .fixed{color:#1a7f37;font-weight:600}
.ch .cause{display:inline-block;max-width:14em;vertical-align:bottom}
.ver{display:block;white-space:nowrap;font-size:.88em;color:#8250df}
.warn{opacity:.8;text-decoration:underline dashed}
figure{margin:0} figcaption{font-size:.85em} svg{display:block;max-width:100%;height:auto}
.legend span{margin-right:1em;white-space:nowrap} .legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:-.05em}
.pager{display:flex;gap:.8em;align-items:center;margin:.3em 0;font-size:.9em}
.pager button{font:inherit;padding:0 .6em}
.wide{overflow-x:auto}
@media print{#filters,.pager{display:none}}
"""

# Draws both tables (a page at a time) and the chart from the page's data (`page_data`), and
# redraws all three whenever a filter changes: a row or a chart bar counts when it matches every
# filter. Values reach the page as text and are escaped here (`esc`) before they become markup.
JS = r"""
(function(){
  var D=JSON.parse(document.getElementById('page-data').textContent), T=D.t;
  var q=document.getElementById('f-text'), rb=document.getElementById('f-runbook'), oc=document.getElementById('f-outcome');
  function esc(s){return String(s).replace(/[&<>"']/g,function(c){return '&#'+c.charCodeAt(0)+';';});}
  function fmt(s,v){return s.replace(/\{(\w+)\}/g,function(m,k){return k in v?v[k]:m;});}
  function num(n){return n.toLocaleString('en-US');}
  function causesOf(s){return D.sets[s][1].concat(D.sets[s][2]);}
  var words=D.sets.map(function(s){
    var cs=s[1].concat(s[2]);
    return [D.rbs[s[0]][0]].concat(cs.map(function(c){return D.causes[c][0];}), cs.map(function(c){return D.causes[c][1];})).join(' ');
  });
  var filter={text:'',rb:-1,out:-1}, hayCache={};
  function match(org,r,o,s){
    if(filter.rb>=0&&r!==filter.rb) return false;
    if(filter.out>=0&&o!==filter.out) return false;
    if(!filter.text) return true;
    var key=org+' '+s, hay=hayCache[key];
    if(hay===undefined){hay=hayCache[key]=(D.orgs[org]+' '+words[s]).toLowerCase();}
    return hay.indexOf(filter.text)>=0;
  }
  function cause(c,warning){
    var code=D.causes[c][0], title=D.causes[c][1], tip=title!==code?code+': '+title:code;
    if(warning){tip+=' ('+T.warning+')';}
    return '<span class="cause'+(warning?' warn':'')+'" data-code="'+esc(code)+'" title="'+esc(tip)+'">'+esc(title)+'</span>';
  }
  function causeCell(s){
    var set=D.sets[s];
    if(!set[1].length&&!set[2].length){return '<span class="muted">-</span>';}
    return set[1].map(function(c){return cause(c,false);}).join('')+set[2].map(function(c){return cause(c,true);}).join('');
  }
  function clip(text,tip,cls){return '<span class="'+(cls||'clip')+'" title="'+esc(tip||text)+'">'+esc(text)+'</span>';}
  function pill(o){var x=D.outs[o];return '<span class="pill o-'+esc(x[0])+'">'+esc(x[1])+' '+esc(x[2])+'</span>';}
  function link(f){
    return f?'<a href="'+esc(D.dirs[f[0]]+f[1])+'/report.html">'+esc(T.open)+'</a>':'<span class="muted">'+esc(T.missing)+'</span>';
  }
  function changes(r){
    if(r[6]===null){return '<span class="muted">'+esc(T.first)+'</span>';}
    var a=causesOf(r[7]), b=causesOf(r[4]), parts=[];
    var added=b.filter(function(c){return a.indexOf(c)<0;}), gone=a.filter(function(c){return b.indexOf(c)<0;});
    added.forEach(function(c){parts.push('<div class="nw"><span class="new">+ '+esc(T['new'])+':</span> '+cause(c,false)+'</div>');});
    gone.forEach(function(c){parts.push('<div class="nw"><span class="fixed">\u2212 '+esc(T.fixed)+':</span> '+cause(c,false)+'</div>');});
    if(!parts.length){parts.push('<span class="muted nw">'+esc(T.same)+'</span>');}
    if(r[8]>=0){
      var v={a:D.vch[r[8]][0],b:D.vch[r[8]][1]};
      parts.push('<span class="ver" title="'+esc(fmt(T.version_hint,v))+'">\u2691 '+esc(fmt(T.version_changed,v))+'</span>');
    }
    return '<div class="ch" title="'+esc(fmt(T.diff_hint,{a:r[6],b:r[0]}))+'">'+parts.join('')+'</div>';
  }
  function attrs(org,r,o){
    return ' data-org="'+esc(D.orgs[org])+'" data-runbook="'+esc(D.rbs[r][0])+'" data-outcome="'+esc(D.outs[o][0])+'"';
  }
  function pairRow(p){
    var r=D.runs[p[5]], rbId=D.rbs[p[1]][0], rbTitle=D.rbs[p[1]][1], v={failed:p[3],runs:p[2],other:p[4]};
    return '<tr'+attrs(p[0],p[1],r[3])+'><td>'+clip(D.orgs[p[0]])+'</td><td>'+clip(rbId,rbTitle?rbId+': '+rbTitle:rbId,'clip rb')+'</td>'
      +'<td class="n" title="'+esc(fmt(T.counts_hint,v))+'">'+esc(fmt(T.counts,v))+'</td><td class="nw">'+pill(r[3])+'</td>'
      +'<td class="nw">'+link(r[5])+'</td><td class="nw">'+esc(r[2])+'</td><td>'+causeCell(r[4])+'</td><td>'+changes(r)+'</td></tr>';
  }
  function runRow(r){
    var p=D.pairs[r[1]];
    return '<tr'+attrs(p[0],p[1],r[3])+'><td class="n muted">'+r[0]+'</td><td class="nw">'+link(r[5])+'</td><td class="nw">'+esc(r[2])+'</td>'
      +'<td>'+clip(D.rbs[p[1]][0],null,'clip rb')+'</td><td>'+clip(D.orgs[p[0]])+'</td><td class="nw">'+pill(r[3])+'</td>'
      +'<td>'+causeCell(r[4])+'</td><td>'+changes(r)+'</td></tr>';
  }
  var listed=D.runs.filter(function(r){return r[0]>=-D.listed;});
  var tables=[
    {id:'pairs',items:D.pairs,ok:function(p){var r=D.runs[p[5]];return match(p[0],p[1],r[3],r[4]);},row:pairRow},
    {id:'runs',items:listed,ok:function(r){var p=D.pairs[r[1]];return match(p[0],p[1],r[3],r[4]);},row:runRow}
  ].map(function(tb){
    tb.body=document.getElementById(tb.id).tBodies[0]; tb.pager=document.querySelector('.pager[data-for="'+tb.id+'"]'); tb.page=0;
    return tb;
  });
  function draw(tb){
    var hits=tb.hits, pages=Math.max(1,Math.ceil(hits.length/D.pageRows));
    tb.page=Math.max(0,Math.min(tb.page,pages-1));
    var from=tb.page*D.pageRows, to=Math.min(hits.length,from+D.pageRows);
    tb.body.innerHTML=hits.slice(from,to).map(tb.row).join('');
    var p=tb.pager;
    p.querySelector('.range').textContent=hits.length?fmt(T.page_range,{first:from+1,last:to,n:hits.length}):T.page_none;
    p.querySelector('.prev').disabled=tb.page===0; p.querySelector('.next').disabled=tb.page>=pages-1;
  }
  tables.forEach(function(tb){
    tb.pager.hidden=false;
    tb.pager.querySelector('.prev').addEventListener('click',function(){tb.page--;draw(tb);});
    tb.pager.querySelector('.next').addEventListener('click',function(){tb.page++;draw(tb);});
  });
  function chart(){
    var C=D.chart, fig=document.getElementById('chart');
    if(!C){return;}
    var outs=D.outs.length, per=[], orgsFailing=[], i, d;
    for(d=0;d<C.span;d++){per.push(null);orgsFailing.push(null);}
    var failedIdx=0, totalRuns=0, totalFailed=0;
    D.pairs.forEach(function(p){
      var c=p[6];
      for(i=0;i<c.length;i+=4){
        if(!match(p[0],p[1],c[i+1],c[i+2])){continue;}
        for(d=c[i];d<c[i]+c[i+3];d++){
          if(!per[d]){per[d]=[];for(var k=0;k<outs;k++){per[d].push(0);} orgsFailing[d]={};}
          per[d][c[i+1]]++; totalRuns++;
          if(c[i+1]===failedIdx){orgsFailing[d][p[0]]=1; totalFailed++;}
        }
      }
    });
    // bars 6-24 px wide, wider when there are only a few days so the first and last day's labels do not meet
    var bar=Math.max(6,Math.min(24,Math.floor(900/C.span)),C.span>1?Math.ceil(110/C.span):0), left=44, height=84, top=6, bottom=18;
    var width=left+Math.max(C.span*bar,96)+4, most=0, parts=[];
    per.forEach(function(c){if(c){most=Math.max(most,c.reduce(function(a,b){return a+b;},0));}});
    var scale=most?height/most:0;
    parts.push('<line x1="'+left+'" y1="'+(top+height+.5)+'" x2="'+width+'" y2="'+(top+height+.5)+'" stroke="#8c959f"/>');
    parts.push('<text x="'+(left-4)+'" y="'+(top+9)+'" text-anchor="end" font-size="11" fill="currentColor">'+most+'</text>');
    parts.push('<text x="'+(left-4)+'" y="'+(top+height)+'" text-anchor="end" font-size="11" fill="currentColor">0</text>');
    for(d=0;d<C.span;d++){
      var counts=per[d];
      if(!counts){continue;}
      var x=left+d*bar, y=top+height, total=counts.reduce(function(a,b){return a+b;},0), rects=[];
      for(var o=0;o<outs;o++){
        if(!counts[o]){continue;}
        var h=counts[o]*scale; y-=h;
        rects.push('<rect class="o-'+esc(D.outs[o][0])+'" x="'+x+'" y="'+y.toFixed(1)+'" width="'+(bar-1)+'" height="'+h.toFixed(1)+'" fill="'+D.outs[o][3]+'"/>');
      }
      var other=D.outs.reduce(function(a,x,o){return a+(x[0]==='error'||x[0]==='inconclusive'?counts[o]:0);},0);
      var tip=fmt(T.chart_day,{day:C.days[d],failed:counts[failedIdx],runs:total,orgs:Object.keys(orgsFailing[d]).length,other:other});
      parts.push('<g class="day" data-day="'+C.iso[d]+'"><title>'+esc(tip)+'</title>'+rects.join('')+'</g>');
    }
    C.versions.forEach(function(v){
      var x=left+v[0]*bar-.5;
      parts.push('<g class="version"><title>'+esc(v[1])+'</title><line x1="'+x+'" y1="'+(top-4)+'" x2="'+x+'" y2="'+(top+height)+'" stroke="#8250df" stroke-width="2" stroke-dasharray="3 2"/></g>');
    });
    var ly=top+height+14;
    parts.push('<text x="'+left+'" y="'+ly+'" font-size="11" fill="currentColor">'+esc(C.firstLabel)+'</text>');
    if(C.span>1){parts.push('<text x="'+(left+C.span*bar)+'" y="'+ly+'" text-anchor="end" font-size="11" fill="currentColor">'+esc(C.lastLabel)+'</text>');}
    var filtered=filter.text||filter.rb>=0||filter.out>=0;
    var caption=fmt(T.chart_caption,{failed:num(totalFailed),runs:num(totalRuns),first:C.first,last:C.last})+(filtered?' '+T.chart_filtered:'');
    var h2=top+height+bottom;
    fig.querySelector('.plot').innerHTML='<svg xmlns="http://www.w3.org/2000/svg" role="img" width="'+width+'" height="'+h2+'" viewBox="0 0 '+width+' '+h2+'" aria-label="'+esc(caption)+'">'+parts.join('')+'</svg>';
    fig.querySelector('.caption').textContent=caption;
  }
  function apply(){
    filter={text:(q.value||'').trim().toLowerCase(),rb:rb.value?D.rbs.map(function(x){return x[0];}).indexOf(rb.value):-1,
            out:oc.value?D.outs.map(function(x){return x[0];}).indexOf(oc.value):-1};
    if(rb.value&&filter.rb<0){filter.rb=D.rbs.length;}
    if(oc.value&&filter.out<0){filter.out=D.outs.length;}
    tables.forEach(function(tb){tb.hits=tb.items.filter(tb.ok);tb.page=0;draw(tb);});
    chart();
  }
  q.addEventListener('input',apply); rb.addEventListener('change',apply); oc.addEventListener('change',apply); apply();
  document.documentElement.dataset.drawn='1';
})();
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
DATA_ID = "page-data"
# The texts the page's script says (escaped by the script, not here), with their placeholders kept.
SCRIPT_TEXTS = ("open", "missing", "first", "same", "new", "fixed", "warning", "page_none")
SCRIPT_TEMPLATES = {
    "counts": ("failed", "runs"), "counts_hint": ("failed", "runs", "other"), "diff_hint": ("a", "b"),
    "version_changed": ("a", "b"), "version_hint": ("a", "b"), "page_range": ("first", "last", "n"),
    "chart_day": ("day", "failed", "runs", "orgs", "other"), "chart_caption": ("failed", "runs", "first", "last"),
}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _tt(key: str, lang: str, **values: Any) -> str:
    """One text of this page (`texts/index_page.toml`), escaped for HTML."""
    return _e(t(f"index_page.{key}", lang, **values))


def _template(key: str, names: tuple[str, ...], lang: str) -> str:
    """A text with its placeholders left in (`{failed}`), for the script to fill."""
    return t(f"index_page.{key}", lang, **{n: "{" + n + "}" for n in names})


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
# The page's data: every name, title and cause said once, rows as short lists of numbers
# --------------------------------------------------------------------------------------
class _Table:
    """A list of distinct values, each given its position the first time it is seen."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._pos: dict[Any, int] = {}

    def __call__(self, key: Any, value: Any = None) -> int:
        if key not in self._pos:
            self._pos[key] = len(self.items)
            self.items.append(key if value is None else value)
        return self._pos[key]


def _chart_window(runs: list[_Run]) -> tuple[date, date] | None:
    """The chart's first and last day: `CHART_DAYS` ending at the newest run's."""
    days = [r.time.date() for r in runs if r.time is not None]
    if not days:
        return None
    last = max(days)
    return max(min(days), last - timedelta(days=CHART_DAYS - 1)), last


def _version_marks(runs: list[_Run], versions: _Versions, first: date, lang: str) -> list[list[Any]]:
    """[day offset, tip] for the first day each new sfdoctor version ran inside the window."""
    marks: dict[date, str] = {}
    seen: set[str] = set()
    for r in runs:   # oldest first: the first day each version appears
        if r.time is None:
            continue
        v = versions.of(r) if "sfdoctor_version" in r.entry else None
        if v and v not in seen:
            if seen and r.time.date() >= first:
                marks.setdefault(r.time.date(), v)
            seen.add(v)
    return [[(d - first).days, t("index_page.chart_version", lang, version=v, day=day_text(d, lang))]
            for d, v in sorted(marks.items())]


def page_data(entries: list[dict[str, Any]], lang: str, out: Path) -> dict[str, Any]:
    """What the page's script draws, for the index `entries` (oldest first).

    Names and titles are said once (`orgs`, `rbs`, `causes`, `outs`); a cause set `sets[i]` is
    [runbook, root causes, warnings not also roots]; a run `runs[i]` is [position, pair, when,
    outcome, cause set, report folder as [its parent `dirs[i]`, its name] or null (no
    report.html: the parents, `DATE/RUNBOOK/`, are few), previous run's position or null,
    previous run's cause set, version change or -1]: the newest `MAX_ROWS` runs (`listed`) and
    each pair's latest, newest first; a pair `pairs[i]` is [org, runbook, runs, failed, could not
    finish, its latest run, its runs in the chart's window as flat (day, outcome, cause set, n)
    stretches: n runs with that outcome and those causes, one a day from that day on], the worst
    latest outcome first. The chart counts from the stretches, so it follows the filters as the
    tables do; a fleet's nightly runs of a pair that stays the same are one stretch, so the
    chart's data grows with the changes, not with the nights."""
    runs, pairs = _read_runs(entries)
    versions = _Versions(out)
    orgs = sorted({r.org for r in runs})
    org_pos = {o: i for i, o in enumerate(orgs)}
    runbooks = sorted({r.runbook for r in runs})
    rb_pos = {rb: i for i, rb in enumerate(runbooks)}
    outs = [*OUTCOMES, *sorted({r.outcome for r in runs} - set(OUTCOMES))]
    out_pos = {o: i for i, o in enumerate(outs)}
    causes_t, sets_t, vch_t, dirs_t = _Table(), _Table(), _Table(), _Table()
    unknown = t("index_page.version_unknown", lang)

    def cause_set(run: _Run) -> int:
        roots = tuple(dict.fromkeys(str(c) for c in run.entry.get("root_causes") or []))
        warns = tuple(dict.fromkeys(str(c) for c in run.entry.get("warnings") or [] if str(c) not in roots))
        key = (run.runbook, roots, warns)
        if key not in sets_t._pos:
            ids = [[causes_t((run.runbook, c), [c, cause_title(run.runbook, c, lang)]) for c in part] for part in (roots, warns)]
            return sets_t(key, [rb_pos[run.runbook], *ids])
        return sets_t(key)

    rank = {o: i for i, o in enumerate(OUTCOMES)}
    ordered = sorted(pairs.values(), key=lambda p: (rank.get(p.latest.outcome, len(OUTCOMES)),
                                                    -p.count("problems_found"), p.latest.org, p.latest.runbook))
    pair_pos = {p.latest.key: i for i, p in enumerate(ordered)}
    shown = {id(r): r for r in runs[-MAX_ROWS:]}
    shown.update({id(p.latest): p.latest for p in ordered})
    listed_runs = sorted(shown.values(), key=lambda r: -r.pos)
    run_pos = {id(r): i for i, r in enumerate(listed_runs)}

    def folder_of(run: _Run) -> list[Any] | None:
        folder = run.entry.get("folder")
        folder = folder.strip("/") if isinstance(folder, str) else ""
        if not folder or not (out / folder / "report.html").is_file():
            return None
        parent, _, name = folder.rpartition("/")
        return [dirs_t(parent + "/" if parent else ""), name]

    def change_of(run: _Run) -> int:
        change = versions.change(run)
        return -1 if change is None else vch_t(change, [change[0] or unknown, change[1] or unknown])

    data_runs = [[r.pos, pair_pos[r.key], when_text(r.time, lang) if r.time else str(r.entry.get("time", "")),
                  out_pos[r.outcome], cause_set(r), folder_of(r), r.prev.pos if r.prev else None,
                  cause_set(r.prev) if r.prev else None, change_of(r)] for r in listed_runs]
    window = _chart_window(runs)
    data_pairs = []
    for p in ordered:
        stretches: list[list[int]] = []
        if window:
            for r in p.runs:
                if r.time is None or r.time.date() < window[0]:
                    continue
                day, o, s = (r.time.date() - window[0]).days, out_pos[r.outcome], cause_set(r)
                last = stretches[-1] if stretches else None
                if last and last[1] == o and last[2] == s and day == last[0] + last[3]:
                    last[3] += 1
                else:
                    stretches.append([day, o, s, 1])
        data_pairs.append([org_pos[p.latest.org], rb_pos[p.latest.runbook], len(p.runs), p.count("problems_found"),
                           p.count("error") + p.count("inconclusive"), run_pos[id(p.latest)],
                           [x for stretch in stretches for x in stretch]])
    chart = None
    if window:
        first, last = window
        span = (last - first).days + 1
        days = [first + timedelta(days=i) for i in range(span)]
        chart = {"span": span, "days": [day_text(d, lang) for d in days], "iso": [d.isoformat() for d in days],
                 "first": day_text(first, lang), "last": day_text(last, lang),
                 "firstLabel": day_text(first, lang, year=False), "lastLabel": day_text(last, lang, year=False),
                 "versions": _version_marks(runs, versions, first, lang)}
    texts = {k: t(f"index_page.{k}", lang) for k in SCRIPT_TEXTS}
    texts.update({k: _template(k, names, lang) for k, names in SCRIPT_TEMPLATES.items()})
    texts["chart_filtered"] = t("index_page.chart_filtered", lang)
    return {"t": texts, "listed": MAX_ROWS, "pageRows": PAGE_ROWS, "orgs": orgs,
            "rbs": [[rb, _runbook_texts(rb, lang)[0]] for rb in runbooks],
            "outs": [[o, *OUTCOME_STYLE.get(o, ("?", UNKNOWN_COLOUR))[:1],
                      t(f"index_page.short_outcome.{o}", lang) if o in OUTCOME_STYLE else o,
                      OUTCOME_STYLE.get(o, ("?", UNKNOWN_COLOUR))[1]] for o in outs],
            "causes": causes_t.items, "sets": sets_t.items, "vch": vch_t.items,
            "dirs": dirs_t.items, "runs": data_runs, "pairs": data_pairs, "chart": chart}


def report_folders(data: Mapping[str, Any]) -> list[str | None]:
    """The report folder of each of the page's runs (`runs`, newest first); None: no report.html."""
    return [None if r[5] is None else data["dirs"][r[5][0]] + r[5][1] for r in data["runs"]]


def _data_script(data: Mapping[str, Any]) -> str:
    """The data as JSON in a script block the browser never runs; every `<` written as \\u003c,
    so no value can close the block or open a comment."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script type="application/json" id="{DATA_ID}">{text}</script>'


_DATA = re.compile(r'<script type="application/json" id="' + DATA_ID + r'">(.*?)</script>', re.S)


def data_of(page: str) -> dict[str, Any] | None:
    """The data a written page carries (`page_data`), None for a page without runs."""
    match = _DATA.search(page)
    return json.loads(match.group(1)) if match else None


def _pager(table_id: str, lang: str) -> str:
    return (f'<div class="pager" data-for="{table_id}" hidden><button type="button" class="prev">\u2039 '
            f'{_tt("page_prev", lang)}</button><span class="range" aria-live="polite"></span>'
            f'<button type="button" class="next">{_tt("page_next", lang)} \u203a</button></div>')


def render(entries: list[dict[str, Any]], lang: str, out: Path, now: datetime | None = None) -> str:
    """The whole page for the index `entries` (oldest first, as `report_index.list_reports` gives them)."""
    from .findings import iso, utcnow

    data = page_data(entries, lang, out) if entries else None

    def th(*keys: str) -> str:
        return "".join(f'<th scope="col">{_tt(k, lang)}</th>' for k in keys)

    if not data:
        body = f'<h1>{_tt("title", lang)}</h1><p>{_tt("none", lang)}</p>'
    else:
        n = len(entries)
        times = [parse_iso(e.get("time")) for e in entries]
        times = [x for x in times if x is not None]
        span = (_tt("span", lang, first=day_text(min(times), lang), last=day_text(max(times), lang)) if times else "")
        intro = _tt("intro", lang, n=f"{n:,}", orgs=len(data["orgs"]), runbooks=len(data["rbs"]), out=out.name, span=span)
        runbook_opts = "".join(f'<option value="{_e(rb)}">{_e(rb)}</option>' for rb, _title in data["rbs"])
        outcome_opts = "".join(f'<option value="{o}">{_tt(f"short_outcome.{o}", lang)}</option>' for o in OUTCOMES)
        org_list = "".join(f'<option value="{_e(o)}">' for o in data["orgs"])
        filters = (f'<div id="filters"><label>{_tt("filter", lang)} <input id="f-text" type="search" list="f-orgs" '
                   f'placeholder="{_tt("filter_hint", lang)}"></label><datalist id="f-orgs">{org_list}</datalist>'
                   f'<label>{_tt("runbook", lang)} <select id="f-runbook"><option value="">{_tt("all", lang)}</option>'
                   f'{runbook_opts}</select></label>'
                   f'<label>{_tt("outcome", lang)} <select id="f-outcome"><option value="">{_tt("all", lang)}</option>'
                   f'{outcome_opts}</select></label></div>')
        legend = "".join(f'<span><i style="background:{OUTCOME_STYLE[o][1]}"></i>{_tt(f"short_outcome.{o}", lang)}</span>'
                         for o in OUTCOMES)
        if data["chart"] and data["chart"]["versions"]:
            legend += f'<span><i style="background:#8250df;width:.2em"></i>{_tt("legend_version", lang)}</span>'
        chart = (f'<h2>{_tt("chart", lang)}</h2><figure id="chart"><div class="plot"></div><figcaption>'
                 f'<span class="muted caption"></span> <span class="legend">{legend}</span></figcaption></figure>'
                 ) if data["chart"] else ""
        older = f'<p class="muted">{_tt("older", lang, shown=f"{MAX_ROWS:,}", n=f"{n:,}")}</p>' if n > MAX_ROWS else ""
        body = (
            f'<h1>{_tt("title", lang)}</h1><p class="muted">{intro}</p>'
            f'<noscript><p>{_tt("noscript", lang)}</p></noscript>{filters}'
            f'{chart}'
            f'<h2 id="pairs-h">{_tt("pairs", lang)}</h2><p class="muted">{_tt("pairs_intro", lang, n=len(data["pairs"]))}</p>'
            f'{_pager("pairs", lang)}<div class="wide"><table id="pairs" aria-labelledby="pairs-h"><thead><tr>'
            f'{th("org", "runbook", "failed_runs", "latest", "report", "date", "causes", "changes")}</tr></thead>'
            f'<tbody></tbody></table></div>'
            f'<h2 id="runs-h">{_tt("runs", lang)}</h2>{older}'
            f'{_pager("runs", lang)}<div class="wide"><table id="runs" aria-labelledby="runs-h"><thead><tr>'
            f'{th("pos", "report", "date", "runbook", "org", "outcome", "causes", "changes")}</tr></thead>'
            f'<tbody></tbody></table></div>'
        )
    generated = now or utcnow()
    # The exact instant for machines, the words for people (issue 18: no ISO stamp to read).
    body += (f'<p class="muted"><time datetime="{iso(generated)}">'
             f'{_tt("generated", lang, now=when_text(generated, lang))}</time></p>')
    script = f"{_data_script(data)}<script>{JS}</script>" if data else ""
    return (f'<!DOCTYPE html>\n<html lang="{_e(lang)}"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{_tt("title", lang)}</title><style>{CSS}</style></head>'
            f'<body>{body}{script}</body></html>\n')


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


def page_language(out_dir: str | os.PathLike[str], lang: str | None = None, *, by_command: bool = False,
                  first: str | None = None) -> str:
    """The history page's language: `lang` when a command names it (`reports index --lang`);
    for `reports index` without `--lang` (`by_command`), `$SFDOCTOR_LANG` before the page's
    current one (that command is how a person changes it); for every other rewrite (a run, a
    fleet run, a prune) the page's current one first, so neither a run's language nor the
    environment it ran in changes a language someone chose. A first page: `first` (the
    `--lang` a run or fleet run creating it was given: the person said which language they
    read), else `$SFDOCTOR_LANG`, else the locale's, else English."""
    setting, current = _lang_of(os.environ.get("SFDOCTOR_LANG")), page_lang(out_dir)
    order = (setting, current) if by_command else (current, _lang_of(first), setting)
    for choice in (_lang_of(lang), *order):
        if choice:
            return choice
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(var):
            return _lang_of(os.environ[var]) or "en"
    return "en"


def write_locked(out_dir: str | os.PathLike[str], lang: str | None = None, *, by_command: bool = False,
                 first: str | None = None) -> Path:
    """Rebuild the page from the index; the caller holds the index lock."""
    out = Path(out_dir).resolve()
    path = out / INDEX_HTML
    write_atomic(path, render(list_reports(out), page_language(out, lang, by_command=by_command, first=first), out))
    return path


def write(out_dir: str | os.PathLike[str], lang: str | None = None, *, by_command: bool = False,
          first: str | None = None) -> Path:
    """Rebuild `OUT/index.html` under the index lock: `sfdoctor reports index` (`by_command`),
    a fleet run's end and every run (through `refresh`)."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with index_lock(out):
        return write_locked(out, lang, by_command=by_command, first=first)


def refresh(out_dir: str | os.PathLike[str], first: str | None = None) -> Path | None:
    """After a run or a fleet run: rebuild the page in its own language (`page_language`; a
    page not there yet takes `first`, the command's explicit `--lang`); a failure is one line
    on stderr, never the run's outcome."""
    try:
        return write(out_dir, first=first)
    except Exception as exc:  # the report itself is written: the history page must not break the run
        print(f"sfdoctor: {Path(out_dir) / INDEX_HTML}: not rewritten ({type(exc).__name__}: "
              f"{' '.join(str(exc).split())[:200]}); `sfdoctor reports index` rebuilds it", file=sys.stderr, flush=True)
        return None
