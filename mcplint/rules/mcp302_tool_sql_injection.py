import re

import libcst as cst

from mcplint.mcp import walk
from mcplint.mcp.guards import if_guards
from mcplint.finding import Confidence, Severity
from mcplint.mcp.builder import argument, string_value
from mcplint.mcp.names import dotted
from mcplint.mcp.taint import command_object, source_label
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule

# Methods that run SQL whatever the receiver: cursors and connections are local
# variables, so the receiver's type is rarely known.
DB_METHODS = frozenset({"execute", "executemany", "executescript", "exec_driver_sql", "fetchrow", "fetchval"})
# Methods that run SQL on some clients (clickhouse-connect, duckdb, snowpark, asyncpg,
# databases, Django) and mean something else on others (HTTP fetch, vector search).
AMBIGUOUS_METHODS = frozenset(
    {"fetch", "fetch_all", "fetch_one", "fetch_val", "query", "sql", "command", "raw", "read_sql", "read_sql_query"}
)
SQL_FUNCTIONS = frozenset(
    {"pandas.read_sql", "pandas.read_sql_query", "duckdb.sql", "duckdb.query", "duckdb.execute", "duckdb.query_df"}
)
# SQLAlchemy textual SQL: reported where the text is made, not again where it runs.
TEXT_CALLS = frozenset(
    {"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text", "sqlmodel.text"}
)
# Composition that keeps values out of the SQL text.
SAFE_COMPOSERS = frozenset(
    {
        "psycopg.sql.Identifier", "psycopg.sql.Literal", "psycopg.sql.Placeholder",
        "psycopg2.sql.Identifier", "psycopg2.sql.Literal", "psycopg2.sql.Placeholder",
        "sqlalchemy.bindparam", "sqlalchemy.literal", "sqlalchemy.sql.bindparam",
    }
)
QUERY_KEYWORDS = ("sql", "query", "operation", "statement", "sql_script")

# A project's own wrapper around execute: `db._execute_query(...)`, `run_sql(...)`.
WRAPPER_NAME = lazy_compile(r"^(?:execute|exec|run)(?:_\w+)?$|(?:^|_)(?:sql|query|statement)$|_sql_")
RUNNER_NAME = lazy_compile(r"^(?:execute|exec|run)_?\w*(?:sql|query|statement)|^execute|sql")
# Helpers that read or rewrite a statement's text without running it (`_tokenize_sql`).
NOT_A_RUNNER = lazy_compile(r"^(?:log|print|format|build|make|parse|validate|check|explain|debug|render|get|is|has|to"
                            r"|tokenize|lex|split|normalize|strip|classify|detect|count|quote|escape|sanitize|sanitise"
                            r"|redact|mask)_")
# `subprocess.run`, `asyncio.run`, `loop.run_in_executor`: runners, but not of SQL.
NOT_SQL_MODULES = ("subprocess.", "asyncio.", "anyio.", "trio.", "os.", "shutil.", "concurrent.", "threading.")
# Names that say a value is meant to be SQL.
SQL_NAME = lazy_compile(r"sql|query|statement|stmt|script", re.IGNORECASE)
STRICT_SQL_NAME = lazy_compile(r"sql|statement|stmt", re.IGNORECASE)
# A call whose name promises validation or quoting (unseen: lowers confidence).
GUARD_NAME = lazy_compile(r"valid|saniti|escape|quote|safe|whitelist|allowlist|allowed|check|clean|ident", re.IGNORECASE)
# Calls a raw statement may pass through and still be the statement the agent sent.
BENIGN_CALLS = frozenset({"str", "text", "dedent", "strip"})
# A raw-SQL tool that restricts statements (SELECT-only, sqlparse, read-only mode).
RAW_SQL_GUARD = lazy_compile(
    r"startswith\(\s*\(?\s*[\"'](?:select|with|show|describe|explain|pragma)"
    r"|sqlparse|read_?only|readonly|is_?write|is_?read|forbidden|allowed_(?:statements|commands|operations)"
    r"|[\"'](?:insert|update|delete|drop|alter)[\"']\s*(?:not\s+)?in\b"
    r"|[\(\[{]\s*[\"'](?:select|with)[\"']\s*,",
    re.IGNORECASE,
)

