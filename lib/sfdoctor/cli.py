"""The `sfdoctor` command (spec/cli.md): list, diagnose, run, demo, reports, schedule.

Output for people goes to stderr, machine output (`--json`, the report folder of `run`,
the simulator URL of `demo serve`) to stdout. Every error a person can cause is one line
and exit 2, never a traceback; `run` exits 0/1/3 by the outcome of the report it wrote.
Help and messages follow the language of `--lang`, else `$SFDOCTOR_LANG`, else `$LANG`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Sequence

from .errors import BadInput, SfdoctorError


def _env_lang() -> str:
    for var in ("SFDOCTOR_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


LANG = _env_lang()


def T(en: str, ja: str, lang: str | None = None) -> str:
    """Pick the English or Japanese text (help strings are built before arguments are parsed)."""
    return ja if (lang or LANG) == "ja" else en


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _out_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


# --------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    from .i18n import pick
    from .params import jsonable
    from .runbooks import all_specs, load

    specs = [load(args.runbook)] if getattr(args, "runbook", None) else all_specs()

    def params(s: Any) -> list[dict[str, Any]]:
        return [{"name": p.name, "type": p.type, "default": jsonable(p.papermill_default()), "choices": list(p.choices),
                 "label": p.label, "help": p.help} for p in s.parameters if not p.secret]

    if args.json:
        _out_json([{"id": s.id, "title": s.title, "summary": s.summary, "symptoms": [x.text for x in s.symptoms],
                    "parameters": params(s)} for s in specs])
        return 0
    if not specs:
        _err(T("no runbooks found", "ランブックが見つかりません", args.lang))
    for s in specs:
        _err(f"{s.id}: {pick(s.title, args.lang)}")
        for sym in s.symptoms[:4]:
            _err(f"    - {sym.text}")
        if getattr(args, "runbook", None):
            # One runbook: what `run -p NAME=VALUE` takes, and what each parameter means.
            _err(T("  parameters (-p NAME=VALUE):", "  パラメータ (-p 名前=値):", args.lang))
            for p in params(s):
                kind = p["type"] + (f" ({'|'.join(p['choices'])})" if p["choices"] else "")
                _err(f"    {p['name']} = {json.dumps(p['default'], ensure_ascii=False)}  [{kind}]  {pick(p['label'], args.lang)}")
                _err(f"        {pick(p['help'], args.lang)}")
            attempts = s.login_attempts()
            _err(T(f"  login attempts per run: at most {attempts}", f"  1 回の実行でのログイン試行: 最大 {attempts} 回", args.lang))
    return 0


def cmd_diagnose(args: argparse.Namespace) -> int:
    from .i18n import pick
    from .router import diagnose

    matches = diagnose(args.text)
    if args.json:
        _out_json([{"runbook": m.spec.id, "title": pick(m.spec.title, args.lang), "score": m.score, "matched": m.matched}
                   for m in matches])
        return 0
    if not matches:
        _err(T("no runbook fits this text; try `sfdoctor list`", "この文に合うランブックはありません。`sfdoctor list` を参照してください", args.lang))
        return 0
    for m in matches:
        _err(f"{m.score:.2f}  {m.spec.id}: {pick(m.spec.title, args.lang)}")
        _err("      " + T("matched: ", "一致: ", args.lang) + "; ".join(m.matched))
    best = matches[0].spec.id
    _err(T(f"next: sfdoctor run {best} --org <org>", f"次に: sfdoctor run {best} --org <組織>", args.lang))
    return 0


def _seconds(text: str, lang: str) -> float:
    """`--wait`: a number of seconds from 0; anything else is one line, exit 2 (not argparse's usage)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise BadInput(T(f"--wait {text!r}: not a number of seconds from 0", f"--wait {text!r}: 0 以上の秒数ではありません", lang),
                       hint=T("for example --wait 600", "例: --wait 600", lang))
    return value


