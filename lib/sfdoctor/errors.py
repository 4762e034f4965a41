"""Errors that reach a person: one line each, with what to do, never a traceback.

The CLI maps `BadInput` to exit 2 and `Inconclusive` to exit 3 (spec/cli.md).
"""
from __future__ import annotations

from typing import Any, Mapping, Union

from .i18n import LANGS, Text, TextError, pick

# What an error says: a catalog text, a runbook's own {lang: text}, or words already in one language.
Said = Union[Text, Mapping[str, str], str]


class SfdoctorError(Exception):
    """The one error type a person reads: a one-line message and an optional hint (what to do).

    Each is a `Text` (a catalog key and its values, said in whatever language the catcher
    asks for: `one_line(lang)`), a runbook's own bilingual text ({"en": ..., "ja": ...}), or a
    plain string already in the raiser's language. `str()` is the English, for logs and
    tracebacks; a person is shown `one_line(lang)`.
    """

    exit_code = 1

    def __init__(self, message: Said, *, hint: Said | None = None):
        self.message = message
        self.hint = hint
        super().__init__(self.one_line("en"))

    def text(self, lang: str | None) -> str:
        """The message alone, in `lang`."""
        return _say(self.message, lang)

    def one_line(self, lang: str | None = None) -> str:
        """Message and hint on one line, in `lang`; without one, only an error raised in plain words can say itself."""
        text = self.text(lang) if self.hint is None else f"{self.text(lang)} — {_say(self.hint, lang)}"
        return " ".join(text.split())

    def __str__(self) -> str:
        return self.one_line("en")

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take other arguments; rebuild from the state, not from __init__.
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[SfdoctorError], args: tuple[Any, ...], state: dict[str, Any]) -> SfdoctorError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


def _say(part: Said, lang: str | None) -> str:
    if isinstance(part, str):
        return part
    if lang is None:
        raise TextError(f"say in which language? {part!r} has several")
    if isinstance(part, Text):
        return part.render(lang)
    if isinstance(part, Mapping):
        return pick(part, lang)
    raise TypeError(f"an error says a Text, a {{lang: text}} mapping or a str, not {type(part).__name__}")


class BadInput(SfdoctorError):
    """Unknown runbook or org, malformed parameter, scenario or spec file: exit 2."""

    exit_code = 2


class OrgConfigError(BadInput):
    """The orgs file, a credential reference or a key file is missing or wrong."""


class ReadOnlyViolation(SfdoctorError):
    """sfdoctor tried a request that could change an org (principle 3)."""


class LocalizedValueError(BadInput, ValueError):
    """A malformed value (type mismatch, allowlist entry, password policy): `LocalizedValueError(key, **values)`.

    Parameter conversion, validators and input parsers raise it, so that the CLI's one-line
    refusal, the form and a report all say it in the run's language.
    """

    def __init__(self, key: str | Text | Mapping[str, str], /, **values: object):
        super().__init__(Text(key, **values) if isinstance(key, str) else key)


def problem_text(exc: BaseException, lang: str) -> str:
    """What an error says, in `lang` where it is one of ours (others only know their own words)."""
    return exc.text(lang) if isinstance(exc, SfdoctorError) else str(exc)


class CheckError(Exception):
    """A check could not run: what it could not read, and why, in one line.

    Checks raise it (never a bare RuntimeError) when the data a verdict needs could not be
    read; `RunSession.check` turns it into an `error` finding through its one table of error
    types (session.ERROR_TYPES). `code` is the API's own error code when one was given
    (Marketo's `606`, Salesforce's `REQUEST_LIMIT_EXCEEDED`), `http_status` the status.
    """

    def __init__(self, reason: str, *, code: str | None = None, http_status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.http_status = http_status


def check_lang(lang: str) -> str:
    """`lang` if sfdoctor speaks it; BadInput otherwise (in English: the language asked for is none we speak)."""
    if lang not in LANGS:
        raise BadInput(f"unknown language {lang!r}", hint="use --lang en or --lang ja")
    return lang


class Inconclusive(SfdoctorError):
    """The run could not finish its checks (network, limits, kernel): exit 3."""

    exit_code = 3
