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
from .i18n import t

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


# --------------------------------------------------------------------------------------
# Styling that travels with the HTML.
#
# A card (and the run summary) is shown in places whose stylesheet we do not control:
# JupyterLab's light and dark themes (whose rendered-HTML CSS right-aligns table cells and
# centres tables), the exported report, a printer. So every element carries its own inline
# style; nothing depends on report.css. Colours are chosen to read on a light and on a dark
# background alike: text colour is inherited from the theme, lines and tints are translucent
# greys, and badges are light pills with dark text. Each status also has its own symbol and
# border style, so it stays distinct printed in greyscale.
# --------------------------------------------------------------------------------------
_FONT = "system-ui,-apple-system,'Segoe UI','Hiragino Sans','Noto Sans CJK JP','Yu Gothic',sans-serif"
_MONO = "ui-monospace,'SFMono-Regular',Menlo,Consolas,'Liberation Mono','DejaVu Sans Mono',monospace"
_LINE = "rgba(127,127,127,.38)"
_TINT = "rgba(127,127,127,.11)"
_MUTED = "opacity:.72;"
_EXACT = "-webkit-print-color-adjust:exact;print-color-adjust:exact;"

# status: (symbol, accent colour, pill background, pill text, border style, border width)
STATUS_STYLE: dict[str, tuple[str, str, str, str, str, str]] = {
    "pass": ("\u2713", "#1a7f37", "#dafbe1", "#0f5323", "solid", "1px"),
    "fail": ("\u2717", "#cf222e", "#ffebe9", "#82071e", "solid", "2px"),
    "warn": ("!", "#bf8700", "#fff8c5", "#633c01", "dashed", "2px"),
    "manual": ("?", "#0969da", "#ddf4ff", "#0a3069", "dotted", "2px"),
    "skip": ("\u2013", "#6e7781", "#eaeef2", "#32383f", "dotted", "1px"),
    "error": ("\u2298", "#bc4c00", "#fff1e5", "#762c00", "double", "3px"),
}

_CARD_BOX = (f"font-family:{_FONT};line-height:1.45;text-align:left;border:1px solid {_LINE};border-radius:6px;"
             "padding:.5em .8em;margin:.5em 0;break-inside:avoid;page-break-inside:avoid;")
_TABLE = f"border-collapse:collapse;margin:.3em 0;table-layout:auto;text-align:left;font-size:.92em;{_EXACT}"
_CELL = f"text-align:left;vertical-align:top;padding:.22em .5em;border:1px solid {_LINE};line-height:1.4;white-space:normal;"
_TH = _CELL + f"background:{_TINT};font-weight:600;"
_TD = _CELL + "background:transparent;overflow-wrap:break-word;"
_TR = "background:transparent;"
_CODE = f"font-family:{_MONO};font-size:.92em;"
_LONG_AT = 100  # characters of a string shown before the rest folds away


def status_badge(status: str, lang: str) -> str:
    """The localized status word in a pill with its own colour, symbol and border style."""
    symbol, accent, bg, fg, border, width = STATUS_STYLE.get(status, STATUS_STYLE["skip"])
    style = (f"display:inline-block;min-width:5.2em;text-align:center;padding:.05em .55em;border-radius:1em;"
             f"font-size:.85em;font-weight:600;line-height:1.5;white-space:nowrap;color:{fg};background:{bg};"
             f"border:{width} {border} {accent};{_EXACT}")
    return (f'<span class="sfd-badge sfd-{_e(status)}" data-status="{_e(status)}" style="{style}">'
            f'<span aria-hidden="true">{symbol}</span> {_e(t("status." + status, lang))}</span>')


# ---------------------------------------------------------------- evidence for people
_URL = re.compile(r"https?://[^\s<>\"')]+")
_TOKEN = re.compile(r"^(?=\S*[\d_.@/:-])\S{1,64}$")  # a host, address, code or id: no space, some punctuation or digit
_IDENT = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


