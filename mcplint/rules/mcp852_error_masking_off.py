import re

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.fix import add_keyword, replace
from mcplint.mcp import sdk, walk
from mcplint.mcp.builder import string_value
from mcplint.mcp.model import Handler, Server
from mcplint.mcp.names import dotted
from mcplint.prefilter import containing, lazy_compile
from mcplint.rule import Rule

TRANSPORT_LABELS = {"sse": "SSE", "streamable-http": "streamable HTTP", "http": "HTTP",
                    "unknown-network": "an HTTP transport chosen at run time"}
MASK_KWARG = "mask_error_details"
MASK_ENV = "FASTMCP_MASK_ERROR_DETAILS"
MASK_SINCE = "2.5.0"  # fastmcp: the switch exists from 2.5.0; default False through 4.x
# Middleware that says it hides error details. (fastmcp's own ErrorHandlingMiddleware
# does not: it re-raises with "Internal error: {error}".)
MASKING_MIDDLEWARE = lazy_compile(r"(?:mask|saniti[sz]|redact|scrub|hide)\w*(?:error|exception)"
                                r"|(?:error|exception)\w*(?:mask|saniti[sz]|redact|scrub)", re.IGNORECASE)
_TRUE = frozenset({"1", "true", "yes", "on"})
_UNKNOWN = frozenset({sdk.AUTH_UNKNOWN_ELSEWHERE, sdk.AUTH_UNKNOWN_SUBCLASS, sdk.AUTH_UNKNOWN_SPLAT,
                      sdk.AUTH_UNKNOWN_PROVIDER})


def _literal_bool(expr: cst.BaseExpression) -> bool | None:
    if isinstance(expr, cst.Name) and expr.value in ("True", "False"):
        return expr.value == "True"
    return None


def catches_everything(handler: Handler) -> bool:
    """The handler's body is one `try` whose `except Exception` (or bare `except`) does not
    re-raise: no exception of its own reaches the SDK's error path."""
    body = handler.function.body
    if not isinstance(body, cst.IndentedBlock):
        return False
    statements = list(body.body)
    if statements and isinstance(statements[0], cst.SimpleStatementLine) and \
            isinstance(statements[0].body[0], cst.Expr) and string_value(statements[0].body[0].value) is not None:
        statements = statements[1:]  # the docstring
    tries = [s for s in statements if isinstance(s, cst.Try)]
    if len(tries) != 1 or statements[-1] is not tries[0]:
        return False
    for except_handler in tries[0].handlers:
        caught = except_handler.type
        names = [e.value for e in caught.elements] if isinstance(caught, cst.Tuple) else [caught]
        if caught is None or any((dotted(n) or "").rsplit(".", 1)[-1] in ("Exception", "BaseException") for n in names):
            return not any(isinstance(n, cst.Raise) for n in walk.iter_nodes(except_handler.body))
    return False


