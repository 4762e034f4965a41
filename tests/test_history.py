"""Report history: the index list and the diff between two runs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sfdoctor.errors import BadInput
from sfdoctor.history import diff, list_reports, resolve_report
from sfdoctor.runner import append_index


def _report(out: Path, name: str, outcome: str, causes: list[str], warnings: list[str], statuses: dict[str, str]) -> None:
    folder = out / "2026-11-23" / "rb" / name
    folder.mkdir(parents=True)
    checks = [{"id": cid, "status": st} for cid, st in statuses.items()]
    (folder / "findings.json").write_text(json.dumps({"outcome": outcome, "root_causes": causes, "warnings": warnings,
                                                      "checks": checks}), encoding="utf-8")
    append_index(out, {"time": name, "runbook": "rb", "org": "demo", "outcome": outcome, "root_causes": causes,
                       "warnings": warnings, "folder": f"2026-11-23/rb/{name}", "exit_code": 1})


@pytest.fixture()
def out(tmp_path):
    _report(tmp_path, "a", "problems_found", ["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"], ["SOAP_LOGIN_RETIRING"],
            {"probe": "fail", "ip": "fail"})
    _report(tmp_path, "b", "problems_found", ["SOURCE_IP_UNTRUSTED"], ["SOAP_LOGIN_RETIRING", "NETWORK_ACCESS_UNAVAILABLE"],
            {"probe": "pass", "ip": "fail"})
    return tmp_path


def test_list_skips_damaged_lines(out):
    with open(out / "index.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"half a line\n')
    entries = list_reports(out)
    assert [e["time"] for e in entries] == ["a", "b"]
    assert list_reports(out / "nothing-here") == []


def test_diff_by_position_and_by_folder(out):
    d = diff("-2", "-1", out)
    assert d.new == ["NETWORK_ACCESS_UNAVAILABLE"]
    assert d.fixed == ["TOKEN_MISSING"]
    assert d.unchanged == ["SOURCE_IP_UNTRUSTED", "SOAP_LOGIN_RETIRING"]
    assert d.status_changes == [{"check": "probe", "a": "fail", "b": "pass"}]
    same = diff(str(out / "2026-11-23/rb/a"), "2026-11-23/rb/b", out)
    assert same.to_json()["new"] == d.new
    assert resolve_report("0", out) == (out / "2026-11-23/rb/a").resolve()


def test_diff_bad_refs(out, tmp_path):
    with pytest.raises(BadInput, match="no report at position 5"):
        diff("5", "-1", out)
    with pytest.raises(BadInput, match="no report at"):
        diff("/nowhere", "-1", out)
    with pytest.raises(BadInput, match="no reports in"):
        resolve_report("-1", tmp_path / "empty")
