"""The command line of fleets: `sfdoctor fleet run` and `sfdoctor demo fleet` (spec/cli.md)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

from ..i18n import t



def cmd_fleet_run(args: argparse.Namespace) -> int:
    from ..orgs import orgs_file
    from .run import FleetOptions, run_fleet

    runbooks = [r.strip() for part in (args.runbooks or []) for r in part.split(",") if r.strip()] or None
    opts = FleetOptions(
        orgs_file=Path(args.orgs).expanduser() if args.orgs else orgs_file(),
        selects=args.select or [], runbooks=runbooks, executor=args.executor, scheduler=args.scheduler,
        workers=args.workers or 0, out=Path(args.out), resume=args.resume, notify=args.notify or [],
        lang=args.lang, runbook_timeout=args.runbook_timeout, progress=not args.no_progress,
        first_page_lang=args.lang if getattr(args, "lang_given", False) else None,
    )
    fleet, code, _page = run_fleet(opts)
    if args.json:
        print(json.dumps(fleet, ensure_ascii=False, indent=2))
    return code


def cmd_demo_fleet(args: argparse.Namespace) -> int:
    from .demo_worlds import write_fleet

    path = write_fleet(args.orgs, Path(args.out), seed=args.seed)
    print(t("fleet_cli.wrote", args.lang, n=args.orgs, path=path), file=sys.stderr, flush=True)
    print(path)
    return 0


def add_parsers(sub: Any, demo_sub: Any, lang: str, lang_opt: Callable, json_opt: Callable, out_opt: Callable) -> None:
    """`fleet run` under the top-level commands, `fleet` under `demo`."""
    fleet = sub.add_parser("fleet", help=t("fleet_cli.fleet", lang))
    fsub = fleet.add_subparsers(dest="fleet_command", metavar="SUBCOMMAND")
    fsub.required = True
    sp = fsub.add_parser(
        "run", help=t("fleet_cli.run", lang),
        description=t("fleet_cli.run_description", lang))
    sp.add_argument("--orgs", metavar="FILE", help=t("fleet_cli.orgs", lang))
    sp.add_argument("--select", action="append", metavar="GLOB",
                    help=t("fleet_cli.select", lang))
    sp.add_argument("--runbooks", action="append", metavar="ID[,ID]",
                    help=t("fleet_cli.runbooks", lang))
    sp.add_argument("--executor", choices=["local", "dask"], default="local",
                    help=t("fleet_cli.executor", lang))
    sp.add_argument("--scheduler", metavar="ADDRESS", help=t("fleet_cli.scheduler", lang))
    sp.add_argument("--workers", type=int, default=0, metavar="N",
                    help=t("fleet_cli.workers", lang))
    out_opt(sp)
    sp.add_argument("--resume", action="store_true",
                    help=t("fleet_cli.resume", lang))
    sp.add_argument("--notify", action="append", metavar="URL",
                    help=t("fleet_cli.notify", lang))
    sp.add_argument("--runbook-timeout", type=float, default=120, metavar="SECONDS",
                    help=t("fleet_cli.runbook_timeout", lang))
    sp.add_argument("--no-progress", action="store_true", help=t("fleet_cli.no_progress", lang))
    json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_fleet_run)

    sp = demo_sub.add_parser(
        "fleet", help=t("fleet_cli.demo_fleet", lang),
        description=t("fleet_cli.demo_fleet_description", lang))
    sp.add_argument("--orgs", type=int, required=True, metavar="N", help=t("fleet_cli.demo_orgs", lang))
    sp.add_argument("--seed", type=int, default=0, metavar="S", help=t("fleet_cli.seed", lang))
    sp.add_argument("--out", required=True, metavar="DIR", help=t("fleet_cli.out", lang))
    lang_opt(sp)
    sp.set_defaults(func=cmd_demo_fleet)
