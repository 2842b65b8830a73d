import re

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk, walk
from mcplint.mcp.builder import call_args, is_none
from mcplint.mcp.model import Server, Transport, Value
from mcplint.mcp.names import dotted
from mcplint.prefilter import containing, lazy_compile
from mcplint.rule import Rule
from mcplint.rules.mcp101_network_transport_without_auth import TRANSPORT_LABELS
from mcplint.files import is_test_path

# A comment saying another layer checks the Host header: the opt-out is deliberate.
_JUSTIFIED = lazy_compile(
    r"#[^\n]*\b(?:proxy|gateway|ingress|load[ -]?balancer|behind|nginx|envoy|traefik|caddy|cloudflare|upstream"
    r"|sidecar|middleware|guard|handled|checked (?:by|in|at)|owns?)\b",
    re.IGNORECASE,
)


class StatementTracker:
    """Mixin: the simple statement being visited (its code carries the comments)."""

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.__dict__.setdefault("_statements", []).append(node)

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        self.__dict__["_statements"].pop()

    def justified(self, ctx) -> bool:
        """Does a comment on (or just above) the current statement explain the opt-out?"""
        statements = self.__dict__.get("_statements") or []
        return bool(statements) and _JUSTIFIED.search(ctx.code_for(statements[-1])) is not None


