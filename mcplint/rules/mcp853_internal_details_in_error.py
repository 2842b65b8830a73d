import ast
import re

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import metadata, walk
from mcplint.mcp.builder import string_value
from mcplint.mcp.names import dotted
from mcplint.prefilter import containing, lazy_compile
from mcplint.rule import Rule
from mcplint.outline import ast_dotted, ast_last, ast_qualified, ast_string, ast_within, import_targets, nodes_under

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


# -- the imported-module test (CPython's tree, `mcplint.outline`) -------------------------
_SQL_WORDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "CREATE", "DROP", "ALTER", "MERGE", "REPLACE")
# `SQL_START` without its `\b`, for the text of an f-string: libcst gives it as written,
# CPython decoded, and the letter after `SELECT` may be an escape (`\x41`) there.
_SQL_PREFIX = lazy_compile(rf"^\s*(?:{'|'.join(_SQL_WORDS)})", re.IGNORECASE)
_DETAIL_CALLS = ENV_CALLS | SERVER_PATHS


def _arguments(call: ast.Call) -> list[ast.AST]:
    return [a.value if type(a) is ast.Starred else a for a in call.args] + [k.value for k in call.keywords]


def _parts(expr: ast.AST):
    """What `InternalDetailsInError._parts` may yield for a message (CPython's tree)."""
    for node in nodes_under(expr):
        kind = type(node)
        if kind is ast.FormattedValue:
            yield node.value
        elif kind is ast.BinOp and type(node.op) in (ast.Add, ast.Mod):
            for side in (node.left, node.right):
                yield from (e.value if type(e) is ast.Starred else e for e in side.elts) \
                    if type(side) is ast.Tuple else (side,)
        elif kind is ast.Call and type(node.func) is ast.Attribute and node.func.attr == "format":
            yield from _arguments(node)
        elif kind is ast.Dict:
            yield from node.values


def _may_be_sql(value: ast.AST, texts: set[str]) -> bool:
    """Can `metadata.static_text` of this string or f-string start with SQL (`SQL_START`)?
    `texts`: names that may be module constants with a text (an f-string's field that is
    none of them, nor a call, `+` or literal, is `{...}` there)."""
    if type(value) is ast.Constant:
        text = ast_string(value)
        return text is not None and bool(SQL_START.match(text))
    prefix = ""
    for part in value.values:  # an f-string
        if type(part) is ast.Constant:
            prefix += part.value
        elif type(part.value) in (ast.Call, ast.BinOp, ast.Constant, ast.JoinedStr) or (
                type(part.value) is ast.Name and part.value.id in texts):
            # a text only known there: the start so far must be (the beginning of) a keyword
            start = prefix.lstrip().upper()
            return bool(_SQL_PREFIX.match(prefix)) or any(word.startswith(start) for word in _SQL_WORDS)
        else:
            prefix += "{...}"
    return bool(_SQL_PREFIX.match(prefix))


def may_show_internal_details(outline) -> bool:
    """Can the rule report in this file (CPython's tree, `mcplint.outline`)? With no
    handler of the file's own, only in the arguments of `raise ToolError(...)` (and the
    other client errors) or of a client object built in an `except` block, at a value
    formatted into the message (f-string field, `+`/`%` operand, `.format` argument, dict
    value) that `_detail` may take for an internal detail: an environment read, a server
    path, a connection-string name, or a name assigned (anywhere, transitively) SQL text
    or such a value."""
    messages = [arg for node in outline.of(ast.Raise) if type(node.exc) is ast.Call
                and ast_last(node.exc.func) in CLIENT_ERRORS for arg in _arguments(node.exc)]
    objects = [c for c in outline.of(ast.Call) if ast_last(c.func) in CLIENT_OBJECTS and (c.args or c.keywords)]
    if objects:
        handlers = outline.of(ast.ExceptHandler)
        messages += [arg for c in objects if any(ast_within(c, h) for h in handlers) for arg in _arguments(c)]
    parts = [part for message in messages for part in _parts(message)]
    if not parts:
        return False
    targets = import_targets(outline)
    assigned: list[tuple[str, ast.AST]] = [(t.id, node.value) for node in outline.of(ast.Assign)
                                           for t in node.targets if type(t) is ast.Name]
    assigned += [(node.target.id, node.value) for node in outline.of(ast.AnnAssign)
                 if type(node.target) is ast.Name and node.value is not None]
    texts = {name for name, value in assigned
             if type(value) in (ast.Constant, ast.JoinedStr, ast.BinOp, ast.Call, ast.Name)}
    # names `_detail` may follow to SQL or to a detail, to a fixed point
    marked: set[str] = set()
    sql_done = False
    while True:
        before = len(marked)
        for name, value in assigned:
            if name in marked:
                continue
            if type(value) in (ast.Constant, ast.JoinedStr):
                if not sql_done and _may_be_sql(value, texts):
                    marked.add(name)
            elif _may_detail(value, targets, marked):
                marked.add(name)
        sql_done = True  # the SQL test does not depend on `marked`
        if len(marked) == before:
            break
    return any(_may_detail(part, targets, marked) for part in parts)


def _may_detail(expr: ast.AST, targets: dict[str, set[str]], marked: set[str]) -> bool:
    """Can `InternalDetailsInError._detail` find something in `expr` (CPython's tree)?"""
    kind = type(expr)
    if kind is ast.Call:
        qualified = ast_qualified(expr.func, targets)
        if qualified & _DETAIL_CALLS:
            return True
        return any(q.rsplit(".", 1)[-1] in ("str", "repr") for q in qualified) and any(
            _may_detail(a, targets, marked) for a in _arguments(expr))
    if kind is ast.Subscript:
        return "os.environ" in ast_qualified(expr.value, targets)
    if kind is ast.Name and expr.id in marked:
        return True
    if kind in (ast.Name, ast.Attribute):
        name = ast_dotted(expr)
        if name is None:
            return False
        return name == "__file__" or bool(ast_qualified(expr, targets) & SERVER_PATHS) or \
            bool(CONNECTION_NAME.match(name.rsplit(".", 1)[-1]))
    return False


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
    imported_if = staticmethod(may_show_internal_details)  # a detail formatted into a client error or object's message
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
