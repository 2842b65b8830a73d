import ast
import re

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import walk
from mcplint.mcp.metadata import quote as metadata_quote
from mcplint.mcp.model import Handler
from mcplint.mcp.names import dotted
from mcplint.prefilter import containing, lazy_compile
from mcplint.rule import Rule
from mcplint.outline import ast_dotted, ast_last, ast_qualified, ast_within, import_targets

# Exceptions whose text carries what the server should keep: everything (`Exception`),
# the operating system's (paths), databases' (SQL, schema, hosts), HTTP clients'
# (internal URLs), subprocesses' (command lines) and cloud SDKs'.
BROAD = frozenset({"Exception", "BaseException"})
OS_ERRORS = frozenset({"OSError", "IOError", "EnvironmentError", "FileNotFoundError", "PermissionError",
                       "IsADirectoryError", "NotADirectoryError", "FileExistsError", "ConnectionError"})
LEAKY_MODULES = ("sqlite3", "psycopg", "psycopg2", "pymysql", "MySQLdb", "mysql", "sqlalchemy", "asyncpg", "aiosqlite",
                 "aiomysql", "pymongo", "motor", "redis", "duckdb", "snowflake", "clickhouse_connect", "clickhouse_driver",
                 "oracledb", "cx_Oracle", "pyodbc", "pymssql", "requests", "httpx", "aiohttp", "urllib", "urllib3",
                 "botocore", "boto3", "kubernetes", "google", "azure", "subprocess", "git", "paramiko", "docker")
LEAKY_NAME = lazy_compile(r"(?:Database|Operational|Programming|Integrity|Interface|SQLAlchemy|DBAPI|Psycopg|Sql|SQL"
                        r"|CalledProcess|Subprocess|GitCommand|HTTPStatus|Request|Connection)\w*Error$")
# Attributes of an exception that repeat its text or its internals.
LEAKY_ATTRS = frozenset({"args", "message", "msg", "strerror", "filename", "filename2", "statement", "orig",
                         "pgerror", "cmd", "__traceback__", "__cause__", "__context__"})
# Calls that keep nothing of an exception's text, or say it is made safe.
SAFE_CALLS = frozenset({"type", "isinstance", "issubclass", "len", "id", "hash", "bool", "hasattr", "callable"})
SAFE_HELPER = lazy_compile(r"saniti[sz]|redact|mask|safe|scrub|public|user_?message|client_?message|friendly", re.I)
TRACEBACK_CALLS = frozenset({"traceback.format_exc", "traceback.format_exception", "traceback.format_tb",
                             "traceback.format_stack", "traceback.format_exception_only", "sys.exc_info"})
# Exceptions whose message the SDKs hand to the client, and objects sent to it.
CLIENT_ERRORS = frozenset({"ToolError", "ResourceError", "PromptError", "McpError", "MCPError", "FastMCPError",
                           "HTTPException"})
CLIENT_OBJECTS = frozenset({"TextContent", "ErrorData", "TextResourceContents", "JSONResponse", "PlainTextResponse",
                            "HTMLResponse", "Response"})
_CLIENT_CALLS = CLIENT_ERRORS | CLIENT_OBJECTS


# What the text of a call `_leak` takes for a traceback shows (`format_exc` is in
# `format_exception` and `format_exception_only`).
_TRACEBACK_WORDS = ("format_exc", "format_tb", "format_stack", "exc_info")


def _may_reveal(expr: ast.AST | None, targets: dict[str, set[str]]) -> bool:
    """Can `ExceptionTextReturned._revealing` take this caught type (CPython's tree)?"""
    if expr is None:
        return True
    if type(expr) is ast.Tuple:
        return any(_may_reveal(e, targets) for e in expr.elts)
    written = ast_dotted(expr)
    if written is None:
        return False
    last = written.rsplit(".", 1)[-1]
    if last in BROAD or last in OS_ERRORS:
        return True
    if written.split(".", 1)[0] not in targets:  # the other tests need the name imported
        return False
    return bool(LEAKY_NAME.search(last)) or any(q.split(".", 1)[0] in LEAKY_MODULES
                                                 for q in ast_qualified(expr, targets))


