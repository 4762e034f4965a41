"""Scenario loading: every error is one line naming file, key path and problem; times parse."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sfdoctor.demo.scenario import (BUILTIN_DIR, ScenarioError, TimeRef, list_builtin, load_scenario,
                                    parse_duration, parse_scenario_text, parse_time)

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def error_of(text: str, source: str = "token.yml") -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(text, source=source)
    line = info.value.one_line()
    assert "\n" not in str(info.value)
    return line


@pytest.mark.parametrize("text, expected", [
    ("salesforce: {users: [{username: a@x.example}, {username: s@x.example, profile: Markto Sync}]}",
     "token.yml: salesforce.users[1].profile: profile 'Markto Sync' does not exist "
     "(known: System Administrator, Standard User)"),
    ("salesforce: {users: [{username: a@x.example, pasword: x}]}",
     "token.yml: salesforce.users[0].pasword: unknown key (known: username, password,"),
    ("bogus: 1", "token.yml: bogus: unknown key (known: name, runbook,"),
    ("salesforce: {objects: {Lead: {fields: [{name: x__c, typo: 1}]}}}",
     "token.yml: salesforce.objects.Lead.fields[0].typo: unknown key (known: name, label, type"),
    ("salesforce: {users: [{username: a@x.example}, {username: A@x.example}]}",
     "token.yml: salesforce.users[1].username: duplicate username 'A@x.example' (also users[0])"),
    ("marketing_cloud: {users: [{username: dc}, {username: dc}]}",
     "token.yml: marketing_cloud.users[1].username: duplicate username 'dc' (also users[0])"),
    ("salesforce: {api_enabled: maybe}", "token.yml: salesforce.api_enabled: input should be a valid boolean"),
    ("client_ip: 10.0.0.300", "token.yml: client_ip: '10.0.0.300' is not an IPv4 address"),
    ("salesforce: {trusted_ip_ranges: [{start: 10.0.0.5, end: 10.0.0.1}]}",
     "token.yml: salesforce.trusted_ip_ranges[0].end: end 10.0.0.1 lies before start 10.0.0.5"),
    ("salesforce: {trusted_ip_ranges: [{end: 10.0.0.1}]}",
     "token.yml: salesforce.trusted_ip_ranges[0].start: required key is missing"),
    ("salesforce: {users: [{username: a@x.example, permission_sets: [Nope]}]}",
     "token.yml: salesforce.users[0].permission_sets[0]: permission set 'Nope' does not exist"),
    ("salesforce: {login_history: [{username: ghost@x.example}]}",
     "token.yml: salesforce.login_history[0].username: user 'ghost@x.example' does not exist"),
    ("salesforce: {oauth_tokens: [{app: A, username: ghost@x.example}]}",
     "token.yml: salesforce.oauth_tokens[0].username: user 'ghost@x.example' does not exist"),
    ("salesforce: {login_history: [{username: admin@acme.example, count: 3}]}",
     "token.yml: salesforce.login_history[0].every: required when count is more than 1"),
    ("salesforce: {login_history: [{username: admin@acme.example, at: -2x}]}",
     "token.yml: salesforce.login_history[0].at: expected a time"),
    ("salesforce: {login_history: [{username: admin@acme.example, at: '2026-11-20T09:00:00'}]}",
     "token.yml: salesforce.login_history[0].at: time '2026-11-20T09:00:00' has no time zone"),
    ("salesforce: {login_history: [{username: admin@acme.example, count: 2, every: soon}]}",
     "token.yml: salesforce.login_history[0].every: expected a duration"),
    ("salesforce: {profiles: [{name: X}, {name: X}]}", "token.yml: salesforce.profiles: profile 'X' is defined twice"),
    ("salesforce: {objects: {Lead: {fields: [{name: Score, type: double}]}}}",
     "token.yml: salesforce.objects.Lead.fields[0].name: custom field name 'Score' must be an API name ending in __c"),
    ("salesforce: {objects: {Lead: {fields: [{name: x__c, hidden_from: [Nobody]}]}}}",
     "token.yml: salesforce.objects.Lead.fields[0].hidden_from[0]: profile 'Nobody' does not exist"),
    ("salesforce: {records: {Lead: [{LastName: x, Foo: 1}]}}", "token.yml: salesforce.records.Lead[0].Foo: no such field on Lead"),
    ("salesforce: {records: {Opportunity: [{Name: x}]}}", "token.yml: salesforce.records.Opportunity: unknown sObject"),
    ("marketo: {sync: {status: Broken}}",
     "token.yml: marketo.sync.status: input should be 'Last synced', 'Sync in progress' or 'Failed'"),
    ("faults: [{match: 'get /x'}]", "token.yml: faults[0].match: match 'get /x' must be 'METHOD PATH-GLOB'"),
    ("marketing_cloud: {subdomain: mc7xk2abcd}",
     "token.yml: marketing_cloud.subdomain: subdomain 'mc7xk2abcd' must be 28 characters starting with mc"),
    ("salesforce: {sandbox: UAT}", "token.yml: salesforce.sandbox: sandbox name 'UAT' must be"),
    ("salesforce: {sandbox: 5}", "token.yml: salesforce.sandbox: expected false, true or the sandbox's name (e.g. uat), got 5"),
    ("- 1", "token.yml: (top): expected a mapping"),
    ("salesforce:\n  users: [\n  x: : y", "token.yml: line 3, column 6: YAML syntax error:"),
    ("name: a\nname: b", "token.yml: line 2, column 1: YAML syntax error: key 'name' appears twice"),
])
def test_every_error_is_one_line_with_file_path_and_problem(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


def test_missing_file_and_unknown_builtin(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"^nope\.yml: file not found$"):
        load_scenario("nope.yml")
    with pytest.raises(ScenarioError, match=r"^nope: unknown built-in scenario \(built-in: .*healthy"):
        load_scenario("nope")
    bad = tmp_path / "bad.yml"
    bad.write_text("salesforce: {edition: [1, 2]}\n")
    with pytest.raises(ScenarioError, match=r"bad\.yml: salesforce\.edition: input should be a valid string"):
        load_scenario(str(bad))


def test_defaults_fill_everything_and_name_comes_from_file(tmp_path: Path) -> None:
    path = tmp_path / "my-world.yml"
    path.write_text("description: nothing special\n")
    s = load_scenario(str(path))
    assert s.name == "my-world"
    assert [p.name for p in s.salesforce.profiles] == ["System Administrator", "Standard User"]
    assert all(p.api_enabled for p in s.salesforce.profiles)
    assert s.admin_user is not None and s.admin_user.profile == "System Administrator"
    assert s.marketo.sync.status == "Last synced"
    assert s.marketing_cloud.ip_allowlist.enabled is False
    assert s.data_cloud.egress_ips and s.faults == [] and s.operator == {}


def test_a_scenario_may_redefine_a_default_profile() -> None:
    s = parse_scenario_text("salesforce: {profiles: [{name: Standard User, api_enabled: false}]}")
    std = s.salesforce.profile("Standard User")
    assert std is not None and std.api_enabled is False
    assert [p.name for p in s.salesforce.profiles].count("Standard User") == 1


@pytest.mark.parametrize("text, offset", [
    ("-2h", timedelta(hours=-2)), ("-3d", timedelta(days=-3)), ("-45m", timedelta(minutes=-45)),
    ("-30s", timedelta(seconds=-30)), ("+1d", timedelta(days=1)), ("now", timedelta(0)),
    ("-6d23h", -timedelta(days=6, hours=23)), ("-1h30m", -timedelta(minutes=90)),
])
def test_relative_times_keep_their_offset(text: str, offset: timedelta) -> None:
    ref = parse_time(text, now=NOW)
    assert isinstance(ref, datetime) and ref.offset == offset
    assert ref == NOW + offset
    later = NOW + timedelta(hours=5)
    assert ref.resolve(later) == later + offset


def test_absolute_times_ignore_the_clock() -> None:
    ref = parse_time("2026-11-20T09:00:00Z", now=NOW)
    assert ref.offset is None and ref == NOW
    assert ref.resolve(NOW + timedelta(days=9)) == NOW
    # PyYAML turns an unquoted timestamp into a datetime already
    s = parse_scenario_text("salesforce: {login_history: [{username: admin@acme.example, at: 2026-11-20T09:00:00Z}]}")
    assert s.salesforce.login_history[0].at == NOW


def test_durations() -> None:
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("30s") == timedelta(seconds=30)
    assert parse_duration(90) == timedelta(seconds=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    for bad in ("-5m", "soon", True):
        with pytest.raises(ValueError):
            parse_duration(bad)
    s = parse_scenario_text("faults: [{match: 'POST /services/Soap/u/*', delay: 30s}]")
    assert s.faults[0].delay == timedelta(seconds=30)


def test_count_200000_is_one_line_not_200000_objects() -> None:
    s = parse_scenario_text("salesforce: {login_history: [{username: admin@acme.example, at: -3d, "
                            "count: 200000, every: 1s}]}")
    assert s.salesforce.login_history[0].count == 200000


def test_all_builtin_scenarios_load_with_runbook_and_description() -> None:
    scenarios = list_builtin()
    names = {s.name for s in scenarios}
    assert {"healthy", "token-missing", "sia-oauth-blocked", "marketo-sync-failed", "mc-ip-not-allowlisted"} <= names
    assert len(scenarios) == len(list(BUILTIN_DIR.glob("*.yml")))
    for s in scenarios:
        assert s.runbook and s.description, s.name
    assert load_scenario("marketo-sync-failed").salesforce.edition == "Professional Edition"
    assert "OAUTH_APP_BLOCKED" in load_scenario("sia-oauth-blocked").operator["error_url"]


def test_every_marketing_cloud_subdomain_is_a_tenant_subdomain() -> None:
    """28 characters starting with mc ("Tenant-Specific API Endpoints"), as Marketing Cloud
    clients require before they send anything: every built-in world, and the default."""
    subdomains = {s.name: s.marketing_cloud.subdomain for s in list_builtin()}
    assert all(len(sub) == 28 and sub.startswith("mc") for sub in subdomains.values()), subdomains
    assert len(parse_scenario_text("name: x\n").marketing_cloud.subdomain) == 28


def test_time_ref_serialises_as_written() -> None:
    s = parse_scenario_text("marketo: {sync: {last_synced_at: -3d}}")
    assert isinstance(s.marketo.sync.last_synced_at, TimeRef)
    assert s.model_dump(mode="json")["marketo"]["sync"]["last_synced_at"] == "-3d"


def _scenario_times(value: object) -> list[timedelta]:
    """Every relative time a loaded scenario holds, with each row a `count`/`every` line makes."""
    from pydantic import BaseModel
    if isinstance(value, TimeRef):
        return [value.offset] if value.offset is not None else []
    if isinstance(value, BaseModel):
        found = [t for name in type(value).model_fields for t in _scenario_times(getattr(value, name))]
        at, every, count = getattr(value, "at", None), getattr(value, "every", None), getattr(value, "count", 1)
        if isinstance(at, TimeRef) and at.offset is not None and every:
            found += [at.offset + i * every for i in range(1, count)]
        return found
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _scenario_times(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _scenario_times(item)]
    return []


def test_no_builtin_time_sits_on_the_edge_of_a_runbook_window() -> None:
    """A row exactly `days` old is inside the window only when the world loads in the same second
    the run starts, so goldens would flip with machine load; keep every time 5 minutes clear."""
    from sfdoctor import runbooks
    windows = {timedelta(days=-p.default) for spec in runbooks.all_specs()
               for p in spec.parameters if p.name == "days" and isinstance(p.default, int)}
    assert windows, "no runbook has a days window: the guard would check nothing"
    margin = timedelta(minutes=5)
    on_edge = [(scenario.name, str(-t), str(-edge)) for scenario in list_builtin()
               for t in _scenario_times(scenario) for edge in windows if abs(t - edge) < margin]
    assert on_edge == []
