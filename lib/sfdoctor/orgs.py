"""Which org a run talks to, and where its (never inline) credentials come from.

`--org` takes `demo`, `demo:NAME`, `demo:PATH.yml` or the name of an org defined in the
orgs file (`$SFDOCTOR_ORGS`, else `~/.config/sfdoctor/orgs.toml`; spec/cli.md "Orgs").
Resolving is pure configuration work: nothing here touches the network, so a bad `--org`
fails fast with one line (exit 2) before any notebook or report folder exists.

The orgs file holds *references* to secrets (`*_env` variable names, `*_keyring`
`service:account` entries), never their values: a key named like a secret that holds a
literal is refused, because that file is easy to paste into a ticket (principle 4).
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from sfdoctor.errors import OrgConfigError
from sfdoctor.i18n import Text
from sfdoctor.scrub import is_secret_name

DEMO = "demo"
AUTH_KINDS = ("client_credentials", "jwt", "sf_cli", "sfdx_url")
LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")

# A key whose name says "secret" (scrub.is_secret_name) must be a reference (`_env` /
# `_keyring`), never a value.
_REF_SUFFIXES = ("_env", "_keyring")


@dataclass(frozen=True)
class OrgRef:
    """A resolved `--org`: what the rest of sfdoctor needs to connect and to name reports.

    `name` is the org as the operator wrote it (it goes into findings.json's `org`);
    `slug` is its filesystem-safe form for report folders (`demo-token-missing`);
    `scenario_ref` is the built-in scenario name or absolute `.yml` path (demo only);
    `config` is the org's table from the orgs file (real orgs only; references, no secrets).
    """

    name: str
    kind: str                      # "demo" | "real"
    slug: str
    scenario_ref: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None      # the orgs file a real org came from (for error messages)

    @property
    def is_demo(self) -> bool:
        return self.kind == DEMO


def slugify(text: str) -> str:
    """Filesystem-safe, lower-case, dash-separated; never empty."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return slug or "org"


def orgs_file() -> Path:
    """Where the orgs file is: `$SFDOCTOR_ORGS`, else `~/.config/sfdoctor/orgs.toml`."""
    env = os.environ.get("SFDOCTOR_ORGS")
    return Path(env).expanduser() if env else Path("~/.config/sfdoctor/orgs.toml").expanduser()


def builtin_scenario_dir() -> Path:
    """The package's built-in scenarios (`demo/scenarios/NAME.yml`)."""
    return Path(__file__).resolve().parent / "demo" / "scenarios"


def _default_scenario_of(runbook: Any) -> str | None:
    """Accept a runbook spec (anything with `.default_scenario`), a mapping, or a plain name."""
    if runbook is None:
        return None
    if isinstance(runbook, str):
        return runbook or None
    if isinstance(runbook, Mapping):
        return runbook.get("default_scenario") or None
    return getattr(runbook, "default_scenario", None) or None


def _demo_ref(org: str, scenario: str | None) -> OrgRef:
    """Build the OrgRef of a demo org, checking that the scenario it names exists."""
    if scenario is None:
        return OrgRef(name=org, kind=DEMO, slug=DEMO, scenario_ref=None)
    looks_like_path = scenario.endswith((".yml", ".yaml")) or "/" in scenario or os.sep in scenario
    if looks_like_path:
        path = Path(scenario).expanduser()
        if not path.is_file():
            raise OrgConfigError(Text("orgs.config.scenario_file_missing", scenario=scenario),
                                 hint=Text("orgs.config.scenario_file_missing_hint"))
        return OrgRef(name=org, kind=DEMO, slug=slugify(f"demo-{path.stem}"),
                      scenario_ref=str(path.resolve()))
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", scenario):
        raise OrgConfigError(Text("orgs.config.bad_scenario_name", scenario=scenario),
                             hint=Text("orgs.config.bad_scenario_name_hint"))
    builtin = builtin_scenario_dir()
    if builtin.is_dir() and not (builtin / f"{scenario}.yml").is_file():
        known = sorted(p.stem for p in builtin.glob("*.yml"))
        raise OrgConfigError(
            Text("orgs.config.unknown_scenario", scenario=scenario),
            hint=Text("orgs.config.builtin_scenarios", names=", ".join(known)) if known
            else Text("orgs.config.no_builtin_scenarios"),
        )
    return OrgRef(name=org, kind=DEMO, slug=slugify(f"demo-{scenario}"), scenario_ref=scenario)


def resolve(org: str, default_scenario: str | None = None, *, runbook: Any = None) -> OrgRef:
    """Turn an `--org` value into an OrgRef, or raise a one-line OrgConfigError.

    `default_scenario` (or `runbook=`, a spec with `.default_scenario` or the name itself) is
    what plain `demo` means: the runbook's own demo world.
    """
    org = (org or "").strip()
    if not org:
        raise OrgConfigError(Text("orgs.config.no_org"), hint=Text("orgs.config.no_org_hint"))
    if org == DEMO:
        return _demo_ref(org, default_scenario or _default_scenario_of(runbook))
    if org.startswith(DEMO + ":"):
        scenario = org[len(DEMO) + 1:].strip()
        if not scenario:
            raise OrgConfigError(Text("orgs.config.demo_needs_scenario"),
                                 hint=Text("orgs.config.demo_needs_scenario_hint"))
        return _demo_ref(org, scenario)
    orgs, path = _load_orgs_file()
    if org not in orgs:
        raise OrgConfigError(Text("orgs.config.unknown_org", org=org),
                             hint=Text("orgs.config.unknown_org_hint", path=_display_path(path)))
    return _ref_from_file(org, orgs[org], path)


def _ref_from_file(name: str, config: Mapping[str, Any], path: Path) -> OrgRef:
    """An orgs-file entry: a real org, or (`demo = "world.yml"` or a built-in name) a demo world
    that stands in for one, named like a real org (fleets of demo orgs: `sfdoctor demo fleet`)."""
    if "demo" in config:
        world = config["demo"]
        if not isinstance(world, str) or not world.strip():
            raise OrgConfigError(Text("orgs.config.demo_entry", path=_display_path(path), name=name))
        world = world.strip()
        if world.endswith((".yml", ".yaml")) and not Path(world).expanduser().is_absolute():
            world = str(path.parent / world)
        ref = _demo_ref(name, world)
        return OrgRef(name=name, kind=DEMO, slug=slugify(name), scenario_ref=ref.scenario_ref,
                      config=config, source=str(path))
    _validate_org(name, config, path)
    return OrgRef(name=name, kind="real", slug=slugify(name), config=config, source=str(path))


def list_orgs() -> list[OrgRef]:
    """The orgs the orgs file defines (validated), in file order; `[]` when there is no file.

    Demo orgs are not listed here: `sfdoctor demo list` lists the built-in scenarios.
    """
    orgs, path = _load_orgs_file()
    return [_ref_from_file(name, config, path) for name, config in orgs.items()]


def _display_path(path: Path) -> str:
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if text.startswith(home + os.sep) else text


# The orgs a fleet task carries (see `given_entries`), in place of this machine's orgs file.
_GIVEN: contextvars.ContextVar[tuple[dict[str, dict[str, Any]], Path] | None] = \
    contextvars.ContextVar("sfdoctor_given_orgs", default=None)


@contextlib.contextmanager
def given_entries(entries: Mapping[str, Mapping[str, Any]], source: str | os.PathLike[str]) -> Iterator[None]:
    """Resolve org names from `entries` (orgs-file tables, references only) instead of the
    orgs file, in this thread: a fleet worker gets each org's entry with its task and may
    have no orgs file of its own. `source` names where they came from in messages."""
    _reject_literal_secrets(entries, Path(source), "orgs")
    token = _GIVEN.set(({k: dict(v) for k, v in entries.items()}, Path(source)))
    try:
        yield
    finally:
        _GIVEN.reset(token)


def _load_orgs_file() -> tuple[dict[str, dict[str, Any]], Path]:
    """Parse the orgs file; a missing file is an empty one (only demo orgs exist then)."""
    given = _GIVEN.get()
    if given is not None:
        return given
    path = orgs_file()
    if not path.is_file():
        return {}, path
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise OrgConfigError(Text("orgs.config.not_toml", path=_display_path(path), problem=str(exc)),
                             hint=Text("orgs.config.not_toml_hint")) from None
    except OSError as exc:
        raise OrgConfigError(Text("orgs.config.unreadable", path=_display_path(path), reason=exc.strerror)) from None
    orgs = data.get("orgs", {})
    if not isinstance(orgs, dict) or any(not isinstance(v, dict) for v in orgs.values()):
        raise OrgConfigError(Text("orgs.config.orgs_not_tables", path=_display_path(path)))
    _reject_literal_secrets(orgs, path, "orgs")
    return orgs, path


def _reject_literal_secrets(table: Mapping[str, Any], path: Path, prefix: str) -> None:
    """Refuse `password = "..."` & co anywhere in the file: only `_env`/`_keyring` references."""
    for key, value in table.items():
        where = f"{prefix}.{key}"
        if isinstance(value, dict):
            _reject_literal_secrets(value, path, where)
            continue
        if key.endswith(_REF_SUFFIXES):
            if key.endswith("_keyring") and (not isinstance(value, str) or ":" not in value.strip(":")):
                raise OrgConfigError(Text("orgs.config.keyring_ref_form", path=_display_path(path), where=where),
                                     hint=Text("orgs.config.keyring_ref_form_hint"))
            if key.endswith("_env") and (not isinstance(value, str) or not value):
                raise OrgConfigError(Text("orgs.config.env_ref_empty", path=_display_path(path), where=where))
            continue
        if (is_secret_name(key) or key == "auth_url") and value not in ("", None, False):
            raise OrgConfigError(Text("orgs.config.literal_secret", path=_display_path(path), where=where),
                                 hint=Text("orgs.config.literal_secret_hint", key=key))


# Keys that configure sfdoctor's own Salesforce sign-in; an entry with none of them (only a
# `[marketing_cloud]` or `[marketo]` section) has no Salesforce org (spec/cli.md "The orgs file").
_SALESFORCE_KEYS = ("auth", "my_domain", "login_host", "alias", "username", "private_key_file",
                    "client_id", "client_id_env", "client_id_keyring", "client_secret_env", "client_secret_keyring",
                    "auth_url_env", "auth_url_keyring")


def has_salesforce(config: Mapping[str, Any]) -> bool:
    """Whether an orgs-file entry configures a Salesforce sign-in for sfdoctor."""
    return any(key in config for key in _SALESFORCE_KEYS)


def _validate_org(name: str, config: Mapping[str, Any], path: Path) -> None:
    """Check what connect() will need, so a bad entry fails before a run starts."""
    where = f"{_display_path(path)}: orgs.{name}"
    if not has_salesforce(config):
        if not any(isinstance(config.get(s), dict) for s in ("marketing_cloud", "marketo")):
            raise OrgConfigError(Text("orgs.config.no_sign_in", where=where), hint=Text("orgs.config.no_sign_in_hint"))
        _validate_sections(name, config, where)
        return
    auth = config.get("auth", "client_credentials")
    if auth not in AUTH_KINDS:
        raise OrgConfigError(Text("orgs.config.auth_unsupported", where=where, auth=auth),
                             hint=Text("orgs.config.auth_unsupported_hint"))
    login_host = config.get("login_host")
    if login_host is not None and (not isinstance(login_host, str) or "/" in login_host):
        raise OrgConfigError(Text("orgs.config.login_host_form", where=where), hint=Text("orgs.config.login_host_form_hint"))
    my_domain = config.get("my_domain")
    if my_domain is not None and (not isinstance(my_domain, str) or "/" in my_domain
                                  or not my_domain.endswith(".salesforce.com")):
        raise OrgConfigError(Text("orgs.config.my_domain_form", where=where), hint=Text("orgs.config.my_domain_form_hint"))
    if "sandbox" in config and not isinstance(config["sandbox"], bool):
        raise OrgConfigError(Text("orgs.config.sandbox_form", where=where))

    def need(key: str, why: Text) -> None:
        if not config.get(key):
            raise OrgConfigError(Text("orgs.config.required_for_auth", where=where, key=key, auth=auth),
                                 hint=why)

    def need_ref(base: str, why: Text) -> None:
        if not any(config.get(base + suffix) for suffix in ("", "_env", "_keyring")):
            raise OrgConfigError(Text("orgs.config.ref_required_for_auth", where=where, base=base, auth=auth),
                                 hint=why)

    if auth == "client_credentials":
        need("my_domain", Text("orgs.config.why.my_domain"))
        need_ref("client_id", Text("orgs.config.why.client_id"))
        if not (config.get("client_secret_env") or config.get("client_secret_keyring")):
            raise OrgConfigError(Text("orgs.config.client_secret_required", where=where),
                                 hint=Text("orgs.config.client_secret_required_hint"))
    elif auth == "jwt":
        need("username", Text("orgs.config.why.jwt_username"))
        need("private_key_file", Text("orgs.config.why.private_key_file"))
        need_ref("client_id", Text("orgs.config.why.client_id"))
    elif auth == "sf_cli":
        need("alias", Text("orgs.config.why.alias"))
    elif auth == "sfdx_url":
        if not (config.get("auth_url_env") or config.get("auth_url_keyring")):
            raise OrgConfigError(Text("orgs.config.ref_required_for_auth", where=where, base="auth_url", auth=auth),
                                 hint=Text("orgs.config.why.auth_url"))
    _validate_sections(name, config, where)


def _validate_sections(name: str, config: Mapping[str, Any], where: str) -> None:
    for section in ("probe", "marketo", "marketing_cloud", "oauth_app"):
        if section in config and not isinstance(config[section], dict):
            raise OrgConfigError(Text("orgs.config.section_not_table", where=where, section=section, name=name))
    probe = config.get("probe")
    if isinstance(probe, dict) and probe and not probe.get("username"):
        raise OrgConfigError(Text("orgs.config.probe_username_required", where=where),
                             hint=Text("orgs.config.probe_username_required_hint"))


def login_host_of(ref: OrgRef) -> str:
    """The generic login host of a real org: its `login_host`, else test./login. by `sandbox`."""
    host = ref.config.get("login_host")
    if host:
        return host
    return LOGIN_HOSTS[1] if ref.config.get("sandbox") else LOGIN_HOSTS[0]


_ORG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_org_name(name: str) -> None:
    """A name `--org` can take for an orgs-file entry (not `demo`, no `demo:` prefix)."""
    if not _ORG_NAME.match(name) or name == DEMO or name.startswith(DEMO + ":"):
        raise OrgConfigError(Text("orgs.config.bad_org_name", name=name), hint=Text("orgs.config.bad_org_name_hint"))


def add_org(name: str, entry: Mapping[str, Any], *, replace: bool = False) -> Path:
    """Write `[orgs.NAME]` into the orgs file (created when missing), keeping every other line,
    comment and entry as it was (tomlkit). `entry` holds references only: a secret-named key
    with a literal value is refused, as when the file is read. Returns the file's path."""
    import tomlkit

    check_org_name(name)
    path = orgs_file()
    _reject_literal_secrets({name: dict(entry)}, path, "orgs")
    _validate_org(name, entry, path)
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.is_file() else tomlkit.document()
    except Exception as exc:  # noqa: BLE001 - tomlkit's parse errors have no common base
        raise OrgConfigError(Text("orgs.config.not_toml", path=_display_path(path), problem=str(exc)),
                             hint=Text("orgs.config.not_toml_fix_first")) from None
    orgs = doc.get("orgs")
    if orgs is None:
        orgs = tomlkit.table(is_super_table=True)
        doc["orgs"] = orgs
    if name in orgs and not replace:
        raise OrgConfigError(Text("orgs.config.org_exists", name=name, path=_display_path(path)),
                             hint=Text("orgs.config.org_exists_hint"))
    table = tomlkit.table()
    nested = {k: v for k, v in entry.items() if isinstance(v, Mapping)}
    for key, value in entry.items():
        if not isinstance(value, Mapping):
            table[key] = value
    for key, value in nested.items():
        sub = tomlkit.table()
        for k, v in value.items():
            sub[k] = v
        table[key] = sub
    orgs[name] = table
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)
    return path
