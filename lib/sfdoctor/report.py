"""What people read: finding cards in the notebook, and the shareable HTML report.

The HTML report is exported in-process (nbconvert's `HTMLExporter`, code hidden) and made
self-contained: corporate networks often block CDNs, and nbconvert's templates fetch
require.js, MathJax, mermaid and the widget renderer from them. The report needs no
JavaScript at all, so every `<script>` and every external `<link>` is removed and our own
CSS is embedded; plots stay inline as data URIs. The header (outcome, root causes, what to
do first), the table of every check and "what we looked at" come from findings.json, not
from the notebook's cells, so the report says the truth even when the notebook broke.
"""
from __future__ import annotations

import html
import json
import re
import threading
from importlib import resources
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .findings import MIMETYPE, RUN_MIMETYPE, Finding
from .runbooks import ui

if TYPE_CHECKING:  # nbformat costs seconds to import (jsonschema): only where reports are written
    import nbformat

    from .runbooks import RunbookSpec

# The notebook session publishes its context (edition, window, login attempts) beside the
# findings: findings.json stays exactly spec/findings.md, the report still knows the rest.
CONTEXT_MIMETYPE = "application/vnd.sfdoctor.context+json"

_STATUS_ORDER = {"fail": 0, "error": 1, "warn": 2, "manual": 3, "skip": 4, "pass": 5}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def css() -> str:
    """The report's own stylesheet (embedded; print-friendly)."""
    return resources.files("sfdoctor").joinpath("templates/report.css").read_text(encoding="utf-8")


def status_badge(status: str, lang: str) -> str:
    return f'<span class="sfd-badge sfd-{_e(status)}">{_e(ui("status." + status, lang))}</span>'


def evidence_table(evidence: Mapping[str, Any]) -> str:
    """Evidence as a two-column table; nested values shown as compact JSON."""
    if not evidence:
        return ""
    rows = []
    for key, value in evidence.items():
        shown = value if isinstance(value, (str, int, float, bool)) or value is None else json.dumps(value, ensure_ascii=False, default=str)
        rows.append(f"<tr><th>{_e(key)}</th><td>{_e(shown)}</td></tr>")
    return '<table class="sfd-evidence">' + "".join(rows) + "</table>"


def _fix_html(fix: str) -> str:
    # Fix texts are plain text with numbered steps on their own lines: keep the line breaks.
    return "<br>".join(_e(line) for line in fix.strip().splitlines())


def finding_card_html(f: Finding | Mapping[str, Any], lang: str) -> str:
    """One finding as a readable card: badge, title, summary, evidence, fix."""
    d = f.to_json() if isinstance(f, Finding) else dict(f)
    parts = [
        f'<div class="sfd-card sfd-card-{_e(d["status"])}">',
        f'<div class="sfd-card-head">{status_badge(d["status"], lang)} <strong>{_e(d["title"])}</strong>',
    ]
    if d.get("cause"):
        parts.append(f' <code class="sfd-cause">{_e(d["cause"])}</code>')
    parts.append("</div>")
    if d.get("summary"):
        parts.append(f'<p class="sfd-summary-text">{_e(d["summary"])}</p>')
    parts.append(evidence_table(d.get("evidence") or {}))
    if d.get("fix"):
        parts.append(f'<div class="sfd-fix"><span class="sfd-fix-label">{_e(ui("checks.fix", lang))}:</span> {_fix_html(d["fix"])}</div>')
    parts.append("</div>")
    return "".join(parts)


def first_steps(findings: Mapping[str, Any]) -> list[str]:
    """The fixes to do first: those of `fail` checks in check order, de-duplicated."""
    out: dict[str, None] = {}
    for c in findings.get("checks", []):
        if c.get("status") == "fail" and c.get("fix"):
            out.setdefault(c["fix"], None)
    return list(out)


