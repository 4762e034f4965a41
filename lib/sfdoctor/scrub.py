"""Remove secrets from every artifact (principle 4): notebooks, HTML, JSON, logs.

Two nets, both always applied:
* known values — every password, token, password+token, client secret and access token the
  run could have touched (`known_secrets`, `Connection.secrets`), also in their URL-, HTML-
  and JSON-escaped spellings;
* shapes — Salesforce session ids, `Bearer …`, `Authorization:` headers, `<sessionId>`,
  `<password>`, `access_token`/`client_secret`/`password` JSON or form values, and the OAuth
  values of a URL's query or fragment (`code=`, `state=`, `access_token=`, `sid=`) — for the
  secrets nobody told us about.

Notebooks get more: papermill leaves every parameter twice (the `injected-parameters` cell
and `metadata.papermill.parameters`) and executed widgets leave their state in
`metadata.widgets`, which nbconvert embeds in the HTML even with inputs hidden (DESIGN.md,
"Lessons from the field"). Widget state goes entirely; secret-named parameters are dropped.
"""
from __future__ import annotations

import copy
import html
import json
import re
from typing import Any, Iterable, Mapping
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
MIN_SECRET_LEN = 4  # shorter "secrets" would shred ordinary text

# Parameter / key names that hold secrets (not references: `*_env`, `*_keyring` are fine).
# A name holds a secret when its last word is the secret's noun (`password`, `probe_token`,
# `client_secret`, `sessionId`, `password_and_token`), not when a secret's word only qualifies
# another noun (`password_expires_in`, `password_policy`, `token_reset_at`): those are facts
# about a secret, which a report must be able to show.
_SECRET_TAIL = re.compile(
    r"(?:^|_)(password|passwd|secret|token|session_?id|sid|authorization|private_?key|api_?key|assertion)$",
    re.IGNORECASE)
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_REF_NAME = re.compile(r"_(env|keyring|ref|file|path)$", re.IGNORECASE)

# An SFDX auth URL (force://CLIENT_ID:SECRET:REFRESH_TOKEN@HOST) carries a refresh token.
_SFDX_AUTH_URL = re.compile(r"force://[^\s\"'<>]+@[A-Za-z0-9.:_-]+", re.IGNORECASE)
_SF_SESSION = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{20,}")
_BEARER = re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=!-]{8,}", re.IGNORECASE)
_AUTH_HEADER = re.compile(r"(\bAuthorization\s*:\s*)(?![\"'])[^\r\n<]+", re.IGNORECASE)
_AUTH_QUOTED = re.compile(r"""((["'])Authorization\2\s*:\s*)(["'])(?:(?!\3).)*\3""", re.IGNORECASE)
_XML_SECRET = re.compile(
    r"(<(?:[\w.-]+:)?(sessionId|password|client_secret|access_token)\b[^>]*>)[^<]*(</(?:[\w.-]+:)?\2>)",
    re.IGNORECASE)
_SECRET_KEYS = r"access_token|refresh_token|client_secret|password|security_token|session_?id|sessionId|assertion"
_JSON_SECRET = re.compile(
    r"""((["'])(?:""" + _SECRET_KEYS + r""")\2\s*:\s*)(["'])(?:\\.|(?!\3).)*\3""", re.IGNORECASE)
# `&quot;access_token&quot;: &quot;…&quot;` as JSON shows up inside HTML-escaped output
_JSON_SECRET_HTML = re.compile(
    r"(&quot;(?:" + _SECRET_KEYS + r")&quot;\s*:\s*&quot;).*?(&quot;)", re.IGNORECASE)
# form bodies and query strings only (after `?`, `&` or at a line start), not `f(password=pw)` in code
_FORM_SECRET = re.compile(r"((?:^|(?<=[?&]))(?:" + _SECRET_KEYS + r")=)[^&\s\"'<]+", re.IGNORECASE | re.MULTILINE)
# OAuth values a browser URL carries in its query or fragment (an authorisation code, the CSRF
# state, tokens, a session id): a pasted failure page's URL is a runbook parameter (papermill
# writes it into the injected cell and metadata.papermill.parameters, the run into
# findings.json), so the values go wherever the URL went: raw, HTML-escaped (`&amp;code=`),
# JSON-escaped (`\u0026code=`) or percent-encoded once or more (`%26code%3D`, `%2526code%253D`).
_URL_SECRET_KEYS = (r"code|state|access_token|refresh_token|id_token|oauth_token|oauth_verifier|code_verifier"
                    r"|sid|token|assertion|client_secret")
