
import ast

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk, walk
from mcplint.mcp.builder import string_value
from mcplint.mcp.names import dotted
from mcplint.outline import ast_string
from mcplint.prefilter import Literals, Prefilter, lazy_compile
from mcplint.rule import Rule
from mcplint.rules.mcp102_dev_token_verifier import Nesting
from mcplint.files import is_test_path
from mcplint.secrets import is_secret_name, name_words

# Methods that keep a string the same credential: `header.removeprefix("Bearer ").strip()`.
_SAME_VALUE_METHODS = frozenset(
    {"strip", "lstrip", "rstrip", "removeprefix", "removesuffix", "encode", "decode", "split", "rsplit",
     "partition", "get_secret_value", "replace"}
)
# Parts of the request a client writes.
_REQUEST_PARTS = frozenset({"headers", "query_params", "cookies", "META", "GET", "POST"})
_SIGNATURE_WORDS = frozenset({"signature", "hmac"})
_ENV_GETTERS = sdk.ENV_GETTERS | {"os.environ.__getitem__"}
# Code that authenticates a caller: where two credential-named values compared are a check.
# `invalidate` (dropping a cached token) is bookkeeping, not a check: `validat` not after `in`.
_AUTH_FUNCTION = lazy_compile(r"(?i)verif|(?<!in)validat|authenticat|authoriz|check|require|guard|protect|login|permission"
                            r"|^dispatch$|^__call__$")
_AUTH_CLASS = lazy_compile(r"(?i)verifier|guard|middleware|backend")


def _unwrap(expr: cst.BaseExpression) -> cst.BaseExpression:
    """The credential under `x.strip()`, `x.split(" ")[1]`, `str(x)`, `await x`."""
    for _ in range(6):
        if isinstance(expr, cst.Await):
            expr = expr.expression
        elif isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) \
                and expr.func.attr.value in _SAME_VALUE_METHODS:
            expr = expr.func.value
        elif isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value in ("str", "bytes") \
                and len(expr.args) == 1:
            expr = expr.args[0].value
        elif isinstance(expr, cst.Subscript) and isinstance(expr.value, cst.Call) \
                and isinstance(expr.value.func, cst.Attribute) and expr.value.func.attr.value in ("split", "rsplit", "partition"):
            expr = expr.value
        else:
            break
    return expr


def _is_literal(expr: cst.BaseExpression) -> bool:
    expr = _unwrap(expr)
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)):
        return True
    if isinstance(expr, cst.Name) and expr.value in ("None", "True", "False"):
        return True
    if isinstance(expr, (cst.List, cst.Tuple, cst.Dict, cst.Set)) and not expr.elements:
        return True
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value in ("len", "type", "bool", "int"):
        return True
    return False


def _key(expr: cst.BaseExpression) -> str | None:
    """The name a value is read by: `x`, `self.x`, `d["x"]`, `d.get("x")`, `os.getenv("X")`."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    if isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
        return string_value(expr.slice[0].slice.value)
    if isinstance(expr, cst.Call) and expr.args:
        func = expr.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("get", "getenv", "getlist"):
            return string_value(expr.args[0].value)
        if isinstance(func, cst.Name) and func.value == "getenv":
            return string_value(expr.args[0].value)
    return None


def _credential_name(name: str | None) -> bool:
    if not name:
        return False
    if name.lower() in sdk.AUTH_HEADERS or is_secret_name(name):
        return True
    words = name_words(name)
    if not words:
        return False
    if words[-1] in _SIGNATURE_WORDS:
        return True
    # auth_header, authorization_header, api_key_header
    return words[-1] == "header" and len(words) > 1 and (words[-2] in ("auth", "authorization") or is_secret_name("_".join(words[:-1])))


# What the text of every name `_credential_name` accepts holds (lower-cased).
CREDENTIAL_WORDS = ("token", "secret", "credential", "auth", "pass", "pw", "key", "signature", "hmac")


def _ast_unwrap(expr: ast.AST) -> ast.AST:
    """`_unwrap` on CPython's tree."""
    for _ in range(6):
        kind = type(expr)
        if kind is ast.Await:
            expr = expr.value
        elif kind is ast.Call and type(expr.func) is ast.Attribute and expr.func.attr in _SAME_VALUE_METHODS:
            expr = expr.func.value
        elif kind is ast.Call and type(expr.func) is ast.Name and expr.func.id in ("str", "bytes") \
                and len(expr.args) == 1 and not expr.keywords:
            expr = expr.args[0]
        elif kind is ast.Subscript and type(expr.value) is ast.Call and type(expr.value.func) is ast.Attribute \
                and expr.value.func.attr in ("split", "rsplit", "partition"):
            expr = expr.value
        else:
            break
    return expr


def _ast_literal(expr: ast.AST) -> bool:
    """`_is_literal` on CPython's tree."""
    expr = _ast_unwrap(expr)
    kind = type(expr)
    if kind is ast.Constant:
        return type(expr.value) in (str, bytes, int, float, bool) or expr.value is None
    if kind in (ast.List, ast.Tuple, ast.Set):
        return not expr.elts
    if kind is ast.Dict:
        return not expr.keys
    return kind is ast.Call and type(expr.func) is ast.Name and expr.func.id in ("len", "type", "bool", "int")


