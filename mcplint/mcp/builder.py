"""Build the `FileModel` of one module in a single traversal, without metadata providers.

The visitor only collects raw facts (imports, scopes with their parameters,
assignments and functions, decorated functions, calls); `_Resolver` turns them into
servers, transports and handlers once every import of the file is known. Names are
resolved through the chain of enclosing scopes, which is enough for the shapes MCP
servers are written in (module-level `mcp = FastMCP()`, `def register(mcp)` helpers,
`self.mcp = FastMCP()` in classes, servers built inside `main()`).
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from typing import Iterator

import libcst as cst

from mcplint.mcp import walk
from mcplint.mcp import sdk
from mcplint.mcp.model import AsgiRun, FileModel, Handler, Param, Server, Transport, Value
from mcplint.mcp.names import ImportTable, dotted

# `{name}`, `{name*}`, `{?a,b}` (RFC 6570 operators) in a resource URI template.
_URI_VARS = re.compile(r"\{[+#./;?&]?([\w*,-]+)\}")


def name_assignments(statements) -> Iterator[tuple[str, cst.BaseExpression]]:
    """(name, value) of every `name = value` and `name: T = value` among `statements`
    (a block's body; statements other than simple ones are skipped), in order."""
    for statement in statements:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                yield small.targets[0].target.value, small.value
            elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
                yield small.target.value, small.value


def string_value(node: cst.CSTNode | None) -> str | None:
    """The value of a plain or concatenated string literal (no f-strings)."""
    parts: list[str] = []
    stack = [node]
    while stack:  # iterative: generated files concatenate thousands of literals
        current = stack.pop()
        if isinstance(current, cst.ConcatenatedString):
            stack.extend((current.right, current.left))
            continue
        if not isinstance(current, cst.SimpleString):
            return None
        parts.append(_literal_text(current.value))
        if parts[-1] is None:
            return None
    return "".join(parts)


def _literal_text(literal: str) -> str | None:
    """The value of one string literal as written (`'a'`, `b"x"`, `r'''...'''`)."""
    if literal[0] in "'\"" and "\\" not in literal and "\r" not in literal and "\x00" not in literal:
        # no prefix and no escapes: the text between the quotes, as ast.literal_eval
        # (slow, and asked for every string of a file) would read it
        quotes = 3 if literal[:3] in ('"""', "'''") else 1
        return literal[quotes:-quotes]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # CPython's warnings about the scanned code's escapes (`"\d"`)
            value = ast.literal_eval(literal)
    except Exception:  # odd prefixes; never let a literal crash the scan
        return None
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


def call_args(call: cst.Call) -> tuple[list[cst.Arg], dict[str, cst.Arg], bool]:
    """Positional args, keyword args by name, and whether `**x` was passed."""
    positional: list[cst.Arg] = []
    keywords: dict[str, cst.Arg] = {}
    star_kwargs = False
    for arg in call.args:
        if arg.star == "**":
            star_kwargs = True
        elif arg.keyword is not None:
            keywords[arg.keyword.value] = arg
        elif not arg.star:
            positional.append(arg)
    return positional, keywords, star_kwargs


def argument(call: cst.Call, position: int | None, keyword: str) -> cst.BaseExpression | None:
    positional, keywords, _ = call_args(call)
    if keyword in keywords:
        return keywords[keyword].value
    if position is not None and position < len(positional):
        return positional[position].value
    return None


def uri_variables(uri: str) -> set[str]:
    """The parameter names of a URI template: `files://{path*}{?user-id}` -> {"path", "user_id"}."""
    names: set[str] = set()
    for group in _URI_VARS.findall(uri):
        names.update(part.rstrip("*").replace("-", "_") for part in group.split(",") if part)
    return names


# -- facts ------------------------------------------------------------------------


@dataclass(eq=False)
class _Scope:
    node: cst.CSTNode  # Module, ClassDef or FunctionDef
    parent: "_Scope | None"
    klass: "_Scope | None" = None  # for methods (and functions nested in them): the class
    params: dict[str, cst.Param] = field(default_factory=dict)
    assigns: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    functions: dict[str, cst.FunctionDef] = field(default_factory=dict)
    returns: list[cst.BaseExpression] = field(default_factory=list)

    def chain(self):
        scope: _Scope | None = self
        while scope is not None:
            yield scope
            scope = scope.parent


@dataclass(eq=False)
class _CallFact:
    call: cst.Call
    scope: _Scope
    # Only for *_app(...) calls: names the app ends up bound to, and the calls around it.
    targets: tuple[str, ...] = ()
    parents: tuple[cst.Call, ...] = ()


class _Collector(walk.TableVisitor):
    def __init__(self, module: cst.Module) -> None:
        self.imports = ImportTable()
        self.module_scope = _Scope(module, None)
        self.scope = self.module_scope
        self.function_scopes: dict[int, _Scope] = {}  # id(FunctionDef) -> its scope
        self.decorated: list[tuple[cst.FunctionDef, _Scope]] = []
        self.classes: list[tuple[cst.ClassDef, _Scope]] = []
        self.calls: list[_CallFact] = []
        self.assigned_calls: dict[int, tuple[str, _Scope]] = {}  # id(call) -> (target, scope)
        self.assigned_names: set[str] = set()
        self.attribute_assigns: list[tuple[str, cst.BaseExpression, _Scope]] = []
        self.request_handler_assigns: list[tuple[str, str, cst.BaseExpression, _Scope, cst.CSTNode]] = []
        self.options: dict[str, cst.BaseExpression] = {}  # argparse/click option -> default
        self.header_reads: list[cst.CSTNode] = []
        self._targets: list[tuple[str, ...]] = []
        self._call_stack: list[cst.Call] = []
        self._written: set[int] = set()

    # imports
    def visit_Import(self, node: cst.Import) -> None:
        self.imports.add(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.imports.add(node)

    # scopes
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append((node, self.scope))
        self.scope = _Scope(node, self.scope)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scope = self.scope.parent or self.module_scope

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        parent = self.scope
        parent.functions.setdefault(node.name.value, node)
        if node.decorators:
            self.decorated.append((node, parent))
        klass = parent if isinstance(parent.node, cst.ClassDef) else parent.klass
        scope = _Scope(node, parent, klass)
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            scope.params[param.name.value] = param
        for param in (params.star_arg, params.star_kwarg):
            if isinstance(param, cst.Param):
                scope.params[param.name.value] = param
        self.function_scopes[id(node)] = scope
        self.scope = scope

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scope = self.scope.parent or self.module_scope

    # assignments
    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression, first: bool) -> str | None:
        if isinstance(target, cst.Subscript):
            self._subscript_assign(target, value)
            return None
        name = dotted(target)
        if name is None:
            return None
        self.assigned_names.add(name)
        self.scope.assigns.setdefault(name, []).append(value)
        if name.startswith("self.") and self.scope.klass is not None:
            self.scope.klass.assigns.setdefault(name, []).append(value)
        if first and isinstance(value, cst.Call):
            self.assigned_calls.setdefault(id(value), (name, self.scope))
        if "." in name:
            self.attribute_assigns.append((name, value, self.scope))
        return name

    def _subscript_assign(self, target: cst.Subscript, value: cst.BaseExpression) -> None:
        # server.request_handlers[types.CallToolRequest] = handler  (low-level v1 internals)
        container = dotted(target.value) or ""
        if not container.endswith(".request_handlers") or len(target.slice) != 1:
            return
        index = target.slice[0].slice
        key = dotted(index.value) if isinstance(index, cst.Index) else None
        kind = sdk.LOW_LEVEL_REQUEST_TYPES.get((key or "").rsplit(".", 1)[-1])
        if kind is not None:
            receiver = container.rsplit(".", 1)[0]
            self.request_handler_assigns.append((receiver, kind, value, self.scope, target))

    def visit_Assign(self, node: cst.Assign) -> None:
        names = []
        for index, target in enumerate(node.targets):
            if isinstance(target.target, cst.Subscript):
                self._written.add(id(target.target))  # headers["Authorization"] = ...: no check
            name = self._assign(target.target, node.value, index == 0)
            if name is not None:
                names.append(name)
        self._targets.append(tuple(names))

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self._targets.pop()

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        name = self._assign(node.target, node.value, True) if node.value is not None else None
        self._targets.append((name,) if name else ())

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        self._targets.pop()

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self.scope.returns.append(node.value)

    # calls
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        fact = _CallFact(node, self.scope)
        if isinstance(func, cst.Attribute):
            attr = func.attr.value
            if attr in sdk.APP_METHODS or attr == "from_function":
                fact.targets = tuple(n for names in self._targets for n in names)
                fact.parents = tuple(self._call_stack)
            elif attr in ("add_argument", "option", "Option"):
                self._option(node)
            elif attr == "get" and node.args:
                key = string_value(node.args[0].value)
                if key is not None and key.lower() in sdk.AUTH_HEADERS:
                    self.header_reads.append(node)
        elif isinstance(func, cst.Name) and func.value in ("option", "Option"):
            self._option(node)
        self.calls.append(fact)
        self._call_stack.append(node)

    def leave_Call(self, original_node: cst.Call) -> None:
        self._call_stack.pop()

    def visit_Subscript(self, node: cst.Subscript) -> None:
        # request.headers["authorization"]
        if id(node) not in self._written and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            key = node.slice[0].slice.value
            if isinstance(key, cst.SimpleString):
                text = string_value(key)
                if text is not None and text.lower() in sdk.AUTH_HEADERS:
                    self.header_reads.append(node)

    def _option(self, call: cst.Call) -> None:
        """`parser.add_argument("--host", default=...)`, `@click.option("--host", default=...)`."""
        positional, keywords, _ = call_args(call)
        default = keywords["default"].value if "default" in keywords else None
        names = [string_value(a.value) for a in positional]
        dest = string_value(keywords["dest"].value) if "dest" in keywords else None
        if dest is None:
            longs = [n for n in names if n and n.startswith("--")]
            flag = longs[0] if longs else next((n for n in names if n and n.startswith("-")), None)
            if flag is None:
                return
            dest = flag.lstrip("-").replace("-", "_")
        if default is None and names and names[0] is not None and not names[0].startswith("-"):
            default = positional[0].value  # typer.Option("0.0.0.0", "--host"): the default comes first
        if default is not None and dest:
            self.options.setdefault(dest, default)


def build_model(module: cst.Module) -> tuple[FileModel, ImportTable]:
    collector = _Collector(module)
    walk.visit(module, collector)
    return _Resolver(collector).resolve(), collector.imports


# -- resolution -------------------------------------------------------------------


class _Resolver:
    def __init__(self, facts: _Collector) -> None:
        self.facts = facts
        self.imports = facts.imports
        self.model = FileModel()
        self.servers: list[Server] = []
        self.by_node: dict[int, Server] = {}  # id(constructor call) -> server
        self.bound: dict[tuple[int, str], Server] = {}  # (id(scope node), name) -> server
        self.by_var: dict[str, Server] = {}
        self.local_classes: dict[str, str] = {}  # class defined here -> dialect
        self.app_transports: list[tuple[Transport, Server, _CallFact]] = []
        self.done_calls: set[int] = set()
        self.handled: set[int] = set()  # id(FunctionDef) of every handler
        self.file_auth_middleware: list[cst.CSTNode] = []
        self.pending_lowlevel: list[tuple[_CallFact, str]] = []
        self._stdio_any: bool | None = None
        self.configured_host: dict[int, Value] = {}  # id(server) -> constructor / settings host

    def resolve(self) -> FileModel:
        self._local_server_classes()
        self._servers_from_constructors()
        self._handlers_from_decorators()
        self._calls()
        self._pending_lowlevel_transports()
        self._request_handler_assigns()
        self._attribute_assignments()
        self._link_asgi_runs()
        self._finish_auth()
        self.model.servers = self.servers
        return self.model

    # -- servers ---------------------------------------------------------------
    def _class_dialect(self, expr: cst.BaseExpression) -> str | None:
        if isinstance(expr, cst.Subscript):  # FastMCP[AppContext]
            expr = expr.value
        name = dotted(expr)
        if name is None:
            return None
        if name in self.local_classes:
            return self.local_classes[name]
        qualified = self.imports.qualify_dotted(name)
        if qualified in sdk.SERVER_CLASSES:
            return sdk.SERVER_CLASSES[qualified]
        if qualified in sdk.SERVER_FACTORIES:
            return sdk.SERVER_FACTORIES[qualified]
        # A server subclass defined in another module of the project.
        last = name.rsplit(".", 1)[-1]
        if (
            last.endswith(sdk.SERVER_CLASS_SUFFIXES)
            and self.imports.is_imported(name)
            and not qualified.startswith(("mcp.", "fastmcp."))
        ):
            return sdk.INFERRED
        return None

    def _local_server_classes(self) -> None:
        for classdef, _ in self.facts.classes:
            for base in classdef.bases:
                dialect = self._class_dialect(base.value)
                if dialect is not None:
                    self.local_classes[classdef.name.value] = dialect
                    break

    def _register_server(self, server: Server, name: str | None, scope: _Scope | None) -> None:
        self.servers.append(server)
        if name and scope is not None:
            self.bound[(id(scope.node), name)] = server
            if name.startswith("self.") and scope.klass is not None:
                self.bound[(id(scope.klass.node), name)] = server
            self.by_var.setdefault(name, server)

    def _servers_from_constructors(self) -> None:
        for fact in self.facts.calls:
            call = fact.call
            dialect = self._class_dialect(call.func)
            if dialect is None:
                continue
            name, scope = self.facts.assigned_calls.get(id(call), (None, None))
            _, keywords, star = call_args(call)
            server = Server(var=name or "", dialect=dialect, node=call, kwargs=keywords, has_star_kwargs=star)
            if star:
                server.auth_unknown.append(sdk.AUTH_UNKNOWN_SPLAT)
            if dialect == sdk.INFERRED:
                server.auth_unknown.append(sdk.AUTH_UNKNOWN_SUBCLASS)
            elif dialect == sdk.PROVIDER:
                server.auth_unknown.append(sdk.AUTH_UNKNOWN_PROVIDER)
            self._auth_from_kwargs(server, keywords)
            host = keywords.get("host")
            if host is not None:
                value = self._value(host.value, fact.scope)
                server.hosts.append(value)
                self.configured_host[id(server)] = value
            self.by_node[id(call)] = server
            self._register_server(server, name, scope)
            if dialect in (sdk.LOWLEVEL, sdk.INFERRED):
                self._lowlevel_v2_handlers(server, keywords, fact.scope)
            tools = keywords.get("tools")
            if tools is not None and isinstance(tools.value, (cst.List, cst.Tuple)):
                for element in tools.value.elements:
                    self._register_callable(server, "tool", element.value, fact.scope, element.value)

    def _auth_from_kwargs(self, server: Server, keywords: dict[str, cst.Arg]) -> None:
        for key in sdk.AUTH_KWARGS:
            arg = keywords.get(key)
            if arg is not None and not is_none(arg.value):
                server.auth_evidence.append(arg)
        middleware = keywords.get("middleware")
        if middleware is not None:
            self._middleware_list(middleware.value, server)

    def _lookup(self, expr: cst.BaseExpression, scope: _Scope, usage: str, site: cst.CSTNode) -> Server | None:
        """The server `expr` names, inferring one from its use where that is telling.

        usage: "decorator" (`@x.tool()`), "register" (`x.add_tool(fn)`), "transport"
        (`x.run(transport="sse")`, `x.sse_app()`), "weak" (`x.run()`: only known servers).
        """
        if isinstance(expr, cst.Call):
            return self.by_node.get(id(expr)) or self._factory_server(expr, scope)
        name = dotted(expr)
        if name is None or name in ("self", "cls"):
            return None
        for s in scope.chain():
            server = self.bound.get((id(s.node), name))
            if server is None and s.klass is not None:
                server = self.bound.get((id(s.klass.node), name))
            if server is not None:
                return server
            values = s.assigns.get(name)
            if values and isinstance(values[0], cst.Call):
                # mcp = create_server(): a function of this file that returns a server
                server = self._factory_server(values[0], s)
                if server is not None:
                    self.bound[(id(s.node), name)] = server
                    return server
        head = name.split(".", 1)[0]
        local = any(head in s.params or name in s.assigns for s in scope.chain())
        if name in self.by_var and not local:
            return self.by_var[name]  # bound in another function (`global mcp`)
        return self._infer(name, scope, usage, site)

    def _factory_server(self, call: cst.Call, scope: _Scope, depth: int = 0) -> Server | None:
        function = self._function(call.func, scope)
        fscope = self.facts.function_scopes.get(id(function)) if function is not None else None
        if fscope is None or depth > 2:
            return None
        for value in fscope.returns:
            if isinstance(value, cst.Call):
                server = self.by_node.get(id(value)) or self._factory_server(value, fscope, depth + 1)
            else:
                name = dotted(value)
                server = self.bound.get((id(fscope.node), name)) if name else None
            if server is not None:
                return server
        return None

    def _infer(self, name: str, scope: _Scope, usage: str, site: cst.CSTNode) -> Server | None:
        head = name.split(".", 1)[0]
        binding: _Scope | None = None
        node: cst.CSTNode = site
        type_hint = None
        for s in scope.chain():
            values = s.assigns.get(name) or (s.klass.assigns.get(name) if s.klass is not None else None)
            if values:
                # Bound here to something that is not a server constructor: only a
                # telling use, or a factory named for it (`mcp = create_mcp_server()`),
                # makes it a server. `agent = Agent(); @agent.tool` stays out.
                if usage not in ("transport", "register") and not _named_like_a_server_factory(values[0]):
                    return None
                binding = s
                break
            if head in s.params and name == head:
                param = s.params[head]
                node = param
                if param.annotation is not None:
                    type_hint = self._annotation_class(param.annotation.annotation)
                    if type_hint is None:
                        return None  # `agent: Agent`: not a server
                elif usage == "weak":
                    return None
                binding = s
                break
        if binding is None:
            if usage == "weak":
                return None
            if head in ("self", "cls") and scope.klass is not None:
                binding = scope.klass
            elif self.imports.is_imported(head) and name not in self.facts.assigned_names:
                binding = self.facts.module_scope
            else:
                return None
        elif usage == "weak" and type_hint is None:
            return None
        key = (id(binding.node), name)
        if key in self.bound:
            return self.bound[key]
        server = Server(var=name, dialect=sdk.INFERRED, node=node, type_hint=type_hint)
        if type_hint is None or sdk.SERVER_CLASSES.get(type_hint) != sdk.LOWLEVEL:
            # A low-level server's auth lives in the transport wiring, which this file shows.
            server.auth_unknown.append(sdk.AUTH_UNKNOWN_ELSEWHERE)
        self.servers.append(server)
        self.bound[key] = server
        return server

    def _annotation_class(self, annotation: cst.BaseExpression) -> str | None:
        """The qualified server class an annotation names, or None if it names none."""
        if isinstance(annotation, cst.SimpleString):
            annotation = _parse_string_annotation(annotation) or annotation
        if isinstance(annotation, cst.Subscript):
            annotation = annotation.value
        name = dotted(annotation)
        if name is None:
            return None
        qualified = self.imports.qualify_dotted(name)
        if qualified in sdk.SERVER_CLASSES or name in self.local_classes or name.endswith(sdk.SERVER_CLASS_SUFFIXES):
            return qualified
        if name.rsplit(".", 1)[-1] in sdk.SERVER_TYPE_NAMES and not self.imports.is_imported(name):
            return qualified  # a bare `Server` / `"FastMCP"` we cannot resolve
        return None

    # -- handlers --------------------------------------------------------------
    def _handlers_from_decorators(self) -> None:
        for function, scope in self.facts.decorated:
            for decorator in function.decorators:
                if self._decorator(function, scope, decorator):
                    break
                if _is_auth_middleware_function(function, decorator):
                    self.file_auth_middleware.append(decorator)

    def _decorator(self, function: cst.FunctionDef, scope: _Scope, decorator: cst.Decorator) -> bool:
        expr = decorator.decorator
        call = expr if isinstance(expr, cst.Call) else None
        target = call.func if call is not None else expr
        qualified = self.imports.qualify(target) or ""
        if qualified in sdk.STANDALONE_DECORATORS:
            kind = sdk.STANDALONE_DECORATORS[qualified]
            name, uri = self._registered_name(call, kind, function.name.value, scope)
            self._add_handler(kind, name, function, None, decorator, uri=uri)
            return True
        if not isinstance(target, cst.Attribute):
            return False
        method = target.attr.value
        if method not in sdk.HIGH_LEVEL_DECORATORS and method not in sdk.LOW_LEVEL_DECORATORS:
            return False
        server = self._lookup(target.value, scope, "decorator", decorator)
        if server is None:
            return False
        lowlevel = server.dialect == sdk.LOWLEVEL or (
            method in sdk.LOW_LEVEL_DECORATORS and method not in sdk.HIGH_LEVEL_DECORATORS
        )
        if lowlevel and (method not in sdk.LOW_LEVEL_DECORATORS or server.dialect in _HIGH_LEVEL_DIALECTS):
            return False  # `@server.tool()` on a low-level server, `@mcp.call_tool()` on FastMCP
        if not lowlevel and method not in sdk.HIGH_LEVEL_DECORATORS:
            return False  # `@mcp.call_tool()` on FastMCP: not a handler of ours
        if lowlevel:
            kind = sdk.LOW_LEVEL_DECORATORS[method]
            self._add_handler(kind, function.name.value, function, server, decorator, lowlevel=True)
            return True
        kind = sdk.HIGH_LEVEL_DECORATORS[method]
        name, uri = self._registered_name(call, kind, function.name.value, scope)
        self._add_handler(kind, name, function, server, decorator, uri=uri)
        return True

    def _lowlevel_v2_handlers(self, server: Server, keywords: dict[str, cst.Arg], scope: _Scope) -> None:
        for key, kind in sdk.LOW_LEVEL_V2_KWARGS.items():
            arg = keywords.get(key)
            function = self._function(arg.value, scope) if arg is not None else None
            if function is not None:
                self._add_handler(kind, function.name.value, function, server, arg, lowlevel=True, context_first=True)

    def _function(self, expr: cst.BaseExpression | None, scope: _Scope) -> cst.FunctionDef | None:
        if isinstance(expr, cst.Name):
            for s in scope.chain():
                if isinstance(s.node, cst.ClassDef):
                    continue  # class bodies are not enclosing scopes for names
                function = s.functions.get(expr.value)
                if function is not None:
                    return function
            return None
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value in ("self", "cls"):
            if scope.klass is not None:
                return scope.klass.functions.get(expr.attr.value)
        return None

    def _register_callable(
        self, server: Server | None, kind: str, expr: cst.BaseExpression, scope: _Scope, registration: cst.CSTNode,
        name: str | None = None, uri: str | None = None,
    ) -> None:
        """`fn`, `self.fn` or `Tool.from_function(fn, name=...)` handed to a server."""
        if isinstance(expr, cst.Call):
            kind_of = self._from_function_kind(expr)
            if kind_of is None:
                return
            self.done_calls.add(id(expr))
            target = argument(expr, 0, "fn")
            function = self._function(target, scope)
            explicit = self._constant(argument(expr, None, "name"), scope)
            if function is not None:
                found_uri = self._constant(argument(expr, None, "uri") or argument(expr, None, "uri_template"), scope)
                self._add_handler(kind_of, explicit or function.name.value, function, server, expr, uri=found_uri)
            else:
                self._register_imported(kind_of, target, explicit)
            return
        function = self._function(expr, scope)
        if function is not None:
            self._add_handler(kind, name or function.name.value, function, server, registration, uri=uri)
        else:
            self._register_imported(kind, expr, name)

    def _register_imported(self, kind: str, expr: cst.BaseExpression | None, name: str | None) -> None:
        """`mcp.add_tool(search)` with `search` imported: its body is in another file,
        which the project phase treats as a handler (`FileModel.imported_handlers`)."""
        written = dotted(expr) if expr is not None else None
        if written is None or not self.imports.is_imported(written):
            return
        qualified = self.imports.qualify_dotted(written)
        self.model.imported_handlers.append((kind, name or qualified.rsplit(".", 1)[-1], qualified))

    def _from_function_kind(self, call: cst.Call) -> str | None:
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "from_function"):
            return None
        name = dotted(func) or ""
        for suffix, kind in sdk.FROM_FUNCTION.items():
            if name == suffix or name.endswith("." + suffix):
                return kind
        return None

    def _add_handler(
        self, kind, name, function, server, registration, *, uri=None, lowlevel=False, context_first=False
    ) -> None:
        if id(function) in self.handled:
            return
        self.handled.add(id(function))
        params = _params(function, self.imports, context_first=context_first)
        if not lowlevel:
            _wrapper_injected(params, function, registration)
        if kind == "resource" and uri is not None and not lowlevel:
            variables = uri_variables(uri)
            for param in params:
                if param.name not in variables and not param.star:
                    param.from_client = False
        handler = Handler(
            kind=kind,
            name=name,
            function=function,
            server=server,
            params=params,
            registration=registration,
            uri=uri,
            lowlevel=lowlevel,
        )
        self.model.handlers.append(handler)
        if server is not None:
            server.handlers.append(handler)

    def _request_handler_assigns(self) -> None:
        for receiver, kind, value, scope, target in self.facts.request_handler_assigns:
            server = self._lookup(_name_expr(receiver), scope, "decorator", target)
            function = self._function(value, scope)
            if server is not None and function is not None:
                self._add_handler(kind, function.name.value, function, server, target, lowlevel=True)

    # -- calls: imperative registration, transports, apps ------------------------
    def _calls(self) -> None:
        for fact in self.facts.calls:
            call = fact.call
            if id(call) in self.done_calls or id(call) in self.by_node:
                continue
            qualified = self.imports.qualify(call.func) or ""
            if qualified in sdk.LOW_LEVEL_TRANSPORT_CLASSES:
                self._lowlevel_transport(fact, sdk.LOW_LEVEL_TRANSPORT_CLASSES[qualified])
            elif qualified in sdk.ASGI_RUNNERS:
                host = argument(call, None, "host")
                value = self._value(host, fact.scope) if host is not None else Value(sdk.ASGI_DEFAULT_HOST)
                self.model.asgi_runs.append(AsgiRun(node=call, app=argument(call, 0, "app"), host=value))
            elif qualified in sdk.ASYNC_ENTRY_POINTS:
                self._entry_point(fact)
            elif qualified in sdk.STANDALONE_DECORATORS and call.args:
                # fastmcp.tools.tool(fn): a tool object, registered later
                kind = sdk.STANDALONE_DECORATORS[qualified]
                self._register_callable(None, kind, call.args[0].value, fact.scope, call)
            elif self._from_function_kind(call) is not None:
                self._register_callable(None, "tool", call, fact.scope, call)
            elif _is_middleware_wrapper(call):
                self.file_auth_middleware.append(call)
            elif isinstance(call.func, cst.Call):
                self._decorator_called_on(fact)
            elif isinstance(call.func, cst.Attribute):
                self._method_call(fact)

    def _method_call(self, fact: _CallFact) -> None:
        call = fact.call
        func = call.func
        assert isinstance(func, cst.Attribute)
        method = func.attr.value
        positional, keywords, _ = call_args(call)
        if method in sdk.ADD_METHODS:
            first = positional[0].value if positional else (keywords["fn"].value if "fn" in keywords else None)
            if first is None or string_value(first) is not None:
                return  # `mcp.tool("name")` used as a decorator factory
            if isinstance(first, cst.Call) and self._from_function_kind(first) is None:
                return
            if (not isinstance(first, cst.Call) and self._function(first, fact.scope) is None
                    and not self.imports.is_imported(dotted(first) or "")):
                return
            server = self._lookup(func.value, fact.scope, "register" if method.startswith("add_") else "weak", call)
            if server is None:
                return
            name = self._constant(keywords["name"].value, fact.scope) if "name" in keywords else None
            uri = self._constant(keywords["uri"].value, fact.scope) if "uri" in keywords else None
            self._register_callable(server, sdk.ADD_METHODS[method], first, fact.scope, call, name=name, uri=uri)
        elif method == "add_request_handler":
            request = string_value(argument(call, 0, "method"))
            kind = sdk.LOW_LEVEL_REQUEST_METHODS.get(request or "")
            function = self._function(argument(call, 2, "handler"), fact.scope)
            if kind is None or function is None:
                return
            server = self._lookup(func.value, fact.scope, "register", call)
            if server is not None:
                self._add_handler(kind, function.name.value, function, server, call, lowlevel=True, context_first=True)
        elif method in sdk.RUN_METHODS:
            self._run(fact, method)
        elif method in sdk.APP_METHODS:
            self._app(fact, method)
        elif method == "add_middleware":
            server = self._lookup(func.value, fact.scope, "weak", call)
            middleware = argument(call, 0, "middleware")
            if middleware is not None and _names_auth(middleware):
                if server is not None:
                    server.auth_unknown.append(sdk.AUTH_UNKNOWN_MIDDLEWARE)
                else:
                    self.file_auth_middleware.append(middleware)

    def _decorator_called_on(self, fact: _CallFact) -> None:
        """`mcp.tool(name="x")(fn)`, `mcp.resource("data://{id}")(fn)`."""
        call = fact.call
        inner = call.func
        assert isinstance(inner, cst.Call)
        if not isinstance(inner.func, cst.Attribute) or not call.args:
            return
        method = inner.func.attr.value
        if method not in sdk.HIGH_LEVEL_DECORATORS:
            return
        function = self._function(call.args[0].value, fact.scope)
        if function is None:
            return
        server = self._lookup(inner.func.value, fact.scope, "register", call)
        if server is None:
            return
        kind = sdk.HIGH_LEVEL_DECORATORS[method]
        name, uri = self._registered_name(inner, kind, function.name.value, fact.scope)
        self._add_handler(kind, name, function, server, call, uri=uri)

    def _transport_kind(self, expr: cst.BaseExpression | None, scope: _Scope) -> str:
        if expr is None:
            return sdk.STDIO
        value = self._value(expr, scope)
        text = (value.text or "").strip().lower()
        if text not in sdk.TRANSPORT_NAMES:
            return "unknown"
        if value.from_env and text == sdk.STDIO:
            return "unknown"  # stdio by default, switchable at run time
        return text

    def _run(self, fact: _CallFact, method: str) -> None:
        call = fact.call
        receiver = call.func.value  # type: ignore[attr-defined]
        positional, keywords, star = call_args(call)
        fixed = sdk.RUN_METHODS[method]
        transport_arg = keywords["transport"].value if "transport" in keywords else None
        if transport_arg is None and positional and fixed is None:
            transport_arg = positional[0].value
        telling = fixed is not None or (transport_arg is not None and (
            string_value(transport_arg) in sdk.TRANSPORT_NAMES or "transport" in keywords
        ))
        server = self._lookup(receiver, fact.scope, "transport" if telling else "weak", call)
        if server is None:
            return
        if _is_lowlevel(server):
            # Low-level Server.run(read_stream, write_stream, options): the transport
            # is the stream source (stdio_server(), or an SSE/HTTP wrapper seen elsewhere).
            if method == "run" and self._uses_stdio_server():
                server.transports.append(Transport(kind=sdk.STDIO, node=call, via="run"))
            return
        if fixed is not None:
            kind = fixed
        elif transport_arg is None and star:
            kind = "unknown"  # run(**options): the transport may be among them
        else:
            kind = self._transport_kind(transport_arg, fact.scope)
            if kind == "unknown" and sdk.NETWORK_RUN_KWARGS & keywords.keys():
                kind = "unknown-network"
        host_value = None
        if "host" in keywords:
            host_value = self._value(keywords["host"].value, fact.scope)
            server.hosts.append(host_value)
        elif kind != sdk.STDIO:
            host_value = self.configured_host.get(id(server))  # v1: the constructor's host
        server.transports.append(Transport(kind=kind, node=call, via="run", host=host_value))

    def _uses_stdio_server(self) -> bool:
        if self._stdio_any is None:
            self._stdio_any = any(
                (self.imports.qualify(f.call.func) or "") in sdk.STDIO_CONTEXTS for f in self.facts.calls
            )
        return self._stdio_any

    def _entry_point(self, fact: _CallFact) -> None:
        """`anyio.run(mcp.run_sse_async)`: the run method handed over uncalled."""
        first = argument(fact.call, 0, "func")
        if not isinstance(first, cst.Attribute):
            return
        method = first.attr.value
        kind = sdk.RUN_METHODS.get(method)
        if kind is None:
            return
        server = self._lookup(first.value, fact.scope, "transport", fact.call)
        if server is not None:
            host = self.configured_host.get(id(server)) if kind != sdk.STDIO else None
            server.transports.append(Transport(kind=kind, node=fact.call, via="run", host=host))

    def _app(self, fact: _CallFact, method: str) -> None:
        call = fact.call
        server = self._lookup(call.func.value, fact.scope, "transport", call)  # type: ignore[attr-defined]
        if server is None:
            return
        _, keywords, _ = call_args(call)
        kind = sdk.APP_METHODS[method]
        if "transport" in keywords:
            kind = self._transport_kind(keywords["transport"].value, fact.scope)
            if kind in ("unknown", sdk.STDIO):
                kind = "unknown-network"
        host_value = None
        if "host" in keywords:
            host_value = self._value(keywords["host"].value, fact.scope)
            server.hosts.append(host_value)
        else:
            host_value = self.configured_host.get(id(server))
        self._auth_from_kwargs(server, keywords)
        transport = Transport(kind=kind, node=call, via="app", host=host_value)
        server.transports.append(transport)
        self.app_transports.append((transport, server, fact))

    def _lowlevel_transport(self, fact: _CallFact, kind: str) -> None:
        call = fact.call
        app = argument(call, None, "app")
        if app is not None:
            server = self._lookup(app, fact.scope, "weak", call)
            if server is not None:
                server.transports.append(Transport(kind=kind, node=call, via="session-manager"))
                return
        self.pending_lowlevel.append((fact, kind))

    def _pending_lowlevel_transports(self) -> None:
        """`SseServerTransport("/messages/")`: serves the low-level server(s) of the file."""
        for fact, kind in self.pending_lowlevel:
            self._attach_lowlevel(fact.call, kind)

    def _attach_lowlevel(self, call: cst.Call, kind: str) -> None:
        targets = [s for s in self.servers if _is_lowlevel(s)]
        if not targets:
            # The low-level server comes from elsewhere; the transport is built here.
            server = Server(var="", dialect=sdk.INFERRED, node=call)
            server.auth_unknown.append(sdk.AUTH_UNKNOWN_ELSEWHERE)
            self.servers.append(server)
            targets = [server]
        for target in targets:
            target.transports.append(Transport(kind=kind, node=call, via="session-manager"))

    def _middleware_list(self, expr: cst.BaseExpression, server: Server | None) -> None:
        elements = expr.elements if isinstance(expr, (cst.List, cst.Tuple)) else [expr]
        for element in elements:
            value = element.value if isinstance(element, (cst.Element, cst.StarredElement)) else element
            if _names_auth(value):
                if server is not None:
                    server.auth_unknown.append(sdk.AUTH_UNKNOWN_MIDDLEWARE)
                else:
                    self.file_auth_middleware.append(value)

    def _attribute_assignments(self) -> None:
        for name, value, scope in self.facts.attribute_assigns:
            receiver, _, attr = name.rpartition(".")
            if receiver.endswith(".settings") and attr == "host":
                server = self._lookup(_name_expr(receiver.rsplit(".", 1)[0]), scope, "weak", value)
                if server is not None:
                    host = self._value(value, scope)
                    server.hosts.append(host)
                    self.configured_host[id(server)] = host
                    for transport in server.transports:
                        if transport.host is None and transport.kind != sdk.STDIO:
                            transport.host = host
                continue
            if attr not in sdk.AUTH_KWARGS or is_none(value):
                continue
            server = self._lookup(_name_expr(receiver), scope, "weak", value)
            if server is not None:
                server.auth_evidence.append(value)

    # -- ASGI runners ------------------------------------------------------------
    def _link_asgi_runs(self) -> None:
        for run in self.model.asgi_runs:
            app_name = dotted(run.app) if run.app is not None else None
            for transport, server, fact in self.app_transports:
                names = set(fact.targets)
                for parent in fact.parents:
                    if parent is run.node:
                        names.add("<runner>")
                    func = parent.func
                    if isinstance(func, cst.Attribute) and func.attr.value in ("mount", "add_route", "include_router"):
                        mounted_on = dotted(func.value)
                        if mounted_on:
                            names.add(mounted_on)
                if "<runner>" in names or (app_name is not None and app_name in names):
                    self._serve(transport, server, run)
            if not run.linked:
                # The app is built out of sight (a Starlette app around a low-level
                # session manager, `uvicorn.run(create_app())`): it serves the file's
                # MCP apps that nothing else serves.
                for server in self.servers:
                    for transport in server.transports:
                        if transport.via in ("session-manager", "app") and transport.runner is None:
                            self._serve(transport, server, run)

    def _serve(self, transport: Transport, server: Server, run: AsgiRun) -> None:
        transport.runner = run.node
        transport.host = run.host
        run.linked = True
        if all(h is not run.host for h in server.hosts):
            server.hosts.append(run.host)

    def _finish_auth(self) -> None:
        evidence = self.file_auth_middleware + self.facts.header_reads
        for server in self.servers:
            if evidence and not server.auth_evidence:
                if self.file_auth_middleware:
                    server.auth_unknown.append(sdk.AUTH_UNKNOWN_MIDDLEWARE)
                if self.facts.header_reads:
                    server.auth_unknown.append(sdk.AUTH_UNKNOWN_HEADER)
            if server.dialect == sdk.FASTMCP and not server.auth_evidence:
                # fastmcp 2.x builds a provider from FASTMCP_SERVER_AUTH when `auth` is omitted.
                server.auth_unknown.append(sdk.AUTH_UNKNOWN_FASTMCP_ENV)
            server.auth_unknown = list(dict.fromkeys(server.auth_unknown))

    def _registered_name(self, call: cst.Call | None, kind: str, default: str, scope: _Scope) -> tuple[str, str | None]:
        """The name a client sees and, for resources, the URI, from a decorator call."""
        if call is None:
            return default, None
        explicit = self._constant(argument(call, None, "name"), scope)
        uri = None
        if kind == "resource":
            uri = self._constant(argument(call, 0, "uri"), scope)
        elif explicit is None and kind in ("tool", "prompt"):
            explicit = self._constant(argument(call, 0, "name_or_fn"), scope)
        return explicit or default, uri

    def _constant(self, expr: cst.BaseExpression | None, scope: _Scope) -> str | None:
        """A string literal, or a name bound to one (`VIEW_URI = "ui://view"`)."""
        if expr is None:
            return None
        literal = string_value(expr)
        if literal is not None or not isinstance(expr, cst.Name):
            return literal
        value = self._resolve(expr, scope, 0)
        return value.text if not value.from_env else None

    # -- values ----------------------------------------------------------------
    def _value(self, expr: cst.BaseExpression, scope: _Scope, depth: int = 0) -> Value:
        value = self._resolve(expr, scope, depth)
        value.site = expr
        return value

    def _resolve(self, expr: cst.BaseExpression, scope: _Scope, depth: int) -> Value:
        literal = string_value(expr)
        if literal is not None:
            return Value(literal, expr)
        if depth > 4:
            return Value(None, expr)
        if isinstance(expr, cst.Call):
            qualified = self.imports.qualify(expr.func) or ""
            if qualified in sdk.ENV_GETTERS:
                default = argument(expr, 1, "default")
                return Value(string_value(default) if default is not None else None, expr, from_env=True)
            return Value(None, expr)
        if isinstance(expr, cst.Subscript):
            if (self.imports.qualify(expr.value) or "") == "os.environ":
                return Value(None, expr, from_env=True)
            return Value(None, expr)
        if isinstance(expr, cst.BooleanOperation) and isinstance(expr.operator, cst.Or):
            fallback = self._resolve(expr.right, scope, depth + 1)
            if fallback.known:
                return Value(fallback.text, fallback.node, from_env=True)
            return Value(None, expr)
        if isinstance(expr, cst.Name):
            return self._resolve_name(expr, scope, depth)
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            # args.host: the argparse/click default of --host
            default = self.facts.options.get(expr.attr.value)
            if default is not None and self._is_parsed_args(expr.value, scope):
                found = self._resolve(default, scope, depth + 1)
                return Value(found.text, found.node, from_env=True)
        return Value(None, expr)

    def _is_parsed_args(self, name: cst.Name, scope: _Scope) -> bool:
        """`args` in `args.host`: bound to `parser.parse_args()` (or a parameter)."""
        if name.value in ("self", "cls"):
            return False
        for s in scope.chain():
            values = s.assigns.get(name.value)
            if values:
                value = values[0]
                return isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and (
                    value.func.attr.value in ("parse_args", "parse_known_args")
                )
            if name.value in s.params:
                return True
        return False

    def _resolve_name(self, expr: cst.Name, scope: _Scope, depth: int) -> Value:
        for s in scope.chain():
            if isinstance(s.node, cst.ClassDef) and s is not scope:
                continue
            values = s.assigns.get(expr.value)
            if values:
                found = self._resolve(values[0], s, depth + 1)
                if len(values) > 1 and found.known:
                    found = Value(found.text, found.node, from_env=True)
                return found
            param = s.params.get(expr.value)
            if param is not None:
                if param.default is not None:
                    default = param.default
                    if isinstance(default, cst.Call) and default.args:  # typer.Option("0.0.0.0")
                        default = default.args[0].value
                    found = self._resolve(default, s, depth + 1)
                    return Value(found.text, found.node, from_env=True)
                option = self.facts.options.get(expr.value)  # @click.option("--host", default=...)
                if option is not None:
                    found = self._resolve(option, s, depth + 1)
                    return Value(found.text, found.node, from_env=True)
                return Value(None, expr)
        return Value(None, expr)


