
import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import walk
from mcplint.mcp.builder import argument
from mcplint.mcp.names import dotted
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule
from mcplint.mcp.taint import source_label

# Functions of the backtracking regex engines whose first argument is the pattern.
PATTERN_FUNCTIONS = frozenset(
    {"compile", "search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split"}
)
REGEX_MODULES = ("re", "regex")
# pandas `Series.str` methods that take a regex by default.
PANDAS_REGEX_METHODS = frozenset({"contains", "match", "fullmatch", "extract", "extractall", "findall", "count"})
# pandas methods that take a regex only with `regex=True`.
PANDAS_OPT_IN_METHODS = frozenset({"replace", "split"})
# Calls whose output is a regex that cannot backtrack catastrophically.
SAFE_BUILDERS = frozenset({"re.escape", "regex.escape", "fnmatch.translate"})
# Calls that keep the input's text: the agent still writes the pattern.
CONTENT_PRESERVING = lazy_compile(
    r"^(?:str|strip|lstrip|rstrip|lower|upper|casefold|replace|format|join|decode|encode|unquote|unquote_plus)$"
)


def _callee_name(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""


def _is_false(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "False"


def _is_true(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


class ToolRegexFromInput(Rule):
    """A tool parameter is used as a regular expression (ReDoS).

    ## What it does
    Reports `re` and `regex` module calls (`compile`, `search`, `match`, `fullmatch`,
    `findall`, `finditer`, `sub`, `subn`, `split`), pandas `Series.str` methods that
    take a regex (`contains`, `match`, `fullmatch`, `extract`, `extractall`, `findall`,
    `count`, and `replace`/`split` with `regex=True`) and `DataFrame.filter(regex=...)`
    whose *pattern* derives from an untrusted parameter of a tool, resource template or
    prompt handler, including patterns built around it (`f".*{word}.*"`) and patterns
    that reach the call through a helper function.

    Stays silent when the input goes through `re.escape` (or `regex.escape`,
    `fnmatch.translate`) before it reaches the pattern, when a `regex` module call
    passes `timeout=` (also on the compiled pattern's methods in the same function), on
    pandas calls with `regex=False`, and on Polars (`pl.col(...).str.contains`), whose
    Rust engine cannot backtrack; and when the pattern is checked against an allow-list
    first (`if pattern not in PATTERNS: raise`, or the call inside `if pattern in
    PATTERNS:`), in the tool or in a function on the way. A tainted *subject* string
    (`re.search(PATTERN, x)`) is fine. A length cap on the pattern (`if len(pattern) >
    100: raise`) changes nothing: `(a+)+$` is six characters. A pattern that passes
    through a call mcplint cannot see into is reported at medium confidence.

    ## Why is this bad?
    Python's `re` backtracks: a pattern such as `(a+)+$` or `(x|x)*y` against a few
    dozen characters of text runs for minutes, holding a worker (and with `asyncio`,
    the whole server) at 100% CPU. Whoever steers the agent chooses the pattern, and
    "search with a regex" tools give them a denial of service on every call. A
    pattern may also match far more than the tool's author meant (`.*` in an
    allow-list check).

    ## Example
    ```python
    import re
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("logs")

    @mcp.tool()
    def grep_logs(pattern: str) -> list[str]:
        with open("/var/log/app.log") as f:
            return [line for line in f if re.search(pattern, line)]
    ```

    ## Use instead
    Search for the text literally (`re.escape`, or `in`); if users must write regexes,
    use an engine that cannot backtrack (`google-re2`) or the `regex` module with a
    `timeout=`.
    ```python
    import re
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("logs")

    @mcp.tool()
    def grep_logs(pattern: str) -> list[str]:
        needle = re.compile(re.escape(pattern), re.IGNORECASE)
        with open("/var/log/app.log") as f:
            return [line for line in f if needle.search(line)]
    ```

    ## References
    - [CWE-1333: Inefficient Regular Expression Complexity](https://cwe.mitre.org/data/definitions/1333.html)
    - [OWASP: Regular expression Denial of Service (ReDoS)](https://owasp.org/www-community/attacks/Regular_expression_Denial_of_Service_-_ReDoS)
    - [`regex` module: timeouts](https://github.com/mrabarnett/mrab-regex#timeout)
    """

    code = "MCP204"
    name = "tool-regex-from-input"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 1333
    checklist = "MCP-C03"
    allow_list_sanitizes = True
    in_imported_modules = False  # each report carries tool input
    message = "{handler} parameter `{param}` is used as the regular expression of `{sink}`{detail}"

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.handler is None:
            return
        found = self._pattern(node)
        if found is None:
            return
        pattern, sink = found
        taint = self.ctx.taint(pattern)
        if taint is None or taint.sanitizers & SAFE_BUILDERS:
            return
        nodes = [pattern, *(step.node for step in taint.steps)]
        calls = [n for n in nodes if isinstance(n, cst.Call)]
        qualified = [self.ctx.qualify(c.func) or "" for c in calls]
        if any(q in SAFE_BUILDERS for q in qualified) or any(self._maps_escape(c) for c in calls):
            return
        if sink.startswith("regex.") and self._bounded(node):
            return
        unknown = [
            c for c in calls if not CONTENT_PRESERVING.match(_callee_name(c.func)) and not _reads(c, taint.param)
        ]
        self.report(
            node, taint=taint, confidence=Confidence.MEDIUM if unknown else None, param=source_label(taint, nodes),
            sink=sink, detail=f" (through `{_callee_name(unknown[0].func)}()`)" if unknown else "",
        )

    def _maps_escape(self, call: cst.Call) -> bool:
        """`map(re.escape, words)`."""
        return (
            self.ctx.qualify(call.func) == "map"
            and bool(call.args)
            and (self.ctx.qualify(call.args[0].value) or "") in SAFE_BUILDERS
        )

    def _pattern(self, node: cst.Call) -> tuple[cst.BaseExpression, str] | None:
        qualified = self.ctx.qualify(node.func) or ""
        module, _, function = qualified.rpartition(".")
        if module in REGEX_MODULES and function in PATTERN_FUNCTIONS:
            pattern = argument(node, 0, "pattern")
            return (pattern, qualified) if pattern is not None else None
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "filter":  # df.filter(regex=pattern)
            pattern = argument(node, None, "regex")
            return (pattern, ".filter(regex=)") if pattern is not None else None
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Attribute)):
            return None
        if func.value.attr.value != "str":
            return None
        method = func.attr.value
        flag = argument(node, None, "regex")
        if method in PANDAS_REGEX_METHODS:
            if _is_false(flag):
                return None
        elif method in PANDAS_OPT_IN_METHODS:
            if not _is_true(flag):
                return None
        else:
            return None
        if self._polars(func.value.value):
            return None
        pattern = argument(node, 0, "pat")
        return (pattern, f".str.{method}") if pattern is not None else None

    def _polars(self, receiver: cst.BaseExpression) -> bool:
        """`pl.col("x").str.contains(...)`: Polars' regex engine does not backtrack."""
        for sub in walk.iter_nodes(receiver):
            if isinstance(sub, cst.Call) and (self.ctx.qualify(sub.func) or "").startswith("polars."):
                return True
        aliases = self.ctx.imports.aliases.values()
        return any(a == "polars" for a in aliases) and not any(a == "pandas" for a in aliases)

    def _bounded(self, sink: cst.Call) -> bool:
        """`regex.search(p, s, timeout=1)`, or a compiled pattern whose calls all pass `timeout=`."""
        if argument(sink, None, "timeout") is not None:
            return True
        if _callee_name(sink.func) != "compile":
            return False
        names = self._assigned_names(sink)
        if not names:
            return False
        uses = [
            sub for sub in walk.iter_nodes(self.ctx.handler.function.body)
            if isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute) and dotted(sub.func.value) in names
        ]
        return bool(uses) and all(argument(use, None, "timeout") is not None for use in uses)

    def _assigned_names(self, value: cst.Call) -> set[str]:
        names: set[str] = set()
        for sub in walk.iter_nodes(self.ctx.handler.function.body):
            if isinstance(sub, cst.Assign) and sub.value is value:
                names.update(n for t in sub.targets if (n := dotted(t.target)) is not None)
            elif isinstance(sub, (cst.AnnAssign, cst.NamedExpr)) and sub.value is value:
                name = dotted(sub.target)
                if name is not None:
                    names.add(name)
        return names


def _reads(call: cst.Call, param: str) -> bool:
    """`arguments.get("pattern")`: reading the parameter itself."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "get"):
        return False
    return (dotted(func.value) or "").split(".")[0] == param
