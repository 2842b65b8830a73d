"""Per-file analysis state shared by all rules, and the one batched traversal.

In a file the MCP rules analyse, every function is a scope with a taint flow: a real
handler's untrusted parameters are sources of findings; any other function's
parameters are symbolic sources, and what the rules report there becomes that
function's summary (`mcplint.mcp.summary`), followed from handlers in the project
phase. Rules see no difference: `ctx.handler` is a `Handler` either way (kind
`function` for the symbolic scopes).
"""

from __future__ import annotations

import ast
import codecs
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

import libcst as cst

from mcplint.deps import Project
from mcplint.finding import Confidence, Evidence, Finding, Severity, Span, placed_finding
from mcplint.mcp import walk
from mcplint.mcp.model import FileModel, Handler
from mcplint.mcp.names import ImportTable, dotted
from mcplint.mcp.project import ModuleIndex
from mcplint.mcp.guards import allow_listed, membership_ifs, taint_names
from mcplint.mcp.summary import ALLOW_LISTED, CallRecord, Extent, FileFacts, FunctionSummary, HandlerEntry, SinkHit
from mcplint.parse import parse_module
from mcplint.positions import Positions, syntax_of
from mcplint.mcp.taint import GUARDED, NAMED_ESCAPE, VALIDATED, FunctionFlow, Taint

SYMBOLIC = "function"  # Handler.kind of a non-handler function analysed for its summary
_UNSEEN = object()  # a `FileContext._qualified` miss

if TYPE_CHECKING:
    from mcplint.rule import Rule


@dataclass
class _Report:
    rule: "Rule"
    node: cst.CSTNode
    statement: cst.CSTNode | None
    message: str
    message_args: dict
    severity: Severity
    confidence: Confidence
    handler: Handler | None
    taint: Taint | None
    handler_level: bool
    fix: object = None  # a mcplint.fix.NodeFix, resolved to text edits when placed


