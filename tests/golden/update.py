"""Regenerate the golden findings: `make golden` (or `.venv/bin/python tests/golden/update.py`).

Runs `sfdoctor run RUNBOOK --org demo:SCENARIO --lang LANG` for every built-in scenario in
en and ja (papermill and a real kernel, as a user would), normalizes each findings.json and
writes tests/golden/<scenario>.<lang>.json. Files of scenarios that no longer exist are
removed. Prints which files changed. Use it only when a change alters findings on purpose,
in the same commit, and say so in the commit message.

    update.py                    every scenario, both languages
    update.py token-missing ...  only these scenarios (both languages)
    update.py --check            write nothing; exit 1 and show the diffs if any file differs
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import builtin_runs  # noqa: E402
import golden_files  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate tests/golden/<scenario>.<lang>.json from real runs.")
    parser.add_argument("scenarios", nargs="*", help="built-in scenario names (default: all)")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when a file differs")
    parser.add_argument("--jobs", type=int, default=4, help="runs at a time (default 4)")
    args = parser.parse_args(argv)

    known = builtin_runs.builtin_scenarios()
    unknown = sorted(set(args.scenarios) - set(known))
    if unknown:
        print(f"update.py: unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    names = args.scenarios or known
    keys = [(s, lang) for s in names for lang in builtin_runs.LANGS]
    print(f"running {len(keys)} runs ({len(names)} scenarios x {len(builtin_runs.LANGS)} languages)...",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="sfdoctor-golden-") as tmp:
        results = builtin_runs.BuiltinRuns(Path(tmp), most=args.jobs).get_many(keys)

    changed = []
    for (scenario, lang), result in results.items():
        diff = golden_files.diff_against_golden(scenario, lang, result)
        if not diff:
            continue
        changed.append(f"{scenario}.{lang}.json")
        if args.check:
            sys.stdout.write(diff)
        else:
            golden_files.write_golden(scenario, lang, result)
    stale = [] if args.scenarios else [p for p in golden_files.GOLDEN_DIR.glob("*.json")
                                       if p.name.split(".")[0] not in known]
    for path in stale:
        changed.append(f"{path.name} (scenario gone)")
        if not args.check:
            path.unlink()
    verb = "differ" if args.check else "rewritten"
    print(f"{len(changed)} of {len(keys)} golden files {verb}" + (": " + ", ".join(changed) if changed else ""),
          file=sys.stderr)
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
