"""Runbook specs (`runbooks/<id>.yml`): the models, loading and validation, and their texts.

One YAML file is the single source for a runbook's title, the error texts that point to it,
its parameters and its causes with their fixes (DESIGN principle 2). The form, the runner's
parameter validation, `sfdoctor diagnose` and the report all read it through this module,
so a malformed spec must fail here, at load time, with one line that names file and key,
rather than surprise someone halfway through a run. Turning values into a parameter's type
is `params`; matching an error message to a runbook is `router`.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import string
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import project_root
from .errors import BadInput, check_lang
from .findings import Finding
from . import i18n
from .i18n import LANGS, pick, t
from .params import convert_value, jsonable

# Check ids the engine itself records (not declared by any runbook): connecting to the org,
# and the run as a whole breaking (timeout, dead kernel). Their titles: texts/run.toml [check.*].
ENGINE_CHECKS = ("connect", "run")

if TYPE_CHECKING:  # built on first use: see _define_models
    from pydantic import BaseModel  # noqa: F401

# A function a runbook spec may name: only sfdoctor's own (validators, probe identities).
_FUNCTION_REF = r"sfdoctor(\.[a-z_][a-z0-9_]*)+:[a-z_][a-z0-9_]*"


def _function_ref_or_none(v: str | None) -> str | None:
    if v is not None and not re.fullmatch(_FUNCTION_REF, v):
        raise ValueError(f"{v!r} must read sfdoctor.MODULE:FUNCTION")
    return v

ParamType = Literal["str", "int", "bool", "choice", "list", "date"]
Edition = Literal["enterprise", "professional"]


# --------------------------------------------------------------------------------------
# Models: attribute names are the YAML keys of docs/architecture.md.
#
# pydantic validates a spec; it is not needed to *use* one. Importing pydantic and building
# these models costs a notebook kernel ~0.25 s on every start, and a headless run's kernel
# only reads a spec the runner has already validated. So the models are built on first use
# (`runbooks.RunbookSpec` and friends resolve through the module's __getattr__), and a
# kernel started by the runner receives the validated spec as JSON (VALIDATED_SPEC_ENV) and
# gets it as plain read-only objects with the same attributes and methods (`SpecData`).
# --------------------------------------------------------------------------------------
def _both_langs(value: dict[str, str]) -> dict[str, str]:
    missing = [lang for lang in LANGS if not (isinstance(value.get(lang), str) and value.get(lang, "").strip())]
    if missing:
        raise ValueError(f"needs a non-empty text for {', '.join(missing)}")
    unknown = sorted(set(value) - set(LANGS))
    if unknown:
        raise ValueError(f"unknown language key(s) {', '.join(unknown)}")
    return value


Text = dict[str, str]




class _ParameterUse:
    """What a parameter does at run time; shared by the pydantic model and `ParameterData`."""

    __slots__ = ()

    def papermill_default(self) -> Any:
        """The value the notebook's parameters cell holds (JSON-native: dates as ISO text)."""
        if self.default is None:
            return {"str": "", "int": 0, "bool": False, "choice": self.choices[0] if self.choices else "", "list": [], "date": ""}[self.type]
        if isinstance(self.default, _dt.date):
            return self.default.isoformat()
        return self.default


class _SpecUse:
    """What a spec does at run time; shared by the pydantic model and `SpecData`."""

    __slots__ = ()

    def texts(self, lang: str) -> "Texts":
        return Texts(self, check_lang(lang))

    def pasted_parameter(self) -> str | None:
        """The parameter a pasted error message or URL goes into (`pasted: true`), if any."""
        return next((p.name for p in self.parameters if getattr(p, "pasted", False)), None)

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.parameters) or i18n.Text("runbooks.no_parameters")
        raise BadInput(i18n.Text("runbooks.no_parameter", runbook=self.id, name=name),
                       hint=i18n.Text("runbooks.no_parameter_hint", known=known))

    def stable_causes(self) -> dict[str, str]:
        """The codes spec/causes.md makes stable API (`stable: true`), with their levels."""
        return {code: c.level for code, c in self.causes.items() if c.stable}

    def login_attempts(self) -> int:
        """The most login attempts per tested user one run makes (principle 7: at most two)."""
        return min(2, sum(p.login_attempts for p in self.parameters))

    def finding(
        self,
        check_id: str,
        status: str,
        lang: str,
        *,
        cause: str | None = None,
        evidence: dict[str, Any] | None = None,
        summary: str = "",
        edition: str | None = None,
        duration_ms: int = 0,
    ) -> Finding:
        """A Finding with title and fix filled from this spec in `lang`.

        A cause this spec does not declare is a programming error in a check: it raises,
        because a silently unknown code would break every consumer that matches on codes.
        """
        texts = self.texts(lang)
        if cause is not None and cause not in self.causes:
            raise ValueError(f"runbook {self.id} declares no cause {cause!r}")
        fix = texts.fix(cause, edition) if cause and status in ("fail", "warn", "manual") else ""
        return Finding(
            id=check_id,
            title=texts.title(check_id),
            status=status,
            cause=cause,
            evidence=dict(evidence or {}),
            fix=fix,
            summary=summary,
            duration_ms=int(duration_ms),
        )