class FileContext:
    """What a rule can ask about the file it is looking at."""

    def __init__(
        self,
        path: str,
        module: cst.Module,
        model: FileModel,
        imports: ImportTable,
        *,
        summaries: bool = False,
        index: ModuleIndex | None = None,
        extra_sinks: tuple[tuple[str, tuple[str, ...]], ...] = (),
        project: Project | None = None,
        syntax: ast.Module | None = None,
        imported_only: bool = False,
    ) -> None:
        """`syntax`: CPython's `ast` of the same source, for cheap positions.
        `imported_only`: a module MCP code imports that holds no server or handler and
        that no handler passes tool input to (what reaches its functions is not a tool's)."""
        self.path = path
        self.imported_only = imported_only
        self.project = (project or Project()).for_file(path)  # manifests, SDK versions, other files
        self._evidence: list[tuple[str, cst.CSTNode, str, str]] = []
        self.gave_up: list["Rule"] = []  # rules that hit the recursion limit in this file
        self.module = module
        self.syntax = syntax
        self._positions: Positions | None = None
        self._code: dict[int, str] = {}  # id(node) -> its source, for nodes of this file's tree
        self._qualified: dict[int, str | None] = {}  # id(node) -> `qualify(node)`
        self.model = model
        self.imports = imports
        self.index = index
        self.extra_sinks = extra_sinks
        self.handler: Handler | None = None  # the handler (or symbolic scope) the traversal is inside
        self._current: cst.CSTNode | None = None  # the node the traversal is visiting or leaving
        self._flows: dict[int, FunctionFlow] = {}
        self._reports: list[_Report] = []
        self._narrowing: list[Rule] = []  # rules with a `through_call` (`run`)
        self._handlers = {id(h.function): h for h in model.handlers}
        self._keys: dict[int, str] = {}  # id(FunctionDef) -> "func" / "Class.method"
        self._by_key: dict[str, cst.FunctionDef] = {}
        self._returns: dict[str, frozenset[str] | None] = {}
        self._membership: dict[int, list[cst.If]] = {}  # id(function) -> its `if x in S` (`_allow_listed`)

        if summaries:
            self._add_symbolic_scopes()

    def release(self) -> None:
        """Drop all this context holds, once its results are taken: rules, flows and
        closures point back at it, and that cycle would keep the file's trees alive
        until the cyclic collector came round to them."""
        self.__dict__.clear()

    def _add_symbolic_scopes(self) -> None:
        from mcplint.mcp.builder import function_params

        def visit(body, prefix: str) -> None:
            for statement in body:
                if isinstance(statement, cst.FunctionDef):
                    key = prefix + statement.name.value
                    self._keys[id(statement)] = key
                    self._by_key.setdefault(key, statement)
                    if id(statement) not in self._handlers:
                        self._handlers[id(statement)] = Handler(
                            kind=SYMBOLIC,
                            name=key,
                            function=statement,
                            server=None,
                            params=function_params(statement, self.imports),
                            registration=statement,
                        )
                    if isinstance(statement.body, cst.IndentedBlock):
                        visit(statement.body.body, key + ".")
                elif isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
                    visit(statement.body.body, prefix + statement.name.value + ".")
                elif isinstance(statement, cst.BaseCompoundStatement):  # if TYPE_CHECKING:, try:
                    for block in walk.children(statement):
                        if isinstance(block, cst.IndentedBlock):
                            visit(block.body, prefix)
                        elif isinstance(block, (cst.Else, cst.ExceptHandler, cst.Finally)) and isinstance(block.body, cst.IndentedBlock):
                            visit(block.body.body, prefix)

        visit(self.module.body, "")

    # -- questions rules ask ------------------------------------------------------
    def qualify(self, node: cst.CSTNode) -> str | None:
        """The qualified name of an expression (`ImportTable.qualify`), once per node: most
        rules ask it of every call's callee (the table is complete before they run)."""
        key = id(node)
        name = self._qualified.get(key, _UNSEEN)
        if name is _UNSEEN:
            name = self._qualified[key] = self.imports.qualify(node)
        return name

    def flow(self, handler: Handler) -> FunctionFlow:
        key = id(handler.function)
        if key not in self._flows:
            self._flows[key] = FunctionFlow(
                handler.function,
                handler.untrusted_params,
                self.imports,
                returns_of=self._returns_of,
                constrained_sources=not _symbolic(handler),
            )
        return self._flows[key]

    def _returns_of(self, name: str):
        """(params, params reaching its return, whether it guards) of a function of this
        file called by bare name (module level, or nested anywhere if the name is unique)."""
        key = name if name in self._by_key else None
        if key is None:
            nested = [k for k in self._by_key if k.endswith("." + name)]
            key = nested[0] if len(nested) == 1 else None
        if key is None:
            return None
        function = self._by_key[key]
        handler = self._handlers.get(id(function))
        if key not in self._returns:
            self._returns[key] = None  # recursion guard: a cycle returns nothing tainted
            params = handler.params if handler is not None else []
            flow = FunctionFlow(function, params, self.imports, returns_of=self._returns_of)
            self._returns[key] = (flow.returned_params(), _guards(function))
        returned, guards = self._returns[key] or (frozenset(), False)
        names = [p.name for p in handler.params if not p.star] if handler is not None else []
        return names, returned, guards

    def taint(self, expr: cst.CSTNode, handler: Handler | None = None) -> Taint | None:
        """The untrusted parameter `expr` derives from, inside the current handler."""
        handler = handler or self.handler
        if handler is None:
            return None
        return self.flow(handler).taint_of(expr)

    def code_for(self, node: cst.CSTNode) -> str:
        """The source of `node` (generated once per node: rules ask for a handler's whole
        body again and again)."""
        code = self._code.get(id(node))
        if code is None:
            code = self.module.code_for_node(node)
            tree = walk.active()
            if tree is not None and tree.nodes[0] is self.module and id(node) in tree.order:
                self._code[id(node)] = code  # a node of the tree lives as long as the analysis: its id stays its own
        return code

    # -- reporting ----------------------------------------------------------------
    def report(self, rule: "Rule", node: cst.CSTNode, **fields) -> None:
        taint = fields.get("taint")
        if taint is not None and NAMED_ESCAPE in taint.sanitizers:
            if rule.escape_sanitizes:
                return
            fields["confidence"] = fields["confidence"].lowered()
        if taint is not None and taint.sanitizers & {VALIDATED, GUARDED}:
            fields["confidence"] = fields["confidence"].lowered()
        if taint is not None and rule.allow_list_sanitizes and self._allow_listed(self.handler, node, taint):
            return
        # the statement the traversal is in, for suppression comments on its lines
        tree = walk.active() if self._current is not None else None
        statement = next(
            (n for n in reversed(tree.ancestors(self._current))
             if isinstance(n, (cst.SimpleStatementLine, cst.BaseCompoundStatement))),
            None,
        ) if tree is not None else None
        self._reports.append(_Report(rule=rule, node=node, statement=statement, **fields))

    def _allow_listed(self, handler: Handler | None, sink: cst.CSTNode, taint: Taint) -> bool:
        """Does `handler` test the tainted value against an allow-list before `sink`?"""
        if handler is None:
            return False
        function = handler.function
        ifs = self._membership.get(id(function))
        if ifs is None:
            ifs = self._membership[id(function)] = membership_ifs(function.body)
        return bool(ifs) and allow_listed(ifs, sink, taint_names(taint), lambda collection: any(
            type(n) is cst.Name and self.taint(n, handler) is not None for n in walk.iter_nodes(collection)))

    def add_evidence(self, item: str, node: cst.CSTNode, note: str, code: str) -> None:
        self._evidence.append((item, node, note, code))

    def evidence(self, source: str) -> list[Evidence]:
        """What the rules saw of controls in place, with lines."""
        if not self._evidence:
            return []
        positions = self.positions().resolve(node for _, node, _, _ in self._evidence)
        return [Evidence(item, self.path, positions[node].start.line, note, code)
                for item, node, note, code in self._evidence if node in positions]

    def positions(self) -> Positions:
        if self._positions is None:
            self._positions = Positions(self.module, self.syntax)
        return self._positions

    # -- traversal ----------------------------------------------------------------
    def run(self, rules: Iterable["Rule"]) -> None:
        rules = list(rules)
        from mcplint.rule import Rule

        self._narrowing = [rule for rule in rules if type(rule).through_call is not Rule.through_call]
        for rule in rules:
            try:
                for server in self.model.servers:
                    rule.check_server(server)
                for handler in self.model.handlers:
                    rule.check_handler(handler)
            except RecursionError:
                self.gave_up.append(rule)
        enabled = {type(rule).code for rule in rules}
        configured = [(code, names) for code, names in self.extra_sinks if code in enabled]
        if configured:
            rules.append(_ConfiguredSinks(self, configured, {type(r).code: type(r) for r in rules}))
        visitor = _Dispatcher(self, rules)
        if visitor.wants_traversal:
            tree = walk.active()
            if tree is None or tree.nodes[0] is not self.module:
                with walk.indexed(self.module) as tree:
                    visitor.traverse(tree)
            else:
                visitor.traverse(tree)

    def made(self) -> list[tuple[str, str]]:
        """(rule code, "a finding" or "evidence") for what the rules made here that is
        not a function summary."""
        return [(r.rule.code, "a finding") for r in self._reports if not (_symbolic(r.handler) and r.taint is not None)] \
            + [(code, "evidence") for _, _, _, code in self._evidence if code]

    def findings(self, lines: list[str]) -> list[Finding]:
        """The findings of this file (`lines`: its source text, split).

        A report in a symbolic scope caused by a parameter is not a finding: it goes
        to that function's summary (`facts`), named by node ordinal, positionless.
        """
        real = [r for r in self._reports if not (_symbolic(r.handler) and r.taint is not None)]
        if not real:
            return []
        positions = self.positions()
        placed = place(positions, lines, self.path, [
            (r.rule.meta, r.node, r.statement, r.message, r.severity, r.confidence,
             r.handler.function if r.handler is not None and (r.handler_level or r.node is r.handler.function) else None,
             r.handler.label if r.handler is not None and not _symbolic(r.handler) else None,
             tuple((self.path, step.node, step.note) for step in r.taint.steps) + ((self.path, r.node, "reaches the sink"),)
             if r.taint is not None else ())
            for r in real
        ])
        for report, finding in zip(real, placed):
            if report.fix is not None:
                finding.fix = report.fix.resolve(self.module, lines, positions)
        return placed

    def facts(self) -> FileFacts:
        """Function summaries and handlers of this file, for the project phase."""
        facts = FileFacts(self.path, imported_handlers=list(self.model.imported_handlers))
        calls: dict[str, list] = {}
        for function_id, key in self._keys.items():
            function = self._by_key.get(key)
            if function is None or id(function) != function_id:
                continue
            for site in self.flow(self._handlers[function_id]).calls.values():
                resolved = self._resolve_callee(site.callee, key)
                if resolved is not None:
                    calls.setdefault(key, []).append((site, resolved))
        hits = [r for r in self._reports if _symbolic(r.handler) and r.taint is not None]
        if not calls and not hits:
            # still list the functions: another module may register one as a handler
            for function_id, key in self._keys.items():
                handler = self._handlers[function_id]
                facts.functions.setdefault(key, FunctionSummary(key, tuple(p.name for p in handler.params if not p.star)))
            return facts
        wanted = {id(step.node) for r in hits for step in r.taint.steps}
        wanted |= {id(r.node) for r in self._reports} | {id(r.statement) for r in hits if r.statement is not None}
        for sites in calls.values():
            for site, _ in sites:
                wanted.add(id(site.node))
                wanted |= {id(step.node) for taint in site.args.values() for step in taint.steps}
        tree = walk.active()
        if tree is None or tree.nodes[0] is not self.module:
            tree = walk.Tree(self.module)
        ordinal = {key: tree.order[key] for key in wanted if key in tree.order}
        positions = self.positions()

        def steps(taint: Taint) -> tuple[tuple[int, str], ...]:
            return tuple((ordinal[id(s.node)], s.note) for s in taint.steps if id(s.node) in ordinal)

        by_function: dict[str, list[SinkHit]] = {}
        for report in hits:
            by_function.setdefault(self._keys[id(report.handler.function)], []).append(
                SinkHit(
                    code=report.rule.code,
                    param=report.taint.param,
                    node=ordinal[id(report.node)],
                    statement=ordinal.get(id(report.statement)) if report.statement is not None else None,
                    message_args=tuple((k, str(v)) for k, v in report.message_args.items()),
                    severity=report.severity,
                    confidence=report.confidence,
                    steps=steps(report.taint),
                )
            )
        for report in self._reports:
            if report.handler is not None and not _symbolic(report.handler) and id(report.node) in ordinal:
                key = (self._keys.get(id(report.handler.function), ""), ordinal[id(report.node)])
                facts.handler_sinks.setdefault(key, set()).add(report.rule.code)
        for function_id, key in self._keys.items():
            function = self._by_key.get(key)
            if function is None or id(function) != function_id:
                continue
            handler = self._handlers[function_id]
            summary = FunctionSummary(key=key, params=tuple(p.name for p in handler.params if not p.star))
            start = tree.order.get(function_id)
            lines = positions.lines_of(function) if start is not None else None
            if lines is not None:
                summary.extent = (start, tree.ends[start], *lines)
            summary.hits = by_function.get(key, [])
            summary.calls = [
                CallRecord(site.callee, resolved, ordinal[id(site.node)],
                           tuple((k, taint.param, steps(taint), self._passed_guards(handler, site.node, taint),
                                  self._narrowings(handler, taint))
                                 for k, taint in site.args.items()))
                for site, resolved in calls.get(key, [])
            ]
            facts.functions[key] = summary
            if not _symbolic(handler):
                facts.handlers.append(HandlerEntry(key, handler.label, tuple(p.name for p in handler.untrusted_params)))
        return facts

    def _passed_guards(self, handler: Handler, call: cst.Call, taint: Taint) -> frozenset[str]:
        """What the value passed on at `call` went through, for the callee's findings
        (`summary.follow`): the sanitizers that count, and an allow-list check."""
        guards = taint.sanitizers & {VALIDATED, NAMED_ESCAPE, GUARDED}
        return guards | {ALLOW_LISTED} if self._allow_listed(handler, call, taint) else guards

    def _narrowings(self, handler: Handler, taint: Taint) -> tuple:
        """What each rule's findings reached through a call keep of the value passed
        (`Rule.through_call`, asked with the caller as the current handler)."""
        if not self._narrowing:
            return ()
        outer, self.handler = self.handler, handler
        try:
            found = []
            for rule in self._narrowing:
                kept = rule.through_call(taint)
                if kept is not None:
                    found.append((type(rule).code, tuple(sorted(kept[0].items())), kept[1]))
            return tuple(found)
        finally:
            self.handler = outer

    def _resolve_callee(self, callee: str, caller_key: str) -> str | None:
        """A key in this file, or a qualified name naming another project module; else None.

        `self.m(...)` and a bare `f(...)` are looked up from the caller's own scope
        outwards (a method's class, an enclosing function, the module).
        """
        head, _, rest = callee.partition(".")
        name = rest if head in ("self", "cls") and rest and "." not in rest else (callee if "." not in callee else None)
        if name is not None:
            scope = caller_key
            while scope:
                scope = scope.rpartition(".")[0]
                candidate = f"{scope}.{name}" if scope else name
                if candidate in self._by_key:
                    return candidate
            if head in ("self", "cls"):
                return None
        if callee in self._by_key:
            return callee
        if not self.imports.is_imported(callee) or self.index is None:
            return None
        qualified = self.imports.qualify_dotted(callee)
        return qualified if self.index.resolve(self.path, qualified) is not None else None


