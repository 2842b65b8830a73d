"""Where the parameters of a function flow, inside that function.

`FunctionFlow` walks one function body in source order and records which local names
(and attributes such as `self.x`) hold values derived from a source parameter, with
the path that got them there. Rules ask `taint_of(expr)` at a sink. In a handler the
sources are its untrusted parameters; in any other function, all its parameters
(symbolically: "if the caller passes something tainted here"), so that a sink inside
a helper becomes part of the helper's summary (`mcplint.mcp.summary`).

Every call whose arguments carry taint is recorded (`calls`), which is how the
project phase follows values into helpers in the same file and in other modules.

The walk is by name and flow-insensitive beyond source order (a name tainted on one
branch stays tainted), run twice so that loops settle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import libcst as cst

from mcplint.mcp import sdk, walk
from mcplint.mcp.builder import argument, node_source, string_value
from mcplint.mcp.metadata import module_constant
from mcplint.mcp.model import Param
from mcplint.mcp.names import ImportTable, dotted
from mcplint.mcp.summary import NAMED_ESCAPE

MAX_STEPS = 12

# Calls whose result carries none of the input's content.
CLEANSING_CALLS = frozenset(
    {"int", "float", "bool", "len", "hash", "id", "isinstance", "callable", "type", "ord",
     "hashlib.md5", "hashlib.sha1", "hashlib.sha256", "hashlib.sha512", "hashlib.blake2b",
     "uuid.UUID", "datetime.date.fromisoformat", "datetime.datetime.fromisoformat",
     "os.path.exists", "os.path.isfile", "os.path.isdir"}
)
# Methods whose result carries none of the receiver's characters: a digest or hex
# encoding (`name.encode().hex()` is only [0-9a-f]), a test, a count or a position.
CLEANSING_METHODS = frozenset(
    {"hex", "hexdigest", "digest", "startswith", "endswith", "count", "find", "rfind",
     "isdigit", "isalnum", "isalpha", "isidentifier", "isnumeric", "isdecimal", "isascii"}
)
# Calls that make a value safe for some sinks only; rules decide (Taint.sanitizers).
PARTIAL_SANITIZERS = frozenset(
    {"shlex.quote", "shlex.join", "os.path.basename", "re.escape", "html.escape",
     "markupsafe.escape", "urllib.parse.quote", "urllib.parse.quote_plus"}
)


# Returned by a helper of this file that validates (a validator call, a containment check).
GUARDED = "guarded-by-helper"
_ESCAPE_NAME = re.compile(r"(?:^|_)(?:quote|escape|sanitize|sanitise)(?:_|$)", re.IGNORECASE)


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
    text = " ".join(node_source(node).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class CallSite:
    """A call whose arguments carry taint: where the value may go next."""

    node: cst.Call
    callee: str  # dotted name as written (`helper`, `db.run`, `self.run`)
    args: dict[int | str, Taint]  # position or keyword -> taint of that argument


# Given a same-file function's name: which of its parameters reach its return value
# (None: not a function of this file).
ReturnsOf = Callable[[str], "tuple[list[str], frozenset[str], bool] | None"]


_COLLECTIONS = frozenset({cst.List, cst.Tuple, cst.Set})
_LOOKUPS = frozenset({"get", "pop"})  # `mapping.get(key, default)`: an element, or the default
_CLIENT_LIKE = re.compile(r"client|session|http|request|api|conn|socket|sock|browser|page|driver", re.IGNORECASE)
_COMPREHENSIONS = frozenset({cst.ListComp, cst.SetComp, cst.GeneratorExp})


class FunctionFlow(cst.CSTVisitor):
    def __init__(
        self,
        function: cst.FunctionDef,
        sources: list[Param],
        imports: ImportTable,
        returns_of: ReturnsOf | None = None,
        constrained_sources: bool = False,
    ) -> None:
        self.function = function
        self.imports = imports
        self.returns_of = returns_of
        self.env: dict[str, Taint] = {}
        self.calls: dict[int, CallSite] = {}
        for param in sources:
            constraint = _constraint(param.annotation) if constrained_sources else None
            if constraint == "closed":
                continue  # Literal[...], int, bool, ...: the SDK rejects anything else
            sanitizers = frozenset({VALIDATED}) if constraint == "validated" else frozenset()
            self.env[param.name] = Taint(param.name, (Step(param.node, f"parameter `{param.name}`"),), sanitizers)
        self._loops = False
        if self.env:
            self._pass(function.body)
            if self._loops:  # a value tainted late in a loop body reaches its start
                self._pass(function.body)

    _HANDLED = ("Assign", "AnnAssign", "AugAssign", "NamedExpr", "For", "While", "CompFor", "WithItem", "Call")

    def _pass(self, body: cst.CSTNode) -> None:
        """One walk in source order, dispatching only the node types that bind or call."""
        handlers = {name: getattr(self, f"visit_{name}") for name in self._HANDLED}
        for node in walk.iter_nodes(body):
            handler = handlers.get(type(node).__name__)
            if handler is not None:
                handler(node)

    def visit_While(self, node: cst.While) -> None:
        self._loops = True

    def returned_params(self) -> frozenset[str]:
        """The source parameters whose taint reaches a `return` of this function."""
        found = set()
        for node in walk.iter_nodes(self.function.body):
            if isinstance(node, cst.Return) and node.value is not None:
                taint = self.taint_of(node.value)
                if taint is not None:
                    found.add(taint.param)
        return frozenset(found)

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
        self._loops = True
        self._bind(node.target, self.taint_of(node.iter), node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind(node.target, self.taint_of(node.iter), node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name, self.taint_of(node.item), node)

    def visit_Call(self, node: cst.Call) -> None:
        self._record_call(node)
        # parts.append(tainted), query_parts.extend(...), d.update(...)
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("append", "extend", "insert", "update", "add"):
            for arg in node.args:
                taint = self.taint_of(arg.value)
                if taint is not None:
                    self._bind(func.value, taint.then(node, f"added to `{_short(func.value)}`"), node)
                    break

    def _record_call(self, node: cst.Call) -> None:
        callee = dotted(node.func)
        if callee is None or id(node) in self.calls:
            return
        args: dict[int | str, Taint] = {}
        position = 0
        for arg in node.args:
            if arg.star:
                continue
            taint = self.taint_of(arg.value)
            key: int | str = arg.keyword.value if arg.keyword is not None else position
            if arg.keyword is None:
                position += 1
            if taint is not None:
                args[key] = taint
        if args:
            self.calls[id(node)] = CallSite(node, callee, args)

    # -- evaluation --------------------------------------------------------------
    def taint_of(self, expr: cst.CSTNode | None) -> Taint | None:
        # exact type tests, not isinstance: libcst's classes check instances through
        # ABCMeta, slowly, and rules ask this for most expressions of a handler
        kind = type(expr)
        if kind is cst.Name:
            return self.env.get(expr.value)
        if kind is cst.Attribute:
            name = dotted(expr)
            if name is not None and name in self.env:
                return self.env[name]
            return self.taint_of(expr.value)
        if kind is cst.Subscript:
            return self.taint_of(expr.value)
        if kind is cst.BinaryOperation:
            taint = self._first((expr.left, expr.right))
            if taint is None:
                return None
            how = "formatted with `%`" if type(expr.operator) is cst.Modulo else "concatenated"
            return taint.then(expr, f"{how}: `{_short(expr)}`")
        if kind is cst.FormattedString:
            taint = self._first(p.expression for p in expr.parts if type(p) is cst.FormattedStringExpression)
            return taint.then(expr, f"interpolated into f-string `{_short(expr)}`") if taint else None
        if kind is cst.ConcatenatedString:
            return self._first((expr.left, expr.right))
        if kind is cst.Call:
            return self._call(expr)
        if kind in _COLLECTIONS:
            return self._first(e.value for e in expr.elements)
        if kind is cst.Dict:
            return self._first(
                v for e in expr.elements for v in ((e.key, e.value) if type(e) is cst.DictElement else (e.value,))
            )
        if kind in _COMPREHENSIONS:
            return self.taint_of(expr.elt) or self.taint_of(expr.for_in.iter)
        if kind is cst.DictComp:
            return self.taint_of(expr.value) or self.taint_of(expr.key) or self.taint_of(expr.for_in.iter)
        if kind is cst.IfExp:
            return self.taint_of(expr.body) or self.taint_of(expr.orelse)
        if kind is cst.BooleanOperation:
            return self.taint_of(expr.left) or self.taint_of(expr.right)
        if kind is cst.Await:
            return self.taint_of(expr.expression)
        if kind is cst.NamedExpr:
            return self.taint_of(expr.value)
        if kind is cst.UnaryOperation:
            return None if type(expr.operator) is cst.Not else self.taint_of(expr.expression)
        if kind is cst.StarredElement or kind is cst.Arg:
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

    def _mapping(self, receiver: cst.BaseExpression) -> bool:
        """Is `receiver.get(...)` a lookup in a mapping: a variable of the program, not a
        module (`requests.get`) or something named like a client (`session.get(url)`)?"""
        name = dotted(receiver)
        return name is not None and not self.imports.is_imported(name) and \
            not _CLIENT_LIKE.search(name.rsplit(".", 1)[-1])

    def _default(self, call: cst.Call) -> Taint | None:
        """The taint of a lookup's default (`os.getenv(name, default)`, `table.get(key, default)`),
        the one argument whose value the lookup may return."""
        default = argument(call, 1, "default")
        taint = self.taint_of(default) if default is not None else None
        return taint.then(call, f"the default of `{_short(call)}`") if taint is not None else None

    def _call(self, call: cst.Call) -> Taint | None:
        qualified = self.imports.qualify(call.func) or ""
        if qualified in CLEANSING_CALLS:
            return None
        func = call.func
        if qualified in sdk.ENV_GETTERS:
            # the environment's value, not the name asked for (a tool that picks which
            # variable to read gets the operator's setting): only a default can carry taint
            return self._default(call)
        args_taint = self._first(arg.value for arg in call.args)
        if qualified in PARTIAL_SANITIZERS:
            return args_taint.sanitized_by(qualified) if args_taint else None
        if args_taint is not None and _ESCAPE_NAME.search(qualified.rsplit(".", 1)[-1]):
            return args_taint.sanitized_by(NAMED_ESCAPE)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in CLEANSING_METHODS:
                return None
            receiver = self.taint_of(func.value)
            if method == "format":
                taint = receiver or args_taint
                return taint.then(call, f"formatted with `.format()`: `{_short(call)}`") if taint else None
            if method == "join" and args_taint is not None:
                return args_taint.then(call, f"joined: `{_short(call)}`")
            if receiver is not None:
                return receiver
            if method in _LOOKUPS and self._mapping(func.value):
                # an element of a mapping the tool did not fill (a routing table, a cache):
                # the key picks one, as `table[key]` does; only a default given is the tool's
                return self._default(call)
        if args_taint is None:
            return None
        local = self.returns_of(qualified) if self.returns_of is not None and isinstance(func, cst.Name) else None
        if local is not None:
            # a function of this file: only the parameters it returns carry taint out
            params, returned, guards = local
            for index, arg in enumerate(a for a in call.args if not a.star):
                name = arg.keyword.value if arg.keyword is not None else (params[index] if index < len(params) else None)
                taint = self.taint_of(arg.value) if name in returned else None
                if taint is not None:
                    taint = taint.sanitized_by(GUARDED) if guards else taint
                    return taint.then(call, f"returned by `{_short(call.func)}()`")
            return None
        return args_taint.then(call, f"passed through `{_short(call.func)}()`")


def HandlerFlow(handler, imports: ImportTable) -> FunctionFlow:  # noqa: N802 - kept for callers
    """The flow of a handler's untrusted parameters."""
    return FunctionFlow(handler.function, handler.untrusted_params, imports, constrained_sources=True)


