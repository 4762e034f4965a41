"""report.py's ReportExporter held to stock nbconvert's HTMLExporter.

ReportExporter copies `HTMLExporter.from_notebook_node` up to its BeautifulSoup pass (the
private `_init_resources`, `_nb_metadata` and the two filters it registers) and makes that
pass's three edits (tabindex on input wrappers and outputs, alt on images) with regexes on
nbconvert's own markup. Nothing else would notice if an nbconvert release changed that
method or that markup: reports would still render, only differently from nbconvert's. So
the same executed notebooks go through both exporters and must give the same page, element
for element (tags, attributes, text), and the method copied is held to the digest of the
source it was copied from: a changed upstream method must be read and the copy brought in
step before the digest here is updated.
"""
from __future__ import annotations

import hashlib
import inspect
import json
from importlib.metadata import version
from typing import Any

import nbformat
import pytest
from bs4 import BeautifulSoup, NavigableString, Tag

import runbook_harness as H
from sfdoctor import report
from sfdoctor.runbooks import load

# sha256 (16 hex) of `inspect.getsource(HTMLExporter.from_notebook_node)`, per release read
# (7.17.2).
FROM_NOTEBOOK_NODE_DIGESTS = {"3dccafff45cc4e74"}

# Executed reports whose pages hold what the exporter's edits touch: a chart image (alt), a
# table and cards (outputs, tabindex), in both languages.
RUNS = [("token-missing", "ja"), ("token-missing", "en"), ("marketo-fields-missing", "en")]


def _stock_exporter() -> Any:
    from nbconvert import HTMLExporter

    return HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                        optimistic_validation=True)


def _dom(page: str) -> list[Any]:
    """The page as parsed: every element (name, attributes) and every non-blank text, in order.
    Serialisation details (quoting, `<br>` vs `<br/>`, entity spelling) do not count."""
    soup = BeautifulSoup(page, features="html.parser")
    nodes: list[Any] = []
    for node in soup.descendants:
        if isinstance(node, Tag):
            attrs = {k: " ".join(v) if isinstance(v, list) else v for k, v in node.attrs.items()}
            nodes.append((node.name, tuple(sorted(attrs.items()))))
        elif isinstance(node, NavigableString) and node.strip():
            nodes.append(("#text", node.strip()))
    return nodes


def _first_difference(a: list[Any], b: list[Any]) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"node {i}: stock {x!r:.300} != ours {y!r:.300}"
    return f"stock has {len(a)} nodes, ours {len(b)}"


def _notebooks(builtin_runs: Any) -> list[tuple[str, nbformat.NotebookNode]]:
    """For each run: the notebook the report exports (its checks' cells) and the executed
    notebook itself (markdown, hidden code, widgets metadata), both as nbconvert gets them."""
    found = []
    for scenario, lang in RUNS:
        folder = H.report_folder(builtin_runs.get(scenario, lang))
        nb = nbformat.read(next(folder.glob("*.ipynb")), as_version=4)
        findings = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
        checks = report._checks_notebook(nb, findings, lang, load(findings["runbook"]))
        found += [(f"{scenario}.{lang} report cells", checks), (f"{scenario}.{lang} notebook", nb)]
    return found


def test_report_exporter_gives_stock_nbconverts_page(builtin_runs):
    stock, ours = _stock_exporter(), report._exporter()
    looked = {"img": 0, "tabindex": 0}
    for name, nb in _notebooks(builtin_runs):
        expected, _ = stock.from_notebook_node(nbformat.from_dict(nb))
        got, _ = ours.from_notebook_node(nbformat.from_dict(nb))
        a, b = _dom(expected), _dom(got)
        assert a == b, f"{name}: ReportExporter's page differs from HTMLExporter's: {_first_difference(a, b)}"
        soup = BeautifulSoup(got, features="html.parser")
        looked["img"] += len(soup.select("img"))
        looked["tabindex"] += len(soup.select("[tabindex]"))
    # The comparison saw what the copied edits are about, or it proved nothing.
    assert looked["img"] >= 2 and looked["tabindex"] >= 10, looked


def test_stock_edits_are_the_ones_copied(builtin_runs):
    """Every image has an alt and every output a tabindex in ours, as stock nbconvert sets them."""
    name, nb = _notebooks(builtin_runs)[0]
    page, _ = report._exporter().from_notebook_node(nb)
    soup = BeautifulSoup(page, features="html.parser")
    assert soup.select("img") and not soup.select("img:not([alt])"), name
    outputs = soup.select(".jp-Notebook div.jp-OutputArea-output")
    assert outputs and all(o.get("tabindex") == "0" for o in outputs), name


def test_exported_page_says_the_image_in_the_runs_language(builtin_runs):
    """export_html swaps nbconvert's English stand-in for the run's own words; only that differs."""
    folder = H.report_folder(builtin_runs.get("token-missing", "ja"))
    page = (folder / "report.html").read_text(encoding="utf-8")
    alts = {img.get("alt") for img in BeautifulSoup(page, features="html.parser").select("img")}
    assert alts and report._NO_ALT_TEXT not in alts and all(alts), alts


def test_from_notebook_node_is_the_method_report_py_copies():
    from nbconvert import HTMLExporter

    digest = hashlib.sha256(inspect.getsource(HTMLExporter.from_notebook_node).encode()).hexdigest()[:16]
    assert digest in FROM_NOTEBOOK_NODE_DIGESTS, (
        f"nbconvert {version('nbconvert')} changed HTMLExporter.from_notebook_node (digest {digest}): "
        "read it, bring report._exporter's copy in step, then add the digest here")


@pytest.mark.parametrize("member", ["_init_resources", "_nb_metadata", "register_filter", "filters"])
def test_nbconvert_internals_report_py_uses_exist(member):
    from nbconvert import HTMLExporter

    assert hasattr(HTMLExporter(), member), f"nbconvert {version('nbconvert')}: HTMLExporter.{member} is gone"