_GUARD_CALL = re.compile(r"(?:^|_)(?:validate|validated|confine|ensure_safe|check_path|is_safe|safe_join|verify_path)", re.I)
_CONTAINMENT = frozenset({"is_relative_to", "relative_to", "commonpath"})


def _guards(function: cst.FunctionDef) -> bool:
    """Does a helper check what it returns? A call to a validator (`validate_path(p)`),
    or a containment check (`relative_to`, `commonpath`) with a raise. Values it returns
    count as guarded: findings lose confidence (mcplint cannot prove the check right)."""
    contains = raises = False
    for node in walk.iter_nodes(function.body):
        if isinstance(node, cst.Raise):
            raises = True
        elif isinstance(node, cst.Call):
            name = (dotted(node.func) or "").rsplit(".", 1)[-1]
            if _GUARD_CALL.search(name):
                return True
            contains = contains or name in _CONTAINMENT
    return contains and raises


def _symbolic(handler: Handler | None) -> bool:
    return handler is not None and handler.kind == SYMBOLIC


def place(positions: Positions, lines: list[str], path: str, items) -> list[Finding]:
    """Findings with positions. Each item: (rule meta, node, statement, message, severity,
    confidence, handler function for header suppressions, handler label, trace steps
    as (path, node, note)); trace nodes of other files are given as spans already."""

    def span(node) -> Span:
        return node if isinstance(node, Span) else _span(positions.get(node))

    out = []
    for meta, node, statement, message, severity, confidence, function, label, trace in items:
        where = span(node)
        suppress = set(range(where.line, where.end_line + 1))
        if statement is not None:
            suppress |= _header_lines(statement, positions)
        if function is not None:
            suppress |= _header_lines(function, positions)
        steps = [(step_path, span(step_node), note) for step_path, step_node, note in trace
                 if isinstance(step_node, Span) or positions.get(step_node) is not None]
        out.append(placed_finding(meta, path, where, message, severity, confidence, lines, label, steps, suppress))
    return out


