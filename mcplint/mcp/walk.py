"""A fast walk over a libcst tree.

`node.visit(visitor)` rebuilds every node of the tree on the way back up (libcst's
visitors and transformers share one code path), which costs more than parsing. Rules
only read the tree, so mcplint walks the dataclass fields instead and skips pure
whitespace and punctuation nodes, which no rule looks at: about five times faster,
with 60% fewer nodes to dispatch. Visitors keep libcst's `CSTVisitor` interface
(`on_visit` returning False skips the children; `visit_<Node>`/`leave_<Node>`).

A file's analysis walks its tree many times (the rules, every function's taint flow,
summaries, positions). `indexed(module)` lists the nodes once in pre-order, so that
while it is active every later walk of any subtree is a slice of that list, and each
node's parent is known.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import libcst as cst

_TRIVIA = (
    cst.BaseParenthesizableWhitespace,
    cst.Comma,
    cst.Semicolon,
    cst.Colon,
    cst.AssignEqual,
    cst.Newline,
    cst.EmptyLine,
    cst.TrailingWhitespace,
    cst.Comment,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    cst.Dot,
)
_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = [f.name for f in dataclasses.fields(kind) if not f.name.startswith(("whitespace", "lpar", "rpar"))]
        # decorators come first in the source, last in the dataclass
        if "decorators" in names:
            names.remove("decorators")
            names.insert(0, "decorators")
        names = _FIELDS[kind] = tuple(names)
    return names


_NODE, _SEQUENCE, _OTHER = 1, 2, 0
_KINDS: dict[type, int] = {}


def _kind(value_type: type) -> int:
    # isinstance against libcst's abstract base classes is slow; decide once per type
    kind = _KINDS.get(value_type)
    if kind is None:
        if issubclass(value_type, cst.CSTNode):
            kind = _OTHER if issubclass(value_type, _TRIVIA) else _NODE
        else:
            kind = _SEQUENCE if value_type in (list, tuple) else _OTHER
        _KINDS[value_type] = kind
    return kind


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The non-trivia children of `node`, in source order."""
    out = []
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        kind = _KINDS.get(type(value))
        if kind is None:
            kind = _kind(type(value))
        if kind == _NODE:
            out.append(value)
        elif kind == _SEQUENCE:
            for child in value:
                child_kind = _KINDS.get(type(child))
                if child_kind is None:
                    child_kind = _kind(type(child))
                if child_kind == _NODE:
                    out.append(child)
    return out


