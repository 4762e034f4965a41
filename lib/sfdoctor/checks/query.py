"""Reading an org with few API calls: SOQL text, and several reads in ONE composite request.

* `soql()`: the only way checks build SOQL (simple-salesforce's `format_soql`).
* `composite_get()`: the one builder of a `POST .../composite` request: GET subrequests
  (queries, describes) that the read-only guard lets through, `allOrNone` false so one
  unreadable object (a missing permission) does not hide the others; answers by reference.
* `composite()`: SOQL queries through `composite_get`, on sfdoctor's own connection;
  `composite_once()` remembers a failure so later checks do not spend another call on it.
* `plain_record()`: a record as checks read it (no `attributes`, `Parent.Field` keys).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..errors import CheckError
from ..findings import iso

if TYPE_CHECKING:
    from ..clients import Connection

MAX_SUBREQUESTS = 25


def soql(template: str, *args: Any, **kwargs: Any) -> str:
    from simple_salesforce import format_soql

    return format_soql(template, *args, **kwargs)


# A SOQL dateTime literal (UTC, no quotes) for `format_soql`'s `{:literal}` is the same
# ISO-8601 'Z' form findings.json uses.
soql_datetime = iso


@dataclass
class SubResult:
    """One composite subrequest's answer."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def records(self) -> list[dict[str, Any]]:
        if self.ok and isinstance(self.body, dict):
            return list(self.body.get("records") or [])
        return []

    @property
    def done(self) -> bool:
        return bool(self.ok and isinstance(self.body, dict) and self.body.get("done", True))

    @property
    def error(self) -> str:
        """`errorCode: message` of a failed subrequest (bodies are Salesforce's error lists)."""
        if self.ok:
            return ""
        body = self.body
        if isinstance(body, list) and body and isinstance(body[0], dict):
            message = str(body[0].get("message", "")).strip()
            # A malformed-query answer repeats the SOQL first and says what is wrong after its
            # "ERROR at Row" line (for a refused object: "sObject type 'X' is not supported"):
            # keep that part, which a 300-character cut would lose behind a long query.
            said = message.split("\n")
            at = next((i for i, line in enumerate(said) if line.startswith("ERROR at Row")), None)
            if at is not None and at + 1 < len(said):
                message = " ".join(line.strip() for line in said[at + 1:])
            return f"{body[0].get('errorCode', self.status)}: {message}"[:300]
        return f"HTTP {self.status}"


def query_url(version: str, q: str) -> str:
    """A REST query URL; `@{ref.records[0].Id}` references to earlier answers stay readable."""
    return f"/services/data/v{version}/query?q={quote(q, safe='@{}[]._')}"


def composite_get(sf: Any, urls: dict[str, str]) -> dict[str, SubResult]:
    """GET subrequests in ONE composite call through `sf` (a simple_salesforce.Salesforce:
    sfdoctor's own, or one holding a probed user's session); answers keyed by reference id."""
    if not urls:
        return {}
    if len(urls) > MAX_SUBREQUESTS:
        raise ValueError(f"a composite request holds at most {MAX_SUBREQUESTS} subrequests")
    answer = sf.restful("composite", method="POST", json={"allOrNone": False, "compositeRequest": [
        {"method": "GET", "referenceId": ref, "url": url} for ref, url in urls.items()]})
    results = {str(item.get("referenceId")): SubResult(int(item.get("httpStatusCode", 0)), item.get("body"))
               for item in (answer or {}).get("compositeResponse", [])}
    for ref in urls:
        results.setdefault(ref, SubResult(0, [{"errorCode": "NO_ANSWER", "message": "no answer in the composite response"}]))
    return results


def composite(conn: "Connection", queries: dict[str, str]) -> dict[str, SubResult]:
    """Up to 25 SOQL queries in ONE API call on sfdoctor's own connection.

    Subrequests may refer to earlier answers (`@{ref.records[0].Id}`), as Salesforce's
    composite resource allows.
    """
    return composite_get(conn.sf, {ref: query_url(conn.api_version, q) for ref, q in queries.items()})


def composite_once(conn: "Connection", read_errors: dict[str, str], key: str, queries: dict[str, str],
                   what: str, *, first: str = "org") -> dict[str, SubResult]:
    """`composite`, remembering a failure under `read_errors[key]`: every later caller gets the
    same reason raised again instead of spending another API call (API limit, timeout...).
    Without the `first` answer (the Organization row) nothing is trustworthy: that raises too."""
    if key in read_errors:
        raise CheckError(read_errors[key])
    try:
        answers = composite(conn, queries)
    except Exception as exc:
        read_errors[key] = f"{what} could not be read: {type(exc).__name__}: {exc}"[:300]
        raise
    if first in answers and not answers[first].ok:
        read_errors[key] = f"Organization could not be read: {answers[first].error}"
        raise CheckError(read_errors[key])
    return answers


def plain_record(record: dict[str, Any]) -> dict[str, Any]:
    """A query record without `attributes`, parent fields flattened to `Parent.Field`."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            for sub, subval in plain_record(value).items():
                out[f"{key}.{sub}"] = subval
        else:
            out[key] = value
    return out


__all__ = ["MAX_SUBREQUESTS", "SubResult", "composite", "composite_get", "composite_once", "plain_record",
           "query_url", "soql", "soql_datetime"]
