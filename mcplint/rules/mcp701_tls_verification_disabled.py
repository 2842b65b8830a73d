import re

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.fix import remove_argument, replace
from mcplint.mcp import walk
from mcplint.mcp.builder import string_value
from mcplint.mcp.names import dotted
from mcplint.prefilter import AnyOf, Prefilter, lazy_compile
from mcplint.rule import Rule
from mcplint.files import is_test_path
from mcplint.rules.mcp801_outbound_call_without_timeout import REQUESTS_SESSIONS, ClientScopes, module_constants

PREFILTER = AnyOf(
    Prefilter(
        lazy_compile(
            rb"verif\w*\s*=\s*(?:false|0)\b|cert_none|check_hostname\s*=\s*false|_create_unverified_context"
            rb"|\bssl\s*=\s*false|tlsallowinvalid\w*\s*=\s*true|tlsinsecure\s*=\s*true|cert_reqs\s*=\s*[\"']none"
        ),
        anchors=(b"verif", b"cert_none", b"check_hostname", b"_create_unverified_context", b"ssl", b"tlsallowinvalid",
                 b"tlsinsecure", b"cert_reqs"),
        lowercase=True,
        starts=True,
    ),
    # verify=VERIFY_SSL: a module constant (set to False)
    Prefilter(lazy_compile(rb"\bverify\w*\s*=\s*[A-Z][A-Z0-9_]*\b"), anchors=(b"verify",), starts=True),
)

HTTP_VERBS = frozenset({"get", "post", "put", "delete", "head", "patch", "options", "request", "stream", "send",
                        "ws_connect", "urlopen"})
# Where `verify=False` is known to mean "do not check the server's certificate", and
# where removing it restores the library's verifying default.
FIXABLE_VERIFY = lazy_compile(r"^(?:requests\.(?:api\.)?(?:get|post|put|delete|head|patch|options|request)"
                            r"|httpx\.(?:get|post|put|delete|head|patch|options|request|stream|Client|AsyncClient))$")
KNOWN_HTTP_PREFIXES = ("requests.", "httpx.", "aiohttp.", "urllib3.", "boto3.", "botocore.", "websocket",
                       "websockets.")
# Keywords of third-party clients that switch certificate checks off when False.
VERIFY_KEYWORDS = frozenset({"verify", "verify_ssl", "ssl_verify", "verify_certs", "verify_cert", "verify_tls",
                             "tls_verify", "ssl_verify_cert", "validate_certs", "verify_certificate"})
# ... and when True.
INSECURE_KEYWORDS = frozenset({"tlsAllowInvalidCertificates", "tlsAllowInvalidHostnames", "tlsInsecure",
                               "ssl_insecure", "insecure_skip_verify"})
CERT_REQS_KEYWORDS = frozenset({"cert_reqs", "ssl_cert_reqs"})
# `verify=False` elsewhere: signatures, not certificates (PyJWT < 2, python-jose).
NOT_TLS = lazy_compile(r"jwt|jose|jws|jwk|signature|hmac|gpg|gnupg|itsdangerous", re.IGNORECASE)
NOT_TLS_METHODS = frozenset({"decode", "encode", "verify", "loads", "dumps", "sign", "unsign"})
# An `if` that makes the unverified path a choice of whoever deploys the server.
OPT_IN = lazy_compile(r"insecure|verify|ssl|tls|cert|hostname", re.IGNORECASE)
# A function or class named for skipping checks (`SSLIgnoreAdapter`, `insecure_client`):
# code written to be chosen deliberately.
DELIBERATE = lazy_compile(r"insecure|ignore|no_?verify|unverified|skip_?verif|disable", re.IGNORECASE)


def _is_false(expr: cst.BaseExpression) -> bool:
    return (isinstance(expr, cst.Name) and expr.value == "False") or (
        isinstance(expr, cst.Integer) and expr.value == "0")


