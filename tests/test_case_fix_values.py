"""Every case fix text gets every value it names, on every path of the code (not only the paths the
built-in worlds reach).

`RUNBOOK.finding(..., cause=C, case=K, evidence=E, values=V)` shows the message
`fix_<c>_<k>[_enterprise|_professional]` (else `fix_<c>`) formatted with E's plain values and V
(registry.Runbook.finding). A text naming a value its call site does not pass cannot be formatted:
the finding then shows the cause's whole text, the menu DESIGN principle 10 removes. The rare
paths (a refused read, an org of another edition, a user nobody named) are exactly where the
built-in worlds do not go, so this test reads the code instead of running it:

- it finds every `RUNBOOK.finding(...)` call in lib/sfdoctor/runbook_checks/*.py;
- the causes it can give: the constant `cause=`, else every cause code of the runbook that the
  code feeding that argument names (a backward slice through the function's assignments and the
  functions it calls, here and in sfdoctor.checks, with the module-level tables they read);
- the cases: the constant `case=` or evidence `which`, else every case of the cause;
- the values: the keys of `evidence` (dict literals, `d["k"] = ...`, `d.update(...)`, `{**d}`,
  `dict(d)`, what a called helper returns) and of `values`;
- and checks that each text those can pick names only values among them (`username` also when
  the runbook has a `the_user` word, which the registry puts in for a user nobody named).

A call site whose values cannot be read this way fails too: a check that builds a case text's
values where this test cannot see them must be written so that it can.
"""
from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import pytest

from sfdoctor import runbooks
from sfdoctor.i18n import LANGS, pick, placeholders

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ROOT / "lib" / "sfdoctor" / "runbook_checks"
FAMILIES = ("enterprise", "professional")
DEPTH = 8  # calls followed from a call site (interpret -> its helpers -> their tables)


# --------------------------------------------------------------------------- modules and functions
@dataclass
class Module:
    name: str
    tree: ast.Module
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    globals: dict[str, ast.expr] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # alias -> (module, name or None)
    parents: dict[int, ast.AST] = field(default_factory=dict)


@lru_cache(maxsize=None)
def module(name: str) -> Module | None:
    """A module of the sfdoctor package, parsed (None for anything else)."""
    if not name.startswith("sfdoctor."):
        return None
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    mod = Module(name, tree)
    package = name.rsplit(".", 1)[0] if not spec.origin.endswith("__init__.py") else name
    for node in ast.walk(tree):  # imports inside functions too (a check imports `access` where it needs it)
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rsplit(".", 1)[0]
            source = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule.startswith("sfdoctor.") and _is_module(submodule):
                    mod.imports[alias.asname or alias.name] = (submodule, None)
                else:
                    mod.imports[alias.asname or alias.name] = (source, alias.name)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            mod.functions[node.name] = node  # type: ignore[assignment]
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    mod.globals[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            mod.globals[node.target.id] = node.value
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            mod.parents[id(child)] = parent
    return mod


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ModuleNotFoundError, ValueError):
        return False


def enclosing_function(mod: Module, node: ast.AST) -> ast.FunctionDef | None:
    while id(node) in mod.parents:
        node = mod.parents[id(node)]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node  # type: ignore[return-value]
    return None


def callee(mod: Module, call: ast.Call) -> tuple[Module, ast.FunctionDef] | None:
    """The function a call names, here or in an sfdoctor module it imports."""
    fn = call.func
    if isinstance(fn, ast.Name):
        if fn.id in mod.functions:
            return mod, mod.functions[fn.id]
        if fn.id in mod.imports:
            source, name = mod.imports[fn.id]
            other = module(source)
            if other is not None and name in other.functions:
                return other, other.functions[name]
    if isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name) and fn.value.id in mod.imports:
        source, name = mod.imports[fn.value.id]
        other = module(source if name is None else f"{source}.{name}")
        if other is not None and fn.attr in other.functions:
            return other, other.functions[fn.attr]
    return None


# --------------------------------------------------------------------------- where a value comes from
Path_ = tuple            # steps from a value to the part meant: a tuple position, a dict key, ".attr"
                         # (`a, (b, c) = ...` -> c: (1, 1); `d["which"]` -> ("which",); `v.cause` -> (".cause",))
