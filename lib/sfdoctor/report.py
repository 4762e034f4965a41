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

from .findings import CHECK_METADATA, MIMETYPE, RUN_MIMETYPE, Finding
from . import evidence_words
from .dates import times_in_text
from .i18n import t

if TYPE_CHECKING:  # nbformat costs seconds to import (jsonschema): only where reports are written
    import nbformat

    from .runbooks import RunbookSpec

# The notebook session publishes its context (edition, window, login attempts) beside the
# findings: findings.json stays exactly spec/findings.md, the report still knows the rest.
CONTEXT_MIMETYPE = "application/vnd.sfdoctor.context+json"

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
_CAUSE_CODE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_NUMBERED = re.compile(r"^\s*(?:\d+|[A-Z])[.)]\s")  # "1. ", "B. ": a step that carries its own number
_SHORT = 48  # a value this long or shorter shares a line with others; a longer one gets a line of its own


def tidy(text: str, lang: str) -> str:
    """A text as it should read: in Japanese, no space after 、 or 。 (YAML folding and sentences
    joined with a space leave one: 「読み、 失敗した」)."""
    if lang == "ja":
        text = re.sub(r"(?<=[、。])[ \t]+", "", text)
    return text


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


class Words:
    """How one report or card says evidence: its language, the runbook (for the runbook's own
    labels) and the cause titles (a cause code in the evidence reads as its title)."""

    def __init__(self, lang: str, spec: RunbookSpec | None = None):
        self.lang = lang
        self.runbook = spec.id if spec is not None else None
        self._spec = spec

    def label(self, key: Any) -> str:
        # A key without words (a test keeps built-in ones from it) reads as its spaced-out self.
        return evidence_words.label(str(key), self.lang, self.runbook) or str(key).replace("_", " ")

    def cause_title(self, code: str) -> str | None:
        if self._spec is not None and code in self._spec.causes:
            return self._spec.texts(self.lang).cause_title(code)
        return None


def _label_html(key: Any, words: Words) -> str:
    return f'<span class="sfd-label" data-key="{_e(key)}">{_e(words.label(key))}</span>'


def _string_html(value: str, words: Words, key: str | None, limit: int, *, cell: bool = False) -> str:
    if evidence_words.is_machine_value(key, value):
        said = evidence_words.value_words(value, words.lang)
        if said is not None:
            return f'<span class="sfd-word" data-value="{_e(value)}">{_e(said)}</span>'
    if _CAUSE_CODE.match(value) and key not in evidence_words.AS_IS_KEYS:
        title = words.cause_title(value)
        if title:
            return (f'<span class="sfd-cause-ref" data-cause="{_e(value)}">{_e(title)} '
                    f'<code style="{_CODE}{_MUTED}">{_e(value)}</code></span>')
    value = times_in_text(tidy(value, words.lang), words.lang)
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
    return (f'<details class="{cls}" style="margin:0;display:inline;">'
            f'<summary title="{_e(value)}" style="cursor:pointer;display:inline;">{_text_html(head)} '
            f'<span class="sfd-more" style="{_MUTED}font-size:.85em;white-space:nowrap;">… '
            f'<span class="sfd-more-label">{_e(t("report.more", words.lang, n=len(value)))}</span></span></summary>'
            f'<span class="sfd-rest">{_text_html(rest)}</span></details>')


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _is_short(value: Any) -> bool:
    """Fits on a line beside other values: a scalar, or a few short scalars."""
    if isinstance(value, str):
        return len(value) <= _SHORT
    if _is_scalar(value):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_scalar(v) for v in value) and len(", ".join(map(str, value))) <= _SHORT
    if isinstance(value, Mapping):
        return (all(_is_scalar(v) for v in value.values())
                and len(", ".join(f"{k} {v}" for k, v in value.items())) <= _SHORT)
    return False


