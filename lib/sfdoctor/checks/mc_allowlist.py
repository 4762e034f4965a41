"""Marketing Cloud's Login IP Allowlist against Data Cloud's addresses (seed 003, first cause).

No API exposes the allowlist or the addresses Data Cloud calls from, so the operator pastes
both (or names an exported file) and says whether the allowlist is on; this module computes,
exactly and with `ipaddress`, which Data Cloud addresses no allowlist range covers and the
smallest set of ranges that would cover them. A disabled allowlist refuses nobody: pass,
whatever the lists say.

Input as Marketing Cloud's Setup shows or exports it, one entry per line or comma-separated:
`a.b.c.d - e.f.g.h` (also `a.b.c.d e.f.g.h`, en dash, "to"), a CIDR, or one address; text
after the addresses is a description. In a file, a line without digits (a header) is
skipped and a line `start,end,description` is one range. Anything else is a one-line
`AllowlistError` naming the entry (never a traceback in the report).
"""
from __future__ import annotations

import csv
import html
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..errors import LocalizedValueError
from ..i18n import Text

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# "start - end" (hyphen, en/em dash, tilde or "to" between two address-like tokens), then a description
_RANGE = re.compile(r"^([0-9A-Fa-f:.]+)\s*(?:[-\u2010-\u2015~]|\s+to\s+)\s*([0-9A-Fa-f:.]+)(?:\s+(.*))?$",
                    re.IGNORECASE)
_ADDRESSY = re.compile(r"^[0-9A-Fa-f:.]+(/\d{1,3})?$")


class AllowlistError(LocalizedValueError):
    """An entry that is not an address, a range or a CIDR: one line naming it, in the run's language."""


def place(kind: str, **values: Any) -> Text:
    """An entry's place, a list's item or a file's line (for AllowlistError's {where})."""
    return Text(f"mc_allowlist.place.{kind}", **values)


def refusal(problem: str, where: Text | str, raw: str, **values: Any) -> AllowlistError:
    """The AllowlistError for `problem` (texts/mc_allowlist.toml) at `where`."""
    return AllowlistError(f"mc_allowlist.problem.{problem}", where=where, raw=raw, **values)


@dataclass(frozen=True)
class Span:
    """An inclusive address range from one entry of a list (an address is start == end)."""

    start: IPAddress
    end: IPAddress
    text: str                 # the entry as given (for people)
    description: str = ""

    @property
    def version(self) -> int:
        return self.start.version

    def label(self) -> str:
        """`start – end`, a CIDR when the span is exactly one, or the address alone."""
        if self.start == self.end:
            return str(self.start)
        nets = list(ipaddress.summarize_address_range(self.start, self.end))
        return str(nets[0]) if len(nets) == 1 else f"{self.start} – {self.end}"


# --------------------------------------------------------------------------- parsing

