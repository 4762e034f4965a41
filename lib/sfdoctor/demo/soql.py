"""The demo world's SOQL engine: parse with lark (LALR), check against a Catalog, evaluate.

Why it exists: runbooks and audit scripts send real SOQL through the unmodified simple-salesforce
client; the simulator must answer with Salesforce's own record shapes and, just as important,
Salesforce's own error texts (the caret layout, INVALID_FIELD for `LoginHistory.Status` in a
WHERE, ...), because those texts are what the runbooks diagnose.

Design for speed (a scenario may hold 200,000 LoginHistory rows):
  * the text is parsed once (``_parse`` is cached by query text);
  * each query is compiled against the catalog into Python closures (field getters, one
    predicate per WHERE), so evaluation never walks a tree per row;
  * rows from ``Catalog.rows`` are never copied until the final projection to REST JSON;
  * a WHERE that ANDs `IdOrReferenceField = 'id'` / `IN (...)` or `DateTimeField <op> literal`
    conditions is answered from indexes (an equality index, a sorted index) built once per row
    list and kept on the list while it is unchanged (see `_Table`), so a 200,000-row scan
    happens once per list, not per query; only the other conditions run per row;
  * GROUP BY and aggregates work on column lists (positions per group), not per-row closures;
  * ORDER BY sorts precomputed keys; under a LIMIT well below the row count on unordered data
    it takes the first rows with `heapq.nsmallest/nlargest` (same order as the stable sort).

Public API: ``execute``, ``QueryResult``, ``SoqlError``; ``describe_columns`` (a query's
columns without its rows, for ``query?q=...&columns=true``).
"""
from __future__ import annotations

import bisect
import calendar
import functools
import heapq
import itertools
import operator
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from sfdoctor.demo.schema import Catalog, FieldSchema, ObjectSchema

__all__ = ["execute", "QueryResult", "SoqlError", "describe_columns", "QueryColumns", "Column"]

WSDL_HINT = "Please reference your WSDL or the describe call for the appropriate names."
STRINGISH = {"string", "picklist", "multipicklist", "email", "phone", "textarea", "url", "combobox",
             "encryptedstring"}
IDISH = {"id", "reference"}
NUMERIC = {"int", "double", "currency", "percent", "long"}
AGG_FUNCS = {"COUNT", "COUNT_DISTINCT", "MIN", "MAX", "SUM", "AVG"}
# Words that can never be a field name: when the contextual lexer took one for a NAME, the
# error is reported at that word, as Salesforce does (`SELECT Id, FROM X` -> 'FROM').
RESERVED = {"SELECT", "FROM", "WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "OFFSET", "AND", "OR",
            "NOT", "LIKE", "IN", "BY", "NULLS", "ASC", "DESC"}
