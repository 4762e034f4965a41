"""Evidence in a person's words: a label for each evidence key, words for each short machine value.

findings.json keeps what a check recorded as it is (`restriction: not_trusted`, `fault: none`):
a script reads it. A person reads the report and the notebook's cards, which say the same in
the run's language ("Restriction: outside every trusted IP range"). The words live in
texts/evidence.toml; `missing_words` finds a key or value that has none, so that a test can
walk every built-in scenario and a new key cannot reach a report unlabelled.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

from .i18n import area_texts, t

# A value a check or a form chose from a fixed set: lowercase words joined by _ or - or a space
# (`not_trusted`, `login-history`, `none`, `not ticked`), six at most. Names, hosts, addresses,
# codes and the messages other systems send never have this shape.
_MACHINE_VALUE = re.compile(r"^[a-z][a-z0-9]*(?:[_ -][a-z0-9]+){0,5}$")
# A nested key that is a field name (a login attempt's `kind`), not data (a status, an address).
_FIELD_KEY = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
# Keys whose values are shown as they are: codes and messages another system wrote, which people
# search for as written (OAuth's `invalid_grant`, "authentication failure", an API's refusal of a
# read), and names and ids (a username `dc-integration`).
AS_IS_KEYS = frozenset({"error", "code", "error_description", "message", "pasted", "latest_failure",
                        "data_cloud_message", "login_history_status", "userlogin_unreadable", "history_unreadable",
                        "username", "UserID", "client_id", "api_user", "app", "profile", "run_as"})


def _known(key: str) -> bool:
    return key in area_texts("evidence")


def label(key: str, lang: str, runbook: str | None = None) -> str | None:
    """The label of evidence key `key` in `lang` (the runbook's own first), or None."""
    for full in ((f"evidence.{runbook}.{key}",) if runbook else ()) + (f"evidence.label.{key}",):
        if _known(full):
            return t(full, lang)
    return None


def is_machine_value(key: str | None, value: Any) -> bool:
    """A value that needs words: a lowercase identifier outside the keys shown as they are."""
    return isinstance(value, str) and key not in AS_IS_KEYS and bool(_MACHINE_VALUE.match(value))


def value_words(value: str, lang: str) -> str | None:
    """The words for machine value `value` in `lang`, or None."""
    full = f"evidence.value.{value.replace(' ', '_')}"
    return t(full, lang) if _known(full) else None


def is_field_key(key: Any) -> bool:
    """A nested mapping's key that names a field (and so needs a label), not a piece of data."""
    return isinstance(key, str) and bool(_FIELD_KEY.match(key))


def _walk(value: Any, key: str | None) -> Iterator[tuple[str, str]]:
    """("key", name) for each field key, ("value", word) for each machine value, in `value`."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            if is_field_key(k):
                yield "key", str(k)
            yield from _walk(v, str(k) if is_field_key(k) else key)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _walk(item, key)
    elif is_machine_value(key, value):
        yield "value", value


def missing_words(evidence: Mapping[str, Any], runbook: str | None = None) -> list[str]:
    """Each evidence key (top level, or a field key further in) and machine value that has no words."""
    missing: dict[str, None] = {}
    for key, value in evidence.items():
        if label(str(key), "en", runbook) is None:
            missing.setdefault(f"label {key}", None)
        for kind, name in _walk(value, str(key)):
            if kind == "key" and label(name, "en", runbook) is None:
                missing.setdefault(f"label {name} (in {key})", None)
            elif kind == "value" and value_words(name, "en") is None:
                missing.setdefault(f"value {name} (of {key})", None)
    return list(missing)


def missing_value_words(value: Any, key: str) -> list[str]:
    """The machine values in a parameter's value that have no words."""
    return [f"value {name} (of {key})" for kind, name in _walk(value, key)
            if kind == "value" and value_words(name, "en") is None]