def _parse_params(pairs: Sequence[str], lang: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise BadInput(T(f"malformed parameter {pair!r}", f"パラメータ {pair!r} の形式が正しくありません", lang),
                           hint=T("write -p NAME=VALUE", "-p 名前=値 の形で指定してください", lang))
        params[name.strip()] = value
    return params


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import run_runbook
    from .ui_texts import ui

    params = _parse_params(args.param or [], args.lang)
    outcome = run_runbook(args.runbook, args.org, params, args.out, args.lang,
                          cell_timeout=args.cell_timeout, total_timeout=args.timeout)
    if args.json:
        _out_json(outcome.findings)
    else:
        print(outcome.folder, flush=True)
    _err(ui("cli.folder", args.lang, folder=outcome.folder))
    return outcome.exit_code


def cmd_demo_list(args: argparse.Namespace) -> int:
    from .clients import demo_package_errors

    with demo_package_errors():
        from .demo.scenario import list_builtin

        scenarios = list_builtin()
    if args.json:
        _out_json([{"name": s.name, "runbook": s.runbook, "description": s.description} for s in scenarios])
        return 0
    for s in scenarios:
        desc = " ".join(str(s.description).split())
        _err(f"{s.name:<28} {s.runbook or '-':<26} {desc}")
    return 0


def cmd_demo_serve(args: argparse.Namespace) -> int:
    from .clients import demo_package_errors

    with demo_package_errors():
        from .demo.server import DEFAULT_SCENARIO, serve_forever
        from .orgs import resolve
        from .scrub import known_secrets, scrub_text

        # Each request's log line is masked as reports are: the world's secrets wherever they
        # appear, and secret-bearing parameters (`client_secret=`, `access_token=`, ...).
        secrets = known_secrets(resolve(f"demo:{args.scenario or DEFAULT_SCENARIO}"))
        serve_forever(args.scenario, args.port, log_mask=lambda line: scrub_text(line, secrets))
    return 0


def cmd_reports_list(args: argparse.Namespace) -> int:
    from .report_index import list_reports

    entries = list_reports(args.out)
    if args.json:
        _out_json(entries)
        return 0
    if not entries:
        _err(T(f"no reports in {args.out}", f"{args.out} にレポートはありません", args.lang))
    n = len(entries)
    for i, e in enumerate(entries):
        causes = ", ".join(e.get("root_causes", [])) or "-"
        _err(f"{i - n:>4}  {e.get('time', '')}  {e.get('runbook', '')}  {e.get('org', '')}  {e.get('outcome', '')}  {causes}  {e.get('folder', '')}")
    return 0


def cmd_reports_diff(args: argparse.Namespace) -> int:
    from .history import diff

    d = diff(args.a, args.b, args.out, args.lang)
    if args.json:
        _out_json(d.to_json())
        return 0
    _err(f"A: {d.a} ({d.outcome_a})")
    _err(f"B: {d.b} ({d.outcome_b})")
    _err(T("new:       ", "新規:     ", args.lang) + (", ".join(d.new) or "-"))
    _err(T("fixed:     ", "解消:     ", args.lang) + (", ".join(d.fixed) or "-"))
    _err(T("unchanged: ", "変化なし: ", args.lang) + (", ".join(d.unchanged) or "-"))
    for c in d.status_changes:
        _err(f"  {c['check']}: {c['a']} -> {c['b']}")
    return 0


def cmd_reports_index(args: argparse.Namespace) -> int:
    from .index_page import write

    path = write(args.out, args.lang)
    print(path, flush=True)
    _err(T(f"rebuilt {path} from {args.out}/index.jsonl", f"{args.out}/index.jsonl から {path} を作り直しました", args.lang))
    return 0


def cmd_reports_prune(args: argparse.Namespace) -> int:
    from .history import parse_duration, prune

    result = prune(args.out, parse_duration(args.older_than, args.lang), dry_run=args.dry_run)
    if args.json:
        _out_json(result.to_json())
    else:
        cutoff = result.to_json()["cutoff"]
        for e in result.removed:
            _err(T("would remove " if args.dry_run else "removed ", "削除予定 " if args.dry_run else "削除 ", args.lang)
                 + f"{e.get('time', '')}  {e.get('runbook', '')}  {e.get('org', '')}  {e.get('folder', '')}")
        for f in result.failed:
            _err(T(f"could not remove {f['folder']}: {f['reason']} (its index line is kept)",
                   f"{f['folder']} を削除できませんでした: {f['reason']} (索引の行は残します)", args.lang))
        verb = T("would remove", "削除予定", args.lang) if args.dry_run else T("removed", "削除", args.lang)
        _err(T(f"{verb} {len(result.removed)} runs older than {cutoff}; {result.kept} kept",
               f"{cutoff} より古い実行: {verb} {len(result.removed)} 件、残り {result.kept} 件", args.lang))
    return 1 if result.failed else 0


def cmd_schedule_run_due(args: argparse.Namespace) -> int:
    from .schedule import run_due

    return run_due(args.file, args.out, lang=args.lang, wait=_seconds(args.wait, args.lang))


def cmd_schedule_show(args: argparse.Namespace) -> int:
    from .schedule import describe

    shown = describe(args.file, args.out, lang=args.lang)
    if args.json:
        _out_json(shown)
        return 0
    print(shown["crontab"], flush=True)
    _err(T("install with `crontab -e` and add the line above (it runs run-due every 15 minutes)",
           "`crontab -e` で上の行を追加してください (15 分ごとに run-due を実行します)", args.lang))
    never = T("never", "未実行", args.lang)
    for e in shown["entries"]:
        params = " ".join(f"-p {k}={json.dumps(v, ensure_ascii=False)}" for k, v in e["params"].items())
        local = f" ({e['next_local']})" if e["next_local"] and e["tz"] != "UTC" else ""
        _err(f"[{e['index']}] {e['runbook']} --org {e['org']}{' ' + params if params else ''}  cron \"{e['cron']}\" ({e['tz']})"
             + T(f"  next {e['next'] or '-'}{local}  last run {e['last_run'] or never}{'  (due)' if e['due'] else ''}",
                 f"  次回 {e['next'] or '-'}{local}  前回 {e['last_run'] or never}{'  (実行待ち)' if e['due'] else ''}", args.lang))
        if e["finer_than_tick"]:
            _err(T(f"    note: [{e['index']}] fires more often than every 15 minutes; the crontab line runs it at most every 15",
                   f"    注意: [{e['index']}] は 15 分より短い間隔ですが、crontab の行では最短 15 分ごとの実行になります", args.lang))
    if not shown["entries"]:
        _err(T("the schedule has no entries", "スケジュールに項目がありません", args.lang))
    return 0


# --------------------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sfdoctor",
        description=T("Runnable troubleshooting runbooks for Salesforce-family connection and authentication failures.",
                      "Salesforce 系の接続・認証エラーを調べる、実行できるトラブルシューティング手順書。"),
    )
    from . import __version__

    p.add_argument("--version", action="version", version=f"sfdoctor {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def lang_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--lang", choices=["en", "ja"], default=LANG,
                        help=T("language of the output (default: from $SFDOCTOR_LANG / $LANG)",
                               "出力の言語 (既定: $SFDOCTOR_LANG / $LANG から)"))

    def json_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--json", action="store_true", help=T("machine-readable output on stdout", "機械可読な出力を標準出力へ"))

    def out_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--out", default="reports", help=T("reports directory (default: ./reports)", "レポートのディレクトリ (既定: ./reports)"))

    sp = sub.add_parser("list", help=T("the runbooks and the symptoms that point to them", "ランブックと、それを指す症状の一覧"))
    sp.add_argument("runbook", nargs="?", metavar="RUNBOOK",
                    help=T("one runbook, with its parameters (what `run -p` takes)", "1 つのランブックとそのパラメータ (`run -p` に指定できるもの)"))
    json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_list)

    sp = sub.add_parser("diagnose", help=T("which runbook fits an error message or URL", "エラーメッセージや URL に合うランブック"))
    sp.add_argument("text", metavar="TEXT", help=T("the error message or the error page's URL", "エラーメッセージ、またはエラーページの URL"))
    json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_diagnose)

    sp = sub.add_parser("run", help=T("run a runbook headlessly and write a dated report", "ランブックを実行し、日付入りのレポートを書き出す"))
    sp.add_argument("runbook", metavar="RUNBOOK", help=T("runbook id (see `sfdoctor list`)", "ランブック ID (`sfdoctor list` を参照)"))
    sp.add_argument("--org", required=True, help=T("demo, demo:NAME, demo:PATH.yml or an org from the orgs file",
                                                     "demo、demo:名前、demo:パス.yml、または組織ファイルの組織名"))
    sp.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                    help=T("a runbook parameter (repeatable); never a secret; `sfdoctor list RUNBOOK` lists them",
                           "ランブックのパラメータ (複数可)。秘密情報は不可。一覧は `sfdoctor list ランブック`"))
    out_opt(sp), json_opt(sp), lang_opt(sp)
    sp.add_argument("--cell-timeout", type=float, default=120, help=T("seconds per cell (default 120)", "セルごとの秒数 (既定 120)"))
    sp.add_argument("--timeout", type=float, default=600, help=T("seconds for the whole run (default 600)", "実行全体の秒数 (既定 600)"))
    sp.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help=T("the embedded demo world", "組み込みのデモ環境"))
    dsub = demo.add_subparsers(dest="demo_command", metavar="SUBCOMMAND")
    dsub.required = True
    sp = dsub.add_parser("list", help=T("the built-in scenarios", "組み込みシナリオの一覧"))
    json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_demo_list)
    sp = dsub.add_parser("serve", help=T("run the simulator in the foreground on 127.0.0.1", "シミュレーターを 127.0.0.1 で起動する"))
    sp.add_argument("--scenario", default=None, metavar="NAME|FILE", help=T("built-in scenario name or .yml file", "組み込みシナリオ名、または .yml ファイル"))
    sp.add_argument("--port", type=int, default=0, help=T("port (default: a free one)", "ポート (既定: 空いているもの)"))
    lang_opt(sp)
    sp.set_defaults(func=cmd_demo_serve)

    reports = sub.add_parser("reports", help=T("the report history", "レポートの履歴"))
    rsub = reports.add_subparsers(dest="reports_command", metavar="SUBCOMMAND")
    rsub.required = True
    sp = rsub.add_parser("list", help=T("every run in the index, oldest first", "索引にあるすべての実行 (古い順)"))
    out_opt(sp), json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_reports_list)
    sp = rsub.add_parser("diff", help=T("what changed between two runs (new, fixed, unchanged causes)",
                                         "2 つの実行の違い (新規・解消・変化なしの原因)"),
                         description=T(
                             "Compare two runs of one runbook on one org: the causes that are new in B, fixed since A,"
                             " and unchanged. A and B are each a report folder (absolute, relative to the current"
                             " directory or to --out) or an index position as `reports list` and reports/index.html"
                             " show it: -1 is the latest run, -2 the one before, 0 the first.",
                             "1 つのランブック・1 つの組織の 2 回の実行を比べ、B で新しく出た原因、A から解消した原因、"
                             "変わらない原因を示します。A と B はレポートのフォルダ (絶対パス、現在のディレクトリまたは --out からの相対パス)"
                             "、または `reports list` と reports/index.html に出る索引の位置 (-1 が最新、-2 がその前、0 が最初) です。"))
    sp.add_argument("a", metavar="A", help=T("report folder or index position (-2)", "レポートのフォルダ、または索引の位置 (-2)"))
    sp.add_argument("b", metavar="B", help=T("report folder or index position (-1)", "レポートのフォルダ、または索引の位置 (-1)"))
    out_opt(sp), json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_reports_diff)
    sp = rsub.add_parser("index", help=T("rebuild reports/index.html (the history page to share)",
                                          "reports/index.html (共有用の履歴ページ) を作り直す"),
                         description=T("Rebuild OUT/index.html from OUT/index.jsonl. Every run rewrites it already;"
                                       " this is for another language or after editing the folder by hand.",
                                       "OUT/index.jsonl から OUT/index.html を作り直します。実行のたびに自動で書き直されるため、"
                                       "別の言語にしたいときや、フォルダを手で変えた後に使います。"))
    out_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_reports_index)
    sp = rsub.add_parser("prune", help=T("remove old reports and their index lines together",
                                          "古いレポートと索引の行をまとめて削除する"),
                         description=T("Remove the report folders of runs older than --older-than and their lines in"
                                       " index.jsonl, together: a folder that cannot be removed keeps its line."
                                       " Exit 1 if any removal failed.",
                                       "--older-than より古い実行のレポートフォルダと index.jsonl の行をまとめて削除します。"
                                       "削除できなかったフォルダの行は残します。削除に失敗があれば終了コード 1。"))
    sp.add_argument("--older-than", required=True, metavar="AGE",
                    help=T("age like 90d (days), 12h, 2w or 30m (minutes)", "90d (日)、12h、2w、30m (分) のような経過時間"))
    sp.add_argument("--dry-run", action="store_true", help=T("only list what would be removed", "削除する対象を表示するだけ"))
    out_opt(sp), json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_reports_prune)

    sched = sub.add_parser("schedule", help=T("scheduled runs from runbooks/schedule.yml (for cron)",
                                              "runbooks/schedule.yml による定期実行 (cron 用)"))
    ssub = sched.add_subparsers(dest="schedule_command", metavar="SUBCOMMAND")
    ssub.required = True
    for name, en, ja, func in (
        ("run-due", "run the entries that are due, each once", "実行時刻になった項目をそれぞれ 1 回実行", cmd_schedule_run_due),
        ("show", "print the crontab line to install and each entry's next run", "設定する crontab の行と各項目の次回実行時刻を表示", cmd_schedule_show),
    ):
        sp = ssub.add_parser(name, help=T(en, ja))
        sp.add_argument("--file", default=None, help=T("schedule file (default runbooks/schedule.yml)", "スケジュールファイル (既定 runbooks/schedule.yml)"))
        out_opt(sp), lang_opt(sp)
        if name == "show":
            json_opt(sp)
        else:
            sp.add_argument("--wait", default="0", metavar="SECONDS",
                            help=T("if another run-due is running on the same --out, wait up to SECONDS for it"
                                   " (default 0: skip, and say so)",
                                   "同じ --out で別の run-due が実行中なら最大 SECONDS 秒待つ (既定 0: スキップしてその旨を表示)"))
        sp.set_defaults(func=func)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sfdoctor` command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), already printed
        return int(exc.code or 0)
    lang = getattr(args, "lang", LANG)
    try:
        return int(args.func(args))
    except SfdoctorError as exc:
        from .scrub import scrub_text

        _err(f"sfdoctor: {scrub_text(exc.one_line(lang))}")
        return 3 if exc.exit_code == 3 else 2
    except KeyboardInterrupt:
        _err(T("sfdoctor: interrupted", "sfdoctor: 中断しました", lang))
        return 130
    except Exception as exc:  # a bug: still one line for the person, never a traceback
        from .scrub import scrub_text

        text = scrub_text(" ".join(str(exc).split()))[:300]
        _err(T(f"sfdoctor: unexpected error: {type(exc).__name__}: {text}",
               f"sfdoctor: 予期しないエラー: {type(exc).__name__}: {text}", lang))
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