def _ast_credential(expr: ast.AST, depth: int = 0) -> bool:
    """Can `_credential` take `expr` (CPython's tree) for a credential? By its `_key`; any
    of its parts in an f-string or a `+`."""
    expr = _ast_unwrap(expr)
    kind = type(expr)
    if kind is ast.JoinedStr:
        return any(type(part) is ast.FormattedValue and _ast_credential(part.value, depth + 1) for part in expr.values)
    if kind is ast.BinOp and type(expr.op) is ast.Add and depth < 3:
        return _ast_credential(expr.left, depth + 1) or _ast_credential(expr.right, depth + 1)
    if kind is ast.Name:
        return _credential_name(expr.id)
    if kind is ast.Attribute:
        return _credential_name(expr.attr)
    if kind is ast.Subscript:
        return _credential_name(ast_string(expr.slice))
    if kind is ast.Call and (expr.args or expr.keywords):
        func = expr.func
        first = expr.args[0] if expr.args else expr.keywords[0].value
        if (type(func) is ast.Attribute and func.attr in ("get", "getenv", "getlist")) \
                or (type(func) is ast.Name and func.id == "getenv"):
            return _credential_name(ast_string(first.value if type(first) is ast.Starred else first))
    return False


def may_compare_credential(outline) -> bool:
    """Can the rule report in this file (CPython's tree, `mcplint.outline`)? Only at an
    `==` or `!=` between two values that are not literals, one of which `_credential`
    may take for a credential (the rule asks more of the other one)."""
    for node in outline.of(ast.Compare):
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            if type(op) in (ast.Eq, ast.NotEq) and not (_ast_literal(left) or _ast_literal(right)) \
                    and (_ast_credential(left) or _ast_credential(right)):
                return True
            left = right
    return False


def _receiver(expr: cst.BaseExpression) -> str:
    if isinstance(expr, cst.Subscript):
        return dotted(expr.value) or ""
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
        return dotted(expr.func.value) or ""
    return ""


