"""`--notify`: one message per fleet run with only what changed, through Apprise to a local
JSON webhook and a local SMTP server (aiosmtpd), both started here; a failed notification
is said and never fails the run."""
from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sfdoctor.cli import main
from sfdoctor.fleet.notify import Notifier, changes, message


def _entry(org, runbook, outcome, causes=(), folder="f"):
    return {"org": org, "runbook": runbook, "outcome": outcome, "root_causes": list(causes), "folder": folder}


PREVIOUS = {"entries": [
    _entry("a", "sia-auth-failure", "problems_found", ["OAUTH_APP_BLOCKED"]),
    _entry("b", "sia-auth-failure", "problems_found", ["USER_API_DISABLED"]),
    _entry("c", "sia-auth-failure", "healthy"),
    _entry("d", "sia-auth-failure", "healthy"),
]}
CURRENT = {"entries": [
    _entry("a", "sia-auth-failure", "healthy"),                                   # fixed
    _entry("b", "sia-auth-failure", "inconclusive", folder="g"),                  # could not look: not "fixed"
    _entry("c", "sia-auth-failure", "problems_found", ["OAUTH_APP_BLOCKED"]),     # new
    _entry("d", "sia-auth-failure", "healthy"),                                   # unchanged
]}


def test_changes_only_new_fixed_and_turned():
    found = {c.org: c for c in changes(CURRENT, PREVIOUS)}
    assert set(found) == {"a", "b", "c"}
    assert found["a"].fixed == ["OAUTH_APP_BLOCKED"] and not found["a"].new
    assert found["b"].turned == "inconclusive" and found["b"].fixed == []
    assert found["c"].new == ["OAUTH_APP_BLOCKED"]
    assert changes(CURRENT, CURRENT) == []
    title, body = message(list(found.values()), "ja")
    assert "変化 3 件" in title and "解消: OAUTH_APP_BLOCKED" in body and "判定不能" in body


class _Sink:
    """A JSON webhook on 127.0.0.1 that keeps what it is sent."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink():
    s = _Sink()
    yield s
    s.close()


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self) -> None:
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    keep = Keep()
    controller = Controller(keep, hostname="127.0.0.1", port=port)
    controller.start()
    yield keep, f"mailto://127.0.0.1:{port}?from=sfdoctor@example.com&to=ops@example.com&smtp=127.0.0.1&secure=no&mode=insecure"
    controller.stop()


def test_one_message_to_the_webhook_and_by_mail(sink, smtp):
    keep, mail_url = smtp
    line = Notifier([sink.url, mail_url], "en").send(CURRENT, PREVIOUS)
    assert "sent to 2" in line
    assert len(sink.received) == 1
    body = sink.received[0]["message"]
    assert "a / sia-auth-failure: fixed: OAUTH_APP_BLOCKED" in body
    assert "c / sia-auth-failure: new: OAUTH_APP_BLOCKED" in body
    assert "b / sia-auth-failure: now inconclusive" in body and "d /" not in body
    assert len(keep.messages) == 1
    rcpt, mail = keep.messages[0]
    assert rcpt == ["ops@example.com"] and "3 change" in mail["Subject"]


def test_nothing_changed_sends_nothing(sink):
    line = Notifier([sink.url], "en").send(CURRENT, CURRENT)
    assert "no notification" in line and sink.received == []


def test_a_failed_notification_is_said_not_raised():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    line = Notifier([f"json://127.0.0.1:{port}/hook"], "ja").send(CURRENT, PREVIOUS)
    assert "通知を送信できませんでした" in line


def test_fleet_run_notifies_changes_only_and_a_dead_target_never_fails_it(tmp_path, sink, capsys):
    worlds = tmp_path / "w"
    worlds.mkdir()
    orgs = tmp_path / "orgs.toml"
    orgs.write_text('[orgs.blocked]\ndemo = "sia-oauth-blocked"\n\n[orgs.fine]\ndemo = "sia-healthy"\n', encoding="utf-8")
    args = ["fleet", "run", "--orgs", str(orgs), "--runbooks", "sia-auth-failure", "--workers", "1",
            "--out", str(tmp_path / "out"), "--no-progress", "--notify", sink.url]
    assert main(args) == 1
    assert len(sink.received) == 1 and "blocked / sia-auth-failure: new: OAUTH_APP_BLOCKED" in sink.received[0]["message"]
    assert "fine" not in sink.received[0]["message"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"json://127.0.0.1:{s.getsockname()[1]}/hook"
    orgs.write_text('[orgs.blocked]\ndemo = "sia-healthy"\n\n[orgs.fine]\ndemo = "sia-healthy"\n', encoding="utf-8")
    capsys.readouterr()
    assert main([*args, "--notify", dead]) == 0  # the dead target does not change the exit code
    err = capsys.readouterr().err
    assert "could not be sent" in err
    assert len(sink.received) == 2 and "blocked / sia-auth-failure: fixed: OAUTH_APP_BLOCKED" in sink.received[1]["message"]
    assert main(args) == 0
    assert len(sink.received) == 2  # nothing changed: no message
    assert "no notification" in capsys.readouterr().err