# Keywords Salesforce refuses as alias names ("Alias Notation", SOQL and SOSL Reference).
ALIAS_RESERVED = {"AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES", "LAST",
                  "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "USING", "WHERE", "WITH"}


# --------------------------------------------------------------------------------------------
# Results and errors


@dataclass
class QueryResult:
    """All matching records (LIMIT/OFFSET applied) in REST JSON shape; paging is the server's job."""

    total_size: int
    records: list[dict[str, Any]]


class SoqlError(Exception):
    """A query the real API would refuse, with Salesforce's errorCode and message text."""

    def __init__(self, error_code: str, message: str, status: int = 400):
        self.error_code = error_code
        self.message = message
        self.status = status
        super().__init__(f"{error_code}: {message}")


def _caret(text: str, row: int, col: int, sentence: str) -> str:
    """Salesforce's layout: the offending line, a caret under the column, the position, the text."""
    lines = text.split("\n")
    line = lines[row - 1].rstrip("\r") if 0 < row <= len(lines) else ""
    return f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{sentence}"


@dataclass(frozen=True)
class Pos:
    """1-based row/column of a token in the query text, for the caret layout."""

    row: int
    col: int


def _pos(tok: Token) -> Pos:
    return Pos(tok.line or 1, tok.column or 1)


class _Ctx:
    """Per-execute state: the query text (for carets), catalog, and lazily built Id indexes."""

    def __init__(self, text: str, catalog: Catalog, api_version: str, tooling: bool):
        self.text = text
        self.catalog = catalog
        self.api_version = api_version
        self.tooling = tooling
        self.now: datetime = _as_utc(catalog.now())
        self._indexes: dict[str, dict[str, dict[str, Any]]] = {}
        self.tables: dict[int, tuple[list, Any]] = {}   # id(row list) -> (list, _Table)
        self._url_base = f"/services/data/v{api_version}/" + ("tooling/" if tooling else "") + "sobjects/"

    def fail(self, code: str, pos: Pos, sentence: str) -> SoqlError:
        return SoqlError(code, _caret(self.text, pos.row, pos.col, sentence))

    def index(self, sobject: str) -> dict[str, dict[str, Any]]:
        """Id -> row for relationship lookups; built once per query and object."""
        idx = self._indexes.get(sobject)
        if idx is None:
            idx = {r["Id"]: r for r in self.catalog.rows(sobject) if r.get("Id")}
            self._indexes[sobject] = idx
        return idx

    def url(self, sobject: str, rec_id: Any) -> str:
        return f"{self._url_base}{sobject}/{rec_id}"


# --------------------------------------------------------------------------------------------
# Syntax tree (produced once per query text, immutable, shared between executions)


@dataclass(frozen=True)
class FieldRef:
    path: tuple[str, ...]
    pos: Pos


@dataclass(frozen=True)
class AggCall:
    func: str                  # upper-case: COUNT, COUNT_DISTINCT, MIN, ...
    arg: FieldRef | None       # None only for COUNT()
    pos: Pos

    def key(self) -> tuple[str, tuple[str, ...] | None]:
        return (self.func, tuple(p.lower() for p in self.arg.path) if self.arg else None)


@dataclass(frozen=True)
class AggItem:
    call: AggCall
    alias: str | None


@dataclass(frozen=True)
class Literal:
    kind: str      # STRING NUMBER DATETIME DATE DATE_LITERAL TRUE FALSE NULL
    raw: str       # token text (STRING: without quotes, escapes untouched)
    pos: Pos


@dataclass(frozen=True)
class Cmp:
    kind: str                        # cmp, like, in, not_in, in_query, not_in_query
    lhs: FieldRef | AggCall
    op: str | None = None
    value: Literal | None = None
    values: tuple[Literal, ...] = ()
    sub: "Query | None" = None


@dataclass(frozen=True)
class BoolOp:
    op: str                          # and, or, not
    args: tuple[Any, ...]


@dataclass(frozen=True)
class OrderItem:
    target: FieldRef | AggCall
    desc: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    items: tuple[Any, ...]           # FieldRef | AggItem | SubQuery
    sobject: str
    sobject_pos: Pos
    where: Any = None
    group_by: tuple[FieldRef, ...] = ()
    having: Any = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None


@dataclass(frozen=True)
class SubQuery:
    query: Query


class _ToAst(Transformer):
    """Turns lark's parse tree into the frozen dataclasses above."""

    def start(self, c: list) -> Query:
        return c[0]

    def query(self, c: list) -> Query:
        items, obj = c[0], c[1]
        parts: dict[str, Any] = {}
        for extra in c[2:]:
            parts[extra[0]] = extra[1]
        return Query(items=tuple(items), sobject=str(obj), sobject_pos=_pos(obj), **parts)

    def select_list(self, c: list) -> list:
        return c

    def field_path(self, c: list[Token]) -> FieldRef:
        for tok in c:
            if tok.upper() in RESERVED:
                raise _Unexpected(tok)
        return FieldRef(tuple(str(t) for t in c), _pos(c[0]))

    def agg_call(self, c: list) -> AggCall:
        name = c[0]
        func = name.upper()
        if func not in AGG_FUNCS:
            raise _Unexpected(name)
        arg = c[1] if len(c) > 1 else None
        if arg is None and func != "COUNT":
            raise _Unexpected(name, after=True)
        return AggCall(func, arg, _pos(name))

    def aliased_agg(self, c: list) -> AggItem:
        alias = c[1] if len(c) > 1 else None
        if alias is not None and alias.upper() in RESERVED | ALIAS_RESERVED:
            raise _Unexpected(alias)
        return AggItem(c[0], str(alias) if alias is not None else None)

    def subquery(self, c: list) -> SubQuery:
        return SubQuery(c[0])

    def where(self, c: list) -> tuple:
        return ("where", c[0])

    def having(self, c: list) -> tuple:
        return ("having", c[0])

    def group_by(self, c: list) -> tuple:
        return ("group_by", tuple(c))

    def order_by(self, c: list) -> tuple:
        return ("order_by", tuple(c))

    def order_item(self, c: list) -> OrderItem:
        desc = False
        nulls: bool | None = None
        for part in c[1:]:
            if isinstance(part, Token):
                desc = part.type == "DESC"
            else:
                nulls = part
        return OrderItem(c[0], desc, (not desc) if nulls is None else nulls)

    def nulls(self, c: list[Token]) -> bool:
        return c[0].type == "FIRST"

    def limit(self, c: list[Token]) -> tuple:
        return ("limit", int(c[0]))

    def offset(self, c: list[Token]) -> tuple:
        return ("offset", int(c[0]))

    def or_(self, c: list) -> Any:
        return c[0] if len(c) == 1 else BoolOp("or", tuple(c))

    def and_(self, c: list) -> Any:
        return c[0] if len(c) == 1 else BoolOp("and", tuple(c))

    def not_(self, c: list) -> BoolOp:
        return BoolOp("not", (c[0],))

    def value(self, c: list[Token]) -> Literal:
        tok = c[0]
        raw = str(tok)[1:-1] if tok.type == "STRING" else str(tok)
        return Literal(tok.type, raw, _pos(tok))

    def value_list(self, c: list) -> tuple:
        return tuple(c)

    def cmp(self, c: list) -> Cmp:
        return Cmp("cmp", c[0], op=str(c[1]), value=c[2])

    def like(self, c: list) -> Cmp:
        return Cmp("like", c[0], value=c[1])

    def in_list(self, c: list) -> Cmp:
        return Cmp("in", c[0], values=c[1])

    def not_in_list(self, c: list) -> Cmp:
        return Cmp("not_in", c[0], values=c[1])

    def in_query(self, c: list) -> Cmp:
        return Cmp("in_query", c[0], sub=c[1])

    def not_in_query(self, c: list) -> Cmp:
        return Cmp("not_in_query", c[0], sub=c[1])


class _Unexpected(Exception):
    """Raised inside the transformer to report a token as Salesforce's 'unexpected token'."""

    def __init__(self, tok: Token, after: bool = False):
        self.tok = tok
        self.after = after


_GRAMMAR = (Path(__file__).with_name("soql.lark")).read_text(encoding="utf-8")
_last_name = threading.local()


def _remember_name(tok: Token) -> Token:
    """Keep the last two NAME tokens: the parser fails on the token after a misplaced keyword."""
    _last_name.prev, _last_name.tok = getattr(_last_name, "tok", None), tok
    return tok


_PARSER = Lark(_GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False, cache=True,
               lexer_callbacks={"NAME": _remember_name})


def _unexpected_error(text: str, value: str, row: int, col: int) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", _caret(text, row, col, f"unexpected token: '{value}'"))


def _eof_position(text: str) -> tuple[int, int]:
    stripped = text.rstrip()
    lines = stripped.split("\n")
    return len(lines), len(lines[-1]) + 1


@functools.lru_cache(maxsize=1024)
def _parse(text: str) -> Query:
    """Parse once per distinct query text; raises SoqlError(MALFORMED_QUERY) with the caret layout."""
    _last_name.tok = _last_name.prev = None
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    try:
        return _ToAst().transform(tree)
    except VisitError as exc:
        inner = exc.orig_exc
        if isinstance(inner, _Unexpected):
            tok = inner.tok
            if inner.after:  # MIN() and friends: the ')' is what Salesforce trips over
                close = text.find(")", tok.end_pos or 0)
                row, col = _row_col(text, close)
                raise _unexpected_error(text, ")", row, col) from None
            raise _unexpected_error(text, str(tok), tok.line, tok.column) from None
        raise


def _row_col(text: str, offset: int) -> tuple[int, int]:
    row = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return row, col


def _syntax_error(text: str, exc: UnexpectedInput) -> SoqlError:
    """Map lark's failure to the token Salesforce would name (a keyword lexed as a name wins)."""
    prev: Token | None = getattr(_last_name, "tok", None)
    if isinstance(exc, UnexpectedToken) and exc.token is prev:
        prev = getattr(_last_name, "prev", None)
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        start = exc.token.start_pos or 0
    elif isinstance(exc, UnexpectedCharacters):
        start = exc.pos_in_stream
    else:
        start = len(text)
    if (prev is not None and prev.upper() in RESERVED and prev.end_pos is not None
            and prev.end_pos <= start and not text[prev.end_pos:start].strip()):
        return _unexpected_error(text, str(prev), prev.line, prev.column)
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        tok = exc.token
        return _unexpected_error(text, str(tok), tok.line, tok.column)
    if isinstance(exc, UnexpectedCharacters):
        return _unexpected_error(text, text[exc.pos_in_stream], exc.line, exc.column)
    row, col = _eof_position(text)
    return _unexpected_error(text, "<EOF>", row, col)


# --------------------------------------------------------------------------------------------
# Values, dates and formatting


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


_DT_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|([+-])(\d{2}):?(\d{2}))")


def _parse_datetime(raw: str) -> datetime:
    m = _DT_RE.fullmatch(raw)
    assert m, raw  # the grammar's DATETIME terminal guarantees the shape
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    ms = int((m.group(7) or "0").ljust(3, "0"))
    tz = timezone.utc
    if m.group(8) != "Z":
        sign = -1 if m.group(9) == "-" else 1
        tz = timezone(sign * timedelta(hours=int(m.group(10)), minutes=int(m.group(11))))
    return datetime(y, mo, d, h, mi, s, ms * 1000, tzinfo=tz).astimezone(timezone.utc)


def _format_value(value: Any) -> Any:
    """Python-native row values to Salesforce REST JSON values."""
    if isinstance(value, datetime):
        v = value if value.tzinfo is timezone.utc else _as_utc(value)
        return (f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}."
                f"{v.microsecond // 1000:03d}+0000")
    if isinstance(value, date):
        return value.isoformat()
    return value