def _span(rng) -> Span:
    """A libcst CodeRange (0-based columns) as a Span (1-based columns)."""
    return Span(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1)


def locate_nodes(path: str, data: bytes, ordinals: frozenset[int], extents: tuple[Extent, ...] | None = None):
    """(path, span of each node ordinal, its header lines, the file's encoding) of one
    file (`summary.place_pending`). `extents`: the functions that hold all `ordinals`;
    only they are parsed, where the file is UTF-8 (else, or if one of them does not
    come out as it was, the whole file)."""
    if extents and not data.startswith(codecs.BOM_UTF8) and not _CODING.search(data, 0, _second_line_end(data)):
        spans: dict[int, Span] = {}
        headers: dict[int, set[int]] = {}
        lines = data.splitlines(keepends=True)
        for extent in extents:
            if not _locate_in_function(lines, extent, ordinals, spans, headers):
                break
        else:
            return path, spans, headers, "utf-8"
    module = parse_module(data)
    tree = walk.Tree(module)
    spans, headers = {}, {}
    _locate_in(tree, Positions(module, syntax_of(data), tree), ordinals, 0, range(len(tree.nodes)), 0, spans, headers)
    return path, spans, headers, module.encoding


_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=]", re.MULTILINE)  # PEP 263's declaration


def _second_line_end(data: bytes) -> int:
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1) if first >= 0 else -1
    return len(data) if second < 0 else second