ANY = "*"                # a step to any item of a container (an index or key the code computes)
PARAMETER = "parameter: "
Origin = tuple[Module, "ast.FunctionDef | None", ast.expr]


def _bound(target: ast.AST, path: Path_ = ()) -> dict[str, Path_]:
    """The names an assignment target binds, each with its position in the value."""
    if isinstance(target, ast.Name):
        return {target.id: path}
    if isinstance(target, (ast.Tuple, ast.List)):
        out: dict[str, Path_] = {}
        for i, element in enumerate(target.elts):
            out |= _bound(element.value if isinstance(element, ast.Starred) else element,
                          path if isinstance(element, ast.Starred) else path + (i,))
        return out
    return {}


_BINDINGS: dict[tuple[int, str], list[tuple[ast.expr, Path_, bool]]] = {}


def _bindings(fn: ast.FunctionDef, name: str) -> list[tuple[ast.expr, Path_, bool]]:
    """Every value `fn` binds to `name`: (expression, position in it, whether it is iterated)."""
    key = (id(fn), name)
    if key not in _BINDINGS:
        out = []
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign):
                out += [(node.value, _bound(t)[name], False) for t in node.targets if name in _bound(t)]
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None and name in _bound(node.target):
                out.append((node.value, _bound(node.target)[name], False))
            elif isinstance(node, (ast.For, ast.comprehension)) and name in _bound(node.target):
                out.append((node.iter, _bound(node.target)[name], True))
            elif isinstance(node, ast.withitem) and node.optional_vars is not None and name in _bound(node.optional_vars):
                out.append((node.context_expr, _bound(node.optional_vars)[name], False))
            elif isinstance(node, ast.NamedExpr) and node.target.id == name:
                out.append((node.value, (), False))
        _BINDINGS[key] = out
    return _BINDINGS[key]


def _stored(fn: ast.FunctionDef, name: str, key: str) -> list[ast.expr]:
    """What `fn` stores under `key` in the dict `name` after building it (d[key] = v, d.update(key=v))."""
    out = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign):
            out += [node.value for t in node.targets if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)
                    and t.value.id == name and isinstance(t.slice, ast.Constant) and t.slice.value == key]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("update", "setdefault") \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == name:
            out += [kw.value for kw in node.keywords if kw.arg == key]
            if node.func.attr == "setdefault" and len(node.args) == 2 and isinstance(node.args[0], ast.Constant) \
                    and node.args[0].value == key:
                out.append(node.args[1])
    return out


def _params(fn: ast.FunctionDef) -> set[str]:
    a = fn.args
    return {p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs, *([a.vararg] if a.vararg else []),
                            *([a.kwarg] if a.kwarg else [])]}


def caller_arguments(mod: Module, fn: ast.FunctionDef, param: str) -> list[Origin]:
    """What the module's calls of `fn` pass for its parameter `param` (positionally or by name)."""
    names = [a.arg for a in [*fn.args.posonlyargs, *fn.args.args]]
    out = []
    for call in ast.walk(mod.tree):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == fn.name:
            given = next((kw.value for kw in call.keywords if kw.arg == param), None)
            if given is None and param in names and names.index(param) < len(call.args):
                given = call.args[names.index(param)]
            if given is not None:
                out.append((mod, enclosing_function(mod, call), given))
    return out


def _argument(calls: tuple, fn: ast.FunctionDef, param: str) -> list[Origin]:
    """What the call being followed into `fn` passes for `param` (in the caller's module and scope)."""
    for callee_id, call, where, scope in reversed(calls):
        if callee_id == id(fn):
            names = [a.arg for a in [*fn.args.posonlyargs, *fn.args.args]]
            given = next((kw.value for kw in call.keywords if kw.arg == param), None)
            if given is None and param in names and names.index(param) < len(call.args):
                given = call.args[names.index(param)]
            if given is None:
                default = _default(fn, param)
                return [(where, scope, default)] if default is not None else []
            return [(where, scope, given)]
    return []


def _default(fn: ast.FunctionDef, param: str) -> ast.expr | None:
    positional = [*fn.args.posonlyargs, *fn.args.args]
    defaults = dict(zip([a.arg for a in positional][len(positional) - len(fn.args.defaults):], fn.args.defaults))
    defaults |= {a.arg: d for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults) if d is not None}
    return defaults.get(param)


