
import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk
from mcplint.mcp.builder import argument, call_args, string_value
from mcplint.mcp.model import Server, Transport, Value
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule

# uvicorn.run / uvicorn.Config keywords that turn TLS on.
TLS_KEYWORDS = frozenset({"ssl_certfile", "ssl_keyfile"})
UVICORN = frozenset({"uvicorn.run", "uvicorn.Config", "uvicorn.config.Config"})
CONTAINER_FILE = lazy_compile(r"(?:^|/)(?:[^/]*\.)?(?:Dockerfile|Containerfile)(?:\.[^/]*)?$|(?:^|/)(?:docker-)?compose[^/]*\.ya?ml$")
TRANSPORT_LABEL = {"sse": "SSE", "streamable-http": "streamable HTTP", "http": "HTTP",
                   "unknown-network": "an HTTP transport"}


class HttpTransportWithoutTls(Rule):
    """An MCP server is served over plain HTTP on a non-loopback address.

    ## What it does
    Reports an MCP server whose SSE or (streamable) HTTP transport listens on an
    address other than loopback (`0.0.0.0`, `::`, a LAN address or host name) with no
    TLS in the code that serves it: `mcp.run(transport="http", host="0.0.0.0")` (the
    official SDK's `run()` cannot serve TLS; fastmcp's only through
    `uvicorn_config={"ssl_certfile": ...}`), or `uvicorn.run(app, host=...)` /
    `uvicorn.Config(...)` without `ssl_certfile`/`ssl_keyfile`.

    Confidence is medium for a literal host and low when the host is only a default
    (`os.getenv("HOST", "0.0.0.0")`), when the app is not tied to the server in the
    file, or when the project ships a Dockerfile or compose file: TLS is often
    terminated at a reverse proxy, ingress or load balancer, which the code cannot
    show. `uvicorn` given `ssl_certfile` is recorded as evidence for the item.

    ## Why is this bad?
    Everything an MCP client sends travels in clear text: bearer tokens and API keys
    in headers, tool arguments, and the data tools return. Anyone on the network
    path can read them, and can rewrite tool results to steer the agent.

    ## Example
    ```python
    from fastmcp import FastMCP

    mcp = FastMCP("files")

    @mcp.tool()
    def read_note(name: str) -> str:
        return "..."

    if __name__ == "__main__":
        mcp.run(transport="http", host="0.0.0.0", port=8000)
    ```

    ## Use instead
    Serve TLS yourself, or listen on loopback behind a proxy that terminates it.
    ```python
    from fastmcp import FastMCP

    mcp = FastMCP("files")

    @mcp.tool()
    def read_note(name: str) -> str:
        return "..."

    if __name__ == "__main__":
        mcp.run(
            transport="http",
            host="0.0.0.0",
            port=8443,
            uvicorn_config={"ssl_certfile": "/etc/mcp/tls/cert.pem", "ssl_keyfile": "/etc/mcp/tls/key.pem"},
        )
    ```

    ## References
    - [CWE-319: Cleartext Transmission of Sensitive Information](https://cwe.mitre.org/data/definitions/319.html)
    - [MCP specification: Security Best Practices](https://modelcontextprotocol.io/specification/2025-06-18/basic/security_best_practices)
    - [Uvicorn: HTTPS settings](https://www.uvicorn.org/settings/#https)
    """

    code = "MCP704"
    name = "http-transport-without-tls"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    cwe = 319
    checklist = "MCP-C05"
    in_imported_modules = False  # reports hang off the file's own servers or handlers
    message = ("{server} serves {transport} on `{host}` without TLS; serve TLS (`ssl_certfile`/`ssl_keyfile`), "
               "or make sure a reverse proxy terminates it if that is how it is deployed{note}")

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._done: set[int] = set()
        self._runs_done = False

    def check_server(self, server: Server) -> None:
        if server.stdio_only:
            return
        label = f"server `{server.var}`" if server.var else "the MCP server"
        for transport in server.network_transports:
            self._check(transport, label)
        if not self._runs_done:
            # ASGI runners this file does not tie to a server most likely serve it
            self._runs_done = True
            for run in self.ctx.model.asgi_runs:
                if not run.linked:
                    self._judge(run.node, run.host, label if len(self.ctx.model.servers) == 1 else "the ASGI app",
                                "an HTTP transport", Confidence.LOW)

    def _check(self, transport: Transport, label: str) -> None:
        runner = transport.runner
        if transport.via == "run":
            node = transport.node
        elif runner is not None:
            node = runner
        else:
            return  # an app served out of sight: the server that runs it decides
        host = transport.host
        if host is None:
            return  # run() and uvicorn default to 127.0.0.1
        kind = TRANSPORT_LABEL.get(transport.kind, transport.kind)
        confidence = Confidence.LOW if transport.kind == "unknown-network" else Confidence.MEDIUM
        self._judge(node, host, label, kind, confidence)

    def _judge(self, node: cst.CSTNode, host: Value, label: str, kind: str, confidence: Confidence) -> None:
        if id(node) in self._done or not isinstance(node, cst.Call):
            return
        self._done.add(id(node))
        tls = self._tls(node)
        if tls:
            self.evidence(node, f"served with TLS ({tls})")
            return
        if tls is None or host.text is None or host.is_loopback:
            return
        note = ""
        if host.from_env:
            confidence = Confidence.LOW
        if any(CONTAINER_FILE.search(path) for path in self.ctx.project.files):
            # in a container, TLS usually ends at the ingress in front of it
            confidence, note = Confidence.LOW, " (the project ships a container image: check its ingress)"
        self.report(node, confidence=confidence, server=label, transport=kind, host=host.text or '""', note=note)

    def _tls(self, call: cst.Call) -> str | None | bool:
        """The TLS setting of a serving call (a note), False when it has none, None when
        it cannot be told (settings passed with `**`, a config object)."""
        _, keywords, star = call_args(call)
        qualified = self.ctx.qualify(call.func) or ""
        if qualified in UVICORN:
            found = sorted(TLS_KEYWORDS & keywords.keys())
            if found:
                return f"uvicorn `{found[0]}`"
            return None if star else False
        if qualified in sdk.ASGI_RUNNERS:
            return None  # hypercorn: TLS lives in its Config object
        # server.run(...) / run_http_async(...): fastmcp passes uvicorn_config to uvicorn
        config = argument(call, None, "uvicorn_config")
        if config is not None:
            if not isinstance(config, cst.Dict):
                return None
            keys = {string_value(e.key) for e in config.elements if isinstance(e, cst.DictElement)}
            if any(isinstance(e, cst.StarredDictElement) for e in config.elements):
                return None
            found = sorted(TLS_KEYWORDS & keys)
            return f"uvicorn `{found[0]}`" if found else False
        return None if star else False
