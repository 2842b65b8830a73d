import re

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk
from mcplint.mcp.builder import call_args, string_value
from mcplint.mcp.names import dotted
from mcplint.rule import Rule
from mcplint.files import is_test_path
from mcplint.prefilter import containing

# An origin no deployment means to trust; a regex that accepts it accepts everything.
_PROBE_ORIGINS = ("https://attacker.example", "http://evil.test:8080")


class CorsWildcardWithCredentials(Rule):
    """CORS lets every origin send credentialed requests to the server.

    ## What it does
    Reports Starlette/FastAPI `CORSMiddleware` configured with `allow_origins=["*"]`
    (or `"*"`), or an `allow_origin_regex` that matches any origin (`".*"`,
    `"https?://.*"`), together with `allow_credentials=True`, in the files of an MCP
    server: `Middleware(CORSMiddleware, ...)` in a `middleware=[...]` list,
    `app.add_middleware(CORSMiddleware, ...)` and `CORSMiddleware(app, ...)`. Origins
    bound to a module-level list or string are followed.

    ## Why is this bad?
    Browsers refuse `Access-Control-Allow-Origin: *` for credentialed requests, so
    with `allow_credentials=True` Starlette answers each request by echoing the
    caller's `Origin` back instead. Every web site the user visits can then send
    requests that carry the user's cookies or HTTP credentials to the MCP server
    and read the answers: list and call its tools, read its resources.

    ## Example
    ```python
    from mcp.server.fastmcp import FastMCP
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware

    mcp = FastMCP("wiki")
    app = mcp.streamable_http_app()
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True, allow_methods=["*"])
    ```

    ## Use instead
    List the origins of the web clients you serve (or drop credentials).
    ```python
    from mcp.server.fastmcp import FastMCP
    from starlette.middleware.cors import CORSMiddleware

    mcp = FastMCP("wiki")
    app = mcp.streamable_http_app()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["https://wiki.example.com"],
        allow_credentials=True,
        allow_methods=["GET", "POST"],
    )
    ```

    ## References
    - [CWE-942: Permissive Cross-domain Policy with Untrusted Domains](https://cwe.mitre.org/data/definitions/942.html)
    - [Starlette: CORSMiddleware](https://www.starlette.io/middleware/#corsmiddleware)
    - [MDN: CORS requests with credentials](https://developer.mozilla.org/en-US/docs/Web/HTTP/CORS#requests_with_credentials)
    """

    code = "MCP604"
    name = "cors-wildcard-with-credentials"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 942
    checklist = "MCP-C11"
    in_imported_modules = containing(b"CORS")
    message = "CORS allows {origins} with `allow_credentials=True`: Starlette echoes any caller's origin, so every web site can send credentialed requests and read the replies"

    def visit_Call(self, node: cst.Call) -> None:
        func = dotted(node.func) or ""
        last = func.rsplit(".", 1)[-1]
        if last not in ("Middleware", "add_middleware") and "CORS" not in last:
            return
        positional, keywords, star = call_args(node)
        if last in ("Middleware", "add_middleware"):
            first = positional[0].value if positional else (keywords["middleware_class"].value if "middleware_class" in keywords else None)
            if first is None or not self._is_cors(first):
                return
        elif not self._is_cors(node.func):
            return
        if star or is_test_path(self.ctx.path):
            return
        credentials = keywords.get("allow_credentials")
        if credentials is None or not self._true(credentials.value):
            return
        origins = self._wildcard(keywords)
        if origins is not None:
            self.report(node, origins=origins)

    def _is_cors(self, expr: cst.BaseExpression) -> bool:
        qualified = self.ctx.qualify(expr) or ""
        return qualified in sdk.CORS_MIDDLEWARE or (qualified.endswith(".CORSMiddleware") and "cors" in qualified)

    def _wildcard(self, keywords: dict[str, cst.Arg]) -> str | None:
        if "allow_origins" in keywords:
            value = self._resolve(keywords["allow_origins"].value)
            if string_value(value) == "*":
                return 'every origin (`allow_origins="*"`)'
            if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
                if any(isinstance(e, cst.Element) and string_value(self._resolve(e.value)) == "*" for e in value.elements):
                    return 'every origin (`allow_origins=["*"]`)'
        if "allow_origin_regex" in keywords:
            pattern = string_value(self._resolve(keywords["allow_origin_regex"].value))
            if pattern is not None:
                try:
                    compiled = re.compile(pattern)
                except re.error:
                    return None
                if all(compiled.fullmatch(origin) for origin in _PROBE_ORIGINS):
                    return f"every origin (`allow_origin_regex={pattern!r}`)"
        return None

    def _true(self, expr: cst.BaseExpression) -> bool:
        expr = self._resolve(expr)
        return isinstance(expr, cst.Name) and expr.value == "True"

    def _resolve(self, expr: cst.BaseExpression) -> cst.BaseExpression:
        """A module-level constant's value: `ORIGINS = ["*"]`."""
        if not isinstance(expr, cst.Name) or expr.value in ("True", "False", "None"):
            return expr
        constants = self.__dict__.get("_constants")
        if constants is None:
            constants = self._constants = {}
            for statement in self.ctx.module.body:
                if isinstance(statement, cst.SimpleStatementLine):
                    for small in statement.body:
                        if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                                and isinstance(small.targets[0].target, cst.Name):
                            constants.setdefault(small.targets[0].target.value, small.value)
        return constants.get(expr.value, expr)