def record_class(mod: Module, call: ast.Call) -> ast.ClassDef | None:
    """The dataclass or NamedTuple a call builds, here or in an sfdoctor module it imports."""
    fn = call.func
    where, name = mod, None
    if isinstance(fn, ast.Name):
        name = fn.id
        if fn.id in mod.imports and mod.imports[fn.id][1] is not None:
            where, name = module(mod.imports[fn.id][0]), mod.imports[fn.id][1]
    elif isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name) and fn.value.id in mod.imports:
        source, sub = mod.imports[fn.value.id]
        where, name = module(source if sub is None else f"{source}.{sub}"), fn.attr
    if where is None or name is None:
        return None
    return next((n for n in where.tree.body if isinstance(n, ast.ClassDef) and n.name == name), None)


def _field(cls: ast.ClassDef, call: ast.Call, attr: str) -> ast.expr | None:
    fields = [n for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)]
    names = [f.target.id for f in fields]  # type: ignore[union-attr]
    if attr not in names:
        return None
    given = next((kw.value for kw in call.keywords if kw.arg == attr), None)
    if given is None and names.index(attr) < len(call.args):
        given = call.args[names.index(attr)]
    return given if given is not None else fields[names.index(attr)].value or ast.Constant(None)


def origins(where: Module, scope: ast.FunctionDef | None, expr: ast.expr, path: Path_ = (), depth: int = 0,
            seen: frozenset = frozenset(), lost: list[str] | None = None, calls: tuple = ()) -> list[Origin]:
    """The expressions the part `path` of `expr`'s value can come from, followed through names
    (their bindings; for a parameter, what the module's callers pass), calls of known functions
    (their return values), records built by known classes, the attributes the module stores in
    (a check's facts), conditionals, unpacking, dict keys and tuple positions. A leaf is an
    expression of any other kind (a literal, a call of code outside sfdoctor). What cannot be
    followed is told in `lost`."""
    def more(w: Module, s: "ast.FunctionDef | None", e: ast.expr, p: Path_, d: int | None = None,
             lo: "list[str] | None | bool" = False, c: tuple | None = None) -> list[Origin]:
        return origins(w, s, e, p, depth if d is None else d, seen, lost if lo is False else lo,  # type: ignore[arg-type]
                       calls if c is None else c)

    def cannot(why: str) -> list[Origin]:
        if lost is not None:
            lost.append(f"{why} (line {getattr(expr, 'lineno', '?')})")
        return []

    if ("E", id(expr), path) in seen:
        return []
    seen = seen | {("E", id(expr), path)}
    if isinstance(expr, ast.Name):
        out: list[Origin] = []
        bound = _bindings(scope, expr.id) if scope is not None else []
        for value, at, iterated in bound:
            if iterated and isinstance(value, (ast.Tuple, ast.List, ast.Set)):
                for element in value.elts:
                    out += more(where, scope, element, at + path)
            elif iterated:
                out += cannot(f"the items of {ast.unparse(value)}")
            else:
                out += more(where, scope, value, at + path)
        if scope is not None and path and isinstance(path[0], str):
            out += [o for v in _stored(scope, expr.id, path[0]) for o in more(where, scope, v, path[1:])]
        if not bound and scope is not None and expr.id in _params(scope):
            passed = _argument(calls, scope, expr.id) or caller_arguments(where, scope, expr.id)
            out += [o for w, caller, arg in passed for o in more(w, caller, arg, path)]
            if not passed:
                out += cannot(f"{PARAMETER}{expr.id}, a parameter of {scope.name} that no code here passes")
        elif not bound and expr.id in where.globals:
            out += more(where, None, where.globals[expr.id], path)
        elif not bound and not path:
            out.append((where, scope, expr))
        elif not bound:
            out += cannot(f"{expr.id}")
        return out
    if isinstance(expr, ast.IfExp):
        return more(where, scope, expr.body, path) + more(where, scope, expr.orelse, path)
    if isinstance(expr, ast.BoolOp):
        return [o for v in expr.values for o in more(where, scope, v, path)]
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant) and isinstance(expr.slice.value, (int, str)):
        return _item(where, scope, expr.value, expr.slice.value, path, depth, seen, lost)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "get" and expr.args \
            and isinstance(expr.args[0], ast.Constant) and isinstance(expr.args[0].value, str):
        default = expr.args[1] if len(expr.args) > 1 else ast.Constant(None)
        return _item(where, scope, expr.func.value, expr.args[0].value, path, depth, seen, lost) + more(where, scope, default, path)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict":
        if path and isinstance(path[0], str):
            return ([o for a in expr.args for o in more(where, scope, a, path)]
                    + [o for kw in expr.keywords if kw.arg == path[0] for o in more(where, scope, kw.value, path[1:])])
        if not path:
            return [(where, scope, expr)]
    if isinstance(expr, ast.Attribute) and isinstance(expr.ctx, ast.Load):
        # The record it is read from, and what the module stores in that attribute of any object
        # (a check's facts arrive as a parameter nobody here passes: their attributes are followed
        # to where the module sets them).
        if isinstance(expr.value, ast.Name) and expr.value.id in where.imports and where.imports[expr.value.id][1] is None:
            other = module(where.imports[expr.value.id][0])  # a module's own table: mu.LOGIN_VERDICTS
            if other is not None and expr.attr in other.globals:
                return more(other, None, other.globals[expr.attr], path)
            return cannot(f"{ast.unparse(expr)}")
        missed: list[str] = []
        out = more(where, scope, expr.value, ("." + expr.attr,) + path, lo=missed)
        stored = _attribute_bindings(where.name, expr.attr)
        out += [o for f, value in stored for o in more(where, f, value, path)]
        if lost is not None:
            lost += [m for m in missed if not (m.startswith(PARAMETER) and stored)]
        return out if out or missed else cannot(f"{ast.unparse(expr)}")
    if isinstance(expr, ast.Subscript) or (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
                                           and expr.func.attr == "get" and expr.args):
        # container[computed] / container.get(computed): any of its values
        container = expr.value if isinstance(expr, ast.Subscript) else expr.func.value  # type: ignore[union-attr]
        default = expr.args[1:2] if isinstance(expr, ast.Call) else []
        return more(where, scope, container, (ANY,) + path) + [o for d in default for o in more(where, scope, d, path)]
    if path and path[0] == ANY and isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
        return [o for e in expr.elts for o in more(where, scope, e, path[1:])]
    if path and path[0] == ANY and isinstance(expr, ast.Dict):
        return [o for k, v in zip(expr.keys, expr.values) for o in more(where, scope, v, path if k is None else path[1:])]
    if path and isinstance(path[0], int) and isinstance(expr, (ast.Tuple, ast.List)):
        return more(where, scope, expr.elts[path[0]], path[1:]) if path[0] < len(expr.elts) else []
    if path and isinstance(path[0], str) and not path[0].startswith(".") and isinstance(expr, ast.Dict):
        out = []
        for k, v in zip(expr.keys, expr.values):
            if k is None:
                out += more(where, scope, v, path)
            elif isinstance(k, ast.Constant) and k.value == path[0]:
                out += more(where, scope, v, path[1:])
            elif not isinstance(k, ast.Constant):
                out += cannot(f"a computed key {ast.unparse(k)}")
        return out
    if isinstance(expr, ast.Call):
        if path and isinstance(path[0], str) and path[0].startswith("."):
            cls = record_class(where, expr)
            if cls is not None:
                given = _field(cls, expr, path[0][1:])
                return more(where, scope, given, path[1:]) if given is not None else cannot(f"{cls.name}{path[0]}")
        target = (callee(where, expr) or method(where, expr)) if depth < DEPTH else None
        if target is not None:
            returns = [r.value for r in ast.walk(target[1]) if isinstance(r, ast.Return) and r.value is not None]
            into = calls + ((id(target[1]), expr, where, scope),)
            return [o for r in returns for o in more(target[0], target[1], r, path, depth + 1, c=into)]
    if path:
        return cannot(f"{ast.unparse(expr)}{''.join(f'[{p!r}]' for p in path)}")
    return [(where, scope, expr)]


