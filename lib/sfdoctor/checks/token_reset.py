"""Why "Reset My Security Token" may be missing from the user's personal settings (seed 002).

In the order the seed gives: the user's profile has login IP ranges (inside them no token is
needed, so Salesforce does not offer one); the org has no Network Access setting at all
(support must switch on the login challenge and API token login); otherwise the profile may
be damaged, which no API shows: a manual step, asked only when the operator reports the link
missing (`reset_link_missing`).
"""
from __future__ import annotations

from typing import Any

from ..errors import CheckError
from ._base import Facts, finding, msg
from .ip_ranges import load_security, trusted_ranges
from .org_info import load as load_org, skip_unless_user


def network_access_available(security: dict[str, Any]) -> bool:
    """Whether readMetadata returned a Network Access section at all (pure).

    An org without the Network Access feature returns SecuritySettings without
    `networkAccess`; an org that has it returns the element, empty when no range is set.
    """
    return "networkAccess" in (security or {})


def reset_link_ip_ranges(conn: Any, facts: Facts, lang: str = "en") -> list:
    """RESET_HIDDEN_BY_LOGIN_IP_RANGES: the user's profile has login IP ranges."""
    skipped = skip_unless_user("reset-link-ip-ranges", conn, facts, lang)
    if skipped:
        return skipped
    if facts.profile_ranges is None:
        raise CheckError(f"LoginIpRange could not be read: {facts.read_errors.get('ipranges', 'unknown')}")
    profile = facts.user.get("Profile.Name")
    ranges = [f"{r.get('StartAddress')}-{r.get('EndAddress')}" for r in facts.profile_ranges]
    evidence = {"profile": profile, "login_ip_ranges": ranges[:20], "edition": facts.edition}
    if ranges:
        return [finding("reset-link-ip-ranges", "warn", lang, cause="RESET_HIDDEN_BY_LOGIN_IP_RANGES",
                        edition=facts.edition, evidence=evidence,
                        summary=msg(lang, "reset_hidden", profile=profile, n=len(ranges)))]
    return [finding("reset-link-ip-ranges", "pass", lang, evidence=evidence,
                    summary=msg(lang, "reset_no_ranges", profile=profile))]


def reset_link_network_access(conn: Any, facts: Facts, lang: str = "en") -> list:
    """NETWORK_ACCESS_UNAVAILABLE: SecuritySettings has no Network Access section."""
    security = load_security(conn, facts)
    available = network_access_available(security)
    evidence = {"network_access": available, "trusted_ranges": len(trusted_ranges(security))}
    if not available:
        return [finding("reset-link-network-access", "warn", lang, cause="NETWORK_ACCESS_UNAVAILABLE",
                        edition=facts.edition, evidence=evidence, summary=msg(lang, "network_access_missing"))]
    return [finding("reset-link-network-access", "pass", lang, evidence=evidence,
                    summary=msg(lang, "network_access_ok", n=evidence["trusted_ranges"]))]


def reset_link_profile(conn: Any, facts: Facts, lang: str = "en") -> list:
    """PROFILE_POSSIBLY_CORRUPTED: a manual step, only when the link is missing and unexplained."""
    if not facts.reset_link_missing:
        return [finding("reset-link-profile", "skip", lang, evidence={"reason": "reset_link_missing is false"},
                        summary=msg(lang, "reset_link_present"))]
    explained = []
    load_org(conn, facts)
    if facts.profile_ranges:
        explained.append("RESET_HIDDEN_BY_LOGIN_IP_RANGES")
    if not network_access_available(load_security(conn, facts)):
        explained.append("NETWORK_ACCESS_UNAVAILABLE")
    profile = (facts.user or {}).get("Profile.Name") or "?"
    if explained:
        return [finding("reset-link-profile", "skip", lang, evidence={"explained_by": explained, "profile": profile},
                        summary=msg(lang, "reset_link_explained", causes=", ".join(explained)))]
    return [finding("reset-link-profile", "manual", lang, cause="PROFILE_POSSIBLY_CORRUPTED", edition=facts.edition,
                    evidence={"profile": profile, "reset_link_missing": True},
                    summary=msg(lang, "profile_corrupted", profile=profile))]