def summary_html(findings: Mapping[str, Any], lang: str, spec: RunbookSpec | None = None) -> str:
    """The summary block: outcome, root causes (with their titles), warnings, what to do first."""
    outcome = findings.get("outcome", "error")

    def cause_list(codes: Iterable[str]) -> str:
        items = []
        for code in codes:
            title = ""
            if spec is not None and code in spec.causes:
                title = " — " + _e(spec.texts(lang).cause_title(code))
            items.append(f"<li><code>{_e(code)}</code>{title}</li>")
        return "<ul>" + "".join(items) + "</ul>" if items else f"<p>{_e(ui('summary.none', lang))}</p>"

    steps = first_steps(findings)
    if steps:
        # Fix texts carry their own step numbers: list them as blocks, not a numbered list.
        first = '<ul class="sfd-first">' + "".join(f"<li>{_fix_html(s)}</li>" for s in steps) + "</ul>"
    elif outcome in ("inconclusive", "error"):
        first = f"<p>{_e(ui('summary.first_error', lang))}</p>"
    else:
        first = f"<p>{_e(ui('summary.first_none', lang))}</p>"
    return (
        f'<section class="sfd-summary sfd-outcome-{_e(outcome)}" id="sfd-summary">'
        f'<h2>{_e(ui("summary.title", lang))}</h2>'
        f'<p class="sfd-outcome"><span class="sfd-outcome-label">{_e(ui("summary.outcome", lang))}:</span> '
        f'<strong>{_e(ui("outcome." + outcome, lang))}</strong> <code>{_e(outcome)}</code></p>'
        f'<h3>{_e(ui("summary.root_causes", lang))}</h3>{cause_list(findings.get("root_causes", []))}'
        f'<h3>{_e(ui("summary.warnings", lang))}</h3>{cause_list(findings.get("warnings", []))}'
        f'<h3>{_e(ui("summary.first", lang))}</h3>{first}'
        "</section>"
    )


def checks_table_html(findings: Mapping[str, Any], lang: str) -> str:
    """Every check in run order: status, check, evidence, fix."""
    rows = []
    for c in findings.get("checks", []):
        cause = f'<br><code class="sfd-cause">{_e(c["cause"])}</code>' if c.get("cause") else ""
        summary = f'<div class="sfd-summary-text">{_e(c["summary"])}</div>' if c.get("summary") else ""
        rows.append(
            f'<tr class="sfd-row-{_e(c["status"])}"><td>{status_badge(c["status"], lang)}</td>'
            f"<td><strong>{_e(c['title'])}</strong>{cause}{summary}</td>"
            f"<td>{evidence_table(c.get('evidence') or {})}</td>"
            f"<td>{_fix_html(c.get('fix') or '')}</td></tr>"
        )
    head = "".join(f"<th>{_e(ui(k, lang))}</th>" for k in ("checks.status", "checks.check", "checks.evidence", "checks.fix"))
    return (
        f'<section class="sfd-checks" id="sfd-checks"><h2>{_e(ui("checks.title", lang))}</h2>'
        f'<table class="sfd-checks-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></section>'
    )