def _item(where: Module, scope: "ast.FunctionDef | None", container: ast.expr, key: "int | str", path: Path_,
          depth: int, seen: frozenset, lost: "list[str] | None") -> list[Origin]:
    """`container[key]`: followed through the container's origins; where those cannot be followed
    (a group a query built, a helper's list), every value the module files under that dict key."""
    missed: list[str] = []
    out = origins(where, scope, container, (key,) + path, depth, seen, missed)
    if missed and isinstance(key, str):
        filed = _filed_under(where.name, key)
        out += [o for f, value in filed for o in origins(where, f, value, path, depth, seen, lost)]
        if not filed and lost is not None:
            lost += missed
    elif missed and lost is not None:
        lost += missed
    return out


@lru_cache(maxsize=None)
def _filed_under(modname: str, key: str) -> list[tuple["ast.FunctionDef | None", ast.expr]]:
    """Every value the module puts under the dict key `key`: {"key": v}, d["key"] = v."""
    mod = module(modname)
    assert mod is not None
    out = []
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Dict):
            out += [(enclosing_function(mod, node), v) for k, v in zip(node.keys, node.values)
                    if isinstance(k, ast.Constant) and k.value == key]
        if isinstance(node, ast.Assign):
            out += [(enclosing_function(mod, node), node.value) for t in node.targets
                    if isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant) and t.slice.value == key]
    return out


