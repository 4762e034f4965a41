"""The report index: appends that survive concurrent processes, one lock, files replaced whole."""
from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from sfdoctor import report_index
from sfdoctor.report_index import INDEX, append_index, cause_changes, causes, index_lock, list_reports, write_atomic


def _index_worker(args: tuple[str, int]) -> None:
    out, n = args
    for i in range(25):
        append_index(Path(out), {"worker": n, "i": i, "pad": "x" * 500})


def test_index_lines_survive_concurrent_processes(tmp_path):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_index_worker, [(str(tmp_path), n) for n in range(4)])
    lines = (tmp_path / "index.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 100
    seen = {(e["worker"], e["i"]) for e in map(json.loads, lines)}
    assert len(seen) == 100


def test_list_skips_damaged_lines(tmp_path):
    append_index(tmp_path, {"time": "a"})
    with open(tmp_path / INDEX, "a", encoding="utf-8") as fh:
        fh.write('{"half a line\n\n[1, 2]\n')
    append_index(tmp_path, {"time": "b"})
    assert [e["time"] for e in list_reports(tmp_path)] == ["a", "b"]
    assert list_reports(tmp_path / "nothing-here") == []


def test_rewrite_keeps_every_line_whole(tmp_path):
    append_index(tmp_path, {"time": "a"})
    lines = report_index.read_lines(tmp_path)
    report_index.rewrite_index(tmp_path, [*lines, '{"time": "b"}'])   # a line without its newline gets one
    assert [e["time"] for e in list_reports(tmp_path)] == ["a", "b"]
    assert (tmp_path / INDEX).read_text(encoding="utf-8").endswith("}\n")
    assert report_index.read_lines(tmp_path / "nothing-here") == []


def test_write_atomic_replaces_whole_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "page.html"
    write_atomic(path, "old")
    write_atomic(path, "new ✓", durable=True)
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_write_atomic_that_fails_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "findings.json"
    write_atomic(path, "old")

    def no_space(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(OSError):
        write_atomic(path, "new")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["findings.json"]


def test_one_lock_for_appends_prunes_and_the_page(tmp_path):
    """An append waits while another holder has the index lock (a prune, the page)."""
    from filelock import Timeout

    held = index_lock(tmp_path)
    other = index_lock(tmp_path)
    assert held.lock_file == other.lock_file == str(tmp_path / INDEX) + ".lock"
    with held:
        with pytest.raises(Timeout):
            other.acquire(timeout=0.2)
    with other:
        pass


def test_causes_of_a_run_roots_first_once_each():
    assert causes({"root_causes": ["A", "B"], "warnings": ["B", "W"]}) == ["A", "B", "W"]
    assert causes({}) == [] and causes({"root_causes": None}) == []


def test_cause_changes_keeps_order():
    assert cause_changes(["A", "B", "C"], ["C", "D", "B"]) == (["D"], ["A"], ["C", "B"])
    assert cause_changes([], ["A"]) == (["A"], [], [])