SCHEMA_TABLES = lazy_compile(
    r"sqlite_master|sqlite_schema|information_schema|pg_catalog|pg_tables|pg_class|duckdb_tables|system\.tables",
    re.IGNORECASE,
)
SUBQUERY_OPEN = lazy_compile(r"\bfrom\s*\(\s*$", re.IGNORECASE)
SQL_PHRASE = lazy_compile(
    r"\bselect\b.*\bfrom\b|\binsert\s+into\b|\bupdate\b.+\bset\b|\bdelete\s+from\b|\bpragma\b|\bwhere\b"
    r"|\b(?:create|drop|alter|truncate)\s+(?:temp\w*\s+)?(?:table|index|view|database|schema)\b"
    r"|\b(?:order|group)\s+by\b|\bunion\s+(?:all\s+)?select\b|\bvalues\s*\(",
    re.IGNORECASE | re.DOTALL,
)
SQL_WORD = lazy_compile(r"\b(?:SELECT|FROM|WHERE|LIMIT|OFFSET|JOIN|LIKE|USE|SHOW|DESCRIBE|INSERT|UPDATE|DELETE|CALL)\b")


def _callee_name(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return ""


def _is_construct(node: cst.CSTNode) -> bool:
    if isinstance(node, (cst.FormattedString, cst.AugAssign)):
        return True
    if isinstance(node, cst.BinaryOperation):
        return isinstance(node.operator, (cst.Add, cst.Modulo))
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value in ("format", "join")
    return False


def _leading_value(node: cst.CSTNode) -> cst.CSTNode | None:
    """The value a construct starts with, past literal text that only opens a subquery."""
    if isinstance(node, cst.FormattedString):
        parts = [p.expression if isinstance(p, cst.FormattedStringExpression) else p.value for p in node.parts]
    elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        parts, stack = [], [node]
        while stack:  # flatten a + b + c, left to right
            current = stack.pop()
            if isinstance(current, cst.BinaryOperation) and isinstance(current.operator, cst.Add):
                stack.extend((current.right, current.left))
            else:
                text = string_value(current)
                parts.append(text if text is not None else current)
    else:
        return None
    for part in parts:
        if not isinstance(part, str):
            return part
        if part.strip() and not SUBQUERY_OPEN.search(part):
            return None
    return None


def _constant_join(node: cst.CSTNode) -> bool:
    """`", ".join("?" for _ in ids)`: one placeholder per item, none of the items' text."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "join"):
        return False
    if not node.args:
        return False
    arg = node.args[0].value
    return isinstance(arg, (cst.GeneratorExp, cst.ListComp)) and string_value(arg.elt) is not None


# A graph database's query language: the same injection, under its own name.
CYPHER = lazy_compile(r"neo4j|cypher|memgraph", re.IGNORECASE)


def _language(sink: str, source: str) -> str:
    """What the statement is written in, for the message: Cypher where the driver or the
    parameter says so (`neo4j_driver.execute_query`, `cypher_query`), else SQL."""
    return "Cypher" if CYPHER.search(sink) or CYPHER.search(source) else "SQL"


class _FileFacts(cst.CSTVisitor):
    """Names of functions defined in the file, and names bound to string literals."""

    def __init__(self) -> None:
        self.functions: dict[str, cst.FunctionDef] = {}
        self.constants: dict[str, str] = {}

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.setdefault(node.name.value, node)

    def visit_Assign(self, node: cst.Assign) -> None:
        text = _literal_text(node.value)
        if text is not None:
            for target in node.targets:
                name = dotted(target.target)
                if name is not None:
                    self.constants.setdefault(name, text)


def _literal_text(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.FormattedString):
        return "{}".join(p.value for p in node.parts if isinstance(p, cst.FormattedStringText))
    return string_value(node)


class ToolSqlInjection(Rule):
    """A tool parameter is formatted into SQL that is executed.

    ## What it does
    Reports SQL built from an untrusted handler parameter with an f-string, `%`, `+`,
    `.format()` or `.join()` and run by DB-API `execute`/`executemany`/`executescript`
    (sqlite3, psycopg, pymysql, mysql-connector, duckdb, snowflake), asyncpg
    `fetch`/`fetchrow`/`fetchval`, SQLAlchemy `text()` or `exec_driver_sql`, pandas
    `read_sql`, `duckdb.sql`, or the project's own `execute_query`-style wrapper. Only
    the query argument counts: values passed separately are bound by the driver.
    Wrappers and ambiguous methods (`query`, `sql`, `fetch`) also need SQL keywords in
    the literal text around the value.

    A tool that runs a whole statement it is given (`execute(sql)`, the `run_query`
    tool of most database servers, also when wrapped as `f"{sql} LIMIT 100"`) is no
    injection but a SQL console for whoever steers the agent. It gets its own message,
    high severity and medium confidence, and needs a parameter named like SQL
    (`sql`, `query`, `statement`). A command or query object is not SQL text: a
    parameter typed as one of the project's own classes (`query: ListOrdersQuery`) or
    a value built by calling one (`bus.execute(ListOrders(owner=owner))`); a library's
    class (neo4j's `Query`) may hold the statement's text and still counts. A graph
    database's query (a `neo4j` driver, a parameter named like `cypher`) is called
    Cypher in the message.

    Confidence is lowered, never to silence, where a guard is visible but unproven:
    medium when the value passed through a function of the same file, low when that
    function raises after a regex or allowlist check, or when the value passed through
    a call named like a validator (`validate_identifier`, `quote_ident`),
    when the handler tests it against an allowlist (`if table not in TABLES`), a regex
    or the schema (`sqlite_master`) (every parameter the text holds: a check of
    `schema` leaves `f"{schema}.{table}"` unchecked), and for consoles that restrict statements
    (`SELECT`-prefix checks, `sqlparse`, a read-only flag). `psycopg.sql.Identifier`
    and one placeholder per item (`",".join("?" for _ in ids)`) are safe. Flows into
    functions outside the handler are not followed yet.

    ## Why is this bad?
    The agent's input, or text injected into a page the agent read, closes the string
    literal or adds clauses (`' OR 1=1 --`, `; DROP TABLE users`), and the server runs
    it with its own database rights: data is read, changed or deleted beyond what the
    tool offers. Identifiers (table and column names) cannot be bound as parameters and
    are the usual hole in MCP database servers.

    ## Example
    ```python
    import sqlite3
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("notes")

    @mcp.tool()
    def find_notes(author: str) -> list:
        conn = sqlite3.connect("notes.db")
        return conn.execute(f"SELECT title FROM notes WHERE author = '{author}'").fetchall()
    ```

    ## Use instead
    Pass values as parameters; check identifiers against the schema before quoting
    them. For a tool that runs whole statements, connect with a read-only user or
    open the database read-only.
    ```python
    import sqlite3
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("notes")

    @mcp.tool()
    def find_notes(author: str) -> list:
        conn = sqlite3.connect("notes.db")
        return conn.execute("SELECT title FROM notes WHERE author = ?", (author,)).fetchall()
    ```

    ## References
    - [CWE-89: SQL Injection](https://cwe.mitre.org/data/definitions/89.html)
    - [Python docs: sqlite3 placeholders](https://docs.python.org/3/library/sqlite3.html#sqlite3-placeholders)
    - [psycopg: composing SQL with `psycopg.sql`](https://www.psycopg.org/psycopg3/docs/api/sql.html)
    - [OWASP SQL Injection Prevention Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html)
    """

    code = "MCP302"
    name = "tool-sql-injection"
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    cwe = 89
    checklist = "MCP-C04"
    in_imported_modules = False  # each report carries tool input
    escape_sanitizes = True
    message = "{handler} parameter `{param}` {how} `{sink}`"

    _facts: _FileFacts | None = None

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._defs_cache: dict[int, tuple] = {}

    # -- what the file tells us, computed once and only when a sink is tainted ------
    @property
    def facts(self) -> _FileFacts:
        if self._facts is None:
            self._facts = _FileFacts()
            walk.visit(self.ctx.module, self._facts)
        return self._facts

    def _sink(self, call: cst.Call) -> tuple[str, str] | None:
        """(kind, label) of a call that runs SQL, or None."""
        qualified = self.ctx.qualify(call.func) or ""
        if qualified in TEXT_CALLS:
            return "text", qualified
        if qualified in SQL_FUNCTIONS:
            return "db", qualified
        label = dotted(call.func) or f".{_callee_name(call.func)}"
        if isinstance(call.func, cst.Attribute):
            method = call.func.attr.value
            if method in DB_METHODS:
                return "db", label
            if method in AMBIGUOUS_METHODS:
                return "ambiguous", label
        name = _callee_name(call.func).lstrip("_").lower()
        if qualified.startswith(NOT_SQL_MODULES):
            return None
        if name and WRAPPER_NAME.search(name) and not NOT_A_RUNNER.match(name):
            return "wrapper", label
        return None

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.handler is None:
            return
        sink = self._sink(node)
        if sink is None:
            return
        kind, label = sink
        query = _query_argument(node)
        if query is None or self.ctx.taint(query) is None:
            return
        # The taint engine keeps the first path that reached a name; what reaches this
        # call is better told by the nearest tainted assignment before it.
        query = self._reaching_value(query, node)
        taint = self.ctx.taint(query)
        if taint is None:
            return
        nodes = [query, *(step.node for step in taint.steps)]
        calls = [n for n in nodes if isinstance(n, cst.Call)]
        qualified_calls = [self.ctx.qualify(c.func) or "" for c in calls]
        if any(q in SAFE_COMPOSERS for q in qualified_calls) or any(_constant_join(c) for c in calls):
            return
        if kind != "text" and any(q in TEXT_CALLS for q in qualified_calls):
            return  # reported at text()
        constructs = [n for n in nodes if _is_construct(n)]
        if constructs and not self._extends_statement(taint, constructs):
            self._built(node, kind, label, taint, constructs, calls)
        else:
            self._verbatim(node, kind, label, taint, query, [c for c in calls if not _is_construct(c)])

    def _extends_statement(self, taint, constructs) -> bool:
        """`f"{sql} LIMIT 100"`, `"SELECT * FROM (" + sql + ")"`: a whole statement, wrapped."""
        source = source_label(taint, [*constructs, *(s.node for s in taint.steps)])
        if not SQL_NAME.search(source):
            return False
        for construct in constructs:
            first = _leading_value(construct)
            if first is not None and self.ctx.taint(first) is not None:
                continue
            return False
        return True

    def _reaching_value(self, query: cst.BaseExpression, sink: cst.Call) -> cst.BaseExpression:
        if not isinstance(query, cst.Name):
            return query
        order, defs = self._definitions(self.ctx.handler)
        here = order.get(id(sink))
        if here is None:
            return query
        for index, value in reversed(defs.get(query.value, ())):
            if index < here and self.ctx.taint(value) is not None:
                return value
        return query

    def _definitions(self, handler):
        """Pre-order index of each node of a handler, and the values assigned to each name."""
        key = id(handler.function)
        cached = self._defs_cache.get(key)
        if cached is None:
            order: dict[int, int] = {}
            defs: dict[str, list[tuple[int, cst.BaseExpression]]] = {}
            for index, sub in enumerate(walk.iter_nodes(handler.function)):
                order[id(sub)] = index
                if isinstance(sub, cst.Assign):
                    for target in sub.targets:
                        if isinstance(target.target, cst.Name):
                            defs.setdefault(target.target.value, []).append((index, sub.value))
                elif isinstance(sub, cst.AnnAssign) and sub.value is not None and isinstance(sub.target, cst.Name):
                    defs.setdefault(sub.target.value, []).append((index, sub.value))
                elif isinstance(sub, cst.AugAssign) and isinstance(sub.target, cst.Name):
                    # `sql += f"... {x}"`: the value is the new part; kept as a construct.
                    if isinstance(sub.operator, cst.AddAssign):
                        defs.setdefault(sub.target.value, []).append((index, cst.BinaryOperation(
                            left=sub.target, operator=cst.Add(), right=sub.value)))
            cached = self._defs_cache[key] = (order, defs)
        return cached

    def _built(self, node, kind, label, taint, constructs, calls) -> None:
        fragments = [f for c in constructs for f in self._fragments(c)]
        text = " ".join(fragments)
        callee = _callee_name(node.func).lstrip("_").lower()
        if SQL_PHRASE.search(text) or SQL_WORD.search(text):
            clear = kind != "wrapper" or RUNNER_NAME.search(callee)
            confidence = Confidence.HIGH if clear else Confidence.MEDIUM
        elif not text.strip() and kind in ("db", "text"):
            confidence = Confidence.MEDIUM  # a template from elsewhere
        else:
            return  # literal text in view, and it is not SQL
        confidence = min(confidence, self._guard_confidence(calls, constructs))
        if all(self._checked(each, node) for each in self._taints(taint, constructs)):
            confidence = Confidence.LOW
        source = source_label(taint, [node, *constructs, *(s.node for s in taint.steps)])
        self.report(node, taint=taint, confidence=confidence, param=source,
                    how=f"is formatted into {_language(label, source)} run by", sink=label)

    def _verbatim(self, node, kind, label, taint, query, calls) -> None:
        for call in calls:
            name = _callee_name(call.func)
            reads_param = name == "get" and (dotted(call.func.value) or "").split(".")[0] == taint.param
            if name not in BENIGN_CALLS and not reads_param:
                return  # a value passed through other calls: not the statement itself
        if command_object(self.ctx, self.ctx.handler.params, query):
            return  # `execute(query)`, `query: ListOrdersQuery`: not SQL text
        source = source_label(taint, [query, *(s.node for s in taint.steps)])
        handler_name = self.ctx.handler.name if self.ctx.handler else ""
        callee = _callee_name(node.func).lstrip("_").lower()
        if kind in ("db", "text"):
            named_sql = SQL_NAME.search(source)
        elif kind == "ambiguous":
            named_sql = STRICT_SQL_NAME.search(source) or (SQL_NAME.search(source) and "sql" in handler_name.lower())
        else:
            named_sql = RUNNER_NAME.search(callee) and SQL_NAME.search(source)
        if not named_sql:
            return
        handler_source = self.ctx.code_for(self.ctx.handler.function)
        confidence = Confidence.LOW if RAW_SQL_GUARD.search(handler_source) else Confidence.MEDIUM
        language = _language(label, source)
        self.report(
            node, taint=taint, severity=Severity.HIGH, confidence=confidence, param=source,
            how=f"is run as a whole {language} statement (the agent may send any {language}) by", sink=label,
        )

    # -- helpers -------------------------------------------------------------------------
    def _guard_confidence(self, calls, constructs) -> Confidence:
        names = [_callee_name(c.func) for c in calls]
        if any(GUARD_NAME.search(n) for n in names) or any(self._escapes_quotes(c) for c in constructs):
            return Confidence.LOW
        local = [self.facts.functions[n] for n in names if n in self.facts.functions]
        if any(self._validates(function) for function in local):
            return Confidence.LOW
        if local:
            return Confidence.MEDIUM  # a function of this file, which may validate
        return Confidence.HIGH

    def _validates(self, function: cst.FunctionDef, depth: int = 0) -> bool:
        """A function that raises after a regex or allowlist check, or calls one that does."""
        raises = checks = False
        for sub in walk.iter_nodes(function.body):
            if isinstance(sub, cst.Raise):
                raises = True
            elif isinstance(sub, cst.Call):
                name = _callee_name(sub.func)
                if name in ("match", "fullmatch", "isidentifier"):
                    checks = True
                elif depth < 2 and name in self.facts.functions and self.facts.functions[name] is not function:
                    if self._validates(self.facts.functions[name], depth + 1):
                        return True
            elif isinstance(sub, cst.Comparison):
                checks = checks or any(isinstance(c.operator, (cst.In, cst.NotIn)) for c in sub.comparisons)
        return raises and checks

    def _taints(self, taint, constructs) -> list:
        """One taint for each parameter the built text holds (`f"{schema}.{table}"`: two):
        a check of one of them leaves the others unchecked."""
        found = {taint.param: taint}
        for construct in constructs:
            for sub in walk.iter_nodes(construct):
                if type(sub) is cst.Name:
                    other = self.ctx.taint(sub)
                    if other is not None:
                        found.setdefault(other.param, other)
        return list(found.values())

    def _checked(self, taint, sink: cst.Call) -> bool:
        """The handler tests a tainted name against an allowlist, a regex or the schema."""
        names = {taint.param} | {
            dotted(t.target) for step in taint.steps if isinstance(step.node, cst.Assign) for t in step.node.targets
        }
        names.discard(None)
        body = self.ctx.handler.function.body
        if if_guards(body, sink, names, self.ctx.qualify):
            return True
        return any(isinstance(sub, cst.Call) and self._schema_lookup(sub, names) for sub in walk.iter_nodes(body))

    @staticmethod
    def _schema_lookup(call: cst.Call, names: set) -> bool:
        """`execute("SELECT name FROM sqlite_master WHERE name = ?", [table])`: the name is looked up."""
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value in DB_METHODS | AMBIGUOUS_METHODS):
            return False
        if len(call.args) < 2 or not SCHEMA_TABLES.search(string_value(call.args[0].value) or ""):
            return False
        return any(dotted(sub) in names for arg in call.args[1:] for sub in walk.iter_nodes(arg.value))

    @staticmethod
    def _escapes_quotes(node: cst.CSTNode) -> bool:
        """`x.replace("'", "''")` somewhere in the expression: a hand-made escape."""
        for call in _calls_in(node):
            if isinstance(call.func, cst.Attribute) and call.func.attr.value == "replace" and call.args:
                if "'" in (string_value(call.args[0].value) or ""):
                    return True
        return False

    def _fragments(self, node: cst.CSTNode, depth: int = 0) -> list[str]:
        """The literal SQL text around the inserted value, as far as it can be seen."""
        if depth > 6:
            return []
        text = _literal_text(node)
        if text is not None:
            return [text]
        if isinstance(node, cst.Name):
            constant = self.facts.constants.get(node.value)
            return [constant] if constant is not None else []
        if isinstance(node, cst.BinaryOperation):
            return self._fragments(node.left, depth + 1) + self._fragments(node.right, depth + 1)
        if isinstance(node, cst.AugAssign):
            return self._fragments(node.target, depth + 1) + self._fragments(node.value, depth + 1)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value == "format":
                return self._fragments(node.func.value, depth + 1)
            if node.func.attr.value == "join":
                return self._fragments(node.func.value, depth + 1)
        return []

def _query_argument(call: cst.Call) -> cst.BaseExpression | None:
    """The SQL text argument: `sql=`/`query=`/... or the first positional one."""
    for keyword in QUERY_KEYWORDS:
        value = argument(call, None, keyword)
        if value is not None:
            return value
    return argument(call, 0, "")


def _calls_in(node: cst.CSTNode):
    return (n for n in walk.iter_nodes(node) if isinstance(n, cst.Call))
