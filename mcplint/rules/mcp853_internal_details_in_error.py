import re

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import metadata, walk
from mcplint.mcp.builder import string_value
from mcplint.mcp.names import dotted
from mcplint.prefilter import containing, lazy_compile
from mcplint.rule import Rule

# Exceptions whose message the SDKs hand to the client, and objects sent to it.
CLIENT_ERRORS = frozenset({"ToolError", "ResourceError", "PromptError", "McpError", "MCPError", "FastMCPError",
                           "HTTPException"})
CLIENT_OBJECTS = frozenset({"TextContent", "ErrorData", "JSONResponse", "PlainTextResponse"})
ENV_CALLS = frozenset({"os.getenv", "os.environ.get"})
# Where the server itself lives: not the user's business.
SERVER_PATHS = frozenset({"os.getcwd", "pathlib.Path.cwd", "pathlib.Path.home", "sys.executable", "sys.path",
                          "sys.prefix", "tempfile.gettempdir"})
# Names that hold a connection string (often with a password in it).
CONNECTION_NAME = lazy_compile(
    r"^_*(?:dsn|database_?ur[il]|db_?ur[il]|conn(?:ection)?_?str(?:ing)?|connection_?ur[il]|redis_?ur[il]"
    r"|mongo(?:db)?_?ur[il]|jdbc_?ur[il]|sqlalchemy_database_uri|amqp_?ur[il]|broker_?ur[il]|engine_?ur[il])$",
    re.IGNORECASE,
)
SQL_START = lazy_compile(r"^\s*(?:SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER|MERGE|REPLACE)\b", re.IGNORECASE)
# A returned message that reads as an error.
ERROR_TEXT = lazy_compile(r"^\W*(?:error|failed|failure|could\s+not|couldn'?t|cannot|can'?t|unable|invalid|denied)\b",
                        re.IGNORECASE)