class ErrorMaskingOff(Rule):
    """A network-served MCP server sends the text of unexpected exceptions to clients.

    ## What it does
    Judges each server constructed in the file by what its SDK does with an
    exception a tool did not expect:

    - **official SDK 1.x** (`mcp.server.fastmcp.FastMCP`): wraps every exception as
      `ToolError(f"Error executing tool {name}: {e}")`; there is no switch to mask it;
    - **standalone fastmcp** (2.5 to 4.x): sends the text unless
      `mask_error_details=True` (or the `FASTMCP_MASK_ERROR_DETAILS` setting); the
      default is off. `mask_error_details=False` written out is reported on every
      transport;
    - **low-level `Server`** (1.x and 2.x): turns any exception from a handler into an
      error whose text is `str(e)`;
    - **official SDK 2.x** (`MCPServer`): masks unexpected exceptions by default (only
      `ToolError` text reaches the client); recorded as evidence for MCP-C09, like
      `mask_error_details=True`, `fastmcp.settings.mask_error_details = True`, the
      environment variable set in code or in `fastmcp.json`, or middleware named for
      masking errors.

    Reported once per server, on its first network transport (where MCP101 and
    MCP802 report too), when this file serves it over SSE or HTTP (a stdio server's only client is the local user who started it),
    unless every tool of the server catches `Exception` itself without re-raising
    (then MCP851 judges what they return). Confidence is medium: an unexpected
    exception may carry nothing sensitive, and for fastmcp the environment may set
    `FASTMCP_MASK_ERROR_DETAILS`. The message names the SDK version when the
    project pins it, and says when it is unknown. Nothing is reported when the
    server's settings come from elsewhere (`**settings`, a subclass, a server
    object made in another module). fastmcp's own `ErrorHandlingMiddleware` does
    not count: it re-raises with the error's text.

    For fastmcp, `mcplint fix --unsafe-fixes` adds (or sets) `mask_error_details=True`:
    unsafe because clients then get generic messages where they got details.

    ## Why is this bad?
    Exceptions nobody planned for are the ones that carry internals: a database
    driver's error quotes the SQL and the schema, an `OSError` the server's paths,
    an HTTP client's error the internal URL, with its query string and sometimes a
    key. Over HTTP, whoever can call a tool can provoke them with crafted arguments
    and read the answer. Masking keeps the details in the server's log and gives
    the client a generic message; deliberate messages still go through `ToolError`.

    ## Example
    ```python
    from fastmcp import FastMCP

    mcp = FastMCP("inventory")

    @mcp.tool
    def stock(sku: str) -> int:
        return warehouse.count(sku)

    mcp.run(transport="http", host="0.0.0.0", port=8000)
    ```

    ## Use instead
    Turn masking on, and raise `ToolError` for the messages the client should see.
    (With the official SDK, move to 2.x `MCPServer`, which masks by default.)
    ```python
    from fastmcp import FastMCP

    mcp = FastMCP("inventory", mask_error_details=True)

    @mcp.tool
    def stock(sku: str) -> int:
        return warehouse.count(sku)

    mcp.run(transport="http", host="0.0.0.0", port=8000)
    ```

    ## References
    - [CWE-209: Generation of Error Message Containing Sensitive Information](https://cwe.mitre.org/data/definitions/209.html)
    - [FastMCP: Masking error details](https://gofastmcp.com/servers/tools#error-handling)
    - [MCP Python SDK 2.x migration guide: tool errors](https://github.com/modelcontextprotocol/python-sdk/blob/main/docs/migration.md)
    """

    code = "MCP852"
    name = "error-masking-off"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    cwe = 209
    checklist = "MCP-C09"
    in_imported_modules = containing(b"add_middleware", MASK_KWARG.encode(), lowercase=True)  # evidence: masking middleware, settings
    message = "{server} ({sdk}) {what}"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._pending: list[Server] = []
        self._masked_globally: cst.CSTNode | None = None

    def check_server(self, server: Server) -> None:
        if not server.constructed or server.has_star_kwargs or server.dialect in (sdk.PROVIDER, sdk.INFERRED):
            return
        if _UNKNOWN & set(server.auth_unknown):
            return  # configured out of this file's sight
        if server.dialect == sdk.MCP_V2:
            self.evidence(server.node, "official SDK 2.x masks unexpected exceptions")
            return
        if server.dialect == sdk.FASTMCP:
            arg = server.kwargs.get(MASK_KWARG)
            if arg is not None:
                value = _literal_bool(arg.value)
                if value is True:
                    self.evidence(arg, f"error masking on (`{MASK_KWARG}=True`)")
                elif value is False:
                    self._explicit_off(server, arg)
                return  # a value from configuration: cannot tell
            if self._masking_middleware(server):
                return
        if server.network_transports:
            self._pending.append(server)

    def _masking_middleware(self, server: Server) -> bool:
        middleware = server.kwargs.get("middleware")
        if middleware is None:
            return False
        for node in walk.iter_nodes(middleware.value):
            if not isinstance(node, (cst.Call, cst.Name, cst.Attribute)):
                continue
            name = dotted(node.func if isinstance(node, cst.Call) else node)
            if name and MASKING_MIDDLEWARE.search(name.rsplit(".", 1)[-1]):
                self.evidence(node, f"error-masking middleware `{name}`")
                return True
        return False

    def _explicit_off(self, server: Server, arg: cst.Arg) -> None:
        if server.network_transports:
            served = "served over " + self._transport(server)
        else:
            served = "served over stdio" if server.stdio_only else "transport not shown"
        self.report(
            arg,
            fix=replace(arg.value, cst.Name("True"), f"set `{MASK_KWARG}=True`", safe=False),
            confidence=Confidence.MEDIUM if server.stdio_only else Confidence.HIGH,
            server=self._label(server),
            sdk=self._fastmcp_version(),
            what=f"switches error masking off (`{MASK_KWARG}=False`, {served}): the text of every exception "
                 "a tool raises goes to the client",
        )

    # -- settings made elsewhere in the file ------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            name = dotted(target.target) or ""
            if name.endswith(f"settings.{MASK_KWARG}") and _literal_bool(node.value) is True:
                self._masked_globally = node
            elif isinstance(target.target, cst.Subscript) and dotted(target.target.value) in ("os.environ", "environ"):
                key = target.target.slice[0].slice
                if isinstance(key, cst.Index) and string_value(key.value) == MASK_ENV and \
                        (string_value(node.value) or "").lower() in _TRUE:
                    self._masked_globally = node

    def visit_Call(self, node: cst.Call) -> None:
        if (dotted(node.func) or "").endswith("environ.setdefault") and len(node.args) == 2 and \
                string_value(node.args[0].value) == MASK_ENV and (string_value(node.args[1].value) or "").lower() in _TRUE:
            self._masked_globally = node
        elif isinstance(node.func, cst.Attribute) and node.func.attr.value == "add_middleware" and node.args:
            value = node.args[0].value
            name = dotted(value.func if isinstance(value, cst.Call) else value) or ""
            if MASKING_MIDDLEWARE.search(name.rsplit(".", 1)[-1]):
                self.evidence(node, f"error-masking middleware `{name}`")
                receiver = dotted(node.func.value)
                self._pending = [s for s in self._pending if s.var != receiver]

    def leave_Module(self, original_node: cst.Module) -> None:
        if self._masked_globally is not None:
            self.evidence(self._masked_globally, f"error masking on (`{MASK_ENV}`)")
        for server in self._pending:
            handlers = [h for h in server.handlers if h.kind in ("tool", "resource", "prompt")]
            if handlers and all(catches_everything(h) for h in handlers):
                continue
            if server.dialect == sdk.FASTMCP:
                if self._masked_globally is not None or self._config_masks():
                    continue
                old = self.ctx.project.at_least("fastmcp", MASK_SINCE) is False
                what = (f"is {{served}}, and fastmcp before {MASK_SINCE} has no error masking: the text of every "
                        "unexpected exception goes to the client" if old else
                        f"is {{served}} with `{MASK_KWARG}` at its default (off): the text of every unexpected "
                        f"exception goes to the client, unless `{MASK_ENV}` is set where it runs")
                fix = None if old or not isinstance(server.node, cst.Call) else replace(
                    server.node, add_keyword(server.node, MASK_KWARG, "True"), f"add `{MASK_KWARG}=True`", safe=False)
                self._report(server, what, self._fastmcp_version(), fix)
            elif server.dialect == sdk.MCP_V1:
                self._report(server, "is {served} and sends the text of every exception a tool raises to the "
                                     "client (`Error executing tool ...: {{e}}`); 1.x has no switch to mask it",
                             "official SDK 1.x `FastMCP`")
            elif server.dialect == sdk.LOWLEVEL:
                self._report(server, "is {served} and turns any exception from a handler into an error carrying "
                                     "`str(e)` for the client", "low-level `Server`" + self._mcp_version())

    def _report(self, server: Server, what: str, sdk_label: str, fix=None) -> None:
        self.report(server.network_transports[0].node, server=self._label(server), sdk=sdk_label, fix=fix,
                    what=what.format(served="served over " + self._transport(server)))

    def _config_masks(self) -> bool:
        """`fastmcp.json` setting the variable in its deployment environment."""
        config = self.ctx.project.fastmcp_config or {}
        deployment = config.get("deployment") if isinstance(config, dict) else None
        env = deployment.get("env") if isinstance(deployment, dict) else None
        return isinstance(env, dict) and str(env.get(MASK_ENV, "")).lower() in _TRUE

    @staticmethod
    def _label(server: Server) -> str:
        return f"server `{server.var}`" if server.var else "the MCP server"

    @staticmethod
    def _transport(server: Server) -> str:
        transport = server.network_transports[0]
        return TRANSPORT_LABELS.get(transport.kind, transport.kind)

    def _fastmcp_version(self) -> str:
        version = self.ctx.project.version("fastmcp")
        if version is not None:
            return "fastmcp " + ".".join(map(str, version))
        major = self.ctx.project.major("fastmcp")
        return f"fastmcp {major}.x" if major is not None else "fastmcp, version unknown"

    def _mcp_version(self) -> str:
        version = self.ctx.project.version("mcp")
        return f", mcp {'.'.join(map(str, version))}" if version is not None else ""