def _is_true(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


class TlsVerificationDisabled(ClientScopes, Rule):
    """A TLS connection is made without checking the server's certificate.

    ## What it does
    Reports, in any Python file (test code excepted):

    - `verify=False` given to requests, httpx, boto3 and any other client (or
      `verify_ssl=False`, `ssl_verify=False`, `verify_certs=False`); PyJWT's and
      python-jose's `verify` (signatures, not TLS) are left alone;
    - `ssl=False` given to aiohttp (`session.get(url, ssl=False)`, `TCPConnector`);
    - `cert_reqs=ssl.CERT_NONE` / `"CERT_NONE"` (urllib3, `ssl.wrap_socket`, redis'
      `ssl_cert_reqs="none"`) and pymongo's `tlsAllowInvalidCertificates=True`;
    - `ssl._create_unverified_context` (called, or installed as the default);
    - `context.check_hostname = False` and `context.verify_mode = ssl.CERT_NONE`;
    - `session.verify = False` on a requests `Session`.

    A `False` held in a module constant (`VERIFY_SSL = False`) counts. Severity is
    high in MCP server files and medium elsewhere; confidence is lower for clients
    mcplint does not know, and low inside an `if` about verification (`if
    settings.insecure:`) or a function or class named for it (`SSLIgnoreAdapter`),
    where turning checks off is the deployer's choice.

    The fix removes `verify=False` from requests and httpx calls, which restores
    their verifying default.

    ## Why is this bad?
    Without certificate checks, anyone on the network path (a café's Wi-Fi, a
    compromised router, a malicious proxy) can impersonate the remote service: read
    the API keys and tokens the MCP server sends, and feed the agent forged data
    that it will trust and act on.

    ## Example
    ```python
    import httpx
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("tickets")

    @mcp.tool()
    async def open_tickets(project: str) -> str:
        async with httpx.AsyncClient(verify=False) as client:
            response = await client.get(f"https://tickets.internal.example/api/{project}")
            return response.text
    ```

    ## Use instead
    Keep verification on; for a private CA, point `verify` at its bundle.
    ```python
    import httpx
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("tickets")

    @mcp.tool()
    async def open_tickets(project: str) -> str:
        async with httpx.AsyncClient(verify="/etc/ssl/certs/internal-ca.pem") as client:
            response = await client.get(f"https://tickets.internal.example/api/{project}")
            return response.text
    ```

    ## References
    - [CWE-295: Improper Certificate Validation](https://cwe.mitre.org/data/definitions/295.html)
    - [requests: SSL Cert Verification](https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification)
    - [Python docs: `ssl` security considerations](https://docs.python.org/3/library/ssl.html#security-considerations)
    """

    code = "MCP701"
    name = "tls-verification-disabled"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 295
    checklist = "MCP-C05"
    message = "{what}: {consequence}"
    scope = "python"
    prefilter = PREFILTER

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._skip = is_test_path(ctx.path)
        self._mcp = ctx.imports.imports_package(("mcp", "fastmcp"))
        self._opt_in: list[bool] = []
        self._classes: list[str] = []
        self._constants: dict[str, cst.BaseExpression] | None = None
        self._in_import = 0

    # -- scopes (and functions: ClientScopes) ------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._classes.pop()

    def visit_If(self, node: cst.If) -> None:
        self._opt_in.append(OPT_IN.search(self.ctx.code_for(node.test)) is not None)

    def leave_If(self, original_node: cst.If) -> None:
        self._opt_in.pop()

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._in_import += 1

    def leave_ImportFrom(self, original_node: cst.ImportFrom) -> None:
        self._in_import -= 1

    # -- what turns checks off ---------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if self._skip:
            return
        name = dotted(node.func) or ""
        qualified = self.ctx.imports.qualify_dotted(name) if self.ctx.imports.is_imported(name) else ""
        method = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
        shown = qualified or self.ctx.code_for(node.func)
        for arg in node.args:
            if arg.keyword is None:
                continue
            keyword = arg.keyword.value
            if keyword in VERIFY_KEYWORDS and self._false(arg.value):
                self._verify(node, arg, qualified, method, shown)
            elif keyword == "ssl" and self._false(arg.value) and (
                    qualified.startswith("aiohttp.") or (method in HTTP_VERBS and not qualified)):
                self._flag(arg, f"`ssl=False` in `{shown}(...)`", "aiohttp skips the certificate check")
            elif keyword in INSECURE_KEYWORDS and _is_true(arg.value):
                self._flag(arg, f"`{keyword}=True` in `{shown}(...)`", "the server's certificate is not checked",
                           confidence=Confidence.MEDIUM)
            elif keyword in CERT_REQS_KEYWORDS and self._cert_none(arg.value):
                self._flag(arg, f"`{keyword}={self.ctx.code_for(arg.value)}` in `{shown}(...)`",
                           "the server's certificate is not checked")

    def _verify(self, node: cst.Call, arg: cst.Arg, qualified: str, method: str, shown: str) -> None:
        if NOT_TLS.search(qualified) or method in NOT_TLS_METHODS:
            return
        session = isinstance(node.func, cst.Attribute) and method in HTTP_VERBS and self._client_kind(
            node.func.value) in REQUESTS_SESSIONS
        known = qualified.startswith(KNOWN_HTTP_PREFIXES) or session or method in HTTP_VERBS
        fix = None
        if arg.keyword.value == "verify" and (FIXABLE_VERIFY.match(qualified) or session):
            fix = replace(node, remove_argument(node, arg), f"remove `{arg.keyword.value}={self.ctx.code_for(arg.value)}`")
        self._flag(arg, f"`{arg.keyword.value}={self.ctx.code_for(arg.value)}` in `{shown}(...)`",
                   "the server's certificate is not checked",
                   confidence=Confidence.HIGH if known else Confidence.MEDIUM, fix=fix)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if not self._skip and node.attr.value == "_create_unverified_context" and (
                self.ctx.qualify(node) or "") == "ssl._create_unverified_context":
            self._unverified(node)

    def visit_Name(self, node: cst.Name) -> None:
        if (not self._skip and not self._in_import and node.value == "_create_unverified_context"
                and self.ctx.qualify(node) == "ssl._create_unverified_context"):
            self._unverified(node)

    def _unverified(self, node: cst.CSTNode) -> None:
        self._flag(node, "`ssl._create_unverified_context`", "a context that checks neither certificate nor host name")

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._skip:
            return
        for target in node.targets:
            if not isinstance(target.target, cst.Attribute):
                continue
            attr = target.target.attr.value
            receiver = self.ctx.code_for(target.target.value)
            if attr == "check_hostname" and self._false(node.value):
                self._flag(node, f"`{receiver}.check_hostname = False`",
                           "any valid certificate is accepted for any host name")
            elif attr == "verify_mode" and self._cert_none(node.value):
                self._flag(node, f"`{receiver}.verify_mode = {self.ctx.code_for(node.value)}`",
                           "the server's certificate is not checked")
            elif attr == "verify" and self._false(node.value) and self._client_kind(
                    target.target.value) in REQUESTS_SESSIONS:
                self._flag(node, f"`{receiver}.verify = False`", "every request of the session skips the certificate check")

    # -- helpers -----------------------------------------------------------------------
    def _flag(self, node: cst.CSTNode, what: str, consequence: str, confidence: Confidence = Confidence.HIGH,
              fix=None) -> None:
        named = [f.name.value for f in self._functions] + self._classes
        if any(self._opt_in) or any(DELIBERATE.search(name) for name in named):
            confidence = Confidence.LOW
        handler = self.ctx.handler
        in_handler = handler is not None and handler.kind != "function"  # not a helper analysed for summaries
        severity = Severity.HIGH if self._mcp or in_handler else Severity.MEDIUM
        self.report(node, what=what, consequence=consequence, severity=severity, confidence=confidence, fix=fix)

    def _false(self, expr: cst.BaseExpression) -> bool:
        if _is_false(expr):
            return True
        if isinstance(expr, cst.Name):
            value = self._module_constants().get(expr.value)
            return value is not None and _is_false(value)
        return False

    def _cert_none(self, expr: cst.BaseExpression) -> bool:
        text = string_value(expr)
        if text is not None:
            return text.strip().lower() in ("cert_none", "none")
        return (self.ctx.qualify(expr) or "") in ("ssl.CERT_NONE", "ssl.VerifyMode.CERT_NONE")

    def _module_constants(self) -> dict[str, cst.BaseExpression]:
        """Module-level names assigned exactly once."""
        if self._constants is None:
            reassigned = {item.name.value for n in walk.iter_nodes(self.ctx.module) if isinstance(n, cst.Global)
                          for item in n.names}
            self._constants = module_constants(self.ctx.module, reassigned)
        return self._constants