_URL_SECRET = re.compile(
    r"((?:(?<=[?&#])|(?<=&amp;)|(?<=\\u0026))(?:" + _URL_SECRET_KEYS + r")=)[^&#\s\"'<>\\]+", re.IGNORECASE)
_URL_SECRET_ENCODED = re.compile(
    r"(%(?:25)*(?:3F|26|23)(?:" + _URL_SECRET_KEYS + r")%(?:25)*3D)(?:(?!%(?:25)*(?:26|23))[^&#\s\"'<>\\])+",
    re.IGNORECASE)
_URL_KEY_WORDS = ("code", "state", "token", "sid", "verifier", "assertion", "secret")  # each key ends in one

_BINARY_MIME = re.compile(r"^(image/(png|jpeg|gif|webp|bmp)|application/(pdf|octet-stream))$")


def is_secret_name(name: str) -> bool:
    """A parameter or key that would hold a secret value (references like `token_env` do not,
    nor facts about a secret like `password_expires_in`)."""
    words = _CAMEL_BOUNDARY.sub("_", name.strip()).replace("-", "_").lower()
    return bool(_SECRET_TAIL.search(words)) and not _REF_NAME.search(words)


def _variants(secret: str) -> set[str]:
    """The spellings a value takes in URLs, HTML, XML and JSON."""
    out = {secret, quote(secret, safe=""), quote_plus(secret), html.escape(secret, quote=True),
           html.escape(secret, quote=False), json.dumps(secret)[1:-1]}
    out.add(html.escape(json.dumps(secret)[1:-1], quote=True))
    return {v for v in out if len(v) >= MIN_SECRET_LEN}


def _prepare(secrets: Iterable[str]) -> list[str]:
    values: set[str] = set()
    for s in secrets or ():
        if isinstance(s, str) and len(s) >= MIN_SECRET_LEN:
            values |= _variants(s)
    return sorted(values, key=len, reverse=True)  # longest first: "pw+token" before "pw"


_NUMERIC_REF = re.compile(r"&#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}));")


def _harmless_ref(m: re.Match[str]) -> str:
    """`&#45;` → `-`: the same page, but a secret can no longer hide behind entity spelling.
    HTML-special characters stay encoded so the markup means what it meant."""
    code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
    if code > 0x10FFFF:
        return m.group(0)
    char = chr(code)
    return m.group(0) if char in "<>&\"'" or not char.isprintable() else char


# A word each shape needs in order to match (lower case): a text without it skips that
# pattern. Most strings in a notebook hold none of them, and the patterns cost most of the
# scrubbing time otherwise.
_KEY_WORDS = ("access_token", "refresh_token", "client_secret", "password", "security_token", "session", "assertion")


