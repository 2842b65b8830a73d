"""The project view: servers made in one module, their handlers registered in others.

Per file (picklable, no libcst nodes): `collect()` turns a file's `FileModel` into
`ModuleFacts`: its servers, transports, auth and handlers with file:line, plus the
few value flows that can carry a server object between functions and modules
(assignments, call arguments, returns, imported names).

Per project: `join()` follows those flows from every server constructor to the
places the object is used: a module that imports it (`from .app import mcp`), a
helper that receives it (`register(mcp)`), the caller of a factory
(`mcp = create_server()`), an instance attribute (`self.mcp`). What each file saw of
the same object (handlers, transports, auth) is merged into one `ProjectServer`.
Handlers registered from another module (`mcp.add_tool(search)` with `search`
imported) are found here too: `ProjectModel.handlers_by_file` tells each file which of
its functions are handlers.

Limits: flows go through names only (not containers, not `getattr`, not loops over
lists of functions); a server that reaches a helper from no scanned constructor stays
`inferred` (one project server per distinct origin, e.g. per unresolved import).
"""

from __future__ import annotations

import ast
import inspect
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass, field, replace
from posixpath import dirname, join as join_path, normpath
from typing import Callable, Mapping, Union

import libcst as cst

from mcplint.files import is_test_path
from mcplint.mcp import sdk, walk
from mcplint.mcp.builder import argument, call_args, function_params, node_source, string_value
from mcplint.mcp.model import FileModel, Param, Server, Value
from mcplint.mcp.names import ImportTable, dotted
from mcplint.mcp.project import ModuleIndex
from mcplint.positions import Positions, syntax_of

MAX_IMPORT_HOPS = 8  # re-exports followed from one import (`from .tools import x` -> tools/__init__ -> ...)
_SNIPPET = 60


# -- plain data (what the join and the reports see) --------------------------------


@dataclass(frozen=True)
class Location:
    path: str
    line: int
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class ParamInfo:
    name: str
    annotation: str | None  # source text
    default: str | None  # source text
    star: str = ""  # "", "*", "**"
    injected: bool = False  # filled by the SDK (Context, Depends(...))
    from_client: bool = True  # False: a resource parameter missing from the URI template

    @property
    def untrusted(self) -> bool:
        return not self.injected and self.from_client


@dataclass(frozen=True)
class HostInfo:
    value: str | None  # the literal, or the literal default of a runtime setting; None if unknown
    from_env: bool  # only a default: an env var, a CLI option or a parameter may change it
    location: Location | None  # where the value is written


@dataclass(frozen=True)
class TransportInfo:
    kind: str  # stdio, sse, streamable-http, http, unknown, unknown-network
    via: str  # run, app, session-manager
    location: Location
    host: HostInfo | None  # None: not given (see docs/inventory-format.md)
    served_by: Location | None = None  # the ASGI runner (uvicorn.run) serving an app, if seen

    @property
    def network(self) -> bool:
        return self.kind in sdk.NETWORK_TRANSPORTS or self.kind == "unknown-network"


@dataclass(frozen=True)
class Evidence:
    location: Location
    text: str  # the source, shortened to one line


@dataclass
class ServerInfo:
    """One server object as one file sees it (a constructor, or an inferred use)."""

    path: str
    index: int  # position in the file's FileModel.servers
    var: str
    dialect: str
    location: Location
    name: str | None  # the literal name given to the constructor
    transports: list[TransportInfo] = field(default_factory=list)
    auth_evidence: list[Evidence] = field(default_factory=list)
    auth_unknown: list[str] = field(default_factory=list)
    type_hint: str | None = None
    # The constructor's `host=`: what run() binds to when it is not given one (SDK 1.x).
    configured_host: HostInfo | None = None
    slot: "Ref | None" = None  # where the object is bound, for the join
    constructor: "Func | Imported | None" = None  # the class called, for project subclasses
    # A call of a project class named like a server (`VectorMCP()`) the file model does
    # not know: a server only if the join finds an SDK server class among its bases.
    candidate: bool = False

    @property
    def concrete(self) -> bool:
        """Constructed here (a project subclass of the SDK class counts)."""
        if self.candidate:
            return False
        return self.dialect != sdk.INFERRED or sdk.AUTH_UNKNOWN_SUBCLASS in self.auth_unknown


@dataclass(frozen=True)
class SchemaParam:
    name: str
    type: str | None  # JSON-schema type or the field annotation
    required: bool


@dataclass(frozen=True)
class DeclaredTool:
    """A low-level server's `types.Tool(name=..., inputSchema=...)` declaration."""

    name: str | None
    location: Location
    description: str | None
    params: tuple[SchemaParam, ...] | None  # None: the schema is not a literal the inventory can read
    annotations: tuple[tuple[str, object], ...] | None = None
    var: str | None = None  # the module-level name it is bound to, for `from .tools import search_tool`


@dataclass
class HandlerInfo:
    kind: str  # tool, resource, prompt, completion
    name: str  # what the client sees
    path: str  # the file holding the function
    function: str  # its qualified name in that file: "search", "register.scale", "Tools.run"
    location: Location  # the `def`
    registration: Location  # the decorator or registering call (may be in another file)
    params: tuple[ParamInfo, ...]
    uri: str | None = None
    lowlevel: bool = False
    description: str | None = None
    title: str | None = None
    # ToolAnnotations given at registration, camelCase keys: (("readOnlyHint", True), ...)
    annotations: tuple[tuple[str, object], ...] | None = None
    annotations_complete: bool = True  # False: some annotation is not a literal
    declared_tools: tuple[DeclaredTool, ...] = ()
    server: tuple[str, int] | None = None  # (path, index) of the per-file server it was registered on
    servers: list[str] = field(default_factory=list)  # project server ids, filled by the join

    @property
    def cross_file(self) -> bool:
        return self.registration.path != self.path

    @property
    def untrusted_params(self) -> list[ParamInfo]:
        return [p for p in self.params if p.untrusted]

    @property
    def label(self) -> str:
        return f"{self.kind} `{self.name}`"


@dataclass(frozen=True)
class FunctionInfo:
    qualname: str
    location: Location
    params: tuple[ParamInfo, ...]  # self/cls dropped
    docstring: str | None

    @property
    def positional(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if not p.star)


# -- references: how a file names a value, resolved by the join --------------------


@dataclass(frozen=True)
class Name:
    """A name in a scope of a file: ("pkg/server.py", "create_server", "mcp")."""

    path: str
    scope: str  # "" for the module, "C" for `self.x` of class C
    name: str


@dataclass(frozen=True)
class Imported:
    """A name as a file imports it (`.app.mcp`), resolved through the module index."""

    path: str
    qualified: str


@dataclass(frozen=True)
class Func:
    path: str
    qualname: str  # a class stands for its __init__


@dataclass(frozen=True)
class Returned:
    function: Union[Func, Imported]


@dataclass(frozen=True)
class Argument:
    function: Union[Func, Imported]
    key: Union[int, str]  # position (self/cls not counted) or keyword


@dataclass(frozen=True)
class ServerRef:
    """A server of a file's model, by index."""

    path: str
    index: int


@dataclass(frozen=True)
class External:
    """An import no scanned file answers; files importing the same name share it."""

    key: str


Ref = Union[Name, Imported, Returned, Argument, ServerRef, External]


@dataclass
class Registration:
    """`mcp.add_tool(fn)`, `mcp.tool(fn)`, `Tool.from_function(fn)`, `tools=[fn]`."""

    kind: str
    function: Union[Func, Imported]
    receiver: Ref | None
    location: Location
    name: str | None = None
    uri: str | None = None
    description: str | None = None
    title: str | None = None
    annotations: tuple[tuple[str, object], ...] | None = None
    annotations_complete: bool = True


@dataclass(frozen=True)
class Mount:
    """`parent.mount(child, namespace="x")`, `parent.import_server(child, prefix="x")` (fastmcp)."""

    parent: Ref
    child: Ref
    namespace: str | None
    location: Location


