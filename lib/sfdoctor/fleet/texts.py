"""What a fleet run says to people, in English and Japanese."""
from __future__ import annotations

from typing import Any

from ..i18n import pick

TEXTS: dict[str, dict[str, str]] = {
    # bad input (exit 2, one line)
    "bad.orgs_missing": {"en": "orgs file not found: {path}", "ja": "orgs ファイルがありません: {path}"},
    "bad.orgs_missing_hint": {"en": "give --orgs FILE, set $SFDOCTOR_ORGS, or write one with `sfdoctor demo fleet --orgs 12 --out DIR`",
                              "ja": "--orgs FILE を指定するか $SFDOCTOR_ORGS を設定するか、`sfdoctor demo fleet --orgs 12 --out DIR` で作成してください"},
    "bad.orgs_empty": {"en": "{path} defines no orgs", "ja": "{path} に組織が定義されていません"},
    "bad.orgs_empty_hint": {"en": "add [orgs.NAME] tables (spec: \"The orgs file\")", "ja": "[orgs.NAME] のテーブルを追加してください (仕様「The orgs file」)"},
    "bad.select": {"en": "--select {globs} matches no org in {path}", "ja": "--select {globs} に一致する組織が {path} にありません"},
    "bad.select_hint": {"en": "orgs there: {names}", "ja": "定義されている組織: {names}"},
    "bad.runbook": {"en": "unknown runbook '{runbook}'", "ja": "不明なランブック '{runbook}'"},
    "bad.runbook_hint": {"en": "runbooks: {names}", "ja": "ランブック: {names}"},
    "bad.scheduler": {"en": "cannot reach the Dask scheduler at {address}: {reason}", "ja": "Dask スケジューラー {address} に接続できません: {reason}"},
    "bad.scheduler_hint": {"en": "start it with `dask scheduler` or drop --scheduler to start a LocalCluster",
                           "ja": "`dask scheduler` で起動するか、--scheduler を外して LocalCluster を使ってください"},
    "bad.scheduler_local": {"en": "--scheduler needs --executor dask", "ja": "--scheduler には --executor dask が必要です"},
    "bad.dask_missing": {"en": "the dask executor needs Dask distributed", "ja": "dask 実行には Dask distributed が必要です"},
    "bad.dask_missing_hint": {"en": "pip install 'sfdoctor[dask]'", "ja": "pip install 'sfdoctor[dask]' を実行してください"},
    "bad.workers": {"en": "--workers must be at least 1", "ja": "--workers は 1 以上にしてください"},
    "bad.resume": {"en": "--resume: no unfinished fleet run under {path}", "ja": "--resume: {path} に未完了のフリート実行がありません"},
    "bad.resume_hint": {"en": "run without --resume to start a new one", "ja": "--resume を付けずに新しく実行してください"},
    "bad.notify": {"en": "--notify {url}: not an Apprise URL", "ja": "--notify {url}: Apprise の URL ではありません"},
    "bad.notify_hint": {"en": "e.g. json://host:port/path, mailto://user@host, slack://... (Apprise URL syntax)",
                        "ja": "例: json://host:port/path, mailto://user@host, slack://... (Apprise の URL 形式)"},
    # per org-runbook reasons
    "skip.budget": {"en": "daily API usage at {percent} % of {max} (over 90 %): not run, to leave the org its API calls",
                    "ja": "1 日の API 使用量が上限 {max} の {percent} % (90 % 超) のため実行しません (組織の API 呼び出しを残すため)"},
    "skip.budget_marketo": {"en": "Marketo's daily API usage at {percent} % of {max} (over 90 %): not run",
                            "ja": "Marketo の 1 日の API 使用量が上限 {max} の {percent} % (90 % 超) のため実行しません"},
    "warn.budget": {"en": "daily API usage at {percent} % of {max} (over 70 %)", "ja": "1 日の API 使用量が上限 {max} の {percent} % (70 % 超)"},
    "warn.budget_marketo": {"en": "Marketo's daily API usage at {percent} % of {max} (over 70 %)",
                            "ja": "Marketo の 1 日の API 使用量が上限 {max} の {percent} % (70 % 超)"},
    "skip.prereq": {"en": "the org's entry has no [{section}] section, which {runbook} needs",
                    "ja": "組織の設定に {runbook} が必要とする [{section}] セクションがありません"},
    "error.config": {"en": "the org's configuration: {reason}", "ja": "組織の設定の問題: {reason}"},
    "error.param": {"en": "parameter for {runbook}: {reason}", "ja": "{runbook} のパラメーター: {reason}"},
    "lost.timeout": {"en": "no result within {seconds} s: stopped", "ja": "{seconds} 秒以内に結果がなかったため停止しました"},
    "lost.worker": {"en": "its worker was lost twice: {reason}", "ja": "ワーカーが 2 回失われました: {reason}"},
    "lost.crash": {"en": "the worker failed: {reason}", "ja": "ワーカーで失敗しました: {reason}"},
    # progress and summary (stderr)
    "progress.start": {"en": "fleet: {orgs} orgs, {tasks} org-runbooks, executor {executor} ({workers} workers)",
                       "ja": "フリート: 組織 {orgs} 件、組織×ランブック {tasks} 件、実行方式 {executor} (ワーカー {workers})"},
    "progress.resume": {"en": "resuming {folder}: {done} org-runbooks already done",
                        "ja": "{folder} を再開します: 組織×ランブック {done} 件は完了済み"},
    "progress.desc": {"en": "org-runbooks", "ja": "組織×ランブック"},
    "progress.failed": {"en": "failed", "ja": "失敗"},
    "progress.retry": {"en": "a worker was lost; {n} orgs go again", "ja": "ワーカーが失われたため組織 {n} 件を再実行します"},
    "summary": {"en": "fleet done: {n} org-runbooks in {seconds:.1f} s ({rate:.0f}/min): {counts}",
                "ja": "フリート完了: 組織×ランブック {n} 件、{seconds:.1f} 秒 (毎分 {rate:.0f} 件): {counts}"},
    "summary.page": {"en": "fleet page: {path}", "ja": "フリートのページ: {path}"},
    "summary.json": {"en": "fleet.json: {path}", "ja": "fleet.json: {path}"},
    "notify.sent": {"en": "notification sent to {n} target(s)", "ja": "{n} 件の宛先に通知しました"},
    "notify.none": {"en": "nothing changed since the previous fleet run: no notification", "ja": "前回のフリート実行から変化がないため通知しません"},
    "notify.failed": {"en": "the notification could not be sent ({targets}); the run itself is done",
                      "ja": "通知を送信できませんでした ({targets})。実行自体は完了しています"},
    # outcomes
    "outcome.healthy": {"en": "healthy", "ja": "正常"},
    "outcome.problems_found": {"en": "problems found", "ja": "問題あり"},
    "outcome.inconclusive": {"en": "inconclusive", "ja": "判定不能"},
    "outcome.error": {"en": "error", "ja": "エラー"},
    "outcome.skipped": {"en": "skipped", "ja": "スキップ"},
}


def t(key: str, lang: str, **values: Any) -> str:
    """One fleet text in `lang`, formatted."""
    return pick(TEXTS[key], lang).format(**values)
