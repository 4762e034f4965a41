"""Parameter values: a CLI string, a form field or a YAML default turned into a runbook
parameter's type, and held to the validator the spec names.

Every way a value enters a run (`sfdoctor run -p`, the notebook's form, a schedule, a spec's
own default) goes through `convert_value`, so a malformed value is refused the same way, in
the run's language (LocalizedValueError), before any kernel starts.
"""
from __future__ import annotations

import datetime as _dt
import importlib
import re
from functools import lru_cache
from typing import Any, Callable, Protocol

from .errors import LocalizedValueError


class ParameterDecl(Protocol):
    """What conversion reads of a parameter (the spec model and its plain twin both have it)."""

    type: str
    choices: list[str]
    validator: str | None
    split: str


_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n", ""}


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




def _bad(kind: str, **values: Any) -> LocalizedValueError:
    """Why a value does not fit its parameter's type (texts/params.toml [bad_value.*])."""
    return LocalizedValueError(f"params.bad_value.{kind}", **values)


def _convert(param: ParameterDecl, value: Any) -> Any:
    t = param.type
    if t in ("str", "choice"):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise _bad("text", value=value)
        value = str(value)
        if t == "choice" and value not in param.choices:
            raise _bad("choice", value=value, choices=", ".join(param.choices))
        return value
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
