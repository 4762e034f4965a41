"""Why "Reset My Security Token" may be missing from the user's personal settings (seed 002).

In the order the seed gives: the user's profile has login IP ranges (inside them no token is
needed, so Salesforce does not offer one); the org has no Network Access setting at all
(support must switch on the login challenge and API token login); otherwise the profile may
be damaged, which no API shows: a manual step, asked only when the operator reports the link
missing (`reset_link_missing`).
"""
from __future__ import annotations

from typing import Any



def network_access_available(security: dict[str, Any]) -> bool:
    """Whether readMetadata returned a Network Access section at all (pure).

    An org without the Network Access feature returns SecuritySettings without
    `networkAccess`; an org that has it returns the element, empty when no range is set.
    """
    return "networkAccess" in (security or {})