def method(mod: Module, call: ast.Call) -> tuple[Module, ast.FunctionDef] | None:
    """`obj.name(...)` where `obj`'s class is not known: the one method of that name in this module's
    classes and those of the sfdoctor modules it imports (None when there is none, or several)."""
    if not isinstance(call.func, ast.Attribute):
        return None
    modules = [mod] + [m for m in (module(src) for src, _ in mod.imports.values()) if m]
    found = {(m.name, id(f)): (m, f) for m in modules for c in m.tree.body if isinstance(c, ast.ClassDef)
             for f in c.body if isinstance(f, ast.FunctionDef) and f.name == call.func.attr}
    return next(iter(found.values())) if len(found) == 1 else None


@lru_cache(maxsize=None)
def _attribute_bindings(modname: str, attr: str) -> list[tuple[ast.FunctionDef | None, ast.expr]]:
    """Every value the module stores in an attribute `attr` (`facts.login = {...}`), with its function:
    state a check's facts carry from the function that read it to the one that reports it."""
    mod = module(modname)
    assert mod is not None
    out = []
    for node in ast.walk(mod.tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == attr for t in targets):
                out.append((enclosing_function(mod, node), node.value))
    return out


def backward_slice(mod: Module, fn: ast.FunctionDef | None, expr: ast.expr) -> tuple[list[ast.AST], list[str]]:
    """The code whose values can flow into `expr`: its origins, and theirs through the names,
    attributes and calls those read (a cause computed from a table: `_CAUSE[cat]`), and what of it
    this reading could not follow."""
    lost: list[str] = []
    found: list[ast.AST] = []
    done: set[int] = set()
    todo: list[Origin] = origins(mod, fn, expr, lost=lost)
    while todo:
        where, scope, node = todo.pop()
        if id(node) in done:
            continue
        done.add(id(node))
        found.append(node)
        for sub in ast.walk(node):
            if sub is not node and isinstance(sub, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)) \
                    and isinstance(getattr(sub, "ctx", ast.Load()), ast.Load):
                todo += [o for o in origins(where, scope, sub) if o[2] is not sub]
    return found, lost


def string_constants(nodes: list[ast.AST]) -> set[str]:
    return {n.value for node in nodes for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


# --------------------------------------------------------------------------- the keys a call passes
@dataclass
class Keys:
    names: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)  # what could not be read, said for the failure

    def add(self, other: "Keys") -> "Keys":
        self.names |= other.names
        self.unknown += other.unknown
        return self


