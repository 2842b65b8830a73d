import ast
import re

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk, walk
from mcplint.mcp.model import Server, Transport
from mcplint.mcp.names import dotted
from mcplint.prefilter import Prefilter, lazy_compile
from mcplint.rule import Rule
from mcplint.outline import ast_dotted, ast_last, ast_qualified, import_targets

TRANSPORT_LABELS = {"sse": "SSE", "streamable-http": "streamable HTTP", "http": "HTTP",
                    "unknown-network": "an HTTP transport chosen at run time"}
# Names of request limiters: fastmcp's RateLimitingMiddleware and
# SlidingWindowRateLimitingMiddleware, slowapi's Limiter/SlowAPIMiddleware,
# fastapi-limiter's RateLimiter, and a project's own `@rate_limited`/`Throttle`.
_LIMITER = r"rate_?limit|ratelimit|limiter|throttl|slowapi|token_?bucket|leaky_?bucket"
LIMITER_NAME = lazy_compile(_LIMITER, re.IGNORECASE)
# Evidence needs a name LIMITER_NAME matches: in the lower-cased bytes, after one of its words.
_LIMITER_IN_FILE = Prefilter(lazy_compile(_LIMITER.encode()), anchors=(b"limit", b"throttl", b"slowapi", b"bucket"),
                             lowercase=True)
# A limiter name counts where it limits incoming requests: middleware (a server's
# `middleware=[...]`/`add_middleware`, the ASGI app's), decorators on handlers or
# routes, slowapi's `app.state.limiter`. (`AsyncLimiter` around outbound API calls
# does not protect the server.)
# Packages that limit incoming requests, when declared but not seen configured here.
LIMITER_PACKAGES = ("slowapi", "fastapi-limiter", "starlette-limiter", "asgi-ratelimit", "limits")


def _may_name_limiter(expr: ast.AST) -> bool:
    """Can `_limiter_name` find a limiter in `expr` (CPython's tree)?"""
    if type(expr) is ast.Starred:
        expr = expr.value
    if type(expr) is ast.Call:
        if ast_last(expr.func) == "Middleware" and (expr.args or expr.keywords):
            return any(_may_name_limiter(a) for a in (*expr.args, *(k.value for k in expr.keywords)))
        expr = expr.func
    return bool(LIMITER_NAME.search(ast_last(expr)))


def may_show_limiter(outline) -> bool:
    """Can the rule record evidence in this file (CPython's tree, `mcplint.outline`)? It
    reports only on a server of the file, and a file with none records a limiter only
    where `visit_Call`, `visit_Decorator` and `visit_Assign` look for one: a limiter-named
    callee that is middleware or comes from a limiter package, a limiter in
    `add_middleware(...)`, `Middleware(...)` or `middleware=[...]`, a limiter-named
    decorator, `....state.limiter = ...`."""
    targets = None
    for call in outline.of(ast.Call):
        func = call.func
        last = ast_last(func)
        if last == "add_middleware" and type(func) is ast.Attribute and any(
                _may_name_limiter(a) for a in (*call.args, *(k.value for k in call.keywords))):
            return True
        if last and LIMITER_NAME.search(last):
            if last.endswith("Middleware"):
                return True
            if targets is None:
                targets = import_targets(outline)
            if any(q.split(".", 1)[0] in ("slowapi", "fastapi_limiter", "limits")
                   or q.startswith("fastmcp.server.middleware.rate_limiting") for q in ast_qualified(func, targets)):
                return True
            # else `visit_Call` goes on to the arguments
        for value in (*(call.args if last == "Middleware" else ()),
                      *(k.value for k in call.keywords if last == "Middleware" or k.arg == "middleware")):
            if type(value) is ast.Starred:
                value = value.value
            if any(_may_name_limiter(e) for e in (value.elts if type(value) in (ast.List, ast.Tuple) else (value,))):
                return True
    for kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
        for node in outline.of(kind):
            for decorator in node.decorator_list:
                name = ast_dotted(decorator.func if type(decorator) is ast.Call else decorator)
                if name and LIMITER_NAME.search(name):
                    return True
    return any((ast_dotted(target) or "").endswith("state.limiter")
               for node in outline.of(ast.Assign) for target in node.targets)