def _scrub(text: str, prepared: list[str]) -> str:
    if "&#" in text:
        text = _NUMERIC_REF.sub(_harmless_ref, text)
    for value in prepared:
        if value in text:
            text = text.replace(value, REDACTED)
    lower = text.lower()
    if "force://" in lower:
        text = _SFDX_AUTH_URL.sub(REDACTED, text)
    if "00d" in lower:
        text = _SF_SESSION.sub(REDACTED, text)
    if "authorization" in lower:
        text = _AUTH_QUOTED.sub(lambda m: f"{m.group(1)}{m.group(3)}{REDACTED}{m.group(3)}", text)
        text = _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    if "bearer" in lower:
        text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    if any(word in lower for word in _KEY_WORDS):
        text = _XML_SECRET.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
        text = _JSON_SECRET.sub(lambda m: f"{m.group(1)}{m.group(3)}{REDACTED}{m.group(3)}", text)
        text = _JSON_SECRET_HTML.sub(lambda m: m.group(1) + REDACTED + m.group(2), text)
        text = _FORM_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    if any(word + "=" in lower or word + "%" in lower for word in _URL_KEY_WORDS):   # `code=`, `code%3D`
        text = _URL_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
        text = _URL_SECRET_ENCODED.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret and every secret-looking pattern replaced by `[redacted]`."""
    if not text:
        return text
    return _scrub(text, _prepare(secrets))


# What in an exported page cannot carry a secret that scrubbing could find: style sheets
# (nbconvert's template and ours; outputs' own are scrubbed in the notebook before export)
# and base64 images (opaque to any pattern). About two thirds of a report page.
_INERT_HTML = re.compile(r"<style\b[^>]*>.*?</style>|data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+",
                         re.DOTALL | re.IGNORECASE)


def scrub_html(page: str, secrets: Iterable[str] = ()) -> str:
    """`scrub_text` for an exported HTML page, passing over its style sheets and base64 images."""
    if not page:
        return page
    prepared = _prepare(secrets)
    parts: list[str] = []
    last = 0
    for m in _INERT_HTML.finditer(page):
        parts.append(_scrub(page[last:m.start()], prepared))
        parts.append(m.group(0))
        last = m.end()
    parts.append(_scrub(page[last:], prepared))
    return "".join(parts)


def _scrub_obj(obj: Any, prepared: list[str]) -> Any:
    if isinstance(obj, str):
        return _scrub(obj, prepared)
    if isinstance(obj, Mapping):
        out = {}
        for key, value in obj.items():
            new_key = _scrub(key, prepared) if isinstance(key, str) else key
            if isinstance(key, str) and is_secret_name(key) and isinstance(value, str) and value:
                out[new_key] = REDACTED
            else:
                out[new_key] = _scrub_obj(value, prepared)
        return type(obj)(out) if type(obj) is not dict and _rebuildable(obj) else out
    if isinstance(obj, list):
        return [_scrub_obj(v, prepared) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_scrub_obj(v, prepared) for v in obj)
    return obj


def _rebuildable(obj: Mapping) -> bool:
    try:
        type(obj)({})
        return True
    except Exception:
        return False


def scrub_obj(obj: Any, secrets: Iterable[str] = ()) -> Any:
    """A scrubbed copy of a JSON-like object (dicts, lists, strings); values of secret-named
    keys (`password`, `client_secret`, ...) are redacted whatever they hold."""
    return _scrub_obj(obj, _prepare(secrets))


_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")


def _drop_param_lines(source: str, drop: set[str], *, by_name: bool) -> str:
    """Remove `name = value` lines of secret parameters (papermill writes one per line)."""
    kept = []
    for line in source.splitlines(keepends=True):
        m = _ASSIGN.match(line)
        if m and (m.group(1) in drop or (by_name and is_secret_name(m.group(1)))):
            continue
        kept.append(line)
    return "".join(kept)


def _join(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else (source or "")


def scrub_notebook(nb: Any, secrets: Iterable[str] = (), *, secret_params: Iterable[str] = ()) -> Any:
    """A scrubbed copy of a notebook (nbformat NotebookNode or plain dict).

    Removes `metadata.widgets` and widget-view outputs, drops secret parameters (those in
    `secret_params` and any secret-named one) from the `injected-parameters` cell and from
    `metadata.papermill.parameters`, then scrubs every string left: sources, outputs of every
    text mimetype, tracebacks, metadata. Binary outputs (PNG, PDF) are left as they are.
    """
    nb = copy.deepcopy(nb)
    prepared = _prepare(secrets)
    drop = set(secret_params)
    meta = nb.get("metadata")
    if isinstance(meta, dict):
        meta.pop("widgets", None)
        papermill = meta.get("papermill")
        if isinstance(papermill, dict) and isinstance(papermill.get("parameters"), dict):
            params = papermill["parameters"]
            for name in list(params):
                if name in drop or is_secret_name(name):
                    del params[name]
    for cell in nb.get("cells", []):
        cell_meta = cell.get("metadata") or {}
        cell_meta.pop("widgets", None)
        tags = cell_meta.get("tags") or []
        if "injected-parameters" in tags or "parameters" in tags:
            by_name = "injected-parameters" in tags
            cell["source"] = _drop_param_lines(_join(cell.get("source")), drop, by_name=by_name)
        for output in cell.get("outputs", []) or []:
            data = output.get("data")
            if isinstance(data, dict):
                data.pop("application/vnd.jupyter.widget-view+json", None)
                data.pop("application/vnd.jupyter.widget-state+json", None)
                for mime in list(data):
                    if _BINARY_MIME.match(mime):
                        continue
                    data[mime] = _scrub_obj(data[mime], prepared)
            for key in list(output):
                if key != "data":
                    output[key] = _scrub_obj(output[key], prepared)
        for key in list(cell):
            if key != "outputs":
                cell[key] = _scrub_obj(cell[key], prepared)
    if isinstance(meta, dict):
        for key in list(meta):
            meta[key] = _scrub_obj(meta[key], prepared)
    return nb


# --------------------------------------------------------------------------- known secrets

_SECRET_FIELDS = ("password", "security_token", "client_secret", "probe_password", "probe_token", "token")


def _collect(node: Any, out: set[str]) -> None:
    """Every secret-named string in a scenario / info document, plus password+token pairs."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if isinstance(value, str) and isinstance(key, str) and (key in _SECRET_FIELDS or is_secret_name(key)):
                out.add(value)
            else:
                _collect(value, out)
        pw = node.get("password") or node.get("probe_password")
        tok = node.get("security_token") or node.get("probe_token")
        if isinstance(pw, str) and isinstance(tok, str):
            out.add(pw + tok)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _collect(value, out)