def _address(token: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(token.strip())
    except ValueError:
        return None


def parse_entry(entry: str, *, where: Text | str = "entry") -> Span | None:
    """One entry as a Span; None for an empty line or a `#` comment; AllowlistError otherwise."""
    raw = " ".join(str(entry).split())
    if not raw or raw.startswith("#"):
        return None
    m = _RANGE.match(raw)
    if m and _address(m.group(1)) is not None and _address(m.group(2)) is None \
            and re.match(r"^\S+\s+to\s", raw, re.IGNORECASE):
        m = None   # "192.0.2.7 to be removed": one address and a description that starts with "to"
    if m:
        start, end, rest = _address(m.group(1)), _address(m.group(2)), (m.group(3) or "")
        if start is None or end is None:
            raise refusal("range", where, raw)
    else:
        first, *tokens = raw.split()
        if "/" in first:
            try:
                net = ipaddress.ip_network(first, strict=False)
            except ValueError:
                raise refusal("cidr", where, raw, first=first) from None
            return Span(net.network_address, net.broadcast_address, raw, " ".join(tokens))
        start = _address(first)
        if start is None:
            raise refusal("address", where, raw)
        end = start
        if tokens and (re.fullmatch(r"[-\u2010-\u2015~]", tokens[0])
                       or (tokens[0].lower() == "to" and len(tokens) == 1)):
            raise refusal("no_end", where, raw)
        if tokens and _address(tokens[0]) is not None:   # "start end" as a table row shows it
            end = _address(tokens.pop(0))  # type: ignore[assignment]
        rest = " ".join(tokens)
    if end.version != start.version:
        raise refusal("versions", where, raw)
    if end < start:
        raise refusal("order", where, raw)
    return Span(start, end, raw, rest)


def parse_entries(entries: Iterable[str] | str, *, name: str = "entry") -> list[Span]:
    """Every entry of a list (or of a text: split at newlines and commas) as Spans."""
    # A list item may itself hold several entries (a pasted block): split every item too.
    items = [part for item in ([entries] if isinstance(entries, str) else entries)
             for part in split_entries(str(item))]
    spans = []
    for i, item in enumerate(items, 1):
        span = parse_entry(str(item), where=place("entry", i=i) if name == "entry" else place("named", name=name, i=i))
        if span is not None:
            spans.append(span)
    return spans


def _starts_with_address(text: str) -> bool:
    first = text.split(None, 1)[0] if text.split() else ""
    if "/" in first:
        try:
            ipaddress.ip_network(first, strict=False)
            return True
        except ValueError:
            return False
    return _address(first) is not None


def split_entries(text: str) -> list[str]:
    """A pasted block as entries: one per line, and at commas that start a new address.

    A comma followed by words ("Data Cloud, Tokyo region") stays in the description, as
    Setup lets descriptions hold commas; "192.0.2.1, 192.0.2.2" is two entries (pure).
    """
    out: list[str] = []
    for line in str(text).split("\n"):
        parts = line.split(",")
        merged = [parts[0]]
        for part in parts[1:]:
            if _starts_with_address(part) or not part.strip() or not merged[-1].strip():
                merged.append(part)
            else:
                merged[-1] += "," + part
        out.extend(merged)
    return out


def validate_allowlist_entries(values: list[str]) -> None:
    """Raise ValueError (one line naming the bad entry) unless every entry parses (pure).

    For a pre-kernel parameter check: `ip_allowlist` and `data_cloud_ips` take the same
    entries, so a typo exits as bad input before any notebook starts.
    """
    parse_entries(list(values or []), name="entry")


def parse_file_text(text: str, *, name: str = "file") -> list[Span]:
    """An exported or saved allowlist: lines, a header skipped, `start,end,description` rows."""
    spans = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or not re.search(r"\d", line):
            continue   # blank, or a header such as "Start IP,End IP,Description"
        fields = [f.strip() for f in next(csv.reader([line], skipinitialspace=True), [])]
        if len(fields) >= 2 and _address(fields[0]) and _address(fields[1]) and (
                len(fields) == 2 or not _ADDRESSY.match(fields[2] or "x")):
            # a table row: start, end[, description] (two bare addresses read as a range too)
            span = parse_entry(f"{fields[0]} - {fields[1]} {' '.join(fields[2:])}", where=place("line", name=name, n=n))
            spans.append(span)  # type: ignore[arg-type]
            continue
        for j, item in enumerate(fields, 1):
            span = parse_entry(item, where=(place("line_item", name=name, n=n, j=j) if len(fields) > 1
                                             else place("line", name=name, n=n)))
            if span is not None:
                spans.append(span)
    return spans


def spans_from_world(ranges: Iterable[Any]) -> list[str]:
    """Ranges as the demo operator reads them off Setup ({start, end, description}) -> entries."""
    out = []
    for r in ranges or []:
        if isinstance(r, dict) and r.get("start"):
            desc = f" {r['description']}" if r.get("description") else ""
            out.append(f"{r['start']} - {r.get('end') or r['start']}{desc}")
        elif isinstance(r, str):
            out.append(r)
    return out


# --------------------------------------------------------------------------- coverage

@dataclass
class Row:
    """One Data Cloud entry: which allowlist ranges cover it, and what part none covers."""

    address: Span
    covered_by: list[Span] = field(default_factory=list)
    uncovered: list[tuple[IPAddress, IPAddress]] = field(default_factory=list)

    @property
    def status(self) -> str:
        if not self.uncovered:
            return "covered"
        return "partly" if self.covered_by else "not_covered"

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address.label(), "status": self.status,
                "covered_by": [s.label() for s in self.covered_by],
                "to_add": [c for lo, hi in self.uncovered for c in cidrs(lo, hi)]}


