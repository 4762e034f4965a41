"""Parameter values: conversion per type, a spec's validator, refusals in the run's language."""
from __future__ import annotations

import pytest

from sfdoctor import runbooks
from sfdoctor.errors import BadInput
from sfdoctor.params import convert_value
from spec_files import FIXTURE_HOME, fixture_data, write_spec


def test_convert_value_per_type():
    spec = runbooks.load("fixture-probe", FIXTURE_HOME / "runbooks")
    conv = convert_value
    assert conv(spec.parameter("days"), " 14 ") == 14
    assert conv(spec.parameter("strict"), "yes") is True and conv(spec.parameter("strict"), "0") is False
    assert conv(spec.parameter("tags"), "a, b\nc") == ["a", "b", "c"]
    assert str(conv(spec.parameter("since"), "2026-01-31")) == "2026-01-31"
    for name, bad in (("days", "1.5"), ("strict", "maybe"), ("since", "31/01/2026"), ("mode", "loud")):
        with pytest.raises(ValueError):
            conv(spec.parameter(name), bad)


def test_a_parameter_validator_refuses_a_malformed_value_before_anything_runs(tmp_path, monkeypatch):
    """A parameter may name a pure function that holds a converted value to its shape; `run`
    turns its ValueError into one line with exit 2, before any folder or kernel exists."""
    import sys
    import types

    from sfdoctor.runner import validate_params

    module = types.ModuleType("sfdoctor._validator_fixture")

    def no_blank_tags(values):
        for v in values:
            if v == "bad":
                raise ValueError(f"{v!r} is not a tag")

    module.no_blank_tags = no_blank_tags
    monkeypatch.setitem(sys.modules, module.__name__, module)
    data = fixture_data()
    tags = next(p for p in data["parameters"] if p["name"] == "tags")
    tags["validator"] = "sfdoctor._validator_fixture:no_blank_tags"
    spec = runbooks.load_file(write_spec(tmp_path, data))
    assert convert_value(spec.parameter("tags"), "a, b") == ["a", "b"]
    with pytest.raises(ValueError, match="'bad' is not a tag"):
        convert_value(spec.parameter("tags"), "a, bad")
    with pytest.raises(BadInput) as exc:
        validate_params(spec, {"tags": "a,bad"})
    assert "'bad' is not a tag" in exc.value.one_line() and "\n" not in exc.value.one_line()

    tags["validator"] = "os:system"  # only sfdoctor's own functions may be named
    with pytest.raises(BadInput) as exc:
        runbooks.load_file(write_spec(tmp_path, data))
    assert "sfdoctor.MODULE:FUNCTION" in exc.value.one_line()


def test_the_mc_allowlist_is_held_to_its_shape_before_any_run():
    """mc-missing-oauth-token's pasted allowlist: a typo is bad input (exit 2, no folder), and
    a description may hold commas (its items are split at newlines; the runbook's own parser
    splits at a comma only where an address follows)."""
    from sfdoctor.runner import validate_params

    spec = runbooks.load("mc-missing-oauth-token")
    given = validate_params(spec, {"ip_allowlist": "198.51.100.0 - 198.51.100.255 Head office, Tokyo\n192.0.2.0/24",
                                   "data_cloud_ips": "203.0.113.40, 203.0.113.41"})
    assert given == {"ip_allowlist": ["198.51.100.0 - 198.51.100.255 Head office, Tokyo", "192.0.2.0/24"],
                     "data_cloud_ips": ["203.0.113.40", "203.0.113.41"]}
    for name, bad in (("ip_allowlist", "192.0.2.1 - 192.0.2.999"), ("data_cloud_ips", "203.0.113.400")):
        with pytest.raises(BadInput) as exc:
            validate_params(spec, {name: bad})
        line = exc.value.one_line()
        assert name in line and bad in line and "\n" not in line



def test_a_refused_value_is_said_in_the_runs_language():
    """Type mismatches and validators speak Japanese in a Japanese run (CLI, form, report)."""
    from sfdoctor.runner import validate_params

    spec = runbooks.load("mc-missing-oauth-token")
    with pytest.raises(BadInput) as exc:
        validate_params(spec, {"ip_allowlist": "192.0.2.1 - 192.0.2.999"}, "ja")
    assert "パラメータ ip_allowlist" in exc.value.one_line() and "項目 1" in exc.value.one_line()
    assert "2 つの IP アドレスの範囲ではありません" in exc.value.one_line()
    with pytest.raises(BadInput) as exc:
        validate_params(spec, {"probe": "maybe"}, "ja")
    assert "true か false を指定してください" in exc.value.one_line()
    with pytest.raises(BadInput) as exc:
        validate_params(spec, {"probe": "maybe"}, "en")
    assert "expected true or false, got 'maybe'" in exc.value.one_line()
