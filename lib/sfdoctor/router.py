"""The symptom router behind `sfdoctor diagnose`: which runbook fits an error message or URL.

Each spec lists the error texts, codes and URL fragments that point to it (`symptoms`) and
its cause codes; a pasted message or error page URL is decoded, normalized (NFKC, case-folded)
and scored against every spec, Latin text by words and Japanese by character bigrams.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from .errors import BadInput
from .i18n import Text
from .runbooks import all_specs

if TYPE_CHECKING:
    from .runbooks import RunbookSpec

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_URL_KEYS = ("error", "error_type", "errortype", "error_code", "errorcode", "login_error", "code", "ec", "reason")


def decode_url(text: str) -> str:
    """URL-decode until stable (error pages often arrive encoded twice), `+` as space."""
    for _ in range(5):
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return text


def normalize(text: str) -> str:
    """Decoded, NFKC (full/half width folded), case-folded, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", decode_url(text)).casefold()
    return " ".join(text.split())


def _compact(text: str) -> str:
    """Only letters and digits: punctuation, spaces, underscores and hyphens don't count."""
    return "".join(_WORD.findall(normalize(text)))


def _tokens(text: str) -> set[str]:
    """Words for Latin text, character bigrams for CJK runs (Japanese has no spaces)."""
    out: set[str] = set()
    for word in _WORD.findall(normalize(text)):
        if _CJK.search(word):
            runs = re.findall(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]+|[^\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]+", word)
            for run in runs:
                if _CJK.match(run):
                    out.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
                else:
                    out.add(run)
        elif len(word) > 1:
            out.add(word)
    return out - _STOPWORDS


_STOPWORDS = {"the", "a", "an", "to", "of", "in", "on", "for", "and", "or", "is", "was", "we", "your", "you", "be", "not", "with", "this"}


def found_words(text: str, words: set[str]) -> str:
    """The stretches of the (normalized) text that the shared words cover, in text order,
    overlapping ones merged: what a match names is always found in the text."""
    norm = normalize(text)
    spans: list[list[int]] = []
    for word in words:
        at = norm.find(word)
        if at >= 0:
            spans.append([at, at + len(word)])
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return " … ".join(norm[a:b] for a, b in merged)


def _url_error_values(text: str) -> list[str]:
    """Values of error-ish query parameters in any URL or query string inside the text."""
    values: list[str] = []
    decoded = decode_url(text)
    for candidate in re.findall(r"[?&#]?[\w.-]+=[^\s&#]+(?:&[\w.-]+=[^\s&#]*)*", decoded):
        query = urlsplit(candidate).query if candidate.startswith("http") else candidate.lstrip("?&#")
        for key, value in parse_qsl(query, keep_blank_values=False):
            if key.casefold() in _URL_KEYS:
                values.append(value)
    return values


@dataclass(frozen=True)
class Match:
    spec: RunbookSpec
    score: float
    matched: list[str]

    def __iter__(self):  # lets callers unpack `(spec, score, matched)`
        return iter((self.spec, self.score, self.matched))

    def __repr__(self) -> str:
        return f"Match({self.spec.id!r}, score={self.score}, matched={self.matched!r})"


def _score_spec(spec: RunbookSpec, text: str) -> tuple[float, list[str]]:
    compact = _compact(text)
    tokens = _tokens(text)
    hits: list[tuple[float, str]] = []
    for s in spec.symptoms:
        sym_compact = _compact(s.text)
        if sym_compact and sym_compact in compact:
            hits.append((s.weight, s.text))
            continue
        sym_tokens = _tokens(s.text)
        if not sym_tokens:
            continue
        shared = sym_tokens & tokens
        overlap = len(shared) / len(sym_tokens)
        # One shared word ("token") is no evidence of a phrase; and a hit is named by the words
        # the text itself carries, never by the symptom phrase it only partly matched.
        if overlap >= 0.5 and len(shared) >= 2:
            hits.append((s.weight * 0.8 * overlap, found_words(text, shared)))
    url_values = {_compact(v) for v in _url_error_values(text)}
    for code in spec.causes:
        code_c = _compact(code)
        if code_c in url_values:
            hits.append((1.0, code))
        elif re.search(rf"(?<![a-z0-9]){re.escape(code.casefold())}(?![a-z0-9])", normalize(text).replace(" ", "_")):
            hits.append((0.9, code))
    if not hits:
        return 0.0, []
    # Noisy-or: several independent hints raise confidence, no single one exceeds its weight.
    miss = math.prod(1 - min(w, 0.999) for w, _ in hits)
    matched = [m for _, m in sorted(hits, key=lambda h: -h[0])]
    return round(1 - miss, 3), list(dict.fromkeys(matched))


def diagnose(text: str, specs: list[RunbookSpec] | None = None) -> list[Match]:
    """Runbooks that fit an error message or URL, best first, each with a score in 0..1."""
    if not text or not text.strip():
        raise BadInput(Text("router.nothing"), hint=Text("router.nothing_hint"))
    specs = all_specs() if specs is None else specs
    ranked = []
    for spec in specs:
        score, matched = _score_spec(spec, text)
        if score > 0:
            ranked.append(Match(spec, score, matched))
    return sorted(ranked, key=lambda m: (-m.score, m.spec.id))