def evidence_value_html(value: Any, lang: str | Words, *, key: str | None = None, depth: int = 0,
                        limit: int = 140, cell: bool = False) -> str:
    """One evidence value in words: yes/no, a machine value's words, a cause's title, a short
    list on one line, steps and long lists one per line, records as a small table."""
    words = lang if isinstance(lang, Words) else Words(lang)
    if value is None:
        return f'<span style="{_MUTED}">—</span>'
    if isinstance(value, bool):
        return f'<span style="white-space:nowrap;">{_e(t("report.yes" if value else "report.no", words.lang))}</span>'
    if isinstance(value, (int, float)):
        return _e(value)
    if isinstance(value, str):
        return _string_html(value, words, key, limit, cell=cell)
    if depth >= 4:  # deeper than people read: compact JSON, still escaped
        return f'<span style="{_CODE}">{_e(json.dumps(value, ensure_ascii=False, default=str))}</span>'
    if isinstance(value, Mapping):
        if not value:
            return f'<span style="{_MUTED}">{_e(t("report.empty", words.lang))}</span>'
        return _pairs_html(value, words, depth=depth + 1)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        if not items:
            return f'<span style="{_MUTED}">{_e(t("report.empty", words.lang))}</span>'
        if all(isinstance(v, Mapping) for v in items):
            return _rows_table(items, words, depth=depth + 1)
        if all(_is_scalar(v) for v in items) and (cell or all(_is_short(v) and not _NUMBERED.match(str(v)) for v in items)):
            return ", ".join(evidence_value_html(v, words, key=key, depth=depth + 1, limit=limit, cell=cell) for v in items)
        # Sentences or steps: one per line, in full; a step keeps the number it carries.
        numbered = all(isinstance(v, str) and _NUMBERED.match(v) for v in items)
        style = "margin:.1em 0;padding-left:" + ("0;list-style:none;" if numbered else "1.2em;")
        return (f'<ul class="sfd-list" style="{style}">'
                + "".join(f'<li style="margin:0;">{evidence_value_html(v, words, key=key, depth=depth + 1, limit=10_000)}</li>'
                          for v in items)
                + "</ul>")
    return _e(value)


def _pairs_html(mapping: Mapping[str, Any], words: Words, *, depth: int) -> str:
    """A nested mapping on one line: `Label value` pairs for fields, `key value` for data keys
    (a login status and its count, an address and its failures)."""
    parts = []
    for k, v in mapping.items():
        name = _label_html(k, words) if evidence_words.is_field_key(k) else f'<span class="sfd-data-key">{_e(k)}</span>'
        parts.append(f'<span class="sfd-pair" style="white-space:normal;">{name}: '
                     f'{evidence_value_html(v, words, key=str(k), depth=depth, cell=True)}</span>')
    return f'<span class="sfd-pairs">{"; ".join(parts)}</span>'


def _rows_table(items: list[Mapping[str, Any]], words: Words, *, depth: int) -> str:
    keys: dict[str, None] = {}
    for item in items:
        for k in item:
            keys.setdefault(str(k), None)
    head = "".join(f'<th scope="col" style="{_TH}white-space:nowrap;">{_label_html(k, words)}</th>' for k in keys)
    body = "".join(
        f'<tr style="{_TR}">' + "".join(
            f'<td style="{_TD}">{evidence_value_html(item[k], words, key=k, depth=depth, limit=80, cell=True) if k in item else ""}</td>'
            for k in keys) + "</tr>"
        for item in items
    )
    return (f'<table class="sfd-rows" style="{_TABLE}width:auto;max-width:100%;">'
            f'<thead><tr style="{_TR}">{head}</tr></thead><tbody>{body}</tbody></table>')


_GRID = ("display:grid;grid-template-columns:repeat(auto-fill,minmax(16em,1fr));gap:.1em 1.4em;"
         "margin:.25em 0;font-size:.92em;text-align:left;")


def evidence_html(evidence: Mapping[str, Any], lang: str | Words = "en", spec: RunbookSpec | None = None) -> str:
    """Evidence as labelled values in the run's language: short ones side by side, long ones
    and records on a line of their own. Every text escaped."""
    if not evidence:
        return ""
    words = lang if isinstance(lang, Words) else Words(lang, spec)
    items = []
    for key, value in evidence.items():
        wide = "" if _is_short(value) else "grid-column:1/-1;"
        items.append(f'<div class="sfd-ev" data-key="{_e(key)}" style="{wide}min-width:0;overflow-wrap:anywhere;">'
                     f'<span style="{_MUTED}">{_label_html(key, words)}:</span> '
                     f'{evidence_value_html(value, words, key=str(key))}</div>')
    return f'<div class="sfd-evidence" style="{_GRID}">{"".join(items)}</div>'


