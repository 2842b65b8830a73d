import re

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk, walk
from mcplint.mcp.builder import argument, string_value
from mcplint.mcp.model import Server
from mcplint.mcp.names import dotted
from mcplint.prefilter import containing, lazy_compile
from mcplint.rule import Rule
from mcplint.files import is_test_path
from mcplint.secrets import is_secret_name

# What a route does that needs a caller's identity: qualified call -> (what, confidence).
_PRIVILEGED_CALLS = {
    **{f"subprocess.{f}": ("runs commands", Confidence.HIGH)
       for f in ("run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput")},
    "os.system": ("runs commands", Confidence.HIGH),
    "os.popen": ("runs commands", Confidence.HIGH),
    "asyncio.create_subprocess_exec": ("runs commands", Confidence.HIGH),
    "asyncio.create_subprocess_shell": ("runs commands", Confidence.HIGH),
    "eval": ("evaluates code", Confidence.HIGH),
    "exec": ("runs code", Confidence.HIGH),
    "os.remove": ("deletes files", Confidence.HIGH),
    "os.unlink": ("deletes files", Confidence.HIGH),
    "os.rmdir": ("deletes files", Confidence.HIGH),
    "os.removedirs": ("deletes files", Confidence.HIGH),
    "shutil.rmtree": ("deletes files", Confidence.HIGH),
    "shutil.move": ("moves files", Confidence.MEDIUM),
    "os.rename": ("moves files", Confidence.MEDIUM),
    "os.replace": ("moves files", Confidence.MEDIUM),
    "os.kill": ("kills processes", Confidence.HIGH),
    "os._exit": ("stops the server", Confidence.MEDIUM),
    "sys.exit": ("stops the server", Confidence.MEDIUM),
}
# Methods by name: `path.unlink()`, `server.call_tool(...)`.
_PRIVILEGED_METHODS = {
    "unlink": ("deletes files", Confidence.HIGH),
    "rmdir": ("deletes files", Confidence.HIGH),
    "write_text": ("writes files", Confidence.MEDIUM),
    "write_bytes": ("writes files", Confidence.MEDIUM),
    "call_tool": ("calls MCP tools", Confidence.HIGH),
    "_call_tool": ("calls MCP tools", Confidence.HIGH),
    "_call_tool_mcp": ("calls MCP tools", Confidence.HIGH),
    "run_tool": ("calls MCP tools", Confidence.HIGH),
}
# Helpers whose name says they change state: `await reset_index()`, `store.delete_all()`.
_STATE_CHANGING = lazy_compile(
    r"^_?(?:delete|drop|purge|truncate|destroy|wipe|reset|revoke|grant|shutdown|restart|reboot|terminate|kill"
    r"|reload|rotate|deploy|set_role|create_user|add_user|update_user|remove_user|run_command|execute_command"
    r"|exec_command|run_shell|clear_all)(?:_|$)",
    re.IGNORECASE,
)
_SQL_WRITE = lazy_compile(r"^\s*(?:INSERT|UPDATE|DELETE|DROP|TRUNCATE|ALTER|CREATE|GRANT|REVOKE|REPLACE|MERGE)\b", re.I)
_DB_METHODS = frozenset({"execute", "executemany", "executescript", "exec_driver_sql"})
# Routes that are public by design: probes, metadata and the OAuth flow itself.
_PUBLIC_PATH = lazy_compile(
    r"^/?(?:\.well-known|health\w*|ready\w*|readiness|live\w*|liveness|ping|status|metrics|version|favicon\.ico"
    r"|robots\.txt|oauth2?|auth|sso|login|logout|callback|authorize|token|register|consent|docs|openapi\.json)(?:[/.]|$)",
    re.IGNORECASE,
)
# Calls that check who the caller is.
_AUTH_CALL = lazy_compile(
    r"verif|authent|authoriz|check_(?:auth|token|api_?key|key|permission|scope|admin|credentials)|require_"
    r"|is_admin|is_authorized|has_(?:scope|permission|role)|compare_digest|get_access_token|current_user"
    r"|validate_(?:token|api_?key|key|auth|credentials)|decode_token",
    re.IGNORECASE,
)
_AUTH_DECORATOR = lazy_compile(r"auth|requires|login_required|protected|guard|permission|api_?key|token", re.IGNORECASE)
_REQUEST_PARTS = frozenset({"headers", "query_params", "cookies"})


def route_of(decorator: cst.Decorator) -> cst.Call | None:
    """The `X.custom_route(path, methods)` call of a decorator, if it is one."""
    expr = decorator.decorator
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == sdk.CUSTOM_ROUTE_METHOD:
        return expr
    return None