def _text_html(text: str) -> str:
    """Escaped text; http(s) URLs become links that show their address."""
    out, last = [], 0
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:")
        out.append(_e(text[last:m.start()]))
        out.append(f'<a class="sfd-url" href="{_e(url)}" style="overflow-wrap:anywhere;">{_e(url)}</a>')
        last = m.start() + len(url)
    out.append(_e(text[last:]))
    return "".join(out)


def _breakable(token: str) -> str:
    """An identifier escaped; a long one may break after each _ . @ - / in it."""
    if len(token) <= 16:
        return _e(token)
    return re.sub(r"([_.@/-])(?=.)", r"\1<wbr>", _e(token))


def humanize_key(key: str) -> str:
    """`login_attempts` → `login attempts`; other keys (IP addresses, status strings) as they are."""
    return key.replace("_", " ") if _IDENT.match(key) else key


def _key_html(key: Any) -> str:
    raw = str(key)
    shown = humanize_key(raw)
    return f'<span class="sfd-key" data-key="{_e(raw)}" title="{_e(raw)}">{_e(shown)}</span>'


def _string_html(value: str, lang: str, limit: int, *, cell: bool = False) -> str:
    if len(value) <= limit:
        if _TOKEN.match(value) and not _URL.match(value):
            # A host, code, address or id: monospace, breakable after _ . @ - / only.
            return f'<span style="{_CODE}">{_breakable(value)}</span>'
        return _text_html(value)
    # Long text: the start, and the rest folded in <details> (the full text also in `title`).
    # The report prints a folded text in full, except inside a narrow table cell (`cell`).
    cut = value.rfind(" ", 0, limit)
    cut = cut if cut > limit // 2 else limit
    head, rest = value[:cut], value[cut:].lstrip()
    cls = "sfd-long sfd-long-cell" if cell else "sfd-long"
    return (f'<details class="{cls}" style="margin:0;">'
            f'<summary title="{_e(value)}" style="cursor:pointer;">{_text_html(head)} '
            f'<span class="sfd-more" style="{_MUTED}font-size:.85em;white-space:nowrap;">… '
            f'<span class="sfd-more-label">{_e(t("report.more", lang, n=len(value)))}</span></span></summary>'
            f'<span class="sfd-rest">{_text_html(rest)}</span></details>')


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def evidence_value_html(value: Any, lang: str, *, depth: int = 0, limit: int = _LONG_AT, cell: bool = False) -> str:
    """One evidence value for people: scalars as text, dicts and lists of dicts as small tables."""
    if value is None:
        return f'<span style="{_MUTED}">—</span>'
    if isinstance(value, bool):
        return f'<span style="white-space:nowrap;">{_e(t("report.yes" if value else "report.no", lang))}</span>'
    if isinstance(value, (int, float)):
        return _e(value)
    if isinstance(value, str):
        return _string_html(value, lang, limit, cell=cell)
    if depth >= 4:  # deeper than people read: compact JSON, still escaped
        return f'<span style="{_CODE}">{_e(json.dumps(value, ensure_ascii=False, default=str))}</span>'
    if isinstance(value, Mapping):
        if not value:
            return f'<span style="{_MUTED}">{_e(t("report.empty", lang))}</span>'
        return _kv_table(value, lang, depth=depth + 1)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        if not items:
            return f'<span style="{_MUTED}">{_e(t("report.empty", lang))}</span>'
        if all(_is_scalar(v) for v in items):
            return ", ".join(evidence_value_html(v, lang, depth=depth + 1, limit=limit, cell=cell) for v in items)
        if all(isinstance(v, Mapping) for v in items):
            return _rows_table(items, lang, depth=depth + 1)
        return ('<ul style="margin:0;padding-left:1.2em;">'
                + "".join(f"<li>{evidence_value_html(v, lang, depth=depth + 1, limit=limit)}</li>" for v in items)
                + "</ul>")
    return _e(value)