_MODEL_NAMES = ("Symptom", "Parameter", "CheckSpec", "CauseSpec", "RunbookSpec")
_MODELS: dict[str, type] = {}
_MODELS_LOCK = threading.Lock()


def _define_models() -> dict[str, type]:
    """Build the pydantic models (once per process) and publish them as module attributes."""
    with _MODELS_LOCK:
        if _MODELS:
            return _MODELS
        from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

        class _Strict(BaseModel):
            model_config = ConfigDict(extra="forbid", frozen=True)

        class Symptom(_Strict):
            """An error text, code or URL fragment that points to this runbook."""

            text: str
            weight: float = Field(1.0, gt=0, le=1)

        class Parameter(_Strict, _ParameterUse):
            name: str
            type: ParamType = "str"
            default: Any = None
            label: Text
            help: Text
            choices: list[str] = Field(default_factory=list)
            # For type choice: what the form shows for each value, in en and ja. A value given
            # by -p, the orgs file, a schedule or a demo operator may be any of these labels too.
            choice_labels: dict[str, Text] = Field(default_factory=dict)
            # For type choice: the two values a yes and a no mean ([yes, no]), so that a boolean
            # answer (YAML's unquoted yes/no, on/off) is read, never dropped.
            boolean_choices: list[str] = Field(default_factory=list)
            secret: bool = False
            # How many login attempts per tested user this parameter's checks may make (principle 7);
            # the form sums them into its warning. Optional: most parameters make none.
            login_attempts: int = Field(0, ge=0, le=2)
            # Optional: "sfdoctor.MODULE:FUNCTION", a pure function called with the converted
            # value that raises ValueError (one line) for a malformed one, so that `sfdoctor run`
            # refuses it with exit 2 before any kernel starts, and the form says so at once.
            validator: str | None = None
            # For type list, how a typed or CLI string becomes items: at newlines and commas
            # (the default), or at newlines only, for items whose text may hold commas (an
            # allowlist's descriptions) and whose own parser splits them further.
            split: Literal["lines_and_commas", "lines"] = "lines_and_commas"
            # True on the one parameter that takes a pasted error message or error page URL:
            # `sfdoctor triage TEXT` carries TEXT into it (spec/cli.md). Type str, not secret.
            pasted: bool = False
            # False for a value no person gives: `schedule run-due` and `fleet run` set it
            # (probe_held). The form leaves it at its default; -p and the orgs file still take it.
            on_form: bool = True

            @field_validator("validator")
            @classmethod
            def _validator_ref(cls, v: str | None) -> str | None:
                return _function_ref_or_none(v)

            @field_validator("label", "help")
            @classmethod
            def _texts(cls, v: Text) -> Text:
                return _both_langs(v)

            @field_validator("name")
            @classmethod
            def _identifier(cls, v: str) -> str:
                if not v.isidentifier() or v in ("org", "lang"):
                    raise ValueError(f"{v!r} must be a Python identifier other than org/lang")
                return v

            @model_validator(mode="after")
            def _default_fits(self) -> "Parameter":
                if self.pasted and (self.secret or self.type != "str"):
                    raise ValueError("a pasted parameter must be of type str and not secret")
                if self.secret:
                    # A secret never has a default: papermill would write it into every report.
                    if self.default not in (None, ""):
                        raise ValueError("a secret parameter must not have a default (papermill would write it into the report)")
                    if self.type != "str":
                        raise ValueError("a secret parameter must be of type str")
                    return self
                if self.type != "choice" and (self.choice_labels or self.boolean_choices):
                    raise ValueError("'choice_labels' and 'boolean_choices' are only for type choice")
                for value, label in self.choice_labels.items():
                    _both_langs(label)
                    if value not in self.choices:
                        raise ValueError(f"choice_labels: {value!r} is not one of {self.choices}")
                if self.boolean_choices and (len(self.boolean_choices) != 2
                                             or not set(self.boolean_choices) <= set(self.choices)):
                    raise ValueError(f"boolean_choices must be [yes, no], two of {self.choices}")
                if self.type == "choice":
                    if not self.choices:
                        raise ValueError("type choice needs a non-empty 'choices' list")
                    if self.default is not None and self.default not in self.choices:
                        raise ValueError(f"default {self.default!r} is not one of {self.choices}")
                elif self.choices:
                    raise ValueError("'choices' is only for type choice")
                if self.default is not None:
                    try:
                        converted = convert_value(self, self.default)
                    except ValueError as exc:
                        raise ValueError(f"default: {exc}") from None
                    object.__setattr__(self, "default", converted)
                return self

        class CheckSpec(_Strict):
            title: Text
            @field_validator("title")
            @classmethod
            def _texts(cls, v: Text) -> Text:
                return _both_langs(v)

        class CauseSpec(_Strict):
            level: Literal["fail", "warn", "manual"]
            stable: bool = False        # a code of spec/causes.md: stable API, never renamed or dropped
            title: Text
            fix: Text
            fix_by_edition: dict[Edition, Text] = Field(default_factory=dict)

            @field_validator("title", "fix")
            @classmethod
            def _texts(cls, v: Text) -> Text:
                return _both_langs(v)

            @field_validator("fix_by_edition")
            @classmethod
            def _editions(cls, v: dict[str, Text]) -> dict[str, Text]:
                for text in v.values():
                    _both_langs(text)
                return v

        class RunbookSpec(_Strict, _SpecUse):
            id: str
            seed: str | None = None
            default_scenario: str | None = None
            title: Text
            summary: Text
            symptoms: list[Symptom] = Field(min_length=1)
            parameters: list[Parameter] = Field(default_factory=list)
            checks: dict[str, CheckSpec] = Field(default_factory=dict)
            causes: dict[str, CauseSpec] = Field(default_factory=dict)
            messages: dict[str, Text] = Field(default_factory=dict)
            # Optional: "sfdoctor.MODULE:FUNCTION", `fn(conn, params) -> (username, secret) | None`:
            # whose credentials the runbook's login probes test, for the scheduler's memory of a
            # failed probe (principle 7). Without it: the Salesforce user of `username` (or the
            # demo operator's probe user), password and token.
            probe_identity: str | None = None
            # What the runbook talks to; an org entry must configure each (preflight.py).
            services: list[Literal["salesforce", "marketo", "marketing_cloud"]] = Field(
                default_factory=lambda: ["salesforce"], min_length=1)
            # The Salesforce reads it makes (sfdoctor.access.READS ids): docs/permissions.md, `orgs check`.
            reads: list[str] = Field(default_factory=list)

            @field_validator("reads")
            @classmethod
            def _known_reads(cls, v: list[str]) -> list[str]:
                from .access import READS

                unknown = [r for r in v if r not in READS]
                if unknown:
                    raise ValueError(f"unknown reads {unknown}; known: {', '.join(READS)}")
                return v

            @field_validator("probe_identity")
            @classmethod
            def _identity_ref(cls, v: str | None) -> str | None:
                return _function_ref_or_none(v)

            @field_validator("title", "summary")
            @classmethod
            def _texts(cls, v: Text) -> Text:
                return _both_langs(v)

            @field_validator("messages")
            @classmethod
            def _messages(cls, v: dict[str, Text]) -> dict[str, Text]:
                for key, text in v.items():
                    try:
                        _both_langs(text)
                    except ValueError as exc:
                        raise ValueError(f"{key}: {exc}") from None
                    # Both languages must take the same placeholders, or one of them breaks at runtime.
                    fields = [{f for _, f, _, _ in string.Formatter().parse(text[lang]) if f} for lang in LANGS]
                    if fields[0] != fields[1]:
                        raise ValueError(f"{key}: en and ja use different placeholders {sorted(fields[0])} vs {sorted(fields[1])}")
                return v

            @model_validator(mode="after")
            def _consistent(self) -> "RunbookSpec":
                if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", self.id):
                    raise ValueError(f"id {self.id!r} must be lower-case words joined by '-'")
                names = [p.name for p in self.parameters]
                dupes = sorted({n for n in names if names.count(n) > 1})
                if dupes:
                    raise ValueError(f"parameters: duplicate name(s) {', '.join(dupes)}")
                pasted = [p.name for p in self.parameters if p.pasted]
                if len(pasted) > 1:
                    raise ValueError(f"parameters: only one may be pasted: true, not {', '.join(pasted)}")
                for code in self.causes:
                    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", code):
                        raise ValueError(f"causes: {code!r} must be UPPER_SNAKE_CASE")
                return self

        for cls in (Symptom, Parameter, CheckSpec, CauseSpec, RunbookSpec):
            cls.__qualname__ = cls.__name__  # importable by name (pickle), like a top-level class
            _MODELS[cls.__name__] = cls
        globals().update(_MODELS)
        return _MODELS


