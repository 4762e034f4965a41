"""Golden findings: what every built-in scenario's run says, in en and ja, held still.

A golden file `tests/golden/<scenario>.<lang>.json` is `{"exit_code": N, "findings": {...}}`:
the exit code of `sfdoctor run` and its findings.json, normalized in the manner of nbclient's
golden-notebook tests: every value that changes from run to run of the same tree (times,
durations, report folder names, the simulator's loopback port, session ids, versions) is
replaced by a stable placeholder, so two runs of one tree compare equal and any other
difference is a change in what sfdoctor finds or says.

`tests/golden/update.py` (`make golden`) rewrites them all; `tests/test_golden.py` holds every
run against them.
"""
from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

# (pattern, placeholder), applied in order to every string in the document.
_VOLATILE: list[tuple[re.Pattern[str], str]] = [
    # a Salesforce session id (never expected in findings; stable if one ever is)
    (re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{20,}"), "<SESSION_ID>"),
    # the demo simulator's loopback address: its port is free-chosen per run
    (re.compile(r"(https?://)(127\.0\.0\.1|localhost|\[::1\]):\d+"), r"\1\2:<PORT>"),
    # report folder names end in the run's UTC time: <org>-HHMMSSZ (optionally -N)
    (re.compile(r"\b(\d{4}-\d{2}-\d{2})/([\w.-]+)/([\w.-]+)-\d{6}Z(-\d+)?\b"), r"<DATE>/\2/\3-<HHMMSS>Z"),
    # ISO date-times, with or without seconds, fraction and zone (+0000, +00:00, Z)
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"), "<TIME>"),
    # moments said in words (dates.py): `Dec 6, 2026 09:37` / `2026年12月6日 09:37`, then days
    (re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4} \d{2}:\d{2}\b"), "<TIME>"),
    (re.compile(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}\b"), "<TIME>"),
    (re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}\b"), "<DATE>"),
    # bare dates and clock times left over (Japanese dates included)
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "<DATE>"),
    (re.compile(r"\d{4}年\d{1,2}月\d{1,2}日"), "<DATE>"),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}Z?\b"), "<CLOCK>"),
]
# Keys whose value is volatile whatever it looks like.
_VOLATILE_KEYS = {"duration_ms": "<MS>", "started_at": "<TIME>", "finished_at": "<TIME>",
                  "sfdoctor_version": "<VERSION>", "version": "<VERSION>", "report_id": "<REPORT_ID>"}


def normalize_text(text: str) -> str:
    """A string with every volatile part replaced by its placeholder."""
    for pattern, placeholder in _VOLATILE:
        text = pattern.sub(placeholder, text)
    return text


def normalize(node: Any) -> Any:
    """A findings document (or any JSON value) with volatile values replaced, recursively."""
    if isinstance(node, dict):
        return {normalize_text(k) if isinstance(k, str) else k:
                (_VOLATILE_KEYS[k] if k in _VOLATILE_KEYS and v is not None else normalize(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [normalize(v) for v in node]
    if isinstance(node, str):
        return normalize_text(node)
    return node


def golden_document(result: dict[str, Any]) -> dict[str, Any]:
    """What a run (runbook_harness.run_cli's result) is held to: exit code and normalized
    findings (None when the run wrote no report folder)."""
    return {"exit_code": result["exit"], "findings": normalize(result.get("findings"))}


def golden_path(scenario: str, lang: str) -> Path:
    return GOLDEN_DIR / f"{scenario}.{lang}.json"


def dumps(document: Any) -> str:
    """The one serialization of a golden file (stable key order, readable Japanese)."""
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_golden(scenario: str, lang: str, result: dict[str, Any]) -> Path:
    path = golden_path(scenario, lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(golden_document(result)), encoding="utf-8")
    return path


def diff_against_golden(scenario: str, lang: str, result: dict[str, Any]) -> str:
    """A unified diff from the golden file to this run ("" when equal)."""
    path = golden_path(scenario, lang)
    expected = path.read_text(encoding="utf-8") if path.is_file() else ""
    actual = dumps(golden_document(result))
    if expected == actual:
        return ""
    return "".join(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                        fromfile=f"golden/{path.name}", tofile="this run", n=3))
