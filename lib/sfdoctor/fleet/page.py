"""`OUT/fleet.html`: the fleet at a glance, self-contained and offline like the reports.

One row per org, one column per runbook: the latest outcome with its causes and a link to
its report, what changed since the previous fleet run, and the orgs that have not reported
for 36 hours (from the report index). Meant for hundreds of orgs: a compact table with a
text filter and an outcome filter (inline JS), no chart per org; a Content-Security-Policy
forbids every fetch, so the page works from a file share or an attachment.

Width: five runbooks fit a 1,366 px screen (causes wrap, one per line, in smaller type; org
names, runbook ids, outcomes and dates never do); more scroll sideways inside the grid's own
box (`#grid-box`, its header and org column held), never the page.
"""
from __future__ import annotations

import html
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping

from ..dates import instant_text
from ..findings import parse_iso, utcnow
from .. import i18n
from .notify import changes
from ..i18n import t

FLEET_HTML = "fleet.html"
SILENT_AFTER = timedelta(hours=36)
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK JP","Noto Sans JP",sans-serif;margin:1rem 1.5rem;color:#1b1f24;font-size:14px}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.2rem 0 .4rem}
.muted{color:#57606a}code{font-size:.92em;white-space:nowrap}.nw{white-space:nowrap}
#filters{display:flex;gap:1rem;align-items:center;flex-wrap:wrap;position:sticky;top:0;background:#fff;min-height:2.6rem;box-sizing:border-box;z-index:3}
#filters input{padding:.25rem .4rem;min-width:16rem}
#grid-box{overflow:auto;max-width:100%;max-height:calc(100vh - 2.8rem);border:1px solid #d0d7de}
table{border-collapse:separate;border-spacing:0;width:100%}th,td{border-bottom:1px solid #d0d7de;padding:.25rem .4rem;text-align:left;vertical-align:top}
thead th{position:sticky;top:0;background:#f6f8fa;z-index:1;white-space:nowrap}
#grid th:first-child,#grid td:first-child{position:sticky;left:0;background:#fff;z-index:1;border-right:1px solid #d0d7de;white-space:nowrap}
#grid thead th:first-child{background:#f6f8fa;z-index:2}
td.o{min-width:9rem;max-width:17rem}
td.o .top{white-space:nowrap}
.b{display:inline-block;border-radius:.6rem;padding:0 .45rem;font-size:.85em;font-weight:600;white-space:nowrap}
.healthy{background:#dafbe1;color:#116329}.problems_found{background:#ffebe9;color:#a40e26}
.inconclusive{background:#fff8c5;color:#7d4e00}.error{background:#ffd8b5;color:#762c00}.skipped{background:#eaeef2;color:#424a53}
.c{font-size:.78em;line-height:1.3;color:#424a53;margin-top:.15rem}
ul.ch{margin:.2rem 0;padding-left:1.2rem}.new{color:#a40e26}.fixed{color:#116329}
.tot span{margin-right:1rem}
"""

JS = """
(function(){var q=document.getElementById('f-text'),o=document.getElementById('f-outcome'),n=document.getElementById('f-count');
var rows=[].slice.call(document.querySelectorAll('#grid tbody tr'));
function apply(){var text=(q.value||'').toLowerCase(),want=o.value,shown=0;
rows.forEach(function(r){var ok=(!text||r.getAttribute('data-text').indexOf(text)>=0)&&(!want||r.getAttribute('data-outcomes').split(' ').indexOf(want)>=0);
r.style.display=ok?'':'none';if(ok)shown++;});n.textContent=shown;}
q.addEventListener('input',apply);o.addEventListener('change',apply);})();
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _tt(key: str, lang: str, **values: Any) -> str:
    """One text of the fleet page (`texts/fleet_page.toml`)."""
    return i18n.t(f"fleet_page.{key}", lang, **values)


_WHEN = "\x00when\x00"


def _unbroken_when(sentence: str, when: str) -> str:
    """`sentence` (said with `_WHEN` for its time) as HTML, the time in one unbroken piece:
    a date split over two lines reads as two things."""
    return _e(sentence).replace(_e(_WHEN), f'<span class="nw">{_e(when)}</span>')


def _silent_orgs(out: Path, now: Any) -> list[tuple[str, str]]:
    """Orgs whose latest run in the index is older than 36 hours (name, when)."""
    from ..report_index import INDEX

    path = out / INDEX
    latest: dict[str, str] = {}
    if path.is_file():
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                org, when = str(e.get("org", "")), str(e.get("time", ""))
                if when > latest.get(org, ""):
                    latest[org] = when
    silent = []
    for org, when in latest.items():
        ts = parse_iso(when)
        if ts is not None and now - ts >= SILENT_AFTER:
            silent.append((org, when))
    return sorted(silent)


def _cause_words(runbook: str, codes: list[str], lang: str) -> list[str]:
    """Cause codes as people read them: each one's title in `lang` (the code itself where the
    runbook or the code is unknown here: a fleet written by another version)."""
    from ..errors import SfdoctorError
    from ..runbooks import load

    try:
        texts = load(runbook).texts(lang)
        known = load(runbook).causes
    except SfdoctorError:
        return list(codes)
    return [texts.cause_title(c) if c in known else c for c in codes]


def render(out: Path, fleet: Mapping[str, Any], previous: Mapping[str, Any] | None, lang: str) -> str:
    now = utcnow()
    entries = fleet.get("entries", [])
    runbooks = sorted({e["runbook"] for e in entries})
    orgs: dict[str, dict[str, Mapping[str, Any]]] = {}
    for e in entries:
        orgs.setdefault(e["org"], {})[e["runbook"]] = e
    head = f'<th>{_e(_tt("org", lang))}</th>' + "".join(f"<th><code>{_e(r)}</code></th>" for r in runbooks)
    rows = []
    for org, cells in orgs.items():
        tds, outcomes, words = [], set(), [org]
        for rb in runbooks:
            e = cells.get(rb)
            if e is None:
                tds.append("<td></td>")
                continue
            outcomes.add(e["outcome"])
            codes = list(e.get("root_causes") or []) + list(e.get("warnings") or [])
            causes = _cause_words(rb, codes, lang)
            words += codes + causes
            link = (f' <a href="{_e(e["folder"])}/report.html">{_e(_tt("report", lang))}</a>'
                    if e.get("folder") else "")
            # one line each: cause titles carry commas of their own
            detail = [x for x in (causes or [e.get("reason") or ""]) + [e.get("budget_warning") or ""] if x]
            said = t(f"fleet.outcome.{e['outcome']}", lang)
            tds.append(f'<td class="o"><div class="top"><span class="b {_e(e["outcome"])}">'
                       f'{_e(said)}</span>{link}</div>'
                       + "".join(f'<div class="c">{_e(x)}</div>' for x in detail) + "</td>")
        rows.append(f'<tr data-text="{_e(" ".join(words).lower())}" data-outcomes="{_e(" ".join(sorted(outcomes)))}">'
                    f"<td><code>{_e(org)}</code></td>{''.join(tds)}</tr>")
    found = changes(fleet, previous)
    if found:
        items = []
        for c in found:
            parts = []
            if c.new:
                parts.append(f'<span class="new">{_e(_tt("new", lang))}: {_e(_tt("cause_sep", lang).join(_cause_words(c.runbook, list(c.new), lang)))}</span>')
            if c.fixed:
                parts.append(f'<span class="fixed">{_e(_tt("fixed", lang))}: {_e(_tt("cause_sep", lang).join(_cause_words(c.runbook, list(c.fixed), lang)))}</span>')
            if c.turned:
                parts.append(f'{_e(_tt("now", lang))} <span class="b {_e(c.turned)}">{_e(t(f"fleet.outcome.{c.turned}", lang))}</span>')
            items.append(f"<li><code>{_e(c.org)}</code> / <code>{_e(c.runbook)}</code>: {'; '.join(parts)}</li>")
        changes_html = (f'<p class="muted">{_e(_tt("first", lang))}</p>' if previous is None else "") + \
            f'<ul class="ch">{"".join(items)}</ul>'
    else:
        changes_html = f'<p class="muted">{_e(_tt("no_changes", lang))}</p>'
    silent = _silent_orgs(out, now)
    silent_html = (f'<ul class="ch">' + "".join(f'<li><code>{_e(o)}</code> — {_unbroken_when(_tt("last", lang, when=_WHEN), instant_text(w, lang))}</li>'
                                                for o, w in silent) + "</ul>") if silent else \
        f'<p class="muted">{_e(_tt("silent_none", lang))}</p>'
    totals = "".join(f'<span><span class="b {o}">{_e(t(f"fleet.outcome.{o}", lang))}</span> {n}</span>'
                     for o in ("healthy", "problems_found", "inconclusive", "error", "skipped")
                     if (n := sum(1 for e in entries if e["outcome"] == o)))
    options = "".join(f'<option value="{o}">{_e(t(f"fleet.outcome.{o}", lang))}</option>'
                      for o in ("healthy", "problems_found", "inconclusive", "error", "skipped"))
    body = (
        f'<h1>{_e(_tt("title", lang))}</h1>'
        f'<p class="muted">{_unbroken_when(_tt("intro", lang, orgs=len(orgs), runbooks=len(runbooks), when=_WHEN, executor=fleet.get("executor", ""), workers=fleet.get("workers", "")), instant_text(fleet.get("started_at", ""), lang))}'
        f' <a href="index.html">{_e(_tt("history", lang))}</a></p>'
        f'<p class="tot">{totals}</p>'
        f'<h2>{_e(_tt("changes", lang))}</h2>{changes_html}'
        f'<h2>{_e(_tt("silent", lang))}</h2>{silent_html}'
        f'<div id="filters"><input id="f-text" type="search" placeholder="{_e(_tt("filter", lang))}" aria-label="{_e(_tt("filter", lang))}">'
        f'<label>{_e(_tt("outcome", lang))} <select id="f-outcome"><option value="">{_e(_tt("all", lang))}</option>{options}</select></label>'
        f'<span><span id="f-count">{len(orgs)}</span> / {len(orgs)} {_e(_tt("shown", lang))}</span></div>'
        f'<div id="grid-box"><table id="grid"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )
    return (f'<!DOCTYPE html>\n<html lang="{_e(lang)}"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{_e(_tt("title", lang))}</title><style>{CSS}</style></head>'
            f'<body>{body}<script>{JS}</script></body></html>\n')


def write(out: Path, fleet: Mapping[str, Any], previous: Mapping[str, Any] | None, lang: str) -> Path:
    """Write `OUT/fleet.html` atomically; returns its path."""
    path = Path(out) / FLEET_HTML
    tmp = path.with_name(f".{FLEET_HTML}.tmp")
    tmp.write_text(render(Path(out), fleet, previous, lang), encoding="utf-8")
    os.replace(tmp, path)
    return path