class Tree:
    """The non-trivia nodes under a root in pre-order (`iter_nodes` order): the subtree
    of the node at `i` is `nodes[i:ends[i]]`, its parent `nodes[parents[i]]`."""

    __slots__ = ("nodes", "ends", "parents", "order")

    def __init__(self, root: cst.CSTNode) -> None:
        nodes, ends, parents = [root], [0], [-1]
        stack = [(0, iter(children(root)))]
        while stack:
            at, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                ends[at] = len(nodes)
                stack.pop()
            else:
                stack.append((len(nodes), iter(children(child))))
                nodes.append(child)
                ends.append(0)
                parents.append(at)
        self.nodes, self.ends, self.parents = nodes, ends, parents
        self.order = {id(node): number for number, node in enumerate(nodes)}

    def ancestors(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """From the root down to `node` itself; [] if `node` is not in this tree."""
        at = self.order.get(id(node))
        chain: list[cst.CSTNode] = []
        while at is not None and at >= 0:
            chain.append(self.nodes[at])
            at = self.parents[at]
        chain.reverse()
        return chain


_ACTIVE: list[Tree | None] = [None]  # the tree whose walks are slices


@contextmanager
def indexed(root: cst.CSTNode, tree: Tree | None = None) -> Iterator[Tree]:
    """Make walks under `root` cheap while the block runs (one file's analysis)."""
    tree = tree or Tree(root)
    previous = _ACTIVE[0]
    _ACTIVE[0] = tree
    try:
        yield tree
    finally:
        _ACTIVE[0] = previous


def active() -> Tree | None:
    return _ACTIVE[0]


def visit(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """Walk `node` with a `CSTVisitor` without rebuilding the tree.

    Iterative, so no tree is too deep for it (generated files nest thousands deep).
    """
    tree = _ACTIVE[0]
    start = tree.order.get(id(node)) if tree is not None else None
    if start is not None:
        _visit_indexed(tree, start, visitor)
        return
    if visitor.on_visit(node) is False:
        visitor.on_leave(node)
        return
    stack = [(node, iter(children(node)))]
    while stack:
        parent, pending = stack[-1]
        child = next(pending, None)
        if child is None:
            stack.pop()
            visitor.on_leave(parent)
        elif visitor.on_visit(child) is False:
            visitor.on_leave(child)
        else:
            stack.append((child, iter(children(child))))


def _visit_indexed(tree: Tree, start: int, visitor: cst.CSTVisitor) -> None:
    nodes, ends = tree.nodes, tree.ends
    # a `TableVisitor`'s tables are read here, not through its `on_visit` for every node,
    # and a node is left only if its type has a `leave_` method (unless it overrides them)
    kind = type(visitor)
    tables = isinstance(visitor, TableVisitor)
    visits = visitor._visits if tables and kind.on_visit is TableVisitor.on_visit else None
    leaves = visitor._leaves if tables and kind.on_leave is TableVisitor.on_leave else None
    on_visit, on_leave = visitor.on_visit, visitor.on_leave
    stop = ends[start]
    open_: list[tuple[int, cst.CSTNode]] = []  # (end of its subtree, node) still to leave
    at = start
    while at < stop:
        while open_ and open_[-1][0] <= at:
            on_leave(open_.pop()[1])
        node = nodes[at]
        name = type(node).__name__ if tables else None
        if visits is None:
            entered = on_visit(node) is not False
        else:
            visit = visits.get(name)
            entered = visit is None or visit(visitor, node) is not False
        left = leaves is None or name in leaves
        if not entered:
            if left:
                on_leave(node)
            at = ends[at]
        else:
            if left:
                open_.append((ends[at], node))
            at += 1
    while open_:
        on_leave(open_.pop()[1])


def iter_nodes(node: cst.CSTNode) -> Sequence[cst.CSTNode] | Iterator[cst.CSTNode]:
    """Every non-trivia node under `node` (itself included), depth first."""
    tree = _ACTIVE[0]
    if tree is not None:
        at = tree.order.get(id(node))
        if at is not None:
            return tree.nodes[at:tree.ends[at]]
    return _iter_nodes(node)


def _iter_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


# The nodes that hold statements: a function, class or assignment is never found
# under any other node (an expression, an argument, a pattern...).
STATEMENT_HOLDERS = (cst.Module, cst.BaseSuite, cst.BaseStatement, cst.Else, cst.ExceptHandler,
                     cst.ExceptStarHandler, cst.Finally, cst.MatchCase)


def pruned(root: cst.CSTNode, kinds) -> Iterator[cst.CSTNode]:
    """`root` and the nodes under it in source order, not looking into the nodes of the
    types `kinds` below `root` (given, without what they hold): with the index active,
    what is left out is skipped as one run of it."""
    tree = _ACTIVE[0]
    at = tree.order.get(id(root)) if tree is not None else None
    if at is None:
        yield root
        stack = list(reversed(children(root)))
        while stack:
            node = stack.pop()
            yield node
            if type(node) not in kinds:
                stack.extend(reversed(children(node)))
        return
    nodes, ends = tree.nodes, tree.ends
    yield root
    at, stop = at + 1, ends[at]
    while at < stop:
        node = nodes[at]
        yield node
        at = ends[at] if type(node) in kinds else at + 1


class TableVisitor(cst.CSTVisitor):
    """A `CSTVisitor` for `visit` that finds its `visit_X`/`leave_X` methods in tables
    made once per class: `CSTVisitor` formats and looks up a method name for every node,
    on the way in and out."""

    _visits: dict[str, Callable] = {}
    _leaves: dict[str, Callable] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        own = {}  # the methods of the subclasses, not CSTVisitor's stubs for every node type
        for klass in reversed(cls.__mro__[:cls.__mro__.index(TableVisitor)]):
            own.update(vars(klass))
        cls._visits = {name[6:]: method for name, method in own.items() if name.startswith("visit_")}
        cls._leaves = {name[6:]: method for name, method in own.items() if name.startswith("leave_")}

    def on_visit(self, node: cst.CSTNode) -> bool:
        visit = self._visits.get(type(node).__name__)
        return visit is None or visit(self, node) is not False

    def on_leave(self, original_node: cst.CSTNode) -> None:
        leave = self._leaves.get(type(original_node).__name__)
        if leave is not None:
            leave(self, original_node)