class CustomRouteWithoutAuth(Rule):
    """A custom HTTP route does privileged work without checking who calls it.

    ## What it does
    Reports handlers of `@mcp.custom_route(path, methods=[...])` (official SDK 1.x
    and 2.x, standalone fastmcp; also `mcp.custom_route(...)(handler)`) that run
    commands or code, delete or move files, change a database (`INSERT`, `UPDATE`,
    `DELETE`, `DROP` ...), call MCP tools, or call helpers named for state changes
    (`reset_index()`, `revoke_key()`), when the handler reads no credential (an
    `Authorization`/API-key header, `request.user`, `get_access_token()`), calls
    no verification helper and carries no auth decorator.

    Health checks, `.well-known` metadata and OAuth flow routes are public by design
    and never reported. Confidence drops when the file adds authenticating HTTP
    middleware (it may cover the route) or serves the server only over stdio.

    ## Why is this bad?
    Custom routes are plain Starlette routes added beside the MCP endpoint, and no
    SDK puts them behind the server's authentication: the official SDK's docstring
    says "Routes using this decorator will not require authorization", and
    fastmcp's docs say custom routes are never protected by the auth provider. An
    admin or maintenance endpoint there is open to anyone who can reach the port,
    even when every tool requires a token.

    ## Example
    ```python
    import shutil

    from fastmcp import FastMCP
    from fastmcp.server.auth.providers.jwt import JWTVerifier
    from starlette.responses import JSONResponse

    mcp = FastMCP("docs", auth=JWTVerifier(jwks_uri="https://id.example.com/jwks", issuer="https://id.example.com", audience="docs"))

    @mcp.custom_route("/admin/reset-cache", methods=["POST"])
    async def reset_cache(request):
        shutil.rmtree("/var/cache/docs")
        return JSONResponse({"ok": True})
    ```

    ## Use instead
    Check a credential in the route (or serve admin endpoints from an app that has
    its own authentication).
    ```python
    import hmac
    import os
    import shutil

    from fastmcp import FastMCP
    from fastmcp.server.auth.providers.jwt import JWTVerifier
    from starlette.responses import JSONResponse

    mcp = FastMCP("docs", auth=JWTVerifier(jwks_uri="https://id.example.com/jwks", issuer="https://id.example.com", audience="docs"))
    ADMIN_TOKEN = os.environ["DOCS_ADMIN_TOKEN"]

    @mcp.custom_route("/admin/reset-cache", methods=["POST"])
    async def reset_cache(request):
        sent = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(sent.encode(), ADMIN_TOKEN.encode()):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        shutil.rmtree("/var/cache/docs")
        return JSONResponse({"ok": True})
    ```

    ## References
    - [CWE-306: Missing Authentication for Critical Function](https://cwe.mitre.org/data/definitions/306.html)
    - [MCP Python SDK: `custom_route` (routes do not require authorization)](https://github.com/modelcontextprotocol/python-sdk)
    - [FastMCP: Custom routes are not protected by auth](https://gofastmcp.com/deployment/http#custom-routes)
    """

    code = "MCP105"
    name = "custom-route-without-auth"
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    cwe = 306
    checklist = "MCP-C01"
    in_imported_modules = containing(sdk.CUSTOM_ROUTE_METHOD.encode())
    message = "custom route `{route}` (`{function}`) {action} with no authentication check{note}"

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for decorator in node.decorators:
            call = route_of(decorator)
            if call is not None:
                self._route(node, call, call)
                return

    def visit_Call(self, node: cst.Call) -> None:
        # mcp.custom_route("/x", methods=["POST"])(handler)
        inner = node.func
        if not (isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute)
                and inner.func.attr.value == sdk.CUSTOM_ROUTE_METHOD and node.args):
            return
        target = node.args[0].value
        if isinstance(target, cst.Name):
            function = self._functions().get(target.value)
            if function is not None:
                self._route(function, inner, node)

    def _functions(self) -> dict[str, cst.FunctionDef]:
        cache = self.__dict__.get("_defs")
        if cache is None:
            cache = self._defs = {}
            for item in walk.iter_nodes(self.ctx.module):
                if isinstance(item, cst.FunctionDef):
                    cache.setdefault(item.name.value, item)
        return cache

    def _route(self, function: cst.FunctionDef, call: cst.Call, where: cst.CSTNode) -> None:
        if is_test_path(self.ctx.path):
            return
        path = string_value(argument(call, 0, "path")) or ""
        if _PUBLIC_PATH.search(path):
            return
        action = self._privileged(function)
        if action is None or self._checks_auth(function):
            return
        what, confidence = action
        server = self._server(call.func.value)  # type: ignore[attr-defined]
        note = ""
        if server is not None and server.auth == "configured":
            note = "; the server's `auth` does not cover custom routes"
        if self._auth_middleware(server):
            confidence = confidence.lowered()
            note = "; authenticating middleware in this file may cover it"
        if server is not None and server.stdio_only:
            confidence = confidence.lowered()
        methods = self._methods(call)
        route = f"{methods} {path}".strip() if path else function.name.value
        self.report(where, confidence=confidence, route=route,
                    function=function.name.value, action=what, note=note)

    def _methods(self, call: cst.Call) -> str:
        value = argument(call, 1, "methods")
        if isinstance(value, (cst.List, cst.Tuple)):
            names = [string_value(e.value) for e in value.elements if isinstance(e, cst.Element)]
            return ",".join(n.upper() for n in names if n)
        return ""

    def _server(self, receiver: cst.BaseExpression) -> Server | None:
        name = dotted(receiver)
        return next((s for s in self.ctx.model.servers if s.var and s.var == name), None)

    def _auth_middleware(self, server: Server | None) -> bool:
        servers = [server] if server is not None else self.ctx.model.servers
        return any(sdk.AUTH_UNKNOWN_MIDDLEWARE in s.auth_unknown for s in servers)

    def _privileged(self, function: cst.FunctionDef) -> tuple[str, Confidence] | None:
        tools = {h.function.name.value: h.name for h in self.ctx.model.handlers if h.kind == "tool"}
        best: tuple[str, Confidence] | None = None

        def consider(found: tuple[str, Confidence]) -> None:
            nonlocal best
            if best is None or found[1] > best[1]:
                best = found

        for node in walk.iter_nodes(function.body):
            if not isinstance(node, cst.Call):
                continue
            qualified = self.ctx.qualify(node.func) or ""
            name = qualified.rsplit(".", 1)[-1]
            if qualified in _PRIVILEGED_CALLS:
                consider(_PRIVILEGED_CALLS[qualified])
            elif isinstance(node.func, cst.Attribute) and name in _PRIVILEGED_METHODS:
                consider(_PRIVILEGED_METHODS[name])
            elif isinstance(node.func, cst.Attribute) and name in _DB_METHODS and node.args:
                sql = string_value(node.args[0].value)
                if sql is None and isinstance(node.args[0].value, cst.FormattedString):
                    sql = "".join(p.value for p in node.args[0].value.parts if isinstance(p, cst.FormattedStringText))
                if sql is not None and _SQL_WRITE.search(sql):
                    consider(("changes the database", Confidence.HIGH))
            elif isinstance(node.func, cst.Name) and node.func.value in tools:
                consider((f"calls tool `{tools[node.func.value]}`", Confidence.HIGH))
            elif isinstance(node.func, cst.Name) and node.func.value == "open" and _writes(node):
                consider(("writes files", Confidence.MEDIUM))
            elif _STATE_CHANGING.search(name):
                consider((f"calls `{name}()`", Confidence.MEDIUM))
        return best

    def _checks_auth(self, function: cst.FunctionDef) -> bool:
        for decorator in function.decorators:
            if route_of(decorator) is None:
                expr = decorator.decorator
                name = dotted(expr.func if isinstance(expr, cst.Call) else expr) or ""
                if _AUTH_DECORATOR.search(name.rsplit(".", 1)[-1]):
                    return True
        params = [p.name.value for p in function.params.params]
        request = params[0] if params else "request"
        for node in walk.iter_nodes(function.body):
            if isinstance(node, cst.Call):
                name = (dotted(node.func) or "").rsplit(".", 1)[-1]
                if _AUTH_CALL.search(name):
                    return True
                if name == "get" and node.args and isinstance(node.func, cst.Attribute) and _credential_key(
                        node.args[0].value, node.func.value):
                    return True
            elif isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
                if _credential_key(node.slice[0].slice.value, node.value):
                    return True
            elif isinstance(node, cst.Attribute) and node.attr.value in ("user", "auth"):
                if (dotted(node.value) or "").split(".")[0] == request:
                    return True
        return False


def _credential_key(key: cst.BaseExpression, container: cst.BaseExpression) -> bool:
    """`request.headers["Authorization"]`, `request.query_params.get("token")`."""
    text = string_value(key)
    if text is None:
        return False
    if text.lower() in sdk.AUTH_HEADERS:
        return True
    parts = (dotted(container) or "").split(".")
    return bool(_REQUEST_PARTS.intersection(parts)) and (is_secret_name(text) or text.lower() in ("token", "key", "api_key"))


def _writes(call: cst.Call) -> bool:
    mode = string_value(argument(call, 1, "mode"))
    return mode is not None and any(c in mode for c in "wax+")
