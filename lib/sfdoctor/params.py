"""Parameter values: a CLI string, a form field or a YAML default turned into a runbook
parameter's type, and held to the validator the spec names.

Every way a value enters a run (`sfdoctor run -p`, the notebook's form, the orgs file's
`[orgs.NAME.params.RUNBOOK]`, a schedule entry, a fleet, `sfdoctor triage`, a demo scenario's
`operator:` answers, a spec's own default) goes through `convert_value`, so a value is read
the same way everywhere and a malformed one is refused the same way, in the run's language
(LocalizedValueError), before any kernel starts.

A choice takes its own values, the labels the form shows for them in either language
(`choice_labels`), and, where the spec says which two choices a yes and a no mean
(`boolean_choices`), a boolean: an operator's `ticked: yes` in a scenario's YAML arrives as
True, and `exclude_api_users: yes` unquoted too.
"""
from __future__ import annotations

import datetime as _dt
import importlib
import re
import unicodedata
from functools import lru_cache
from typing import Any, Callable, Mapping, Protocol

from .errors import BadInput, LocalizedValueError, problem_text
from .i18n import Text, pick, t


class ParameterDecl(Protocol):
    """What conversion reads of a parameter (the spec model and its plain twin both have it)."""

    name: str
    type: str
    choices: list[str]
    choice_labels: dict[str, dict[str, str]]
    boolean_choices: list[str]
    validator: str | None
    split: str


_TRUE = {"1", "true", "yes", "on", "y", "はい"}
_FALSE = {"0", "false", "no", "off", "n", "いいえ", ""}


def convert_value(param: ParameterDecl, value: Any) -> Any:
    """Turn a CLI string (or a YAML/JSON value) into the parameter's type, and hold it to the
    parameter's `validator` if it has one; ValueError says why."""
    converted = _convert(param, value)
    ref = getattr(param, "validator", None)
    if ref and converted not in (None, "", []):
        function_ref(ref)(converted)
    return converted