def _kv_table(mapping: Mapping[str, Any], lang: str, *, depth: int, cls: str = "sfd-kv") -> str:
    width = "width:100%;" if depth <= 1 else "width:auto;"
    rows = "".join(
        f'<tr style="{_TR}"><th scope="row" style="{_TH}{"width:26%;" if depth <= 1 else ""}">{_key_html(k)}</th>'
        f'<td style="{_TD}">{evidence_value_html(v, lang, depth=depth)}</td></tr>'
        for k, v in mapping.items()
    )
    return f'<table class="{cls}" style="{_TABLE}{width}"><tbody>{rows}</tbody></table>'


def _rows_table(items: list[Mapping[str, Any]], lang: str, *, depth: int) -> str:
    keys: dict[str, None] = {}
    for item in items:
        for k in item:
            keys.setdefault(str(k), None)
    head = "".join(f'<th scope="col" style="{_TH}white-space:nowrap;">{_key_html(k)}</th>' for k in keys)
    body = "".join(
        f'<tr style="{_TR}">' + "".join(
            f'<td style="{_TD}">{evidence_value_html(item[k], lang, depth=depth, limit=80, cell=True) if k in item else ""}</td>'
            for k in keys) + "</tr>"
        for item in items
    )
    return (f'<table class="sfd-rows" style="{_TABLE}width:auto;max-width:100%;">'
            f'<thead><tr style="{_TR}">{head}</tr></thead><tbody>{body}</tbody></table>')


def evidence_table(evidence: Mapping[str, Any], lang: str = "en") -> str:
    """Evidence as a key/value table: nested dicts and lists of dicts as nested tables, escaped."""
    if not evidence:
        return ""
    return _kv_table(evidence, lang, depth=0, cls="sfd-evidence")


# ---------------------------------------------------------------- fixes
def _fix_html(fix: str) -> str:
    # Fix texts are plain text with numbered steps on their own lines: keep the line breaks.
    return "<br>".join(_text_html(line) for line in fix.strip().splitlines())


def _fix_anchor(cause: str) -> str:
    return "sfd-fix-" + re.sub(r"[^A-Za-z0-9_-]", "-", cause)


_FIX_BOX = f"margin-top:.45em;padding:.3em .6em;border-left:3px solid {_LINE};background:{_TINT};{_EXACT}"


def fix_block_html(d: Mapping[str, Any], lang: str, *, shown_above: str | None = None, in_summary: bool = False) -> str:
    """A finding's fix: the full steps, or a short reference to where they already stand."""
    fix, cause = d.get("fix") or "", d.get("cause") or ""
    if not fix:
        return ""
    label = f'<strong class="sfd-fix-label">{_e(t("report.checks.fix", lang))}:</strong> '
    if cause and in_summary:
        ref = t("report.fix_in_summary", lang, cause=cause)
        return (f'<div class="sfd-fix sfd-fix-ref" style="margin-top:.35em;">{label}'
                f'<a href="#{_fix_anchor(cause)}">{_e(ref)}</a></div>')
    if cause and shown_above:
        ref = t("report.fix_above", lang, cause=cause, title=shown_above)
        return f'<div class="sfd-fix sfd-fix-ref" style="margin-top:.35em;">{label}{_e(ref)}</div>'
    return f'<div class="sfd-fix" style="{_FIX_BOX}">{label}{_fix_html(fix)}</div>'