# -- helpers ----------------------------------------------------------------------


def _names_auth(expr: cst.BaseExpression) -> bool:
    """`AuthMiddleware(...)`, `Middleware(BearerAuthMiddleware, ...)`, `JWTMiddleware`."""
    if isinstance(expr, cst.Call):
        name = dotted(expr.func) or ""
        if name.rsplit(".", 1)[-1] == "Middleware" and expr.args:
            return _names_auth(expr.args[0].value)
        expr = expr.func
    name = dotted(expr) or ""
    return bool(sdk.AUTH_MIDDLEWARE_HINT.search(name.rsplit(".", 1)[-1]))


def _is_middleware_wrapper(call: cst.Call) -> bool:
    """`Middleware(AuthenticationMiddleware, ...)` or `BearerAuthMiddleware(app, ...)`."""
    name = (dotted(call.func) or "").rsplit(".", 1)[-1]
    if name == "Middleware":
        return bool(call.args) and _names_auth(call.args[0].value)
    return "Middleware" in name and bool(sdk.AUTH_MIDDLEWARE_HINT.search(name))


def _name_expr(name: str) -> cst.BaseExpression:
    """`a.b.c` as an expression node, for looking a dotted name up."""
    head, *rest = name.split(".")
    expr: cst.BaseExpression = cst.Name(head)
    for part in rest:
        expr = cst.Attribute(value=expr, attr=cst.Name(part))
    return expr