def looked_at_html(findings: Mapping[str, Any], context: Mapping[str, Any], lang: str, spec: RunbookSpec | None) -> str:
    """The "what we looked at" section: org, edition, API calls, window, login attempts."""
    unknown = ui("looked.unknown", lang)
    params = findings.get("parameters") or {}
    window = context.get("window")
    if not window and isinstance(params.get("days"), int):
        window = ui("looked.window_days", lang, days=params["days"])
    runbook = findings.get("runbook", "")
    if spec is not None:
        runbook = f"{spec.texts(lang).runbook_title} ({spec.id})"
    attempts = context.get("login_attempts")
    rows = [
        ("looked.runbook", runbook),
        ("looked.org", findings.get("org", "")),
        ("looked.edition", context.get("edition") or unknown),
        ("looked.api_calls", findings.get("api_calls", 0)),
        ("looked.window", window or unknown),
        ("looked.login_attempts", unknown if attempts is None else attempts),
        ("looked.run_time", f"{findings.get('started_at', '')} – {findings.get('finished_at', '')}"),
        ("looked.parameters", ", ".join(f"{k}={v}" for k, v in params.items()) or ui("summary.none", lang)),
    ]
    body = "".join(f"<tr><th>{_e(ui(k, lang))}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<section class="sfd-looked" id="sfd-looked"><h2>{_e(ui("looked.title", lang))}</h2><table>{body}</table></section>'


def header_html(findings: Mapping[str, Any], context: Mapping[str, Any], lang: str, spec: RunbookSpec | None) -> str:
    title = spec.texts(lang).runbook_title if spec is not None else findings.get("runbook", "")
    return (
        '<header class="sfd-report">'
        f'<h1>{_e(ui("report.title", lang, title=title))}</h1>'
        f'<p class="sfd-generated">{_e(ui("report.generated", lang, time=findings.get("finished_at", "")))}</p>'
        + summary_html(findings, lang, spec)
        + checks_table_html(findings, lang)
        + looked_at_html(findings, context, lang, spec)
        + f'<h2 class="sfd-details">{_e(ui("notebook.title", lang))}</h2>'
        "</header>"
    )


# --------------------------------------------------------------------------------------
# notebook → self-contained HTML
# --------------------------------------------------------------------------------------
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_EXT_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\s+(?:url\()?[\"']?(?:https?:)?//[^;]*;", re.IGNORECASE)
_EXT_SRC = re.compile(r"(<(?:img|iframe|source|video|audio|embed)\b[^>]*?)\bsrc\s*=\s*([\"'])(?:https?:)?//[^\"']*\2", re.IGNORECASE)
# Outputs a static page cannot show (widgets need a kernel) or that would bring scripts.
_DROP_MIMES = ("application/vnd.jupyter.widget-view+json", "application/javascript", "text/javascript")


def _printable_notebook(nb: "nbformat.NotebookNode") -> "nbformat.NotebookNode":
    """A copy fit for a static page: no widget state or views, no code, our JSON hidden."""
    import nbformat

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data is not None:
                for mime in (*_DROP_MIMES, MIMETYPE, RUN_MIMETYPE, CONTEXT_MIMETYPE):
                    data.pop(mime, None)
                if not data:
                    continue
            if out.get("output_type") == "error":
                # Show why a cell broke as plain text, without ANSI colour codes.
                tb = "\n".join(re.sub(r"\x1b\[[0-9;]*m", "", line) for line in out.get("traceback", []))
                out = nbformat.v4.new_output("stream", name="stderr", text=tb or f"{out.get('ename')}: {out.get('evalue')}")
            kept.append(out)
        cell.outputs = kept
    return nb


# One HTMLExporter per process: building one compiles nbconvert's jinja templates (~0.1 s
# warm, more cold), and the compiled templates serve every later report. The lock keeps two
# threads from rendering through one exporter at once.
_EXPORTER: Any = None
_EXPORTER_LOCK = threading.Lock()


def _nbconvert_html(nb: "nbformat.NotebookNode") -> str:
    global _EXPORTER
    with _EXPORTER_LOCK:
        if _EXPORTER is None:
            from nbconvert import HTMLExporter  # heavy import: only where a report is written

            _EXPORTER = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
        body, _ = _EXPORTER.from_notebook_node(nb)
    return body


def warm_up() -> None:
    """Import nbconvert and compile its templates ahead of the first report.

    The runner calls this in a thread while the kernel starts and runs, when this process
    would otherwise sit idle: the first report then costs what a later one costs.
    """
    if _EXPORTER is not None:
        return
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("warm-up"), nbformat.v4.new_code_cell("1")]
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<p>warm-up</p>", "text/plain": "warm-up"})]
    _nbconvert_html(nb)


def make_self_contained(page: str) -> str:
    """Remove everything that would reach the network: scripts, external links and imports."""
    page = _SCRIPT.sub("", page)
    page = _EXT_LINK.sub("", page)
    page = _CSS_IMPORT.sub("", page)
    page = _EXT_SRC.sub(r"\1", page)
    return page


def export_html(
    nb: "nbformat.NotebookNode",
    findings: Mapping[str, Any],
    lang: str,
    *,
    spec: RunbookSpec | None = None,
    context: Mapping[str, Any] | None = None,
) -> str:
    """The shareable report page: our header first, then the notebook's outputs, code hidden."""
    page = make_self_contained(_nbconvert_html(_printable_notebook(nb)))
    title = spec.texts(lang).runbook_title if spec is not None else str(findings.get("runbook", ""))
    page = re.sub(r"<title>.*?</title>", f"<title>{_e(ui('report.title', lang, title=title))}</title>", page, count=1, flags=re.DOTALL)
    page = re.sub(r"<html[^>]*>", f'<html lang="{_e(lang)}">', page, count=1)
    page = page.replace("</head>", f'<style id="sfd-style">{css()}</style></head>', 1)
    header = header_html(findings, context or {}, lang, spec)
    page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + header, page, count=1)
    return page


def context_from_notebook(nb: "nbformat.NotebookNode") -> dict[str, Any]:
    """The last context the notebook published (edition, window, login attempts), or {}."""
    ctx: dict[str, Any] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data") or {}
            if CONTEXT_MIMETYPE in data and isinstance(data[CONTEXT_MIMETYPE], dict):
                ctx = dict(data[CONTEXT_MIMETYPE])
    return ctx