def _locate_in_function(lines: list[bytes], extent: Extent, ordinals: frozenset[int], spans: dict,
                        headers: dict) -> bool:
    """Locate the ordinals within one function, parsing its lines alone (an indented one
    inside an `if 1:`, so that its columns stay those of the file); False if its tree is
    not the one the per-file phase numbered."""
    start, end, first, last = extent
    source = b"".join(lines[first - 1:last])
    wrapped = bool(source[:1].isspace())
    if wrapped:
        source = b"if 1:\n" + source
    if not source.endswith((b"\n", b"\r")):
        source += b"\n"
    try:
        module = parse_module(source)
    except (cst.ParserSyntaxError, RecursionError, UnicodeDecodeError, SyntaxError):
        return False
    function = module.body[0].body.body[0] if wrapped else module.body[0]
    if not isinstance(function, cst.FunctionDef):
        return False
    tree = walk.Tree(module)
    at = tree.order[id(function)]
    if tree.ends[at] - at != end - start:
        return False
    _locate_in(tree, Positions(module, syntax_of(source), tree), ordinals, at - start, range(start, end),
               first - 1 - wrapped, spans, headers)
    return True


def _locate_in(tree: walk.Tree, positions: Positions, ordinals: frozenset[int], offset: int, numbers: range,
               shift: int, spans: dict, headers: dict) -> None:
    """Spans and header lines of the `ordinals` in `numbers`, whose nodes are `tree.nodes[n
    + offset]`, `shift` lines down in the file."""
    for number in ordinals:
        if number in numbers and number + offset < len(tree.nodes):
            node = tree.nodes[number + offset]
            span = _span(positions.get(node))
            spans[number] = Span(span.line + shift, span.column, span.end_line + shift, span.end_column)
            headers[number] = {line + shift for line in _header_lines(node, positions)}


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


