import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk, walk
from mcplint.mcp.model import Server, Transport
from mcplint.mcp.names import dotted
from mcplint.rule import Rule
from mcplint.prefilter import containing

TRANSPORT_LABELS = {
    "sse": "SSE",
    "streamable-http": "streamable HTTP",
    "http": "HTTP",
    "unknown-network": "an HTTP transport chosen at run time",
}

_LOWER = {Confidence.HIGH: Confidence.MEDIUM, Confidence.MEDIUM: Confidence.LOW, Confidence.LOW: Confidence.LOW}
_AUTH_KINDS = {"token_verifier": "token verifier", "auth_server_provider": "OAuth provider", "auth": "auth provider"}


def _last_name(expr: cst.BaseExpression) -> str:
    if isinstance(expr, cst.Call):
        expr = expr.func
    return (dotted(expr) or "").rsplit(".", 1)[-1]


def _assigned_calls(module: cst.Module) -> dict[str, cst.Call]:
    """`verifier = JWTVerifier(...)`: names bound to a call, first binding wins."""
    found: dict[str, cst.Call] = {}
    for node in walk.iter_nodes(module):
        if isinstance(node, cst.Assign) and isinstance(node.value, cst.Call):
            for target in node.targets:
                name = dotted(target.target)
                if name:
                    found.setdefault(name, node.value)
    return found


def auth_note(server: Server, module: cst.Module) -> tuple[cst.CSTNode, str]:
    """Where and what the server's auth setting is, for the scorecard's evidence."""
    items = []
    calls: dict[str, cst.Call] | None = None
    for node in server.auth_evidence:
        keyword = node.keyword.value if isinstance(node, cst.Arg) and node.keyword is not None else "auth"
        value = node.value if isinstance(node, cst.Arg) else node
        if isinstance(value, (cst.Name, cst.Attribute)):
            calls = _assigned_calls(module) if calls is None else calls
            value = calls.get(dotted(value) or "", value)
        items.append((keyword != "auth", keyword, node, _last_name(value)))
    items.sort(key=lambda item: not item[0])  # a verifier or provider names the control better than AuthSettings
    _, keyword, node, name = items[0]
    kind = "auth settings" if name == "AuthSettings" else _AUTH_KINDS.get(keyword, "auth provider")
    label = f"server `{server.var}`" if server.var else "the MCP server"
    return node, f"{kind} `{name or keyword}` on {label}" if name else f"`{keyword}=` set on {label}"


def _loopback(transport: Transport) -> bool:
    """Bound to this machine only: an explicit loopback host, or the SDK's 127.0.0.1 default."""
    if transport.host is None:
        return transport.via == "run"  # an app or session manager is bound by whoever serves it
    return transport.host.is_loopback


