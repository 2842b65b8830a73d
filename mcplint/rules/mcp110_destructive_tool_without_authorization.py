import re

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk, walk
from mcplint.mcp.builder import argument, node_source
from mcplint.mcp.effects import effect_confidence, registration_call, strongest, tool_effects
from mcplint.mcp.model import Handler, Server, Transport
from mcplint.mcp.names import dotted
from mcplint.prefilter import containing, lazy_compile
from mcplint.rule import Rule

# Calls that read the caller's identity or check a permission inside a tool.
TOKEN_READERS = frozenset({"get_access_token", "get_access_token_claims", "CurrentAccessToken", "TokenClaim"})
AUTHZ_CALL = lazy_compile(
    r"(?:^|_)(?:authori[sz]e\w*|(?:check|require|requires|ensure|verify|assert|has|enforce)_?"
    r"(?:scopes?|permissions?|perms?|roles?|access|admin|authori[sz]\w*|allowed|acl)"
    r"|can_(?:delete|write|edit|modify|access|admin|manage|execute|run|create|update|remove)\w*"
    r"|is_(?:admin|allowed|authori[sz]ed|permitted|owner)|require_scopes|require_roles|restrict_tag)$",
    re.IGNORECASE,
)
# Attributes of a token or user that a permission test reads.
AUTHZ_ATTRS = frozenset({"scopes", "scope", "roles", "permissions", "claims", "groups"})
# Decorators stacked on a tool that guard it (`@require_scope("admin")`, `@requires_auth`).
AUTHZ_DECORATOR = lazy_compile(r"auth|permission|perm_|scope|role|admin|acl|rbac|guard|protect|login_required",
                             re.IGNORECASE)
# Middleware that authorizes every call (fastmcp's `AuthMiddleware(auth=require_scopes(...))`);
# authentication-only middleware (bearer/JWT/API key) does not scope clients.
AUTHZ_MIDDLEWARE = lazy_compile(r"(?:Auth|Authori[sz]ation|Permission|Scope|Rbac|RBAC|Acl|ACL|AccessControl|Policy)"
                              r"\w*Middleware$")
AUTHN_ONLY = lazy_compile(r"Bearer|Token|Jwt|JWT|OAuth|ApiKey|APIKey|Authentication", re.IGNORECASE)
NETWORK_DEPLOYMENTS = frozenset({"http", "sse", "streamable-http"})


def _loopback(transport: Transport) -> bool:
    if transport.host is None:
        return transport.via == "run"  # the SDK's 127.0.0.1 default; an app is bound by whoever serves it
    return transport.host.is_loopback