_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def _unescape(lit: Literal, ctx: _Ctx, *, like: bool = False) -> str:
    """SOQL string escapes as simple_salesforce.format_soql writes them. For LIKE, `\\%` and `\\_`
    stay escaped (returned as NUL-marked chars) so the pattern builder can tell them apart."""
    out: list[str] = []
    raw = lit.raw
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt in "%_" and like:
                out.append("\0" + nxt)
            elif nxt in "%_":
                out.append("\\" + nxt)
            else:
                raise ctx.fail("MALFORMED_QUERY", lit.pos,
                               f"Invalid string literal '{raw}'. Illegal character sequence '\\{nxt}' in string literal.")
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _like_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\0":
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _add_months(d: date, months: int) -> date:
    idx = d.year * 12 + (d.month - 1) + months
    y, m = divmod(idx, 12)
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def _date_range(raw: str, today: date) -> tuple[date, date]:
    """A relative date literal as a half-open day range [start, end), en_US weeks (Sunday first)."""
    name, _, num = raw.upper().partition(":")
    n = int(num) if num else 0
    day = timedelta(days=1)
    week_start = today - timedelta(days=(today.weekday() + 1) % 7)
    month_start = today.replace(day=1)
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    year_start = date(today.year, 1, 1)
    table: dict[str, Callable[[], tuple[date, date]]] = {
        "TODAY": lambda: (today, today + day),
        "YESTERDAY": lambda: (today - day, today),
        "TOMORROW": lambda: (today + day, today + 2 * day),
        "THIS_WEEK": lambda: (week_start, week_start + 7 * day),
        "LAST_WEEK": lambda: (week_start - 7 * day, week_start),
        "NEXT_WEEK": lambda: (week_start + 7 * day, week_start + 14 * day),
        "THIS_MONTH": lambda: (month_start, _add_months(month_start, 1)),
        "LAST_MONTH": lambda: (_add_months(month_start, -1), month_start),
        "NEXT_MONTH": lambda: (_add_months(month_start, 1), _add_months(month_start, 2)),
        "LAST_90_DAYS": lambda: (today - 90 * day, today + day),
        "NEXT_90_DAYS": lambda: (today + day, today + 91 * day),
        "THIS_QUARTER": lambda: (quarter_start, _add_months(quarter_start, 3)),
        "LAST_QUARTER": lambda: (_add_months(quarter_start, -3), quarter_start),
        "NEXT_QUARTER": lambda: (_add_months(quarter_start, 3), _add_months(quarter_start, 6)),
        "THIS_YEAR": lambda: (year_start, _add_months(year_start, 12)),
        "LAST_YEAR": lambda: (_add_months(year_start, -12), year_start),
        "NEXT_YEAR": lambda: (_add_months(year_start, 12), _add_months(year_start, 24)),
        "LAST_N_DAYS": lambda: (today - n * day, today + day),
        "NEXT_N_DAYS": lambda: (today + day, today + (n + 1) * day),
        "N_DAYS_AGO": lambda: (today - n * day, today - (n - 1) * day),
        "LAST_N_WEEKS": lambda: (week_start - 7 * n * day, week_start),
        "NEXT_N_WEEKS": lambda: (week_start + 7 * day, week_start + 7 * (n + 1) * day),
        "N_WEEKS_AGO": lambda: (week_start - 7 * n * day, week_start - 7 * (n - 1) * day),
        "LAST_N_MONTHS": lambda: (_add_months(month_start, -n), month_start),
        "NEXT_N_MONTHS": lambda: (_add_months(month_start, 1), _add_months(month_start, n + 1)),
        "N_MONTHS_AGO": lambda: (_add_months(month_start, -n), _add_months(month_start, 1 - n)),
        "LAST_N_YEARS": lambda: (_add_months(year_start, -12 * n), year_start),
        "NEXT_N_YEARS": lambda: (_add_months(year_start, 12), _add_months(year_start, 12 * (n + 1))),
        "N_YEARS_AGO": lambda: (_add_months(year_start, -12 * n), _add_months(year_start, 12 * (1 - n))),
    }
    return table[name]()


# --------------------------------------------------------------------------------------------
# Field resolution


@dataclass
class _Resolved:
    """A field path bound to the schema: its getter over a base row and what it ends on."""

    getter: Callable[[dict[str, Any]], Any]
    field: FieldSchema
    canonical: tuple[str, ...]          # relationship names and final field, canonical case
    hops: tuple[tuple[str, FieldSchema, tuple[str, ...]], ...]  # (rel name, ref field, targets)


def _describe(ctx: _Ctx, name: str, pos: Pos) -> ObjectSchema:
    schema = ctx.catalog.describe(name)
    if schema is None or not schema.queryable:
        raise ctx.fail("INVALID_TYPE", pos,
                       f"sObject type '{name}' is not supported. If you are attempting to use a custom object, "
                       f"be sure to append the '__c' after the entity name. {WSDL_HINT}")
    return schema


def _relationship(schema: ObjectSchema, name: str) -> FieldSchema | None:
    low = name.lower()
    for f in schema.fields.values():
        if f.relationship_name and f.relationship_name.lower() == low and f.reference_to:
            return f
    return None


def _lookup(ctx: _Ctx, targets: tuple[str, ...]) -> Callable[[Any], tuple[str, dict[str, Any]] | None]:
    """Id -> (sObject type, row) across a reference's target objects."""
    if len(targets) == 1:
        name = targets[0]

        def one(ref: Any) -> tuple[str, dict[str, Any]] | None:
            row = ctx.index(name).get(ref)
            return (name, row) if row is not None else None
        return one

    def many(ref: Any) -> tuple[str, dict[str, Any]] | None:
        for name in targets:
            row = ctx.index(name).get(ref)
            if row is not None:
                return name, row
        return None
    return many


def _resolve(ctx: _Ctx, schema: ObjectSchema, ref: FieldRef) -> _Resolved:
    """Bind `A.B.Field` to closures, raising Salesforce's INVALID_FIELD texts on failure."""
    current = schema
    hops: list[tuple[str, FieldSchema, tuple[str, ...]]] = []
    canonical: list[str] = []
    path = ref.path
    # A leading segment naming the queried object itself (`User.Name FROM User`) is allowed.
    if len(path) > 1 and path[0].lower() == schema.name.lower() and _relationship(schema, path[0]) is None:
        path = path[1:]
    for seg in path[:-1]:
        rel = _relationship(current, seg)
        if rel is None:
            raise ctx.fail("INVALID_FIELD", ref.pos,
                           f"Didn't understand relationship '{seg}' in field path. If you are attempting to use a "
                           f"custom relationship, be sure to append the '__r' after the custom relationship name. "
                           f"{WSDL_HINT}")
        targets = tuple(_describe_target(ctx, t) for t in rel.reference_to)
        hops.append((rel.relationship_name or seg, rel, targets))
        canonical.append(rel.relationship_name or seg)
        nxt = ctx.catalog.describe(targets[0])
        if nxt is None:
            raise ctx.fail("INVALID_FIELD", ref.pos, f"Didn't understand relationship '{seg}' in field path. "
                           f"If you are attempting to use a custom relationship, be sure to append the '__r' after "
                           f"the custom relationship name. {WSDL_HINT}")
        current = nxt
    fs = current.field(path[-1])
    if fs is None:
        raise ctx.fail("INVALID_FIELD", ref.pos,
                       f"No such column '{path[-1]}' on entity '{current.name}'. If you are attempting to use a "
                       f"custom field, be sure to append the '__c' after the custom field name. {WSDL_HINT}")
    canonical.append(fs.name)
    name = fs.name
    getter: Callable[[dict[str, Any]], Any]
    if not hops:
        def getter(row: dict[str, Any], _n: str = name) -> Any:
            return row.get(_n)
    else:
        chain = [(h[1].name, _lookup(ctx, h[2])) for h in hops]

        def getter(row: dict[str, Any], _chain=chain, _n: str = name) -> Any:
            cur: dict[str, Any] | None = row
            for ref_field, look in _chain:
                rid = cur.get(ref_field)
                if rid is None:
                    return None
                hit = look(rid)
                if hit is None:
                    return None
                cur = hit[1]
            return cur.get(_n)
    return _Resolved(getter, fs, tuple(canonical), tuple(hops))


