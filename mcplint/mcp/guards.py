"""Checks in a handler that guard a tainted value before it reaches a sink."""

from __future__ import annotations

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


def _polarity(test: cst.BaseExpression, names: set, qualify) -> bool | None:
    """True: `test` holds only if the names passed a check (`x in S`, `a in S and x in T`);
    False: it fails only if they passed one (`x not in S`, `a not in S or x not in T`);
    None: it says nothing about them."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _polarity(test.expression, names, qualify)
        return None if inner is None else not inner
    if isinstance(test, cst.BooleanOperation):
        # `and` holds only if every term does; `or` fails only if every term does
        wanted = isinstance(test.operator, cst.And)
        if any(_polarity(side, names, qualify) is wanted for side in (test.left, test.right)):
            return wanted
        return None
    if isinstance(test, cst.Comparison) and _tested(test.left, names) and len(test.comparisons) == 1:
        operator = test.comparisons[0].operator
        return True if isinstance(operator, cst.In) else False if isinstance(operator, cst.NotIn) else None
    return True if is_check(test, names, qualify) else None
