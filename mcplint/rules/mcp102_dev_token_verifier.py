
import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk
from mcplint.mcp.builder import call_args
from mcplint.prefilter import containing, lazy_compile
from mcplint.rule import Rule
from mcplint.files import is_test_path

# An `if` whose test reads like a development switch: `if settings.debug:`, `if DEV_MODE:`.
_DEV_SWITCH = lazy_compile(r"(?i)(?:^|[^a-z])(?:dev|devel|development|debug|test|testing|local|demo|sandbox|insecure)"
                         r"(?:[^a-z]|$)|_dev\b|dev_")
# Functions that only tests or local demos call.
_DEV_FUNCTION = lazy_compile(r"(?i)^(?:test_|_?(?:dev|debug|demo|local|fake|mock|dummy)_)|_(?:dev|debug|test|demo)$")


class Nesting:
    """Mixin for rules: the enclosing function names, classes and `if` tests while visiting."""

    def _nesting(self) -> dict:
        state = getattr(self, "_nesting_state", None)
        if state is None:
            state = self._nesting_state = {"functions": [], "classes": [], "ifs": []}
        return state

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._nesting()["functions"].append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._nesting()["functions"].pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._nesting()["classes"].append(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._nesting()["classes"].pop()

    def visit_If(self, node: cst.If) -> None:
        self._nesting()["ifs"].append(node)

    def leave_If(self, original_node: cst.If) -> None:
        self._nesting()["ifs"].pop()

    @property
    def function(self) -> cst.FunctionDef | None:
        functions = self._nesting()["functions"]
        return functions[-1] if functions else None

    @property
    def klass(self) -> cst.ClassDef | None:
        classes = self._nesting()["classes"]
        return classes[-1] if classes else None

    def in_dev_branch(self, ctx) -> bool:
        """Inside `if DEBUG:` (or its `else`), or a function named for tests or demos."""
        if any(_DEV_FUNCTION.search(f.name.value) for f in self._nesting()["functions"]):
            return True
        for node in self._nesting()["ifs"]:
            if _DEV_SWITCH.search(ctx.code_for(node.test)):
                return True
        return False


def dev_auth_class(qualified: str) -> str | None:
    """The last name of a fastmcp development-only auth class, if `qualified` is one."""
    if not qualified.startswith("fastmcp."):
        return None
    head, _, last = qualified.rpartition(".")
    if last == "generate" and head.endswith(".RSAKeyPair"):
        return "RSAKeyPair"
    return last if last in sdk.DEV_AUTH_CLASSES and last != "RSAKeyPair" else None


def _accepts_everything(call: cst.Call) -> bool:
    """`DebugTokenVerifier()` or `DebugTokenVerifier(validate=lambda t: True)`."""
    positional, keywords, star = call_args(call)
    if star:
        return False
    validate = keywords["validate"].value if "validate" in keywords else (positional[0].value if positional else None)
    if validate is None:
        return True
    return isinstance(validate, cst.Lambda) and isinstance(validate.body, cst.Name) and validate.body.value == "True"


class DevTokenVerifier(Rule, Nesting):
    """A development-only token verifier or auth provider guards a server.

    ## What it does
    Reports fastmcp's test helpers used as a server's authentication outside test
    code: `StaticTokenVerifier(tokens={...})` (a fixed table of plaintext tokens),
    `DebugTokenVerifier()` with no `validate=` (it accepts every non-empty token),
    `InMemoryOAuthProvider()` (an OAuth server in memory that registers any client
    and issues it tokens) and `RSAKeyPair.generate()` (a throwaway key pair for
    minting test tokens). The official SDK has no such classes.

    Files under `tests/`, `test_*.py` and `conftest.py` are skipped. Confidence is
    low inside a branch or function that reads like a development switch (`if
    settings.debug:`, `def dev_server():`); a `StaticTokenVerifier` whose tokens come
    from configuration rather than the source is medium severity and confidence (in
    effect a shared API key: weak, not public).

    ## Why is this bad?
    These classes exist so that tests and local demos need no identity provider.
    Their tokens never expire or rotate, carry whatever scopes the table says, and
    live in the process (often in the source, where anyone with the repository has
    them); `DebugTokenVerifier` checks nothing at all. The fastmcp docs say so:
    "Never use this in production". A server that ships with one has
    authentication in name only.

    ## Example
    ```python
    from fastmcp import FastMCP
    from fastmcp.server.auth.providers.jwt import StaticTokenVerifier

    verifier = StaticTokenVerifier(tokens={"team-token": {"client_id": "ops", "scopes": ["admin"]}})
    mcp = FastMCP("ops", auth=verifier)

    @mcp.tool
    def restart(service: str) -> str:
        return f"restarting {service}"

    mcp.run(transport="http", host="127.0.0.1")
    ```

    ## Use instead
    Verify real tokens from your identity provider (`JWTVerifier` with the issuer's
    JWKS, an introspection verifier, or an OAuth provider).
    ```python
    from fastmcp import FastMCP
    from fastmcp.server.auth.providers.jwt import JWTVerifier

    verifier = JWTVerifier(
        jwks_uri="https://login.example.com/.well-known/jwks.json",
        issuer="https://login.example.com",
        audience="ops-mcp",
    )
    mcp = FastMCP("ops", auth=verifier)

    @mcp.tool
    def restart(service: str) -> str:
        return f"restarting {service}"

    mcp.run(transport="http", host="127.0.0.1")
    ```

    ## References
    - [CWE-1188: Initialization of a Resource with an Insecure Default](https://cwe.mitre.org/data/definitions/1188.html)
    - [FastMCP: Token verification (static tokens are for development)](https://gofastmcp.com/servers/auth/token-verification)
    - [MCP specification: Authorization](https://modelcontextprotocol.io/specification/2025-06-18/basic/authorization)
    """

    code = "MCP102"
    name = "dev-token-verifier"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = 1188
    checklist = "MCP-C01"
    in_imported_modules = containing(b"fastmcp")  # fastmcp's own development classes
    message = "`{cls}` {what}; it is meant for tests and local development{where}"

    def visit_Call(self, node: cst.Call) -> None:
        qualified = self.ctx.qualify(node.func) or ""
        cls = dev_auth_class(qualified)
        if cls is None or is_test_path(self.ctx.path):
            return
        severity, confidence = self.severity, self.confidence
        what = sdk.DEV_AUTH_CLASSES[cls]
        if cls == "DebugTokenVerifier":
            if not _accepts_everything(node):
                return  # a custom validate= is the documented use for opaque tokens
            severity = Severity.CRITICAL
        elif cls == "StaticTokenVerifier" and not _literal_tokens(node):
            # tokens from configuration: a shared API key in effect, weak rather than public
            severity, confidence = Severity.MEDIUM, Confidence.MEDIUM
        elif cls == "RSAKeyPair":
            what = "generates a throwaway key pair: the server mints and accepts its own test tokens"
            confidence = Confidence.MEDIUM
        where = ""
        if self.in_dev_branch(self.ctx):
            confidence = Confidence.LOW
            where = " (in a development-only branch)"
        self.report(node, severity=severity, confidence=confidence, cls=cls, what=what, where=where)


def _literal_tokens(call: cst.Call) -> bool:
    """`tokens={"abc": {...}}`: a token written in the source."""
    positional, keywords, _ = call_args(call)
    tokens = keywords["tokens"].value if "tokens" in keywords else (positional[0].value if positional else None)
    if not isinstance(tokens, cst.Dict):
        return False
    return any(isinstance(e, cst.DictElement) and isinstance(e.key, (cst.SimpleString, cst.ConcatenatedString))
               for e in tokens.elements)
