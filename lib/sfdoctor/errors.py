"""Errors that reach a person: one line each, with what to do, never a traceback.

The CLI maps `BadInput` to exit 2 and `Inconclusive` to exit 3 (spec/cli.md).
"""
from __future__ import annotations

from typing import Mapping


class SfdoctorError(Exception):
    """Base for errors that carry a one-line message meant for the operator."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message} ({hint})")

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message} — {self.hint}"
        return " ".join(text.split())


class BadInput(SfdoctorError):
    """Unknown runbook or org, malformed parameter, scenario or spec file: exit 2."""

    exit_code = 2


class OrgConfigError(BadInput):
    """The orgs file, a credential reference or a key file is missing or wrong."""


class ReadOnlyViolation(SfdoctorError):
    """sfdoctor tried a request that could change an org (principle 3)."""


class LocalizedValueError(ValueError):
    """A malformed value, said in every language a person may read it in (str() is the English).

    Parameter conversion, validators and input parsers raise it, so that the CLI's one-line
    refusal, the form and a report all say it in the run's language.
    """

    def __init__(self, texts: Mapping[str, str]):
        self.texts = dict(texts)
        super().__init__(self.texts["en"])

    def text(self, lang: str) -> str:
        return self.texts.get(lang) or self.texts["en"]


def problem_text(exc: BaseException, lang: str) -> str:
    """What a ValueError says, in `lang` where it knows more than English."""
    return exc.text(lang) if isinstance(exc, LocalizedValueError) else str(exc)


class Inconclusive(SfdoctorError):
    """The run could not finish its checks (network, limits, kernel): exit 3."""

    exit_code = 3
