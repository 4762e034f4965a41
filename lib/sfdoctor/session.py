"""The notebook's side of a run: one object that connects, runs checks and records results.

A runbook notebook stays a story: `run = RunSession.open(...)`, then one `run.check(...)`
per cell, then `run.finish()`. Each check's findings are displayed twice in one output:
as an HTML card for people and as `MIMETYPE` JSON that the runner collects. The run's
outcome therefore comes from what our own code recorded, never from papermill's cell
status (which says "completed" even after a timeout).

A run that cannot connect still finishes: the connect error becomes an `error` finding,
later checks are recorded as skipped, and the outcome is `inconclusive` (exit 3) with a
report, as principle 6 asks.
"""
from __future__ import annotations

import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple

from .errors import CheckError, SfdoctorError, check_lang
from .findings import API_CALLS_METADATA, MIMETYPE, RUN_MIMETYPE, Finding, RunResult, done_line, utcnow
from .i18n import t
from .report import CONTEXT_MIMETYPE, finding_card_html, summary_html
from .runbooks import load

if TYPE_CHECKING:
    from .clients import Connection
    from .runbooks import RunbookSpec

_MAX_REASON = 300


def _display(bundle: dict[str, Any], metadata: dict[str, Any] | None = None) -> None:
    """Publish a raw mime bundle (in a kernel); outside IPython this is a no-op print-free call."""
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - ipykernel is a dependency
        return
    display(bundle, raw=True, metadata=metadata or {})


class Said(NamedTuple):
    """What an exception tells an operator: HTTP status, the API's error code, a timeout, words."""

    http_status: int | None = None
    code: str | int | None = None
    timeout: bool = False
    message: str | None = None


