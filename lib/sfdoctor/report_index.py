"""The report index: `OUT/index.jsonl`, one JSON line per run, and the files beside it.

Every run appends its line here; `sfdoctor reports list|diff|prune`, the index page and the
scheduler read it. Whoever changes the index or rebuilds what is made from it (a run
appending, a prune rewriting, the page being rebuilt) holds `index_lock`, the one lock file
`index.jsonl.lock`, so that concurrent runs lose no line and a page always matches the index
it was built from. Files are replaced whole (`write_atomic`): a reader sees the old file or
the new one, never half of one.

An index line carries the run's `root_causes` and `warnings` like its findings.json does, so
`causes` and `cause_changes` serve both the diff of two reports and the index page.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    from filelock import BaseFileLock

INDEX = "index.jsonl"
# How long a writer waits for the index: a run appending, a prune, a page being rebuilt.
LOCK_TIMEOUT = 60


def index_lock(out_dir: str | os.PathLike[str]) -> BaseFileLock:
    """The index's lock (a file lock across processes; it waits up to LOCK_TIMEOUT seconds)."""
    from filelock import FileLock

    return FileLock(str(Path(out_dir) / INDEX) + ".lock", timeout=LOCK_TIMEOUT)


def write_atomic(path: str | os.PathLike[str], text: str, *, durable: bool = False) -> None:
    """Replace `path` with `text` whole: a temporary file beside it, then `os.replace`.

    The temporary name is this process's and thread's own, so two writers never share one.
    `durable` also flushes it to disk before the rename, for the index itself, whose loss
    after a crash would orphan every report it lists.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def append_index(out_dir: str | os.PathLike[str], entry: Mapping[str, Any]) -> None:
    """Append one run's line to `OUT/index.jsonl` under the index lock, so concurrent runs lose none."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    line = json.dumps(dict(entry), ensure_ascii=False, sort_keys=False) + "\n"
    with index_lock(out):
        with open(out / INDEX, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


def read_lines(out_dir: str | os.PathLike[str]) -> list[str]:
    """The index's raw lines (with their newlines), for a caller that rewrites it under the lock."""
    path = Path(out_dir) / INDEX
    return path.read_text(encoding="utf-8").splitlines(keepends=True) if path.is_file() else []


def rewrite_index(out_dir: str | os.PathLike[str], lines: Iterable[str]) -> None:
    """Replace the index with `lines` (the caller holds the index lock)."""
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    write_atomic(Path(out_dir) / INDEX, text, durable=True)


def list_reports(out_dir: str | os.PathLike[str] = "reports") -> list[dict[str, Any]]:
    """Every run in the index, oldest first; a damaged line is skipped, not fatal."""
    entries = []
    for line in read_lines(out_dir):
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a half-written line from a crashed writer must not hide the others
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def causes(run: Mapping[str, Any]) -> list[str]:
    """Root causes, then warnings, once each, of an index line or a findings.json."""
    return list(dict.fromkeys([*(run.get("root_causes") or []), *(run.get("warnings") or [])]))


def cause_changes(before: Iterable[str], after: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """(new, fixed, unchanged) from one run's causes to the next: what `diff` and the index page show."""
    a, b = list(before), list(after)
    return [c for c in b if c not in a], [c for c in a if c not in b], [c for c in b if c in a]
