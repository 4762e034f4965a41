"""The library's shape in four figures, for a restructure's before/after note (issue 13).

    .venv/bin/python bench/structure.py              # the working tree
    .venv/bin/python bench/structure.py --rev bd39026   # a commit (exported to a temp folder)
    .venv/bin/python bench/structure.py --json       # the figures as JSON

1. Repeated six-line blocks: the pair count from the `duplicates` command (six or more
   identical or same-shape lines), run as `duplicates --repo lib --most 1 --seconds 300` for
   lib/ and as `duplicates --most 1 --seconds 300` for the whole tree (the issue's 23 is the
   whole tree). Its first line says "N pairs of places (M files read)".
2. The largest module: the .py file under lib/sfdoctor with the most lines (`wc -l` lines).
3. Import cycles in lib/sfdoctor: the strongly connected groups of more than one module in
   the graph of every import statement (inside functions and under TYPE_CHECKING included),
   computed by the suite's own rule, tests/test_import_graph.py (an AST walk: nothing is
   imported, so an old commit's tree is read as text). grimp 3.20 (which also walks the whole
   syntax tree; it reports function-level imports) gives the same two cycles at bd39026; the
   suite's rule is used so that the bench and the test cannot disagree.
   Two modules importing each other and a ring of three are two cycles.
4. Files a new runbook must touch. For each existing runbook R (runbooks/*.yml with an
   `id:` and a notebook) we take R's own files, those a new runbook would create:
   runbooks/R.yml, notebooks/R.ipynb, any file whose path holds R's id (or its id with
   underscores: runbook_checks/<id>.py), the built-in scenarios whose `runbook:` is R, and the
   files named after one of R's checks modules (the `sfdoctor.checks` modules its notebook
   imports by name: lib/sfdoctor/checks/<m>.py, tests/test_*<m>*.py, tests/scenarios/<m>/...).
   A shared file is any other tracked text file that names R's id or one of its checks
   modules (`checks.<m>` / `import <m>`), generated golden files excluded: the places a runbook
   is registered, listed or special-cased. A file that names *every* existing runbook is a
   list a new runbook must join; so the figure is
       own kinds (spec, notebook, checks module, scenario, test module: 5)
       + the shared files that name every existing runbook,
   a lower bound; each runbook's own shared-file count is printed beside it (the upper end).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OWN_KINDS = 5   # spec, notebook, checks module, at least one scenario, a test module
TEXT_SUFFIXES = {".py", ".ipynb", ".yml", ".yaml", ".toml", ".md", ".cfg", ".txt", ".json", ".html",
                 ".j2", ".js", ".mjs", ".sh", ""}


# ----------------------------------------------------------------------- 1. duplicates
def duplicate_pairs(tree: Path, sub: str | None) -> dict[str, Any]:
    """{"pairs": N, "files": M, "command": ...} from the duplicates command's first line."""
    cmd = ["duplicates", "--most", "1", "--seconds", "300"] + (["--repo", sub] if sub else [])
    done = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, timeout=400)
    first = (done.stdout.splitlines() or [""])[0]
    match = re.match(r"(\d+) pairs? of places \((\d+) files read\)", first)
    if match is None:
        no_dupes = re.match(r"no duplicates \((\d+) files read\)", first)
        return {"pairs": 0 if no_dupes else None, "files": int(no_dupes.group(1)) if no_dupes else None,
                "command": " ".join(cmd), "said": first}
    return {"pairs": int(match.group(1)), "files": int(match.group(2)), "command": " ".join(cmd)}


# ----------------------------------------------------------------------- 2. largest module
def largest_module(tree: Path) -> dict[str, Any]:
    sizes = {str(p.relative_to(tree)): len(p.read_text(encoding="utf-8").splitlines())
             for p in (tree / "lib" / "sfdoctor").rglob("*.py")}
    name = max(sizes, key=sizes.__getitem__)
    return {"module": name, "lines": sizes[name], "modules": len(sizes)}


# ----------------------------------------------------------------------- 3. import cycles
def import_cycles(tree: Path) -> list[list[str]]:
    """The strongly connected groups (more than one module) of lib/sfdoctor's import graph, by
    the suite's own rule (tests/test_import_graph.py of this checkout, pointed at `tree`):
    the same count the test holds at zero."""
    spec = importlib.util.spec_from_file_location("_import_graph", ROOT / "tests" / "test_import_graph.py")
    assert spec and spec.loader, "tests/test_import_graph.py is missing"
    rule = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rule)
    rule.LIB = tree / "lib"
    return rule.cycles(rule.import_graph())


# ----------------------------------------------------------------------- 4. files a runbook touches
def tracked_files(tree: Path) -> list[Path]:
    """The text files of the tree (git's tracked files in a checkout, else every file)."""
    if (tree / ".git").exists():
        listed = subprocess.run(["git", "-C", str(tree), "ls-files"], capture_output=True, text=True, check=True)
        candidates = [tree / line for line in listed.stdout.splitlines()]
        return sorted(p for p in candidates if p.is_file() and p.suffix in TEXT_SUFFIXES
                      and not p.relative_to(tree).as_posix().startswith("tests/golden/"))
    return sorted(p for p in tree.rglob("*") if p.is_file() and ".git" not in p.parts
                  and "node_modules" not in p.parts and "__pycache__" not in p.parts
                  and not p.parts[len(tree.parts)].startswith(".")
                  and p.suffix in TEXT_SUFFIXES and not p.relative_to(tree).as_posix().startswith("tests/golden/"))


