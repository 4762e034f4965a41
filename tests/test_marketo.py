"""sfdoctor.marketo: the rate limiter (stepped clock, no sleeping), credentials, and the client
against the demo simulator's Marketo endpoints through clients.py's routed, guarded session."""
from __future__ import annotations

from contextlib import ExitStack
from types import SimpleNamespace

import pytest
from config_errors import said_in_both_languages

from sfdoctor import clients, marketo
from sfdoctor.errors import OrgConfigError, ReadOnlyViolation
from sfdoctor.orgs import OrgRef


class Clock:
    """A clock the test moves; `sleep` moves it too (and records the waits)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_limiter_lets_100_calls_through_a_window_then_waits_for_the_oldest():
    clock = Clock()
    lim = marketo.RateLimiter(clock=clock, sleep=clock.sleep)
    for i in range(100):
        with lim.slot():
            clock.now += 0.01
    assert clock.sleeps == []
    with lim.slot():
        pass
    # the first call was at t=1000.00; the 101st may go 20 s after it
    assert clock.sleeps == [pytest.approx(20 - 1.0, abs=1e-6)]
    assert lim.waited == pytest.approx(19.0)


def test_limiter_window_slides():
    clock = Clock()
    lim = marketo.RateLimiter(calls=3, period=20, clock=clock, sleep=clock.sleep)
    for step in (0, 5, 5):
        clock.now += step
        with lim.slot():
            pass
    clock.now += 11            # t=21: the first call (t=0) has left the window, the others not
    with lim.slot():
        pass
    assert clock.sleeps == []
    with lim.slot():           # now 3 calls in (5, 10, 21): wait until t=25
        pass
    assert clock.sleeps == [pytest.approx(4.0)]


def test_limiter_holds_at_most_ten_concurrent_slots():
    lim = marketo.RateLimiter(clock=Clock(), sleep=lambda s: None)
    with ExitStack() as stack:
        for _ in range(10):
            stack.enter_context(lim.slot())
        assert lim._slots.acquire(blocking=False) is False
    assert lim._slots.acquire(blocking=False) is True
    lim._slots.release()


def test_limiter_rejects_nonsense_and_is_shared_per_instance():
    with pytest.raises(ValueError):
        marketo.RateLimiter(calls=0)
    assert marketo.limiter_for("123-abc-456") is marketo.limiter_for("123-ABC-456")
    assert marketo.limiter_for("123-ABC-456") is not marketo.limiter_for("999-ZZZ-999")


def test_credentials_never_show_the_secret():
    creds = marketo.MarketoCredentials("123-ABC-456", "mkto-client", "s3cr3t-value")
    assert "s3cr3t-value" not in repr(creds) and "s3cr3t-value" not in str(creds)
    assert creds.host == "123-ABC-456.mktorest.com"


def test_credentials_from_a_real_orgs_file_are_references(monkeypatch):
    monkeypatch.setenv("MKTO_SECRET_FOR_TEST", "from-the-env-123")
    ref = OrgRef(name="prod", kind="real", slug="prod",
                 config={"marketo": {"munchkin_id": "482-KTR-913", "client_id": "abc", "client_secret_env": "MKTO_SECRET_FOR_TEST"}})
    conn = SimpleNamespace(org_ref=ref, secrets=set())
    creds = marketo.credentials_for(conn)
    assert (creds.munchkin_id, creds.client_id, creds.client_secret) == ("482-KTR-913", "abc", "from-the-env-123")
    assert "from-the-env-123" in conn.secrets
    monkeypatch.delenv("MKTO_SECRET_FOR_TEST")
    with pytest.raises(OrgConfigError, match="MKTO_SECRET_FOR_TEST"):
        marketo.credentials_for(SimpleNamespace(org_ref=ref, secrets=set()))
    with pytest.raises(OrgConfigError, match="munchkin_id") as exc:
        marketo.credentials_for(SimpleNamespace(org_ref=OrgRef("x", "real", "x", config={}), secrets=set()))
    said_in_both_languages(exc.value)
    assert "組織 'x' には orgs.x.marketo.munchkin_id がありません" in exc.value.one_line("ja")
    with pytest.raises(OrgConfigError) as exc:                  # a demo world without Marketo
        marketo.credentials_for(SimpleNamespace(org_ref=None, info=None, operator={}, secrets=set()))
    said_in_both_languages(exc.value)


@pytest.fixture(scope="module")
def conn():
    return clients.connect("demo:marketo-healthy")


def _recording(session):
    seen = []
    original = session.request

    def request(method, url, **kw):
        seen.append((method, url, kw.get("params")))
        return original(method, url, **kw)

    session.request = request
    return seen


def test_client_token_reuse_lookup_and_counts(conn):
    client = marketo.MarketoClient.for_connection(conn)
    seen = _recording(client.session)
    leads = client.leads_by_email(["haruka.mori@example.jp", " HARUKA.MORI@example.jp", "nobody@example.jp"])
    assert [lead["email"] for lead in leads] == ["haruka.mori@example.jp"]
    assert leads[0]["sfdcLeadId"]                                   # linked by the sync
    client.get("/rest/v1/leads/describe.json")
    assert client.scope == "apis@617-hsd-204.example.com"
    assert client.stats() == {"total": 3, "by_endpoint": {"POST /identity/oauth/token": 1,
                                                          "GET /rest/v1/leads.json": 1,
                                                          "GET /rest/v1/leads/describe.json": 1}}
    # the secret travels in the POST body only, never in a URL or query parameters
    assert all("mkto-secret" not in url and "mkto-secret" not in str(params) for _, url, params in seen)
    assert seen[0][0] == "POST" and seen[0][1] == "https://617-HSD-204.mktorest.com/identity/oauth/token"
    # Marketo's calls do not land in the org connection's counter
    assert not any("/rest/" in k or "/identity/" in k for k in conn.counter.snapshot()["by_endpoint"])


def test_wrong_secret_is_an_identity_error_without_the_secret(conn):
    creds = marketo.MarketoCredentials("617-HSD-204", "mkto-client", "not-the-secret")
    client = marketo.MarketoClient.for_connection(conn, creds)
    with pytest.raises(marketo.MarketoIdentityError) as info:
        client.token()
    assert (info.value.status, info.value.error, info.value.description) == (401, "invalid_client", "Bad client credentials")
    assert "not-the-secret" not in str(info.value)
    unknown = marketo.MarketoClient.for_connection(conn, marketo.MarketoCredentials("617-HSD-204", "nobody", "x"))
    with pytest.raises(marketo.MarketoIdentityError, match="No client with requested id"):
        unknown.token()


def test_access_denied_is_603_with_its_meaning():
    denied = clients.connect("demo:marketo-api-denied")
    client = marketo.MarketoClient.for_connection(denied)
    with pytest.raises(marketo.MarketoApiError) as info:
        client.leads_by_email(["d.kato@example.co.jp"])
    assert (info.value.code, info.value.message) == ("603", "Access denied")
    assert "role lacks the permission" in str(info.value)
    assert client.calls == 2


class FakeSession:
    """Answers queued (status, body) pairs and records what was asked."""

    def __init__(self, *answers):
        self.answers, self.asked = list(answers), []

    def request(self, method, url, **kw):
        self.asked.append((method, url.split(".com", 1)[1], (kw.get("headers") or {}).get("Authorization")))
        status, body = self.answers.pop(0)
        return SimpleNamespace(status_code=status, json=lambda: body, reason="")


TOKEN = {"access_token": "t1:int", "token_type": "bearer", "expires_in": 3599, "scope": "apis@x.example"}


def test_expired_token_is_renewed_once_and_other_codes_are_raised():
    creds = marketo.MarketoCredentials("123-ABC-456", "id", "secret")
    lim = marketo.RateLimiter(clock=Clock(), sleep=lambda s: None)
    expired = {"requestId": "a#1", "success": False, "errors": [{"code": "602", "message": "Access token expired"}]}
    ok = {"requestId": "a#2", "success": True, "result": []}
    session = FakeSession((200, TOKEN), (200, expired), (200, {**TOKEN, "access_token": "t2:int"}), (200, ok))
    client = marketo.MarketoClient(session, creds, limiter=lim)
    assert client.get("/rest/v1/leads/describe.json") == ok
    assert [a[2] for a in session.asked if a[0] == "GET"] == ["Bearer t1:int", "Bearer t2:int"]
    assert client.calls == 4
    twice = FakeSession((200, TOKEN), (200, expired), (200, TOKEN), (200, expired))
    with pytest.raises(marketo.MarketoApiError, match="602"):
        marketo.MarketoClient(twice, creds, limiter=lim).get("/rest/v1/leads/describe.json")
    outage = FakeSession((200, TOKEN), (503, None))
    with pytest.raises(marketo.MarketoError, match="HTTP 503"):
        marketo.MarketoClient(outage, creds, limiter=lim).get("/rest/v1/leads/describe.json")


def test_token_is_reused_until_shortly_before_expiry():
    clock = Clock()
    session = FakeSession((200, TOKEN), (200, {**TOKEN, "access_token": "t2:int"}))
    client = marketo.MarketoClient(session, marketo.MarketoCredentials("123-ABC-456", "id", "secret"),
                                   limiter=marketo.RateLimiter(clock=clock, sleep=clock.sleep), clock=clock)
    assert client.token() == "t1:int"
    clock.now += 3599 - marketo.TOKEN_MARGIN - 1
    assert client.token() == "t1:int"
    clock.now += 2
    assert client.token() == "t2:int"
    assert client.calls == 2


def test_writes_are_refused_before_a_byte_is_sent(conn):
    client = marketo.MarketoClient.for_connection(conn)
    with pytest.raises(ReadOnlyViolation):
        client.session.post("https://617-HSD-204.mktorest.com/rest/v1/leads.json", json={"input": []})
    assert client.session.counter.total == 0
