"""An error page's URL, read as a browser shows it: the error type, its description, where.

Sales Insight Actions' "unable to authenticate" page and OAuth redirects carry the error in
the query or the fragment, encoded once, twice or not at all, sometimes inside another URL
in a parameter's value. `parse_error_url` reads every such form, never drops an unknown type
(it is kept verbatim), and never keeps a secret-bearing value (codes, tokens, the state): the
URL it shows is redacted. Pure: no I/O. sia-auth-failure and oauth-connection-failure use it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

RESTRICTED = "restricted_domain"
BLOCKED = "oauth_app_blocked"
OTHER = "other"
NONE = "none"

# Keys that carry the error type, most specific first: `error=` wins over a generic `type=`
# or `reason=` that happens to stand before it (tracking or routing parameters).
_ERROR_KEYS = ("error", "error_type", "errortype", "error_code", "errorcode", "login_error", "loginerror",
               "err", "reason", "type")
_DESCRIPTION_KEYS = ("error_description", "errordescription", "description", "error_message", "message", "msg")
# Never shown, even in a report: an authorisation code, tokens, the CSRF state. The report
# writer's scrubber (scrub.py) removes the same keys' values from every artifact as well.
_SECRET_KEYS = ("code", "state", "access_token", "refresh_token", "id_token", "token", "sid", "session",
                "sessionid", "session_id", "oauth_token", "oauth_verifier", "code_verifier", "assertion",
                "password", "client_secret", "signature")
_REMOVED = "[redacted]"           # scrub.REDACTED: the two layers write the same marker
_NESTING = 3                      # how deep a URL inside a parameter's value is read


@dataclass
class UrlError:
    """What the pasted failure URL says."""

    kind: str                      # restricted_domain | oauth_app_blocked | other | none
    error: str | None = None       # the error type, verbatim (decoded)
    description: str | None = None
    where: str | None = None       # query | fragment | text
    url: str = ""                  # the URL as shown in reports: secret-bearing values removed

    def evidence(self) -> dict[str, Any]:
        return {"kind": self.kind, "error": self.error, "error_description": self.description,
                "found_in": self.where, "url": self.url}


def compact(text: str | None) -> str:
    return re.sub(r"[^0-9a-z]", "", (text or "").casefold())


def _decode(value: str) -> str:
    """`+` as space, %-escapes undone until stable (pages often arrive encoded twice):
    the same decoding `sfdoctor diagnose` applies."""
    from ..router import decode_url  # noqa: PLC0415

    return decode_url(value)


def _kind_of(text: str | None) -> str | None:
    c = compact(text)
    if not c:
        return None
    # Salesforce's own login codes for a domain refusal (LoginHistory "Restricted domain"):
    # LOGIN_ERROR_ORG_DOMAIN_ONLY, LOGIN_ERROR_GLOBAL_BLOCK_DOMAIN (reference §4.1).
    if "restricteddomain" in c or "orgdomainonly" in c or "globalblockdomain" in c:
        return RESTRICTED
    if "oauthappblocked" in c or "appisblockedbyadmin" in c or c == "appblocked":
        return BLOCKED
    return None


def _pairs(part: str) -> list[tuple[str, str]]:
    """key=value pairs of a query string or fragment (`#/route?a=b` as well)."""
    if "=" not in part:
        return []
    if "?" in part.split("=", 1)[0]:
        part = part.split("?", 1)[1]
    return parse_qsl(part, keep_blank_values=True)


def _unwrap(text: str) -> str:
    """A whole URL pasted encoded, once or more (`https%253A%252F%252F...`): decode whole
    layers while no `?`, `#`, `&` or `=` of its own shows yet."""
    for _ in range(5):
        if "%" not in text or re.search(r"[?#&=]", text):
            break
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def _sections(outer: str) -> tuple[Any, list[tuple[str, str]]]:
    """(urlsplit parts or None, [(where, key=value text)]) of a URL, a bare `?query`/`#fragment`
    or a pasted query string."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", outer):
        parts = urlsplit(outer)
        return parts, [("query", parts.query), ("fragment", parts.fragment)]
    if outer.startswith("#"):
        return None, [("fragment", outer.lstrip("#"))]
    return None, [("query", outer.lstrip("?&"))]