def cidrs(lo: IPAddress, hi: IPAddress) -> list[str]:
    """The fewest CIDR blocks that cover exactly lo..hi (pure)."""
    return [str(n) for n in ipaddress.summarize_address_range(lo, hi)]


def _subtract(lo: int, hi: int, cover: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """lo..hi minus the sorted, merged intervals `cover` (inclusive integers)."""
    out, cur = [], lo
    for a, b in cover:
        if b < cur or a > hi:
            continue
        if a > cur:
            out.append((cur, a - 1))
        cur = max(cur, b + 1)
        if cur > hi:
            break
    if cur <= hi:
        out.append((cur, hi))
    return out


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def coverage(data_cloud: list[Span], allowlist: list[Span]) -> list[Row]:
    """For each Data Cloud entry, the allowlist ranges that touch it and the uncovered rest (pure)."""
    rows = []
    for dc in data_cloud:
        same = [s for s in allowlist if s.version == dc.version]
        touching = [s for s in same if not (s.end < dc.start or s.start > dc.end)]
        merged = _merge((int(s.start), int(s.end)) for s in touching)
        cls = type(dc.start)
        gaps = [(cls(a), cls(b)) for a, b in _subtract(int(dc.start), int(dc.end), merged)]
        rows.append(Row(dc, touching, gaps))
    return rows


def ranges_to_add(rows: Iterable[Row]) -> list[dict[str, Any]]:
    """The uncovered parts of all rows, merged into contiguous ranges: start, end and CIDRs.

    Marketing Cloud's allowlist takes a start and an end address per range; the CIDRs are the
    same ranges written as the fewest blocks, for people and for other tools.
    """
    by_version: dict[int, list[tuple[int, int]]] = {}
    for row in rows:
        for lo, hi in row.uncovered:
            by_version.setdefault(lo.version, []).append((int(lo), int(hi)))
    out = []
    for version in sorted(by_version):
        cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
        for a, b in _merge(by_version[version]):
            lo, hi = cls(a), cls(b)
            out.append({"start": str(lo), "end": str(hi), "cidrs": cidrs(lo, hi)})
    return out


# --------------------------------------------------------------------------- the table

_STATUS_COLOUR = {"covered": "#1a7f37", "partly": "#9a6700", "not_covered": "#cf222e"}


def table_html(rows: list[Row], labels: dict[str, str]) -> str:
    """Each Data Cloud address: covered or not, by which allowlist range, what to add.

    Self-contained HTML (inline styles, no scripts), so the shared report shows it as is.
    `labels`: the column heads and status words in the run's language.
    """
    e = html.escape
    head = "".join(f'<th style="text-align:left;padding:.25em .6em;border-bottom:2px solid #999;">{e(labels[k])}</th>'
                   for k in ("col_address", "col_status", "col_by", "col_add"))
    body = []
    for row in rows:
        colour = _STATUS_COLOUR[row.status]
        mark = {"covered": "\u2714", "partly": "\u25d0", "not_covered": "\u2718"}[row.status]
        data = row.to_json()
        body.append(
            "<tr>"
            f'<td style="padding:.2em .6em;font-family:monospace;">{e(data["address"])}</td>'
            f'<td style="padding:.2em .6em;color:{colour};font-weight:600;">{mark} {e(labels["status_" + row.status])}</td>'
            f'<td style="padding:.2em .6em;font-family:monospace;">{e(", ".join(data["covered_by"]) or "—")}</td>'
            f'<td style="padding:.2em .6em;font-family:monospace;">{e(", ".join(data["to_add"]) or "—")}</td>'
            "</tr>")
    return ('<table class="sfd-mc-allowlist" style="border-collapse:collapse;margin:.4em 0;">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