def _describe_target(ctx: _Ctx, name: str) -> str:
    schema = ctx.catalog.describe(name)
    return schema.name if schema is not None else name


# --------------------------------------------------------------------------------------------
# WHERE / HAVING compilation


Pred = Callable[[Any], bool]

_TYPE_WORD = {"datetime": "dateTime", "date": "date", "boolean": "boolean", "int": "integer",
              "double": "double", "currency": "double", "percent": "double", "long": "long"}
_ID_RE = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")


def _id_key(value: Any) -> Any:
    return value[:15] if isinstance(value, str) else value


def _coerce(ctx: _Ctx, lit: Literal, fs: FieldSchema, ftype: str, fname: str) -> Any:
    """A literal as a comparable Python value for a field of `ftype`, or Salesforce's type error.
    Relative date literals come back as a ("range", start, end) triple."""
    k = lit.kind
    if k == "NULL":
        return None
    bad = (f"value of filter criterion for field '{fname}' must be of type {_TYPE_WORD.get(ftype, ftype)} "
           f"and should not be enclosed in quotes")
    if ftype == "datetime":
        if k == "DATETIME":
            return _parse_datetime(lit.raw)
        if k == "DATE_LITERAL":
            s, e = _date_range(lit.raw, ctx.now.date())
            return ("range", datetime.combine(s, datetime.min.time(), timezone.utc),
                    datetime.combine(e, datetime.min.time(), timezone.utc))
        raise ctx.fail("INVALID_QUERY_FILTER_OPERATOR", lit.pos, bad)
    if ftype == "date":
        if k == "DATE":
            return date.fromisoformat(lit.raw)
        if k == "DATE_LITERAL":
            s, e = _date_range(lit.raw, ctx.now.date())
            return ("range", s, e)
        raise ctx.fail("INVALID_QUERY_FILTER_OPERATOR", lit.pos, bad)
    if ftype == "boolean":
        if k in ("TRUE", "FALSE"):
            return k == "TRUE"
        raise ctx.fail("INVALID_QUERY_FILTER_OPERATOR", lit.pos, bad)
    if ftype in NUMERIC:
        if k == "NUMBER":
            return float(lit.raw) if "." in lit.raw else int(lit.raw)
        raise ctx.fail("INVALID_QUERY_FILTER_OPERATOR", lit.pos, bad)
    if k != "STRING":
        raise ctx.fail("INVALID_QUERY_FILTER_OPERATOR", lit.pos,
                       f"value of filter criterion for field '{fname}' must be of type string "
                       f"and should be enclosed in quotes")
    text = _unescape(lit, ctx)
    if ftype in IDISH:
        if not _ID_RE.fullmatch(text):
            raise ctx.fail("INVALID_QUERY_FILTER_OPERATOR", lit.pos, f"invalid ID field: {text}")
        return text[:15]
    return text.casefold() if ftype in STRINGISH else text


def _normaliser(ftype: str) -> Callable[[Any], Any]:
    """How a row value is made comparable with a coerced literal (case-insensitive text, 15-char Ids)."""
    if ftype in STRINGISH:
        return lambda v: v.casefold() if isinstance(v, str) else v
    if ftype in IDISH:
        return _id_key
    if ftype == "datetime":
        return lambda v: _as_utc(v) if isinstance(v, datetime) else v
    return lambda v: v


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _cmp_pred(get: Callable[[Any], Any], norm: Callable[[Any], Any], op: str, lit: Any) -> Pred:
    """One comparison as a closure. Nulls: only `= null` / `!= null` and `!=` match them."""
    if lit is None:
        if op == "=":
            return lambda r: get(r) is None
        if op in ("!=", "<>"):
            return lambda r: get(r) is not None
        return lambda r: False
    if isinstance(lit, tuple) and lit and lit[0] == "range":
        _, lo, hi = lit
        if op == "=":
            return lambda r: (v := get(r)) is not None and lo <= v < hi
        if op in ("!=", "<>"):
            return lambda r: (v := get(r)) is None or not (lo <= v < hi)
        if op == "<":
            return lambda r: (v := get(r)) is not None and v < lo
        if op == "<=":
            return lambda r: (v := get(r)) is not None and v < hi
        if op == ">":
            return lambda r: (v := get(r)) is not None and v >= hi
        return lambda r: (v := get(r)) is not None and v >= lo
    fn = _OPS[op]
    if op in ("!=", "<>"):
        return lambda r: (v := get(r)) is None or fn(norm(v), lit)
    return lambda r: (v := get(r)) is not None and fn(norm(v), lit)


def _in_pred(get: Callable[[Any], Any], norm: Callable[[Any], Any], values: set, negate: bool) -> Pred:
    """IN / NOT IN over a set of normalised literals; `null` in the list matches empty values."""
    has_null = None in values
    if negate:
        def not_in(r: Any) -> bool:
            v = get(r)
            return (not has_null) if v is None else norm(v) not in values
        return not_in

    def is_in(r: Any) -> bool:
        v = get(r)
        return has_null if v is None else norm(v) in values
    return is_in


class _Operand:
    """The left side of a comparison: a row field (WHERE) or a group's value (HAVING)."""

    def __init__(self, get: Callable[[Any], Any], ftype: str, fname: str, fs: FieldSchema | None):
        self.get, self.ftype, self.fname, self.fs = get, ftype, fname, fs


def _compile_cond(ctx: _Ctx, node: Any, operand: Callable[[Any], _Operand]) -> Pred:
    if isinstance(node, BoolOp):
        parts = [_compile_cond(ctx, a, operand) for a in node.args]
        if node.op == "not":
            inner = parts[0]
            return lambda r: not inner(r)
        if node.op == "and":
            if len(parts) == 2:
                a, b = parts
                return lambda r: a(r) and b(r)
            return lambda r: all(p(r) for p in parts)
        if len(parts) == 2:
            a, b = parts
            return lambda r: a(r) or b(r)
        return lambda r: any(p(r) for p in parts)
    assert isinstance(node, Cmp)
    opd = operand(node.lhs)
    norm = _normaliser(opd.ftype)
    if node.kind == "cmp":
        lit = _coerce(ctx, node.value, opd.fs, opd.ftype, opd.fname)
        return _cmp_pred(opd.get, norm, node.op, lit)
    if node.kind == "like":
        if node.value.kind != "STRING":
            raise _unexpected_error(ctx.text, node.value.raw, node.value.pos.row, node.value.pos.col)
        if opd.ftype in IDISH:
            raise ctx.fail("INVALID_QUERY_FILTER_OPERATOR", node.value.pos, "invalid operator on id field")
        rx = _like_regex(_unescape(node.value, ctx, like=True))
        match = rx.fullmatch
        get = opd.get
        return lambda r: isinstance(v := get(r), str) and match(v) is not None
    if node.kind in ("in", "not_in"):
        vals = set()
        for lit in node.values:
            c = _coerce(ctx, lit, opd.fs, opd.ftype, opd.fname)
            if isinstance(c, tuple):
                raise ctx.fail("MALFORMED_QUERY", lit.pos, f"unexpected token: '{lit.raw}'")
            vals.add(c)
        return _in_pred(opd.get, norm, vals, node.kind == "not_in")
    # semi-join / anti-join: the inner query runs once, its single column becomes a set
    sub = node.sub
    if len(sub.items) != 1 or not isinstance(sub.items[0], FieldRef):
        raise ctx.fail("MALFORMED_QUERY", sub.sobject_pos,
                       "semi join sub-selects can only select a single field, the Id or a reference field")
    inner_schema = _describe(ctx, sub.sobject, sub.sobject_pos)
    inner_field = _resolve(ctx, inner_schema, sub.items[0])
    rows = _filtered_rows(ctx, sub, inner_schema)
    # normalise the inner values the way the outer field's values are normalised
    keys = {norm(v) for r in rows if (v := inner_field.getter(r)) is not None}
    return _in_pred(opd.get, norm, keys, node.kind == "not_in_query")


