"""The failing logins' source addresses against the org's trusted ranges and the profile's
login IP ranges, and the smallest range that would cover them.

Salesforce's rules (seed 002; spec/scenario-format.md): inside the org's trusted ranges
(Setup > Network Access) or inside the profile's login IP ranges, a password alone logs in;
outside them a security token must be appended; and when the profile has login IP ranges,
any address outside them is refused altogether ("Restricted IP"), token or not.
"""
from __future__ import annotations

import ipaddress
from typing import Any, Iterable


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(text: str | None) -> IPAddress | None:
    try:
        return ipaddress.ip_address(str(text or "").strip())
    except ValueError:
        return None


def in_range(ip: str | IPAddress, start: str, end: str) -> bool:
    """Whether `ip` lies in the inclusive range start..end (same IP version only) (pure)."""
    a = ip if not isinstance(ip, str) else parse_ip(ip)
    lo, hi = parse_ip(start), parse_ip(end)
    if a is None or lo is None or hi is None or not (a.version == lo.version == hi.version):
        return False
    return lo <= a <= hi


def covering(ip: str, ranges: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The first range ({start, end} or {StartAddress, EndAddress}) holding `ip`, else None (pure)."""
    for r in ranges or []:
        start = r.get("start") or r.get("StartAddress")
        end = r.get("end") or r.get("EndAddress")
        if start and end and in_range(ip, start, end):
            return r
    return None


def suggest_ranges(ips: Iterable[str]) -> list[dict[str, Any]]:
    """The ranges to add so that every address is covered, smallest first (pure).

    One address in its /24 (IPv6: /64) → that address alone (start = end, as Network Access
    wants for a single address). Several in the same /24 → that /24, since they come from one
    network whose next address is likely its neighbour. Salesforce's Network Access takes
    start/end pairs, so each suggestion carries both plus the CIDR for people.
    """
    nets: dict[Any, list[IPAddress]] = {}
    for text in ips:
        ip = parse_ip(text)
        if ip is None:
            continue
        prefix = 24 if ip.version == 4 else 64
        net = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
        nets.setdefault(net, [])
        if ip not in nets[net]:
            nets[net].append(ip)
    out = []
    for net, members in sorted(nets.items(), key=lambda kv: (kv[0].version, kv[0])):
        if len(members) == 1:
            ip = members[0]
            out.append({"start": str(ip), "end": str(ip), "cidr": f"{ip}/{ip.max_prefixlen}",
                        "covers": [str(ip)]})
        else:
            out.append({"start": str(net.network_address), "end": str(net.broadcast_address),
                        "cidr": str(net), "covers": sorted(str(m) for m in members)})
    return out


def classify(ips: Iterable[str], trusted: list[dict[str, Any]], profile: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each address: trusted (org range), profile (inside the profile's ranges), restricted
    (the profile has ranges and this is outside them), untrusted (needs a token) (pure)."""
    out: dict[str, list[str]] = {"trusted": [], "profile": [], "restricted": [], "untrusted": []}
    for ip in ips:
        if parse_ip(ip) is None:
            continue
        if profile and covering(ip, profile):
            out["profile"].append(ip)
        elif profile:
            out["restricted"].append(ip)
        elif covering(ip, trusted):
            out["trusted"].append(ip)
        else:
            out["untrusted"].append(ip)
    return out


def trusted_ranges(security: dict[str, Any]) -> list[dict[str, Any]]:
    """networkAccess.ipRanges as a list of {start, end, description} (pure)."""
    net = security.get("networkAccess") or {}
    ranges = net.get("ipRanges") if isinstance(net, dict) else None
    if isinstance(ranges, dict):
        ranges = [ranges]
    return [{"start": r.get("start"), "end": r.get("end"), "description": r.get("description") or ""}
            for r in ranges or [] if isinstance(r, dict)]


