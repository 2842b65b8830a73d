from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk
from mcplint.mcp.model import Server, Transport
from mcplint.rule import Rule

TRANSPORT_LABELS = {
    "sse": "SSE",
    "streamable-http": "streamable HTTP",
    "http": "HTTP",
    "unknown-network": "an HTTP transport chosen at run time",
}

_LOWER = {Confidence.HIGH: Confidence.MEDIUM, Confidence.MEDIUM: Confidence.LOW, Confidence.LOW: Confidence.LOW}


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
    message = "{server} is served over {transport}{bind} with no authentication configured"

    def check_server(self, server: Server) -> None:
        if server.auth == "configured":
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
