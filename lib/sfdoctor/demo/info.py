"""The simulator's info document (`GET /__sfdoctor/info`): one typed contract for both sides.

The simulator writes it (`server.Simulator.info()` builds a `DemoInfo` and sends
`to_json()`); sfdoctor reads it in one place (`clients.demo_info`, which calls
`DemoInfo.from_json`). It carries what a demo client needs to connect (hosts, the demo OAuth
app, Marketo's and Marketing Cloud's public identifiers and package credentials) and the
world's facts that no API exposes but a real operator would know (passwords, the Marketing
Cloud allowlist and password policy, Marketo's sync page, Data Cloud's addresses). What a
runbook's operator *answers* is the runbook's business, computed from these facts
(sfdoctor.demo_operator and each runbook module's `@RUNBOOK.demo_operator`).

Demo-world secrets travel here on purpose: the simulator binds 127.0.0.1 only.

Plain frozen dataclasses rather than pydantic: every runbook kernel reads this document, and
kernels keep pydantic out of their imports (~0.15 s, see runbooks.py); `from_json` checks
types as it converts and names the offending key.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = [
    "PATH", "InfoFormatError", "OAuthApp", "SalesforceUser", "ConnectedAppState", "MarketoSync",
    "MarketoInfo", "IpRange", "IpAllowlist", "PasswordPolicy", "MarketingCloudUser",
    "MarketingCloudInfo", "DataCloudInfo", "DemoInfo",
]

PATH = "/__sfdoctor/info"


class InfoFormatError(ValueError):
    """The document does not follow this contract (a key missing or of the wrong type)."""


@dataclass(frozen=True)
class OAuthApp:
    """The demo org's connected app that sfdoctor signs in with (client credentials)."""

    client_id: str
    client_secret: str


@dataclass(frozen=True)
class SalesforceUser:
    """A Salesforce user as the operator knows them (a real run reads these from its vault)."""

    username: str
    password: str
    security_token: str
    admin: bool = False


@dataclass(frozen=True)
class ConnectedAppState:
    """A row of Setup > Connected Apps OAuth Usage (no API shows `blocked`), and for an app the
    scenario declares (not one known only from its OAuth tokens) what App Manager shows the
    admin: whether it is installed, its consumer key and secret."""

    name: str
    blocked: bool
    installed: bool = True
    consumer_key: str = ""
    consumer_secret: str = ""


@dataclass(frozen=True)
class MarketoSync:
    """What Marketo's Admin > Salesforce page shows (no API exposes it)."""

    status: str
    last_synced_at: str | None
    sandbox: bool


@dataclass(frozen=True)
class MarketoInfo:
    """The Marketo instance: its Munchkin id, host and the LaunchPoint service's credentials."""

    munchkin_id: str
    host: str                # {munchkin_id}.mktorest.com: /identity and /rest both live there
    client_id: str
    client_secret: str
    sync: MarketoSync


@dataclass(frozen=True)
class IpRange:
    start: str
    end: str
    description: str = ""


@dataclass(frozen=True)
class IpAllowlist:
    """Marketing Cloud's Login IP Allowlist (Setup > Security; no API exposes it)."""

    enabled: bool
    ranges: tuple[IpRange, ...] = ()


@dataclass(frozen=True)
class PasswordPolicy:
    """Marketing Cloud's password policy (Setup > Security Settings; no API exposes it)."""

    expire_days: int | None
    exclude_api_users: bool


@dataclass(frozen=True)
class MarketingCloudUser:
    username: str
    password: str


@dataclass(frozen=True)
class MarketingCloudInfo:
    """The Marketing Cloud account: tenant subdomain, MID, hosts, installed package, users."""

    subdomain: str
    account_id: int          # the MID, which Marketing Cloud clients send as `account_id`
    auth_host: str
    soap_host: str
    rest_host: str
    client_id: str
    client_secret: str
    users: tuple[MarketingCloudUser, ...]
    ip_allowlist: IpAllowlist
    password_policy: PasswordPolicy


@dataclass(frozen=True)
class DataCloudInfo:
    """Data Cloud's side of its Marketing Cloud connection (Setup pages, no API)."""

    egress_ips: tuple[str, ...]
    marketing_cloud_username: str


@dataclass(frozen=True)
class DemoInfo:
    """The whole document. Salesforce facts sit at the top level, other services in sections."""

    scenario: str
    runbook: str | None
    description: str
    url: str | None
    my_domain_host: str
    login_host: str
    sandbox: bool
    sandbox_name: str | None
    client_ip: str
    org_id: str
    oauth: OAuthApp
    salesforce_users: tuple[SalesforceUser, ...]
    connected_apps: tuple[ConnectedAppState, ...]
    marketo: MarketoInfo | None
    marketing_cloud: MarketingCloudInfo | None
    data_cloud: DataCloudInfo | None
    # The scenario's `operator:` block as written (spec/scenario-format.md "The demo operator").
    operator_overrides: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return dataclasses.asdict(self, dict_factory=lambda items: {k: _plain(v) for k, v in items})

    @classmethod
    def from_json(cls, data: Any) -> "DemoInfo":
        """Build from the decoded document; InfoFormatError names the first key that is wrong."""
        return _convert(cls, data, "info")

    def salesforce_user(self, username: str) -> SalesforceUser | None:
        """The Salesforce user of that name (case-insensitive, as Salesforce compares them)."""
        wanted = username.lower()
        return next((u for u in self.salesforce_users if u.username.lower() == wanted), None)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _convert(hint: Any, value: Any, where: str) -> Any:
    """`value` as the type `hint` says (dataclasses, tuples, optionals, scalars), or raise
    naming where and what kind of value was found (never the value itself)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [o for o in typing.get_args(hint) if o is not type(None)]
        if value is None and len(options) < len(typing.get_args(hint)):
            return None
        if len(options) != 1:
            raise InfoFormatError(f"{where}: no rule for {_name(hint)}")  # a contract bug, not bad data
        return _convert(options[0], value, where)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise InfoFormatError(f"{where}: expected an object, got {_kind(value)}")
        hints = typing.get_type_hints(hint)
        kwargs = {}
        for f in dataclasses.fields(hint):
            if f.name in value:
                kwargs[f.name] = _convert(hints[f.name], value[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise InfoFormatError(f"{where}.{f.name}: missing")
        return hint(**kwargs)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise InfoFormatError(f"{where}: expected a list, got {_kind(value)}")
        item = typing.get_args(hint)[0]
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (collections.abc.Mapping, dict) or hint is Any:
        if hint is not Any and not isinstance(value, Mapping):
            raise InfoFormatError(f"{where}: expected an object, got {_kind(value)}")
        return dict(value) if isinstance(value, Mapping) else value
    if hint is bool:
        if not isinstance(value, bool):
            raise InfoFormatError(f"{where}: expected true or false, got {_kind(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InfoFormatError(f"{where}: expected an integer, got {_kind(value)}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise InfoFormatError(f"{where}: expected a string, got {_kind(value)}")
        return value
    raise InfoFormatError(f"{where}: no rule for {_name(hint)}")  # a contract bug, not bad data


def _kind(value: Any) -> str:
    """The JSON kind of a value, never the value: the document holds demo secrets."""
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint)
