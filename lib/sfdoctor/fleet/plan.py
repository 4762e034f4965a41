"""What a fleet run will do: the orgs file read, `--select` and `--runbooks` applied, one task
per org. Every bad input is found here, before anything runs (exit 2, one line)."""
from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import BadInput
from ..i18n import Text, t


@dataclass
class Plan:
    """The tasks of a fleet run (one per org, in file order) and where they came from."""

    orgs_file: Path
    tasks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """Every (org, runbook) the run covers, in order."""
        return [(task["org"], r["runbook"]) for task in self.tasks for r in task["runbooks"]]


def _known_runbooks() -> list[str]:
    from ..runbooks import all_specs

    return [s.id for s in all_specs()]


def _read(path: Path, lang: str) -> dict[str, dict[str, Any]]:
    from ..orgs import _reject_literal_secrets

    if not path.is_file():
        raise BadInput(t("fleet.bad.orgs_missing", lang, path=path), hint=t("fleet.bad.orgs_missing_hint", lang))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(Text("orgs.config.not_toml", path=str(path), problem=str(exc)),
                       hint=Text("orgs.config.not_toml_hint")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(Text("orgs.config.unreadable", path=str(path), reason=str(exc))) from None
    orgs = data.get("orgs")
    if not isinstance(orgs, dict) or any(not isinstance(v, dict) for v in orgs.values()):
        raise BadInput(Text("orgs.config.orgs_not_tables", path=str(path)))
    if not orgs:
        raise BadInput(t("fleet.bad.orgs_empty", lang, path=path), hint=t("fleet.bad.orgs_empty_hint", lang))
    _reject_literal_secrets(orgs, path, "orgs")
    return orgs


def _world_text(ref: str, base: Path) -> tuple[str | None, str | None]:
    """A demo entry's world: the file's text (it travels with the task), or a built-in name."""
    if ref.endswith((".yml", ".yaml")) or "/" in ref:
        path = Path(ref).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            return path.read_text(encoding="utf-8"), None
        except OSError as exc:
            return None, f"demo world {ref}: {exc.strerror or exc}"
    return None, None


def build(orgs_file: Path, selects: Sequence[str], runbooks: Sequence[str] | None, lang: str,
          runbook_timeout: float = 120) -> Plan:
    """Read the orgs file and make one task per selected org; BadInput for bad input."""
    orgs_file = Path(orgs_file).expanduser().resolve()
    entries = _read(orgs_file, lang)
    known = _known_runbooks()
    wanted = list(runbooks or [])
    for rid in wanted:
        if rid not in known:
            raise BadInput(t("fleet.bad.runbook", lang, runbook=rid), hint=t("fleet.bad.runbook_hint", lang, names=", ".join(known)))
    names = list(entries)
    if selects:
        names = [n for n in names if any(fnmatch.fnmatchcase(n, g) for g in selects)]
        if not names:
            shown = ", ".join(list(entries)[:10]) + (", ..." if len(entries) > 10 else "")
            raise BadInput(t("fleet.bad.select", lang, globs=" ".join(selects), path=orgs_file),
                           hint=t("fleet.bad.select_hint", lang, names=shown))
    plan = Plan(orgs_file=orgs_file)
    for name in names:
        entry = dict(entries[name])
        listed = entry.get("runbooks")
        if listed is not None and (not isinstance(listed, list) or any(not isinstance(r, str) for r in listed)):
            raise BadInput(Text("orgs.config.runbooks_not_list", path=str(orgs_file), name=name))
        for rid in listed or []:
            if rid not in known:
                raise BadInput(Text("orgs.config.in_org", path=str(orgs_file), name=name,
                                    problem=Text("fleet.bad.runbook", runbook=rid)),
                               hint=Text("fleet.bad.runbook_hint", names=", ".join(known)))
        chosen = [r for r in (listed or known) if not wanted or r in wanted]
        if not chosen:
            continue
        params = entry.get("params") or {}
        if not isinstance(params, dict):
            raise BadInput(Text("orgs.config.params_not_tables", path=str(orgs_file), name=name))
        from ..params import orgs_file_params
        from ..runbooks import load

        # Every org's parameters read now, as `run` reads them: a bad one stops the fleet before it starts.
        given = {r: orgs_file_params(load(r), entry, name, str(orgs_file), lang) for r in chosen if r in params}
        world = None
        problem = None
        if isinstance(entry.get("demo"), str):
            world, problem = _world_text(entry["demo"], orgs_file.parent)
            if world is not None:
                entry.pop("demo")
        task = {
            "org": name,
            "entry": entry,
            "world": world,
            "source": str(orgs_file),
            "runbooks": [{"runbook": r, "params": given.get(r, {})} for r in chosen],
            "lang": lang,
            "runbook_timeout": runbook_timeout,
        }
        if problem:
            task["problem"] = problem
        plan.tasks.append(task)
    if not plan.tasks:
        raise BadInput(t("fleet.bad.select", lang, globs=" ".join(selects) or "*", path=orgs_file),
                       hint=t("fleet.bad.select_hint", lang, names=", ".join(names[:10])))
    return plan