def _last(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


class InternalDetailsInError(Rule):
    """An error message sent to the client echoes configuration, server paths or SQL.

    ## What it does
    Looks at messages that reach the client when something fails: `ToolError`,
    `ResourceError`, `PromptError` and `McpError` messages anywhere in MCP server
    code, and, in a tool's `except` blocks, its return value and the `TextContent`
    or HTTP responses it builds (also a tool's returned text that starts with
    "Error", "Failed", "Could not", ...). Reports the parts of such a message that
    come from

    - the environment (`os.environ[...]`, `os.getenv(...)`, directly or through a
      variable), or a variable named like a connection string (`DATABASE_URL`,
      `dsn`, `redis_url`);
    - where the server lives (`__file__`, `os.getcwd()`, `Path.home()`,
      `sys.executable`, `sys.path`);
    - SQL the server wrote (a variable assigned a `SELECT ...`/`INSERT ...` string
      or f-string), as opposed to the caller's own query echoed back.

    Values derived from the tool's own parameters (the caller's input) are not
    reported. Exception text is MCP851's business.

    ## Why is this bad?
    A connection string carries hosts, database names and often a password; the
    working directory, home and interpreter paths map the server's file system and
    user; server-built SQL shows table and column names that an attacker then uses
    for injection elsewhere. An error path is where such text leaks most easily:
    it is written for debugging and rarely read as output.

    ## Example
    ```python
    import os

    import psycopg
    from fastmcp import FastMCP
    from fastmcp.exceptions import ToolError

    mcp = FastMCP("crm")
    DATABASE_URL = os.environ["DATABASE_URL"]

    @mcp.tool
    def customer(customer_id: int) -> dict:
        try:
            with psycopg.connect(DATABASE_URL) as conn:
                return conn.execute("SELECT name FROM customers WHERE id = %s", (customer_id,)).fetchone()
        except psycopg.OperationalError:
            raise ToolError(f"cannot reach the database at {DATABASE_URL}")
    ```

    ## Use instead
    Say what failed in terms the caller can act on; keep the details in the log.
    ```python
    import logging
    import os

    import psycopg
    from fastmcp import FastMCP
    from fastmcp.exceptions import ToolError

    log = logging.getLogger(__name__)
    mcp = FastMCP("crm")
    DATABASE_URL = os.environ["DATABASE_URL"]

    @mcp.tool
    def customer(customer_id: int) -> dict:
        try:
            with psycopg.connect(DATABASE_URL) as conn:
                return conn.execute("SELECT name FROM customers WHERE id = %s", (customer_id,)).fetchone()
        except psycopg.OperationalError:
            log.exception("database unreachable")
            raise ToolError("The customer database is unavailable; try again later.")
    ```

    ## References
    - [CWE-497: Exposure of Sensitive System Information to an Unauthorized Control Sphere](https://cwe.mitre.org/data/definitions/497.html)
    - [CWE-209: Generation of Error Message Containing Sensitive Information](https://cwe.mitre.org/data/definitions/209.html)
    - [OWASP: Improper Error Handling](https://owasp.org/www-community/Improper_Error_Handling)
    """

    code = "MCP853"
    name = "internal-details-in-error"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    cwe = 497
    checklist = "MCP-C09"
    in_imported_modules = containing(*(name.encode() for name in CLIENT_ERRORS | CLIENT_OBJECTS))  # errors and responses for clients
    message = "{handler} puts {what} (`{shown}`) in an error message for the client {via}"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._in_except = 0
        self._reported: set[int] = set()
        self._stack: list[cst.FunctionDef] = []
        self._assigned: dict[int, dict[str, list[cst.BaseExpression]]] = {}  # id(function) -> name -> values

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._stack.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._stack.pop()

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._in_except += 1

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        self._in_except -= 1

    # -- the messages ---------------------------------------------------------------------
    def visit_Raise(self, node: cst.Raise) -> None:
        if isinstance(node.exc, cst.Call):
            error = _last(dotted(node.exc.func))
            if error in CLIENT_ERRORS:
                for arg in node.exc.args:
                    self._message(arg.value, f"in a `{error}`")

    def visit_Return(self, node: cst.Return) -> None:
        handler = self.ctx.handler
        if node.value is None or handler is None or handler.kind not in ("tool", "resource", "prompt"):
            return
        if self._in_except or self._reads_as_error(node.value):
            self._message(node.value, "as its return value")

    def visit_Call(self, node: cst.Call) -> None:
        if self._in_except and _last(dotted(node.func)) in CLIENT_OBJECTS:
            for arg in node.args:
                self._message(arg.value, f"in `{_last(dotted(node.func))}`")

    def _reads_as_error(self, expr: cst.BaseExpression) -> bool:
        texts = []
        if isinstance(expr, cst.FormattedString) and expr.parts and isinstance(expr.parts[0], cst.FormattedStringText):
            texts.append(expr.parts[0].value)
        elif isinstance(expr, cst.Dict):
            return any(isinstance(e, cst.DictElement) and string_value(e.key) == "error" for e in expr.elements)
        return any(ERROR_TEXT.match(t) for t in texts)

    def _message(self, expr: cst.BaseExpression, via: str) -> None:
        for part in self._parts(expr):
            found = self._detail(part, 0)
            if found is not None and id(part) not in self._reported:
                self._reported.add(id(part))
                what, confidence = found
                self.report(part, confidence=confidence, what=what, via=via,
                            shown=metadata.quote(self.ctx.code_for(part), 50))
                return

    @staticmethod
    def _parts(expr: cst.BaseExpression):
        """The values formatted into a message: f-string fields, `+` operands, `%`/`.format` arguments, dict values."""
        for node in walk.iter_nodes(expr):
            if isinstance(node, cst.FormattedStringExpression):
                yield node.expression
            elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Modulo)):
                for side in (node.left, node.right):
                    if not isinstance(side, (cst.BinaryOperation, cst.SimpleString, cst.FormattedString)):
                        yield from (e.value for e in side.elements) if isinstance(side, cst.Tuple) else (side,)
            elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
                yield from (a.value for a in node.args)
            elif isinstance(node, cst.DictElement) and not isinstance(node.value, (cst.SimpleString, cst.FormattedString,
                                                                                     cst.Dict, cst.List)):
                yield node.value

    # -- what a value is ------------------------------------------------------------------
    def _detail(self, expr: cst.BaseExpression, depth: int):
        if depth > 3:
            return None
        if isinstance(expr, cst.Name):
            for value in self._values(expr.value):
                text = metadata.static_text(self.ctx, value) \
                    if isinstance(value, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)) else None
                if text is not None and SQL_START.match(text):
                    return "SQL built by the server", Confidence.MEDIUM
        if self.ctx.taint(expr) is not None:
            return None  # the caller's own input
        if isinstance(expr, cst.Call):
            qualified = self.ctx.qualify(expr.func) or ""
            if qualified in ENV_CALLS:
                return "an environment value", Confidence.MEDIUM
            if qualified in SERVER_PATHS:
                return "a server path", Confidence.MEDIUM
            if _last(qualified) in ("str", "repr") and expr.args:
                return self._detail(expr.args[0].value, depth)
            return None
        if isinstance(expr, cst.Subscript) and self.ctx.qualify(expr.value) == "os.environ":
            return "an environment value", Confidence.MEDIUM
        if isinstance(expr, (cst.Name, cst.Attribute)):
            name = dotted(expr) or ""
            qualified = self.ctx.qualify(expr) or ""
            if name == "__file__" or qualified in SERVER_PATHS:
                return "a server path", Confidence.MEDIUM
            if CONNECTION_NAME.match(_last(name)):
                return "a connection string", Confidence.MEDIUM
            if isinstance(expr, cst.Name):
                for value in self._values(expr.value):
                    if not isinstance(value, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
                        found = self._detail(value, depth + 1)
                        if found is not None:
                            return found
        return None

    def _values(self, name: str) -> list[cst.BaseExpression]:
        """What `name` is assigned in the enclosing function, else at module level."""
        values = self._assignments(self._stack[-1]).get(name) if self._stack else None
        if values:
            return values
        constant = metadata.module_constant(self.ctx, name)
        return [constant] if constant is not None else []

    def _assignments(self, function: cst.FunctionDef) -> dict[str, list[cst.BaseExpression]]:
        """The values each name (`x`, `self.x`) is assigned in a function, in source order:
        read once per function, not once per name asked about."""
        table = self._assigned.get(id(function))
        if table is None:
            table = self._assigned[id(function)] = {}
            for node in walk.iter_nodes(function.body):
                kind = type(node)
                if kind is cst.Assign:
                    for name in dict.fromkeys(dotted(t.target) for t in node.targets):
                        if name is not None:
                            table.setdefault(name, []).append(node.value)
                elif kind is cst.AnnAssign and node.value is not None:
                    name = dotted(node.target)
                    if name is not None:
                        table.setdefault(name, []).append(node.value)
        return table
