"""The simulator's side of the 200,000-row analysis, query by query (no notebook, no HTTP).

    .venv/bin/python bench/soql_bench.py            # BENCH_REPEAT=N: best of N warm runs (default 3)

Builds the `token-history-200k` World on a fixed clock, then times what the
security-token-required runbook's history composite makes the simulator do:

  * World creation (scenario load, SQLite);
  * the first read of LoginHistory (the compact `count/every` runs expanded into rows);
  * the three queries of `checks.login_history.queries` (org-wide GROUP BY, the user's
    GROUP BY, the user's latest 2,000 rows ORDER BY LoginTime DESC), first (cold) and warm.

Each query's answer is printed as a short digest so that two runs (before/after a change to the
engine) can be compared for identical results.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from sfdoctor.checks.login_history import queries  # noqa: E402
from sfdoctor.demo import soql  # noqa: E402
from sfdoctor.demo.scenario import load_scenario  # noqa: E402
from sfdoctor.demo.store import World  # noqa: E402

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def digest(records: list) -> str:
    return hashlib.sha256(json.dumps(records, sort_keys=True).encode()).hexdigest()[:12]


def main() -> int:
    scenario = load_scenario("token-history-200k")
    t = time.perf_counter()
    world = World(scenario, clock=lambda: NOW)
    created = time.perf_counter() - t
    admin = world.user_by_username("admin@acme.example")["Id"]
    user = world.user_by_username("sync@acme.example")["Id"]
    cat = world.catalog_for(admin)
    texts = queries(user, NOW - timedelta(days=7), NOW)

    t = time.perf_counter()
    n = len(cat.rows("LoginHistory"))
    expand = time.perf_counter() - t
    print(f"World creation                      {created:7.3f} s")
    print(f"first read: expand {n:,} rows      {expand:7.3f} s")

    cold_total = expand
    for ref, text in texts.items():
        t = time.perf_counter()
        res = soql.execute(text, cat)
        cold = time.perf_counter() - t
        warm = []
        for _ in range(REPEAT):
            t = time.perf_counter()
            again = soql.execute(text, cat)
            warm.append(time.perf_counter() - t)
            assert again.records == res.records
        cold_total += cold
        print(f"query {ref:<7} {res.total_size:>6} records   cold {cold:7.3f} s   warm best {min(warm):7.3f} s"
              f"   digest {digest(res.records)}")
    print(f"analysis (first read + 3 queries, cold): {cold_total:.3f} s   (target <= ~2 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