class TokenCompareNotConstantTime(Rule, Nesting):
    """A token, API key or secret is compared with `==` / `!=`.

    ## What it does
    Reports `==` and `!=` comparisons where one side is a credential (a name such
    as `token`, `api_key`, `secret`, `password`, `signature`, an `Authorization` or
    `X-API-Key` header, `os.getenv("MCP_API_KEY")`, `f"Bearer {TOKEN}"`) and the
    other side is what the client sent (a request header, query parameter or
    cookie, or a tool parameter) or, inside code that authenticates (an auth
    middleware, a `verify_token` method), another credential.

    To stay quiet on ordinary code, comparisons with literals, `None` or lengths are
    skipped, and two credential-named values are only reported where the code is
    an authentication check. Test files are skipped.

    ## Why is this bad?
    `==` on strings stops at the first differing byte, so the time a rejected
    request takes tells an attacker how many leading characters of their guess
    were right. With enough requests (easier from the same host or cloud region,
    which is where a network-served MCP server's callers are), the token can be
    recovered one character at a time. `hmac.compare_digest` takes the same time
    whatever matches.

    ## Example
    ```python
    import os

    from mcp.server.fastmcp import FastMCP
    from starlette.middleware.base import BaseHTTPMiddleware
    from starlette.responses import JSONResponse

    API_KEY = os.environ["MCP_API_KEY"]
    mcp = FastMCP("notes")

    class ApiKeyMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            if request.headers.get("x-api-key") != API_KEY:
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            return await call_next(request)

    app = mcp.streamable_http_app()
    app.add_middleware(ApiKeyMiddleware)
    ```

    ## Use instead
    Compare with `hmac.compare_digest` (or `secrets.compare_digest`) on bytes.
    ```python
    import hmac
    import os

    from mcp.server.fastmcp import FastMCP
    from starlette.middleware.base import BaseHTTPMiddleware
    from starlette.responses import JSONResponse

    API_KEY = os.environ["MCP_API_KEY"]
    mcp = FastMCP("notes")

    class ApiKeyMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            sent = request.headers.get("x-api-key", "")
            if not hmac.compare_digest(sent.encode(), API_KEY.encode()):
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            return await call_next(request)

    app = mcp.streamable_http_app()
    app.add_middleware(ApiKeyMiddleware)
    ```

    ## References
    - [CWE-208: Observable Timing Discrepancy](https://cwe.mitre.org/data/definitions/208.html)
    - [Python: hmac.compare_digest](https://docs.python.org/3/library/hmac.html#hmac.compare_digest)
    """

    code = "MCP104"
    name = "token-compare-not-constant-time"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 208
    checklist = "MCP-C01"
    # a comparison, and a word of a credential's name (`_credential_name`) in the file
    in_imported_modules = Prefilter(
        None,
        anchors=(b"==", b"!="),
        requires=Literals(*(word.encode() for word in CREDENTIAL_WORDS)),
        lowercase=True,
    )
    # ... and an `==`/`!=` with a credential on one side
    imported_if = staticmethod(may_compare_credential)
    message = "`{left}` is compared to `{right}` with `{op}`, which takes longer the more characters match"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._in_tests = is_test_path(ctx.path)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if self._in_tests:
            return
        left = node.left
        for target in node.comparisons:
            op = target.operator
            right = target.comparator
            if isinstance(op, (cst.Equal, cst.NotEqual)):
                self._current = node
                confidence = self._judge(left, right)
                if confidence is not None:
                    self.report(node, confidence=confidence, left=_short(self.ctx.code_for(left)),
                                right=_short(self.ctx.code_for(right)), op="==" if isinstance(op, cst.Equal) else "!=")
                    return
            left = right

    def _judge(self, left: cst.BaseExpression, right: cst.BaseExpression) -> Confidence | None:
        if _is_literal(left) or _is_literal(right):
            return None
        lc, rc = self._credential(left), self._credential(right)
        if not (lc or rc):
            return None
        lr, rr = self._from_request(left), self._from_request(right)
        if (lc and lr) or (rc and rr) or (lc and rr) or (rc and lr):
            return Confidence.HIGH
        if not (lc and rc):
            return None
        if self._tool_input(left) or self._tool_input(right):
            return Confidence.HIGH
        if self._authenticating() and self._decides(self._current):
            return Confidence.MEDIUM
        return None

    def _decides(self, comparison: cst.Comparison) -> bool:
        """Is the comparison's outcome a verdict: returned, asserted, or the test of an
        `if` that returns or raises (not one that only logs)?"""
        for holder in reversed(self._holders):
            if isinstance(holder, (cst.Return, cst.Assert)):
                return True
            if isinstance(holder, cst.If) and _within(comparison, holder.test):
                branches = [holder.body] + ([holder.orelse] if holder.orelse is not None else [])
                return any(isinstance(n, (cst.Return, cst.Raise)) for b in branches for n in walk.iter_nodes(b))
        return False

    # statements whose value or test a comparison may sit in
    def visit_Return(self, node: cst.Return) -> None:
        self._holders.append(node)

    def leave_Return(self, original_node: cst.Return) -> None:
        self._holders.pop()

    def visit_Assert(self, node: cst.Assert) -> None:
        self._holders.append(node)

    def leave_Assert(self, original_node: cst.Assert) -> None:
        self._holders.pop()

    def visit_If(self, node: cst.If) -> None:
        super().visit_If(node)
        self._holders.append(node)

    def leave_If(self, original_node: cst.If) -> None:
        super().leave_If(original_node)
        self._holders.pop()

    @property
    def _holders(self) -> list:
        return self.__dict__.setdefault("_holder_stack", [])

    def _credential(self, expr: cst.BaseExpression, depth: int = 0) -> bool:
        expr = _unwrap(expr)
        if isinstance(expr, cst.FormattedString):
            return any(isinstance(part, cst.FormattedStringExpression) and self._credential(part.expression, depth + 1)
                       for part in expr.parts)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add) and depth < 3:
            return self._credential(expr.left, depth + 1) or self._credential(expr.right, depth + 1)
        return _credential_name(_key(expr))

    def _from_request(self, expr: cst.BaseExpression) -> bool:
        expr = _unwrap(expr)
        if isinstance(expr, cst.Name):
            assigned = self._local_assignments().get(expr.value)
            return assigned is not None and self._request_read(_unwrap(assigned))
        return self._request_read(expr)

    @staticmethod
    def _request_read(expr: cst.BaseExpression) -> bool:
        receiver = _receiver(expr)
        return bool(receiver) and any(part in _REQUEST_PARTS for part in receiver.split("."))

    def _tool_input(self, expr: cst.BaseExpression) -> bool:
        handler = self.ctx.handler
        if handler is None or handler.kind == "function":
            return False
        return self.ctx.taint(expr) is not None

    def _authenticating(self) -> bool:
        function, klass = self.function, self.klass
        return bool((function is not None and _AUTH_FUNCTION.search(function.name.value))
                    or (klass is not None and _AUTH_CLASS.search(klass.name.value)))

    def _local_assignments(self) -> dict[str, cst.BaseExpression]:
        """`name = value` in the enclosing function (first binding), cached per function."""
        function = self.function
        if function is None:
            return {}
        cache = self.__dict__.setdefault("_assigned", {})
        found = cache.get(id(function))
        if found is None:
            found = cache[id(function)] = {}
            for node in walk.iter_nodes(function.body):
                if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
                    found.setdefault(node.targets[0].target.value, node.value)
                elif isinstance(node, cst.AnnAssign) and node.value is not None and isinstance(node.target, cst.Name):
                    found.setdefault(node.target.value, node.value)
        return found


def _within(node: cst.CSTNode, root: cst.CSTNode) -> bool:
    return any(n is node for n in walk.iter_nodes(root))


def _short(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
