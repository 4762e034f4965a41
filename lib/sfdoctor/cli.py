"""The `sfdoctor` command (spec/cli.md): list, diagnose, run, demo, reports, orgs, schedule.

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
from .i18n import Text, t


def _env_lang() -> str:
    for var in ("SFDOCTOR_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


LANG = _env_lang()


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
        _err(t("cli.no_runbooks", args.lang))
    for s in specs:
        _err(f"{s.id}: {pick(s.title, args.lang)}")
        for sym in s.symptoms[:4]:
            _err(f"    - {sym.text}")
        if getattr(args, "runbook", None):
            # One runbook: what `run -p NAME=VALUE` takes, and what each parameter means.
            _err("  " + t("cli.list_parameters", args.lang))
            for p in params(s):
                kind = p["type"] + (f" ({'|'.join(p['choices'])})" if p["choices"] else "")
                _err(f"    {p['name']} = {json.dumps(p['default'], ensure_ascii=False)}  [{kind}]  {pick(p['label'], args.lang)}")
                _err(f"        {pick(p['help'], args.lang)}")
            attempts = s.login_attempts()
            _err("  " + t("cli.list_attempts", args.lang, attempts=attempts))
    return 0


def cmd_diagnose(args: argparse.Namespace) -> int:
    from .i18n import pick
    from .router import diagnose

    matches = diagnose(args.text)
    if args.json:
        _out_json([{"runbook": m.spec.id, "title": pick(m.spec.title, args.lang), "score": m.score, "matched": m.matched}
                   for m in matches])
        return 0 if matches else 1
    if not matches:
        _err(t("cli.no_match", args.lang))
        return 1
    for m in matches:
        _err(f"{m.score:.2f}  {m.spec.id}: {pick(m.spec.title, args.lang)}")
        _err("      " + t("cli.matched", args.lang, matched="; ".join(m.matched)))
    best = matches[0].spec.id
    _err(t("cli.next", args.lang, runbook=best))
    return 0


def _seconds(text: str) -> float:
    """`--wait`: a number of seconds from 0; anything else is one line, exit 2 (not argparse's usage)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise BadInput(Text("cli.wait_bad", text=text), hint=Text("cli.wait_hint"))
    return value


def _parse_params(pairs: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise BadInput(Text("cli.param_malformed", pair=pair), hint=Text("cli.param_hint"))
        params[name.strip()] = value
    return params


def _said(args: argparse.Namespace, outcome: Any) -> int:
    """A finished run as `run` and `triage` say it: its findings (--json) or its folder on stdout,
    the folder for people on stderr; its exit code."""
    if args.json:
        _out_json(outcome.findings)
    else:
        print(outcome.folder, flush=True)
    _err(t("cli.folder", args.lang, folder=outcome.folder))
    return outcome.exit_code


class _LangGiven(argparse.Action):
    """`--lang` that also records it was given (`lang_given`): the environment's language is
    only the default, and a first history page takes a language a person named over it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        namespace.lang_given = True


def _given_lang(args: argparse.Namespace) -> str | None:
    """The command's `--lang` when it was given on the command line, else None."""
    return args.lang if getattr(args, "lang_given", False) else None


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import run_runbook

    params = _parse_params(args.param or [])
    outcome = run_runbook(args.runbook, args.org, params, args.out, args.lang,
                          cell_timeout=args.cell_timeout, total_timeout=args.timeout,
                          first_page_lang=_given_lang(args))
    return _said(args, outcome)


def cmd_triage(args: argparse.Namespace) -> int:
    from .triage import explain, plan, run_chosen

    chosen = plan(args.text, _parse_params(args.param or []))
    for line in explain(chosen, args.lang):
        _err(line)
    outcome = run_chosen(chosen, args.org, args.out, args.lang,
                         cell_timeout=args.cell_timeout, total_timeout=args.timeout,
                         first_page_lang=_given_lang(args))
    return _said(args, outcome)


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
    """The index, oldest first, each run with its position (what `reports diff` takes); a fleet's
    history is thousands of lines, so --org, --runbook and --last narrow it (positions stay)."""
    from fnmatch import fnmatchcase

    from .report_index import list_reports

    if args.last is not None and args.last < 1:
        raise BadInput(Text("cli.last_bad", n=args.last))
    entries = list_reports(args.out)
    n = len(entries)
    if args.runbook and not any(e.get("runbook") == args.runbook for e in entries):
        from .runbooks import load
        load(args.runbook)  # a runbook no run names must at least be one sfdoctor knows: else one line, exit 2
    chosen = [(i - n, e) for i, e in enumerate(entries)
              if (not args.org or fnmatchcase(str(e.get("org", "")), args.org))
              and (not args.runbook or e.get("runbook") == args.runbook)]
    if args.last is not None:
        chosen = chosen[-args.last:]
    if args.json:
        _out_json([{"position": pos, **e} for pos, e in chosen])
        return 0
    if not entries:
        _err(t("cli.no_reports", args.lang, out=args.out))
        return 0
    rows = [(str(pos), str(e.get("time", "")), str(e.get("runbook", "")), str(e.get("org", "")), str(e.get("outcome", "")),
             ", ".join(e.get("root_causes") or []) or "-", str(e.get("folder", ""))) for pos, e in chosen]
    widths = [max((len(r[c]) for r in rows), default=0) for c in range(6)]
    lines = ["  ".join([r[0].rjust(widths[0]), *(r[c].ljust(widths[c]) for c in range(1, 6)), r[6]]).rstrip() for r in rows]
    if len(chosen) < n:
        lines.append(t("cli.reports_listed", args.lang, shown=f"{len(chosen):,}", n=f"{n:,}"))
    sys.stderr.write("".join(line + "\n" for line in lines))  # one write: 10,000 lines are one call, not 10,000
    sys.stderr.flush()
    return 0


def cmd_reports_diff(args: argparse.Namespace) -> int:
    from .history import diff

    d = diff(args.a, args.b, args.out)
    if args.json:
        _out_json(d.to_json())
        return 0
    _err(f"A: {d.a} ({d.outcome_a})")
    _err(f"B: {d.b} ({d.outcome_b})")
    _err(t("cli.diff_new", args.lang, causes=", ".join(d.new) or "-"))
    _err(t("cli.diff_fixed", args.lang, causes=", ".join(d.fixed) or "-"))
    _err(t("cli.diff_unchanged", args.lang, causes=", ".join(d.unchanged) or "-"))
    for c in d.status_changes:
        _err(f"  {c['check']}: {c['a']} -> {c['b']}")
    if d.versions_differ:
        unknown = t("cli.diff_version_unknown", args.lang)
        _err(t("cli.diff_versions", args.lang, a=d.version_a or unknown, b=d.version_b or unknown))
    return 0


def cmd_reports_index(args: argparse.Namespace) -> int:
    from .index_page import write

    path = write(args.out, args.lang, by_command=True)
    print(path, flush=True)
    _err(t("cli.index_rebuilt", args.lang or LANG, path=path, out=args.out))
    return 0


def cmd_reports_prune(args: argparse.Namespace) -> int:
    from .history import parse_duration, prune

    result = prune(args.out, parse_duration(args.older_than), dry_run=args.dry_run)
    if args.json:
        _out_json(result.to_json())
    else:
        cutoff = result.to_json()["cutoff"]
        for e in result.removed:
            run = f"{e.get('time', '')}  {e.get('runbook', '')}  {e.get('org', '')}  {e.get('folder', '')}"
            _err(t("cli.prune_would_remove" if args.dry_run else "cli.prune_removed", args.lang, run=run))
        for f in result.failed:
            _err(t("cli.prune_failed", args.lang, folder=f["folder"], reason=f["reason"]))
        verb = Text("cli.prune_verb_dry" if args.dry_run else "cli.prune_verb_done")
        _err(t("cli.prune_total", args.lang, verb=verb, n=len(result.removed), cutoff=cutoff, kept=result.kept))
    return 1 if result.failed else 0


def _org_host(ref: Any) -> str:
    cfg = ref.config or {}
    if ref.is_demo:
        return str(cfg.get("demo") or ref.scenario_ref or "-")
    mc = cfg.get("marketing_cloud") if isinstance(cfg.get("marketing_cloud"), dict) else {}
    host = cfg.get("my_domain") or cfg.get("login_host") or (cfg.get("alias") and f"sf alias {cfg['alias']}")
    if not host and mc.get("subdomain"):
        host = f"{mc['subdomain']}.auth.marketingcloudapis.com"
    return str(host or "-")


def _org_kind(ref: Any) -> str:
    from .orgs import has_salesforce

    if ref.is_demo:
        return "demo"
    if has_salesforce(ref.config):
        return str(ref.config.get("auth", "client_credentials"))
    return "marketing_cloud" if isinstance(ref.config.get("marketing_cloud"), dict) else "marketo"


def cmd_orgs_list(args: argparse.Namespace) -> int:
    from .orgs import list_orgs, orgs_file

    refs = list_orgs()
    rows = [{"name": r.name, "kind": _org_kind(r), "host": _org_host(r),
             "runbooks": list(r.config.get("runbooks") or [])} for r in refs]
    if args.json:
        _out_json(rows)
        return 0
    if not rows:
        _err(t("orgs.cli.no_orgs", args.lang, path=orgs_file()))
    for row in rows:
        _err(f"{row['name']:<24} {row['kind']:<19} {row['host']}")
    return 0


def cmd_orgs_check(args: argparse.Namespace) -> int:
    from .orgcheck import check_org, render
    from .orgs import list_orgs, resolve
    from .runbooks import all_specs
    from .scrub import scrub_text

    if args.all == bool(args.name):
        raise BadInput(t("orgs.cli.name_or_all", args.lang))
    specs = all_specs()
    refs = list_orgs() if args.all else [resolve(args.name)]
    worst, out = 0, []
    for ref in refs:
        if len(refs) > 1 or not args.json:
            _err(t("orgs.cli.checking", args.lang, ref_name=ref.name))
        try:
            status = check_org(ref, specs)
        except SfdoctorError as exc:
            if not args.all:
                raise
            code = 3 if exc.exit_code == 3 else 2
            _err(f"{ref.name}: {scrub_text(exc.one_line(args.lang))}")
            out.append({"org": ref.name, "exit_code": code, "error": scrub_text(exc.one_line(args.lang))})
            worst = max(worst, code)
            continue
        if args.json:
            out.append(status.to_json())
        else:
            for line in render(status, args.lang):
                _err(line)
        worst = max(worst, status.exit_code)
    if args.json:
        _out_json(out if args.all else out[0])
    return worst


def _split_env(value: str | None) -> str | None:
    return value.strip() if value else None


def cmd_orgs_add(args: argparse.Namespace) -> int:
    from .orgs import add_org, check_org_name

    check_org_name(args.name)
    entry: dict[str, Any] = {}
    kinds = [k for k in ("sf_cli", "client_credentials", "jwt", "sfdx_url_env") if getattr(args, k)]
    if len(kinds) > 1:
        raise BadInput(t("orgs.cli.one_sign_in", args.lang))
    upper = "".join(c if c.isalnum() else "_" for c in args.name).upper()
    if args.sf_cli:
        from .clients import sf_cli_session

        _err(t("orgs.cli.asking_sf_cli", args.lang, alias=args.sf_cli))
        cli = sf_cli_session(args.sf_cli, args.name)
        host = cli.instance_url.split("://", 1)[-1].split("/", 1)[0]
        entry = {"auth": "sf_cli", "alias": args.sf_cli, "my_domain": host, "sandbox": ".sandbox." in host}
        if cli.username:
            _err(t("orgs.cli.sf_cli_signed_in", args.lang, host=host, cli_username=cli.username))
    elif args.client_credentials:
        if not args.my_domain:
            raise BadInput(t("orgs.cli.client_credentials_needs_domain", args.lang),
                           hint=t("orgs.cli.my_domain_example", args.lang))
        entry = {"auth": "client_credentials", "my_domain": args.my_domain,
                 "client_id_env": args.client_id_env or f"{upper}_CLIENT_ID",
                 "client_secret_env": args.client_secret_env or f"{upper}_CLIENT_SECRET"}
    elif args.jwt:
        if not (args.username and args.private_key_file):
            raise BadInput(t("orgs.cli.jwt_needs_user_and_key", args.lang))
        entry = {"auth": "jwt", "username": args.username, "private_key_file": args.private_key_file,
                 "client_id_env": args.client_id_env or f"{upper}_CLIENT_ID"}
        if args.my_domain:
            entry["my_domain"] = args.my_domain
    elif args.sfdx_url_env:
        entry = {"auth": "sfdx_url", "auth_url_env": args.sfdx_url_env}
    if args.sandbox:
        entry["sandbox"] = True
    if args.mc_subdomain:
        entry["marketing_cloud"] = {"subdomain": args.mc_subdomain, "client_id": args.mc_client_id or "",
                                    "client_secret_env": args.mc_client_secret_env or f"{upper}_MC_CLIENT_SECRET"}
        if not args.mc_client_id:
            raise BadInput(t("orgs.cli.mc_needs_client_id", args.lang))
    if args.probe_username:
        entry["probe"] = {"username": args.probe_username,
                          "password_env": args.probe_password_env or f"{upper}_PROBE_PASSWORD"}
        if args.probe_token_env:
            entry["probe"]["token_env"] = args.probe_token_env
    if not entry:
        raise BadInput(t("orgs.cli.nothing_to_add", args.lang))
    path = add_org(args.name, entry, replace=args.replace)
    print(path, flush=True)
    refs = sorted({v for v in _flatten(entry) if isinstance(v, str) and v.isupper() and "_" in v})
    _err(t("orgs.cli.added", args.lang, name=args.name, path=path))
    if refs:
        _err(t("orgs.cli.set_variables", args.lang) + ", ".join(refs))
    _err(t("orgs.cli.next_check", args.lang, name=args.name))
    return 0


def _flatten(entry: Any) -> list[Any]:
    if isinstance(entry, dict):
        return [x for v in entry.values() for x in _flatten(v)]
    return [entry]


def cmd_schedule_run_due(args: argparse.Namespace) -> int:
    from .schedule import run_due

    return run_due(args.file, args.out, lang=args.lang, wait=_seconds(args.wait))


def cmd_schedule_show(args: argparse.Namespace) -> int:
    from .schedule import describe

    shown = describe(args.file, args.out, lang=args.lang)
    if args.json:
        _out_json(shown)
        return 0
    print(shown["crontab"], flush=True)
    _err(t("cli.crontab_hint", args.lang))
    never = t("schedule.never", args.lang)
    for e in shown["entries"]:
        params = " ".join(f"-p {k}={json.dumps(v, ensure_ascii=False)}" for k, v in e["params"].items())
        local = f" ({e['next_local']})" if e["next_local"] and e["tz"] != "UTC" else ""
        due = "  " + t("cli.show_due", args.lang) if e["due"] else ""
        _err(f"[{e['index']}] {e['runbook']} --org {e['org']}{' ' + params if params else ''}  cron \"{e['cron']}\" ({e['tz']})"
             + "  " + t("cli.show_times", args.lang, next=e["next"] or "-", local=local, last=e["last_run"] or never, due=due))
        if e["finer_than_tick"]:
            _err("    " + t("cli.show_finer", args.lang, index=e["index"]))
    if not shown["entries"]:
        _err(t("cli.show_empty", args.lang))
    return 0


# --------------------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sfdoctor",
        description=t("cli.help.description", LANG),
    )
    from . import __version__

    p.add_argument("--version", action="version", version=f"sfdoctor {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def lang_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--lang", choices=["en", "ja"], default=LANG, action=_LangGiven,
                        help=t("cli.help.lang", LANG))

    def json_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--json", action="store_true", help=t("cli.help.json", LANG))

    def out_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--out", default="reports", help=t("cli.help.out", LANG))

    def run_opts(sp: argparse.ArgumentParser) -> None:
        """What a run takes, whether its runbook is named (`run`) or chosen from a pasted text (`triage`)."""
        sp.add_argument("--org", required=True, help=t("cli.help.run_org", LANG))
        sp.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                        help=t("cli.help.run_param", LANG))
        out_opt(sp), json_opt(sp), lang_opt(sp)
        sp.add_argument("--cell-timeout", type=float, default=120, help=t("cli.help.run_cell_timeout", LANG))
        sp.add_argument("--timeout", type=float, default=600, help=t("cli.help.run_timeout", LANG))

    sp = sub.add_parser("list", help=t("cli.help.list", LANG))
    sp.add_argument("runbook", nargs="?", metavar="RUNBOOK",
                    help=t("cli.help.list_runbook", LANG))
    json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_list)

    sp = sub.add_parser("diagnose", help=t("cli.help.diagnose", LANG))
    sp.add_argument("text", metavar="TEXT", help=t("cli.help.diagnose_text", LANG))
    json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_diagnose)

    sp = sub.add_parser("run", help=t("cli.help.run", LANG))
    sp.add_argument("runbook", metavar="RUNBOOK", help=t("cli.help.run_runbook", LANG))
    run_opts(sp)
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("triage", help=t("triage.help", LANG))
    sp.add_argument("text", metavar="TEXT", help=t("triage.help_text", LANG))
    run_opts(sp)
    sp.set_defaults(func=cmd_triage)

    demo = sub.add_parser("demo", help=t("cli.help.demo", LANG))
    dsub = demo.add_subparsers(dest="demo_command", metavar="SUBCOMMAND")
    dsub.required = True
    sp = dsub.add_parser("list", help=t("cli.help.demo_list", LANG))
    json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_demo_list)
    sp = dsub.add_parser("serve", help=t("cli.help.demo_serve", LANG))
    sp.add_argument("--scenario", default=None, metavar="NAME|FILE", help=t("cli.help.demo_scenario", LANG))
    sp.add_argument("--port", type=int, default=0, help=t("cli.help.demo_port", LANG))
    lang_opt(sp)
    sp.set_defaults(func=cmd_demo_serve)

    reports = sub.add_parser("reports", help=t("cli.help.reports", LANG))
    rsub = reports.add_subparsers(dest="reports_command", metavar="SUBCOMMAND")
    rsub.required = True
    sp = rsub.add_parser("list", help=t("cli.help.reports_list", LANG))
    sp.add_argument("--org", metavar="GLOB", help=t("cli.help.reports_list_org", LANG))
    sp.add_argument("--runbook", metavar="RUNBOOK", help=t("cli.help.reports_list_runbook", LANG))
    sp.add_argument("--last", type=int, metavar="N", help=t("cli.help.reports_list_last", LANG))
    out_opt(sp), json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_reports_list)
    sp = rsub.add_parser("diff", help=t("cli.help.reports_diff", LANG),
                         description=t("cli.help.reports_diff_description", LANG))
    sp.add_argument("a", metavar="A", help=t("cli.help.reports_diff_a", LANG))
    sp.add_argument("b", metavar="B", help=t("cli.help.reports_diff_b", LANG))
    out_opt(sp), json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_reports_diff)
    sp = rsub.add_parser("index", help=t("cli.help.reports_index", LANG),
                         description=t("cli.help.reports_index_description", LANG))
    out_opt(sp)
    # No default: without --lang, $SFDOCTOR_LANG, else the page keeps its language (index_page.page_language).
    sp.add_argument("--lang", choices=["en", "ja"], default=None, help=t("cli.help.reports_index_lang", LANG))
    sp.set_defaults(func=cmd_reports_index)
    sp = rsub.add_parser("prune", help=t("cli.help.reports_prune", LANG),
                         description=t("cli.help.reports_prune_description", LANG))
    sp.add_argument("--older-than", required=True, metavar="AGE",
                    help=t("cli.help.prune_older_than", LANG))
    sp.add_argument("--dry-run", action="store_true", help=t("cli.help.prune_dry_run", LANG))
    out_opt(sp), json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_reports_prune)

    from .fleet.cli import add_parsers as add_fleet_parsers

    add_fleet_parsers(sub, dsub, LANG, lang_opt, json_opt, out_opt)

    orgs_p = sub.add_parser("orgs", help=t("orgs.cli.help_orgs", LANG))
    osub = orgs_p.add_subparsers(dest="orgs_command", metavar="SUBCOMMAND")
    osub.required = True
    sp = osub.add_parser("list", help=t("orgs.cli.help_list", LANG))
    json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_orgs_list)
    sp = osub.add_parser("check", help=t("orgs.cli.help_check", LANG),
                         description=t("orgs.cli.help_check_description", LANG))
    sp.add_argument("name", nargs="?", metavar="NAME", help=t("orgs.cli.help_check_name", LANG))
    sp.add_argument("--all", action="store_true", help=t("orgs.cli.help_check_all", LANG))
    json_opt(sp), lang_opt(sp)
    sp.set_defaults(func=cmd_orgs_check)
    sp = osub.add_parser("add", help=t("orgs.cli.help_add", LANG),
                         description=t("orgs.cli.help_add_description", LANG))
    sp.add_argument("name", metavar="NAME", help=t("orgs.cli.help_add_name", LANG))
    # Each option's help is the text `orgs.cli.help_<option>` (dashes as underscores).
    for option, extra in (
            ("--sf-cli", {"metavar": "ALIAS"}),
            ("--client-credentials", {"action": "store_true"}),
            ("--jwt", {"action": "store_true"}),
            ("--sfdx-url-env", {"metavar": "VAR"}),
            ("--my-domain", {"metavar": "HOST"}),
            ("--sandbox", {"action": "store_true"}),
            ("--client-id-env", {"metavar": "VAR"}),
            ("--client-secret-env", {"metavar": "VAR"}),
            ("--username", {}),
            ("--private-key-file", {"metavar": "PATH"}),
            ("--probe-username", {"metavar": "USER"}),
            ("--probe-password-env", {"metavar": "VAR"}),
            ("--probe-token-env", {"metavar": "VAR"}),
            ("--mc-subdomain", {"metavar": "SUB"}),
            ("--mc-client-id", {"metavar": "ID"}),
            ("--mc-client-secret-env", {"metavar": "VAR"}),
            ("--replace", {"action": "store_true"}),
    ):
        sp.add_argument(option, help=t(f"orgs.cli.help_{option[2:].replace('-', '_')}", LANG), **extra)
    lang_opt(sp)
    sp.set_defaults(func=cmd_orgs_add)

    sched = sub.add_parser("schedule", help=t("cli.help.schedule", LANG))
    ssub = sched.add_subparsers(dest="schedule_command", metavar="SUBCOMMAND")
    ssub.required = True
    for name, func in (("run-due", cmd_schedule_run_due), ("show", cmd_schedule_show)):
        sp = ssub.add_parser(name, help=t(f"cli.help.schedule_{name.replace('-', '_')}", LANG))
        sp.add_argument("--file", default=None, help=t("cli.help.schedule_file", LANG))
        out_opt(sp), lang_opt(sp)
        if name == "show":
            json_opt(sp)
        else:
            sp.add_argument("--wait", default="0", metavar="SECONDS",
                            help=t("cli.help.schedule_wait", LANG))
        sp.set_defaults(func=func)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sfdoctor` command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), already printed
        return int(exc.code or 0)
    lang = getattr(args, "lang", None) or LANG
    try:
        return int(args.func(args))
    except SfdoctorError as exc:
        from .scrub import scrub_text

        _err(f"sfdoctor: {scrub_text(exc.one_line(lang))}")
        return 3 if exc.exit_code == 3 else 2
    except KeyboardInterrupt:
        _err(t("cli.interrupted", lang))
        return 130
    except Exception as exc:  # a bug: still one line for the person, never a traceback
        from .scrub import scrub_text

        text = scrub_text(" ".join(str(exc).split()))[:300]
        _err(t("cli.unexpected", lang, kind=type(exc).__name__, text=text))
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