# ---------------------------------------------------------------- fixes
def steps_html(fix: str, lang: str = "en") -> str:
    """A fix text as people follow it: each line its own block; a numbered step ("1. ", "A. ")
    hangs its number so that a long step wraps under its own text."""
    out = []
    for line in _step_lines(tidy(fix.strip(), lang)):
        if not line.strip():
            continue
        hang = "padding-left:1.4em;text-indent:-1.4em;" if _NUMBERED.match(line) else ""
        out.append(f'<div class="sfd-step" style="margin:.1em 0;{hang}">{_text_html(line.strip())}</div>')
    return f'<div class="sfd-steps">{"".join(out)}</div>'


def _step_lines(text: str) -> list[str]:
    """A fix's lines, with steps written inline ("… outdated. 1. Find … 2. Enter …") each on a
    line of its own: a split before "N. " only where N counts up from 1 after a sentence's end."""
    lines = []
    for line in text.splitlines():
        cuts, n, at = [], 1, 0
        while True:
            m = re.compile(rf"(?:(?<=[.:)]) +|(?<=[。：）]) *|^){n}\. ").search(line, at)
            if not m or (n == 1 and m.start() == 0):
                break
            cuts.append(m.start())
            n, at = n + 1, m.end()
        if len(cuts) >= 2:
            bounds = [0, *cuts, len(line)]
            lines += [line[a:b].strip() for a, b in zip(bounds, bounds[1:]) if line[a:b].strip()]
        else:
            lines.append(line)
    return lines


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
        ref = t("report.fix_in_summary", lang)
        return (f'<div class="sfd-fix sfd-fix-ref" style="margin-top:.2em;font-size:.92em;">{label}'
                f'<a href="#{_fix_anchor(cause)}">{_e(ref)}</a></div>')
    if cause and shown_above:
        ref = t("report.fix_above", lang, title=shown_above)
        return f'<div class="sfd-fix sfd-fix-ref" style="margin-top:.2em;font-size:.92em;">{label}{_e(ref)}</div>'
    return f'<div class="sfd-fix" style="{_FIX_BOX}">{label}{steps_html(fix, lang)}</div>'


def finding_card_html(
    f: Finding | Mapping[str, Any],
    lang: str,
    *,
    spec: RunbookSpec | None = None,
    fix_shown_above: str | None = None,
    fix_in_summary: bool = False,
    fold: bool = False,
) -> str:
    """One finding as a card that carries its own styling: badge, title, summary, evidence, fix.

    `fix_shown_above`: the title of an earlier check whose card already showed this cause's
    fix (a short reference replaces the steps); `fix_in_summary`: the report's summary holds it.
    `fold`: the evidence folds away behind one line (the report does so for a check that passed
    or was skipped: what is wrong reads first, what is fine is one click away).
    """
    d = f.to_json() if isinstance(f, Finding) else dict(f)
    status = str(d.get("status", "error"))
    accent = STATUS_STYLE.get(status, STATUS_STYLE["skip"])[1]
    box = _CARD_BOX + (f"padding:.25em .8em;margin:.3em 0;" if fold else "")
    head = (f'{status_badge(status, lang)} <strong style="font-size:1.02em;">{_e(d.get("title", ""))}</strong>')
    if d.get("cause"):
        head += (f' <code class="sfd-cause" style="{_CODE}{_MUTED}font-size:.78em;padding:0 .3em;border:1px solid {_LINE};'
                 f'border-radius:3px;">{_e(d["cause"])}</code>')
    evidence = evidence_html(d.get("evidence") or {}, Words(lang, spec))
    if evidence and fold:
        head += f' <span class="sfd-values-hint" style="{_MUTED}font-size:.85em;">({_e(t("report.values", lang))})</span>'
    if d.get("summary"):
        head += f' <span class="sfd-summary-text" style="display:block;margin:.1em 0 .15em 0;">{_text_html(tidy(d["summary"], lang))}</span>'
    parts = [f'<div class="sfd-card sfd-card-{_e(status)}" id="sfd-check-{_e(d.get("id", ""))}" style="{box}border-left:6px solid {accent};{_EXACT}">']
    if evidence and fold:
        # The whole head opens the values: one line less for every check that is fine.
        parts.append(f'<details class="sfd-fold" style="margin:0;"><summary class="sfd-card-head" style="cursor:pointer;margin:0;">'
                     f"{head}</summary>{evidence}</details>")
    else:
        parts.append(f'<div class="sfd-card-head" style="margin:0;">{head}</div>{evidence}')
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