def dict_keys(mod: Module, fn: ast.FunctionDef | None, expr: ast.expr | None) -> Keys:
    """The keys the dict `expr` can hold, read from the code: the literals it comes from, and what
    the functions that build it add (d["k"] = v, d.update(...), d.setdefault("k", ...), d |= ...)."""
    out = Keys()
    if expr is None:
        return out
    lost: list[str] = []
    for where, scope, leaf in origins(mod, fn, expr, lost=lost):
        if isinstance(leaf, ast.Constant) and leaf.value is None:
            continue
        if isinstance(leaf, ast.Dict):
            for k, v in zip(leaf.keys, leaf.values):
                if k is None:
                    out.add(dict_keys(where, scope, v))
                elif isinstance(k, ast.Constant) and isinstance(k.value, str):
                    out.names.add(k.value)
                else:
                    out.unknown.append(f"a computed key at line {leaf.lineno}")
        elif isinstance(leaf, ast.Call) and isinstance(leaf.func, ast.Name) and leaf.func.id == "dict":
            for arg in leaf.args:
                out.add(dict_keys(where, scope, arg))
            out.names |= {kw.arg for kw in leaf.keywords if kw.arg}
        else:
            out.unknown.append(f"{ast.unparse(leaf)} (line {leaf.lineno})")
    out.unknown += lost
    for name in _dict_names(mod, fn, expr):
        out.add(_mutations(*name))
    return out


def _dict_names(mod: Module, fn: ast.FunctionDef | None, expr: ast.expr) -> list[tuple[Module, ast.FunctionDef, str]]:
    """The local names a dict passes through on its way to `expr` (where code may add keys to it)."""
    out = []
    if isinstance(expr, ast.Name) and fn is not None:
        out.append((mod, fn, expr.id))
        for value, at, _ in _bindings(fn, expr.id):
            if not at:
                out += _dict_names(mod, fn, value)
    elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict":
        for arg in expr.args:
            out += _dict_names(mod, fn, arg)
    return out


def _mutations(mod: Module, fn: ast.FunctionDef, name: str) -> Keys:
    """Keys `fn` adds to the dict `name` after building it."""
    out = Keys()
    for node in ast.walk(fn):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
        for target in targets:
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == name:
                if isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str):
                    out.names.add(target.slice.value)
                else:
                    out.unknown.append(f"{name}[{ast.unparse(target.slice)}] (line {node.lineno})")
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            out.add(dict_keys(mod, fn, node.value))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
                and node.func.value.id == name:
            if node.func.attr == "update":
                for arg in node.args:
                    out.add(dict_keys(mod, fn, arg))
                out.names |= {kw.arg for kw in node.keywords if kw.arg}
            elif node.func.attr == "setdefault" and node.args and isinstance(node.args[0], ast.Constant):
                out.names.add(node.args[0].value)
    return out


# --------------------------------------------------------------------------- the call sites
@dataclass
class Site:
    runbook: str
    where: str  # file:line
    causes: set[str]
    cases: set[str | None] | None  # None: any case of the cause
    edition: bool
    keys: Keys


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _runbook_id(mod: Module) -> str:
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Runbook":
            return node.args[0].value  # type: ignore[attr-defined]
    raise AssertionError(f"{mod.name} builds no Runbook")


def spelled(mod: Module, fn: ast.FunctionDef | None, expr: ast.expr, path: Path_ = ()) -> set[str | None] | None:
    """The values (the part `path` of) `expr` can have when the code spells every one of them
    (`"user"`, `"url" if x else None`, a name bound to such, a helper returning such, a dict's
    key holding such); None when any is computed or cannot be followed."""
    out: set[str | None] = set()
    lost: list[str] = []
    for _, _, leaf in origins(mod, fn, expr, path, lost=lost):
        if not (isinstance(leaf, ast.Constant) and (leaf.value is None or isinstance(leaf.value, str))):
            return None
        out.add(leaf.value)
    return None if lost else out


def which_values(mod: Module, fn: ast.FunctionDef | None, evidence: ast.expr | None) -> set[str | None] | None:
    """The evidence's `which` (the case when no `case=` is given) where the code spells it, with
    None (a path that sets none); None when any is computed."""
    if evidence is None:
        return {None}
    said = spelled(mod, fn, evidence, ("which",))
    return None if said is None else said | {None}


