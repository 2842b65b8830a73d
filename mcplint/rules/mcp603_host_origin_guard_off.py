import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk, walk
from mcplint.mcp.builder import call_args, string_value
from mcplint.mcp.model import Server, Transport
from mcplint.mcp.names import dotted
from mcplint.rule import Rule
from mcplint.rules.mcp101_network_transport_without_auth import TRANSPORT_LABELS
from mcplint.files import is_test_path
from mcplint.prefilter import containing
from mcplint.rules.mcp602_dns_rebinding_protection_off import (
    StatementTracker,
    auth_decides,
    host_guard_in_file,
    is_false,
    server_label,
)

_SETTING = "http_host_origin_protection"


def _guard_on(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Name):
        return expr.value == "True"
    return (string_value(expr) or "").lower() == "auto"


class HostOriginGuardOff(Rule, StatementTracker):
    """A fastmcp server is served over HTTP with its Host/Origin guard off.

    ## What it does
    Reports standalone `fastmcp` servers served over HTTP, SSE or streamable HTTP
    (`mcp.run(transport="http")`, `mcp.http_app()`) without
    `host_origin_protection=True` or `"auto"`, and any explicit
    `host_origin_protection=False` or `fastmcp.settings.http_host_origin_protection
    = False`.

    fastmcp always hands the MCP SDK `enable_dns_rebinding_protection=False` and
    relies on its own guard, added in 3.4.3 and **off by default**; earlier versions
    have none. The message says which applies when the project pins fastmcp. The
    guard can also be switched on by the `FASTMCP_HTTP_HOST_ORIGIN_PROTECTION`
    variable (set in `fastmcp.json`'s `deployment.env` it is seen), so a missing
    argument is medium confidence on 3.4.3+ or an unknown version, high below.
    A server run by `fastmcp run` with `fastmcp.json` whose `deployment.transport`
    is HTTP is reported at its constructor. Servers with authentication configured,
    files that add Starlette's `TrustedHostMiddleware`, and stdio servers are not
    reported.

    ## Why is this bad?
    Without a Host/Origin check, a web page the user visits can reach the server
    through DNS rebinding (its domain re-resolved to the server's address) and call
    its tools from the browser, with the user's network position: a server on
    `127.0.0.1` is as reachable as one on the LAN. The MCP transport specification
    requires servers to validate the `Origin` header.

    ## Example
    ```python
    from fastmcp import FastMCP

    mcp = FastMCP("shell-helper")

    @mcp.tool
    def list_dir(path: str) -> list[str]:
        import os
        return os.listdir(path)

    mcp.run(transport="http", host="127.0.0.1", port=8000)
    ```

    ## Use instead
    Turn the guard on (fastmcp 3.4.3+); `"auto"` protects loopback binds and the
    hosts you list.
    ```python
    from fastmcp import FastMCP

    mcp = FastMCP("shell-helper")

    @mcp.tool
    def list_dir(path: str) -> list[str]:
        import os
        return os.listdir(path)

    mcp.run(transport="http", host="127.0.0.1", port=8000, host_origin_protection=True)
    ```

    ## References
    - [CWE-350: Reliance on Reverse DNS Resolution for a Security-Critical Action](https://cwe.mitre.org/data/definitions/350.html)
    - [MCP specification: Transports, security warning (validate Origin)](https://modelcontextprotocol.io/specification/2025-06-18/basic/transports#security-warning)
    - [FastMCP: HTTP deployment](https://gofastmcp.com/deployment/http)
    """

    code = "MCP603"
    name = "host-origin-guard-off"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    cwe = 350
    checklist = "MCP-C11"
    in_imported_modules = containing(sdk.FASTMCP_HOST_GUARD_KWARG.encode())  # the run() keyword, the settings attribute
    message = "{subject} {problem}"

    def visit_Call(self, node: cst.Call) -> None:
        arg = next((a for a in node.args if a.keyword is not None and a.keyword.value == sdk.FASTMCP_HOST_GUARD_KWARG),
                   None)
        if arg is None or is_test_path(self.ctx.path):
            return
        if is_false(arg.value):
            justified = self.justified(self.ctx)
            self.report(
                arg,
                confidence=Confidence.LOW if justified else Confidence.HIGH,
                subject="`host_origin_protection=False`",
                problem="switches fastmcp's Host/Origin guard off: any web page can reach the server through DNS "
                        "rebinding" + (" (a comment says another layer checks it)" if justified else ""),
            )
        elif _guard_on(arg.value):
            self.evidence(arg, f"fastmcp Host/Origin guard on (`host_origin_protection={self.ctx.code_for(arg.value)}`)")

    def visit_Assign(self, node: cst.Assign) -> None:
        # fastmcp.settings.http_host_origin_protection = False
        if not any((dotted(t.target) or "").endswith("settings." + _SETTING) for t in node.targets):
            return
        if is_test_path(self.ctx.path):
            return
        if is_false(node.value):
            self.report(node, subject=f"`settings.{_SETTING} = False`", confidence=Confidence.HIGH,
                        problem="switches fastmcp's Host/Origin guard off for every HTTP server of the process")
        elif _guard_on(node.value):
            self.evidence(node, f"fastmcp Host/Origin guard on (`settings.{_SETTING}`)")

    def check_server(self, server: Server) -> None:
        if server.dialect != sdk.FASTMCP or auth_decides(server):
            return
        if is_test_path(self.ctx.path):
            return
        if self._configured_elsewhere():
            return
        if not server.network_transports:
            deployment = self._deployment_for(server)
            if deployment is not None:
                transport = Transport(kind=str(deployment.get("transport")), node=server.node, via="run")
                self._report_default(server, transport, by_config=True)
            return
        for transport in server.network_transports:
            call = transport.node
            if not isinstance(call, cst.Call):
                continue
            _, keywords, star = call_args(call)
            if star or sdk.FASTMCP_HOST_GUARD_KWARG in keywords:
                continue
            self._report_default(server, transport)

    def _deployment_for(self, server: Server) -> dict | None:
        """fastmcp.json's `deployment` when it serves this server over HTTP (`fastmcp run`)."""
        config = self.ctx.project.fastmcp_config
        where = self.ctx.project.fastmcp_config_path or ""
        deployment = config.get("deployment") if isinstance(config, dict) else None
        source = config.get("source") if isinstance(config, dict) else None
        if not isinstance(deployment, dict) or deployment.get("transport") not in sdk.NETWORK_TRANSPORTS:
            return None
        if not isinstance(source, dict) or not isinstance(source.get("path"), str):
            return None
        path, _, entrypoint = source["path"].partition(":")
        entrypoint = source.get("entrypoint") or entrypoint
        folder = where.rpartition("/")[0]
        parts = [p for p in (folder + "/" + path if folder else path).split("/") if p not in ("", ".")]
        if "/".join(parts) != self.ctx.path:
            return None
        if entrypoint and entrypoint != server.var or not entrypoint and server.var not in ("mcp", "server", "app"):
            return None
        return deployment

    def _report_default(self, server: Server, transport: Transport, by_config: bool = False) -> None:
        project = self.ctx.project
        has_guard = project.at_least("fastmcp", sdk.FASTMCP_HOST_GUARD_SINCE)
        major = project.major("fastmcp")
        if has_guard is None and major is not None:
            has_guard = True if major > 3 else (False if major < 3 else None)
        version = project.version("fastmcp")
        shown = f"fastmcp {'.'.join(map(str, version))}" if version else "this fastmcp"
        if has_guard is False:
            confidence = Confidence.HIGH
            why = (f"{shown} has no Host/Origin guard (added in {sdk.FASTMCP_HOST_GUARD_SINCE}) and switches the "
                   "SDK's DNS-rebinding protection off")
        elif has_guard:
            confidence = Confidence.MEDIUM
            why = ("fastmcp's guard is off by default and switches the SDK's DNS-rebinding protection off; pass "
                   "`host_origin_protection=True` (or set FASTMCP_HTTP_HOST_ORIGIN_PROTECTION)")
        else:
            confidence = Confidence.MEDIUM
            why = (f"fastmcp's guard is off by default (fastmcp version unknown: the guard exists from "
                   f"{sdk.FASTMCP_HOST_GUARD_SINCE}) and the SDK's DNS-rebinding protection is switched off")
        host = transport.host
        bind = f" on `{host.text}`" if host is not None and host.known else ""
        if by_config:
            bind = " by `fastmcp.json`'s deployment"
        self.report(
            transport.node,
            confidence=confidence,
            subject=f"{server_label(server)} served over {TRANSPORT_LABELS.get(transport.kind, transport.kind)}{bind}",
            problem=f"checks no `Host` or `Origin` header: {why}",
        )

    def _configured_elsewhere(self) -> bool:
        """TrustedHostMiddleware in the file, the setting assigned, or the variable in fastmcp.json."""
        if "_elsewhere" in self.__dict__:
            return self._elsewhere
        found = host_guard_in_file(self.ctx) is not None or any(
            isinstance(node, cst.Assign) and _guard_on(node.value)
            and any((dotted(t.target) or "").endswith("settings." + _SETTING) for t in node.targets)
            for node in walk.iter_nodes(self.ctx.module)
        )
        config = self.ctx.project.fastmcp_config or {}
        deployment = config.get("deployment") if isinstance(config, dict) else None
        env = deployment.get("env") if isinstance(deployment, dict) else None
        if isinstance(env, dict) and str(env.get(sdk.FASTMCP_HOST_GUARD_ENV, "")).lower() in ("true", "1", "auto", "yes"):
            found = True
        self._elsewhere = found
        return found