class NetworkTransportWithoutAuth(Rule):
    """An MCP server is served over SSE or HTTP with no authentication.

    ## What it does
    Reports each network transport of a server (`mcp.run(transport="sse" |
    "streamable-http" | "http")`, `run_sse_async()` and friends, an ASGI app from
    `sse_app()`/`streamable_http_app()`/`http_app()`, a low-level server behind
    `StreamableHTTPSessionManager` or `SseServerTransport`) when the server has no
    `auth=`, `token_verifier=` or `auth_server_provider=`, no `mcp.auth = ...`, and no
    authenticating middleware. stdio is never reported: the client that spawned the
    process is the only peer.

    Confidence is high when the server is reachable from other machines or the bind
    address is unknown, medium when it listens on loopback only (explicitly or by the
    SDK's `127.0.0.1` default), and one step lower for standalone `fastmcp`, whose
    2.x versions can read an auth provider from the `FASTMCP_SERVER_AUTH` variable,
    and for a low-level server handed in as a parameter (its caller may add auth).
    Nothing is reported when the file cannot show the auth settings: they are
    splatted in (`FastMCP(**settings)`), the server object or a subclass of the SDK
    class comes from another module, middleware named for auth wraps the app, or
    the code reads the `Authorization` header itself.

    For the checklist scorecard it records the controls it sees as evidence: the
    token verifier or auth provider a server is given, and authenticating HTTP
    middleware (`Middleware(BearerAuthMiddleware)`, `app.add_middleware(...)`,
    `@app.middleware("http") async def require_api_key`).

    ## Why is this bad?
    Whoever can open a connection can list and call every tool with the server's
    own credentials and file access: other hosts on the network for `0.0.0.0`, and
    for a loopback bind any local process and, through DNS rebinding, web pages
    open in the user's browser. The MCP specification's OAuth 2.1 authorization
    exists for exactly this case; an HTTP server that skips it trusts every caller.

    ## Example
    ```python
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("billing", host="0.0.0.0", port=8000)

    @mcp.tool()
    def refund(order_id: int) -> str:
        return f"refunded {order_id}"

    mcp.run(transport="streamable-http")
    ```

    ## Use instead
    Configure a token verifier (or an OAuth provider) and the resource's auth settings.
    With standalone fastmcp, pass `auth=` a provider such as `JWTVerifier`.
    ```python
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.fastmcp import FastMCP

    from billing.auth import JWTTokenVerifier

    mcp = FastMCP(
        "billing",
        host="0.0.0.0",
        port=8000,
        token_verifier=JWTTokenVerifier(),
        auth=AuthSettings(issuer_url="https://auth.example.com", resource_server_url="https://billing.example.com/mcp"),
    )

    @mcp.tool()
    def refund(order_id: int) -> str:
        return f"refunded {order_id}"

    mcp.run(transport="streamable-http")
    ```

    ## References
    - [CWE-306: Missing Authentication for Critical Function](https://cwe.mitre.org/data/definitions/306.html)
    - [MCP specification: Authorization](https://modelcontextprotocol.io/specification/2025-06-18/basic/authorization)
    - [MCP Python SDK: Authentication](https://github.com/modelcontextprotocol/python-sdk#authentication)
    - [FastMCP: Authentication](https://gofastmcp.com/servers/auth/authentication)
    """

    code = "MCP101"
    name = "network-transport-without-auth"
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    cwe = 306
    checklist = "MCP-C01"
    in_imported_modules = containing(b"middleware", lowercase=True)  # evidence: authenticating middleware
    message = "{server} is served over {transport}{bind} with no authentication configured"

    def check_server(self, server: Server) -> None:
        if server.auth == "configured":
            self.evidence(*auth_note(server, self.ctx.module))
            return
        reasons = set(server.auth_unknown)
        if reasons - {sdk.AUTH_UNKNOWN_FASTMCP_ENV}:
            return  # the auth settings are out of this file's sight
        seen: set[tuple[str, str]] = set()
        for transport in server.network_transports:
            if transport.via == "session-manager":
                # `SseServerTransport(...) if x else SseServerTransport(...)`: one finding
                key = (transport.via, transport.kind)
                if key in seen:
                    continue
                seen.add(key)
            confidence = Confidence.MEDIUM if _loopback(transport) else Confidence.HIGH
            if reasons:
                confidence = _LOWER[confidence]
            if not server.constructed:
                # a low-level server handed in: its caller may wrap the app in auth
                confidence = _LOWER[confidence]
            host = transport.host
            bind = f" on `{host.text}`" if host is not None and host.known else ""
            self.report(
                transport.node,
                confidence=confidence,
                server=f"server `{server.var}`" if server.var else "the MCP server",
                transport=TRANSPORT_LABELS.get(transport.kind, transport.kind),
                bind=bind,
            )

    # Evidence: authenticating HTTP middleware (it makes a server's auth "unknown", not absent).
    def visit_Call(self, node: cst.Call) -> None:
        name = _last_name(node.func)
        if name in ("Middleware", "add_middleware") and node.args:
            middleware = _last_name(node.args[0].value)
        elif "Middleware" in name:
            middleware = name
        else:
            return
        if sdk.AUTH_MIDDLEWARE_HINT.search(middleware):
            self.evidence(node, f"auth middleware `{middleware}`")

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # @app.middleware("http") async def require_api_key(request, call_next)
        for decorator in node.decorators:
            expr = decorator.decorator
            if isinstance(expr, cst.Call) and _last_name(expr.func) == "middleware" \
                    and sdk.AUTH_MIDDLEWARE_HINT.search(node.name.value):
                self.evidence(decorator, f"auth middleware `{node.name.value}`")