@dataclass(frozen=True)
class Run:
    """`server.run()` the file model could not tie to a server (its object came from elsewhere)."""

    receiver: Ref
    kind: str
    location: Location
    host: HostInfo | None


@dataclass
class ModuleFacts:
    path: str
    imports: dict[str, str] = field(default_factory=dict)  # module-level: local name -> qualified
    defined: set[str] = field(default_factory=set)  # names bound at module level
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    servers: list[ServerInfo] = field(default_factory=list)
    handlers: list[HandlerInfo] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)
    edges: list[tuple[Ref, Ref]] = field(default_factory=list)  # value flows: source -> target
    seeds: list[tuple[Ref, int]] = field(default_factory=list)  # (slot, server index) of constructors
    classes: dict[str, tuple["Func | Imported", ...]] = field(default_factory=dict)  # module-level: bases
    mounts: list[Mount] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    declared: list[DeclaredTool] = field(default_factory=list)  # low-level `types.Tool(...)` declarations


# -- the project ------------------------------------------------------------------


@dataclass(frozen=True)
class Mounted:
    server: str  # the other server's id
    namespace: str | None
    location: Location  # the mount() call


@dataclass
class ProjectServer:
    id: str  # "path:line" of the constructor (or of the first place it is seen)
    dialect: str  # the constructor's; "inferred" when no scanned file constructs it
    location: Location
    var: str
    name: str | None
    members: list[ServerInfo]  # every file's view of this object, the constructor first
    transports: list[TransportInfo] = field(default_factory=list)
    auth_evidence: list[Evidence] = field(default_factory=list)
    auth_unknown: list[str] = field(default_factory=list)
    handlers: list[HandlerInfo] = field(default_factory=list)
    server_class: str | None = None  # a project subclass of the SDK class (`QdrantMCPServer`)
    mounts: list[Mounted] = field(default_factory=list)  # servers mounted into this one
    mounted_in: list[Mounted] = field(default_factory=list)  # servers this one is mounted into

    @property
    def test_code(self) -> bool:
        """Constructed (or first seen) in a test file."""
        return is_test_path(self.location.path)

    @property
    def resolved(self) -> bool:
        return self.members[0].concrete

    @property
    def auth(self) -> str:
        """'configured', 'absent' or 'unknown' (see `auth_unknown` for why)."""
        if self.auth_evidence:
            return "configured"
        return "unknown" if self.auth_unknown else "absent"

    @property
    def network_transports(self) -> list[TransportInfo]:
        return [t for t in self.transports if t.network]


@dataclass
class ProjectModel:
    servers: list[ProjectServer]
    handlers: list[HandlerInfo]  # every handler once, by file and line
    # (path, index of a per-file server) -> the project servers it is
    server_of: dict[tuple[str, int], list[str]]

    @property
    def handlers_by_file(self) -> dict[str, list[tuple[str, HandlerInfo]]]:
        """For each file, its functions that are handlers: (qualified name, handler)."""
        out: dict[str, list[tuple[str, HandlerInfo]]] = defaultdict(list)
        for handler in self.handlers:
            out[handler.path].append((handler.function, handler))
        return dict(out)

    def cross_file_handlers(self, path: str) -> list[tuple[str, HandlerInfo]]:
        """Functions of `path` registered as handlers by another file (its own model misses them)."""
        return [(h.function, h) for h in self.handlers if h.path == path and h.cross_file]

    @property
    def unattached(self) -> list[HandlerInfo]:
        """Handlers on no server seen (fastmcp's standalone `@tool`, never added)."""
        return [h for h in self.handlers if not h.servers]

    def server(self, server_id: str) -> ProjectServer | None:
        return next((s for s in self.servers if s.id == server_id), None)




# -- per file ----------------------------------------------------------------------


@dataclass(eq=False)
class _Scope:
    kind: str  # module, class, function
    qual: str
    parent: "_Scope | None"
    params: set[str] = field(default_factory=set)
    assigned: set[str] = field(default_factory=set)
    defs: dict[str, str] = field(default_factory=dict)  # function/class defined here -> qualname
    globals: set[str] = field(default_factory=set)
    imports: ImportTable = field(default_factory=ImportTable)
    tool_objects: dict[str, cst.Call] = field(default_factory=dict)  # t = Tool.from_function(fn)

    def chain(self):
        scope: _Scope | None = self
        first = True
        while scope is not None:
            if first or scope.kind != "class":  # class bodies do not enclose their methods
                yield scope
            first = False
            scope = scope.parent

    def klass(self) -> "_Scope | None":
        scope: _Scope | None = self
        while scope is not None and scope.kind != "class":
            scope = scope.parent
        return scope


