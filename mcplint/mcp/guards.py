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
    a pattern) that stops on failure (raise/return) or encloses the sink."""
    for node in walk.iter_nodes(body):
        if not isinstance(node, cst.If):
            continue
        test, negated = node.test, False
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test, negated = test.expression, True
        if isinstance(test, cst.Comparison) and _tested(test.left, names) and len(test.comparisons) == 1:
            operator = test.comparisons[0].operator
            if isinstance(operator, cst.NotIn):
                negated = not negated
            elif not isinstance(operator, cst.In):
                continue
        elif not is_check(test, names, qualify):
            continue
        if negated and any(isinstance(n, (cst.Raise, cst.Return)) for n in walk.iter_nodes(node.body)):
            return True
        if not negated and any(n is sink for n in walk.iter_nodes(node.body)):
            return True
    return False
