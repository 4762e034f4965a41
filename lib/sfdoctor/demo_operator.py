"""The demo operator: what the person at the keyboard answers, played from the demo world.

spec/scenario-format.md "The demo operator": what no API shows comes from the world's facts
(the simulator's info document, demo/info.py), the probe's password and token default to
the probed user's real ones, and the scenario's `operator:` keys override any answer (a
mistaken operator, a stale token). The simulator states facts only; which answers a
runbook's form asks for is that runbook's business: its module registers a
`@RUNBOOK.demo_operator` hook (sfdoctor.registry), asked here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from . import registry

if TYPE_CHECKING:
    from .demo.info import DemoInfo


def probe_answers(info: "DemoInfo", probe_username: str | None = None) -> dict[str, Any]:
    """Whose login the runbooks probe and that user's real password and security token: the
    user the scenario names (`operator.probe_username`), else nobody. The operator never picks a
    user for the runbook: one that needs a user finds it itself (security-token-required reads
    the login history) or says it cannot (spec/scenario-format.md)."""
    if not probe_username:
        return {}
    answers: dict[str, Any] = {"probe_username": probe_username}
    probed = info.salesforce_user(probe_username)
    if probed is not None:
        answers["probe_password"] = probed.password
        answers["probe_token"] = probed.security_token
    return answers


def answers(info: "DemoInfo", runbook_id: str | None = None) -> dict[str, Any]:
    """The demo operator's answers for a run of `runbook_id` (None: the probe answers only).

    Every answer that names one of the runbook's parameters is read as the form and `-p` read
    that parameter (params.convert_answers): `ticked`, a label in either language, a boolean.
    One that fits none raises LocalizedValueError (the runner refuses the run with exit 2
    before it starts: `check_overrides`)."""
    given = {k: v for k, v in dict(info.operator_overrides).items() if v is not None}
    out = probe_answers(info, given.get("probe_username"))
    book = None
    if runbook_id is not None:
        try:
            book = registry.get(runbook_id)
        except KeyError:
            book = None   # a spec without a module (test fixtures): nothing of its own to answer
        if book is not None:
            out.update(book.operator_answers(info))
    out.update(given)
    if book is not None:
        from .params import convert_answers

        out = convert_answers(book.spec(), out)
    return out


def check_overrides(spec: Any, overrides: Mapping[str, Any]) -> None:
    """Refuse a scenario whose `operator:` gives one of `spec`'s parameters a value it does not
    take (spec/scenario-format.md: a load error, exit 2), before any run starts."""
    from .params import convert_answers

    convert_answers(spec, {k: v for k, v in overrides.items() if v is not None})


__all__ = ["answers", "check_overrides", "probe_answers"]