def may_send_exception_text(outline) -> bool:
    """Can the rule report in this file (CPython's tree, `mcplint.outline`)? With no
    handler of the file's own, only at a client error or object built with arguments
    (`raise ToolError(...)`, `TextContent(...)`) inside an `except` block that catches a
    revealing type, whose arguments show the caught exception's name, a name assigned in
    the block (text made from it) or a traceback call."""
    calls = [c for c in outline.of(ast.Call) if (c.args or c.keywords) and ast_last(c.func) in _CLIENT_CALLS]
    if not calls:
        return False
    targets = import_targets(outline)
    tracebacks = {name for name, found in targets.items() if found & TRACEBACK_CALLS}
    for handler in outline.of(ast.ExceptHandler):
        inside = [c for c in calls if ast_within(c, handler)]
        if not inside or not _may_reveal(handler.type, targets):
            continue
        shown = tracebacks | {handler.name} if handler.name else set(tracebacks)
        for node in (*outline.of(ast.Assign), *outline.of(ast.AnnAssign), *outline.of(ast.AugAssign)):
            if ast_within(node, handler):
                shown |= outline.words(*(node.targets if type(node) is ast.Assign else (node.target,)))[1]
        for call in inside:
            text, names = outline.words(*call.args, *(k.value for k in call.keywords))
            if names & shown or any(word in text for word in _TRACEBACK_WORDS):
                return True
    return False


