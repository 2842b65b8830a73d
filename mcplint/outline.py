"""CPython's `ast` of a file, its nodes grouped by type: what a rule's second cheap test
reads before libcst is asked for a tree (`Rule.imported_if`).

A byte prefilter asks whether a word is anywhere in a file; most files MCP code imports
have a `print` on one line and a `params` on another, and libcst would parse them for
nothing. CPython's parser, which the engine runs first on every file it parses anyway,
is ten times faster than libcst's, and one walk over its tree lets a rule ask the
narrower question: is the word where the rule would look for it (in the arguments of a
logging call, in a comparison)?
"""

from __future__ import annotations

import ast
from functools import cached_property
from typing import Callable


# Fields a walk does not enter: load/store contexts and operators are nodes too (a
# third of a tree), but no test needs them found by type; the nodes that hold them
# (`ast.Compare.ops`) are read directly.
_NOT_WALKED = frozenset({"ctx", "op", "ops"})
_WALKED: dict[type, tuple[str, ...]] = {}


def nodes_under(*roots: ast.AST | None) -> list[ast.AST]:
    """The nodes under `roots` (two and a half times as fast as `ast.walk`, which enters
    every context and operator node and goes through generators)."""
    nodes: list[ast.AST] = []
    stack = [root for root in roots if root is not None]
    pop, push, node_type = stack.pop, stack.append, ast.AST
    while stack:
        node = pop()
        nodes.append(node)
        kind = type(node)
        fields = _WALKED.get(kind)
        if fields is None:
            fields = _WALKED[kind] = tuple(f for f in kind._fields if f not in _NOT_WALKED)
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, node_type):
                        push(item)
            elif isinstance(value, node_type):
                push(value)
    return nodes


class Outline:
    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree

    @cached_property
    def _by_type(self) -> dict[type, list[ast.AST]]:
        found: dict[type, list[ast.AST]] = {}
        for node in nodes_under(self.tree):
            same = found.get(type(node))
            if same is None:
                found[type(node)] = [node]
            else:
                same.append(node)
        return found

    def of(self, kind: type) -> list:
        """Every node of exactly this type (in no particular order)."""
        return self._by_type.get(kind, [])

    @staticmethod
    def words(*nodes: ast.AST | None) -> tuple[str, set[str]]:
        """The identifiers, attribute names, keyword names and strings under `nodes`
        (lower-cased, one text), and the plain names among them."""
        parts: list[str] = []
        names: set[str] = set()
        for node in nodes_under(*nodes):
            kind = type(node)
            if kind is ast.Name:
                parts.append(node.id)
                names.add(node.id)
            elif kind is ast.Attribute:
                parts.append(node.attr)
            elif kind is ast.Constant and type(node.value) is str:
                parts.append(node.value)
            elif kind is ast.keyword and node.arg is not None:
                parts.append(node.arg)
        return " ".join(parts).lower(), names

    def bound_from(self, judge: Callable[[ast.AST], tuple[bool, set[str]]]) -> set[str]:
        """Names assigned (`name = value`, anywhere in the file) a value that `judge`
        finds shows something (it returns that, and the names the value reads), or that
        reads such a name, to a fixed point: what a rule that follows local aliases
        (`key = API_KEY`, `shown = key`) may take for what was assigned."""
        assignments = []
        for node in self.of(ast.Assign):
            targets = [t.id for t in node.targets if type(t) is ast.Name]
            if targets:
                assignments.append((targets, *judge(node.value)))
        for node in (*self.of(ast.AnnAssign), *self.of(ast.AugAssign), *self.of(ast.NamedExpr)):
            if type(node.target) is ast.Name and node.value is not None:
                assignments.append(([node.target.id], *judge(node.value)))
        bound: set[str] = set()
        changed = True
        while changed:
            changed = False
            for targets, shows, names in assignments:
                if not bound.issuperset(targets) and (shows or names & bound):
                    bound.update(targets)
                    changed = True
        return bound


# -- CPython's tree read as the rules read libcst's (`mcplint.mcp.names`) -------------
def ast_dotted(node: ast.AST | None) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None (`names.dotted`)."""
    parts: list[str] = []
    while type(node) is ast.Attribute:
        parts.append(node.attr)
        node = node.value
    if type(node) is not ast.Name:
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def ast_last(func: ast.AST) -> str:
    """The last name of a callee: `f` of `f`, `a.b.f` and `x().f` (`dotted` finds none in
    the last: a superset of what the last part of `dotted(...)` gives)."""
    kind = type(func)
    return func.attr if kind is ast.Attribute else func.id if kind is ast.Name else ""


def ast_string(node: ast.AST | None) -> str | None:
    """The text of a string literal, bytes read as Latin-1 (`builder.string_value`; CPython
    joins concatenated literals itself)."""
    if type(node) is ast.Constant:
        value = node.value
        if type(value) is str:
            return value
        if type(value) is bytes:
            return value.decode("latin-1")
    return None


def ast_keyword(call: ast.Call, name: str) -> ast.expr | None:
    """The value of a keyword argument (`builder.argument(call, None, name)`)."""
    return next((k.value for k in call.keywords if k.arg == name), None)


def ast_within(node: ast.AST, outer: ast.AST) -> bool:
    """Is `node` inside `outer` (by their places in the source)?"""
    return (outer.lineno, outer.col_offset) <= (node.lineno, node.col_offset) and \
        (node.end_lineno, node.end_col_offset) <= (outer.end_lineno, outer.end_col_offset)


def import_targets(outline: Outline) -> dict[str, set[str]]:
    """What each name the file's imports bind may stand for (`names.ImportTable` keeps one
    target per name, the last; here every one of them, wherever the import is)."""
    targets: dict[str, set[str]] = {}
    for node in outline.of(ast.Import):
        for alias in node.names:
            if alias.asname is not None:
                targets.setdefault(alias.asname, set()).add(alias.name)
            else:
                head = alias.name.split(".", 1)[0]
                targets.setdefault(head, set()).add(head)
    for node in outline.of(ast.ImportFrom):
        module = "." * (node.level or 0) + (node.module or "")
        joiner = "" if module.endswith(".") or not module else "."
        for alias in node.names:
            if alias.name != "*":
                targets.setdefault(alias.asname or alias.name, set()).add(f"{module}{joiner}{alias.name}")
    return targets


def ast_qualified(node: ast.AST, targets: dict[str, set[str]]) -> set[str]:
    """The names `FileContext.qualify` may give `node`: as written, or through any import
    of its first name (`import_targets`)."""
    name = ast_dotted(node)
    if name is None:
        return set()
    head, _, rest = name.partition(".")
    return {name, *(f"{t}.{rest}" if rest else t for t in targets.get(head, ()))}
