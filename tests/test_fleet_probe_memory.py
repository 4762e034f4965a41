"""Principle 7 in a fleet (spec/cli.md "Fleet runs"): the `fleet run` process keeps the probe
memory that `schedule run-due` keeps, so a fleet does not repeat a login probe that failed with
the same credentials, probes again once they change, and keeps no secret."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sfdoctor.demo.scenario import BUILTIN_DIR
from sfdoctor.demo.store import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from sfdoctor.fleet.run import FleetOptions, run_fleet
from sfdoctor.probe_memory import STATE, probe_key

RUNBOOK = "security-token-required"
OLD_PASSWORD = "Etl-pass-2025"   # what password-invalid's operator still holds
NEW_PASSWORD = "Etl-pass-2026"   # the user's real password in that world
FINE_USER = "sync@acme.example"  # healthy's integration user, whose login works


def _attempts(findings: dict) -> list[dict]:
    return [a for c in findings["checks"] for a in ((c.get("evidence") or {}).get("attempts") or [])]


def _run(orgs: Path, out: Path) -> dict:
    fleet, _code, _page = run_fleet(FleetOptions(orgs_file=orgs, runbooks=[RUNBOOK], workers=1, out=out,
                                                 progress=False))
    return {e["org"]: json.loads((out / e["folder"] / "findings.json").read_text()) for e in fleet["entries"]}


def test_a_fleet_does_not_repeat_a_failed_probe_with_the_same_credentials(tmp_path, capfd):
    world = tmp_path / "stale.yml"
    world.write_text((BUILTIN_DIR / "password-invalid.yml").read_text(encoding="utf-8"), encoding="utf-8")
    orgs = tmp_path / "orgs.toml"
    # healthy names no probe user (the demo operator picks none): the orgs file names the one to probe
    orgs.write_text('[orgs.stale]\ndemo = "stale.yml"\n\n[orgs.fine]\ndemo = "healthy"\n'
                    f'[orgs.fine.params.{RUNBOOK}]\nusername = "{FINE_USER}"\n', encoding="utf-8")
    out = tmp_path / "out"

    first = _run(orgs, out)
    assert any(a["ok"] is False for a in _attempts(first["stale"]))          # probes, is refused
    assert _attempts(first["fine"]) and all(a["ok"] for a in _attempts(first["fine"]))
    state = json.loads((out / STATE).read_text())["entries"]
    stale = state[probe_key(RUNBOOK, "stale", {})]
    assert stale["failed"] is True and stale["fingerprint"].startswith("hmac-sha256:") and len(stale["salt"]) >= 16
    assert state[probe_key(RUNBOOK, "fine", {"username": FINE_USER})]["failed"] is False
    assert OLD_PASSWORD not in (out / STATE).read_text() and NEW_PASSWORD not in (out / STATE).read_text()
    capfd.readouterr()

    second = _run(orgs, out)
    assert second["stale"]["parameters"]["probe"] is False and not _attempts(second["stale"])   # held back
    # Held is not healthy (principle 9): the run says it could not look, so a fleet cannot call
    # the cause fixed; the refused probe's time is what the run reports.
    assert second["stale"]["parameters"]["probe_held"] == stale["updated"]
    assert second["stale"]["outcome"] in ("inconclusive", "problems_found"), second["stale"]["outcome"]
    assert "probe-held" in second["stale"]["not_checked"]
    if second["stale"]["outcome"] == "inconclusive":
        assert any("Login probe held back" in r for r in second["stale"]["reasons"])
    assert _attempts(second["fine"])                                        # its last probe worked: probes
    assert "probe off (probe=false) for 1 org-runbooks" in capfd.readouterr().err
    assert json.loads((out / STATE).read_text())["entries"][probe_key(RUNBOOK, "stale", {})] == stale

    # The operator's notes get the new password: other credentials, so the fleet probes again.
    world.write_text(world.read_text(encoding="utf-8").replace(OLD_PASSWORD, NEW_PASSWORD), encoding="utf-8")
    third = _run(orgs, out)
    assert _attempts(third["stale"]) and third["stale"]["parameters"].get("probe") is not False
    renewed = json.loads((out / STATE).read_text())["entries"][probe_key(RUNBOOK, "stale", {})]
    assert renewed["salt"] == stale["salt"] and renewed["fingerprint"] != stale["fingerprint"]
    assert renewed["failed"] is False


def test_a_real_org_is_probed_again_once_its_password_is_fixed(tmp_path, simulator, tls_proxy):
    """A real org (an orgs-file entry with secrets in environment variables, HTTPS to
    acme.my.salesforce.com through the local TLS proxy to a simulator): the worker fingerprints
    the probe credentials its entry names, so the fleet holds the probe while the password stays
    the old one and probes again once the variable holds the fixed one; no secret is kept."""
    sim = simulator("password-invalid")
    proxy = tls_proxy(sim)
    orgs = tmp_path / "orgs.toml"
    orgs.write_text('[orgs.acme]\nmy_domain = "acme.my.salesforce.com"\nauth = "client_credentials"\n'
                    'client_id_env = "ACME_CLIENT_ID"\nclient_secret_env = "ACME_CLIENT_SECRET"\n'
                    '[orgs.acme.probe]\nusername = "etl@acme.example"\npassword_env = "ACME_ETL_PASSWORD"\n'
                    f'[orgs.acme.params.{RUNBOOK}]\nusername = "etl@acme.example"\n', encoding="utf-8")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFDOCTOR_")}
    env.update(proxy.env())
    env.update({"SFDOCTOR_ORGS": str(orgs), "SFDOCTOR_LANG": "en", "HOME": str(tmp_path),
                "ACME_CLIENT_ID": DEMO_CLIENT_ID, "ACME_CLIENT_SECRET": DEMO_CLIENT_SECRET,
                "ACME_ETL_PASSWORD": OLD_PASSWORD})

    def fleet() -> tuple[dict, str]:
        done = subprocess.run([sys.executable, "-m", "sfdoctor.cli", "fleet", "run", "--runbooks", RUNBOOK,
                               "--workers", "1", "--out", str(out), "--json"],
                              capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode in (0, 1), done.stderr
        [entry] = json.loads(done.stdout)["entries"]
        return json.loads((out / entry["folder"] / "findings.json").read_text()), done.stderr

    key = probe_key(RUNBOOK, "acme", {"username": "etl@acme.example"})
    first, _ = fleet()
    assert _attempts(first) and any(a["ok"] is False for a in _attempts(first))     # the old password, refused
    held = json.loads((out / STATE).read_text())["entries"][key]
    assert held["failed"] is True and held["fingerprint"].startswith("hmac-sha256:")

    second, err = fleet()
    assert second["parameters"]["probe"] is False and not _attempts(second)           # the same password: held
    assert "probe off (probe=false) for 1 org-runbooks whose last probe failed with these same credentials, and 0" in err

    env["ACME_ETL_PASSWORD"] = NEW_PASSWORD                                          # the admin fixed it
    third, _ = fleet()
    assert _attempts(third) and all(a["ok"] for a in _attempts(third))
    renewed = json.loads((out / STATE).read_text())["entries"][key]
    assert renewed["failed"] is False and renewed["salt"] == held["salt"]
    assert renewed["fingerprint"] != held["fingerprint"]
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert OLD_PASSWORD not in text and NEW_PASSWORD not in text and DEMO_CLIENT_SECRET not in text, path
