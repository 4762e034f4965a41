"""What changed since the previous fleet run, and the one message that says it (Apprise).

A cause is "fixed" only when this run looked and did not find it (healthy or problems
found); a cause no longer seen because the run could not look (inconclusive, error,
skipped) is "not checked", and the org-runbook is listed for having turned so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..errors import BadInput
from ..i18n import t
from ..report_index import cause_changes

LOOKED = ("healthy", "problems_found")
TURNED = ("inconclusive", "error", "skipped")


@dataclass
class Change:
    org: str
    runbook: str
    new: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    turned: str | None = None   # the outcome it turned to (inconclusive, error, skipped)
    folder: str | None = None


def changes(current: Mapping[str, Any], previous: Mapping[str, Any] | None) -> list[Change]:
    """Per org-runbook: new and fixed causes since `previous`, and turns to a non-answer.
    Without a previous fleet run, every cause found is new."""
    before = {(e["org"], e["runbook"]): e for e in (previous or {}).get("entries", [])}
    found = []
    for e in current.get("entries", []):
        prev = before.get((e["org"], e["runbook"]))
        prev_causes = list(prev.get("root_causes") or []) if prev else []
        now_causes = list(e.get("root_causes") or [])
        change = Change(e["org"], e["runbook"], folder=e.get("folder"))
        new, fixed, _unchanged = cause_changes(prev_causes, now_causes)
        change.new = new
        if e["outcome"] in LOOKED:
            change.fixed = fixed
        if e["outcome"] in TURNED and (prev is None or prev.get("outcome") != e["outcome"]):
            change.turned = e["outcome"]
        if change.new or change.fixed or change.turned:
            found.append(change)
    return found


def message(found: Sequence[Change], lang: str) -> tuple[str, str]:
    """(title, body) of the notification, in `lang`: one line per changed org-runbook."""
    title = t("fleet.notify.title", lang, n=len(found))
    lines = []
    for c in found:
        parts = []
        if c.new:
            parts.append(f'{t("fleet_page.new", lang)}: {", ".join(c.new)}')
        if c.fixed:
            parts.append(f'{t("fleet_page.fixed", lang)}: {", ".join(c.fixed)}')
        if c.turned:
            parts.append(f'{t("fleet_page.now", lang)} {t(f"fleet.outcome.{c.turned}", lang)}')
        lines.append(f"- {c.org} / {c.runbook}: " + "; ".join(parts))
    return title, "\n".join(lines)


class Notifier:
    """`--notify URL...`: URLs checked before the run (a bad one is bad input)."""

    def __init__(self, urls: Sequence[str], lang: str) -> None:
        import apprise

        self.lang = lang
        self.apprise = apprise.Apprise()
        for url in urls:
            if not self.apprise.add(url):
                raise BadInput(t("fleet.bad.notify", lang, url=_safe(url)), hint=t("fleet.bad.notify_hint", lang))
        self.targets = [_safe(u) for u in urls]

    def send(self, fleet: Mapping[str, Any], previous: Mapping[str, Any] | None) -> str:
        """Send one message if anything changed; returns the line to tell the operator.
        Never raises: a notification that fails is said, the fleet run stands."""
        found = changes(fleet, previous)
        if not found:
            return t("fleet.notify.none", self.lang)
        import logging

        title, body = message(found, self.lang)
        logger = logging.getLogger("apprise")
        level = logger.level
        logger.setLevel(logging.CRITICAL)  # its own tracebacks and URLs stay off our stderr
        try:
            ok = bool(self.apprise.notify(title=title, body=body))
        except Exception:  # noqa: BLE001 - any plugin failure is a failed notification
            ok = False
        finally:
            logger.setLevel(level)
        if not ok:
            return t("fleet.notify.failed", self.lang, targets=", ".join(self.targets))
        return t("fleet.notify.sent", self.lang, n=len(self.targets))


def _safe(url: str) -> str:
    """The URL without what could be a credential (user:password@, tokens in the path)."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}/…" if rest else url