# A parameter whose type the SDK validates: `closed` types admit no payload at all;
# `validated` ones (a pattern or a length limit) narrow it, so findings lose confidence.
VALIDATED = "validated-parameter"
_CLOSED_TYPE = re.compile(
    r"^(?:Optional\[)?(?:typing\.)?(?:Literal\[.*\]|int|float|bool|complex|decimal\.Decimal|Decimal"
    r"|datetime\.\w+|date|datetime|time|timedelta|uuid\.UUID|UUID|StrictInt|StrictFloat|StrictBool"
    r"|PositiveInt|NonNegativeInt|conint\(.*\)|confloat\(.*\))\]?(?:\s*\|\s*None)?$",
    re.DOTALL,
)
_VALIDATED_TYPE = re.compile(r"\b(?:pattern|regex|max_length)\s*=|\bconstr\(|\bEmailStr\b|\bHttpUrl\b|\bAnyHttpUrl\b")


def _constraint(annotation: str | None) -> str | None:
    if not annotation:
        return None
    text = " ".join(annotation.split())
    if text.startswith(("Annotated[", "typing.Annotated[")):
        inner = text.split("[", 1)[1]
        base = inner.split(",", 1)[0].strip()
        if _CLOSED_TYPE.match(base):
            return "closed"
        return "validated" if _VALIDATED_TYPE.search(inner) else None
    if _CLOSED_TYPE.match(text):
        return "closed"
    return "validated" if _VALIDATED_TYPE.search(text) else None


