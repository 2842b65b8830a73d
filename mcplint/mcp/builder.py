"""Build the `FileModel` of one module in a single traversal, without metadata providers.

The visitor only collects raw facts (imports, assignments of calls, decorated
functions, method calls on names); `_resolve` turns them into servers, transports and
handlers once every import of the file is known.
"""

from __future__ import annotations

import re

import libcst as cst

from mcplint.mcp import sdk
from mcplint.mcp.model import FileModel, Handler, Param, Server, Transport, Value
from mcplint.mcp.names import ImportTable, dotted

_URI_PARAM = re.compile(r"\{(\w+)\*?\}")


def string_value(node: cst.CSTNode | None) -> str | None:
    """The value of a plain or concatenated string literal (no f-strings)."""
    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:  # odd prefixes; never let a literal crash the scan
            return None
        return value.decode("latin-1") if isinstance(value, bytes) else value
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_value(node.left), string_value(node.right)
        if left is not None and right is not None:
            return left + right
    return None


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


class _Collector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.imports = ImportTable()
        self.assigned_calls: list[tuple[str, cst.Call]] = []
        self.assigned_names: set[str] = set()
        self.decorated: list[tuple[cst.FunctionDef, tuple[set[str], ...]]] = []
        self.functions: dict[str, cst.FunctionDef] = {}
        self.calls: list[cst.Call] = []
        self.attribute_assigns: list[tuple[str, cst.BaseExpression]] = []
        # Parameter names of the enclosing functions, innermost last.
        self._params: list[set[str]] = []

    def visit_Import(self, node: cst.Import) -> None:
        self.imports.add(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.imports.add(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.setdefault(node.name.value, node)
        if node.decorators:
            self.decorated.append((node, tuple(self._params)))
        params = node.params
        names = {
            p.name.value
            for p in (*params.posonly_params, *params.params, *params.kwonly_params)
        }
        self._params.append(names)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._params.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            name = dotted(target.target)
            if name is None:
                continue
            self.assigned_names.add(name)
            if isinstance(node.value, cst.Call):
                self.assigned_calls.append((name, node.value))
            elif "." in name:
                self.attribute_assigns.append((name, node.value))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        name = dotted(node.target)
        if name is not None and node.value is not None:
            self.assigned_names.add(name)
            if isinstance(node.value, cst.Call):
                self.assigned_calls.append((name, node.value))

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)


def build_model(module: cst.Module) -> tuple[FileModel, ImportTable]:
    collector = _Collector()
    module.visit(collector)
    return _Resolver(collector).resolve(), collector.imports


class _Resolver:
    def __init__(self, facts: _Collector) -> None:
        self.facts = facts
        self.imports = facts.imports
        self.model = FileModel()
        self.servers: dict[str, Server] = {}
        self.apps: dict[str, Server] = {}  # names bound to ASGI apps of a server

    def resolve(self) -> FileModel:
        self._servers_from_constructors()
        self._handlers_from_decorators()
        self._calls()
        self._attribute_assignments()
        self.model.servers = list(self.servers.values())
        return self.model

    # -- servers ---------------------------------------------------------------
    def _servers_from_constructors(self) -> None:
        for name, call in self.facts.assigned_calls:
            qualified = self.imports.qualify(call.func)
            dialect = sdk.SERVER_CLASSES.get(qualified or "")
            if dialect is None:
                continue
            _, keywords, star = call_args(call)
            server = Server(var=name, dialect=dialect, node=call, kwargs=keywords, has_star_kwargs=star)
            for key in sdk.AUTH_KWARGS:
                arg = keywords.get(key)
                if arg is not None and not _is_none(arg.value):
                    server.auth_evidence.append(arg)
            host = keywords.get("host")
            if host is not None:
                server.kwargs["host"] = host
            self.servers[name] = server
            if dialect == sdk.LOWLEVEL:
                self._lowlevel_v2_handlers(server, keywords)

    def _server_for(self, receiver: str, enclosing_params: tuple[set[str], ...]) -> Server | None:
        if receiver in self.servers:
            return self.servers[receiver]
        head = receiver.split(".", 1)[0]
        is_param = any(head in params for params in enclosing_params)
        # A server handed in (`def register(mcp)`) or imported from the module that
        # builds it (`from .app import mcp`): we see it only through its use.
        if is_param or (self.imports.is_imported(receiver) and receiver not in self.facts.assigned_names):
            server = Server(var=receiver, dialect=sdk.INFERRED, node=cst.Name(head))
            self.servers[receiver] = server
            return server
        return None

    # -- handlers --------------------------------------------------------------
    def _handlers_from_decorators(self) -> None:
        for function, enclosing in self.facts.decorated:
            for decorator in function.decorators:
                expr = decorator.decorator
                call = expr if isinstance(expr, cst.Call) else None
                target = call.func if call is not None else expr
                if not isinstance(target, cst.Attribute):
                    continue
                receiver = dotted(target.value)
                method = target.attr.value
                if receiver is None:
                    continue
                if method in sdk.HIGH_LEVEL_DECORATORS:
                    kind = sdk.HIGH_LEVEL_DECORATORS[method]
                    lowlevel = False
                elif method in sdk.LOW_LEVEL_DECORATORS:
                    kind = sdk.LOW_LEVEL_DECORATORS[method]
                    lowlevel = True
                else:
                    continue
                server = self._server_for(receiver, enclosing)
                if server is None:
                    continue
                if lowlevel and server.dialect not in (sdk.LOWLEVEL, sdk.INFERRED):
                    continue
                name = function.name.value
                uri = None
                if call is not None:
                    explicit = string_value(argument(call, None, "name"))
                    if kind == "resource":
                        uri = string_value(argument(call, 0, "uri"))
                    elif explicit is None and not lowlevel:
                        explicit = string_value(argument(call, 0, "name"))
                    name = explicit or name
                self._add_handler(kind, name, function, server, decorator, uri=uri, lowlevel=lowlevel)
                break

    def _lowlevel_v2_handlers(self, server: Server, keywords: dict[str, cst.Arg]) -> None:
        for key, kind in sdk.LOW_LEVEL_V2_KWARGS.items():
            arg = keywords.get(key)
            function = self._function(arg.value) if arg is not None else None
            if function is not None:
                self._add_handler(kind, function.name.value, function, server, arg, lowlevel=True)

    def _function(self, expr: cst.BaseExpression | None) -> cst.FunctionDef | None:
        if isinstance(expr, cst.Name):
            return self.facts.functions.get(expr.value)
        return None

    def _add_handler(self, kind, name, function, server, registration, *, uri=None, lowlevel=False) -> None:
        if self.model.handler_for(function) is not None:
            return
        handler = Handler(
            kind=kind,
            name=name,
            function=function,
            server=server,
            params=_params(function, self.imports),
            registration=registration,
            uri=uri,
            lowlevel=lowlevel,
        )
        self.model.handlers.append(handler)
        if server is not None:
            server.handlers.append(handler)

    # -- calls: imperative registration, transports, apps ------------------------
    def _calls(self) -> None:
        for call in self.facts.calls:
            qualified = self.imports.qualify(call.func) or ""
            if qualified in sdk.LOW_LEVEL_TRANSPORT_CLASSES:
                self._lowlevel_transport(call, sdk.LOW_LEVEL_TRANSPORT_CLASSES[qualified])
                continue
            if qualified in sdk.ASGI_RUNNERS:
                host = argument(call, None, "host")
                self.model.asgi_hosts.append(_value(host, self.imports) if host is not None else Value("127.0.0.1"))
                continue
            if qualified.endswith(tuple(sdk.FROM_FUNCTION)):
                kind = next(v for k, v in sdk.FROM_FUNCTION.items() if qualified.endswith(k))
                function = self._function(argument(call, 0, "fn"))
                if function is not None:
                    self._add_handler(kind, _registered_name(call, function), function, None, call)
                continue
            if not isinstance(call.func, cst.Attribute):
                continue
            receiver = dotted(call.func.value)
            server = self.servers.get(receiver or "")
            if server is None:
                continue
            method = call.func.attr.value
            if method in sdk.ADD_METHODS:
                function = self._function(argument(call, 0, "fn"))
                if function is not None:
                    self._add_handler(sdk.ADD_METHODS[method], _registered_name(call, function), function, server, call)
            elif method in sdk.RUN_METHODS:
                self._run(server, call, method)
            elif method in sdk.APP_METHODS:
                kind = sdk.APP_METHODS[method]
                transport = string_value(argument(call, None, "transport"))
                host = argument(call, None, "host")
                server.transports.append(
                    Transport(
                        kind=transport or kind,
                        node=call,
                        via="app",
                        host=_value(host, self.imports) if host is not None else None,
                    )
                )
            elif method == "add_middleware":
                self._middleware(server, argument(call, 0, "middleware"))

    def _run(self, server: Server, call: cst.Call, method: str) -> None:
        kind = sdk.RUN_METHODS[method]
        if server.dialect == sdk.LOWLEVEL and method == "run":
            # Low-level Server.run(read_stream, write_stream, options): stdio or a
            # transport built elsewhere (found through the session manager).
            kind = sdk.STDIO
        if kind is None:
            transport_arg = argument(call, 0, "transport")
            if transport_arg is None:
                kind = sdk.STDIO
            else:
                literal = string_value(transport_arg)
                kind = literal if literal is not None else "unknown"
        host = argument(call, None, "host")
        host_value = _value(host, self.imports) if host is not None else None
        if host_value is None and "host" in server.kwargs:
            host_value = _value(server.kwargs["host"].value, self.imports)
        server.transports.append(Transport(kind=kind, node=call, via="run", host=host_value))

    def _lowlevel_transport(self, call: cst.Call, kind: str) -> None:
        app = dotted(argument(call, None, "app") or cst.Name("_"))
        server = self.servers.get(app or "")
        targets = [server] if server is not None else [s for s in self.servers.values() if s.dialect == sdk.LOWLEVEL]
        for target in targets:
            target.transports.append(Transport(kind=kind, node=call, via="session-manager"))

    def _middleware(self, server: Server, expr: cst.BaseExpression | None) -> None:
        if expr is not None and sdk.AUTH_MIDDLEWARE_HINT.search(dotted(_callee(expr)) or ""):
            server.auth_evidence.append(expr)

    def _attribute_assignments(self) -> None:
        # `mcp.auth = provider` after construction.
        for name, value in self.facts.attribute_assigns:
            receiver, _, attr = name.rpartition(".")
            server = self.servers.get(receiver)
            if server is not None and attr in sdk.AUTH_KWARGS and not _is_none(value):
                server.auth_evidence.append(value)


def _callee(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.func if isinstance(expr, cst.Call) else expr


def _registered_name(call: cst.Call, function: cst.FunctionDef) -> str:
    return string_value(argument(call, None, "name")) or function.name.value


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _value(expr: cst.BaseExpression, imports: ImportTable) -> Value:
    literal = string_value(expr)
    if literal is not None:
        return Value(literal, expr)
    if isinstance(expr, cst.Call):
        qualified = imports.qualify(expr.func) or ""
        if qualified in ("os.getenv", "os.environ.get"):
            default = argument(expr, 1, "default")
            return Value(string_value(default), expr, from_env=True)
    return Value(None, expr)


_MODULE = cst.Module(body=[])


def node_source(node: cst.CSTNode) -> str:
    return _MODULE.code_for_node(node)


def _params(function: cst.FunctionDef, imports: ImportTable) -> list[Param]:
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
    return out


_WORD = re.compile(r"[A-Za-z_][\w.]*")


def _param(param: cst.Param, star: str, imports: ImportTable) -> Param:
    annotation = node_source(param.annotation.annotation) if param.annotation else None
    injected = False
    if annotation:
        words = {w.rsplit(".", 1)[-1] for w in _WORD.findall(annotation)}
        injected = bool(words & sdk.INJECTED_TYPE_NAMES) and "Annotated" not in words
    if isinstance(param.default, cst.Call):
        callee = dotted(param.default.func) or ""
        injected = injected or callee.rsplit(".", 1)[-1] in sdk.INJECTED_DEFAULT_CALLS
    return Param(name=param.name.value, node=param, annotation=annotation, star=star, injected=injected)