def _candidates(where: str, part: str, depth: int = 0) -> list[tuple[str, str, str]]:
    """Every (where, key, decoded value) of a section, and those of a URL or query string that
    sits inside a value (`next=%2Fauth%2Ffailure%3Ferror%3D...`), in order."""
    out: list[tuple[str, str, str]] = []
    for key, value in _pairs(part):
        k = key.strip().casefold()
        v = _decode(value).strip()
        out.append((where, k, v))
        if depth < _NESTING and "=" in v and k not in _SECRET_KEYS:
            inner = v.split("#", 1)
            out += _candidates(where, inner[0], depth + 1)
            if len(inner) > 1:
                out += _candidates("fragment" if where == "query" else where, inner[1], depth + 1)
    return out


def _best(cands: list[tuple[str, str, str]], keys: tuple[str, ...]) -> tuple[str, str] | None:
    """The (where, value) of the most specific key present (non-empty), first one on a tie."""
    ranked = [(keys.index(k), i, where, v) for i, (where, k, v) in enumerate(cands) if k in keys and v]
    return (min(ranked)[2], min(ranked)[3]) if ranked else None


def parse_error_url(text: str) -> UrlError:
    """Classify a pasted failure URL (or query string, or bare error text); never raises."""
    raw = (text or "").strip()
    if not raw:
        return UrlError(NONE)
    outer = _unwrap(raw)
    parts, sections = _sections(outer)
    cands = [c for where, part in sections for c in _candidates(where, part)]
    shown = _redacted(parts, sections) if parts else _redacted_query(outer)
    found_error = _best(cands, _ERROR_KEYS)
    found_description = _best(cands, _DESCRIPTION_KEYS)
    error = found_error[1] if found_error else None
    description = found_description[1] if found_description else None
    where = (found_error or found_description or (None,))[0]
    kind = _kind_of(error) or _kind_of(description)
    if kind is None:
        # A less specific key may still name one of the two kinds (`type=...&reason=oauth_app_blocked`).
        kind = next((kd for _, k, v in cands if k in _ERROR_KEYS + _DESCRIPTION_KEYS for kd in [_kind_of(v)] if kd),
                    None)
    if kind is None and not found_error and not found_description:
        # No error field at all: the operator may have pasted the page's words or a bare code.
        # What is kept is the shown (redacted) text, never the raw paste.
        kind = _kind_of(_decode(outer))
        if kind is not None:
            error, where = (_decode(shown) if "=" in outer else _decode(outer)), "text"
    return UrlError(kind or OTHER, error, description, where, shown)


def _redact_pairs(part: str, depth: int = 0) -> str:
    prefix = ""
    if "=" in part and "?" in part.split("=", 1)[0]:
        prefix, part = part.split("?", 1)
        prefix += "?"
    if "=" not in part:
        return prefix + part
    pairs = []
    for k, v in parse_qsl(part, keep_blank_values=True):
        if k.strip().casefold() in _SECRET_KEYS:
            v = _REMOVED
        else:
            v = _decode(v)
            if depth < _NESTING and "=" in v:       # a URL inside a value: its secrets go too
                head, _, frag = v.partition("#")
                v = _redact_pairs(head, depth + 1) + (f"#{_redact_pairs(frag, depth + 1)}" if frag else "")
        pairs.append((k, v))
    return prefix + urlencode(pairs, safe="[]/:?#=")


def _redacted(parts: Any, sections: list[tuple[str, str]]) -> str:
    query, fragment = (_redact_pairs(p) for _, p in sections)
    url = f"{parts.scheme}://{parts.hostname or ''}{parts.path}"
    return url + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")


def _redacted_query(text: str) -> str:
    if "=" not in text:
        return text[:500]
    lead = text[:1] if text[:1] in "?#" else ""
    return lead + _redact_pairs(text.lstrip("?#&"))


__all__ = ["BLOCKED", "NONE", "OTHER", "RESTRICTED", "UrlError", "compact", "parse_error_url"]