class _Walker(cst.CSTVisitor):
    """Scopes, the bindings in them, and the calls, assignments and returns that matter."""

    def __init__(self, constructors: dict[int, int]) -> None:
        self.constructors = constructors  # id(constructor call) -> server index
        self.module = _Scope("module", "", None)
        self.scope = self.module
        self.node_scope: dict[int, _Scope] = {}  # Param, Decorator, Call, Subscript -> scope
        self.function_qual: dict[int, str] = {}  # id(FunctionDef) -> qualname
        self.functions: list[tuple[str, cst.FunctionDef]] = []
        self.calls: list[tuple[cst.Call, _Scope, tuple[cst.Call, ...]]] = []
        self.assigns: list[tuple[str, cst.BaseExpression, _Scope]] = []
        self.returns: list[tuple[cst.BaseExpression, _Scope]] = []
        self.bound_calls: dict[int, tuple[str, _Scope]] = {}  # id(call) -> (target, scope)
        self.returned_calls: dict[int, _Scope] = {}
        self.class_consts: dict[str, dict[str, str]] = {}  # module-level class -> NAME = "literal"
        self.class_fields: dict[str, list[tuple[str, str | None, bool]]] = {}  # pydantic-ish fields
        self.classes: list[tuple[cst.ClassDef, _Scope]] = []  # with the scope it is defined in
        self.loops: dict[int, tuple[tuple[str, cst.BaseExpression], ...]] = {}  # id(call) -> enclosing `for x in ...`
        self._loops: list[tuple[str, cst.BaseExpression]] = []
        self.decorated: list[tuple[str, cst.FunctionDef, _Scope]] = []
        self._stack: list[cst.Call] = []
        self._bodies: dict[int, _Scope] = {}  # id(body of a def/class) -> its scope

    def _define(self, kind: str, name: str, body: cst.CSTNode) -> _Scope:
        """A new scope, entered when its body is (decorators, bases and defaults are outside)."""
        qual = f"{self.scope.qual}.{name}" if self.scope.qual else name
        self.scope.defs[name] = qual
        self.scope.assigned.add(name)
        scope = _Scope(kind, qual, self.scope)
        self._bodies[id(body)] = scope
        return scope

    def _enter(self, node: cst.CSTNode) -> None:
        scope = self._bodies.get(id(node))
        if scope is not None:
            self.scope = scope

    def _leave(self, node: cst.CSTNode) -> None:
        scope = self._bodies.get(id(node))
        if scope is not None:
            self.scope = scope.parent or self.module

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._enter(node)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self._leave(original_node)

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._enter(node)

    def leave_SimpleStatementSuite(self, original_node: cst.SimpleStatementSuite) -> None:
        self._leave(original_node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        for decorator in node.decorators:
            self.node_scope[id(decorator)] = self.scope
        self.classes.append((node, self.scope))
        self._define("class", node.name.value, node.body)
        if self.scope is self.module and isinstance(node.body, cst.IndentedBlock):
            self._class_body(node)

    def _class_body(self, node: cst.ClassDef) -> None:
        consts: dict[str, str] = {}
        fields: list[tuple[str, str | None, bool]] = []
        for statement in node.body.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    text = string_value(small.value)
                    if text is not None:
                        consts[small.targets[0].target.value] = text
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    fields.append((small.target.value, node_source(small.annotation.annotation), small.value is None))
        self.class_consts[node.name.value] = consts
        self.class_fields[node.name.value] = fields

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for decorator in node.decorators:
            self.node_scope[id(decorator)] = self.scope
        scope = self._define("function", node.name.value, node.body)
        self.function_qual[id(node)] = scope.qual
        self.functions.append((scope.qual, node))
        if node.decorators:
            self.decorated.append((scope.qual, node, scope.parent or self.module))
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params, params.star_arg, params.star_kwarg):
            if isinstance(param, cst.Param):
                scope.params.add(param.name.value)
                self.node_scope[id(param)] = scope

    def visit_Import(self, node: cst.Import) -> None:
        self.scope.imports.add(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.scope.imports.add(node)

    def visit_Global(self, node: cst.Global) -> None:
        self.scope.globals.update(item.name.value for item in node.names)

    def _bind(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.scope.assigned.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value)

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        self._bind(target)
        name = dotted(target)
        if name is None or value is None:
            return
        self.assigns.append((name, value, self.scope))
        inner = value.expression if isinstance(value, cst.Await) else value
        if isinstance(inner, cst.Call):
            self.bound_calls.setdefault(id(inner), (name, self.scope))

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._assign(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._assign(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target)
        if isinstance(node.target, cst.Name):
            self._loops.append((node.target.value, node.iter))

    def leave_For(self, original_node: cst.For) -> None:
        if isinstance(original_node.target, cst.Name):
            self._loops.pop()

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind(node.name.name)

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is None:
            return
        self.returns.append((node.value, self.scope))
        inner = node.value.expression if isinstance(node.value, cst.Await) else node.value
        if isinstance(inner, cst.Call):
            self.returned_calls[id(inner)] = self.scope

    def visit_Subscript(self, node: cst.Subscript) -> None:
        self.node_scope[id(node)] = self.scope

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False  # its parameters would shadow names; nothing registers servers in lambdas

    def visit_Call(self, node: cst.Call) -> None:
        self.node_scope[id(node)] = self.scope
        self.calls.append((node, self.scope, tuple(self._stack)))
        if self._loops:
            self.loops[id(node)] = tuple(self._loops)
        self._stack.append(node)

    def leave_Call(self, original_node: cst.Call) -> None:
        self._stack.pop()


_CAMEL = {
    "read_only_hint": "readOnlyHint",
    "destructive_hint": "destructiveHint",
    "idempotent_hint": "idempotentHint",
    "open_world_hint": "openWorldHint",
}


def _literal(node: cst.BaseExpression) -> tuple[bool, object]:
    """(is a literal, its value) for True/False/None, strings and numbers."""
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return True, {"True": True, "False": False, "None": None}[node.value]
    text = string_value(node)
    if text is not None:
        return True, text
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return True, node.evaluated_value
        except Exception:
            return False, None
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        ok, value = _literal(node.expression)
        if ok and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, -value
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        values = []
        for element in node.elements:
            ok, value = _literal(element.value)
            if not ok:
                return False, None
            values.append(value)
        return True, tuple(values)
    return False, None


def _annotations(
    expr: cst.BaseExpression | None, resolve: Callable[[cst.BaseExpression], cst.BaseExpression] = lambda e: e
) -> tuple[tuple[tuple[str, object], ...] | None, bool]:
    """`ToolAnnotations(readOnlyHint=True)` or `{"readOnlyHint": True}` -> ((key, value), ...), complete."""
    expr = resolve(expr) if expr is not None else None
    if expr is None or (isinstance(expr, cst.Name) and expr.value == "None"):
        return None, True
    pairs: list[tuple[str, object]] = []
    complete = True
    if isinstance(expr, cst.Call) and (dotted(expr.func) or "").rsplit(".", 1)[-1] in ("ToolAnnotations", "dict"):
        _, keywords, star = call_args(expr)
        complete = not star and all(a.keyword is not None or a.star for a in expr.args)
        items = [(key, arg.value) for key, arg in keywords.items()]
    elif isinstance(expr, cst.Dict):
        items = []
        for element in expr.elements:
            key = string_value(element.key) if isinstance(element, cst.DictElement) else None
            if key is None:
                complete = False
                continue
            items.append((key, element.value))
    else:
        return (), False  # built by a helper or elsewhere: given, but not readable here
    for key, value in items:
        ok, literal = _literal(value)
        if ok:
            pairs.append((_CAMEL.get(key, key), literal))
        else:
            complete = False
    return tuple(pairs), complete


@dataclass
class _Meta:
    name: str | None = None
    uri: str | None = None
    description: str | None = None
    title: str | None = None
    annotations: tuple[tuple[str, object], ...] | None = None
    annotations_complete: bool = True


def _registration_call(node: cst.CSTNode) -> cst.Call | None:
    """The call whose keywords configure a handler registered at `node`."""
    if isinstance(node, cst.Decorator):
        return node.decorator if isinstance(node.decorator, cst.Call) else None
    if isinstance(node, cst.Call):
        if isinstance(node.func, cst.Call):  # mcp.tool(name="x")(fn)
            return node.func
        return node
    return None


def _docstring(function: cst.FunctionDef) -> str | None:
    try:
        text = function.get_docstring(clean=False)
    except Exception:
        return None
    return inspect.cleandoc(text) if text else None


def _short(node: cst.CSTNode, limit: int = _SNIPPET) -> str:
    """The source of `node` on one line, shortened: `auth=AuthSettings(issuer_url=…`."""
    if isinstance(node, cst.Arg) and node.keyword is not None:
        return f"{node.keyword.value}={_short(node.value, max(limit - len(node.keyword.value) - 1, 10))}"
    text = _one_line(node_source(node)).rstrip(", ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Locator:
    """file:line of nodes, each from the statement that holds it (`mcplint.positions`):
    no positions are resolved for the whole file unless `positions` is given."""

    def __init__(self, path: str, module: cst.Module, positions: Mapping | None, source: bytes | None):
        self.path = path
        self.positions = positions if positions is not None else \
            Positions(module, syntax_of(source) if source is not None else None)

    def find(self, node: cst.CSTNode) -> Location | None:
        rng = self.positions.get(node)
        return Location(self.path, rng.start.line, rng.start.column + 1) if rng is not None else None


class _Collector:
    def __init__(
        self, path: str, module: cst.Module, model: FileModel | None, positions: Mapping | None, source: bytes | None
    ) -> None:
        self.path = path
        self.module = module
        self.model = model or FileModel()
        self._positions = positions
        self.source = source
        self.server_index = {id(s): i for i, s in enumerate(self.model.servers)}
        constructors = {id(s.node): i for i, s in enumerate(self.model.servers) if isinstance(s.node, cst.Call)}
        self.walker = _Walker(constructors)
        walk.visit(module, self.walker)
        self.locator = _Locator(path, module, positions, source)
        self.imports = ImportTable()
        self.imports.aliases = dict(self.walker.module.imports.aliases)
        self.facts = ModuleFacts(path, imports=self.imports.aliases, defined=set(self.walker.module.assigned))
        self.scope_values: dict[tuple[int, str], list[cst.BaseExpression]] = defaultdict(list)
        for target, value, scope in self.walker.assigns:
            self.scope_values[(id(scope), target)].append(value)
        self.module_values = {
            name: values for (scope_id, name), values in self.scope_values.items() if scope_id == id(self.walker.module)
        }

    # -- positions ---------------------------------------------------------------
    def loc(self, node: cst.CSTNode | None) -> Location | None:
        return self.locator.find(node) if node is not None else None

    def _loc(self, node: cst.CSTNode) -> Location:
        return self.loc(node) or Location(self.path, 1, 1)

    # -- names -----------------------------------------------------------------------
    def value_ref(self, name: str, scope: _Scope) -> Ref | None:
        head = name.split(".", 1)[0]
        if head in ("self", "cls"):
            klass = scope.klass()
            return Name(self.path, klass.qual, name) if klass is not None else None
        for s in scope.chain():
            if head in s.globals:
                s = self.walker.module
            if head in s.imports.aliases:
                return Imported(self.path, s.imports.qualify_dotted(name))
            if head in s.params or head in s.assigned:
                return Name(self.path, s.qual, name)
            if s is self.walker.module:
                break
        return Name(self.path, "", name)

    def func_ref(self, expr: cst.BaseExpression, scope: _Scope) -> Func | Imported | None:
        if isinstance(expr, cst.Subscript):  # FastMCP[AppContext]
            expr = expr.value
        name = dotted(expr)
        return self._func(name, scope, 0) if name is not None else None

    def _func(self, name: str, scope: _Scope, depth: int) -> Func | Imported | None:
        head, _, rest = name.partition(".")
        if head in ("self", "cls"):
            klass = scope.klass()
            if klass is None or not rest or "." in rest:
                return None
            return Func(self.path, f"{klass.qual}.{rest}")
        for s in scope.chain():
            if head in s.imports.aliases:
                return Imported(self.path, s.imports.qualify_dotted(name))
            if head in s.defs:
                return Func(self.path, f"{s.defs[head]}.{rest}" if rest else s.defs[head])
            if head in s.params:
                return None  # a value we cannot name
            if head in s.assigned:
                return self._alias(s, head, rest, depth)
        return None

    def _alias(self, scope: _Scope, head: str, rest: str, depth: int) -> Func | Imported | None:
        """`find_foo = find`, `run_query = _queries.run_query` with `_queries = Queries(...)`."""
        if depth >= 3:
            return None
        found: set[Func | Imported] = set()
        for value in self.scope_values.get((id(scope), head), []):
            if isinstance(value, cst.Await):
                value = value.expression
            if isinstance(value, cst.Call):
                if value.args and dotted(value.args[0].value) == head:
                    continue  # find = wrap(find, ...): still that function, wrapped
                if not rest:
                    return None
                func = value.func.value if isinstance(value.func, cst.Subscript) else value.func
                callee = dotted(func)
                klass = self._func(callee, scope, depth + 1) if callee else None  # an instance: its method
                if klass is None:
                    return None
                found.add(_member(klass, rest))
                continue
            target = dotted(value)
            ref = self._func(f"{target}.{rest}" if rest else target, scope, depth + 1) if target else None
            if ref is None:
                return None
            found.add(ref)
        return found.pop() if len(found) == 1 else None

    # -- facts -------------------------------------------------------------------------
    def collect(self) -> ModuleFacts:
        imports_for_params = self.imports
        for qual, function in self.walker.functions:
            self.facts.functions[qual] = FunctionInfo(
                qualname=qual,
                location=self._loc(function),
                params=tuple(_param_info(p) for p in function_params(function, imports_for_params)),
                docstring=_docstring(function),
            )
        for node, scope in self.walker.classes:
            if scope is self.walker.module:
                bases = (self.func_ref(base.value, scope) for base in node.bases)
                self.facts.classes[node.name.value] = tuple(b for b in bases if b is not None)
        self._flows()
        self._servers()
        self._handlers()
        self._registrations()
        self._self_decorators()
        self._mounts_and_runs()
        return self.facts

    def _self_decorators(self) -> None:
        """`@self.tool()` in a subclass of the SDK server: the model does not follow `self`."""
        for qual, function, scope in self.walker.decorated:
            if scope.klass() is None:
                continue
            for decorator in function.decorators:
                expr = decorator.decorator
                target = expr.func if isinstance(expr, cst.Call) else expr
                if not (isinstance(target, cst.Attribute) and dotted(target.value) in ("self", "cls")):
                    continue
                kind = sdk.HIGH_LEVEL_DECORATORS.get(target.attr.value)
                if kind is not None:
                    receiver = self.value_ref("self", scope)
                    meta = self.meta(expr if isinstance(expr, cst.Call) else None, kind)
                    self._register(kind, Func(self.path, qual), receiver, decorator, meta)
                    break

    def _mounts_and_runs(self) -> None:
        seen_runs = {id(t.node) for server in self.model.servers for t in server.transports}
        for call, scope, _ in self.walker.calls:
            func = call.func
            if not isinstance(func, cst.Attribute):
                continue
            method = func.attr.value
            receiver_name = dotted(func.value)
            if receiver_name is None:
                continue
            positional, keywords, star = call_args(call)
            if method in ("mount", "import_server"):
                child = keywords["server"].value if "server" in keywords else next(
                    (a.value for a in positional if dotted(a.value) is not None), None
                )
                child_name = dotted(child) if child is not None else None
                if child_name is None:
                    continue
                namespace_arg = keywords.get("namespace") or keywords.get("prefix")
                namespace = string_value(namespace_arg.value) if namespace_arg is not None else next(
                    (string_value(a.value) for a in positional if string_value(a.value) is not None), None
                )
                parent_ref, child_ref = self.value_ref(receiver_name, scope), self.value_ref(child_name, scope)
                if parent_ref is not None and child_ref is not None:
                    self.facts.mounts.append(Mount(parent_ref, child_ref, namespace, self._loc(call)))
            elif method in ("run", "run_async") and id(call) not in seen_runs:
                receiver = self.value_ref(receiver_name, scope)
                if receiver is not None:
                    kind, host = self._run_kind(call, positional, keywords, star)
                    self.facts.runs.append(Run(receiver, kind, self._loc(call), host))

    def _run_kind(self, call, positional, keywords, star) -> tuple[str, HostInfo | None]:
        transport = keywords["transport"].value if "transport" in keywords else (positional[0].value if positional else None)
        host_arg = keywords.get("host")
        host = None
        if host_arg is not None:
            text = string_value(host_arg.value)
            host = HostInfo(text, text is None, self.loc(host_arg.value))
        if transport is None:
            return ("unknown" if star else sdk.STDIO), host
        text = (string_value(transport) or "").strip().lower()
        if text in sdk.TRANSPORT_NAMES:
            return text, host if text != sdk.STDIO else None
        return ("unknown-network" if sdk.NETWORK_RUN_KWARGS & keywords.keys() else "unknown"), host

    def _flows(self) -> None:
        edges = self.facts.edges
        for target, value, scope in self.walker.assigns:
            dst = self.value_ref(target, scope)
            if dst is None:
                continue
            inner = value.expression if isinstance(value, cst.Await) else value
            if isinstance(inner, cst.Call):
                function = self.func_ref(inner.func, scope)
                if function is not None:
                    edges.append((Returned(function), dst))
            else:
                name = dotted(inner)
                src = self.value_ref(name, scope) if name else None
                if src is not None and src != dst:
                    edges.append((src, dst))
        for value, scope in self.walker.returns:
            if scope.kind != "function":
                continue
            here = Returned(Func(self.path, scope.qual))
            inner = value.expression if isinstance(value, cst.Await) else value
            if isinstance(inner, cst.Call):
                function = self.func_ref(inner.func, scope)
                if function is not None:
                    edges.append((Returned(function), here))
            else:
                name = dotted(inner)
                src = self.value_ref(name, scope) if name else None
                if src is not None:
                    edges.append((src, here))
        for call, scope, _ in self.walker.calls:
            named = [
                (key, name)
                for key, name in _named_arguments(call)
            ]
            if not named:
                continue
            function = self.func_ref(call.func, scope)
            if function is None:
                continue
            for key, name in named:
                src = self.value_ref(name, scope)
                if src is not None:
                    edges.append((src, Argument(function, key)))

    def constant(self, expr: cst.BaseExpression) -> cst.BaseExpression:
        """What a module-level name stands for (`READ_ONLY = ToolAnnotations(...)`), else `expr`."""
        if isinstance(expr, cst.Name):
            values = self.module_values.get(expr.value)
            if values is not None and len(values) == 1:
                return values[0]
        return expr

    def text(self, expr: cst.BaseExpression | None) -> str | None:
        """A literal string, a module constant, or `Enum.MEMBER(.value)` of a module-level class."""
        if expr is None:
            return None
        expr = self.constant(expr)
        text = string_value(expr)
        if text is not None:
            return text
        if isinstance(expr, cst.Attribute) and expr.attr.value in ("value", "name") and isinstance(expr.value, cst.Attribute):
            if expr.attr.value == "name":
                return None
            expr = expr.value  # GitTools.STATUS.value
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            return self.walker.class_consts.get(expr.value.value, {}).get(expr.attr.value)
        return None

    def meta(self, call: cst.Call | None, kind: str = "tool") -> _Meta:
        """Name, URI, description, title and annotations given where a handler is registered."""
        if call is None:
            return _Meta()
        positional, keywords, _ = call_args(call)

        def text(key: str) -> str | None:
            return self.text(keywords[key].value) if key in keywords else None

        first = self.text(positional[0].value) if positional and not _is_from_function(call) else None
        name = text("name") or (first if kind in ("tool", "prompt") else None)
        uri = text("uri") or text("uri_template") or (first if kind == "resource" else None)

        given = keywords["annotations"].value if "annotations" in keywords else None
        annotations, complete = _annotations(given, self.constant)
        return _Meta(
            name=name,
            uri=uri,
            description=text("description"),
            title=text("title"),
            annotations=annotations,
            annotations_complete=complete,
        )

    def _servers(self) -> None:
        for index, server in enumerate(self.model.servers):
            info = ServerInfo(
                path=self.path,
                index=index,
                var=server.var,
                dialect=server.dialect,
                location=self._loc(server.node),
                name=_server_name(server),
                transports=[self._transport(t) for t in server.transports],
                auth_evidence=sorted(
                    (Evidence(self._loc(node), _short(node)) for node in server.auth_evidence),
                    key=lambda e: (e.location.line, e.location.column),
                ),
                auth_unknown=list(server.auth_unknown),
                type_hint=server.type_hint,
                configured_host=self._host(_constructor_host(server)),
            )
            info.slot = self._server_slot(server, info)
            if isinstance(server.node, cst.Call) and info.concrete:
                scope = self.walker.node_scope.get(id(server.node), self.walker.module)
                info.constructor = self.func_ref(server.node.func, scope)
            if info.concrete and info.slot is not None:
                self.facts.seeds.append((info.slot, index))
            self.facts.servers.append(info)
        self._candidates()

    def _candidates(self) -> None:
        """`mcp = VectorMCP()`: a project class whose name says MCP, checked by the join."""
        known = self.walker.constructors
        for call, scope, _ in self.walker.calls:
            if id(call) in known:
                continue
            func = call.func.value if isinstance(call.func, cst.Subscript) else call.func
            name = dotted(func)
            last = name.rsplit(".", 1)[-1] if name else ""
            if "MCP" not in last or not last[:1].isupper():
                continue
            bound = self.walker.bound_calls.get(id(call))
            returned = self.walker.returned_calls.get(id(call))
            if bound is not None:
                slot: Ref | None = self.value_ref(*bound)
            elif returned is not None and returned.kind == "function":
                slot = Returned(Func(self.path, returned.qual))
            else:
                continue
            constructor = self.func_ref(func, scope)
            if constructor is None or slot is None:
                continue
            name_arg = argument(call, 0, "name")
            self.facts.servers.append(
                ServerInfo(
                    path=self.path,
                    index=len(self.facts.servers),
                    var=bound[0] if bound is not None else "",
                    dialect=sdk.INFERRED,
                    location=self._loc(call),
                    name=string_value(name_arg) if name_arg is not None else None,
                    auth_unknown=[sdk.AUTH_UNKNOWN_SUBCLASS],
                    slot=slot,
                    constructor=constructor,
                    candidate=True,
                )
            )

    def _server_slot(self, server: Server, info: ServerInfo) -> Ref | None:
        node = server.node
        if isinstance(node, cst.Call) and info.concrete:
            bound = self.walker.bound_calls.get(id(node))
            if bound is not None:
                return self.value_ref(*bound)
            scope = self.walker.returned_calls.get(id(node))
            if scope is not None and scope.kind == "function":
                return Returned(Func(self.path, scope.qual))
            return None
        if not server.var:
            return None
        scope = self.walker.node_scope.get(id(node))
        if scope is None and isinstance(node, cst.Decorator):
            scope = self.walker.module
        return self.value_ref(server.var, scope or self.walker.module)

    def _transport(self, transport) -> TransportInfo:
        return TransportInfo(
            kind=transport.kind,
            via=transport.via,
            location=self._loc(transport.node),
            host=self._host(transport.host),
            served_by=self.loc(transport.runner),
        )

    def _host(self, value: Value | None) -> HostInfo | None:
        if value is None:
            return None
        return HostInfo(value.text, value.from_env, self.loc(value.node) or self.loc(value.site))

    def _handlers(self) -> None:
        declared = self.facts.declared = list(self._declared_tools())
        for handler in self.model.handlers:
            call = _registration_call(handler.registration)
            meta = self.meta(call, handler.kind)
            name = handler.name
            if not handler.lowlevel and name == handler.function.name.value and meta.name:
                name = meta.name  # `name=Tools.STATUS.value`: an enum member the model does not read
            description = meta.description
            if description is None and not handler.lowlevel:
                description = _docstring(handler.function)
            self.facts.handlers.append(
                HandlerInfo(
                    kind=handler.kind,
                    name=name,
                    path=self.path,
                    function=self.walker.function_qual.get(id(handler.function), handler.function.name.value),
                    location=self._loc(handler.function),
                    registration=self._loc(handler.registration),
                    params=tuple(_param_info(p) for p in handler.params),
                    uri=handler.uri,
                    lowlevel=handler.lowlevel,
                    description=description,
                    title=meta.title,
                    annotations=meta.annotations,
                    annotations_complete=meta.annotations_complete,
                    declared_tools=tuple(declared) if handler.lowlevel and handler.kind == "tool" else (),
                    server=(self.path, self.server_index[id(handler.server)]) if handler.server is not None else None,
                )
            )

    # -- registrations the file model cannot see -------------------------------------
    def _registrations(self) -> None:
        for call, scope, parents in self.walker.calls:
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value == "from_function":
                self._from_function(call, scope, parents)
            elif isinstance(func, cst.Attribute) and func.attr.value in sdk.ADD_METHODS:
                first = argument(call, 0, "fn")
                name = dotted(first) if first is not None else None
                if name is None:
                    continue
                tool_object = next((s.tool_objects[name] for s in scope.chain() if name in s.tool_objects), None)
                if tool_object is not None:  # t = Tool.from_function(fn); mcp.add_tool(t)
                    self._from_function(tool_object, scope, (call,), receiver_call=call)
                    continue
                kind = sdk.ADD_METHODS[func.attr.value]
                loop = next((it for var, it in reversed(self.walker.loops.get(id(call), ())) if var == name), None)
                # for fn in (search, fetch): mcp.add_tool(fn)
                targets = [self.func_ref(e, scope) for e in self._items(loop)] if loop is not None else [self.func_ref(first, scope)]
                for target in targets:
                    if target is not None:
                        self._register(kind, target, self._receiver(func.value, scope), call, self.meta(call, kind))
            elif isinstance(func, cst.Call) and isinstance(func.func, cst.Attribute):
                method = func.func.attr.value  # mcp.tool(name="x")(fn)
                if method in sdk.HIGH_LEVEL_DECORATORS and call.args:
                    target = self.func_ref(call.args[0].value, scope)
                    if target is not None:
                        kind = sdk.HIGH_LEVEL_DECORATORS[method]
                        self._register(kind, target, self._receiver(func.func.value, scope), call, self.meta(func, kind))
            index = self.walker.constructors.get(id(call))
            if index is not None:
                tools = argument(call, None, "tools")
                if isinstance(tools, (cst.List, cst.Tuple)):
                    for element in tools.elements:
                        target = self.func_ref(element.value, scope) if not isinstance(element.value, cst.Call) else None
                        if target is not None:
                            self._register("tool", target, ServerRef(self.path, index), element.value, _Meta())

    def _items(self, expr: cst.BaseExpression) -> list[cst.BaseExpression]:
        """The elements of a literal list/tuple, or of a module constant bound to one."""
        expr = self.constant(expr)
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            return [e.value for e in expr.elements if isinstance(e, cst.Element)]
        return []

    def _receiver(self, expr: cst.BaseExpression, scope: _Scope) -> Ref | None:
        name = dotted(expr)
        return self.value_ref(name, scope) if name else None

    def _from_function(self, call: cst.Call, scope: _Scope, parents: tuple[cst.Call, ...], receiver_call=None) -> None:
        func = call.func
        assert isinstance(func, cst.Attribute)
        kind = _from_function_kind(func)
        first = argument(call, 0, "fn")
        target = self.func_ref(first, scope) if first is not None else None
        if kind is None or target is None:
            return
        receiver: Ref | None = None
        for parent in reversed(parents):
            index = self.walker.constructors.get(id(parent))
            if index is not None:
                receiver = ServerRef(self.path, index)
                break
            pfunc = parent.func
            if isinstance(pfunc, cst.Attribute) and pfunc.attr.value in sdk.ADD_METHODS:
                receiver = self._receiver(pfunc.value, scope)
                break
        if receiver is None and receiver_call is None:
            bound = self.walker.bound_calls.get(id(call))
            if bound is not None and "." not in bound[0]:
                bound[1].tool_objects[bound[0]] = call  # registered later by name
                return
        self._register(kind, target, receiver, call, self.meta(call, kind))

    def _register(self, kind: str, target: Func | Imported, receiver: Ref | None, node: cst.CSTNode, meta: _Meta) -> None:
        self.facts.registrations.append(
            Registration(
                kind=kind,
                function=target,
                receiver=receiver,
                location=self._loc(node),
                name=meta.name,
                uri=meta.uri,
                description=meta.description,
                title=meta.title,
                annotations=meta.annotations,
                annotations_complete=meta.annotations_complete,
            )
        )

    # -- low-level tool declarations ---------------------------------------------------
    def _declared_tools(self) -> tuple[DeclaredTool, ...]:
        out = []
        for call, scope, _ in self.walker.calls:
            qualified = self.imports.qualify(call.func) or ""
            if not (qualified.startswith("mcp.") and qualified.endswith(".Tool")):
                continue
            _, keywords, _ = call_args(call)
            name = self.text(keywords["name"].value) if "name" in keywords else None
            description = self.text(keywords["description"].value) if "description" in keywords else None
            schema = keywords.get("inputSchema") or keywords.get("input_schema")
            annotations = _annotations(keywords["annotations"].value, self.constant)[0] if "annotations" in keywords else None
            bound = self.walker.bound_calls.get(id(call))
            out.append(
                DeclaredTool(
                    name=name,
                    location=self._loc(call),
                    description=description,
                    params=self._schema_params(schema.value) if schema is not None else None,
                    annotations=annotations,
                    var=bound[0] if bound is not None and bound[1] is self.walker.module else None,
                )
            )
        return tuple(out)

    def _schema_params(self, expr: cst.BaseExpression) -> tuple[SchemaParam, ...] | None:
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and isinstance(expr.func.value, cst.Name):
            # GitStatus.model_json_schema(): the fields of a model class of this file
            if expr.func.attr.value in ("model_json_schema", "schema"):
                fields = self.walker.class_fields.get(expr.func.value.value)
                if fields is not None:
                    return tuple(SchemaParam(name, annotation, required) for name, annotation, required in fields)
            return None
        if not isinstance(expr, cst.Dict):
            return None
        entries = _dict_entries(expr)
        if entries is None:
            return None
        properties = entries.get("properties")
        required_node = entries.get("required")
        required: tuple = ()
        if required_node is not None:
            ok, value = _literal(required_node)
            required = value if ok and isinstance(value, tuple) else ()
        if properties is None:
            return ()
        if not isinstance(properties, cst.Dict):
            return None
        props = _dict_entries(properties)
        if props is None:
            return None
        out = []
        for key, value in props.items():
            kind = None
            if isinstance(value, cst.Dict):
                kind = string_value((_dict_entries(value) or {}).get("type"))
            out.append(SchemaParam(key, kind, key in required))
        return tuple(out)


def _dict_entries(node: cst.Dict) -> dict[str, cst.BaseExpression] | None:
    out = {}
    for element in node.elements:
        if not isinstance(element, cst.DictElement):
            return None
        key = string_value(element.key)
        if key is None:
            return None
        out[key] = element.value
    return out


def _named_arguments(call: cst.Call) -> list[tuple[int | str, str]]:
    out: list[tuple[int | str, str]] = []
    position = 0
    for arg in call.args:
        if arg.star:
            if arg.keyword is None and arg.star == "*":
                break  # positions after *args are unknown
            continue
        name = dotted(arg.value)
        if arg.keyword is not None:
            if name is not None:
                out.append((arg.keyword.value, name))
            continue
        if name is not None:
            out.append((position, name))
        position += 1
    return out


def _member(ref: Func | Imported, attr: str) -> Func | Imported:
    if isinstance(ref, Func):
        return Func(ref.path, f"{ref.qualname}.{attr}")
    return Imported(ref.path, f"{ref.qualified}.{attr}")


def _is_from_function(call: cst.Call) -> bool:
    return isinstance(call.func, cst.Attribute) and call.func.attr.value == "from_function"


def _from_function_kind(func: cst.Attribute) -> str | None:
    name = dotted(func) or ""
    for suffix, kind in sdk.FROM_FUNCTION.items():
        if name == suffix or name.endswith("." + suffix):
            return kind
    return None


def _one_line(source: str) -> str:
    """Source text on one line: `Annotated[\n    str,  # why\n]` -> `Annotated[str]`."""
    if "\n" in source or "#" in source:
        try:  # CPython's unparser drops comments, which joined lines would turn into the rest of the line
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # about the scanned code's escapes (`"\d"`): not ours to print
                return ast.unparse(ast.parse(source.strip(), mode="eval"))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
    text = " ".join(source.split())
    text = re.sub(r"([\[(])\s+", r"\1", text)
    text = re.sub(r",?\s*([\])])", r"\1", text)
    return text


def _param_info(param: Param) -> ParamInfo:
    default = param.node.default
    return ParamInfo(
        name=param.name,
        annotation=_one_line(param.annotation) if param.annotation else None,
        default=_short(default) if default is not None else None,
        star=param.star,
        injected=param.injected,
        from_client=param.from_client,
    )


def _constructor_host(server: Server) -> Value | None:
    arg = server.kwargs.get("host")
    if arg is None:
        return None
    return next((value for value in server.hosts if value.site is arg.value), None)


def _server_name(server: Server) -> str | None:
    node = server.node
    if not isinstance(node, cst.Call):
        return None
    name = argument(node, 0, "name")
    return string_value(name) if name is not None else None


def collect(
    path: str,
    module: cst.Module,
    model: FileModel | None = None,
    positions: Mapping | None = None,
    source: bytes | None = None,
) -> ModuleFacts:
    """The picklable facts of one file for the join (`model` None: functions and imports only).

    `positions` is the module's `PositionProvider` mapping, if already resolved; else
    it is resolved only if the file has something to locate (servers, handlers,
    registrations), and function lines come from `source` through `ast`, which is
    much cheaper.
    """
    return _Collector(path, module, model, positions, source).collect()


# -- the join -----------------------------------------------------------------------


Loader = Callable[[str], "ModuleFacts | None"]
_RETURN = "<return>"


class _Resolver:
    def __init__(self, facts: dict[str, ModuleFacts], index: ModuleIndex, load: Loader | None) -> None:
        self.facts = facts
        self.index = index
        self.load = load
        self._missing: set[str] = set()
        self._canon: dict[Ref, Name | External | ServerRef | None] = {}

    def module(self, path: str) -> ModuleFacts | None:
        found = self.facts.get(path)
        if found is None and self.load is not None and path not in self._missing:
            found = self.load(path)
            if found is None:
                self._missing.add(path)
            else:
                self.facts[path] = found
        return found

    def imported(self, ref: Imported, hops: int = 0) -> Name | External | None:
        """Where an imported name lives: a module-level name of a scanned file."""
        target = self.index.resolve(ref.path, ref.qualified)
        if target is None:
            return External(_external_key(ref))
        if not target.name:
            return None  # the module itself
        head = target.name.split(".", 1)[0]
        facts = self.module(target.path)
        if facts is not None and head not in facts.defined and head in facts.imports and hops < MAX_IMPORT_HOPS:
            qualified = ImportTable()
            qualified.aliases = facts.imports
            return self.imported(Imported(target.path, qualified.qualify_dotted(target.name)), hops + 1)
        return Name(target.path, "", target.name)

    def function(self, ref: Func | Imported, hops: int = 0) -> tuple[ModuleFacts, FunctionInfo] | None:
        if isinstance(ref, Imported):
            target = self.index.resolve(ref.path, ref.qualified)
            if target is None or not target.name:
                return None
            path, name = target.path, target.name
        else:
            path, name = ref.path, ref.qualname
        facts = self.module(path)
        if facts is None:
            return None
        for key in (name, f"{name}.__init__"):
            if key in facts.functions:
                return facts, facts.functions[key]
        head = name.split(".", 1)[0]
        if head not in facts.defined and head in facts.imports and hops < MAX_IMPORT_HOPS:
            table = ImportTable()
            table.aliases = facts.imports
            return self.function(Imported(path, table.qualify_dotted(name)), hops + 1)
        return None

    def server_class(self, ref: Func | Imported, hops: int = 0) -> tuple[str | None, tuple[str, str] | None]:
        """(SDK dialect, project class (path, name)) of the class a constructor calls."""
        if hops > MAX_IMPORT_HOPS:
            return None, None
        if isinstance(ref, Imported):
            if ref.qualified in sdk.SERVER_CLASSES:
                return sdk.SERVER_CLASSES[ref.qualified], None
            if ref.qualified in sdk.SERVER_FACTORIES:
                return sdk.SERVER_FACTORIES[ref.qualified], None
            target = self.index.resolve(ref.path, ref.qualified)
            if target is None or not target.name:
                return None, None
            path, name = target.path, target.name
        else:
            path, name = ref.path, ref.qualname
        facts = self.module(path)
        if facts is None:
            return None, None
        bases = facts.classes.get(name)
        if bases is None:
            head = name.split(".", 1)[0]
            if head not in facts.defined and head in facts.imports:
                table = ImportTable()
                table.aliases = facts.imports
                return self.server_class(Imported(path, table.qualify_dotted(name)), hops + 1)
            return None, None
        for base in bases:
            dialect, _ = self.server_class(base, hops + 1)
            if dialect is not None:
                return dialect, (path, name)
        return None, (path, name)

    def canon(self, ref: Ref) -> Name | External | ServerRef | None:
        if ref not in self._canon:
            self._canon[ref] = self._canonical(ref)
        return self._canon[ref]

    def _canonical(self, ref: Ref) -> Name | External | ServerRef | None:
        if isinstance(ref, (Name, External, ServerRef)):
            return ref
        if isinstance(ref, Imported):
            return self.imported(ref)
        if isinstance(ref, Returned):
            found = self.function(ref.function)
            return Name(found[0].path, found[1].qualname, _RETURN) if found else None
        if isinstance(ref, Argument):
            found = self.function(ref.function)
            if found is None:
                return None
            facts, info = found
            if isinstance(ref.key, str):
                names = {p.name for p in info.params if not p.star}
                name = ref.key if ref.key in names else None
            else:
                name = info.positional[ref.key] if ref.key < len(info.positional) else None
            return Name(facts.path, info.qualname, name) if name else None
        return None


def _external_key(ref: Imported) -> str:
    """`.app.mcp` imported by `pkg/tools/a.py` -> `pkg/tools/app.mcp` (same for every importer)."""
    qualified = ref.qualified
    if not qualified.startswith("."):
        return qualified
    dots = len(qualified) - len(qualified.lstrip("."))
    base = dirname(ref.path)
    for _ in range(dots - 1):
        base = dirname(base)
    rest = qualified[dots:]
    return normpath(join_path(base, rest)) if base else rest


def join(facts: dict[str, ModuleFacts], index: ModuleIndex, load: Loader | None = None) -> ProjectModel:
    """One project view from every analysed file's facts.

    `load(path)` gives the facts of a scanned file that was not analysed (a plain
    module whose function is registered as a tool elsewhere, or that a name is
    re-exported through), or None.
    """
    return _Join(dict(facts), index, load).run()


class _Join:
    def __init__(self, facts: dict[str, ModuleFacts], index: ModuleIndex, load: Loader | None) -> None:
        self.facts = facts
        self.paths = sorted(facts)  # the analysed files; files loaded later only answer lookups
        self.resolver = _Resolver(facts, index, load)
        self.successors: dict[object, set[object]] = defaultdict(set)
        self.predecessors: dict[object, set[object]] = defaultdict(set)
        self.values: dict[object, set[tuple[str, int]]] = defaultdict(set)
        self.infos = {(path, s.index): s for path in self.paths for s in facts[path].servers}
        for key, info in list(self.infos.items()):
            if info.candidate:  # a server only if its class derives from an SDK server class
                dialect, _ = self.resolver.server_class(info.constructor) if info.constructor else (None, None)
                if dialect is None:
                    del self.infos[key]
                else:
                    self.infos[key] = replace(info, candidate=False)
        self.project: dict[object, ProjectServer] = {}
        self.server_of: dict[tuple[str, int], list[str]] = {}
        self.classes: dict[tuple[str, int], tuple[str | None, str | None]] = {}
        self.ids: set[str] = set()

    def run(self) -> ProjectModel:
        self._flow()
        self._servers()
        self._merge()
        self._runs()
        self._mounts()
        handlers = self._handlers()
        servers = sorted(
            self.project.values(),
            key=lambda s: (s.test_code, not s.resolved, s.location.path, s.location.line, s.location.column),
        )
        return ProjectModel(servers=servers, handlers=handlers, server_of=self.server_of)

    # -- which constructed servers reach which slot --------------------------------
    def _flow(self) -> None:
        canon = self.resolver.canon
        for path in self.paths:
            for src, dst in self.facts[path].edges:
                a, b = canon(src), canon(dst)
                if a is not None and b is not None and a != b:
                    self.successors[a].add(b)
                    self.predecessors[b].add(a)
        pending: list[object] = []

        def seed(slot: object, key: tuple[str, int]) -> None:
            if slot is not None and key not in self.values[slot]:
                self.values[slot].add(key)
                pending.append(slot)

        for path in self.paths:
            for slot, index in self.facts[path].seeds:
                seed(canon(slot), (path, index))
        for key, info in self.infos.items():
            if info.concrete and info.slot is not None and self.facts[key[0]].servers[key[1]].candidate:
                seed(canon(info.slot), key)
        for key, info in self.infos.items():
            if info.concrete and info.constructor is not None:
                dialect, klass = self.resolver.server_class(info.constructor)
                self.classes[key] = (dialect, klass[1] if klass else None)
                if klass is not None:  # `self` in the methods of a project server class
                    seed(Name(klass[0], klass[1], "self"), key)
        while pending:
            node = pending.pop()
            for nxt in self.successors.get(node, ()):
                before = len(self.values[nxt])
                self.values[nxt] |= self.values[node]
                if len(self.values[nxt]) != before:
                    pending.append(nxt)

    def _origin(self, node: object) -> object:
        """The slot a value at `node` comes from when no constructor reaches it."""
        seen = {node}
        stack = [node]
        found = []
        while stack:
            current = stack.pop()
            preds = self.predecessors.get(current)
            if not preds:
                found.append(current)
            for pred in preds or ():
                if pred not in seen:
                    seen.add(pred)
                    stack.append(pred)
        return min(found or [node], key=repr)  # a cycle with no way in: the slot itself

    def _keys(self, ref: Ref | None, fallback: object) -> list[object]:
        """The project servers (by key) a reference names: constructors, else its origin."""
        node = self.resolver.canon(ref) if ref is not None else None
        if isinstance(node, ServerRef):
            return [("server", (node.path, node.index))]
        reached = sorted(self.values.get(node, ())) if node is not None else []
        if reached:
            return [("server", r) for r in reached]
        return [("opaque", repr(self._origin(node)) if node is not None else fallback)]

    # -- project servers ---------------------------------------------------------
    def _ensure(self, key: object, first: ServerInfo) -> ProjectServer:
        server = self.project.get(key)
        if server is None:
            base = f"{first.location.path}:{first.location.line}"
            server_id, suffix = base, 2
            while server_id in self.ids:
                server_id, suffix = f"{base}#{suffix}", suffix + 1
            self.ids.add(server_id)
            dialect = first.dialect if first.concrete else sdk.INFERRED
            resolved_dialect, server_class = self.classes.get((first.path, first.index), (None, None))
            if dialect == sdk.INFERRED and resolved_dialect is not None:
                dialect = resolved_dialect  # a project subclass of an SDK class
            server = ProjectServer(
                id=server_id,
                dialect=dialect,
                location=first.location,
                var=first.var,
                name=first.name,
                members=[],
                server_class=server_class,
            )
            self.project[key] = server
        return server

    def _servers(self) -> None:
        self.slot_keys: dict[tuple[str, int], list[object]] = {}
        for key, info in self.infos.items():
            if info.concrete:
                self.slot_keys[key] = [("server", key)]
                self._ensure(("server", key), info)
        for key, info in self.infos.items():
            if info.concrete:
                continue
            keys = self._keys(info.slot, key)
            self.slot_keys[key] = keys
            for project_key in keys:
                self._ensure(project_key, info)
        for key, keys in self.slot_keys.items():
            self.server_of[key] = [self.project[k].id for k in keys]

    def _merge(self) -> None:
        for key, info in sorted(self.infos.items(), key=lambda item: (not item[1].concrete, item[0])):
            for project_key in self.slot_keys[key]:
                server = self.project[project_key]
                server.members.append(info)
                resolved = server.members[0].concrete
                configured = server.members[0].configured_host
                for transport in info.transports:
                    if transport.host is None and configured is not None and transport.kind != sdk.STDIO and not info.concrete:
                        transport = replace(transport, host=configured)  # run() elsewhere, host from the constructor
                    if transport not in server.transports:
                        server.transports.append(transport)
                server.auth_evidence.extend(e for e in info.auth_evidence if e not in server.auth_evidence)
                for reason in info.auth_unknown:
                    if resolved and reason == sdk.AUTH_UNKNOWN_ELSEWHERE:
                        continue  # the constructor is known now
                    if reason not in server.auth_unknown:
                        server.auth_unknown.append(reason)

    def _known(self, ref: Ref) -> list[ProjectServer]:
        """The project servers a reference names, if any exists already."""
        return [self.project[k] for k in self._keys(ref, None) if k in self.project]

    def _runs(self) -> None:
        for path in self.paths:
            for run in self.facts[path].runs:
                for server in self._known(run.receiver):
                    if server.dialect == sdk.LOWLEVEL or not server.resolved:
                        continue  # low-level run(read, write, ...) is wired by its streams
                    host = run.host
                    configured = server.members[0].configured_host
                    if host is None and run.kind != sdk.STDIO and configured is not None:
                        host = configured
                    transport = TransportInfo(kind=run.kind, via="run", location=run.location, host=host)
                    if transport not in server.transports:
                        server.transports.append(transport)

    def _mounts(self) -> None:
        for path in self.paths:
            for mount in self.facts[path].mounts:
                for parent in self._known(mount.parent):
                    for child in self._known(mount.child):
                        if child is parent:
                            continue
                        parent.mounts.append(Mounted(child.id, mount.namespace, mount.location))
                        child.mounted_in.append(Mounted(parent.id, mount.namespace, mount.location))

    def _imported_declarations(self, path: str) -> tuple[DeclaredTool, ...]:
        """`types.Tool(...)` declarations a low-level server's file imports (`from .tools import search_tool`)."""
        out: list[DeclaredTool] = []
        for local, qualified in sorted(self.facts[path].imports.items()):
            target = self.resolver.imported(Imported(path, qualified))
            if target is None:  # `from . import tools`: a module, its declarations all count
                module = self.resolver.index.resolve(path, qualified)
                facts = self.facts.get(module.path) if module is not None and module.path != path else None
                out.extend(d for d in (facts.declared if facts else ()) if d not in out)
                continue
            if not isinstance(target, Name) or target.path == path:
                continue
            facts = self.facts.get(target.path)
            if facts is not None:
                out.extend(d for d in facts.declared if d.var == target.name and d not in out)
        return tuple(out)

    # -- handlers ------------------------------------------------------------------
    def _handlers(self) -> list[HandlerInfo]:
        every: list[HandlerInfo] = []
        by_function: dict[tuple[str, str], HandlerInfo] = {}  # for registrations
        for path in self.paths:
            for handler in self.facts[path].handlers:
                handler.servers = list(self.server_of.get(handler.server, [])) if handler.server is not None else []
                every.append(handler)
                by_function.setdefault((handler.path, handler.function), handler)
        for path in self.paths:
            for registration in self.facts[path].registrations:
                found = self.resolver.function(registration.function)
                if found is None:
                    continue
                target_facts, info = found
                targets = [s.id for s in self._known(registration.receiver)] if registration.receiver is not None else []
                key = (target_facts.path, info.qualname)
                handler = by_function.get(key)
                if handler is None:
                    if not targets:
                        continue  # `agent.tool(fn)`: not registered on a server we know
                    handler = _handler_from(registration, target_facts.path, info)
                    by_function[key] = handler
                    every.append(handler)
                for server_id in targets:
                    if server_id not in handler.servers:
                        handler.servers.append(server_id)
        for handler in every:
            if handler.lowlevel and handler.kind == "tool":
                handler.declared_tools += self._imported_declarations(handler.path)
        ordered = sorted(every, key=lambda h: (h.path, h.location.line, h.location.column, h.name))
        by_id = {s.id: s for s in self.project.values()}
        for handler in ordered:
            for server_id in handler.servers:
                by_id[server_id].handlers.append(handler)
        return ordered


def _handler_from(registration: Registration, path: str, info: FunctionInfo) -> HandlerInfo:
    params = info.params
    if registration.kind == "resource" and registration.uri is not None:
        from mcplint.mcp.builder import uri_variables

        variables = uri_variables(registration.uri)
        params = tuple(
            p if p.name in variables or p.star else ParamInfo(p.name, p.annotation, p.default, p.star, p.injected, False)
            for p in params
        )
    return HandlerInfo(
        kind=registration.kind,
        name=registration.name or info.qualname.rsplit(".", 1)[-1],
        path=path,
        function=info.qualname,
        location=info.location,
        registration=registration.location,
        params=params,
        uri=registration.uri,
        description=registration.description or info.docstring,
        title=registration.title,
        annotations=registration.annotations,
        annotations_complete=registration.annotations_complete,
    )