# --------------------------------------------------------------------------------------------
# Row tables: columns and indexes over one row list, built once per list state
#
# A WHERE that is an AND of conditions is answered by indexes where a condition allows it
# (`IdOrReferenceField = 'id'` / `IN (...)` through an equality index; `DateOrDateTimeField <op>
# literal` through a sorted index), and only the remaining conditions are evaluated per row.
# An index is used only where it gives exactly the rows the per-row predicate would: its column
# must be "clean" (every value None or of the field's own Python type, datetimes aware),
# otherwise that condition is evaluated per row as before. Rows always come out in their
# original order.


_USE_INDEXES = True     # tests switch it off to compare the index path with the plain scan


class _Table:
    """A snapshot of one row list with lazily built columns and indexes.

    Kept on the row list itself when the list allows attributes (the World's cached lists are
    a `list` subclass), so the work is shared by every query until the list changes (the World
    only ever appends to its lists); for a plain list it lives for one `execute` only."""

    def __init__(self, rows: list[dict[str, Any]]):
        self.snap = list(rows)
        self.n = len(self.snap)
        self._first = self.snap[0] if self.snap else None
        self._last = self.snap[-1] if self.snap else None
        self._cols: dict[str, list[Any]] = {}
        # columns the catalog may hand over with the list (`rows.columns`: field -> values equal
        # to [r.get(field) for r in rows]); used only when as long as the snapshot
        self._given: dict[str, list[Any]] = getattr(rows, "columns", None) or {}
        self._eq: dict[str, Any] = {}
        self._rng: dict[str, Any] = {}

    def fresh(self, rows: list[dict[str, Any]]) -> bool:
        return len(rows) == self.n and (not self.n or (rows[0] is self._first and rows[-1] is self._last))

    def col(self, name: str) -> list[Any]:
        c = self._cols.get(name)
        if c is None:
            given = self._given.get(name)
            if isinstance(given, list) and len(given) >= self.n:
                c = given[:self.n]
            else:
                c = [r.get(name) for r in self.snap]
            self._cols[name] = c
        return c

    def eq_index(self, name: str) -> dict[str, list[int]] | None:
        """15-character Id -> ascending row positions; None when a value is not a string."""
        if name in self._eq:
            return self._eq[name]
        col = self.col(name)
        idx: dict[str, Any] | None = {}
        if not {type(v) for v in col} <= {str, type(None)}:
            idx = None
        elif len(distinct := set(col)) <= 16:
            # few distinct values (users, profiles): one C-level pass per value
            positions = range(self.n)
            for v in distinct:
                if v is not None:
                    hits = list(itertools.compress(positions, map(operator.eq, col, itertools.repeat(v))))
                    k = v[:15]
                    idx[k] = sorted(idx[k] + hits) if k in idx else hits
        else:
            for i, v in enumerate(col):
                if v is not None:
                    k = v[:15]
                    b = idx.get(k)
                    if b is None:
                        idx[k] = [i]
                    else:
                        b.append(i)
        if idx is not None:
            for k, b in idx.items():   # one user's rows are usually contiguous (a scenario run)
                if b[-1] - b[0] + 1 == len(b):
                    idx[k] = range(b[0], b[-1] + 1)
        self._eq[name] = idx
        return idx

    def range_index(self, name: str, ftype: str) -> "_RangeIndex | None":
        """Sorted non-null values of a date/datetime column; None when the column is not clean."""
        key = name + "\0" + ftype
        if key in self._rng:
            return self._rng[key]
        col = self.col(name)
        ri: _RangeIndex | None = None
        types = {type(v) for v in col}
        if ftype == "datetime":
            clean = types <= {datetime, type(None)} and all(
                isinstance(tz, timezone) for tz in {v.tzinfo for v in col if v is not None})
        else:
            clean = types <= {date, type(None)}
        if clean:
            pos: Any = range(self.n) if type(None) not in types else [i for i, v in enumerate(col) if v is not None]
            vals = col if isinstance(pos, range) else [col[i] for i in pos]
            if all(map(operator.le, vals, itertools.islice(vals, 1, None))):
                ri = _RangeIndex(vals, pos, True)
            else:
                perm = sorted(pos, key=col.__getitem__)
                ri = _RangeIndex([col[i] for i in perm], perm, False)
        self._rng[key] = ri
        return ri


class _RangeIndex:
    def __init__(self, values: list[Any], positions: Any, in_order: bool):
        self.values, self.positions, self.in_order = values, positions, in_order

    def select(self, op: str, lit: Any) -> Any:
        """Ascending positions of the rows whose value satisfies `value <op> lit` (None: cannot)."""
        vals = self.values
        if isinstance(lit, tuple):          # a relative date literal: ("range", start, end)
            _, lo_v, hi_v = lit
            lo = bisect.bisect_left(vals, lo_v)
            hi = bisect.bisect_left(vals, hi_v)
            span = {"=": (lo, hi), "<": (0, lo), "<=": (0, hi), ">": (hi, len(vals)), ">=": (lo, len(vals))}
        else:
            left = bisect.bisect_left(vals, lit)
            right = bisect.bisect_right(vals, lit)
            span = {"=": (left, right), "<": (0, left), "<=": (0, right), ">": (right, len(vals)),
                    ">=": (left, len(vals))}
        if op not in span:
            return None
        a, b = span[op]
        if a >= b:
            return []
        part = self.positions[a:b]
        return part if self.in_order else sorted(part)


def _table(ctx: _Ctx, rows: list[dict[str, Any]]) -> _Table:
    key = id(rows)
    hit = ctx.tables.get(key)
    if hit is not None and hit[0] is rows and hit[1].fresh(rows):
        return hit[1]
    table = getattr(rows, "_soql_table", None)
    if table is None or not table.fresh(rows):
        table = _Table(rows)
        try:
            rows._soql_table = table  # type: ignore[attr-defined]
        except AttributeError:
            pass
    ctx.tables[key] = (rows, table)
    return table


def _conjuncts(node: Any) -> list[Any]:
    if isinstance(node, BoolOp) and node.op == "and":
        out: list[Any] = []
        for a in node.args:
            out.extend(_conjuncts(a))
        return out
    return [node]


def _index_positions(ctx: _Ctx, table: _Table, schema: ObjectSchema, node: Any) -> Any:
    """Ascending positions of the rows matching one WHERE condition via an index, or None when
    the condition must be evaluated row by row. Only called after the condition compiled."""
    if not isinstance(node, Cmp) or node.kind not in ("cmp", "in") or not isinstance(node.lhs, FieldRef):
        return None
    res = _resolve(ctx, schema, node.lhs)
    if res.hops:
        return None
    fs = res.field
    if node.kind == "in":
        if fs.type not in IDISH:
            return None
        lits = {_coerce(ctx, lit, fs, fs.type, fs.name) for lit in node.values}
        if None in lits:
            return None
        idx = table.eq_index(fs.name)
        if idx is None:
            return None
        found = [idx[k] for k in lits if k in idx]
        if len(found) == 1:
            return found[0]
        return sorted(itertools.chain.from_iterable(found))   # distinct keys: disjoint position sets
    if node.op in ("!=", "<>"):
        return None
    lit = _coerce(ctx, node.value, fs, fs.type, fs.name)
    if lit is None:
        return None
    if fs.type in IDISH:
        if node.op != "=":
            return None
        idx = table.eq_index(fs.name)
        return None if idx is None else idx.get(lit, [])
    if fs.type in ("datetime", "date"):
        ri = table.range_index(fs.name, fs.type)
        return None if ri is None else ri.select(node.op, lit)
    return None


