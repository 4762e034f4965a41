"""Checks: plain functions `fn(conn, facts, lang) -> list[Finding]`, one module per topic.

They run (and are tested) without a kernel; a notebook cell calls one through
`RunSession.check`, which times it and turns an exception into an `error` finding.
`Facts` carries the run's parameters and what earlier checks read, so each thing is read
from the org once per run (API calls do not multiply with checks).

security-token-required, in notebook order:
    org_info.org_facts, org_info.user_status      one composite request (org + user)
    login_probe.probe_logins                      <= 2 SOAP login attempts (+1 query if ambiguous)
    login_history.login_history, .org_history     one composite request (aggregates)
    ip_ranges.source_ips                          one Metadata API readMetadata
    token_reset.reset_link_*                      (reuses the above)
    soap_login.soap_login_retiring                (reuses the above)
"""
from __future__ import annotations

from . import ip_ranges, login_history, login_probe, org_info, soap_login, token_reset
from . import marketo_sync  # noqa: F401  (marketo-sync-setup: its own STEPS/run_all/Facts; sets its check ids)
from . import permissions, sia  # noqa: F401 (sia-auth-failure: sia.STEPS, sia.run_all; ids registered there)
from . import oauth  # noqa: F401 (oauth-connection-failure: oauth.STEPS, oauth.run_all; ids registered there)
from . import mc_connect  # noqa: F401 (mc-missing-oauth-token: mc_connect.STEPS, mc_connect.run_all; ids registered there)
from ._base import Facts

# The check id RunSession records when a function raises (its findings carry their own ids).
for _fn, _id in (
    (org_info.org_facts, "org-facts"),
    (org_info.user_status, "user-status"),
    (login_probe.probe_logins, "probe-login-password-only"),
    (login_history.login_history, "login-history"),
    (login_history.org_history, "login-history-org"),
    (ip_ranges.source_ips, "source-ip-ranges"),
    (token_reset.reset_link_ip_ranges, "reset-link-ip-ranges"),
    (token_reset.reset_link_network_access, "reset-link-network-access"),
    (token_reset.reset_link_profile, "reset-link-profile"),
    (soap_login.soap_login_retiring, "soap-login-retiring"),
):
    _fn.check_id = _id  # type: ignore[attr-defined]

# The notebook's order; the form cell (JupyterLab) runs them all through `run_all`.
STEPS = (
    org_info.org_facts, org_info.user_status, login_probe.probe_logins,
    login_history.login_history, login_history.org_history, ip_ranges.source_ips,
    token_reset.reset_link_ip_ranges, token_reset.reset_link_network_access, token_reset.reset_link_profile,
    soap_login.soap_login_retiring,
)


def run_all(run, facts: Facts) -> None:
    """Every step of security-token-required through `run.check`, in order."""
    for step in STEPS:
        run.check(step, facts)


__all__ = ["Facts", "STEPS", "run_all", "marketo_sync", "ip_ranges", "login_history", "login_probe", "org_info", "soap_login", "token_reset"]
