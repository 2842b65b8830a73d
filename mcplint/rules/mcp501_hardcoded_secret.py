"""MCP501: a credential written into the source.

The module also holds what the Python secret rules share beyond `mcplint.secrets`
(MCP502 imports it): the name a value is bound to, where a literal is only a default,
and the byte prefilters of credential-looking names and token formats.
"""

from __future__ import annotations

import re

import libcst as cst

from mcplint.mcp import walk
from mcplint.files import is_test_path
from mcplint.finding import Confidence, Severity
from mcplint.mcp.builder import argument, string_value
from mcplint.prefilter import AnyOf, Literals, Prefilter, lazy_compile
from mcplint.rule import Rule
from mcplint.secrets import is_secret_name, judge, redact

# -- names ----------------------------------------------------------------------------


def target_name(node: cst.CSTNode) -> str | None:
    """The name a value is bound to: `x`, `self.x` -> `x`, `d["x"]` -> `x`."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        if isinstance(index, cst.Index):
            return string_value(index.value)
    return None


# -- where a literal is only a default (MCP502 reports those) --------------------------

ENV_GETTERS = frozenset({"os.getenv", "os.environ.get", "os.environ.setdefault", "decouple.config"})
# Command-line options: argparse `add_argument`, click `option`, typer `Option`.
OPTION_METHODS = frozenset({"add_argument", "option", "Option"})
FIELD_CALLS = frozenset({"Field", "pydantic.Field", "pydantic.fields.Field", "dataclasses.field", "field"})


def runtime_default(call: cst.Call, qualify) -> tuple[str, str | None, cst.BaseExpression] | None:
    """A fallback for a value that is meant to arrive at run time.

    `os.getenv("NAME", default)` -> ("environment variable", "NAME", default);
    `parser.add_argument("--api-key", default=...)` -> ("option", "--api-key", default).
    """
    qualified = qualify(call.func)
    if qualified in ENV_GETTERS:
        default = argument(call, 1, "default")
        if default is None:
            return None
        return "environment variable", string_value(argument(call, 0, "key") or argument(call, 0, "option")), default
    method = call.func.attr.value if isinstance(call.func, cst.Attribute) else qualified
    if method not in OPTION_METHODS and (qualified or "").rsplit(".", 1)[-1] not in OPTION_METHODS:
        return None
    flags = [string_value(a.value) for a in call.args if a.keyword is None and not a.star]
    flags = [f for f in flags if f and f.startswith("-")]
    default = argument(call, None, "default")
    if not flags or default is None:
        return None
    return "option", max(flags, key=len), default


def env_fallback(node: cst.BooleanOperation, qualify) -> str | None:
    """`os.getenv("NAME") or "literal"`: the variable name ("" when not a literal)."""
    if not isinstance(node.operator, cst.Or):
        return None
    left = node.left
    while isinstance(left, cst.BooleanOperation) and isinstance(left.operator, cst.Or):
        left = left.right  # os.getenv("A") or os.getenv("B") or "literal"
    if isinstance(left, cst.Call) and qualify(left.func) in ENV_GETTERS:
        return string_value(argument(left, 0, "key")) or ""
    return None


def field_default(expr: cst.BaseExpression | None, qualify) -> cst.BaseExpression | None:
    """`Field(default="x")`, `Field("x")`, `field(default="x")`: the default expression."""
    if not isinstance(expr, cst.Call) or qualify(expr.func) not in FIELD_CALLS:
        return None
    return argument(expr, 0, "default")


def is_settings_class(node: cst.ClassDef, qualify) -> bool:
    """A pydantic-settings class: its fields are read from the environment."""
    for base in node.bases:
        name = qualify(base.value) or ""
        if name.rsplit(".", 1)[-1].endswith("Settings"):
            return True
    return False


_LITERALS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedStringText)


def _part_holding(node: cst.CSTNode, secret: str) -> cst.CSTNode:
    """The string of a concatenation over several lines that holds `secret` whole, to
    report on its line; the whole concatenation if the secret spans parts (a PEM key)."""
    pending = [node]
    while pending:
        part = pending.pop()
        if type(part) is cst.ConcatenatedString:
            pending += [part.right, part.left]
        elif part is not node and type(part) is cst.SimpleString and secret in (string_value(part) or ""):
            return part
    return node


def literal_nodes(expr: cst.CSTNode) -> list[cst.CSTNode]:
    """The string nodes inside `expr` (so a rule can mark them handled)."""
    return [node for node in walk.iter_nodes(expr) if isinstance(node, _LITERALS)]


# -- the rule -----------------------------------------------------------------------

_NAME_PATTERN = (
    rb"(?:pass(?:wd|word|phrase)?|pwd|secret|token|api[_-]?key"
    rb"|(?:access|private|signing|encryption|master|auth|client)[_-]?key|credentials?|authorization)"
)
# Where a known token format begins. MCP502 looks for the same: the answer for a file is
# then computed once.
TOKEN_PREFIXES = Literals(
    b"AKIA", b"ASIA", b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_", b"sk-", b"xox", b"rk_live_",
    b"sk_live_", b"AIza", b"GOCSPX-", b"hf_", b"secret_", b"ntn_", b"-----BEGIN", b"eyJ",
)
TOKEN_PREFILTER = Prefilter(
    lazy_compile(
        rb"(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|github_pat_\w{22}"
        rb"|sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20}|xox[abposr]-[A-Za-z0-9-]{10}"
        rb"|[rs]k_live_[A-Za-z0-9]{16}|AIza[0-9A-Za-z_-]{35}|GOCSPX-|hf_[A-Za-z0-9]{34}|(?:secret_|ntn_)[A-Za-z0-9]{40}"
        rb"|-----BEGIN [A-Z0-9 ]*PRIVATE KEY|eyJ[A-Za-z0-9_-]{8,}\.eyJ"
    ),
    anchors=TOKEN_PREFIXES,
)
URL_PASSWORD_PREFILTER = Prefilter(lazy_compile(rb"""://[^\s/:@'"]+:[^\s/@'"]+@"""), anchors=(b"://",), starts=True)
# Searched in the lower-cased bytes: case-insensitive alternations are slow in `re`.
NAME_PREFILTER = Prefilter(
    lazy_compile(
        _NAME_PATTERN + rb"""\w*['"]?\s*(?::[^=\n]{1,60})?(?:==|!=|[:=])\s*[rbu]{0,2}["'][^"'\s]{4}"""
        rb"""|auth\s*=\s*\(\s*[rbu]{0,2}["']"""
    ),
    anchors=(b"pass", b"pwd", b"secret", b"token", b"api", b"access", b"private", b"signing", b"encryption", b"master",
             b"auth", b"client", b"credential"),
    lowercase=True,
    starts=True,
)
PREFILTER = AnyOf(TOKEN_PREFILTER, URL_PASSWORD_PREFILTER, NAME_PREFILTER)