# `query: ListOrdersQuery`: an object of the project's own class, not text. Class names
# that say text (`SecretStr`, `RawSQL`, `TextClause`, `Any`) do not count.
_CLASS_NAME = re.compile(r"(?:[A-Za-z_]\w*\.)*([A-Z]\w*)")
_TEXT_NAME = re.compile(r"str|text|sql|stmt|statement|any|literal|bytes", re.IGNORECASE)
_OPTIONAL = re.compile(r"^(?:typing\.)?Optional\[(.*)\]$|^(.*)\|None$|^None\|(.*)$|^(?:typing\.)?Annotated\[([^,]*),.*\]$")


def object_class(annotation: str | None) -> str | None:
    """The class an annotation names when the value is an instance of it rather than
    text: `ListOrdersQuery`, `Optional[jobs.Command]`, `"Command | None"`. None for text,
    containers, unions of several types and anything else."""
    if not annotation:
        return None
    text = "".join(annotation.split()).strip("\"'")
    while (match := _OPTIONAL.match(text)) is not None:
        text = next(group for group in match.groups() if group is not None)
    match = _CLASS_NAME.fullmatch(text)
    if match is None or _TEXT_NAME.search(match.group(1)):
        return None
    return text


def command_object(ctx, params: list[Param], expr: cst.CSTNode) -> bool:
    """`expr` is an object of one of the project's own classes (`object_class`) rather
    than text: one of `params` typed so (`query: ListOrdersQuery`), or built by calling
    the class (`SaveDraft(...)`). A command or query object the project runs itself.

    The project's own: defined in the file, or imported relatively or from the package
    the file is in. A library's class may wrap text (neo4j's `Query`), and a name bound
    by assignment in the file is an alias, maybe of `str` (`Statement = NewType(...)`)."""
    kind = type(expr)
    if kind is cst.Name:
        param = next((p for p in params if p.name == expr.value), None)
        cls = object_class(param.annotation) if param is not None else None
    elif kind is cst.Call:
        cls = object_class(dotted(expr.func))
    else:
        return False
    if cls is None or module_constant(ctx, cls.split(".")[0]) is not None:
        return False
    if not ctx.imports.is_imported(cls):
        return True  # a class of this file
    root = ctx.imports.qualify_dotted(cls).split(".")[0]
    return root == "" or root in ctx.path.split("/")[:-1]  # `from .jobs import Command`, `from pkg.jobs ...`


def source_label(taint: Taint, nodes) -> str:
    """How a message names the source: `arguments["key"]` for a key read from a
    low-level handler's arguments dict inside `nodes`, else the parameter's name."""
    for node in nodes:
        for sub in walk.iter_nodes(node):
            base = key = None
            if isinstance(sub, cst.Subscript) and len(sub.slice) == 1 and isinstance(sub.slice[0].slice, cst.Index):
                base, key = dotted(sub.value), string_value(sub.slice[0].slice.value)
            elif isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute) and sub.func.attr.value == "get" and sub.args:
                base, key = dotted(sub.func.value), string_value(sub.args[0].value)
            if key is not None and base is not None and base.split(".")[0] == taint.param:
                return f'{base}["{key}"]'
    return taint.param