class DestructiveToolWithoutAuthorization(Rule):
    """A network-served tool deletes, writes or runs commands with no authorization check.

    ## What it does
    For servers this file serves over HTTP or SSE (or that `fastmcp.json` deploys over
    HTTP), reports each tool whose code, or a function of the same file it calls,
    deletes, writes or runs commands (`shutil.rmtree`, `open(p, "w")`, `DELETE`/`UPDATE`
    SQL, HTTP `DELETE`/`PUT`, `subprocess.run(cmd)`, `kubectl delete`, ...) when nothing
    on the tool's path checks what the caller may do:

    - no per-tool check where it is registered (fastmcp 3+: `@mcp.tool(auth=require_scopes("admin"))`);
    - no guard decorator stacked on it (`@require_scope(...)`, `@requires_auth`, `@admin_only`);
    - no read of the caller's token or permissions in its body (`get_access_token()`,
      `CurrentAccessToken()`/`TokenClaim()` parameters, `token.scopes`, `claims`,
      `check_permission(...)`, `has_role(...)`, `authorize(...)`);
    - no authorization middleware on the server (fastmcp `AuthMiddleware`, or middleware
      named for permissions, scopes, roles or access control).

    stdio servers are not reported: the one client that started the process acts with
    the user's own rights, and there is no second client to scope (fastmcp's own
    `AuthMiddleware` skips stdio for this reason). Servers whose transport is chosen
    in another module are not judged. Confidence is high for a known API in the
    tool's body, medium in a helper, low when only a method's name says it changes
    something (`client.delete_issue`), and one step lower for each of: the server
    listens on loopback only, it requires token scopes for every call
    (`required_scopes=`), or its auth is configured out of this file's sight. Calls
    into the MCP context and server objects (`ctx.session.create_message()`,
    `mcp.remove_tool()`) are not effects; helpers in other modules are not followed.

    ## Why is this bad?
    Authentication says who is calling; it does not limit what they may do. On a
    shared HTTP server every authenticated client — and every agent working for
    them, including one that read a prompt injection — can call every tool, so a
    token meant for reading can delete. Checking a scope or role on each tool that
    changes something confines the damage of a leaked token or a misled agent to
    what that client was granted.

    ## Example
    ```python
    import os
    import shutil

    from fastmcp import FastMCP
    from fastmcp.server.auth.providers.jwt import JWTVerifier

    mcp = FastMCP("builds", auth=JWTVerifier(jwks_uri="https://id.example.com/jwks", issuer="https://id.example.com",
                                             audience="builds"))

    @mcp.tool
    def purge_cache(project: str) -> str:
        shutil.rmtree(os.path.join("/srv/cache", os.path.basename(project)))
        return "purged"

    app = mcp.http_app()  # served by uvicorn behind the team's proxy
    ```

    ## Use instead
    Require a scope for the tools that change things.
    ```python
    import os
    import shutil

    from fastmcp import FastMCP
    from fastmcp.server.auth import require_scopes
    from fastmcp.server.auth.providers.jwt import JWTVerifier

    mcp = FastMCP("builds", auth=JWTVerifier(jwks_uri="https://id.example.com/jwks", issuer="https://id.example.com",
                                             audience="builds"))

    @mcp.tool(auth=require_scopes("builds:admin"))
    def purge_cache(project: str) -> str:
        shutil.rmtree(os.path.join("/srv/cache", os.path.basename(project)))
        return "purged"

    app = mcp.http_app()  # served by uvicorn behind the team's proxy
    ```

    ## References
    - [CWE-862: Missing Authorization](https://cwe.mitre.org/data/definitions/862.html)
    - [MCP specification: Authorization (scopes)](https://modelcontextprotocol.io/specification/2025-06-18/basic/authorization)
    - [FastMCP: Authorization](https://gofastmcp.com/servers/authorization)
    """

    code = "MCP110"
    name = "destructive-tool-without-authorization"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = 862
    checklist = "MCP-C02"
    in_imported_modules = containing(b"Middleware")  # evidence: authorization middleware
    message = "{handler} {effect} with no authorization check, on a server served over {transport}"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._candidates: list[tuple[Handler, tuple[str, bool]]] = []
        self._server_wide = False
        self._scopes_required = False

    def check_handler(self, handler: Handler) -> None:
        if handler.kind != "tool" or handler.server is None:
            return
        transport = self._network(handler.server)
        if transport is None:
            return
        check = self._per_tool_check(handler)
        if check is not None:
            node, note = check
            self.evidence(node, f"{note} on {handler.label}")
            return
        self._candidates.append((handler, transport))

    def visit_Call(self, node: cst.Call) -> None:
        name = (dotted(node.func) or "").rsplit(".", 1)[-1]
        if AUTHZ_MIDDLEWARE.search(name) and not AUTHN_ONLY.search(name):
            self._server_wide = True
            self.evidence(node, f"authorization middleware `{name}`")
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "required_scopes" and \
                    not (isinstance(arg.value, cst.Name) and arg.value.value == "None"):
                self._scopes_required = True  # every token needs them: coarse, but a check

    def leave_Module(self, original_node: cst.Module) -> None:
        if self._server_wide:
            return
        for handler, (transport, local) in self._candidates:
            effect = strongest(tool_effects(self.ctx, handler))
            if effect is None:
                continue
            confidence = effect_confidence(effect)
            hidden = set(handler.server.auth_unknown) - {sdk.AUTH_UNKNOWN_FASTMCP_ENV}  # env auth only authenticates
            if self._scopes_required or (hidden and not handler.server.auth_evidence):
                confidence = confidence.lowered()
            if local:
                confidence = confidence.lowered()
                transport += " on loopback"
            node = effect.node if effect.via is None else handler.function.name
            self.report(node, in_handler=handler, handler_level=True, confidence=confidence,
                        effect=effect.describe(), transport=transport)

    # -- is the server reachable by other clients? ----------------------------------------
    def _network(self, server: Server) -> tuple[str, bool] | None:
        """How the server is served over the network, and whether only this machine reaches it."""
        transports = server.network_transports
        if transports:
            label = {"sse": "SSE", "streamable-http": "streamable HTTP", "http": "HTTP"}.get(transports[0].kind, "HTTP")
            return label, all(_loopback(t) for t in transports)
        config = self.ctx.project.fastmcp_config
        if server.dialect == sdk.FASTMCP and isinstance(config, dict):
            deployment = config.get("deployment")
            kind = deployment.get("transport") if isinstance(deployment, dict) else None
            if kind in NETWORK_DEPLOYMENTS:
                host = deployment.get("host")
                return f"{kind} (fastmcp.json)", host in sdk.LOOPBACK_HOSTS or host is None
        return None

    # -- checks ----------------------------------------------------------------------------
    def _per_tool_check(self, handler: Handler) -> tuple[cst.CSTNode, str] | None:
        call = registration_call(handler)
        auth = argument(call, None, "auth") if call is not None else None
        if auth is not None and not (isinstance(auth, cst.Name) and auth.value == "None"):
            return auth, f"per-tool authorization `auth={_short(auth)}`"
        for decorator in handler.function.decorators:
            if decorator is handler.registration:
                continue
            expr = decorator.decorator
            name = dotted(expr.func if isinstance(expr, cst.Call) else expr) or ""
            if AUTHZ_DECORATOR.search(name.rsplit(".", 1)[-1]):
                return decorator, f"authorization decorator `@{name}`"
        for param in handler.params:
            default = param.node.default
            if param.injected and isinstance(default, cst.Call) and \
                    (dotted(default.func) or "").rsplit(".", 1)[-1] in TOKEN_READERS:
                return param.node, f"access token injected (`{param.name}`)"
        called = {id(n.func) for n in walk.iter_nodes(handler.function.body) if isinstance(n, cst.Call)}
        for node in walk.iter_nodes(handler.function.body):
            if isinstance(node, cst.Call):
                name = (dotted(node.func) or "").rsplit(".", 1)[-1]
                if name in TOKEN_READERS:
                    return node, f"access token read (`{name}()`)"
                if AUTHZ_CALL.search(name):
                    return node, f"permission check `{name}()`"
            elif isinstance(node, cst.Attribute) and node.attr.value in AUTHZ_ATTRS and id(node) not in called:
                return node, f"permission test on `{dotted(node) or node.attr.value}`"
        return None


def _short(node: cst.CSTNode, limit: int = 40) -> str:
    text = " ".join(node_source(node).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
