"""Per-file analysis state shared by all rules, and the one batched traversal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from mcplint.mcp import walk
from mcplint.finding import Confidence, Finding, Severity, Span, TraceStep
from mcplint.mcp.model import FileModel, Handler
from mcplint.mcp.names import ImportTable
from mcplint.mcp.taint import HandlerFlow, Taint

if TYPE_CHECKING:
    from mcplint.rule import Rule


@dataclass
class _Report:
    rule: "Rule"
    node: cst.CSTNode
    statement: cst.CSTNode | None
    message: str
    severity: Severity
    confidence: Confidence
    handler: Handler | None
    taint: Taint | None
    handler_level: bool


class FileContext:
    """What a rule can ask about the file it is looking at."""

    def __init__(self, path: str, module: cst.Module, model: FileModel, imports: ImportTable) -> None:
        self.path = path
        self.module = module
        self.model = model
        self.imports = imports
        self.handler: Handler | None = None  # the handler the traversal is inside
        self._stack: list[cst.CSTNode] = []
        self._flows: dict[int, HandlerFlow] = {}
        self._reports: list[_Report] = []
        self._handlers = {id(h.function): h for h in model.handlers}

    # -- questions rules ask ------------------------------------------------------
    def qualify(self, node: cst.CSTNode) -> str | None:
        return self.imports.qualify(node)

    def flow(self, handler: Handler) -> HandlerFlow:
        key = id(handler.function)
        if key not in self._flows:
            self._flows[key] = HandlerFlow(handler, self.imports)
        return self._flows[key]

    def taint(self, expr: cst.CSTNode, handler: Handler | None = None) -> Taint | None:
        """The untrusted parameter `expr` derives from, inside the current handler."""
        handler = handler or self.handler
        if handler is None:
            return None
        return self.flow(handler).taint_of(expr)

    def code_for(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    # -- reporting ----------------------------------------------------------------
    def report(self, rule: "Rule", node: cst.CSTNode, **fields) -> None:
        statement = next(
            (n for n in reversed(self._stack) if isinstance(n, (cst.SimpleStatementLine, cst.BaseCompoundStatement))),
            None,
        )
        self._reports.append(_Report(rule=rule, node=node, statement=statement, **fields))

    # -- traversal ----------------------------------------------------------------
    def run(self, rules: Iterable["Rule"]) -> None:
        rules = list(rules)
        for rule in rules:
            for server in self.model.servers:
                rule.check_server(server)
            for handler in self.model.handlers:
                rule.check_handler(handler)
        visitor = _Dispatcher(self, rules)
        if visitor.wants_traversal:
            walk.visit(self.module, visitor)

    def findings(self) -> list[Finding]:
        if not self._reports:
            return []
        positions = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
        lines = self.module.code.splitlines()

        def span(node: cst.CSTNode) -> Span:
            rng = positions[node]
            return Span(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1)

        out = []
        for report in self._reports:
            where = span(report.node)
            suppress = set(range(where.line, where.end_line + 1))
            if report.statement is not None:
                suppress |= _header_lines(report.statement, positions)
            handler = report.handler
            if handler is not None and (report.handler_level or report.node is handler.function):
                suppress |= _header_lines(handler.function, positions)
            trace: tuple[TraceStep, ...] = ()
            if report.taint is not None:
                steps = [TraceStep(span(step.node), step.note) for step in report.taint.steps if step.node in positions]
                steps.append(TraceStep(where, "reaches the sink"))
                trace = tuple(steps)
            snippet = lines[where.line - 1].strip() if 0 < where.line <= len(lines) else ""
            out.append(
                Finding(
                    rule=report.rule.meta,
                    path=self.path,
                    span=where,
                    message=report.message,
                    severity=report.severity,
                    confidence=report.confidence,
                    snippet=snippet,
                    handler=handler.label if handler is not None else None,
                    trace=trace,
                    suppress_lines=frozenset(suppress),
                )
            )
        return out


def _header_lines(statement: cst.CSTNode, positions) -> set[int]:
    """Lines of a statement that a suppression comment may sit on.

    A simple statement: all its lines. A compound statement: its header, from the
    first decorator to the line before its body starts.
    """
    rng = positions.get(statement)
    if rng is None:
        return set()
    start, end = rng.start.line, rng.end.line
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        for decorator in statement.decorators:
            drange = positions.get(decorator)
            if drange is not None:
                start = min(start, drange.start.line)
    body = getattr(statement, "body", None)
    if isinstance(statement, cst.BaseCompoundStatement) and isinstance(body, cst.IndentedBlock) and body.body:
        first = positions.get(body.body[0])
        if first is not None:
            end = max(start, first.start.line - 1)
    return set(range(start, end + 1))


class _Dispatcher(cst.CSTVisitor):
    """Runs every rule's `visit_<Node>`/`leave_<Node>` in one walk of the tree."""

    def __init__(self, ctx: FileContext, rules: list["Rule"]) -> None:
        self.ctx = ctx
        self.visits: dict[str, list] = {}
        self.leaves: dict[str, list] = {}
        for rule in rules:
            for attr in dir(type(rule)):
                if attr.startswith("visit_"):
                    self.visits.setdefault(attr[6:], []).append(getattr(rule, attr))
                elif attr.startswith("leave_"):
                    self.leaves.setdefault(attr[6:], []).append(getattr(rule, attr))
        self.wants_traversal = bool(self.visits or self.leaves)
        self._handler_stack: list[Handler | None] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        ctx = self.ctx
        ctx._stack.append(node)
        if isinstance(node, cst.FunctionDef):
            self._handler_stack.append(ctx.handler)
            handler = ctx._handlers.get(id(node))
            if handler is not None:
                ctx.handler = handler
        for visit in self.visits.get(type(node).__name__, ()):
            visit(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        for leave in self.leaves.get(type(original_node).__name__, ()):
            leave(original_node)
        if isinstance(original_node, cst.FunctionDef):
            self.ctx.handler = self._handler_stack.pop()
        self.ctx._stack.pop()