_H2 = "font-size:1.2em;margin:.2em 0 .35em 0;padding-bottom:.15em;border-bottom:2px solid " + _LINE + ";"
_H3 = "font-size:1.05em;font-weight:600;margin:.5em 0 .15em 0;"


def _cases(findings: Mapping[str, Any], cause: str, status: str) -> list[str]:
    """What the checks that found `cause` say about this org (their summaries), once each."""
    seen: dict[str, None] = {}
    for c in findings.get("checks", []):
        if c.get("cause") == cause and c.get("status") == status and c.get("summary"):
            seen.setdefault(" ".join(str(c["summary"]).split()), None)
    return list(seen)


def summary_html(findings: Mapping[str, Any], lang: str, spec: RunbookSpec | None = None) -> str:
    """The answer: the outcome, then each cause found with its title, what this org's checks
    found (the case and its values) and the steps; then each warning the same way, smaller.

    Each cause's steps stand here once (anchor `sfd-fix-CAUSE`); the cards point to them.
    """
    outcome = findings.get("outcome", "error")
    accent = {"healthy": "#1a7f37", "problems_found": "#cf222e"}.get(outcome, "#9a6700")
    texts = spec.texts(lang) if spec is not None else None
    fixes = summary_fixes(findings)

    def cause_block(cause: str, status: str) -> str:
        title = texts.cause_title(cause) if texts is not None and cause in spec.causes else cause  # type: ignore[union-attr]
        color = STATUS_STYLE[status]
        note = f' <span style="{_MUTED}font-size:.85em;font-weight:400;">({_e(t("report.fix_then", lang))})</span>' if status == "warn" else ""
        case = "".join(f'<p class="sfd-case" style="margin:.1em 0;">{_text_html(tidy(s, lang))}</p>' for s in _cases(findings, cause, status))
        fix = fixes.get(cause, ("", ""))[0]
        steps = (f'<div class="sfd-first-steps" style="margin-top:.25em;"><strong>{_e(t("report.summary.steps", lang))}</strong>'
                 f"{steps_html(fix, lang)}</div>") if fix else ""
        size = "font-size:.94em;" if status == "warn" else ""
        return (f'<div id="{_fix_anchor(cause)}" class="sfd-cause-block sfd-first-{status}" style="border-left:3px {color[4]} {color[1]};'
                f'padding:.05em 0 .2em .8em;margin:.5em 0;break-inside:avoid;page-break-inside:avoid;{size}">'
                f'<h3 style="{_H3}">{_e(title)} <code class="sfd-cause" style="{_CODE}{_MUTED}font-weight:400;font-size:.8em;">{_e(cause)}</code>{note}</h3>'
                f"{case}{steps}</div>")

    blocks = [cause_block(c, "fail") for c in findings.get("root_causes", [])]
    blocks += [cause_block(c, "warn") for c in findings.get("warnings", [])]
    if outcome in ("inconclusive", "error"):
        reasons = findings.get("reasons") or []
        items = "".join(f"<li>{_text_html(tidy(str(r), lang))}</li>" for r in reasons)
        blocks.insert(0, f'<p style="margin:.2em 0;">{_e(t("report.summary.first_error", lang))}</p>'
                      + (f'<ul class="sfd-reasons" style="margin:.2em 0;padding-left:1.4em;">{items}</ul>' if items else ""))
    elif not blocks:
        blocks.append(f'<p style="margin:.2em 0;">{_e(t("report.summary.first_none", lang))}</p>')
    manual = [c for c in findings.get("checks", []) if c.get("status") == "manual"]
    if manual:
        names = ", ".join(f'<a href="#sfd-check-{_e(c.get("id"))}">{_e(c.get("title", ""))}</a>' for c in manual)
        blocks.append(f'<p class="sfd-left" style="margin:.4em 0 0 0;">{_e(t("report.summary.left_for_you", lang))} {names}</p>')
    box = (f"font-family:{_FONT};line-height:1.45;text-align:left;border:2px solid {accent};border-left-width:8px;"
           f"border-radius:6px;padding:.35em 1em .6em 1em;margin:.6em 0;{_EXACT}")
    return (
        f'<section class="sfd-summary sfd-outcome-{_e(outcome)}" id="sfd-summary" data-outcome="{_e(outcome)}" style="{box}">'
        f'<p class="sfd-outcome" style="font-size:1.25em;margin:.1em 0 .2em 0;"><span class="sfd-outcome-label">{_e(t("report.summary.outcome", lang))}:</span> '
        f'<strong>{_e(t("outcome." + outcome, lang))}</strong></p>'
        + "".join(blocks) + "</section>"
    )


