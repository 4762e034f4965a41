"""start-here.ipynb and sfdoctor.start_here, headless: papermill runs the notebook as a scheduler
would (`text`, `org`, `lang`, `out` as parameters), and it does what `sfdoctor triage` does:
the same runbook, parameters and report, with the choice, the summary and the report's link
shown in the notebook. JupyterLab's side is tests/test_start_here_browser.py.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from golden_files import golden_path, normalize
from sfdoctor import start_here
from sfdoctor.runbooks import all_specs

pytestmark = pytest.mark.notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "start-here.ipynb"
SFDOCTOR = Path(sys.executable).parent / "sfdoctor"
SIA_URL = "https://toutapp.com/auth/salesforce/failure?error=OAUTH_APP_BLOCKED&error_description=this+app+is+blocked+by+admin"


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    # The kernel starts its own simulator for a demo org; no orgs file of the machine's user.
    monkeypatch.delenv("SFDOCTOR_DEMO_URL", raising=False)
    monkeypatch.delenv("SFDOCTOR_HOME", raising=False)
    monkeypatch.setenv("SFDOCTOR_ORGS", str(tmp_path / "orgs.toml"))


def _papermill(tmp_path: Path, text: str, org: str = "demo", lang: str = "en") -> str:
    """Run the notebook (kernel in tmp_path, reports in tmp_path/reports); the HTML it displayed."""
    import papermill

    nb = papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"),
                                    parameters={"text": text, "org": org, "lang": lang, "out": str(tmp_path / "reports")},
                                    kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
                                    execution_timeout=300)
    form = next(c for c in nb.cells if "skip-execution" in c.metadata.get("tags", []))
    assert not form.get("outputs"), "papermill ran the form cell"
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    return "\n".join(str(o.get("data", {}).get("text/html", "")) for c in nb.cells for o in c.get("outputs", []))


def _report(tmp_path: Path, shown: str) -> tuple[Path, dict]:
    """The one report folder written, checked against the link the notebook showed."""
    folders = [p.parent for p in (tmp_path / "reports").rglob("findings.json")]
    assert len(folders) == 1, folders
    href = re.search(r'<p class="sfd-triage-report"><a href="([^"]+)"', shown).group(1)
    assert (tmp_path / href).resolve() == (folders[0] / "report.html").resolve()
    return folders[0], json.loads((folders[0] / "findings.json").read_text(encoding="utf-8"))


def test_the_committed_notebook_takes_text_org_lang_out() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    params = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1
    assert [line.split("=")[0].strip() for line in "".join(params[0]["source"]).splitlines()] == ["text", "org", "lang", "out"]
    assert sum("skip-execution" in c["metadata"].get("tags", []) for c in nb["cells"]) == 1
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


def test_a_japanese_message_runs_its_runbook_as_sfdoctor_run_does(tmp_path) -> None:
    shown = _papermill(tmp_path, "セキュリティトークンが必要です", org="demo:token-missing", lang="ja")
    assert "合うランブック:" in shown and "<code>security-token-required</code>" in shown
    assert "<q>セキュリティトークンが必要です</q>" in shown
    assert 'id="sfd-summary"' in shown and "TOKEN_MISSING" in shown and "レポートを開く" in shown
    _, findings = _report(tmp_path, shown)
    # The runbook takes no pasted text: the run is exactly `sfdoctor run` with its defaults.
    golden = json.loads(golden_path("token-missing", "ja").read_text(encoding="utf-8"))
    assert normalize(findings) == golden["findings"]


def test_a_pasted_url_goes_into_the_runbook_as_sfdoctor_triage_does(tmp_path) -> None:
    shown = _papermill(tmp_path, SIA_URL, org="demo:sia-oauth-blocked")
    assert "The runbook that fits:" in shown and "<code>sia-auth-failure</code>" in shown
    assert "<q>OAUTH_APP_BLOCKED</q>" in shown and "“URL of the failure page”" in shown
    assert "Open the report" in shown
    _, findings = _report(tmp_path, shown)
    assert findings["parameters"]["error_url"] == SIA_URL and findings["root_causes"] == ["OAUTH_APP_BLOCKED"]

    cli = subprocess.run([str(SFDOCTOR), "triage", SIA_URL, "--org", "demo:sia-oauth-blocked", "--json",
                          "--out", str(tmp_path / "cli-reports")],
                         capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert cli.returncode == 1, cli.stderr
    assert normalize(json.loads(cli.stdout)) == normalize(findings)


def test_a_text_no_runbook_fits_says_so_and_lists_the_runbooks(tmp_path) -> None:
    shown = _papermill(tmp_path, "the coffee machine is empty")
    assert "No runbook fits this text." in shown and "No runbook was run." in shown
    for spec in all_specs():
        assert f"<code>{spec.id}</code>" in shown
    assert not (tmp_path / "reports").exists()


def test_nothing_pasted_is_said_as_such() -> None:
    assert start_here.plan_or_none("  ") is None
    said = start_here.no_fit_html("", "ja")
    assert "何も貼り付けられていません" in said and "security-token-required" in said


def test_a_report_outside_the_working_folder_is_linked_by_its_file_uri(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert start_here.report_href(tmp_path / "reports" / "a") == "reports/a/report.html"
    assert start_here.report_href(Path("/")) == "file:///report.html"


@pytest.mark.parametrize("lang, says", [("en", "unknown org 'no-such-org'"),
                                        ("ja", "組織 'no-such-org' は定義されていません")])
def test_an_unknown_org_is_one_line_and_no_report(tmp_path, lang, says) -> None:
    """In the notebook's language from start to end: a ja notebook's line has no English words."""
    shown = _papermill(tmp_path, "API security token required", org="no-such-org", lang=lang)
    said = re.search(r'<p class="sfd-triage-error"><b>([^<]+)</b></p>', shown).group(1)
    assert said.startswith(says.replace("'", "&#x27;")) and "\n" not in said
    assert not (tmp_path / "reports").exists()