def finding_card_html(
    f: Finding | Mapping[str, Any],
    lang: str,
    *,
    fix_shown_above: str | None = None,
    fix_in_summary: bool = False,
) -> str:
    """One finding as a card that carries its own styling: badge, title, summary, evidence, fix.

    `fix_shown_above`: the title of an earlier check whose card already showed this cause's
    fix (a short reference replaces the steps); `fix_in_summary`: the report's summary holds it.
    """
    d = f.to_json() if isinstance(f, Finding) else dict(f)
    status = str(d.get("status", "error"))
    accent = STATUS_STYLE.get(status, STATUS_STYLE["skip"])[1]
    parts = [
        f'<div class="sfd-card sfd-card-{_e(status)}" style="{_CARD_BOX}border-left:6px solid {accent};{_EXACT}">',
        f'<div class="sfd-card-head" style="margin:0 0 .25em 0;">{status_badge(status, lang)} '
        f'<strong style="font-size:1.02em;">{_e(d.get("title", ""))}</strong>',
    ]
    if d.get("cause"):
        parts.append(f' <code class="sfd-cause" style="{_CODE}padding:0 .3em;border:1px solid {_LINE};border-radius:3px;">{_e(d["cause"])}</code>')
    parts.append("</div>")
    if d.get("summary"):
        parts.append(f'<p class="sfd-summary-text" style="margin:.2em 0 .35em 0;">{_text_html(d["summary"])}</p>')
    parts.append(evidence_table(d.get("evidence") or {}, lang))
    parts.append(fix_block_html(d, lang, shown_above=fix_shown_above, in_summary=fix_in_summary))
    parts.append("</div>")
    return "".join(parts)