def _intersect(a: Any, b: Any) -> Any:
    """Two ascending position sequences (range or list) -> their ascending intersection."""
    if isinstance(b, range):
        a, b = b, a
    if isinstance(a, range):
        if isinstance(b, range):
            return range(max(a.start, b.start), max(min(a.stop, b.stop), max(a.start, b.start)))
        return b[bisect.bisect_left(b, a.start):bisect.bisect_left(b, a.stop)]
    if len(a) > len(b):
        a, b = b, a
    members = set(b)
    return [i for i in a if i in members]


def _select(ctx: _Ctx, q: Query, schema: ObjectSchema) -> tuple[list[dict[str, Any]], _Table | None, Any]:
    """The object's rows passing WHERE, in row order (no copies: the catalog's own dicts), with
    the table and the rows' positions in it when the index path answered (else None, None)."""
    rows = ctx.catalog.rows(schema.name)
    if q.where is None:
        if not _USE_INDEXES:
            return list(rows), None, None
        table = _table(ctx, rows)
        return list(table.snap), table, range(table.n)

    def operand(lhs: Any) -> _Operand:
        if isinstance(lhs, AggCall):
            raise ctx.fail("MALFORMED_QUERY", lhs.pos, "Aggregate functions are not allowed in the WHERE clause")
        res = _resolve(ctx, schema, lhs)
        if not res.field.filterable:
            raise ctx.fail("INVALID_FIELD", lhs.pos, f"field '{res.field.name}' can not be filtered in query call")
        return _Operand(res.getter, res.field.type, res.field.name, res.field)

    parts = _conjuncts(q.where)
    # every condition is compiled first, in clause order, so errors come out exactly as before
    # (a top-level AND evaluates its conditions left to right and stops at the first false one)
    preds = [_compile_cond(ctx, p, operand) for p in parts]
    if not _USE_INDEXES:
        if len(preds) == 1:
            only = preds[0]
            return [r for r in rows if only(r)], None, None
        return [r for r in rows if all(p(r) for p in preds)], None, None
    table = _table(ctx, rows)
    snap = table.snap
    positions: Any = None
    residual = []
    for part, pred in zip(parts, preds):
        pos = _index_positions(ctx, table, schema, part)
        if pos is None:
            residual.append(pred)
        else:
            positions = pos if positions is None else _intersect(positions, pos)
    if positions is None:
        positions = range(table.n)
    if residual:
        if len(residual) == 1:
            only = residual[0]
            positions = [i for i in positions if only(snap[i])]
        else:
            positions = [i for i in positions if all(p(snap[i]) for p in residual)]
    if isinstance(positions, range):
        return snap[positions.start:positions.stop], table, positions
    return [snap[i] for i in positions], table, positions


def _filtered_rows(ctx: _Ctx, q: Query, schema: ObjectSchema) -> list[dict[str, Any]]:
    """The object's rows passing WHERE (no copies: the catalog's own dicts), in row order."""
    return _select(ctx, q, schema)[0]


def _column(rows: list[dict[str, Any]], table: _Table | None, positions: Any, res: "_Resolved") -> list[Any]:
    """One field's values over `rows` (from the table's cached column when there is one)."""
    if res.hops:
        get = res.getter
        return [get(r) for r in rows]
    name = res.field.name
    if table is None:
        return [r.get(name) for r in rows]
    base = table.col(name)
    if isinstance(positions, range):
        return base[positions.start:positions.stop]
    return [base[i] for i in positions]


# --------------------------------------------------------------------------------------------
# Ordering, paging


def _sort(items: list, keys: list[tuple[Callable[[Any], Any], bool, bool]]) -> list:
    """Stable multi-key sort; text case-insensitive; NULLS FIRST/LAST honoured per key."""
    for get, desc, nulls_first in reversed(keys):
        null_rank = 0 if nulls_first != desc else 1

        def key(it: Any, _g=get, _nr=null_rank) -> tuple:
            v = _g(it)
            if v is None:
                return (_nr, 0)
            if isinstance(v, str):
                v = v.casefold()
            return (1 - _nr, v)
        items.sort(key=key, reverse=desc)
    return items


def _sort_keys(values: list[Any], desc: bool, nulls_first: bool) -> list[Any]:
    """The sort key of each value, ordering exactly as `_sort`'s key does (NULLS FIRST/LAST,
    text case-insensitive); the bare values when there is neither a null nor a text among them
    (then `_sort`'s keys all share their first element)."""
    types = {type(v) for v in values}
    if type(None) not in types and not any(issubclass(t, str) for t in types):
        return values
    null_rank = 0 if nulls_first != desc else 1
    null_key, rank = (null_rank, 0), 1 - null_rank
    return [null_key if v is None else (rank, v.casefold() if isinstance(v, str) else v) for v in values]


def _ordered_positions(columns: list[tuple[list[Any], bool, bool]], n: int, top: int | None) -> list[int]:
    """Positions 0..n-1 in the order `_sort` would leave them, cut to the first `top` when given.

    One key, or keys all in the same direction: one stable sort on composite keys (the same
    order as one stable sort per key, last key first). With a LIMIT far below the row count on
    unordered data, `heapq.nsmallest/nlargest`, documented as equivalent to `sorted(...)[:top]`
    (stable as well); on data already (nearly) in order a sort is linear and beats the heap."""
    keyed = [(_sort_keys(vals, desc, nf), desc) for vals, desc, nf in columns]
    if top is not None and top >= n:
        top = None
    if len({d for _, d in keyed}) == 1:
        desc = keyed[0][1]
        keys = keyed[0][0] if len(keyed) == 1 else list(zip(*(k for k, _ in keyed)))
        if top is not None:
            breaks = sum(map(operator.gt, keys, itertools.islice(keys, 1, None)))
            if n // 16 <= breaks <= n - n // 16:
                pick = heapq.nlargest if desc else heapq.nsmallest
                return pick(top, range(n), key=keys.__getitem__)
        out = sorted(range(n), key=keys.__getitem__, reverse=desc)
    else:
        out = list(range(n))
        for keys, desc in reversed(keyed):
            out.sort(key=keys.__getitem__, reverse=desc)
    return out if top is None else out[:top]


def _page(items: list, q: Query) -> list:
    start = q.offset or 0
    end = start + q.limit if q.limit is not None else None
    return items[start:end] if (start or end is not None) else items


# --------------------------------------------------------------------------------------------
# Plain (non-aggregate) queries and projection


class _Node:
    """Projection tree: leaves are fields of this level, children are parent relationships."""

    def __init__(self) -> None:
        self.entries: dict[str, Any] = {}   # lower key -> ("field", canonical, name) | ("rel", _RelNode)
        #                                   | ("sub", canonical name, compiled subquery)


class _RelNode:
    def __init__(self, name: str, ref_field: str, look: Callable[[Any], tuple[str, dict[str, Any]] | None]):
        self.name, self.ref_field, self.look, self.node = name, ref_field, look, _Node()