def _named_like_a_server_factory(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Await):
        value = value.expression
    if not isinstance(value, cst.Call):
        return False
    name = (dotted(value.func) or "").rsplit(".", 1)[-1].lower()
    return "mcp" in name or "server" in name


def _is_lowlevel(server: Server) -> bool:
    return server.dialect == sdk.LOWLEVEL or sdk.SERVER_CLASSES.get(server.type_hint or "") == sdk.LOWLEVEL


def _is_auth_middleware_function(function: cst.FunctionDef, decorator: cst.Decorator) -> bool:
    """`@app.middleware("http") async def require_api_key(request, call_next)`."""
    expr = decorator.decorator
    return (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value == "middleware"
        and bool(sdk.AUTH_MIDDLEWARE_HINT.search(function.name.value))
    )


def is_none(expr: cst.BaseExpression | None) -> bool:
    """The literal `None` (not a missing expression)."""
    return isinstance(expr, cst.Name) and expr.value == "None"


_HIGH_LEVEL_DIALECTS = frozenset({sdk.MCP_V1, sdk.MCP_V2, sdk.FASTMCP})
_MODULE = cst.Module(body=[])


def node_source(node: cst.CSTNode) -> str:
    if type(node) is cst.Name and not node.lpar:
        return node.value  # the common case, without generating code
    return _MODULE.code_for_node(node)