def sites() -> Iterator[Site]:
    for path in sorted(CHECKS.glob("*.py")):
        if path.name.startswith("_"):
            continue
        mod = module(f"sfdoctor.runbook_checks.{path.stem}")
        assert mod is not None
        runbook = _runbook_id(mod)
        spec = runbooks.load(runbook)
        for call in ast.walk(mod.tree):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "finding"
                    and isinstance(call.func.value, ast.Name) and call.func.value.id == "RUNBOOK"):
                continue
            cause = _keyword(call, "cause")
            if cause is None or (isinstance(cause, ast.Constant) and cause.value is None):
                continue
            fn = enclosing_function(mod, call)
            if isinstance(cause, ast.Constant):
                causes = {cause.value}
            else:
                nodes, lost = backward_slice(mod, fn, cause)
                causes = string_constants(nodes) & set(spec.causes)
                if lost or not causes:
                    causes = set(spec.causes)  # where the cause comes from cannot be read: any of the runbook's
            evidence = _keyword(call, "evidence")
            case_arg = _keyword(call, "case")
            cases = spelled(mod, fn, case_arg) if case_arg is not None else {None}
            if cases is not None and None in cases:  # no case given on some path: the evidence's `which`
                which = which_values(mod, fn, evidence)
                cases = None if which is None else (cases - {None}) | which
            edition = _keyword(call, "edition")
            keys = dict_keys(mod, fn, evidence).add(dict_keys(mod, fn, _keyword(call, "values")))
            yield Site(runbook, f"{path.name}:{call.lineno}", causes, cases,
                       edition is not None and not (isinstance(edition, ast.Constant) and edition.value is None), keys)


# --------------------------------------------------------------------------- the texts a site can pick
def case_texts(runbook: str, cause: str) -> dict[str | None, dict[str, str]]:
    """{case (None: the cause's own text): {edition family or "": message key}} of `cause`'s fix texts."""
    spec = runbooks.load(runbook)
    longer = [c for c in spec.causes if c != cause and c.startswith(cause + "_")]
    base = f"fix_{cause.lower()}"
    out: dict[str | None, dict[str, str]] = {}
    for key in spec.messages:
        if not (key == base or key.startswith(base + "_")) or any(key.startswith(f"fix_{c.lower()}") for c in longer):
            continue
        rest = key[len(base):].lstrip("_")
        family = next((f for f in FAMILIES if rest == f or rest.endswith("_" + f)), "")
        case = rest.removesuffix(family).rstrip("_") or None
        out.setdefault(case, {})[family] = key
    return out


def picked(site: Site, cause: str) -> list[str]:
    """The message keys the registry can pick at `site` for `cause` (registry.Runbook._case_key)."""
    texts = case_texts(site.runbook, cause)
    cases = set(texts) | {None} if site.cases is None else site.cases
    keys = []
    for case in cases:
        chosen = texts.get(case) or texts.get(None) or {}
        keys += [key for family, key in chosen.items() if family == "" or site.edition]
    return sorted(set(keys))


def all_sites() -> list[Site]:
    return list(sites())


SITES = all_sites()


def test_the_reading_finds_the_call_sites_and_their_case_texts():
    """The reading itself: it sees the calls that pick case texts in every runbook (or it proves nothing)."""
    assert {s.runbook for s in SITES} == {spec.id for spec in runbooks.all_specs(ROOT / "runbooks")}
    reached = {(s.runbook, key) for s in SITES for cause in s.causes for key in picked(s, cause)}
    every = {(spec.id, key) for spec in runbooks.all_specs(ROOT / "runbooks") for key in spec.messages
             if key.startswith("fix_")}
    assert every - reached == set(), "case texts no call site can pick (dead, or the reading misses their call)"


@pytest.mark.parametrize("site", SITES, ids=[f"{s.where}" for s in SITES])
def test_every_text_a_call_site_can_pick_gets_every_value_it_names(site):
    spec = runbooks.load(site.runbook)
    defaults = {"username"} if "the_user" in spec.messages else set()
    problems = []
    for cause in sorted(site.causes):
        for key in picked(site, cause):
            named = set().union(*(placeholders(pick(spec.messages[key], lang)) for lang in LANGS))
            missing = named - site.keys.names - defaults
            if missing and site.keys.unknown:
                problems.append(f"{key} names {sorted(missing)}; the values passed cannot be read from the code: "
                                f"{'; '.join(site.keys.unknown)}")
            elif missing:
                problems.append(f"{key} names {sorted(missing)}, which this call does not pass "
                                f"(it passes {sorted(site.keys.names)})")
    assert not problems, f"{site.where}: " + " | ".join(problems)
