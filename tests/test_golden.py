"""Every built-in scenario's findings, in en and ja, held against tests/golden/.

Each (scenario, lang) is run the real way (`sfdoctor run`, papermill, a kernel: the session's
shared run from tests/builtin_runs.py), normalized (tests/golden_files.py) and compared with
its golden file, exit code included. A difference fails with a unified diff. When a change
alters findings on purpose, regenerate with `make golden` in the same commit and say so in its
message; an unintended difference is a bug.
"""
from __future__ import annotations

import pytest

import builtin_runs
import golden_files

pytestmark = pytest.mark.notebook

KEYS = builtin_runs.all_keys()


@pytest.fixture(scope="module")
def runs(builtin_runs):
    """All the runs at once (in parallel), before the first comparison."""
    return builtin_runs.get_many(KEYS)


def test_every_builtin_scenario_has_golden_files_and_no_stale_one():
    expected = {golden_files.golden_path(s, lang).name for s, lang in KEYS}
    present = {p.name for p in golden_files.GOLDEN_DIR.glob("*.json")}
    assert present == expected, "run `make golden` (missing: %s; stale: %s)" % (
        sorted(expected - present), sorted(present - expected))


@pytest.mark.parametrize("scenario,lang", KEYS, ids=[f"{s}.{lang}" for s, lang in KEYS])
def test_findings_match_golden(runs, scenario, lang):
    result = runs[(scenario, lang)]
    assert "findings" in result, f"no report folder written (exit {result['exit']}): {result['stderr']}"
    diff = golden_files.diff_against_golden(scenario, lang, result)
    if diff:
        pytest.fail(f"{scenario} ({lang}) differs from tests/golden/{scenario}.{lang}.json; "
                    f"if intended, run `make golden` and say so in the commit message:\n{diff}",
                    pytrace=False)


def test_normalization_replaces_what_changes_run_to_run():
    """The placeholders the golden files rely on: a run's times, durations, report folder, the
    simulator's port and a session id vanish; what sfdoctor found stays."""
    doc = {"started_at": "2026-12-06T07:27:37Z", "duration_ms": 12, "version": "0.3.1",
           "checks": [{"summary": "Last login 2026-12-03T06:57:36.106+0000 via http://127.0.0.1:41747/x",
                       "evidence": {"window": "2026-11-29T07:27:37Z .. 2026-12-06T07:27:37Z",
                                    "folder": "reports/2026-12-06/security-token-required/demo-x-072736Z",
                                    "sid": "00D" + "A" * 15 + "!" + "b" * 30, "logins": 331,
                                    "ja": "2026年12月3日 に失効"}}]}
    out = golden_files.normalize(doc)
    assert out["started_at"] == "<TIME>" and out["duration_ms"] == "<MS>" and out["version"] == "<VERSION>"
    check = out["checks"][0]
    assert check["summary"] == "Last login <TIME> via http://127.0.0.1:<PORT>/x"
    assert check["evidence"] == {"window": "<TIME> .. <TIME>",
                                 "folder": "reports/<DATE>/security-token-required/demo-x-<HHMMSS>Z",
                                 "sid": "<SESSION_ID>", "logins": 331, "ja": "<DATE> に失効"}
