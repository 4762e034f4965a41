"""`sfdoctor triage TEXT`: from a pasted error message or URL to the run of the runbook it fits.

`diagnose` picks the best-fitting runbook (sfdoctor.router); the text then goes into that
runbook's parameter marked `pasted: true` in its spec (the error page URL of
sia-auth-failure, the OAuth error of oauth-connection-failure), unless `-p` already gives that
parameter; a runbook without such a parameter runs on its parameters alone, the text having
chosen it. No fit is bad input (exit 2, one line), found before any kernel starts.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import BadInput
from .i18n import Text
from .router import Match, diagnose


@dataclass(frozen=True)
class Triage:
    """What triage decided: the runbook, the match behind it and the parameters it runs with."""

    match: Match
    params: dict[str, str]
    carried_into: str | None

    @property
    def runbook(self) -> str:
        return self.match.spec.id


def plan(text: str, params: Mapping[str, str] | None = None) -> Triage:
    """The best-fitting runbook for `text` and its parameters with the text carried in."""
    matches = diagnose(text)
    if not matches:
        raise BadInput(Text("triage.no_match"), hint=Text("triage.no_match_hint"))
    best = matches[0]
    chosen = dict(params or {})
    pasted = best.spec.pasted_parameter()
    carried = None
    if pasted and pasted not in chosen:
        chosen[pasted] = text
        carried = pasted
    return Triage(best, chosen, carried)