CONFIGURED_MESSAGE = "{handler} parameter `{param}` reaches `{sink}` (a sink named in `extend-sinks`)"


class _ConfiguredSinks:
    """`extend-sinks` from the config: calls a project names as sinks of a rule."""

    def __init__(self, ctx: FileContext, sinks, rules_by_code: dict) -> None:
        self.ctx = ctx
        self.by_name = {name: code for code, names in sinks for name in names if code in rules_by_code}
        self.rules = {code: rules_by_code[code](ctx) for code in set(self.by_name.values())}

    def visit_Call(self, node: cst.Call) -> None:
        handler = self.ctx.handler
        code = self.by_name.get(self.ctx.qualify(node.func) or "") if handler is not None else None
        if code is None:
            return
        for arg in node.args:
            taint = self.ctx.taint(arg.value)
            if taint is not None:
                rule = self.rules[code]
                args = {"handler": handler.label, "param": taint.param, "sink": self.ctx.qualify(node.func),
                        "_message": CONFIGURED_MESSAGE}
                self.ctx.report(rule, node, message=CONFIGURED_MESSAGE.format(**args), message_args=args,
                                severity=rule.severity, confidence=rule.confidence, handler=handler,
                                taint=taint, handler_level=False)
                return


@lru_cache(maxsize=None)
def _hook_names(kind: type) -> tuple[tuple[str, str, str], ...]:
    """("visit" or "leave", node type name, attribute) of every hook of a rule class."""
    return tuple((attr[:5], attr[6:], attr) for attr in dir(kind) if attr.startswith(("visit_", "leave_")))