def _parse_string_annotation(node: cst.SimpleString) -> cst.BaseExpression | None:
    text = string_value(node)
    if not text:
        return None
    try:
        return cst.parse_expression(text)
    except Exception:
        return None


def _params(function: cst.FunctionDef, imports: ImportTable, *, context_first: bool = False) -> list[Param]:
    params = function.params
    out: list[Param] = []
    ordered = [*params.posonly_params, *params.params]
    for index, param in enumerate(ordered):
        if index == 0 and param.name.value in ("self", "cls"):
            continue
        out.append(_param(param, "", imports))
    if isinstance(params.star_arg, cst.Param):
        out.append(_param(params.star_arg, "*", imports))
    out.extend(_param(p, "", imports) for p in params.kwonly_params)
    if params.star_kwarg is not None:
        out.append(_param(params.star_kwarg, "**", imports))
    if context_first and out:
        # Low-level v2 handlers: (ctx, params); the context comes from the SDK.
        out[0].injected = True
    return out


# A parameter the project's own decorator fills in before the tool is registered
# (`@mcp.tool()` over `@require_google_service("drive", "drive_read")` over `async def
# list_files(service, query: str)`): its wrapper gives the SDK a signature without it,
# or no client could call the tool. Taken as injected when such a decorator is a factory
# call (what it injects is configured there), and the parameter comes first, has no
# default and no type (or `Any`), and is named for an object (`service`, `drive_client`).
_INJECTED_OBJECT = re.compile(r"^(?:\w+_)?(?:service|client|session|conn|connection|db)$")