def __getattr__(name: str) -> Any:
    if name in _MODEL_NAMES:
        return _define_models()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Plain:
    """Validated values as read-only attributes (the plain twin of a pydantic model)."""

    def __init__(self, **values: Any):
        object.__setattr__(self, "__dict__", values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


class ParameterData(_Plain, _ParameterUse):
    """A validated parameter without pydantic."""


class SpecData(_Plain, _SpecUse):
    """A validated runbook spec without pydantic: what a runner-started kernel works with."""


# The runner validates the spec, writes `spec_json()` to a file and names it to the kernel in
# this variable (together with the YAML's path and mtime, so a changed file is read afresh).
VALIDATED_SPEC_ENV = "SFDOCTOR_VALIDATED_SPEC"


def spec_json(spec: Any, path: str | os.PathLike[str]) -> str:
    """The hand-over document for a validated spec loaded from `path`."""
    data = spec.model_dump(mode="json") if hasattr(spec, "model_dump") else _plain_json(spec)
    p = Path(path)
    return json.dumps({"path": str(p), "mtime_ns": p.stat().st_mtime_ns, "spec": data}, ensure_ascii=False)


def _plain_json(value: Any) -> Any:
    if isinstance(value, _Plain):
        return {k: _plain_json(v) for k, v in value.__dict__.items()}
    if isinstance(value, dict):
        return {k: _plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_json(v) for v in value]
    return jsonable(value)


def _spec_data(data: dict[str, Any]) -> SpecData:
    """A `spec_json` document's spec as SpecData (it was validated by the process that wrote it)."""
    params = []
    for p in data["parameters"]:
        p = dict(p)
        if p["type"] == "date" and isinstance(p.get("default"), str) and p["default"]:
            p["default"] = _dt.date.fromisoformat(p["default"])  # as the model's validator left it
        params.append(ParameterData(**p))
    return SpecData(**{
        **data,
        "symptoms": [_Plain(**s) for s in data["symptoms"]],
        "parameters": params,
        "checks": {k: _Plain(**v) for k, v in data["checks"].items()},
        "causes": {k: _Plain(**v) for k, v in data["causes"].items()},
    })


def _handed_over(path: str, mtime_ns: int) -> SpecData | None:
    """The spec the runner validated for this very file, if it handed one to this process."""
    ref = os.environ.get(VALIDATED_SPEC_ENV, "")
    if not ref:
        return None
    try:
        doc = json.loads(Path(ref).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if doc.get("path") != path or doc.get("mtime_ns") != mtime_ns:
        return None
    return _spec_data(doc["spec"])


def edition_family(edition: str | None) -> str | None:
    """Which Setup paths an org's edition sees: "enterprise", "professional", or None if unknown.

    Salesforce's `Organization.OrganizationType` reads e.g. "Enterprise Edition" or
    "Professional Edition"; Unlimited, Performance and Developer share Enterprise's Setup
    paths, Group, Team, Contact Manager, Personal and Base share Professional's.
    """
    if not edition:
        return None
    e = edition.casefold()
    if any(w in e for w in ("enterprise", "unlimited", "performance", "developer")):
        return "enterprise"
    if any(w in e for w in ("professional", "group", "team", "contact manager", "personal", "base")):
        return "professional"
    return None


@dataclass(frozen=True)
class Texts:
    """A spec's texts in one language; missing entries are programming errors, not blanks."""

    spec: RunbookSpec
    lang: str

    @property
    def runbook_title(self) -> str:
        return pick(self.spec.title, self.lang)

    @property
    def summary(self) -> str:
        return pick(self.spec.summary, self.lang)

    def title(self, check_id: str) -> str:
        if check_id in self.spec.checks:
            return pick(self.spec.checks[check_id].title, self.lang)
        if check_id in ENGINE_CHECKS:
            return t(f"run.check.{check_id}", self.lang)
        raise KeyError(f"runbook {self.spec.id} declares no check {check_id!r}")

    def cause_title(self, cause: str) -> str:
        return pick(self.spec.causes[cause].title, self.lang)

    def fix(self, cause: str, edition: str | None = None) -> str:
        c = self.spec.causes[cause]
        family = edition_family(edition)
        if family and family in c.fix_by_edition:
            return pick(c.fix_by_edition[family], self.lang)
        return pick(c.fix, self.lang)

    def msg(self, key: str, **values: Any) -> str:
        return pick(self.spec.messages[key], self.lang).format(**values)

    def label(self, param: str) -> str:
        return pick(self.spec.parameter(param).label, self.lang)

    def help(self, param: str) -> str:
        return pick(self.spec.parameter(param).help, self.lang)


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------
def runbooks_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Where specs live: the argument, else `<project_root>/runbooks` ($SFDOCTOR_HOME aware)."""
    return Path(path).resolve() if path else project_root() / "runbooks"


def _spec_files(directory: Path) -> dict[str, Path]:
    if not directory.is_dir():
        return {}
    return {p.stem: p for p in sorted(directory.glob("*.yml")) if p.stem != "schedule"}


def load_file(path: str | os.PathLike[str]) -> RunbookSpec:
    """Load and validate one spec file; problems become one-line BadInput: `FILE: key: problem`."""
    import yaml
    from pydantic import ValidationError

    path = Path(path)
    try:
        # libyaml's parser when present: the same safe loader, ~10x faster than pure Python.
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise BadInput(f"{path}: {where}not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: a runbook spec must be a mapping of keys")
    try:
        spec = _define_models()["RunbookSpec"].model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top)"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        msg = err["msg"].removeprefix("Value error, ")
        raise BadInput(f"{path}: {loc}: {msg}{more}") from None
    if spec.id != path.stem:
        raise BadInput(f"{path}: id {spec.id!r} differs from the file name {path.stem!r}")
    return spec


@lru_cache(maxsize=64)
def _load_cached(path: str, mtime_ns: int) -> RunbookSpec | SpecData:
    handed = _handed_over(path, mtime_ns)
    return handed if handed is not None else load_file(path)


def spec_path(runbook_id: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """The YAML file of one runbook; an unknown id is BadInput naming the known ones."""
    d = runbooks_dir(directory)
    files = _spec_files(d)
    if runbook_id not in files:
        known = ", ".join(files) or i18n.Text("runbooks.none_in", folder=str(d))
        raise BadInput(i18n.Text("runbooks.unknown", runbook=runbook_id), hint=i18n.Text("runbooks.unknown_hint", known=known))
    return files[runbook_id]


def load(runbook_id: str, directory: str | os.PathLike[str] | None = None) -> RunbookSpec:
    """The spec of one runbook; an unknown id is BadInput naming the known ones."""
    p = spec_path(runbook_id, directory)
    return _load_cached(str(p), p.stat().st_mtime_ns)


def all_specs(directory: str | os.PathLike[str] | None = None) -> list[RunbookSpec]:
    """Every runbook spec in the directory, sorted by id; the first malformed one raises."""
    d = runbooks_dir(directory)
    return [load(rid, d) for rid in _spec_files(d)]
