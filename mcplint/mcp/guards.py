"""Checks in a handler that guard a tainted value before it reaches a sink."""

from __future__ import annotations

from typing import Callable

import libcst as cst

from mcplint.mcp import walk
from mcplint.mcp.names import dotted

CHECK_METHODS = frozenset({"isidentifier", "isalnum", "isdigit", "isnumeric", "isdecimal"})


def is_check(test: cst.BaseExpression, names: set, qualify) -> bool:
    """`re.fullmatch(PATTERN, x)`, `PATTERN.match(x)`, `x.isidentifier()` on a tainted name."""
    if not isinstance(test, cst.Call):
        return False
    func = test.func
    if qualify(func) in ("re.match", "re.fullmatch", "re.search") or (
        isinstance(func, cst.Attribute) and func.attr.value in ("match", "fullmatch")
    ):
        return any(dotted(arg.value) in names for arg in test.args)
    if isinstance(func, cst.Attribute) and func.attr.value in CHECK_METHODS:
        return dotted(func.value) in names
    return False


def _tested(left: cst.BaseExpression, names: set) -> bool:
    """`x`, or a tuple holding `x` (`(schema, table) not in valid_tables` tests each name)."""
    if isinstance(left, cst.Tuple):
        return any(dotted(element.value) in names for element in left.elements)
    return dotted(left) in names


def if_guards(body: cst.CSTNode, sink: cst.CSTNode, names: set, qualify) -> bool:
    """An `if` testing a tainted name (allow-list membership, also of a tuple of names, or
    a pattern, alone or among `and`/`or` terms) that stops on failure (raise/return) or
    encloses the sink."""
    for node in walk.iter_nodes(body):
        if not isinstance(node, cst.If):
            continue
        polarity = _polarity(node.test, names, qualify)
        if polarity is False and any(isinstance(n, (cst.Raise, cst.Return)) for n in walk.iter_nodes(node.body)):
            return True
        if polarity is True and any(n is sink for n in walk.iter_nodes(node.body)):
            return True
    return False


def _polarity(test: cst.BaseExpression, names: set, qualify,
              allow_list: Callable[[cst.BaseExpression], bool] | None = None) -> bool | None:
    """True: `test` holds only if the names passed a check (`x in S`, `a in S and x in T`);
    False: it fails only if they passed one (`x not in S`, `a not in S or x not in T`);
    None: it says nothing about them. `allow_list`: only a membership test counts, in a
    collection it accepts (else a pattern, `re.fullmatch` or `x.isalnum()`, is a check too)."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _polarity(test.expression, names, qualify, allow_list)
        return None if inner is None else not inner
    if isinstance(test, cst.BooleanOperation):
        # `and` holds only if every term does; `or` fails only if every term does
        wanted = isinstance(test.operator, cst.And)
        if any(_polarity(side, names, qualify, allow_list) is wanted for side in (test.left, test.right)):
            return wanted
        return None
    if isinstance(test, cst.Comparison) and _tested(test.left, names) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        if allow_list is not None and not allow_list(target.comparator):
            return None
        operator = target.operator
        return True if isinstance(operator, cst.In) else False if isinstance(operator, cst.NotIn) else None
    return True if allow_list is None and is_check(test, names, qualify) else None


def membership_ifs(body: cst.CSTNode) -> list[cst.If]:
    """The `if`s under `body` whose test has an `in`/`not in` (what `allow_listed` looks at)."""
    return [node for node in walk.iter_nodes(body) if type(node) is cst.If and any(
        type(sub) is cst.ComparisonTarget and type(sub.operator) in (cst.In, cst.NotIn)
        for sub in walk.iter_nodes(node.test))]


def allow_listed(ifs: list[cst.If], sink: cst.CSTNode, names: set,
                 tainted: Callable[[cst.BaseExpression], bool] | None = None) -> bool:
    """Is a tainted name tested against an allow-list (`if x not in ALLOWED: raise`, or
    `if x in ALLOWED:` around the sink) among `ifs` (`membership_ifs` of the function)?
    The value is then one of a set the server chose: not a string (`x in "abc"` tests a
    substring), nothing the input reaches (`tainted`: does it; by default, does it hold
    one of `names`). Patterns are not enough here."""
    tainted = tainted or (lambda expr: any(type(n) is cst.Name and n.value in names for n in walk.iter_nodes(expr)))

    def allow_list(collection: cst.BaseExpression) -> bool:
        return not isinstance(collection, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)) \
            and not tainted(collection)

    tree = walk.active()
    at = tree.order.get(id(sink)) if tree is not None else None
    for node in ifs:
        polarity = _polarity(node.test, names, None, allow_list)
        if polarity is False:
            start = tree.order.get(id(node)) if at is not None else None
            if start is not None and tree.ends[start] > at:
                continue  # the check comes after the sink, or holds it in its failing branch
            if any(isinstance(n, (cst.Raise, cst.Return)) for n in walk.iter_nodes(node.body)):
                return True
        if polarity is True and any(n is sink for n in walk.iter_nodes(node.body)):
            return True
    return False


def taint_names(taint) -> set[str]:
    """The names a tainted value went by: its parameter and the variables assigned on the way."""
    names = {taint.param}
    for step in taint.steps:
        node = step.node
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else \
            [node.target] if isinstance(node, (cst.AnnAssign, cst.NamedExpr)) else []
        names.update(name for target in targets if (name := dotted(target)) is not None)
    return names
