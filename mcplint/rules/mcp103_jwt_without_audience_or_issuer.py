
import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk, walk
from mcplint.mcp.builder import call_args, string_value
from mcplint.prefilter import containing, lazy_compile
from mcplint.rule import Rule
from mcplint.rules.mcp102_dev_token_verifier import Nesting
from mcplint.files import is_test_path

# decode options that switch a check off, worst first: (option, severity, what is lost)
_OPTIONS = (
    ("verify_signature", Severity.CRITICAL, "skips the signature check, so anyone can forge a token"),
    ("verify_aud", Severity.HIGH, "skips the audience check, so tokens issued for other services pass"),
    ("verify_iss", Severity.MEDIUM, "skips the issuer check"),
    ("verify_exp", Severity.MEDIUM, "accepts expired tokens"),
)
# Code that decides who the caller is (an unverified peek elsewhere may be harmless).
_VERIFYING = lazy_compile(r"(?i)verif|validat|authent|authoriz|check|require|introspect|current_user|get_user|identity"
                        r"|login|permission|access_token|bearer")
_VERIFYING_CLASS = lazy_compile(r"Verifier|Auth|Provider|Middleware|Backend")


def _false(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "False"


def _none(expr: cst.BaseExpression | None) -> bool:
    return expr is None or (isinstance(expr, cst.Name) and expr.value == "None")


class JwtWithoutAudienceOrIssuer(Rule, Nesting):
    """JWT verification that does not pin the audience or issuer, or skips checks.

    ## What it does
    Reports token verification that accepts tokens it should not:

    - fastmcp's `JWTVerifier(...)` (and the older `BearerAuthProvider`) without
      `audience=` or without `issuer=` (and no `verifier.audience = ...` later in
      the file): omitted, the claim is not checked;
    - `jwt.decode(...)` of PyJWT and python-jose with `options={"verify_signature":
      False}` (or PyJWT 1.x `verify=False`), `"verify_aud": False`, `"verify_iss":
      False` or `"verify_exp": False`, and `algorithms` that include `"none"`;
    - authlib's `jwt.decode(...)` without `claims_options` (it then checks neither
      `iss` nor `aud`).

    A skipped signature check is reported with medium confidence unless it sits in
    code that authenticates (a `verify_token` method, an auth middleware): reading
    claims without verifying them is fine when nothing trusts the result. fastmcp
    2.12–2.x could fill omitted verifier arguments from `FASTMCP_SERVER_AUTH_JWT_*`
    variables, so without a pinned fastmcp 3+ a missing argument is medium
    confidence. Test files are skipped.

    ## Why is this bad?
    Identity providers sign tokens for many applications with the same keys. A
    verifier that does not check the audience accepts a token the user obtained for
    any other application of the same tenant, and one that does not check the
    issuer accepts tokens from every tenant that shares the key set (multi-tenant
    providers). Skipping the signature or allowing `none` lets anyone write their
    own token. The MCP authorization specification requires servers to validate
    that tokens were issued for them (RFC 8707 audience binding).

    ## Example
    ```python
    from fastmcp import FastMCP
    from fastmcp.server.auth.providers.jwt import JWTVerifier

    auth = JWTVerifier(jwks_uri="https://login.example.com/.well-known/jwks.json")
    mcp = FastMCP("crm", auth=auth)
    ```

    ## Use instead
    Pin both the issuer and this server's audience.
    ```python
    from fastmcp import FastMCP
    from fastmcp.server.auth.providers.jwt import JWTVerifier

    auth = JWTVerifier(
        jwks_uri="https://login.example.com/.well-known/jwks.json",
        issuer="https://login.example.com",
        audience="https://crm.example.com/mcp",
    )
    mcp = FastMCP("crm", auth=auth)
    ```

    ## References
    - [CWE-287: Improper Authentication](https://cwe.mitre.org/data/definitions/287.html)
    - [CWE-347: Improper Verification of Cryptographic Signature](https://cwe.mitre.org/data/definitions/347.html)
    - [MCP specification: Authorization, token audience binding and validation](https://modelcontextprotocol.io/specification/2025-06-18/basic/authorization#token-audience-binding-and-validation)
    - [RFC 8725: JSON Web Token Best Current Practices](https://www.rfc-editor.org/rfc/rfc8725)
    """

    code = "MCP103"
    name = "jwt-without-audience-or-issuer"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = 287
    checklist = "MCP-C01"
    in_imported_modules = containing(b"jwt", b"authlib", b"fastmcp", lowercase=True)  # JWT libraries, fastmcp verifiers
    message = "`{call}` {problem}"

    def visit_Call(self, node: cst.Call) -> None:
        qualified = self.ctx.qualify(node.func) or ""
        if qualified in sdk.JWT_VERIFIER_CLASSES:
            if not is_test_path(self.ctx.path):
                self._verifier(node, qualified.rsplit(".", 1)[-1])
        elif qualified in sdk.JWT_DECODE_FUNCTIONS:
            if not is_test_path(self.ctx.path):
                self._decode(node, qualified)
        elif qualified in sdk.AUTHLIB_JWT_DECODE:
            _, keywords, star = call_args(node)
            if not star and "claims_options" not in keywords and not is_test_path(self.ctx.path):
                self.report(node, confidence=Confidence.MEDIUM, call=qualified,
                            problem="without `claims_options` checks neither the issuer nor the audience")

    # fastmcp JWTVerifier
    def _verifier(self, node: cst.Call, cls: str) -> None:
        _, keywords, star = call_args(node)
        if star:
            return
        missing = [name for name in ("audience", "issuer")
                   if _none(keywords[name].value if name in keywords else None) and name not in self._set_later()]
        if not missing:
            self.evidence(node, f"JWT verifier `{cls}` checks issuer and audience")
            return
        severity = Severity.HIGH if "audience" in missing else Severity.MEDIUM
        confidence, note = self._env_may_fill()
        what = " or ".join(f"`{m}=`" for m in missing)
        claims = " and ".join({"audience": "audience", "issuer": "issuer"}[m] for m in missing)
        self.report(node, severity=severity, confidence=confidence, call=f"{cls}(...)",
                    problem=f"has no {what}: tokens are accepted whatever their {claims}{note}")

    def _set_later(self) -> set[str]:
        """`verifier.audience = url` somewhere in the file: bound after construction."""
        found = self.__dict__.get("_later")
        if found is None:
            found = self._later = set()
            for node in walk.iter_nodes(self.ctx.module):
                if isinstance(node, cst.Assign):
                    for target in node.targets:
                        if isinstance(target.target, cst.Attribute) and target.target.attr.value in ("audience", "issuer"):
                            found.add(target.target.attr.value)
        return found

    def _env_may_fill(self) -> tuple[Confidence, str]:
        version = self.ctx.project.version("fastmcp")
        major = version[0] if version else self.ctx.project.major("fastmcp")
        if version is not None and not (sdk.JWT_VERIFIER_ENV_SINCE <= version[:2] < sdk.JWT_VERIFIER_ENV_UNTIL):
            return Confidence.HIGH, ""
        if version is None and major is not None and major >= sdk.JWT_VERIFIER_ENV_UNTIL[0]:
            return Confidence.HIGH, ""
        if version is not None:
            shown = ".".join(map(str, version))
            return Confidence.MEDIUM, f" (unless FASTMCP_SERVER_AUTH_JWT_* variables set it: fastmcp {shown} reads them)"
        return Confidence.MEDIUM, " (fastmcp version unknown: 2.x reads FASTMCP_SERVER_AUTH_JWT_* variables)"

    # PyJWT / python-jose
    def _decode(self, node: cst.Call, qualified: str) -> None:
        _, keywords, _ = call_args(node)
        found: list[tuple[Severity, str]] = []
        options = self._options(keywords["options"].value) if "options" in keywords else {}
        if _false(keywords["verify"].value if "verify" in keywords else None):
            options.setdefault("verify_signature", keywords["verify"].value)
        for option, severity, lost in _OPTIONS:
            if _false(options.get(option)):
                found.append((severity, f"with `{option}: False` {lost}"))
        algorithms = keywords["algorithms"].value if "algorithms" in keywords else None
        if isinstance(algorithms, (cst.List, cst.Tuple, cst.Set)):
            names = [string_value(e.value) for e in algorithms.elements if isinstance(e, cst.Element)]
            if any(n is not None and n.lower() == "none" for n in names):
                found.append((Severity.CRITICAL, "allows the `none` algorithm, so unsigned tokens pass"))
        if not found:
            return
        found.sort(key=lambda item: item[0], reverse=True)
        severity = found[0][0]
        confidence = Confidence.HIGH
        if "verify_signature" in found[0][1] and not self._authenticating():
            confidence = Confidence.MEDIUM  # may be a peek at the claims that nothing trusts
        problem = "; ".join(text for _, text in found)
        self.report(node, severity=severity, confidence=confidence, call=qualified, problem=problem)

    def _authenticating(self) -> bool:
        function, klass = self.function, self.klass
        return bool((function is not None and _VERIFYING.search(function.name.value))
                    or (klass is not None and _VERIFYING_CLASS.search(klass.name.value)))

    def _options(self, expr: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
        """`{"verify_aud": False}` written inline or bound to a name in this file."""
        if isinstance(expr, cst.Name):
            expr = self._assigned_dict(expr.value) or expr
        if isinstance(expr, cst.Call) and (self.ctx.qualify(expr.func) or "") == "dict":
            return {a.keyword.value: a.value for a in expr.args if a.keyword is not None}
        if not isinstance(expr, cst.Dict):
            return {}
        out = {}
        for element in expr.elements:
            if isinstance(element, cst.DictElement):
                key = string_value(element.key)
                if key is not None:
                    out[key] = element.value
        return out

    def _assigned_dict(self, name: str) -> cst.BaseExpression | None:
        cache = getattr(self, "_dicts", None)
        if cache is None:
            cache = self._dicts = {}
            for node in walk.iter_nodes(self.ctx.module):
                if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
                    if isinstance(node.value, (cst.Dict, cst.Call)):
                        cache.setdefault(node.targets[0].target.value, node.value)
        return cache.get(name)
