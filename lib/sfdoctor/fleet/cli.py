"""The command line of fleets: `sfdoctor fleet run` and `sfdoctor demo fleet` (spec/cli.md)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

Text = Callable[..., str]


def cmd_fleet_run(args: argparse.Namespace) -> int:
    from ..orgs import orgs_file
    from .run import FleetOptions, run_fleet

    runbooks = [r.strip() for part in (args.runbooks or []) for r in part.split(",") if r.strip()] or None
    opts = FleetOptions(
        orgs_file=Path(args.orgs).expanduser() if args.orgs else orgs_file(),
        selects=args.select or [], runbooks=runbooks, executor=args.executor, scheduler=args.scheduler,
        workers=args.workers or 0, out=Path(args.out), resume=args.resume, notify=args.notify or [],
        lang=args.lang, runbook_timeout=args.runbook_timeout, progress=not args.no_progress,
    )
    fleet, code, _page = run_fleet(opts)
    if args.json:
        print(json.dumps(fleet, ensure_ascii=False, indent=2))
    return code


def cmd_demo_fleet(args: argparse.Namespace) -> int:
    from .demo_worlds import write_fleet

    path = write_fleet(args.orgs, Path(args.out), seed=args.seed)
    ja = args.lang == "ja"
    print(("デモ組織 {n} 件を書き出しました: {path}\n実行: sfdoctor fleet run --orgs {path}" if ja else
           "wrote {n} demo orgs: {path}\nrun them: sfdoctor fleet run --orgs {path}").format(n=args.orgs, path=path),
          file=sys.stderr, flush=True)
    print(path)
    return 0


def add_parsers(sub: Any, demo_sub: Any, T: Text, lang_opt: Callable, json_opt: Callable, out_opt: Callable) -> None:
    """`fleet run` under the top-level commands, `fleet` under `demo`."""
    fleet = sub.add_parser("fleet", help=T("run runbooks over many orgs in parallel", "多数の組織でランブックを並列実行する"))
    fsub = fleet.add_subparsers(dest="fleet_command", metavar="SUBCOMMAND")
    fsub.required = True
    sp = fsub.add_parser(
        "run", help=T("run every org's runbooks (orgs file), on this machine's cores or a Dask cluster",
                      "組織ファイルの各組織のランブックを、このマシンのコアまたは Dask クラスターで実行する"),
        description=T(
            "Audit many orgs at once: each org's runbooks (its `runbooks` list, else every runbook it can run)"
            " write the same report folder, index line and findings as `sfdoctor run`. Writes"
            " OUT/fleet/DATE/TIME/fleet.json and OUT/fleet.html. Exit 1 if any org-runbook found problems,"
            " else 3 if any is inconclusive or error, else 0; 2 for bad input before anything runs.",
            "多数の組織をまとめて点検します。各組織のランブック (`runbooks` の一覧、なければ実行できるすべて) は"
            " `sfdoctor run` と同じレポートフォルダ・索引の行・所見を書きます。OUT/fleet/日付/時刻/fleet.json と"
            " OUT/fleet.html を書き出します。問題が見つかれば終了コード 1、判定不能・エラーがあれば 3、それ以外は 0、"
            "実行前の入力の誤りは 2 です。"))
    sp.add_argument("--orgs", metavar="FILE", help=T("the orgs file (default: $SFDOCTOR_ORGS or ~/.config/sfdoctor/orgs.toml)",
                                                   "組織ファイル (既定: $SFDOCTOR_ORGS または ~/.config/sfdoctor/orgs.toml)"))
    sp.add_argument("--select", action="append", metavar="GLOB",
                    help=T("only orgs whose name matches (repeatable; e.g. 'client-0*')", "名前が一致する組織だけ (複数可。例: 'client-0*')"))
    sp.add_argument("--runbooks", action="append", metavar="ID[,ID]",
                    help=T("only these runbooks (see `sfdoctor list`)", "これらのランブックだけ (`sfdoctor list` を参照)"))
    sp.add_argument("--executor", choices=["local", "dask"], default="local",
                    help=T("local: this machine's cores (default); dask: Dask distributed", "local: このマシンのコア (既定)、dask: Dask distributed"))
    sp.add_argument("--scheduler", metavar="ADDRESS", help=T("a running Dask scheduler, tcp://HOST:PORT (default: a LocalCluster for the run)",
                                                              "起動済みの Dask スケジューラー tcp://HOST:PORT (既定: この実行用の LocalCluster)"))
    sp.add_argument("--workers", type=int, default=0, metavar="N",
                    help=T("worker processes (default: this machine's cores)", "ワーカープロセス数 (既定: このマシンのコア数)"))
    out_opt(sp)
    sp.add_argument("--resume", action="store_true",
                    help=T("finish the last fleet run that was stopped, without redoing what it completed",
                           "中断した直近のフリート実行を、完了分をやり直さずに続ける"))
    sp.add_argument("--notify", action="append", metavar="URL",
                    help=T("Apprise URL to tell what changed (repeatable): slack://, mailto://, json://, ...",
                           "変化を知らせる Apprise の URL (複数可): slack://、mailto://、json:// など"))
    sp.add_argument("--runbook-timeout", type=float, default=120, metavar="SECONDS",
                    help=T("limit for one org-runbook (default 120)", "組織×ランブック 1 件の制限時間 (既定 120 秒)"))
    sp.add_argument("--no-progress", action="store_true", help=T("no progress bar on stderr", "標準エラーに進捗を表示しない"))
    json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_fleet_run)

    sp = demo_sub.add_parser(
        "fleet", help=T("write an orgs file of N demo orgs for `fleet run`", "`fleet run` 用に N 件のデモ組織の組織ファイルを書き出す"),
        description=T("Writes DIR/orgs.toml and DIR/worlds/: N demo orgs, each a full demo world with hosts of its own,"
                      " with the built-in scenarios' failures spread over them (the same seed gives the same files).",
                      "DIR/orgs.toml と DIR/worlds/ を書き出します。N 件のデモ組織はそれぞれ独自のホストを持つ完全なデモ環境で、"
                      "組み込みシナリオの障害が割り振られます (同じシードなら同じファイル)。"))
    sp.add_argument("--orgs", type=int, required=True, metavar="N", help=T("how many orgs", "組織の数"))
    sp.add_argument("--seed", type=int, default=0, metavar="S", help=T("seed of the spread (default 0)", "割り振りのシード (既定 0)"))
    sp.add_argument("--out", required=True, metavar="DIR", help=T("where to write orgs.toml and worlds/", "orgs.toml と worlds/ の書き出し先"))
    lang_opt(sp)
    sp.set_defaults(func=cmd_demo_fleet)
