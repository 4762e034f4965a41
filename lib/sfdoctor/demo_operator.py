"""The demo operator: what the person at the keyboard answers, played from the demo world.

spec/scenario-format.md "The demo operator": what no API shows comes from the world's facts
(the simulator's info document, demo/info.py), the probe's password and token default to
the probed user's real ones, and the scenario's `operator:` keys override any answer (a
mistaken operator, a stale token). The simulator states facts only; which answers a
runbook's form asks for is that runbook's business: its module registers a
`@RUNBOOK.demo_operator` hook (sfdoctor.registry), asked here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import registry

if TYPE_CHECKING:
    from .demo.info import DemoInfo


def probe_answers(info: "DemoInfo", probe_username: str | None = None) -> dict[str, Any]:
    """Whose login the runbooks probe (the first user who is not an admin, unless the scenario
    names one) and that user's real password and security token."""
    users = list(info.salesforce_users)
    if probe_username is None:
        non_admin = [u for u in users if not u.admin]
        first = (non_admin or users or [None])[0]
        probe_username = first.username if first is not None else None
    answers: dict[str, Any] = {"probe_username": probe_username}
    probed = next((u for u in users if u.username == probe_username), None)
    if probed is not None:
        answers["probe_password"] = probed.password
        answers["probe_token"] = probed.security_token
    return answers


def answers(info: "DemoInfo", runbook_id: str | None = None) -> dict[str, Any]:
    """The demo operator's answers for a run of `runbook_id` (None: the probe answers only)."""
    given = {k: v for k, v in dict(info.operator_overrides).items() if v is not None}
    out = probe_answers(info, given.get("probe_username"))
    if runbook_id is not None:
        try:
            book = registry.get(runbook_id)
        except KeyError:
            book = None   # a spec without a module (test fixtures): nothing of its own to answer
        if book is not None:
            out.update(book.operator_answers(info))
    out.update(given)
    return out


__all__ = ["answers", "probe_answers"]