class _Dispatcher:
    """Runs every rule's `visit_<Node>`/`leave_<Node>` in one pass over the file's
    pre-order index: a node whose type no rule leaves is never revisited."""

    def __init__(self, ctx: FileContext, rules: list["Rule"]) -> None:
        self.ctx = ctx
        self.visits: dict[str, list] = {}
        self.leaves: dict[str, list] = {}
        for rule in rules:
            for table, node_type, attr in _hook_names(type(rule)):
                (self.visits if table == "visit" else self.leaves).setdefault(node_type, []).append(getattr(rule, attr))
        self.wants_traversal = bool(self.visits or self.leaves)
        self._by_type: dict[type, tuple[list, list]] = {}

    def _hooks(self, kind: type) -> tuple[list, list]:
        hooks = self._by_type.get(kind)
        if hooks is None:
            hooks = self._by_type[kind] = (self.visits.get(kind.__name__, []), self.leaves.get(kind.__name__, []))
        return hooks

    def _give_up(self, hook) -> None:
        """A rule that recursed too deep on this file (a 500-part string concatenation)
        stops here, the other rules go on, and the engine says which rule missed part
        of the file."""
        rule = hook.__self__
        if rule not in self.ctx.gave_up:
            self.ctx.gave_up.append(rule)
        for table in (self.visits, self.leaves):  # new lists: a loop over the old one goes on safely
            for key, hooks in table.items():
                table[key] = [h for h in hooks if h.__self__ is not rule]
        self._by_type.clear()

    def _run(self, hooks: list, node: cst.CSTNode) -> None:
        for hook in hooks:
            try:
                hook(node)
            except RecursionError:
                self._give_up(hook)

    def traverse(self, tree: walk.Tree) -> None:
        ctx = self.ctx
        nodes, ends = tree.nodes, tree.ends
        handlers = ctx._handlers
        by_type = self._by_type  # cleared in place when a rule gives up
        # nodes to leave once the walk is past their subtree: (end, node, outer handler)
        open_: list[tuple[int, cst.CSTNode, Handler | None]] = []
        for at in range(len(nodes)):
            while open_ and open_[-1][0] <= at:
                self._leave(*open_.pop()[1:])
            node = nodes[at]
            kind = type(node)
            ctx._current = node
            hooks = by_type.get(kind)
            visits, leaves = hooks if hooks is not None else self._hooks(kind)
            if kind is cst.FunctionDef:
                open_.append((ends[at], node, ctx.handler))
                ctx.handler = handlers.get(id(node), ctx.handler)
            elif leaves:
                open_.append((ends[at], node, None))
            if visits:
                self._run(visits, node)
        while open_:
            self._leave(*open_.pop()[1:])
        ctx._current = None

    def _leave(self, node: cst.CSTNode, outer: Handler | None) -> None:
        self.ctx._current = node
        leaves = self._hooks(type(node))[1]
        if leaves:
            self._run(leaves, node)
        if type(node) is cst.FunctionDef:
            self.ctx.handler = outer
