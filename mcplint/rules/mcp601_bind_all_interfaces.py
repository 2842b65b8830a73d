import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.fix import NodeFix, replace
from mcplint.mcp.builder import argument
from mcplint.mcp.model import Server, Value
from mcplint.rule import Rule


class BindAllInterfaces(Rule):
    """An MCP server listens on every network interface (`0.0.0.0` or `::`).

    ## What it does
    Reports a host of `0.0.0.0`, `::` or `""` given to an MCP server that is (or may
    be) served over the network: the constructor's `host=` (official SDK 1.x,
    fastmcp 2.x), `mcp.settings.host = ...`, `run(..., host=)`, `sse_app(host=)` /
    `streamable_http_app(host=)`, and `uvicorn.run(app, host=)` / `uvicorn.Config`
    serving the server's app. The value is followed through local variables, module
    constants, parameter defaults and argparse/click/typer option defaults.

    Severity is high for a literal and medium when `0.0.0.0` is only the fallback
    of a setting (`os.getenv("HOST", "0.0.0.0")`, `args.host or "0.0.0.0"`, an
    option's `default=`). Servers whose every transport in the file is stdio are not
    reported: they open no socket. An explicit loopback bind of a network-served
    server is recorded as evidence for the checklist scorecard.

    The fix rewrites the literal to `127.0.0.1` (`::1` for `::`); it is marked safe
    only for a literal host in a project without a Dockerfile (a default may be what
    deployments rely on, and loopback in a container is unreachable from outside).

    ## Why is this bad?
    A server bound to all interfaces is reachable from every network the machine is
    on: the office LAN, a café's Wi-Fi, a cloud VPC, and the internet if a firewall
    rule slips. MCP servers hold credentials and act on the user's behalf, so they
    should listen on loopback unless a deployment deliberately exposes them (behind
    TLS, authentication and a firewall). Binding wide also loses the official
    SDK's automatic DNS-rebinding protection, which it turns on only for loopback
    hosts.

    ## Example
    ```python
    import uvicorn
    from mcp.server.mcpserver import MCPServer

    mcp = MCPServer("notes")

    @mcp.tool()
    def add_note(text: str) -> str:
        return "saved"

    uvicorn.run(mcp.streamable_http_app(), host="0.0.0.0", port=8000)
    ```

    ## Use instead
    Default to loopback and let the deployment opt in to a wider bind.
    ```python
    import os

    import uvicorn
    from mcp.server.mcpserver import MCPServer

    mcp = MCPServer("notes")

    @mcp.tool()
    def add_note(text: str) -> str:
        return "saved"

    host = os.getenv("MCP_HOST", "127.0.0.1")
    uvicorn.run(mcp.streamable_http_app(), host=host, port=8000)
    ```

    ## References
    - [CWE-1327: Binding to an Unrestricted IP Address](https://cwe.mitre.org/data/definitions/1327.html)
    - [MCP specification: Transports, security warning](https://modelcontextprotocol.io/specification/2025-06-18/basic/transports#security-warning)
    """

    code = "MCP601"
    name = "bind-all-interfaces"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = 1327
    checklist = "MCP-C11"
    in_imported_modules = False  # reports hang off the file's own servers or handlers
    message = "{server} binds {host}, every network interface{how}"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._reported: set[int] = set()
        self._recorded: set[int] = set()
        self._runs_done = False

    def check_server(self, server: Server) -> None:
        if server.stdio_only:
            return
        label = f"server `{server.var}`" if server.var else "the MCP server"
        for value in server.hosts:
            self._check(value, label, Confidence.HIGH)
            if server.network_transports:
                self._loopback(value, label)
        if not self._runs_done:
            # ASGI runners whose app this file does not tie to a server: they most
            # likely serve it (the file holds a server that is not stdio-only).
            self._runs_done = True
            for run in self.ctx.model.asgi_runs:
                if not run.linked:
                    self._check(run.host, "the ASGI app", Confidence.MEDIUM)
                    self._loopback(run.host, "the ASGI app")

    def _loopback(self, value: Value, label: str) -> None:
        """Evidence for the scorecard: an explicit loopback bind."""
        if not value.is_loopback or value.node is None or id(value.node) in self._recorded:
            return
        self._recorded.add(id(value.node))
        self.evidence(value.node, f"{label} listens on loopback `{value.text}`" + (" by default" if value.from_env else ""))

    def _check(self, value: Value, label: str, confidence: Confidence) -> None:
        if not value.is_all_interfaces or value.node is None or id(value.node) in self._reported:
            return
        self._reported.add(id(value.node))
        self.report(
            value.node,
            severity=Severity.MEDIUM if value.from_env else Severity.HIGH,
            confidence=confidence,
            server=label,
            host=f"`{value.text}`" if value.text else "`\"\"`",
            how=" by default" if value.from_env else "",
            fix=loopback_fix(value, self.ctx.project.files),
        )


def loopback_fix(value: Value, project_files) -> "NodeFix | None":
    """The literal host rewritten to loopback. Safe for a literal host outside a
    container image; only a default (deployments may rely on it) or a project with
    a Dockerfile (127.0.0.1 in a container is unreachable from outside) make it unsafe."""
    node = value.node
    if isinstance(node, cst.Call) and value.from_env:  # os.getenv("HOST", "0.0.0.0"): its default
        node = argument(node, 1, "default")
    if not isinstance(node, cst.SimpleString) or node.prefix.lower() not in ("", "u"):
        return None
    loopback = "::1" if ":" in (value.text or "") else "127.0.0.1"
    container = any(p.rsplit("/", 1)[-1].endswith(("Dockerfile", "Containerfile")) for p in project_files)
    new = node.with_changes(value=f"{node.prefix}{node.quote}{loopback}{node.quote}")
    return replace(node, new, f"bind `{loopback}` instead", safe=not value.from_env and not container)

