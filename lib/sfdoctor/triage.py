"""`sfdoctor triage TEXT`: from a pasted error message or URL to the run of the runbook it fits.

`diagnose` picks the best-fitting runbook (sfdoctor.router); the text then goes into that
runbook's parameter marked `pasted: true` in its spec (the error page URL of
sia-auth-failure, the OAuth error of oauth-connection-failure), unless `-p` already gives that
parameter; a runbook without such a parameter runs on its parameters alone, the text having
chosen it. No fit is bad input (exit 2, one line), found before any kernel starts.

`plan`, `explain` and `run_chosen` are the whole path, shared by the command and the start-here
notebook (sfdoctor.start_here), which differ only in how they show the choice and the outcome.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import BadInput
from .i18n import Text, pick, t
from .router import Match, diagnose

if TYPE_CHECKING:
    from .runner import RunOutcome


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



def carried_line(chosen: Triage, lang: str) -> str:
    """Where the pasted text goes: the chosen runbook's pasted parameter by the label its form shows, or nowhere."""
    if chosen.carried_into:
        label = pick(chosen.match.spec.parameter(chosen.carried_into).label, lang)
        return t("triage.carried", lang, field=label)
    return t("triage.not_carried", lang)


def explain(chosen: Triage, lang: str) -> list[str]:
    """What triage chose and why (the phrases of the text that matched), and where the text goes."""
    m = chosen.match
    return [t("triage.chosen", lang, runbook=m.spec.id, title=pick(m.spec.title, lang), score=m.score,
              matched="; ".join(m.matched)),
            carried_line(chosen, lang)]


def run_chosen(chosen: Triage, org: str, out_dir: str | os.PathLike[str] = "reports", lang: str = "en",
               **run_options: Any) -> RunOutcome:
    """Run the chosen runbook with its parameters and write its report, as `sfdoctor run` does
    (`run_options`: runner.run_runbook's keywords). A bad org or parameter raises BadInput."""
    from .runner import run_runbook

    return run_runbook(chosen.runbook, org, chosen.params, out_dir, lang, **run_options)