def _duration(findings: Mapping[str, Any]) -> str:
    from .findings import parse_iso

    start, end = parse_iso(findings.get("started_at")), parse_iso(findings.get("finished_at"))
    return f"{(end - start).total_seconds():.0f} s" if start and end else ""


def looked_at_html(findings: Mapping[str, Any], context: Mapping[str, Any], lang: str, spec: RunbookSpec | None) -> str:
    """The run's details, last and small: runbook, org, edition, window, API calls, login
    attempts, times, parameters (each by its form label), sfdoctor's version."""
    unknown = t("report.looked.unknown", lang)
    params = findings.get("parameters") or {}
    window = context.get("window")
    if not window and isinstance(params.get("days"), int):
        window = t("report.looked.window_days", lang, days=params["days"])
    runbook = findings.get("runbook", "")
    if spec is not None:
        runbook = f"{spec.texts(lang).runbook_title} ({spec.id})"
    attempts = context.get("login_attempts")
    run_time = times_in_text(f"{findings.get('started_at', '')} – {findings.get('finished_at', '')}", lang)
    if _duration(findings):
        run_time += f" ({_duration(findings)})"
    rows: list[tuple[str, Any]] = [
        ("report.looked.runbook", runbook),
        ("report.looked.org", findings.get("org", "")),
        ("report.looked.edition", context.get("edition") or unknown),
        ("report.looked.window", window or unknown),
        ("report.looked.api_calls", findings.get("api_calls", 0)),
        ("report.looked.login_attempts", unknown if attempts is None else attempts),
        ("report.looked.run_time", run_time),
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
    if findings.get("sfdoctor_version"):
        rows.append(("report.looked.version", findings["sfdoctor_version"]))
    words = Words(lang, spec)
    cells = [f'<div><span style="{_MUTED}">{_e(t(k, lang))}:</span> {_e(v)}</div>' for k, v in rows]
    for name, value in params.items():
        label = name
        if spec is not None and any(p.name == name for p in spec.parameters):
            label = spec.texts(lang).label(name)
        shown = evidence_value_html(value, words, key=name) if value not in ("", None) else f'<span style="{_MUTED}">—</span>'
        cells.append(f'<div class="sfd-param" data-param="{_e(name)}"><span style="{_MUTED}">{_e(label)}:</span> {shown}</div>')
    return (f'<section class="sfd-looked" id="sfd-looked" style="font-size:.85em;margin-top:1.2em;">'
            f'<h2 style="{_H2}font-size:1.1em;">{_e(t("report.looked.title", lang))}</h2>'
            f'<div class="sfd-looked-values" style="{_GRID}font-size:1em;">{"".join(cells)}</div></section>')


def header_html(findings: Mapping[str, Any], context: Mapping[str, Any], lang: str, spec: RunbookSpec | None) -> str:
    """The top of the report: the title, one line on which org and when, the answer, and the
    heading of the checks that follow it."""
    title = spec.texts(lang).runbook_title if spec is not None else findings.get("runbook", "")
    return (
        '<header class="sfd-report">'
        f'<h1>{_e(t("report.title", lang, title=title))}</h1>'
        f'<p class="sfd-generated">{_e(t("report.generated", lang, org=findings.get("org", ""), time=times_in_text(str(findings.get("finished_at", "")), lang)))}</p>'
        + summary_html(findings, lang, spec)
        + f'<h2 class="sfd-checks-title" id="sfd-checks">{_e(t("report.checks.title", lang))}</h2>'
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


def _checks_notebook(
    nb: "nbformat.NotebookNode",
    findings: Mapping[str, Any],
    lang: str,
    spec: RunbookSpec | None = None,
) -> "nbformat.NotebookNode":
    """The report's checks as a notebook for nbconvert: one cell per check of findings.json, in
    run order, holding its card and what the notebook showed under it (a table, a chart, why a
    cell broke). Each check stands once.

    The notebook's own cards, markdown and closing summary are left out: the answer above says
    what the summary said, the cards are drawn again from findings.json (so the report says the
    truth even when the notebook broke, and a report from an older notebook looks like a new
    one), and the notebook's prose, written in both languages for JupyterLab, is not the report's.
    An output before any card stands first; a check the notebook never showed (the runner's
    `run` error) gets a cell of its own. No widget state, no code.
    """
    import nbformat

    fixes = summary_fixes(findings)
    checks = list(findings.get("checks", []))
    extras: dict[int, list[Any]] = {}   # index in checks -> outputs shown under its card
    before: list[Any] = []              # outputs before the first card
    taken: set[int] = set()
    current: int | None = None
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data is not None:
                card = data.get(MIMETYPE)
                if isinstance(card, dict) and card.get("id"):
                    # The next check of findings.json with this id that no card claimed yet.
                    current = next((i for i, c in enumerate(checks) if i not in taken and c.get("id") == card["id"]), current)
                    if current is not None:
                        taken.add(current)
                    continue
                if RUN_MIMETYPE in data or CONTEXT_MIMETYPE in data:
                    continue
                data = {k: v for k, v in data.items() if k not in _DROP_MIMES}
                if not data:
                    continue
                out = nbformat.from_dict({**out, "data": data})
            if out.get("output_type") == "error":
                # Show why a cell broke as plain text, without ANSI colour codes.
                tb = "\n".join(re.sub(r"\x1b\[[0-9;]*m", "", line) for line in out.get("traceback", []))
                out = nbformat.v4.new_output("stream", name="stderr", text=tb or f"{out.get('ename')}: {out.get('evalue')}")
            # An output that names its check goes under that check's card; any other under
            # the card shown last before it.
            owner = (out.get("metadata") or {}).get(CHECK_METADATA)
            at = next((i for i in range(len(checks) - 1, -1, -1) if checks[i].get("id") == owner), current)
            (before if at is None else extras.setdefault(at, [])).append(out)
    printable = nbformat.v4.new_notebook()
    printable.metadata = {k: v for k, v in nb.metadata.items() if k != "widgets"}
    cells = [nbformat.v4.new_code_cell("", outputs=before)] if before else []
    shown: dict[tuple[str, str], str] = {}
    for i, c in enumerate(checks):
        above = None
        if c.get("cause") and c.get("fix") and not _in_summary(c, fixes):
            above = shown.get((c["cause"], c["fix"]))
            shown.setdefault((c["cause"], c["fix"]), c.get("title", ""))
        card = finding_card_html(c, lang, spec=spec, fix_shown_above=above, fix_in_summary=_in_summary(c, fixes),
                                 fold=c.get("status") in ("pass", "skip"))
        outputs = [nbformat.v4.new_output("display_data", data={"text/html": card, "text/plain": str(c.get("id"))}),
                   *extras.get(i, [])]
        cells.append(nbformat.v4.new_code_cell("", outputs=outputs))
    printable.cells = cells
    return printable


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
    """The shareable report page, top-down: the answer, each check once (with what the notebook
    showed under it), the run's details last. Code hidden, nothing fetched."""
    page = make_self_contained(_nbconvert_html(_checks_notebook(nb, findings, lang, spec)))
    # nbconvert's stand-in description of an image is English; a reader of either language gets theirs.
    page = page.replace(f'alt="{_NO_ALT_TEXT}"', f'alt="{html.escape(t("report.image_alt", lang), quote=True)}"')
    title = spec.texts(lang).runbook_title if spec is not None else str(findings.get("runbook", ""))
    page = re.sub(r"<title>.*?</title>", f"<title>{_e(t('report.title', lang, title=title))}</title>", page, count=1, flags=re.DOTALL)
    page = re.sub(r"<html[^>]*>", f'<html lang="{_e(lang)}">', page, count=1)
    page = page.replace("</head>", f'<style id="sfd-style">{css()}</style></head>', 1)
    header = header_html(findings, context or {}, lang, spec)
    page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + header, page, count=1)
    details = f'<footer class="sfd-report">{looked_at_html(findings, context or {}, lang, spec)}</footer>'
    return page.replace("</body>", details + "</body>", 1)


def context_from_notebook(nb: "nbformat.NotebookNode") -> dict[str, Any]:
    """The last context the notebook published (edition, window, login attempts), or {}."""
    ctx: dict[str, Any] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data") or {}
            if CONTEXT_MIMETYPE in data and isinstance(data[CONTEXT_MIMETYPE], dict):
                ctx = dict(data[CONTEXT_MIMETYPE])
    return ctx