def _scenario_document(scenario_ref: str | None) -> Any:
    """The scenario as loaded (defaults filled in) or, failing that, its raw YAML."""
    try:
        from sfdoctor.demo.scenario import load_scenario

        scenario = load_scenario(scenario_ref) if scenario_ref else None
        if scenario is not None:
            return scenario.model_dump(mode="json") if hasattr(scenario, "model_dump") else scenario
    except ImportError:
        pass
    if scenario_ref and scenario_ref.endswith((".yml", ".yaml")):
        import yaml

        with open(scenario_ref, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    return None


def known_secrets(org_ref: Any, conn: Any = None) -> set[str]:
    """The secret values a run on `org_ref` could have touched, for the scrubbers.

    Demo: every password, token, password+token, client secret in the scenario (loaded with
    its defaults), the demo OAuth app's secret and the operator's probe answers. Real org: the
    values behind the orgs file's `_env` / `_keyring` references that are set. Plus whatever
    the connection collected (`conn.secrets`: access tokens included).
    """
    out: set[str] = set()
    if getattr(org_ref, "is_demo", False):
        _collect(_scenario_document(org_ref.scenario_ref), out)
        try:
            from sfdoctor.demo import store

            out.add(getattr(store, "DEMO_CLIENT_SECRET", ""))
        except ImportError:
            pass
    elif org_ref is not None:
        from sfdoctor.credentials import read_ref
        from sfdoctor.errors import OrgConfigError

        def walk(table: Mapping[str, Any], where: str) -> None:
            for key, value in table.items():
                if isinstance(value, Mapping):
                    walk(value, f"{where}.{key}")
                    continue
                for suffix in ("_env", "_keyring"):
                    if key.endswith(suffix):
                        try:
                            got = read_ref(table, key[: -len(suffix)], where=where, required=False)
                        except OrgConfigError:
                            got = None
                        if got:
                            out.add(got)
        walk(getattr(org_ref, "config", {}) or {}, f"orgs.{getattr(org_ref, 'name', '?')}")
    if conn is not None:
        out |= set(getattr(conn, "secrets", ()) or ())
        info = getattr(conn, "info", None)   # the demo simulator's info document (demo/info.py)
        if info is not None:
            _collect(info.to_json(), out)
    return {s for s in out if isinstance(s, str) and len(s) >= MIN_SECRET_LEN}
