"""Where the untrusted parameters of a handler flow, inside that handler.

`HandlerFlow` walks one handler body in source order and records which local names
(and attributes such as `self.x`) hold values derived from an untrusted parameter,
with the path that got them there. Rules ask `taint_of(expr)` at a sink.

The walk is by name and flow-insensitive beyond source order (a name tainted on one
branch stays tainted), run twice so that loops settle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from mcplint.mcp import walk
from mcplint.mcp.model import Handler
from mcplint.mcp.names import ImportTable, dotted

MAX_STEPS = 12

# Calls whose result carries none of the input's content.
CLEANSING_CALLS = frozenset(
    {"int", "float", "bool", "len", "hash", "id", "isinstance", "callable", "type",
     "uuid.UUID", "datetime.date.fromisoformat", "datetime.datetime.fromisoformat",
     "os.path.exists", "os.path.isfile", "os.path.isdir"}
)
# Calls that make a value safe for some sinks only; rules decide (Taint.sanitizers).
PARTIAL_SANITIZERS = frozenset(
    {"shlex.quote", "shlex.join", "os.path.basename", "re.escape", "html.escape",
     "markupsafe.escape", "urllib.parse.quote", "urllib.parse.quote_plus"}
)


@dataclass(frozen=True)
class Step:
    node: cst.CSTNode
    note: str


@dataclass(frozen=True)
class Taint:
    param: str  # the untrusted parameter the value comes from
    steps: tuple[Step, ...]
    sanitizers: frozenset[str] = field(default_factory=frozenset)

    def then(self, node: cst.CSTNode, note: str) -> "Taint":
        if len(self.steps) >= MAX_STEPS or (self.steps and self.steps[-1].node is node):
            return self
        return Taint(self.param, (*self.steps, Step(node, note)), self.sanitizers)

    def sanitized_by(self, name: str) -> "Taint":
        return Taint(self.param, self.steps, self.sanitizers | {name})


def _short(node: cst.CSTNode, limit: int = 40) -> str:
    text = " ".join(cst.Module(body=[]).code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class HandlerFlow(cst.CSTVisitor):
    def __init__(self, handler: Handler, imports: ImportTable) -> None:
        self.handler = handler
        self.imports = imports
        self.env: dict[str, Taint] = {}
        for param in handler.untrusted_params:
            self.env[param.name] = Taint(param.name, (Step(param.node, f"parameter `{param.name}`"),))
        for _ in range(2):
            walk.visit(handler.function.body, self)

    # -- binding -----------------------------------------------------------------
    def _bind(self, target: cst.BaseExpression, taint: Taint | None, node: cst.CSTNode) -> None:
        if taint is None:
            return
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value, taint, node)
            return
        if isinstance(target, cst.StarredElement):
            self._bind(target.value, taint, node)
            return
        if isinstance(target, cst.Subscript):  # d[k] = tainted: the container is tainted
            target = target.value
        name = dotted(target)
        if name is not None and name not in self.env:
            self.env[name] = taint.then(node, f"assigned to `{name}`")

    def visit_Assign(self, node: cst.Assign) -> None:
        taint = self.taint_of(node.value)
        for target in node.targets:
            self._bind(target.target, taint, node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, self.taint_of(node.value), node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target, self.taint_of(node.value), node)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target, self.taint_of(node.value), node)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target, self.taint_of(node.iter), node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind(node.target, self.taint_of(node.iter), node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name, self.taint_of(node.item), node)

    def visit_Call(self, node: cst.Call) -> None:
        # parts.append(tainted), query_parts.extend(...), d.update(...)
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("append", "extend", "insert", "update", "add"):
            for arg in node.args:
                taint = self.taint_of(arg.value)
                if taint is not None:
                    self._bind(func.value, taint.then(node, f"added to `{_short(func.value)}`"), node)
                    break

    # -- evaluation --------------------------------------------------------------
    def taint_of(self, expr: cst.CSTNode | None) -> Taint | None:
        if expr is None:
            return None
        if isinstance(expr, cst.Name):
            return self.env.get(expr.value)
        if isinstance(expr, cst.Attribute):
            name = dotted(expr)
            if name is not None and name in self.env:
                return self.env[name]
            return self.taint_of(expr.value)
        if isinstance(expr, cst.Subscript):
            return self.taint_of(expr.value)
        if isinstance(expr, cst.BinaryOperation):
            taint = self._first((expr.left, expr.right))
            if taint is None:
                return None
            how = "formatted with `%`" if isinstance(expr.operator, cst.Modulo) else "concatenated"
            return taint.then(expr, f"{how}: `{_short(expr)}`")
        if isinstance(expr, cst.FormattedString):
            taint = self._first(p.expression for p in expr.parts if isinstance(p, cst.FormattedStringExpression))
            return taint.then(expr, f"interpolated into f-string `{_short(expr)}`") if taint else None
        if isinstance(expr, cst.ConcatenatedString):
            return self._first((expr.left, expr.right))
        if isinstance(expr, cst.Call):
            return self._call(expr)
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            return self._first(e.value for e in expr.elements)
        if isinstance(expr, cst.Dict):
            return self._first(
                v for e in expr.elements for v in ((e.key, e.value) if isinstance(e, cst.DictElement) else (e.value,))
            )
        if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            return self.taint_of(expr.elt) or self.taint_of(expr.for_in.iter)
        if isinstance(expr, cst.DictComp):
            return self.taint_of(expr.value) or self.taint_of(expr.key) or self.taint_of(expr.for_in.iter)
        if isinstance(expr, cst.IfExp):
            return self.taint_of(expr.body) or self.taint_of(expr.orelse)
        if isinstance(expr, cst.BooleanOperation):
            return self.taint_of(expr.left) or self.taint_of(expr.right)
        if isinstance(expr, (cst.Await, cst.NamedExpr)):
            return self.taint_of(expr.expression if isinstance(expr, cst.Await) else expr.value)
        if isinstance(expr, cst.UnaryOperation):
            return None if isinstance(expr.operator, cst.Not) else self.taint_of(expr.expression)
        if isinstance(expr, (cst.StarredElement, cst.Arg)):
            return self.taint_of(expr.value)
        return None

    def _first(self, exprs) -> Taint | None:
        """The first taint among `exprs`, preferring one no sanitizer touched."""
        found = None
        for expr in exprs:
            taint = self.taint_of(expr)
            if taint is not None and not taint.sanitizers:
                return taint
            found = found or taint
        return found

    def _call(self, call: cst.Call) -> Taint | None:
        qualified = self.imports.qualify(call.func) or ""
        if qualified in CLEANSING_CALLS:
            return None
        func = call.func
        args_taint = self._first(arg.value for arg in call.args)
        if qualified in PARTIAL_SANITIZERS:
            return args_taint.sanitized_by(qualified) if args_taint else None
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receiver = self.taint_of(func.value)
            if method == "format":
                taint = receiver or args_taint
                return taint.then(call, f"formatted with `.format()`: `{_short(call)}`") if taint else None
            if method == "join" and args_taint is not None:
                return args_taint.then(call, f"joined: `{_short(call)}`")
            if receiver is not None:
                return receiver
        if args_taint is not None:
            return args_taint.then(call, f"passed through `{_short(call.func)}()`")
        return None