def runbook_modules(tree: Path, runbook: str) -> list[str]:
    """The sfdoctor.checks modules a runbook's notebook imports by name."""
    text = (tree / "notebooks" / f"{runbook}.ipynb").read_text(encoding="utf-8")
    found = set(re.findall(r"from sfdoctor\.checks import (\w+)", text))
    found |= set(re.findall(r"sfdoctor\.checks\.(\w+)", text))
    return sorted(found)


def files_per_runbook(tree: Path) -> dict[str, Any]:
    import yaml

    runbooks = []
    for spec in sorted((tree / "runbooks").glob("*.yml")):
        data = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
        if isinstance(data, dict) and data.get("id") and (tree / "notebooks" / f"{data['id']}.ipynb").is_file():
            runbooks.append(data["id"])
    files = tracked_files(tree)
    texts = {p: p.read_text(encoding="utf-8", errors="replace") for p in files}
    per: dict[str, Any] = {}
    for rb in runbooks:
        modules = runbook_modules(tree, rb)
        own: set[Path] = {tree / "runbooks" / f"{rb}.yml", tree / "notebooks" / f"{rb}.ipynb"}
        for p, text in texts.items():
            rel = p.relative_to(tree).as_posix()
            if rb in rel or rb.replace("-", "_") in rel:   # runbook_checks/<id>.py, test_*_<id>.py, ...
                own.add(p)
            if rel.startswith("lib/sfdoctor/demo/scenarios/") and re.search(rf"^runbook:\s*{re.escape(rb)}\s*$", text, re.M):
                own.add(p)
            for m in modules:
                if rel == f"lib/sfdoctor/checks/{m}.py" or rel.startswith(f"tests/scenarios/{m.split('_')[0]}/") \
                        or re.fullmatch(rf"tests/test_\w*{m}\w*\.py", rel):
                    own.add(p)
        names = [re.compile(re.escape(rb))] + [re.compile(rf"checks\.{m}\b|import {m}\b|checks import [\w, ]*\b{m}\b")
                                                for m in modules]
        shared = sorted(p.relative_to(tree).as_posix() for p, text in texts.items()
                        if p not in own and any(n.search(text) for n in names))
        per[rb] = {"modules": modules, "own": len(own & set(files)), "shared": shared}
    common = sorted(set.intersection(*(set(v["shared"]) for v in per.values()))) if per else []
    return {"runbooks": per, "shared_by_every_runbook": common, "must_touch": OWN_KINDS + len(common)}


# ----------------------------------------------------------------------- the report
def measure(tree: Path) -> dict[str, Any]:
    return {
        "duplicates_lib": duplicate_pairs(tree, "lib"),
        "duplicates_tree": duplicate_pairs(tree, None),
        "largest_module": largest_module(tree),
        "import_cycles": import_cycles(tree),
        "new_runbook": files_per_runbook(tree),
    }


def export(rev: str, into: Path) -> Path:
    """`git archive REV` unpacked into a folder (no .git: duplicates then reads every file)."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def show(figures: dict[str, Any], label: str) -> None:
    d_lib, d_tree = figures["duplicates_lib"], figures["duplicates_tree"]
    big = figures["largest_module"]
    cycles = figures["import_cycles"]
    nr = figures["new_runbook"]
    print(f"structure of {label}")
    print(f"  repeated six-line blocks: {d_lib['pairs']} pairs in lib/ ({d_lib['files']} files; `{d_lib['command']}`),"
          f" {d_tree['pairs']} in the whole tree ({d_tree['files']} files; `{d_tree['command']}`)")
    print(f"  largest module: {big['module']}, {big['lines']} lines ({big['modules']} modules)")
    print(f"  import cycles in lib/sfdoctor (function-level imports counted): {len(cycles)}")
    for c in cycles:
        print("    " + " <-> ".join(c))
    print(f"  files a new runbook must touch: {nr['must_touch']} "
          f"(5 of its own + {len(nr['shared_by_every_runbook'])} shared files that name every runbook)")
    for f in nr["shared_by_every_runbook"]:
        print(f"    {f}")
    for rb, v in nr["runbooks"].items():
        print(f"    {rb}: {v['own']} own files, {len(v['shared'])} shared files name it"
              f" (checks modules: {', '.join(v['modules']) or '-'})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the library's structure figures (issue 13).")
    parser.add_argument("--rev", help="measure this commit instead of the working tree")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sfdoctor-structure-") as tmp:
        tree = export(args.rev, Path(tmp)) if args.rev else ROOT
        figures = measure(tree)
    label = f"commit {args.rev}" if args.rev else f"the working tree {ROOT}"
    if args.json:
        print(json.dumps({"of": label, **figures}, indent=2))
    else:
        show(figures, label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
