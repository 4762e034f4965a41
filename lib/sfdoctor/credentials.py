"""Where secrets come from, and how sfdoctor holds them without leaking them.

A runbook's probe (the integration user's login under diagnosis) needs a password and a
token. They never travel as papermill parameters (papermill writes parameters into the
output notebook, principle 4): for the demo they are the operator's answers from the
simulator's info endpoint, for a real org they are read from the environment variables or
keyring entries the orgs file *names*.

`fingerprint()` lets a scheduled run remember "this exact probe already failed" without
storing the secret (principle 7: repeating a failing probe locks the user out).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets as _secrets
from dataclasses import dataclass
from typing import Any, Mapping

from sfdoctor.errors import OrgConfigError
from sfdoctor.i18n import Text



@dataclass(frozen=True, repr=False, eq=False)
class ProbeCredentials:
    """A probe's password and token. Its repr never shows them (it ends up in tracebacks)."""

    password: str
    token: str = ""

    @property
    def password_and_token(self) -> str:
        """What SOAP login and the OAuth password flow take: the token appended to the password."""
        return self.password + self.token

    def secrets(self) -> set[str]:
        """The values to scrub from every artifact."""
        values = {self.password, self.token, self.password_and_token}
        return {v for v in values if v}

    def __repr__(self) -> str:
        token = "<hidden>" if self.token else "<none>"
        return f"ProbeCredentials(password=<hidden>, token={token})"

    __str__ = __repr__


def read_ref(config: Mapping[str, Any], base: str, *, where: str, required: bool = True) -> str | None:
    """Read the secret `config` refers to as `{base}_env` or `{base}_keyring`.

    A literal `{base}` is returned only for non-secret values (a consumer key, a Munchkin id);
    orgs.py already refuses literal secrets. Missing → one line naming what to set.
    """
    env_name = config.get(f"{base}_env")
    if env_name:
        value = os.environ.get(env_name)
        if value:
            return value
        if required:
            raise OrgConfigError(Text("orgs.secret.env_unset", env=env_name, where=f"{where}.{base}_env"),
                                 hint=Text("orgs.secret.env_unset_hint", env=env_name))
        return None
    keyring_ref = config.get(f"{base}_keyring")
    if keyring_ref:
        value = _keyring_get(keyring_ref, where=f"{where}.{base}_keyring")
        if value:
            return value
        if required:
            service, _, account = keyring_ref.partition(":")
            raise OrgConfigError(Text("orgs.secret.keyring_missing", ref=keyring_ref, where=f"{where}.{base}_keyring"),
                                 hint=Text("orgs.secret.keyring_missing_hint", service=service, account=account))
        return None
    literal = config.get(base)
    if literal:
        return str(literal)
    if required:
        raise OrgConfigError(Text("orgs.secret.no_ref", where=where, base=base),
                             hint=Text("orgs.secret.no_ref_hint", base=base))
    return None


def _keyring_get(ref: str, *, where: str) -> str | None:
    """`service:account` → the keyring's password; a broken keyring backend is a config error."""
    service, _, account = ref.partition(":")
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        raise OrgConfigError(Text("orgs.secret.keyring_not_installed", where=where),
                             hint=Text("orgs.secret.keyring_not_installed_hint")) from None
    try:
        return keyring.get_password(service, account)
    except KeyringError as exc:
        raise OrgConfigError(Text("orgs.secret.keyring_unavailable", where=where, error=type(exc).__name__),
                             hint=Text("orgs.secret.keyring_unavailable_hint")) from None


def probe_credentials(conn: Any, username: str) -> ProbeCredentials:
    """The password and token to probe `username`'s login with.

    Demo: the operator's answers from the simulator's info endpoint (`probe_password` /
    `probe_token` when the scenario plays a mistaken operator, else the user's real ones).
    Real org: the orgs file's `[orgs.NAME.probe]` references. Never logged.
    """
    org_ref = getattr(conn, "org_ref", None)
    if org_ref is None or org_ref.is_demo:
        return _demo_probe(conn, username)
    probe = org_ref.config.get("probe") or {}
    where = f"orgs.{org_ref.name}.probe"
    if not probe:
        raise OrgConfigError(Text("orgs.secret.no_probe_table", org=org_ref.name, where=where),
                             hint=Text("orgs.secret.no_probe_table_hint"))
    owner = str(probe.get("username") or "")
    if not owner:
        raise OrgConfigError(Text("orgs.secret.probe_owner_missing", where=where),
                             hint=Text("orgs.secret.probe_owner_missing_hint"))
    if owner.strip().lower() != (username or "").strip().lower():
        # Another user's password tried on this user is a failed login on this user's account,
        # one step nearer a lockout, and proves nothing.
        raise OrgConfigError(Text("orgs.secret.probe_owner_other", where=where, owner=owner, username=username),
                             hint=Text("orgs.secret.probe_owner_other_hint", where=where, owner=owner, username=username))
    password = read_ref(probe, "password", where=where, required=True)
    has_token_ref = bool(probe.get("token_env") or probe.get("token_keyring"))
    token = read_ref(probe, "token", where=where, required=has_token_ref) or ""
    return ProbeCredentials(password=password or "", token=token)


def _demo_probe(conn: Any, username: str) -> ProbeCredentials:
    """The demo operator types what the scenario says (spec/scenario-format.md, "The demo operator")."""
    operator: Mapping[str, Any] = getattr(conn, "operator", None) or {}
    probe_user = operator.get("probe_username")
    if username and (not probe_user or probe_user.lower() != username.lower()):
        # Not the scenario's probe user (or the scenario names none, and the runbook found the
        # user itself): the operator knows the real credentials of every user the world lists.
        info = getattr(conn, "info", None)
        user = info.salesforce_user(username) if info is not None else None
        if user is not None:
            return ProbeCredentials(password=user.password, token=user.security_token)
        raise OrgConfigError(Text("orgs.secret.demo_no_credentials", username=username),
                             hint=Text("orgs.secret.demo_probe_other", probe_user=probe_user) if probe_user
                             else Text("orgs.secret.demo_add_probe_user"))
    if "probe_password" not in operator:
        raise OrgConfigError(Text("orgs.secret.demo_no_password"), hint=Text("orgs.secret.demo_set_probe_user"))
    return ProbeCredentials(password=str(operator.get("probe_password") or ""),
                            token=str(operator.get("probe_token") or ""))


def new_salt() -> str:
    """A random salt for fingerprints (store it next to the fingerprints, not the secrets)."""
    return _secrets.token_hex(16)


def fingerprint(username: str, password: str, token: str, salt: str | bytes) -> str:
    """HMAC-SHA256 of the probe's credentials: equal iff the same user, password and token.

    Lets a scheduled run skip a probe that already failed with identical credentials without
    ever storing them; the salt keeps the value useless for guessing short passwords offline.
    """
    key = salt.encode("utf-8") if isinstance(salt, str) else salt
    if not key:
        raise ValueError("fingerprint needs a non-empty salt")
    message = "\x00".join((username.strip().lower(), password, token)).encode("utf-8")
    return "hmac-sha256:" + hmac.new(key, message, hashlib.sha256).hexdigest()
