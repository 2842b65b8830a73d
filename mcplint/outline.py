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


# Fields a walk does not enter: load/store contexts and operators are nodes too (a
# third of a tree), but no test needs them found by type; the nodes that hold them
# (`ast.Compare.ops`) are read directly.
_NOT_WALKED = frozenset({"ctx", "op", "ops"})
_WALKED: dict[type, tuple[str, ...]] = {}


def _walk(*roots: ast.AST | None) -> list[ast.AST]:
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
        for node in _walk(self.tree):
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
        for node in _walk(*nodes):
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

    def bound_from(self, vocabulary: tuple[str, ...]) -> set[str]:
        """Names assigned (`name = value`, anywhere in the file) a value that shows one
        of `vocabulary`'s words or holds such a name, followed to a fixed point: where a
        rule that follows local aliases (`key = API_KEY`, `shown = key`) may see one."""
        assignments = []
        for node in self.of(ast.Assign):
            targets = [t.id for t in node.targets if type(t) is ast.Name]
            if targets:
                assignments.append((targets, *self.words(node.value)))
        for node in (*self.of(ast.AnnAssign), *self.of(ast.AugAssign), *self.of(ast.NamedExpr)):
            if type(node.target) is ast.Name and node.value is not None:
                assignments.append(([node.target.id], *self.words(node.value)))
        bound: set[str] = set()
        changed = True
        while changed:
            changed = False
            for targets, text, names in assignments:
                if not bound.issuperset(targets) and (names & bound or any(w in text for w in vocabulary)):
                    bound.update(targets)
                    changed = True
        return bound