class HardcodedSecret(Rule):
    """A password, API key, token or private key is written into the source.

    ## What it does
    Reports string literals bound to a secret-named variable, attribute, dict key,
    keyword argument, function default or comparison (`API_KEY`, `password`,
    `client_secret`, `auth_token`, `private_key`, `{"Authorization": "Bearer ..."}`),
    and literals anywhere that match a known credential format: AWS access key ids,
    GitHub, OpenAI, Anthropic, Slack, Stripe live, Google and Hugging Face tokens,
    private key blocks, JSON Web Tokens, and passwords inside URLs. It runs on every
    Python file, not only MCP servers.

    Placeholders are not reported: empty strings, `changeme`, `<your-key>`,
    `your-api-key-here`, `xxx`, `***`, `...`, values containing `example`, `test`,
    `dummy`, `fake` or `demo` (so AWS's documented `AKIA...EXAMPLE` keys are silent),
    environment variable names (`"OPENAI_API_KEY"`), command-line options
    (`token == "--template"`), file paths, URLs without
    credentials or whose host is reserved for documentation (`user:pw@db.example.com`,
    `*.test`, `*.invalid`), format strings, and JSON Web Tokens that cannot be signed
    (no signature, or one that reads as text once decoded: a test's stand-in). Names
    such as `token_url`, `password_field`, `max_tokens`, `TOKEN_TYPE`, `secret_name`
    and `key_path` are not secrets.
    Confidence is high for a known token format or a long random-looking value,
    medium for letters mixed with digits or symbols, low for a plain word, which is
    reported only for passwords (a word bound to `token` or `api_key` is a label).
    Values under 6 characters are ignored. In test files only random-looking values
    and token formats count, one level lower. Messages show only the first
    characters. Defaults of `os.getenv` and settings fields are MCP502's.

    ## Why is this bad?
    An MCP server is published and installed by others: a key in its source is in
    every copy, every fork and the git history, and rotating it breaks them all. Any
    user of the server acts with the author's identity and quota, and a leaked key
    cannot be taken back.

    ## Example
    ```python
    from mcp.server.fastmcp import FastMCP
    import httpx

    OPENWEATHER_API_KEY = "3f9a1c07d2b84e6fa5c9e0b1d7f42a68"

    mcp = FastMCP("weather")

    @mcp.tool()
    def forecast(city: str) -> dict:
        params = {"q": city, "appid": OPENWEATHER_API_KEY}
        return httpx.get("https://api.openweathermap.org/data/2.5/forecast", params=params, timeout=10).json()
    ```

    ## Use instead
    Read the secret from the environment (or a secret manager) at startup and fail
    clearly when it is missing.
    ```python
    import os
    from mcp.server.fastmcp import FastMCP
    import httpx

    OPENWEATHER_API_KEY = os.environ["OPENWEATHER_API_KEY"]

    mcp = FastMCP("weather")

    @mcp.tool()
    def forecast(city: str) -> dict:
        params = {"q": city, "appid": OPENWEATHER_API_KEY}
        return httpx.get("https://api.openweathermap.org/data/2.5/forecast", params=params, timeout=10).json()
    ```

    ## References
    - [CWE-798: Use of Hard-coded Credentials](https://cwe.mitre.org/data/definitions/798.html)
    - [OWASP Secrets Management Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html)
    """

    code = "MCP501"
    name = "hardcoded-secret"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = 798
    checklist = "MCP-C08"
    redact = True
    message = "hardcoded {kind} {preview} {where}"
    scope = "python"
    prefilter = PREFILTER

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._handled: set[int] = set()
        self._classes: list[bool] = []  # is each enclosing class a settings class?
        self._asserts = 0
        self._in_tests = is_test_path(ctx.path)

    # -- bookkeeping ---------------------------------------------------------------
    def _skip(self, expr: cst.CSTNode | None) -> None:
        if expr is not None:
            self._handled.update(id(n) for n in literal_nodes(expr))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(is_settings_class(node, self.ctx.qualify))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._classes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._classes.append(False)  # a function body is not a class body
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.default is not None and is_secret_name(param.name.value):
                self._named(param.name.value, param.default, f"as the default of parameter `{param.name.value}`")

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._classes.pop()

    # -- named contexts ------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bound(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bound(node.target, node.value)

    def _bound(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        name = target_name(target)
        if not is_secret_name(name):
            return
        in_settings = bool(self._classes) and self._classes[-1] and isinstance(target, cst.Name)
        default = field_default(value, self.ctx.qualify)
        if in_settings:  # an env-overridable default: MCP502
            self._skip(default if default is not None else value)
            return
        self._named(name, default if default is not None else value, f"assigned to `{name}`")

    def visit_Call(self, node: cst.Call) -> None:
        found = runtime_default(node, self.ctx.qualify)
        if found is not None:  # os.getenv("X", "default"), CLI defaults: MCP502
            self._skip(found[2])
            return
        for arg in node.args:
            if arg.keyword is None:
                continue
            keyword = arg.keyword.value
            if keyword == "auth" and isinstance(arg.value, cst.Tuple) and len(arg.value.elements) == 2:
                self._named("password", arg.value.elements[1].value, "as the password in `auth=(user, password)`")
            elif is_secret_name(keyword):
                self._named(keyword, arg.value, f"passed as `{keyword}=`")

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        # os.getenv("TOKEN") or "literal": a default, MCP502's
        if env_fallback(node, self.ctx.qualify) is not None:
            self._skip(node.right)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        key = string_value(node.key)
        if is_secret_name(key):
            self._named(key, node.value, f"under key `{key}`")

    def visit_Assert(self, node: cst.Assert) -> None:
        self._asserts += 1

    def leave_Assert(self, original_node: cst.Assert) -> None:
        self._asserts -= 1

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if self._asserts:  # `assert token == "abc"` checks a result, it holds no credential
            return
        left = node.left
        for target in node.comparisons:
            if isinstance(target.operator, (cst.Equal, cst.NotEqual)):
                right = target.comparator
                if is_secret_name(target_name(left)):
                    self._named(target_name(left), right, f"compared with `{target_name(left)}`", True)
                elif is_secret_name(target_name(right)):
                    self._named(target_name(right), left, f"compared with `{target_name(right)}`", True)
            left = target.comparator

    def _named(self, name: str | None, value: cst.BaseExpression, where: str, compared: bool = False) -> None:
        if id(value) in self._handled or name is None:
            return
        text = string_value(value)
        if text is None:
            return
        self._skip(value)
        verdict = judge(text, name, in_tests=self._in_tests, compared=compared)
        if verdict is not None:
            self._emit(value, verdict, where)

    # -- any literal ---------------------------------------------------------------
    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._anywhere(node)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._anywhere(node)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self._anywhere(node)

    def _anywhere(self, node: cst.CSTNode) -> None:
        # checked before evaluating: the parts of a concatenation were handled with it
        if id(node) in self._handled:
            return
        self._skip(node)
        text = node.value if isinstance(node, cst.FormattedStringText) else string_value(node)
        if text and len(text) >= 20:
            verdict = judge(text, None, in_tests=self._in_tests)
            if verdict is not None:
                self._emit(_part_holding(node, verdict[1]), verdict, "in a string literal")

    def _emit(self, node: cst.CSTNode, verdict: tuple[str, str, Confidence], where: str) -> None:
        kind, secret, confidence = verdict
        self.report(node, confidence=confidence, kind=kind, preview=redact(secret), where=where)