def summary_fixes(findings: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """cause → (fix, level) for the summary: each fail cause's fix, then each warn cause's, once."""
    fails: dict[str, tuple[str, str]] = {}
    warns: dict[str, tuple[str, str]] = {}
    for c in findings.get("checks", []):
        cause, fix, status = c.get("cause"), c.get("fix"), c.get("status")
        if not (cause and fix):
            continue
        if status == "fail":
            fails.setdefault(cause, (fix, "fail"))
        elif status == "warn":
            warns.setdefault(cause, (fix, "warn"))
    return {**fails, **{k: v for k, v in warns.items() if k not in fails}}


def _in_summary(c: Mapping[str, Any], fixes: Mapping[str, tuple[str, str]]) -> bool:
    cause = c.get("cause")
    return bool(cause and cause in fixes and fixes[cause][0] == c.get("fix"))


_H2 = "font-size:1.25em;margin:.2em 0 .4em 0;padding-bottom:.2em;border-bottom:2px solid " + _LINE + ";"
_H3 = "font-size:1em;font-weight:600;margin:.8em 0 .3em 0;"


def summary_html(findings: Mapping[str, Any], lang: str, spec: RunbookSpec | None = None) -> str:
    """The summary block: outcome, root causes (with their titles), warnings, what to do first.

    Each cause's full fix stands here once (anchor `sfd-fix-CAUSE`); the checks table and
    the cards of the report point to it.
    """
    outcome = findings.get("outcome", "error")
    accent = {"healthy": "#1a7f37", "problems_found": "#cf222e"}.get(outcome, "#9a6700")

    def cause_list(codes: Iterable[str]) -> str:
        items = []
        for code in codes:
            title = ""
            if spec is not None and code in spec.causes:
                title = " — " + _e(spec.texts(lang).cause_title(code))
            items.append(f'<li><code style="{_CODE}">{_e(code)}</code>{title}</li>')
        if not items:
            return f'<p style="margin:.2em 0;">{_e(t("report.summary.none", lang))}</p>'
        return '<ul style="margin:.2em 0;padding-left:1.4em;">' + "".join(items) + "</ul>"

    fixes = summary_fixes(findings)
    if fixes:
        blocks = []
        for cause, (fix, level) in fixes.items():
            color = STATUS_STYLE["fail" if level == "fail" else "warn"]
            note = f' <span style="{_MUTED}font-size:.9em;">({_e(t("report.fix_then", lang))})</span>' if level == "warn" else ""
            blocks.append(
                f'<li id="{_fix_anchor(cause)}" class="sfd-first-{level}" style="border-left:3px {color[4]} {color[1]};'
                f'padding:.15em 0 .2em .8em;margin:.45em 0;break-inside:avoid;page-break-inside:avoid;">'
                f'<div style="font-weight:600;margin-bottom:.1em;"><code style="{_CODE}">{_e(cause)}</code>{note}</div>'
                f"{_fix_html(fix)}</li>"
            )
        # Fix texts carry their own step numbers: list them as blocks, not a numbered list.
        first = f'<ul class="sfd-first" style="list-style:none;padding-left:0;margin:.2em 0;">{"".join(blocks)}</ul>'
    elif outcome in ("inconclusive", "error"):
        first = f'<p style="margin:.2em 0;">{_e(t("report.summary.first_error", lang))}</p>'
    else:
        first = f'<p style="margin:.2em 0;">{_e(t("report.summary.first_none", lang))}</p>'
    box = (f"font-family:{_FONT};line-height:1.45;text-align:left;border:2px solid {accent};border-left-width:8px;"
           f"border-radius:6px;padding:.4em 1em .7em 1em;margin:1em 0;{_EXACT}")
    return (
        f'<section class="sfd-summary sfd-outcome-{_e(outcome)}" id="sfd-summary" style="{box}">'
        f'<h2 style="{_H2}">{_e(t("report.summary.title", lang))}</h2>'
        f'<p class="sfd-outcome" style="font-size:1.12em;margin:.2em 0;"><span class="sfd-outcome-label">{_e(t("report.summary.outcome", lang))}:</span> '
        f'<strong>{_e(t("outcome." + outcome, lang))}</strong> <code style="{_CODE}{_MUTED}">{_e(outcome)}</code></p>'
        f'<h3 style="{_H3}">{_e(t("report.summary.root_causes", lang))}</h3>{cause_list(findings.get("root_causes", []))}'
        f'<h3 style="{_H3}">{_e(t("report.summary.warnings", lang))}</h3>{cause_list(findings.get("warnings", []))}'
        f'<h3 style="{_H3}">{_e(t("report.summary.first", lang))}</h3>{first}'
        "</section>"
    )


def checks_table_html(findings: Mapping[str, Any], lang: str) -> str:
    """Every check in run order: status; check with summary and fix; evidence.

    A fix the summary holds is a link to it; any other fix stands in full where its cause
    first appears and is referred to after that.
    """
    fixes = summary_fixes(findings)
    shown: dict[tuple[str, str], str] = {}
    rows = []
    for c in findings.get("checks", []):
        cause = f' <code class="sfd-cause" style="{_CODE}">{_e(c["cause"])}</code>' if c.get("cause") else ""
        summary = f'<div class="sfd-summary-text">{_text_html(c["summary"])}</div>' if c.get("summary") else ""
        above = None
        if c.get("cause") and c.get("fix") and not _in_summary(c, fixes):
            key = (c["cause"], c["fix"])
            above = shown.get(key)
            shown.setdefault(key, c.get("title", ""))
        fix = fix_block_html(c, lang, shown_above=above, in_summary=_in_summary(c, fixes))
        rows.append(
            f'<tr class="sfd-row-{_e(c["status"])}"><td class="sfd-col-status">{status_badge(c["status"], lang)}</td>'
            f"<td class=\"sfd-col-check\"><strong>{_e(c['title'])}</strong>{cause}{summary}{fix}</td>"
            f'<td class="sfd-col-evidence">{evidence_table(c.get("evidence") or {}, lang)}</td></tr>'
        )
    head = "".join(f'<th class="sfd-col-{k.rsplit(".", 1)[1]}">{_e(t(k, lang))}</th>' for k in ("report.checks.status", "report.checks.check", "report.checks.evidence"))
    return (
        f'<section class="sfd-checks" id="sfd-checks"><h2>{_e(t("report.checks.title", lang))}</h2>'
        f'<table class="sfd-checks-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></section>'
    )


def looked_at_html(findings: Mapping[str, Any], context: Mapping[str, Any], lang: str, spec: RunbookSpec | None) -> str:
    """The "what we looked at" section: org, edition, API calls, window, login attempts."""
    unknown = t("report.looked.unknown", lang)
    params = findings.get("parameters") or {}
    window = context.get("window")
    if not window and isinstance(params.get("days"), int):
        window = t("report.looked.window_days", lang, days=params["days"])
    runbook = findings.get("runbook", "")
    if spec is not None:
        runbook = f"{spec.texts(lang).runbook_title} ({spec.id})"
    attempts = context.get("login_attempts")
    rows = [
        ("report.looked.runbook", runbook),
        ("report.looked.org", findings.get("org", "")),
        ("report.looked.edition", context.get("edition") or unknown),
        ("report.looked.api_calls", findings.get("api_calls", 0)),
        ("report.looked.window", window or unknown),
        ("report.looked.login_attempts", unknown if attempts is None else attempts),
        ("report.looked.run_time", f"{findings.get('started_at', '')} – {findings.get('finished_at', '')}"),
        ("report.looked.parameters", ", ".join(f"{k}={v}" for k, v in params.items()) or t("report.summary.none", lang)),
    ]
    if spec is not None:
        # A fact the runbook never uses is left out rather than shown as "not determined":
        # the edition where no fix depends on it and none was read, the window where the
        # runbook has no `days` (Marketing Cloud's has neither).
        by_edition = any(c.fix_by_edition for c in spec.causes.values())
        has_days = any(p.name == "days" for p in spec.parameters)
        rows = [(k, v) for k, v in rows
                if not (k == "report.looked.edition" and not context.get("edition") and not by_edition)
                and not (k == "report.looked.window" and not window and not has_days)]
    body = "".join(f"<tr><th>{_e(t(k, lang))}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<section class="sfd-looked" id="sfd-looked"><h2>{_e(t("report.looked.title", lang))}</h2><table>{body}</table></section>'


def header_html(findings: Mapping[str, Any], context: Mapping[str, Any], lang: str, spec: RunbookSpec | None) -> str:
    title = spec.texts(lang).runbook_title if spec is not None else findings.get("runbook", "")
    return (
        '<header class="sfd-report">'
        f'<h1>{_e(t("report.title", lang, title=title))}</h1>'
        f'<p class="sfd-generated">{_e(t("report.generated", lang, time=findings.get("finished_at", "")))}</p>'
        + summary_html(findings, lang, spec)
        + checks_table_html(findings, lang)
        + looked_at_html(findings, context, lang, spec)
        + f'<h2 class="sfd-details">{_e(t("report.notebook_title", lang))}</h2>'
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


_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_LETTER = re.compile(r"[^\W\d_]")
_HIRAGANA = re.compile(r"[\u3040-\u309f]")


def _is_japanese(text: str) -> bool:
    """Japanese prose: a tenth of its letters or more are hiragana (its particles), which an
    English sentence quoting a Japanese label (mostly katakana and kanji) does not reach."""
    letters = len(_LETTER.findall(text))
    return letters > 0 and len(_HIRAGANA.findall(text)) * 10 >= letters


def markdown_in_language(source: str, lang: str) -> str:
    """A notebook's bilingual markdown as one language's: what the report of a `lang` run shows.

    The notebooks keep English and Japanese side by side for JupyterLab: a heading says
    `English / 日本語`, and each paragraph is written once per language. A heading keeps its
    `lang` side; a paragraph is kept when its language is `lang` (told by its script).
    """
    want_ja = lang == "ja"
    out: list[str] = []
    for block in re.split(r"\n[ \t]*\n", source):
        lines = block.split("\n")
        kept: list[str] = []
        paragraph: list[str] = []

        def flush() -> None:
            text = "\n".join(paragraph)
            if paragraph and (not _LETTER.search(text) or _is_japanese(text) == want_ja):
                kept.extend(paragraph)
            paragraph.clear()

        for line in lines:
            heading = re.match(r"^(\s*#+\s+)(.*)$", line)
            if heading:
                flush()
                sides = heading.group(2).split(" / ")
                number = re.match(r"^\d+\.\s+", sides[0])
                # a heading is short: its Japanese side is the one with any kana or kanji
                ours = [side for side in sides if bool(_CJK_CHAR.search(side)) == want_ja]
                if number and ours and not re.match(r"^\d+\.", ours[0]):
                    ours[0] = number.group(0) + ours[0]  # "## 1. The org / 組織": the step number is both's
                kept.append(heading.group(1) + " / ".join(ours if ours and len(sides) > 1 else sides))
            else:
                paragraph.append(line)
        flush()
        if kept:
            out.append("\n".join(kept))
    return "\n\n".join(out)


def _printable_notebook(
    nb: "nbformat.NotebookNode",
    lang: str = "en",
    findings: Mapping[str, Any] | None = None,
) -> "nbformat.NotebookNode":
    """A copy fit for a static page: no widget state or views, no code, our JSON hidden.

    With `findings`, each finding card is drawn again from its own JSON (so a report made
    from an older notebook looks like a new one) with its fix pointing at the summary at
    the top of the report, and the notebook's closing summary becomes a pointer to it:
    the report then states each fix once.
    """
    import nbformat

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.metadata.pop("widgets", None)
    fixes = summary_fixes(findings) if findings is not None else {}
    # nbformat saves JSON with sorted keys: take each card's finding from findings.json (in
    # the check's own key order) when it is the same check, else the output's own copy.
    by_id: dict[str, list[Mapping[str, Any]]] = {}
    for c in (findings or {}).get("checks", []):
        by_id.setdefault(str(c.get("id")), []).append(c)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = markdown_in_language(cell.source, lang)
            continue
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data is not None:
                if findings is not None and "text/html" in data:
                    card = data.get(MIMETYPE)
                    if isinstance(card, dict) and card.get("status") and card.get("title"):
                        same = by_id.get(str(card.get("id")))
                        if same and same[0].get("status") == card.get("status") and same[0].get("evidence") == card.get("evidence"):
                            card = same.pop(0)
                        data["text/html"] = finding_card_html(card, lang, fix_in_summary=_in_summary(card, fixes))
                    elif RUN_MIMETYPE in data:
                        data["text/html"] = (f'<p class="sfd-summary-pointer" style="font-family:{_FONT};">'
                                             f'<a href="#sfd-summary">{_e(t("report.summary_at_top", lang))}</a></p>')
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


# nbconvert's HTMLExporter ends by parsing the whole page (~400 KB, mostly its style sheet)
# with BeautifulSoup's pure-Python parser, only to add `tabindex="0"` to input wrappers and
# outputs and `alt` to images, then serializing it all again: two thirds of the export's
# time, paid by every report (a fleet writes a thousand a night). The same three edits are
# made on the template's output directly, where nbconvert's own markup puts those elements.
_FOCUSABLE = re.compile(r'(<div class="(?:jp-Cell-inputWrapper|[^"]*\bjp-OutputArea-output\b[^"]*)")(?![^>]*\btabindex=)')
_IMG_NO_ALT = re.compile(r"<img\b(?![^>]*\balt=)", re.IGNORECASE)
_NO_ALT_TEXT = "No description has been provided for this image"


def _exporter() -> Any:
    """nbconvert's HTMLExporter without its BeautifulSoup pass (see `_FOCUSABLE`), validating
    the notebook once after its preprocessors rather than after each (`optimistic_validation`)."""
    from nbconvert import HTMLExporter  # heavy import: only where a report is written
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):
        def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> tuple[str, Any]:
            # HTMLExporter.from_notebook_node up to its BeautifulSoup pass.
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code",
                                 self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            page = _FOCUSABLE.sub(r'\1 tabindex="0"', page)
            return _IMG_NO_ALT.sub(f'<img alt="{_NO_ALT_TEXT}"', page), resources

    return ReportExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                          optimistic_validation=True)


def _nbconvert_html(nb: "nbformat.NotebookNode") -> str:
    global _EXPORTER
    with _EXPORTER_LOCK:
        if _EXPORTER is None:
            _EXPORTER = _exporter()
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
    page = make_self_contained(_nbconvert_html(_printable_notebook(nb, lang, findings)))
    title = spec.texts(lang).runbook_title if spec is not None else str(findings.get("runbook", ""))
    page = re.sub(r"<title>.*?</title>", f"<title>{_e(t('report.title', lang, title=title))}</title>", page, count=1, flags=re.DOTALL)
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