def is_false(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "False"


def server_label(server: Server) -> str:
    return f"server `{server.var}`" if server.var else "the MCP server"


def host_value(server: Server, expr: cst.BaseExpression) -> Value | None:
    """The builder's reading of a `host=` argument of this server."""
    return next((v for v in server.hosts if v.site is expr), None)


def auth_decides(server: Server) -> bool:
    """Auth is configured, or out of sight: a rebound page cannot present a token."""
    return server.auth == "configured" or bool(set(server.auth_unknown) - {sdk.AUTH_UNKNOWN_FASTMCP_ENV})


def host_guard_in_file(ctx) -> cst.CSTNode | None:
    """`TrustedHostMiddleware` used anywhere in the file (`Middleware(...)`,
    `add_middleware(...)`, a direct wrap): the Host header is pinned."""
    for node in walk.iter_nodes(ctx.module):
        if isinstance(node, cst.Call):
            for expr in (node.func, *(a.value for a in node.args[:1])):
                if (ctx.qualify(expr) or "") in sdk.TRUSTED_HOST_MIDDLEWARE:
                    return node
    return None


class DnsRebindingProtectionOff(Rule, StatementTracker):
    """The official SDK's DNS-rebinding protection is off for an HTTP-served server.

    ## What it does
    Reports, for servers of the official SDK (`FastMCP` 1.x, `MCPServer` 2.x, the
    low-level `Server`):

    - `TransportSecuritySettings(enable_dns_rebinding_protection=False)`, anywhere;
    - a server served over SSE or streamable HTTP on a non-loopback host with no
      `transport_security=`: the SDK switches the Host/Origin check on by itself only
      for `127.0.0.1`, `localhost` and `::1` (1.x decides from the constructor's
      `host=`, 2.x from `run()`/`*_app()`'s `host=`);
    - a 1.x server on a loopback host when the project pins `mcp` below 1.23.0,
      where the check was never on by default (GHSA-9h52-p55h-vw2f);
    - a low-level `StreamableHTTPSessionManager` or `SseServerTransport` built
      without `security_settings=`: it then checks no header on any host.

    Servers whose authentication is configured (or out of the file's sight) are not
    reported for a missing setting: a page that rebinds a name to the server cannot
    present its bearer token. An explicit opt-out with a comment that names the
    layer doing the check instead (a proxy, a gateway) is low confidence. fastmcp
    servers are judged by MCP603.

    ## Why is this bad?
    DNS rebinding lets a web page the user opens talk to a server on their machine
    or network: the attacker's domain first resolves to their own host, then to the
    MCP server's address, and the browser, seeing the same origin, lets the page's
    script call it. Checking the `Host` and `Origin` headers is the defence; without
    it, any site can list and call the tools of an unauthenticated HTTP server the
    user can reach. The MCP transport specification requires servers to validate
    `Origin`.

    ## Example
    ```python
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("files", host="0.0.0.0", port=8000)

    @mcp.tool()
    def read_note(name: str) -> str:
        return open(f"/srv/notes/{name}.md").read()

    mcp.run(transport="streamable-http")
    ```

    ## Use instead
    Name the hosts and origins the server answers to.
    ```python
    from mcp.server.fastmcp import FastMCP
    from mcp.server.transport_security import TransportSecuritySettings

    mcp = FastMCP(
        "files",
        host="0.0.0.0",
        port=8000,
        transport_security=TransportSecuritySettings(
            allowed_hosts=["notes.internal.example.com"],
            allowed_origins=["https://notes.internal.example.com"],
        ),
    )

    @mcp.tool()
    def read_note(name: str) -> str:
        return open(f"/srv/notes/{name}.md").read()

    mcp.run(transport="streamable-http")
    ```

    ## References
    - [CWE-350: Reliance on Reverse DNS Resolution for a Security-Critical Action](https://cwe.mitre.org/data/definitions/350.html)
    - [MCP specification: Transports, security warning (validate Origin)](https://modelcontextprotocol.io/specification/2025-06-18/basic/transports#security-warning)
    - [GHSA-9h52-p55h-vw2f: DNS rebinding protection not enabled by default (mcp < 1.23.0)](https://github.com/modelcontextprotocol/python-sdk/security/advisories/GHSA-9h52-p55h-vw2f)
    """

    code = "MCP602"
    name = "dns-rebinding-protection-off"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 350
    checklist = "MCP-C11"
    in_imported_modules = containing(b"TransportSecuritySettings")
    message = "{subject} {problem}"

    def visit_Call(self, node: cst.Call) -> None:
        if (self.ctx.qualify(node.func) or "") != sdk.TRANSPORT_SECURITY_CLASS or is_test_path(self.ctx.path):
            return
        _, keywords, star = call_args(node)
        arg = keywords.get("enable_dns_rebinding_protection")
        if arg is not None and is_false(arg.value):
            justified = self.justified(self.ctx)
            self.report(
                arg,
                confidence=Confidence.LOW if justified else Confidence.HIGH,
                subject="`TransportSecuritySettings`",
                problem="switches DNS-rebinding protection off: the server accepts any `Host` and `Origin`"
                + (" (a comment says another layer checks them)" if justified else ""),
            )
        elif not star and (arg is None or (isinstance(arg.value, cst.Name) and arg.value.value == "True")):
            self.evidence(node, "DNS-rebinding protection on (`TransportSecuritySettings`)")

    def check_server(self, server: Server) -> None:
        if server.dialect == sdk.FASTMCP or auth_decides(server) or not server.network_transports:
            return
        if is_test_path(self.ctx.path):
            return
        if self._host_guard() is not None or self._settings_assigned():
            return
        if server.dialect == sdk.MCP_V1:
            self._v1(server)
            return
        seen: set[str] = set()
        secured = {t.kind for t in server.network_transports if t.via == "session-manager" and _has(t, "security_settings")}
        for transport in server.network_transports:
            if transport.via == "session-manager":
                if transport.kind in secured or transport.kind in seen:
                    continue
                seen.add(transport.kind)
                self._session_manager(server, transport)
            elif server.dialect in (sdk.MCP_V2, sdk.LOWLEVEL):
                self._v2(server, transport)

    def _v1(self, server: Server) -> None:
        setting = server.kwargs.get("transport_security")
        if server.has_star_kwargs or (setting is not None and not is_none(setting.value)):
            return
        arg = server.kwargs.get("host")
        value = host_value(server, arg.value) if arg is not None else Value("127.0.0.1")
        if value is None or not value.known:
            return
        project = self.ctx.project
        version = project.version("mcp")
        shown = ".".join(map(str, version)) if version else ""
        if value.is_loopback:
            if project.at_least("mcp", sdk.DNS_REBINDING_AUTO_SINCE) is not False:
                return  # protected by default, or the version is unknown
            problem = (f"has DNS-rebinding protection off: mcp {shown} enables it for loopback hosts only since "
                       f"{sdk.DNS_REBINDING_AUTO_SINCE}, and no `transport_security=` is set")
            if not project.at_least("mcp", sdk.DNS_REBINDING_SINCE):
                problem = (f"has no DNS-rebinding protection: mcp {shown} predates `TransportSecuritySettings` "
                           f"({sdk.DNS_REBINDING_SINCE})")
            self.report(server.node, subject=server_label(server), problem=problem)
            return
        if project.at_least("mcp", sdk.DNS_REBINDING_SINCE) is False:
            self.report(server.node, subject=f"{server_label(server)} on `{value.text}`",
                        problem=f"has no DNS-rebinding protection: mcp {shown} predates `TransportSecuritySettings` "
                                f"({sdk.DNS_REBINDING_SINCE})")
            return
        self._non_loopback(server, server.node, value, "`transport_security=` in the constructor")

    def _v2(self, server: Server, transport: Transport) -> None:
        call = transport.node
        if not isinstance(call, cst.Call) or transport.via not in ("run", "app"):
            return
        _, keywords, star = call_args(call)
        if star or ("transport_security" in keywords and not is_none(keywords["transport_security"].value)):
            return
        if "host" not in keywords:
            return  # the SDK's default host is 127.0.0.1: protection on
        value = host_value(server, keywords["host"].value)
        if value is not None and value.known and not value.is_loopback:
            self._non_loopback(server, call, value, "`transport_security=`")

    def _non_loopback(self, server: Server, node: cst.CSTNode, value: Value, where: str) -> None:
        host = value.text if value.text else '""'
        how = " by default" if value.from_env else ""
        self.report(
            node,
            confidence=Confidence.MEDIUM if value.from_env else Confidence.HIGH,
            subject=f"{server_label(server)} on `{host}`{how}",
            problem=f"has DNS-rebinding protection off: the SDK enables it only for loopback hosts, and no {where} "
                    "names the allowed hosts",
        )

    def _session_manager(self, server: Server, transport: Transport) -> None:
        done = self.__dict__.setdefault("_done", set())
        if id(transport.node) in done:
            return  # one wrapper the file attaches to several low-level servers
        done.add(id(transport.node))
        name = (dotted(transport.node.func) or "").rsplit(".", 1)[-1] if isinstance(transport.node, cst.Call) else ""
        self.report(
            transport.node,
            confidence=Confidence.MEDIUM,
            subject=f"`{name or 'the session manager'}` serving {server_label(server)} over "
                    f"{TRANSPORT_LABELS.get(transport.kind, transport.kind)}",
            problem="has no `security_settings=`: it then checks no `Host` or `Origin` header on any host",
        )

    def _host_guard(self) -> cst.CSTNode | None:
        if "_guard" not in self.__dict__:
            self._guard = host_guard_in_file(self.ctx)
        return self._guard

    def _settings_assigned(self) -> bool:
        """`mcp.settings.transport_security = ...` somewhere in the file."""
        cache = self.__dict__.get("_assigned")
        if cache is None:
            cache = self._assigned = any(
                isinstance(node, cst.Assign) and any(
                    (dotted(t.target) or "").endswith(".transport_security") for t in node.targets)
                for node in walk.iter_nodes(self.ctx.module)
            )
        return cache


def _has(transport: Transport, keyword: str) -> bool:
    if not isinstance(transport.node, cst.Call):
        return False
    _, keywords, star = call_args(transport.node)
    return star or keyword in keywords