def _last(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


def _callee(expr: cst.BaseExpression) -> str | None:
    """`helper` for `helper(...)`, `await self.helper(...)`, `await client.helper(...)`."""
    if isinstance(expr, cst.Await):
        expr = expr.expression
    if isinstance(expr, cst.Call):
        name = dotted(expr.func)
        return _last(name) if name else None
    return None


class _Leak:
    def __init__(self, node: cst.CSTNode, shown: str, traceback: bool) -> None:
        self.node = node
        self.shown = shown
        self.traceback = traceback


class _Origin:
    """What a leaky name holds: the exception itself, or text made from it."""

    def __init__(self, traceback: bool, shown: str | None = None) -> None:
        self.traceback = traceback
        self.shown = shown  # `str(e)` for a name assigned from it; None for the exception itself


class ExceptionTextReturned(Rule):
    """A handler sends an exception's text or a traceback to the client.

    ## What it does
    Looks at `except ... as e:` blocks in MCP server code that catch broad or
    revealing exceptions (`Exception`, OS errors, database, HTTP-client,
    subprocess and cloud-SDK errors) and reports where the exception's text reaches
    the client: `str(e)`, `repr(e)`, `f"...{e}"`, `e.args`, `e.message`,
    `traceback.format_exc()`, directly or through a variable, in

    - the return value of a tool, resource or prompt;
    - the message of a `ToolError`, `ResourceError`, `PromptError` or `McpError`
      (`raise ToolError(str(e))`);
    - a `TextContent`, `ErrorData` or HTTP response built in the block.

    `raise ToolError("Order not found")`, `type(e).__name__`, `e.code`, the text of
    `ValueError`s and of the project's own exceptions are not reported. A traceback
    is reported with high confidence; exception text with medium, one step lower
    when every server in the file is served over stdio only.

    ## Why is this bad?
    Exception messages are written for the developer: a database error quotes the
    SQL and names tables and columns, an `OSError` gives the server's absolute
    paths, an HTTP error the internal URL with its query string (sometimes with an
    API key), a traceback all of it plus library versions. Through the model they
    reach whoever drives the agent, including an attacker probing the server with
    crafted arguments, who learns exactly which input broke what. Under the
    official SDK 2.x and fastmcp with `mask_error_details=True` this code defeats
    the masking the SDK would otherwise do.

    ## Example
    ```python
    import sqlite3

    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("orders")

    @mcp.tool()
    def order_status(order_id: int) -> str:
        try:
            with sqlite3.connect("/srv/orders/orders.db") as db:
                row = db.execute("SELECT status FROM orders WHERE id = ?", (order_id,)).fetchone()
            return row[0] if row else "not found"
        except Exception as e:
            return f"Database error: {e}"
    ```

    ## Use instead
    Log the details on the server and give the client a fixed message (and, if it
    helps, an id to find the log entry).
    ```python
    import logging
    import sqlite3

    from mcp.server.fastmcp import FastMCP
    from mcp.server.fastmcp.exceptions import ToolError

    log = logging.getLogger(__name__)
    mcp = FastMCP("orders")

    @mcp.tool()
    def order_status(order_id: int) -> str:
        try:
            with sqlite3.connect("/srv/orders/orders.db") as db:
                row = db.execute("SELECT status FROM orders WHERE id = ?", (order_id,)).fetchone()
            return row[0] if row else "not found"
        except sqlite3.Error:
            log.exception("order_status failed for %s", order_id)
            raise ToolError("The order database is unavailable; try again later.")
    ```

    ## References
    - [CWE-209: Generation of Error Message Containing Sensitive Information](https://cwe.mitre.org/data/definitions/209.html)
    - [OWASP: Improper Error Handling](https://owasp.org/www-community/Improper_Error_Handling)
    - [FastMCP: Error handling and masking](https://gofastmcp.com/servers/tools#error-handling)
    """

    code = "MCP851"
    name = "exception-text-returned"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    cwe = 209
    checklist = "MCP-C09"
    in_imported_modules = containing(*(name.encode() for name in _CLIENT_CALLS))  # errors and responses for clients
    imported_if = staticmethod(may_send_exception_text)  # exception text in a client error or object built in an except block
    message = "{handler} sends {what} to the client {via}"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._reported: set[int] = set()
        self._derived: dict[int, dict[str, tuple[_Origin, str]]] = {}
        self._tool_helpers: dict[str, Handler] | None = None
        self._stdio_only = bool(ctx.model.servers) and all(s.stdio_only for s in ctx.model.servers)

    # -- which exceptions ----------------------------------------------------------------
    def _revealing(self, node: cst.BaseExpression | None) -> str | None:
        """The caught type's name when its text is worth keeping from the client."""
        if node is None:
            return None
        if isinstance(node, cst.Tuple):
            for element in node.elements:
                found = self._revealing(element.value)
                if found is not None:
                    return found
            return None
        written = dotted(node)
        if written is None:
            return None
        last = _last(written)
        qualified = self.ctx.qualify(node) or written
        if last in BROAD or last in OS_ERRORS:
            return written
        if qualified.split(".", 1)[0] in LEAKY_MODULES and self.ctx.imports.is_imported(written):
            return written
        if LEAKY_NAME.search(last) and self.ctx.imports.is_imported(written):
            return written
        return None

    # -- what reaches the client -----------------------------------------------------------
    def _leak(self, expr: cst.CSTNode, names: dict[str, _Origin]) -> _Leak | None:
        """The first part of `expr` that carries exception text."""
        parents: dict[int, cst.CSTNode] = {}
        stack = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, (cst.Lambda, cst.FunctionDef)):
                continue
            if isinstance(node, cst.Call):
                qualified = self.ctx.qualify(node.func) or ""
                if qualified in TRACEBACK_CALLS:
                    return _Leak(node, f"`{_last(qualified)}()`", True)
            if isinstance(node, cst.Name) and node.value in names:
                origin = names[node.value]
                if origin.shown is not None:  # text made from the exception
                    return _Leak(node, f"{origin.shown} via `{node.value}`", origin.traceback)
                if self._leaks_here(node, parents):
                    shown = self._shown(node, parents)
                    return _Leak(shown, f"`{metadata_quote(self.ctx.code_for(shown), 60)}`", origin.traceback)
                continue
            children = walk.children(node)
            for child in children:
                parents[id(child)] = node
            stack.extend(reversed(children))
        return None

    @staticmethod
    def _shown(name: cst.Name, parents: dict[int, cst.CSTNode]) -> cst.CSTNode:
        """`str(e)`, `e.args`, `f"...{e}"`: the expression around the name that carries the text."""
        parent = parents.get(id(name))
        if isinstance(parent, cst.Attribute):
            return parent
        if isinstance(parent, cst.Arg):
            call = parents.get(id(parent))
            if isinstance(call, cst.Call) and _last(dotted(call.func)) in ("str", "repr", "format_exception"):
                parent = parents.get(id(call))
                name = call
        if isinstance(parent, cst.FormattedStringExpression):
            string = parents.get(id(parent))
            return string if isinstance(string, cst.FormattedString) else name
        return name

    def _leaks_here(self, name: cst.Name, parents: dict[int, cst.CSTNode]) -> bool:
        parent = parents.get(id(name))
        if isinstance(parent, cst.Attribute) and parent.value is name:
            return parent.attr.value in LEAKY_ATTRS
        if isinstance(parent, cst.Arg):
            call = parents.get(id(parent))
            if isinstance(call, cst.Call):
                callee = dotted(call.func) or ""
                last = _last(callee)
                if last in SAFE_CALLS or SAFE_HELPER.search(last):
                    return False
                if callee.split(".", 1)[0] in ("log", "logger", "logging", "_logger", "LOGGER", "LOG"):
                    return False
                if last == "getattr":
                    attr = call.args[1].value if len(call.args) > 1 else None
                    return isinstance(attr, cst.SimpleString) and attr.value.strip("'\"") in LEAKY_ATTRS
        # `"timeout" in str(e)`, `not e`: a test of the text, not the text
        return not isinstance(parent, (cst.Comparison, cst.ComparisonTarget, cst.UnaryOperation))

    # -- the blocks ------------------------------------------------------------------------
    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        caught = self._revealing(node.type) if node.type is not None else "exception"
        if caught is None:
            return
        names = {node.name.name.value: _Origin(False)} \
            if node.name is not None and isinstance(node.name.name, cst.Name) else {}
        for statement in self._statements(node.body):
            self._statement(statement, names, caught)
        derived = {k: v for k, v in names.items() if v.shown is not None}
        if derived and self.ctx.handler is not None:
            # `except Exception as e: result = f"failed: {e}"`, then `return result` after the try
            self._derived.setdefault(id(self.ctx.handler.function), {}).update(
                {k: (v, caught) for k, v in derived.items()})

    def visit_Return(self, node: cst.Return) -> None:
        handler = self.ctx.handler
        derived = self._derived.get(id(handler.function)) if handler is not None else None
        if not derived or node.value is None:
            return
        for name, (origin, caught) in derived.items():
            leak = self._leak(node.value, {name: origin})
            if leak is not None:
                self._returned(leak, caught)
                return

    @staticmethod
    def _statements(body: cst.CSTNode):
        """Statements of a block in order, into nested if/with/for/try blocks, not into functions or classes."""
        stack = [body]
        order = []
        while stack:
            node = stack.pop()
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                continue
            if isinstance(node, cst.SimpleStatementLine):
                order.append(node)
                continue
            if isinstance(node, cst.BaseSmallStatement):
                order.append(node)
                continue
            stack.extend(reversed([c for c in walk.children(node) if isinstance(c, (cst.BaseStatement, cst.BaseSuite,
                                                                                    cst.BaseSmallStatement, cst.Else,
                                                                                    cst.ExceptHandler, cst.Finally,
                                                                                    cst.If))]))
        return order

    def _statement(self, line: cst.CSTNode, names: dict[str, _Origin], caught: str) -> None:
        smalls = line.body if isinstance(line, cst.SimpleStatementLine) else [line]
        for small in smalls:
            if isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)) and small.value is not None:
                leak = self._leak(small.value, names)
                if leak is not None:
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    for target in targets:
                        name = dotted(target.value if isinstance(target, cst.Subscript) else target)
                        if name is not None:
                            names[name] = _Origin(leak.traceback, leak.shown.split(" via ")[0])
                continue
            if isinstance(small, cst.Return) and small.value is not None:
                leak = self._leak(small.value, names)
                if leak is not None and self._returned(leak, caught):
                    continue
            if isinstance(small, cst.Raise) and isinstance(small.exc, cst.Call):
                error = _last(dotted(small.exc.func))
                if error in CLIENT_ERRORS:
                    leak = self._leak(cst.Tuple([cst.Element(a.value) for a in small.exc.args]), names) \
                        if small.exc.args else None
                    if leak is not None:
                        self._report(leak, caught, f"in a `{error}` message")
                        continue
            for sub in walk.iter_nodes(small):
                if isinstance(sub, cst.Call) and _last(dotted(sub.func)) in CLIENT_OBJECTS and sub.args:
                    leak = self._leak(cst.Tuple([cst.Element(a.value) for a in sub.args]), names)
                    if leak is not None:
                        self._report(leak, caught, f"in `{_last(dotted(sub.func))}`")
                        break

    def _returned(self, leak: _Leak, caught: str) -> bool:
        """A return of the current function: reported when it is a handler's, or a helper's whose
        result a handler of this file returns."""
        handler = self.ctx.handler
        if handler is None:
            return False
        if handler.kind in ("tool", "resource", "prompt"):
            self._report(leak, caught, "as its return value")
            return True
        tool = self._helpers().get(handler.name.rsplit(".", 1)[-1])
        if tool is not None:
            helper = handler.name.rsplit(".", 1)[-1]
            self._report(leak, caught, f"as the return value of `{helper}()`, which it returns", tool)
            return True
        return False

    def _helpers(self) -> dict[str, Handler]:
        """Functions of this file whose result a handler returns: `return await fetch_page(url)`."""
        if self._tool_helpers is None:
            self._tool_helpers = {}
            for handler in self.ctx.model.handlers:
                if handler.kind not in ("tool", "resource", "prompt"):
                    continue
                calls: dict[str, str] = {}
                returned: list[cst.BaseExpression] = []
                for sub in walk.iter_nodes(handler.function.body):
                    if isinstance(sub, cst.Assign) and len(sub.targets) == 1 and isinstance(sub.targets[0].target, cst.Name):
                        callee = _callee(sub.value)
                        if callee:
                            calls[sub.targets[0].target.value] = callee
                    elif isinstance(sub, cst.Return) and sub.value is not None:
                        returned.append(sub.value)
                for value in returned:
                    callee = _callee(value) or (calls.get(value.value) if isinstance(value, cst.Name) else None)
                    if callee:
                        self._tool_helpers.setdefault(callee, handler)
        return self._tool_helpers

    def _report(self, leak: _Leak, caught: str, via: str, tool: Handler | None = None) -> None:
        if id(leak.node) in self._reported:
            return
        self._reported.add(id(leak.node))
        handler = tool or self.ctx.handler
        if leak.traceback:
            what, confidence = f"a traceback ({leak.shown})", Confidence.HIGH
        else:
            what, confidence = f"the text of the caught `{caught}` ({leak.shown})", Confidence.MEDIUM
        server = handler.server if handler is not None else None
        if (server.stdio_only if server is not None else self._stdio_only):
            confidence = confidence.lowered()
        if tool is not None:
            confidence = confidence.lowered()  # the helper's result may be checked before it is returned
        self.report(leak.node, confidence=confidence, in_handler=handler, what=what, via=via)