def _salesforce_code(content: Any) -> str | None:
    """The `errorCode` of a Salesforce REST error body (a list of {errorCode, message})."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0].get("errorCode")
    return None


def _said_by_requests(exc: Any) -> Said:
    response = exc.response
    return Said(http_status=response.status_code if response is not None else None)


@lru_cache(maxsize=1)
def error_types() -> tuple[tuple[type[BaseException], Callable[[Any], Said]], ...]:
    """The ONE table from an exception type to what it says, most specific type first (as
    simple-salesforce maps HTTP statuses to its exception classes). Built on first use: it
    names requests' and simple-salesforce's types, which a kernel's first cell need not import.
    A type not listed says only its words (`str(exc)`)."""
    import requests
    import urllib3.exceptions
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

    from .clients import OwnLoginRefused
    from .marketo import MarketoApiError, MarketoIdentityError
    from .mcloud import McApiError
    from .metadata import MetadataError

    return (
        (CheckError, lambda e: Said(e.http_status, e.code, message=e.reason)),
        (OwnLoginRefused, lambda e: Said(code=e.code, message=e.message)),
        (MetadataError, lambda e: Said(e.status, e.code, message=e.message)),
        (SfdoctorError, lambda e: Said(message=e.message)),
        (McApiError, lambda e: Said(e.status, e.code, message=e.message)),
        (MarketoApiError, lambda e: Said(code=e.code, message=e.message)),
        (MarketoIdentityError, lambda e: Said(http_status=e.status)),
        # simple-salesforce's class message (its template) names the kind of refusal
        # without the URL or the response body.
        (SalesforceAuthenticationFailed, lambda e: Said(code=e.code, message=e.message)),
        (SalesforceError, lambda e: Said(e.status, _salesforce_code(e.content), message=e.message)),
        (requests.Timeout, lambda e: Said(timeout=True)),
        (requests.RequestException, _said_by_requests),
        (urllib3.exceptions.TimeoutError, lambda e: Said(timeout=True)),
        (TimeoutError, lambda e: Said(timeout=True)),
    )


def what_it_says(exc: BaseException) -> Said:
    """The first row of `error_types()` that `exc` is an instance of."""
    for kind, said in error_types():
        if isinstance(exc, kind):
            return said(exc)
    return Said()


def describe_exception(exc: BaseException, secrets: set[str] | frozenset[str] = frozenset(),
                       lang: str = "en") -> tuple[str, dict[str, Any]]:
    """A one-line reason and JSON-native evidence for an exception, free of secrets.

    Names what an operator can act on: the HTTP status, the API's error code, a timeout.
    Our own errors (`SfdoctorError`) say their words in `lang`, the run's language.
    """
    said = what_it_says(exc)
    evidence: dict[str, Any] = {"exception": type(exc).__name__}
    if isinstance(said.http_status, int):
        evidence["http_status"] = said.http_status
    if isinstance(said.code, (str, int)) and said.code != "":
        evidence["code"] = said.code
    if said.timeout:
        evidence["timeout"] = True
    if isinstance(said.message, str) or said.message is None or not isinstance(exc, SfdoctorError):
        message = said.message if isinstance(said.message, str) else str(exc)
    else:
        message = exc.text(lang)    # a Text or a runbook's {en, ja}: the run's language
    reason = " ".join((message or type(exc).__name__).split())
    reason = _scrub(reason, secrets)
    if len(reason) > _MAX_REASON:
        reason = reason[: _MAX_REASON - 1] + "…"
    evidence["reason"] = reason
    return reason, evidence


def _scrub(text: str, secrets: set[str] | frozenset[str]) -> str:
    from .scrub import scrub_text

    return scrub_text(text, secrets)


class RunSession:
    """One run of one runbook inside a notebook kernel (or any Python process)."""

    def __init__(self, spec: RunbookSpec, org: str, lang: str, params: Mapping[str, Any]):
        self.spec = spec
        self.org = org
        self.lang = check_lang(lang)
        self.texts = spec.texts(self.lang)
        secret_names = {p.name for p in spec.parameters if p.secret}
        # Secrets typed into the form are kept apart: usable by checks, never recorded.
        self.secret_values: dict[str, str] = {k: v for k, v in params.items() if k in secret_names and v}
        self.params: dict[str, Any] = {k: _jsonable(v) for k, v in params.items() if k not in secret_names}
        self.conn: "Connection | None" = None
        self.org_ref: Any = None
        self.connect_error: str | None = None
        self.connect_exception: Exception | None = None
        self.findings: list[Finding] = []
        self.started_at = utcnow()
        self.edition: str | None = None
        self.window: str | None = None
        self.display = True
        # (cause, fix) → title of the check whose card showed that fix in full: a later card
        # with the same cause shows a short reference instead of the same steps again.
        self._fix_shown: dict[tuple[str, str], str] = {}

    # ------------------------------------------------------------------ life cycle
    @classmethod
    def open(
        cls,
        runbook: str | RunbookSpec,
        org: str,
        lang: str = "en",
        params: Mapping[str, Any] | None = None,
        *,
        connect: bool = True,
        display: bool = True,
    ) -> "RunSession":
        """Resolve the org and connect; a failed connection is recorded, never raised.

        `connect=False` is for runbooks (and tests) whose checks need no org.
        An unknown runbook or language still raises BadInput: that is the notebook's bug.
        """
        # A runbook id, or a spec already loaded (the pydantic model, or the plain SpecData a
        # runner-started kernel gets: see runbooks.VALIDATED_SPEC_ENV).
        spec = load(runbook) if isinstance(runbook, str) else runbook
        run = cls(spec, org, lang, dict(params or {}))
        run.display = display
        if not connect:
            return run
        t0 = time.perf_counter()
        try:
            from . import clients, orgs

            run.org_ref = orgs.resolve(org, runbook=spec)
            run.conn = clients.connect(run.org_ref, runbook=spec)
        except Exception as exc:  # any failure to connect is a finding, not a crash (principle 6)
            reason, evidence = describe_exception(exc, run.secrets, run.lang)
            run.connect_error = reason
            run.connect_exception = exc  # e.g. clients.OwnLoginRefused, which a runbook may go on from
            run._record([spec.finding("connect", "error", run.lang, evidence=evidence,
                                      summary=t("run.error.connect", run.lang, reason=reason),
                                      duration_ms=int((time.perf_counter() - t0) * 1000))])
        return run

    @property
    def secrets(self) -> set[str]:
        """Every value to keep out of outputs: the connection's and the form's."""
        values = set(self.conn.secrets) if self.conn is not None else set()
        values.update(v for v in self.secret_values.values() if isinstance(v, str) and v)
        return values

    def check(self, fn: Callable[..., list[Finding]], *args: Any, check_id: str | None = None, **kw: Any) -> list[Finding]:
        """Run one check function `fn(conn, *args, lang=..., **kw)`, time it, show and record its findings.

        An exception becomes an `error` finding naming the HTTP status, Salesforce error code
        or timeout (never a secret); with no connection the check is recorded as skipped.
        """
        cid = check_id or getattr(fn, "check_id", None) or fn.__name__.replace("_", "-")
        t0 = time.perf_counter()
        if self.connect_error is not None:
            found = [self._engine_finding(cid, "skip", {"reason": t("run.error.skipped_no_connection", self.lang)},
                                          t("run.error.skipped_no_connection", self.lang), 0)]
            self._record(found)
            return found
        try:
            result = fn(self.conn, *args, lang=self.lang, **kw)
            found = list(result or [])
            for f in found:
                if not isinstance(f, Finding):
                    raise TypeError(f"{fn.__name__} returned {type(f).__name__}, not Finding")
        except Exception as exc:
            reason, evidence = describe_exception(exc, self.secrets, self.lang)
            ms = int((time.perf_counter() - t0) * 1000)
            manual = self._refused_read(cid, exc, reason, evidence, ms)
            found = [manual or self._engine_finding(cid, "error", evidence, t("run.error.check", self.lang, reason=reason),
                                                    ms)]
            self._record(found)
            return found
        elapsed = int((time.perf_counter() - t0) * 1000)
        for f in found:
            if not f.duration_ms:
                f.duration_ms = elapsed
        self._record(found)
        return found

    @property
    def api_calls(self) -> int:
        """Requests sent to the org so far (the connection's counter; 0 without a connection)."""
        return self.conn.counter.total if self.conn is not None else 0

    def record(self, *findings: Finding) -> None:
        """Record findings made outside `check` (e.g. a manual step answered in the form)."""
        self._record(list(findings))

    def finish(self) -> RunResult:
        """Build the RunResult, show the summary and publish the full findings.json content."""
        held_since = str(self.params.get("probe_held") or "").strip()
        if held_since:
            self._record([self._probe_held(held_since)])
        result = RunResult(
            runbook=self.spec.id,
            org=self.org,
            lang=self.lang,
            started_at=self.started_at,
            finished_at=utcnow(),
            parameters=dict(self.params),
            api_calls=self.api_calls,
            checks=list(self.findings),
        )
        data = result.to_json()
        if self.display:
            _display({
                "text/html": summary_html(data, self.lang, self.spec),
                RUN_MIMETYPE: data,
                CONTEXT_MIMETYPE: self.context(),
                "text/plain": done_line(data, self.lang),
            })
        return result

    def _probe_held(self, since: str) -> Finding:
        """A schedule or fleet held the login probe back because it last failed with the same
        credentials (principle 7). The run could not look, so it must not read as healthy, nor a
        fleet call the cause fixed (principle 9): a manual step left open, its evidence unexplained."""
        from .dates import instant_text

        return Finding(id="probe-held", title=t("run.probe_held_title", self.lang), status="manual",
                       evidence={"held_since": since, "login_attempts": 0},
                       summary=t("run.probe_held", self.lang, when=instant_text(since, self.lang)),
                       fix=t("run.probe_held_fix", self.lang), unexplained=True)

    def context(self) -> dict[str, Any]:
        """What the report's "what we looked at" needs beyond findings.json."""
        edition = self.edition
        if edition is None:
            edition = next((f.evidence.get("edition") for f in self.findings if f.evidence.get("edition")), None)
        counter = self.conn.counter if self.conn is not None else None
        # Logins tried with the credentials under diagnosis (the probe session's, simulated
        # ones included); sfdoctor's own token requests (Salesforce, an installed package)
        # are its access, not attempts against the tested user's lockout (principle 7).
        return {
            "edition": edition,
            "window": self.window,
            "login_attempts": counter.probe_logins if counter is not None else 0,
            "api_calls": counter.total if counter is not None else 0,
        }

    # ------------------------------------------------------------------ internals
    def _refused_read(self, cid: str, exc: BaseException, reason: str, evidence: dict[str, Any],
                      ms: int) -> Finding | None:
        """A `manual` step when Salesforce refused a read sfdoctor's run-as user may not make
        (docs/permissions.md): never an error, never a pass. None for any other failure."""
        from . import access
        from .metadata import MetadataError

        read = access.refused_read(evidence.get("code"), reason, metadata=isinstance(exc, MetadataError),
                                   runbook_reads=getattr(self.spec, "reads", None) or ())
        if read is None:
            return None
        edition_words = ("API_DISABLED_FOR_ORG", "The Metadata API is not enabled")
        refusal = "edition" if any(w in f"{evidence.get('code')} {reason}" for w in edition_words) else "permission"
        text = access.manual_step(read, self.lang, refusal=refusal, edition=self.edition)
        found = self._engine_finding(cid, "manual", {
            "read": read.id, "refusal": refusal, "code": evidence.get("code"),
            "permissions": list(read.any_of), "setup": read.setup(self.lang)}, text, ms)
        found.fix = text
        return found

    def _engine_finding(self, cid: str, status: str, evidence: dict[str, Any], summary: str, ms: int) -> Finding:
        return self.spec.finding(cid, status, self.lang, evidence=evidence, summary=summary, duration_ms=ms)

    def _record(self, found: list[Finding]) -> None:
        secrets = self.secrets
        for f in found:
            if secrets:
                # Evidence must be free of secrets (spec/findings.md): scrub before it is shown.
                from .scrub import scrub_obj

                f.evidence = scrub_obj(f.to_json()["evidence"], secrets)
                f.summary = _scrub(f.summary, secrets)
            self.findings.append(f)
            if self.display:
                shown_above = None
                if f.cause and f.fix:
                    shown_above = self._fix_shown.get((f.cause, f.fix))
                    self._fix_shown.setdefault((f.cause, f.fix), f.title)
                # The API calls spent so far ride along in the output's metadata, so a run
                # that dies before finish() still reports what it cost (runner.collect).
                _display({
                    "text/html": finding_card_html(f, self.lang, spec=self.spec, fix_shown_above=shown_above),
                    MIMETYPE: f.to_json(),
                    "text/plain": f"[{f.status}] {f.title}" + (f" ({f.cause})" if f.cause else ""),
                }, {API_CALLS_METADATA: self.api_calls})


def _jsonable(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value