def _wrapper_injected(params: list[Param], function: cst.FunctionDef, registration) -> None:
    decorators = function.decorators
    at = next((i for i, decorator in enumerate(decorators) if decorator is registration), -1)
    if not any(isinstance(decorator.decorator, cst.Call) for decorator in decorators[at + 1:]):
        return
    for param in params:
        annotation = param.node.annotation
        untyped = annotation is None or (dotted(annotation.annotation) or "").rsplit(".", 1)[-1] == "Any"
        if param.star or param.node.default is not None or not untyped or not _INJECTED_OBJECT.match(param.name):
            return
        param.injected = True


def _param(param: cst.Param, star: str, imports: ImportTable) -> Param:
    injected = param.annotation is not None and _injected_type(param.annotation.annotation, imports)
    if isinstance(param.default, cst.Call):
        injected = injected or _last_name(param.default.func, imports) in sdk.INJECTED_DEFAULT_CALLS
    return Param(name=param.name.value, node=param, star=star, injected=injected)


def _last_name(node: cst.BaseExpression, imports: ImportTable) -> str:
    """`Ctx` imported as `from mcp.server.fastmcp import Context as Ctx` -> "Context"."""
    return (imports.qualify(node) or "").rsplit(".", 1)[-1]


def _injected_type(node: cst.BaseExpression, imports: ImportTable, depth: int = 0) -> bool:
    """Context, `Context | None`, `Optional[Context]`, `"Context"`, `Annotated[X, Depends(f)]`."""
    if depth > 4:
        return False
    if isinstance(node, cst.SimpleString):
        parsed = _parse_string_annotation(node)
        return parsed is not None and _injected_type(parsed, imports, depth + 1)
    if isinstance(node, (cst.Name, cst.Attribute)):
        return _last_name(node, imports) in sdk.INJECTED_TYPE_NAMES
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return _injected_type(node.left, imports, depth + 1) or _injected_type(node.right, imports, depth + 1)
    if isinstance(node, cst.Subscript):
        base = _last_name(node.value, imports)
        items = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
        if base in ("Optional", "Union"):
            return any(_injected_type(item, imports, depth + 1) for item in items)
        if base == "Annotated" and items:
            if _injected_type(items[0], imports, depth + 1):
                return True
            return any(
                isinstance(meta, cst.Call)
                and _last_name(meta.func, imports) in sdk.INJECTED_DEFAULT_CALLS
                for meta in items[1:]
            )
        return _injected_type(node.value, imports, depth + 1)  # Context[ServerSession, None]
    return False


def function_params(function: cst.FunctionDef, imports: ImportTable) -> list[Param]:
    """The parameters of any function, as a handler's would be read (self/cls dropped)."""
    return _params(function, imports)