@lru_cache(maxsize=None)
def function_ref(ref: str) -> Callable[..., Any]:
    """The function a spec names as "sfdoctor.MODULE:FUNCTION" (a parameter's validator, the
    runbook's probe_identity), imported on first use."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def validate_params(spec: Any, params: Mapping[str, Any], lang: str = "en") -> dict[str, Any]:
    """Convert CLI strings (or typed values) to the spec's types, JSON-native as papermill takes
    them; refuse unknown and secret names. BadInput (exit 2) names the parameter and the value."""
    out: dict[str, Any] = {}
    known = {p.name: p for p in spec.parameters}
    for name, raw in params.items():
        p = known.get(name)
        if p is None:
            names = ", ".join(n for n, q in known.items() if not q.secret) or "-"
            raise BadInput(t("params.unknown", lang, runbook=spec.id, name=name), hint=t("params.known", lang, names=names))
        if p.secret:
            raise BadInput(t("params.secret", lang, name=name), hint=t("params.secret_hint", lang))
        try:
            out[name] = jsonable(convert_value(p, raw))
        except ValueError as exc:
            raise BadInput(t("params.bad", lang, name=name, problem=problem_text(exc, lang))) from None
    return out


def orgs_file_params(spec: Any, config: Mapping[str, Any], org: str, source: str | None,
                     lang: str = "en") -> dict[str, Any]:
    """An orgs-file entry's `[orgs.ORG.params.RUNBOOK]` for `spec`, validated as `-p` is; BadInput
    (exit 2) names the file, the org and the parameter. {} for an entry without any."""
    tables = (config or {}).get("params") or {}
    where = f"{source or 'orgs file'}: orgs.{org}.params"
    if not isinstance(tables, Mapping) or not isinstance(tables.get(spec.id) or {}, Mapping):
        raise BadInput(t("params.orgs_file_tables", lang, where=where, org=org))
    try:
        return validate_params(spec, dict(tables.get(spec.id) or {}), lang)
    except BadInput as exc:
        raise BadInput(t("params.in_orgs_file", lang, where=f"{where}.{spec.id}", problem=exc.one_line(lang))) from None


def convert_answers(spec: Any, answers: Mapping[str, Any]) -> dict[str, Any]:
    """An operator's answers (a demo scenario's `operator:`, the demo operator's readings of
    the world) with every key that names one of `spec`'s parameters read by `convert_value`,
    the other keys (a probe password, a world fact) as given. A value its parameter does not
    take raises LocalizedValueError naming the parameter, the value and what it takes: an answer
    is never dropped (a dropped answer hides the world's own and reads as "not answered")."""
    by_name = {p.name: p for p in getattr(spec, "parameters", ()) if not p.secret}
    out = dict(answers)
    for key, value in answers.items():
        param = by_name.get(key)
        if param is None or value is None:
            continue
        try:
            out[key] = jsonable(convert_value(param, value))
        except LocalizedValueError as exc:
            raise LocalizedValueError("params.bad_answer", name=key, problem=exc.message) from None
        except ValueError as exc:
            raise LocalizedValueError("params.bad_answer", name=key, problem=str(exc)) from None
    return out


def choice_label(param: ParameterDecl, value: str, lang: str) -> str:
    """What the form shows for one of a choice's values in `lang` (the value itself when the
    spec gives it no label)."""
    label = (getattr(param, "choice_labels", None) or {}).get(value)
    return label[lang] if label else value


def field_ref(spec: Any, name: str, lang: str) -> str:
    """A parameter named in a sentence a person reads: the label its form field shows, and the
    name the command line takes it by (`-p NAME=…`), never the bare id."""
    return t("params.field_ref", lang, label=pick(spec.parameter(name).label, lang), name=name)


def _accepted(param: ParameterDecl) -> Text:
    """What a choice accepts, said in the reader's language: its values, then its labels in
    both languages, then the booleans where the spec maps them."""
    labels = getattr(param, "choice_labels", None) or {}
    values = ", ".join(repr(c) for c in param.choices)
    shown = "; ".join(" / ".join(labels[c][lang] for lang in ("en", "ja")) for c in param.choices if c in labels)
    if getattr(param, "boolean_choices", None):
        yes, no = param.boolean_choices
        return Text("params.accepted.with_booleans", values=values, labels=shown or "-", yes=yes, no=no)
    return Text("params.accepted.plain", values=values, labels=shown or "-")


def _choice(param: ParameterDecl, value: Any) -> str:
    """A choice's value from its own value, a label in either language, or a boolean."""
    booleans = getattr(param, "boolean_choices", None) or []
    if isinstance(value, bool):
        if booleans:
            return booleans[0] if value else booleans[1]
        raise _bad("choice", value=value, accepted=_accepted(param))
    if not isinstance(value, (str, int, float)):
        raise _bad("choice", value=value, accepted=_accepted(param))
    text = str(value)
    if text in param.choices:
        return text
    wanted = _fold(text)
    for c in param.choices:
        if _fold(c) == wanted:
            return c
    labels = getattr(param, "choice_labels", None) or {}
    for c, label in labels.items():
        if any(_fold(said) == wanted for said in label.values()):
            return c
    if booleans and wanted:
        if wanted in _TRUE:
            return booleans[0]
        if wanted in _FALSE:
            return booleans[1]
    raise _bad("choice", value=value, accepted=_accepted(param))


def _fold(text: str) -> str:
    """Case and surrounding spaces do not matter; neither do full-width forms (NFKC), which a
    Japanese keyboard may type."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _bad(kind: str, **values: Any) -> LocalizedValueError:
    """Why a value does not fit its parameter's type (texts/params.toml [bad_value.*])."""
    return LocalizedValueError(f"params.bad_value.{kind}", **values)


def _convert(param: ParameterDecl, value: Any) -> Any:
    t = param.type
    if t == "choice":
        return _choice(param, value)
    if t == "str":
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise _bad("text", value=value)
        return str(value)
    if t == "int":
        if isinstance(value, bool):
            raise _bad("int", value=value)
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise _bad("int", value=value) from None
    if t == "bool":
        if isinstance(value, bool):
            return value
        s = str(value).strip().casefold()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise _bad("bool", value=value)
    if t == "list":
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value]
        separators = r"\n" if getattr(param, "split", "lines_and_commas") == "lines" else r"[,\n]"
        return [v.strip() for v in re.split(separators, str(value)) if v.strip()]
    if t == "date":
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        try:
            return _dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise _bad("date", value=value) from None
    raise ValueError(f"unknown type {t}")  # pragma: no cover - the model forbids it


def jsonable(value: Any) -> Any:
    """A converted value as papermill and findings.json carry it (dates as ISO text)."""
    if isinstance(value, _dt.date):
        return value.isoformat()
    return value