def _loopback(transport: Transport) -> bool:
    if transport.host is None:
        return transport.via == "run"  # the SDK's 127.0.0.1 default; an app is bound by whoever serves it
    return transport.host.is_loopback


class NetworkServerWithoutRateLimiting(Rule):
    """An MCP server is served over HTTP with no rate limiting in its code.

    ## What it does
    Reports a server that this file serves over SSE, streamable HTTP or HTTP when the
    file shows no request limiter: fastmcp's `RateLimitingMiddleware` or
    `SlidingWindowRateLimitingMiddleware` (in `middleware=[...]` or `add_middleware`),
    slowapi's `Limiter`/`SlowAPIMiddleware`, fastapi-limiter, or the project's own
    middleware or decorator named for rate limiting or throttling. One finding per
    server, on its first network transport. A limiter seen is recorded as evidence
    for MCP-C07 instead.

    Medium severity when the server listens beyond this machine (or the bind
    address is decided elsewhere), low for a loopback-only server. Confidence is
    medium: a reverse proxy or API gateway may limit requests where the code cannot
    show it; low for a loopback server and when the project depends on a limiter
    package (`slowapi`, `fastapi-limiter`, `limits`) configured out of this file's
    sight. Nothing is reported when the server object, its settings or a subclass of
    the SDK class come from another module.

    ## Why is this bad?
    Every tool call can cost real money and capacity: a database query, an LLM
    call, a paid API request, a subprocess. An agent stuck in a loop, a runaway
    client or an attacker with one valid token can call tools as fast as the
    network allows, exhausting connections, quotas and budgets for everyone else.
    A per-client request limit bounds the damage of each.

    ## Example
    ```python
    from fastmcp import FastMCP

    mcp = FastMCP("search")

    @mcp.tool
    def search(query: str) -> list[str]:
        return [query]

    mcp.run(transport="http", host="0.0.0.0", port=8000)
    ```

    ## Use instead
    Limit requests per client in the server (or at the proxy in front of it, and say so in a suppression).
    ```python
    from fastmcp import FastMCP
    from fastmcp.server.middleware.rate_limiting import RateLimitingMiddleware

    mcp = FastMCP("search", middleware=[RateLimitingMiddleware(max_requests_per_second=5, burst_capacity=20)])

    @mcp.tool
    def search(query: str) -> list[str]:
        return [query]

    mcp.run(transport="http", host="0.0.0.0", port=8000)
    ```

    ## References
    - [CWE-770: Allocation of Resources Without Limits or Throttling](https://cwe.mitre.org/data/definitions/770.html)
    - [FastMCP: Rate limiting middleware](https://gofastmcp.com/servers/middleware#rate-limiting-middleware)
    - [OWASP API Security Top 10: Unrestricted Resource Consumption](https://owasp.org/API-Security/editions/2023/en/0xa4-unrestricted-resource-consumption/)
    """

    code = "MCP802"
    name = "network-server-without-rate-limiting"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    cwe = 770
    checklist = "MCP-C07"
    in_imported_modules = _LIMITER_IN_FILE  # evidence: a rate limiter
    imported_if = staticmethod(may_show_limiter)  # evidence only, where the visits look for a limiter
    message = "{server} is served over {transport}{bind} with no rate limiting in the code{detail}"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._servers: list[Server] = []
        self._file_wide = False  # a limiter on the ASGI app or its routes: every server of the file
        self._limited_vars: set[str] = set()  # servers given a limiter by `mcp.add_middleware(...)`
        self._limited_nodes: set[int] = set()  # limiter calls inside a server's `middleware=[...]`
        self._seen: set[int] = set()

    def check_server(self, server: Server) -> None:
        if not server.constructed or server.has_star_kwargs or server.dialect == sdk.PROVIDER:
            return
        if {sdk.AUTH_UNKNOWN_ELSEWHERE, sdk.AUTH_UNKNOWN_SUBCLASS, sdk.AUTH_UNKNOWN_SPLAT} & set(server.auth_unknown):
            return  # configured out of this file's sight
        if server.network_transports:
            self._servers.append(server)

    def visit_Call(self, node: cst.Call) -> None:
        last = (dotted(node.func) or "").rsplit(".", 1)[-1]
        func = node.func
        if last == "add_middleware" and isinstance(func, cst.Attribute) and node.args:
            limiter = _limiter_name(node.args[0].value)
            if limiter is not None:
                self._limit(node.args[0].value, limiter, dotted(func.value))
            return
        if LIMITER_NAME.search(last) and (last.endswith("Middleware") or self._from_limiter_package(node)):
            self._limit(node, last, None)
            return
        for arg in node.args:
            if last == "Middleware" or (arg.keyword is not None and arg.keyword.value == "middleware"):
                values = arg.value.elements if isinstance(arg.value, (cst.List, cst.Tuple)) else [arg]
                for element in values:
                    limiter = _limiter_name(element.value)
                    if limiter is not None:
                        self._limited_nodes.add(id(element.value))
                        self._limit(element.value, limiter, None)

    def visit_Decorator(self, node: cst.Decorator) -> None:
        expr = node.decorator
        name = dotted(expr.func if isinstance(expr, cst.Call) else expr) or ""
        if LIMITER_NAME.search(name):
            self._limit(node, f"@{name}", None)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if (dotted(target.target) or "").endswith("state.limiter"):  # slowapi: app.state.limiter = limiter
                self._limit(node, "app.state.limiter", None)

    def _from_limiter_package(self, node: cst.Call) -> bool:
        qualified = self.ctx.qualify(node.func) or ""
        return qualified.split(".", 1)[0] in ("slowapi", "fastapi_limiter", "limits") or \
            qualified.startswith("fastmcp.server.middleware.rate_limiting")

    def _limit(self, node: cst.CSTNode, name: str, receiver: str | None) -> None:
        if id(node) in self._seen:
            return
        self._seen.add(id(node))
        self.evidence(node, f"rate limiting `{name}`")
        if receiver is not None and any(s.var == receiver for s in self.ctx.model.servers):
            self._limited_vars.add(receiver)
        elif not self._inside_server_middleware(node):
            self._file_wide = True

    def _inside_server_middleware(self, node: cst.CSTNode) -> bool:
        if id(node) in self._limited_nodes:
            return any(
                any(n is node for n in walk.iter_nodes(server.kwargs["middleware"].value))
                for server in self.ctx.model.servers if "middleware" in server.kwargs
            )
        return False

    def _limited(self, server: Server) -> bool:
        if self._file_wide or server.var in self._limited_vars:
            return True
        middleware = server.kwargs.get("middleware")
        return middleware is not None and any(id(n) in self._limited_nodes for n in walk.iter_nodes(middleware.value))

    def leave_Module(self, original_node: cst.Module) -> None:
        declared = next((p for p in LIMITER_PACKAGES if self.ctx.project.declared(p)), None)
        for server in self._servers:
            if self._limited(server):
                continue
            if all(_loopback(t) for t in server.network_transports):
                continue  # only this machine reaches it: its request rate is the user's own
            transport = server.network_transports[0]
            host = transport.host
            self.report(
                transport.node,
                confidence=Confidence.LOW if declared else Confidence.MEDIUM,
                server=f"server `{server.var}`" if server.var else "the MCP server",
                transport=TRANSPORT_LABELS.get(transport.kind, transport.kind),
                bind=f" on `{host.text}`" if host is not None and host.known else "",
                detail=f" (the project depends on `{declared}`: configured elsewhere?)" if declared else "",
            )


def _limiter_name(expr: cst.BaseExpression) -> str | None:
    """`RateLimitingMiddleware(...)`, `SlowAPIMiddleware`, `Middleware(RateLimitMiddleware, ...)`."""
    if isinstance(expr, cst.Call):
        name = (dotted(expr.func) or "").rsplit(".", 1)[-1]
        if name == "Middleware" and expr.args:
            return _limiter_name(expr.args[0].value)
        expr = expr.func
    name = (dotted(expr) or "").rsplit(".", 1)[-1]
    return name if name and LIMITER_NAME.search(name) else None
