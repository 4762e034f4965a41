"""`sfdoctor demo fleet` (the sfdoctor side: the demo package itself imports nothing of sfdoctor): N demo orgs, each a full world of its own, for `sfdoctor fleet run`.

Each org's world is one built-in scenario (its Salesforce org with every Marketo, Marketing
Cloud and Data Cloud section, defaults where the scenario gives none), renamed to a My Domain,
Munchkin ID and Marketing Cloud subdomain of its own. The scenarios' failures are spread over
the orgs in a shuffled round (every scenario appears before any appears twice), and a few orgs
start near or past their daily API allowance, so the budget guard has something to do. The
same seed always writes the same files.

Worlds are plain scenario files (spec/scenario-format.md): `fleet run` sends each org's world
with its task, and the worker that runs it serves it for the time of that org's runbooks.
"""
from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

import yaml

from ..demo.scenario import BUILTIN_DIR
from ..errors import BadInput
from ..i18n import Text

# The 200,000-row login history is a load test of its own, not a fleet member.
_LEFT_OUT = {"token-history-200k"}
MAX_ORGS = 10_000
# Share of orgs generated near (warn) or past (skip) their daily API allowance.
BUSY_SHARE = 0.04


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yml") if p.stem not in _LEFT_OUT)


def _munchkin(rng: random.Random) -> str:
    return f"{rng.randrange(100, 1000)}-{''.join(rng.choices(string.ascii_uppercase, k=3))}-{rng.randrange(100, 1000)}"


def _subdomain(rng: random.Random) -> str:
    return "mc" + "".join(rng.choices(string.ascii_lowercase + string.digits, k=26))


def _daily_max(edition: str) -> int:
    from ..demo.store import DAILY_API_MAX, DAILY_API_MAX_DEFAULT

    return DAILY_API_MAX.get(edition, DAILY_API_MAX_DEFAULT)


def org_name(i: int, n: int) -> str:
    return f"client-{i:0{max(3, len(str(n)))}d}"


def build_world(scenario: str, name: str, rng: random.Random, *, api_share: float = 0.0) -> dict[str, Any]:
    """The raw YAML of one org's world: `scenario`'s, renamed to `name`'s own hosts."""
    raw = yaml.safe_load((BUILTIN_DIR / f"{scenario}.yml").read_text(encoding="utf-8")) or {}
    raw["description"] = f"{name}: {raw.get('description', scenario)} ({scenario})"
    sf = raw.setdefault("salesforce", {})
    sf["my_domain"] = name
    if api_share:
        sf["api_requests_today"] = int(_daily_max(sf.get("edition", "Enterprise Edition")) * api_share)
    mkto = raw.setdefault("marketo", {})
    mkto["munchkin_id"] = _munchkin(rng)
    mc = raw.setdefault("marketing_cloud", {})
    mc["subdomain"] = _subdomain(rng)
    return raw


def write_fleet(n: int, out: Path, seed: int = 0) -> Path:
    """Write `OUT/orgs.toml` and `OUT/worlds/NAME.yml` for `n` demo orgs; returns the orgs file."""
    if not 1 <= n <= MAX_ORGS:
        raise BadInput(Text("fleet_cli.orgs_range", max=MAX_ORGS, n=n))
    rng = random.Random(seed)
    names = builtin_names()
    order: list[str] = []
    while len(order) < n:
        round_ = list(names)
        rng.shuffle(round_)
        order.extend(round_)
    busy = max(1, round(n * BUSY_SHARE)) if n >= 4 else 0
    picks = rng.sample(range(n), k=min(n, 2 * busy))
    over, near = set(picks[:busy]), set(picks[busy:])
    out = Path(out)
    worlds = out / "worlds"
    worlds.mkdir(parents=True, exist_ok=True)
    from ..runbooks import load

    lines = ["# Demo orgs for `sfdoctor fleet run --orgs THIS_FILE` (written by `sfdoctor demo fleet`).",
             f"# {n} orgs, seed {seed}: each org's world is a built-in scenario with hosts of its own.", ""]
    for i in range(n):
        name = org_name(i + 1, n)
        scenario = order[i]
        share = 0.95 if i in over else (0.8 if i in near else 0.0)
        world = build_world(scenario, name, rng, api_share=share)
        text = yaml.safe_dump(world, sort_keys=False, allow_unicode=True, width=120)
        (worlds / f"{name}.yml").write_text(f"# {name}: built-in scenario {scenario}\n{text}", encoding="utf-8")
        lines.append(f"[orgs.{name}]")
        lines.append(f'demo = "worlds/{name}.yml"')
        runbook = world.get("runbook")
        probe = (world.get("operator") or {}).get("probe_username")
        if runbook and probe and any(p.name == "username" for p in load(runbook).parameters):
            lines.append("")
            lines.append(f"[orgs.{name}.params.{runbook}]")
            lines.append(f'username = "{probe}"')
        lines.append("")
    path = out / "orgs.toml"
    tmp = path.with_name(".orgs.toml.tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(path)
    return path