def _project(ctx: _Ctx, node: _Node, sobject: str, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": {"type": sobject, "url": ctx.url(sobject, row.get("Id"))}}
    for entry in node.entries.values():
        kind = entry[0]
        if kind == "field":
            out[entry[1]] = _format_value(row.get(entry[1]))
        elif kind == "rel":
            rel: _RelNode = entry[1]
            rid = row.get(rel.ref_field)
            hit = rel.look(rid) if rid is not None else None
            out[rel.name] = _project(ctx, rel.node, hit[0], hit[1]) if hit else None
        else:
            out[entry[1]] = entry[2](row)
    return out


def _build_projection(ctx: _Ctx, schema: ObjectSchema, items: Iterable[Any], *, allow_sub: bool) -> _Node:
    root = _Node()
    for item in items:
        if isinstance(item, SubQuery):
            if not allow_sub:
                raise ctx.fail("MALFORMED_QUERY", item.query.sobject_pos, "unexpected token: 'SELECT'")
            name, run = _compile_child(ctx, schema, item.query)
            root.entries.setdefault("(" + name.lower(), ("sub", name, run))
            continue
        res = _resolve(ctx, schema, item)
        node = root
        for rel_name, ref_field, targets in res.hops:
            key = rel_name.lower()
            entry = node.entries.get(key)
            if entry is None or entry[0] != "rel":
                entry = ("rel", _RelNode(rel_name, ref_field.name, _lookup(ctx, targets)))
                node.entries[key] = entry
            node = entry[1].node
        node.entries.setdefault(res.field.name.lower(), ("field", res.field.name))
    return root


def _compile_child(ctx: _Ctx, parent: ObjectSchema, q: Query) -> tuple[str, Callable[[dict[str, Any]], Any]]:
    """A parent-to-child subquery: child rows grouped by parent Id, projected per parent."""
    low = q.sobject.lower()
    rel = next((c for c in parent.child_relationships if c.name.lower() == low), None)
    if rel is None:
        raise ctx.fail("INVALID_TYPE", q.sobject_pos,
                       f"Didn't understand relationship '{q.sobject}' in FROM part of query call. If you are "
                       f"attempting to use a custom relationship, be sure to append the '__r' after the custom "
                       f"relationship name. {WSDL_HINT}")
    child = _describe(ctx, rel.child_sobject, q.sobject_pos)
    if any(isinstance(i, AggItem) for i in q.items) or q.group_by:
        raise ctx.fail("MALFORMED_QUERY", q.sobject_pos, "Nested queries cannot use aggregate functions")
    proj = _build_projection(ctx, child, q.items, allow_sub=False)
    rows = _order_rows(ctx, q, child, _filtered_rows(ctx, q, child))
    by_parent: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        by_parent.setdefault(r.get(rel.field), []).append(r)

    def run(parent_row: dict[str, Any]) -> Any:
        kids = _page(by_parent.get(parent_row.get("Id"), []), q)
        if not kids:
            return None
        recs = [_project(ctx, proj, child.name, k) for k in kids]
        return {"totalSize": len(recs), "done": True, "records": recs}
    return rel.name, run


def _order_rows(ctx: _Ctx, q: Query, schema: ObjectSchema, rows: list[dict[str, Any]],
                table: _Table | None = None, positions: Any = None, top: int | None = None) -> list[dict[str, Any]]:
    """`rows` in ORDER BY order; only the first `top` when given (the caller pages after)."""
    if not q.order_by:
        return rows
    keys = []
    for item in q.order_by:
        if isinstance(item.target, AggCall):
            raise ctx.fail("MALFORMED_QUERY", item.target.pos,
                           "Ordered field must be grouped or aggregated: " + item.target.func)
        res = _resolve(ctx, schema, item.target)
        if not res.field.sortable:
            raise ctx.fail("INVALID_FIELD", item.target.pos,
                           f"field '{res.field.name}' can not be sorted in a query call")
        keys.append((res, item.desc, item.nulls_first))
    if table is None:
        positions = None
    columns = [(_column(rows, table, positions, res), desc, nf) for res, desc, nf in keys]
    return [rows[i] for i in _ordered_positions(columns, len(rows), top)]


# --------------------------------------------------------------------------------------------
# Aggregate queries


_NUMERIC_AGG = {"SUM", "AVG"}


@dataclass
class _AggSpec:
    call: AggCall
    res: _Resolved | None      # None only for COUNT()


def _agg_value(func: str, col: list[Any] | None, members: Any, n: int) -> Any:
    """One aggregate over a group: `members` are positions into `col` (the field's values)."""
    if col is None:
        return len(members)
    if isinstance(members, range) and members.start == 0 and members.stop == n:
        vals = [v for v in col if v is not None]
    else:
        vals = [v for i in members if (v := col[i]) is not None]
    if func == "COUNT":
        return len(vals)
    if func == "COUNT_DISTINCT":
        return len({v.casefold() if isinstance(v, str) else v for v in vals})
    if not vals:
        return None
    if func == "MIN":
        return min(vals)
    if func == "MAX":
        return max(vals)
    if func == "SUM":
        return sum(vals)
    return sum(vals) / len(vals)


def _run_aggregate(ctx: _Ctx, q: Query, schema: ObjectSchema) -> QueryResult:
    """GROUP BY / aggregate queries. The SELECT list, HAVING and ORDER BY are checked before any
    row is read, so errors come out in clause order and never depend on the data."""
    group_res = []
    for g in q.group_by:
        res = _resolve(ctx, schema, g)
        if not res.field.groupable:
            raise ctx.fail("INVALID_FIELD", g.pos, f"field '{res.field.name}' can not be grouped in a query call")
        group_res.append(res)
    group_keys = [tuple(p.lower() for p in r.canonical) for r in group_res]

    def group_index(ref: FieldRef) -> int | None:
        res = _resolve(ctx, schema, ref)
        key = tuple(p.lower() for p in res.canonical)
        return group_keys.index(key) if key in group_keys else None

    specs: dict[tuple, _AggSpec] = {}

    def spec_for(call: AggCall) -> _AggSpec:
        k = call.key()
        if k not in specs:
            res = None
            if call.arg is not None:
                res = _resolve(ctx, schema, call.arg)
                if call.func in _NUMERIC_AGG and res.field.type not in NUMERIC:
                    raise ctx.fail("MALFORMED_QUERY", call.pos,
                                   f"field {res.field.name} does not support aggregate operator {call.func}")
            specs[k] = _AggSpec(call, res)
        return specs[k]

    # SELECT list: keys and value producers, in order
    columns: list[tuple[str, Callable[[tuple, dict], Any]]] = []
    expr_n = 0
    count_only = False
    for item in q.items:
        if isinstance(item, SubQuery):
            raise ctx.fail("MALFORMED_QUERY", item.query.sobject_pos,
                           "Nested queries cannot be used with aggregate functions")
        if isinstance(item, AggItem):
            if item.call.func == "COUNT" and item.call.arg is None:
                if len(q.items) > 1:
                    raise ctx.fail("MALFORMED_QUERY", item.call.pos,
                                   "COUNT() must be the only element in the SELECT list")
                count_only = True
                continue
            spec = spec_for(item.call)
            if item.alias:
                key = item.alias
            else:
                key = f"expr{expr_n}"
                expr_n += 1
            columns.append((key, lambda gk, aggs, _k=spec.call.key(): aggs[_k]))
        else:
            idx = group_index(item)
            if idx is None:
                raise ctx.fail("MALFORMED_QUERY", item.pos, f"Field must be grouped or aggregated: {item.path[-1]}")
            columns.append((group_res[idx].field.name, lambda gk, aggs, _i=idx: gk[_i]))

    aliases = {item.alias.lower(): item.call.key() for item in q.items
               if isinstance(item, AggItem) and item.alias}

    def group_operand(lhs: Any) -> _Operand:
        if isinstance(lhs, AggCall):
            spec_for(lhs)  # registers the aggregate so it is computed (and validated) per group
            ftype = "int" if lhs.func.startswith("COUNT") else ("double" if lhs.func == "AVG" else
                                                                 _resolve(ctx, schema, lhs.arg).field.type)
            return _Operand(lambda g, _k=lhs.key(): g[1][_k], ftype, lhs.func, None)
        idx = group_index(lhs)
        if idx is None:
            raise ctx.fail("MALFORMED_QUERY", lhs.pos, f"Field must be grouped or aggregated: {lhs.path[-1]}")
        res = group_res[idx]
        return _Operand(lambda g, _i=idx: g[0][_i], res.field.type, res.field.name, res.field)

    having = _compile_cond(ctx, q.having, group_operand) if q.having is not None else None

    order_keys = []
    for item in q.order_by:
        target = item.target
        if isinstance(target, FieldRef) and len(target.path) == 1 and target.path[0].lower() in aliases:
            k = aliases[target.path[0].lower()]
            order_keys.append((lambda g, _k=k: g[1][_k], item.desc, item.nulls_first))
            continue
        if isinstance(target, AggCall):
            k = spec_for(target).call.key()
            order_keys.append((lambda g, _k=k: g[1][_k], item.desc, item.nulls_first))
            continue
        idx = group_index(target)
        if idx is None:
            raise ctx.fail("MALFORMED_QUERY", target.pos,
                           f"Ordered field must be grouped or aggregated: {target.path[-1]}")
        order_keys.append((lambda g, _i=idx: g[0][_i], item.desc, item.nulls_first))

    # group the rows' positions (one pass over the key columns), then compute every aggregate
    # once per group from the aggregated fields' columns
    rows, table, positions = _select(ctx, q, schema)
    n = len(rows)
    groups: dict[tuple, Any] = {}
    if not group_res:
        groups[()] = range(n)
    else:
        cols = [_column(rows, table, positions, r) for r in group_res]
        get_bucket = groups.get
        for i, k in enumerate(zip(*cols)):
            bucket = get_bucket(k)
            if bucket is None:
                groups[k] = [i]
            else:
                bucket.append(i)

    spec_cols = {k: (_column(rows, table, positions, s.res) if s.res is not None else None)
                 for k, s in specs.items()}
    results: list[tuple[tuple, dict]] = []
    for gk, members in groups.items():
        aggs = {k: _agg_value(s.call.func, spec_cols[k], members, n) for k, s in specs.items()}
        results.append((gk, aggs))
    if having is not None:
        results = [g for g in results if having(g)]
    if count_only:
        total = len(results) if q.group_by else len(rows)
        if q.limit is not None:
            total = min(total, q.limit)
        return QueryResult(total, [])
    if order_keys:
        results = _sort(results, order_keys)
    results = _page(results, q)
    records = []
    for gk, aggs in results:
        rec: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
        for key, fn in columns:
            rec[key] = _format_value(fn(gk, aggs))
        records.append(rec)
    return QueryResult(len(records), records)


# --------------------------------------------------------------------------------------------
# Entry point


@dataclass(frozen=True)
class Column:
    """One SELECT-list column as a query's column metadata describes it."""

    name: str                        # field, parent or child relationship, alias or exprN
    display: str                     # the field's name, or `avg(Amount)` for a function
    sobject: str | None              # the object the field belongs to (None: not a field)
    field: FieldSchema | None        # None for relationships, subqueries and functions
    aggregate: bool = False          # a child subquery or an aggregate function
    function: str | None = None      # COUNT, SUM, ... for an aggregate function
    foreign_key: str | None = None   # a parent relationship's reference field, e.g. OwnerId
    joins: tuple["Column", ...] = ()


@dataclass(frozen=True)
class QueryColumns:
    sobject: str
    key_prefix: str
    group_by: bool
    id_selected: bool
    columns: tuple[Column, ...]


def describe_columns(soql: str, catalog: Catalog, *, api_version: str = "59.0",
                     tooling: bool = False) -> QueryColumns:
    """The columns a query would return, checked as `execute` checks them (same errors), with
    parent relationships nested (`Owner` joins `Name`), child subqueries as aggregate columns
    joining their fields, and unaliased aggregate functions named expr0, expr1, ..."""
    q = _parse(soql)
    ctx = _Ctx(soql, catalog, api_version, tooling)
    schema = _describe(ctx, q.sobject, q.sobject_pos)
    columns: list[Column] = []
    expr_n = 0
    for item in q.items:
        if isinstance(item, SubQuery):
            low = item.query.sobject.lower()
            rel = next((c for c in schema.child_relationships if c.name.lower() == low), None)
            if rel is None:
                _compile_child(ctx, schema, item.query)   # raises Salesforce's error for it
                continue
            child = _describe(ctx, rel.child_sobject, item.query.sobject_pos)
            joins = tuple(_field_column(ctx, child, i) for i in item.query.items if isinstance(i, FieldRef))
            columns.append(Column(rel.name, rel.name, None, None, aggregate=True, joins=joins))
        elif isinstance(item, AggItem):
            call = item.call
            name = item.alias or f"expr{expr_n}"
            expr_n += 0 if item.alias else 1
            arg = ".".join(call.arg.path) if call.arg else ""
            columns.append(Column(name, f"{call.func.lower()}({arg})", None, None, aggregate=True, function=call.func))
        else:
            columns.append(_field_column(ctx, schema, item))
    id_selected = any(isinstance(i, FieldRef) and [p.lower() for p in i.path] in (["id"], [schema.name.lower(), "id"])
                      for i in q.items)
    return QueryColumns(schema.name, schema.key_prefix, bool(q.group_by), id_selected, tuple(columns))


def _field_column(ctx: _Ctx, schema: ObjectSchema, ref: FieldRef) -> Column:
    """`Owner.Profile.Name` -> Owner joining Profile joining Name (the field's own column)."""
    res = _resolve(ctx, schema, ref)
    owners = [schema.name] + [targets[0] for _rel, _fs, targets in res.hops]
    column = Column(res.field.name, res.field.name, owners[-1], res.field)
    for (rel_name, ref_field, _targets), owner in zip(reversed(res.hops), reversed(owners[:-1])):
        column = Column(rel_name, rel_name, owner, None, foreign_key=ref_field.name, joins=(column,))
    return column


def execute(soql: str, catalog: Catalog, *, api_version: str = "59.0", tooling: bool = False) -> QueryResult:
    """Run one SOQL query against `catalog` as Salesforce's REST query resource would.

    Returns every matching record (LIMIT/OFFSET applied; the server pages by 2,000) in REST JSON
    shape. Raises `SoqlError` with Salesforce's errorCode and message (caret layout included).
    """
    q = _parse(soql)
    ctx = _Ctx(soql, catalog, api_version, tooling)
    schema = _describe(ctx, q.sobject, q.sobject_pos)
    is_agg = bool(q.group_by) or any(isinstance(i, AggItem) for i in q.items)
    if is_agg:
        return _run_aggregate(ctx, q, schema)
    if q.having is not None:
        raise ctx.fail("MALFORMED_QUERY", q.sobject_pos, "HAVING clause requires a GROUP BY clause")
    proj = _build_projection(ctx, schema, q.items, allow_sub=True)
    rows, table, positions = _select(ctx, q, schema)
    top = (q.offset or 0) + q.limit if q.limit is not None else None
    rows = _page(_order_rows(ctx, q, schema, rows, table, positions, top), q)
    records = [_project(ctx, proj, schema.name, r) for r in rows]
    return QueryResult(len(records), records)
