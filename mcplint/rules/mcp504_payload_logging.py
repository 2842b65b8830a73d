import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import walk
from mcplint.mcp.builder import argument, node_source
from mcplint.mcp.model import Handler, Server
from mcplint.mcp.names import dotted
from mcplint.rule import Rule
from mcplint.rules.mcp503_sensitive_data_logged import _LOGGER_NAME_RE, LOG_METHODS, LOGGER_FACTORIES, LOGGING_FUNCS
from mcplint.prefilter import containing

# fastmcp's logging middleware (`fastmcp.server.middleware.logging`).
LOGGING_MIDDLEWARE = frozenset({"LoggingMiddleware", "StructuredLoggingMiddleware"})
# Hooks of a fastmcp `Middleware` subclass that see every tool call.
CALL_HOOKS = frozenset({"on_call_tool", "on_message", "on_request"})
# Request-body readers of an HTTP middleware: the JSON-RPC message, tool arguments included.
BODY_READERS = frozenset({"body", "json", "form", "stream"})
PASS_THROUGH = frozenset({"str", "repr", "json.dumps", "pprint.pformat", "dict", "vars"})


class PayloadLogging(Rule):
    """Whole MCP requests, tool arguments included, are written to the log.

    ## What it does
    Reports:

    - fastmcp's `LoggingMiddleware` or `StructuredLoggingMiddleware` created with
      `include_payloads=True` (medium confidence when a custom `payload_serializer=`
      may redact, low when the flag is not a literal);
    - in middleware (a fastmcp `Middleware` hook or an HTTP middleware — any function
      with a `call_next` parameter), a log call that writes the whole message:
      `context.message`, the middleware context itself (the parameter just before
      `call_next`: `on_call_tool(self, context, call_next)`), or the raw request body
      (`await request.body()`, `await request.json()`), directly or through a
      variable, `str()`, `repr()` or `json.dumps()`.

    Tool arguments (`arguments`, `kwargs`, `params`), `locals()` and request headers
    logged one by one are MCP503's findings and are not repeated here.

    It also records the audit trail the scorecard shows for MCP-C06: fastmcp's
    logging middleware, a fastmcp `Middleware` subclass whose call hook logs and that
    the file puts to use, or a server every tool of which writes a log line.

    ## Why is this bad?
    A tool call's arguments carry whatever the model put in them: file contents,
    customer records, credentials the user pasted, tokens for downstream APIs. A
    payload log copies all of it into log files and log services, which are kept
    for months and read by far more people than the data's owner. Logging the
    method, tool name, caller and duration gives the audit trail without the data.

    ## Example
    ```python
    from fastmcp import FastMCP
    from fastmcp.server.middleware.logging import LoggingMiddleware

    mcp = FastMCP("crm")
    mcp.add_middleware(LoggingMiddleware(include_payloads=True))
    ```

    ## Use instead
    Log the calls, not their payloads (or pass a `payload_serializer` that redacts).
    ```python
    from fastmcp import FastMCP
    from fastmcp.server.middleware.logging import LoggingMiddleware

    mcp = FastMCP("crm")
    mcp.add_middleware(LoggingMiddleware(include_payload_length=True))
    ```

    ## References
    - [CWE-532: Insertion of Sensitive Information into Log File](https://cwe.mitre.org/data/definitions/532.html)
    - [FastMCP: Logging middleware](https://gofastmcp.com/servers/middleware#logging-middleware)
    - [OWASP Logging Cheat Sheet: data to exclude](https://cheatsheetseries.owasp.org/cheatsheets/Logging_Cheat_Sheet.html#data-to-exclude)
    """

    code = "MCP504"
    name = "payload-logging"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 532
    checklist = "MCP-C06"
    in_imported_modules = containing(b"fastmcp", b"call_next")  # fastmcp logging middleware, HTTP middleware
    message = "{sink} logs {what}"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._loggers: set[str] = set()
        # per enclosing function: (context parameter, request parameter, payload-holding locals), or None
        self._middleware: list[tuple[str | None, set[str]] | None] = []
        self._audit_hooks: list[tuple[str, cst.FunctionDef]] = []  # (class, hook) of middleware that logs
        self._called: set[str] = set()

    # -- the audit trail ----------------------------------------------------------------
    def check_server(self, server: Server) -> None:
        tools = [h for h in server.handlers if h.kind == "tool"]
        if tools and all(self._logs(h) for h in tools):
            what = f"every tool ({len(tools)})" if len(tools) > 1 else tools[0].label
            self.evidence(server.node, f"{what} of server `{server.var or '?'}` writes a log line")

    def _logs(self, handler: Handler) -> bool:
        return any(isinstance(n, cst.Call) and self._is_log(n) for n in walk.iter_nodes(handler.function.body))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        bases = {(self.ctx.qualify(b.value) or "") for b in node.bases}
        if not any(b.startswith("fastmcp.") and b.endswith(".Middleware") for b in bases):
            return
        for statement in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
            if isinstance(statement, cst.FunctionDef) and statement.name.value in CALL_HOOKS and any(
                    isinstance(n, cst.Call) and self._is_log(n) for n in walk.iter_nodes(statement.body)):
                self._audit_hooks.append((node.name.value, statement))
                return

    def leave_Module(self, original_node: cst.Module) -> None:
        # a middleware class counts once this file puts it to use (`add_middleware(Audit())`)
        for name, hook in self._audit_hooks:
            if name in self._called:
                self.evidence(hook, f"middleware `{name}.{hook.name.value}` logs calls")

    # -- middleware functions ------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        names = [p.name.value for p in (*node.params.posonly_params, *node.params.params)]
        if "call_next" not in names:
            self._middleware.append(None)
            return
        # the context (or request) comes just before `call_next`, as in `on_call_tool(self,
        # context, call_next)` and `dispatch(self, request, call_next)`; a helper taking more
        # first (`_run(self, task_id, ctx, call_next)`) passes those on as plain values
        before = names[:names.index("call_next")]
        context = before[-1] if before and before[-1] not in ("self", "cls") else None
        self._middleware.append((context, set()))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._middleware.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if isinstance(value, cst.Call) and (self.ctx.qualify(value.func) or "").rsplit(".", 1)[-1] in LOGGER_FACTORIES:
            self._loggers.update(n for t in node.targets if (n := dotted(t.target)))
            return
        scope = self._middleware[-1] if self._middleware else None
        if scope is not None and self._payload(value, scope) is not None:
            scope[1].update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name):
            self._called.add(node.func.value)
        qualified = self.ctx.qualify(node.func) or ""
        if qualified.startswith("fastmcp.") and qualified.rsplit(".", 1)[-1] in LOGGING_MIDDLEWARE:
            self._logging_middleware(node, qualified.rsplit(".", 1)[-1])
            return
        scope = self._middleware[-1] if self._middleware else None
        if scope is None or not self._is_log(node):
            return
        for arg in node.args:
            what = self._payload(arg.value, scope)
            if what is not None:
                self.report(node, sink=_label(node), what=what)
                return

    def _logging_middleware(self, node: cst.Call, name: str) -> None:
        self.evidence(node, f"logging middleware `{name}`")
        flag = argument(node, None, "include_payloads")
        if flag is None or (isinstance(flag, cst.Name) and flag.value in ("False", "None")):
            return
        literal = isinstance(flag, cst.Name) and flag.value == "True"
        confidence = Confidence.HIGH if literal else Confidence.LOW
        if argument(node, None, "payload_serializer") is not None:
            confidence = min(confidence, Confidence.MEDIUM)
        when = "" if literal else f", when `{node_source(flag).strip()}` is true"
        self.report(flag, confidence=confidence, sink=f"`{name}`",
                    what=f"every request's payload, tool arguments included{when}")

    # -- what a logged expression shows --------------------------------------------------------
    def _payload(self, expr: cst.BaseExpression, scope: tuple[str | None, set[str]]) -> str | None:
        context, held = scope
        if isinstance(expr, cst.Await):
            expr = expr.expression
        if isinstance(expr, cst.Name):
            if expr.value in held:
                return f"the request payload (`{expr.value}`), tool arguments included"
            if context is not None and expr.value == context:
                return f"the whole middleware context (`{context}`), its message included"
            return None
        if isinstance(expr, cst.Attribute):
            if context is not None and dotted(expr) == f"{context}.message":
                return f"the whole request (`{context}.message`), tool arguments included"
            return None
        if isinstance(expr, cst.Call):
            func = expr.func
            if isinstance(func, cst.Attribute) and func.attr.value in BODY_READERS and \
                    context is not None and dotted(func.value) == context:
                return f"the raw request body (`{context}.{func.attr.value}()`), tool arguments included"
            if (self.ctx.qualify(func) or "") in PASS_THROUGH or (isinstance(func, cst.Attribute)
                                                                   and func.attr.value in ("decode", "model_dump")):
                inner = [a.value for a in expr.args] if not isinstance(func, cst.Attribute) or \
                    func.attr.value not in ("decode", "model_dump") else [func.value]
                return next((w for e in inner if (w := self._payload(e, scope)) is not None), None)
            return None
        if isinstance(expr, cst.FormattedString):
            return next((w for p in expr.parts if isinstance(p, cst.FormattedStringExpression)
                         and (w := self._payload(p.expression, scope)) is not None), None)
        if isinstance(expr, cst.BinaryOperation):
            return self._payload(expr.left, scope) or self._payload(expr.right, scope)
        if isinstance(expr, cst.Dict):
            return next((w for e in expr.elements if (w := self._payload(e.value, scope)) is not None), None)
        return None

    def _is_log(self, call: cst.Call) -> bool:
        if (self.ctx.qualify(call.func) or "") in LOGGING_FUNCS:
            return True
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in LOG_METHODS:
            return False
        receiver = dotted(func.value)
        if receiver is None:
            return isinstance(func.value, cst.Call) and \
                (self.ctx.qualify(func.value.func) or "").rsplit(".", 1)[-1] in LOGGER_FACTORIES
        return receiver in self._loggers or bool(_LOGGER_NAME_RE.match(receiver.rsplit(".", 1)[-1]))


def _label(call: cst.Call) -> str:
    return f"`{dotted(call.func) or 'logger'}`"
