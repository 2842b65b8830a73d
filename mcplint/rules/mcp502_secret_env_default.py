import re

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp.builder import string_value
from mcplint.prefilter import AnyOf, Prefilter, lazy_compile
from mcplint.rule import Rule
from mcplint.files import is_test_path
from mcplint.rules.mcp501_hardcoded_secret import (
    TOKEN_PREFIXES,
    env_fallback,
    field_default,
    is_settings_class,
    runtime_default,
)
from mcplint.secrets import is_secret_name, judge, name_words, redact

# Secrets the server itself checks or signs with: a guessable default lets anyone
# forge a session or pass the check whenever the variable is unset.
SERVER_SECRET_WORDS = frozenset(
    {"jwt", "signing", "sign", "session", "webhook", "hmac", "encryption", "encrypt", "cookie", "csrf",
     "master", "admin", "fernet", "mcp", "server", "bearer"}
)
_NOT_A_DEFAULT_RE = lazy_compile(r"^\s*(?:|none|null|nil|unset|disabled|false|0)\s*$", re.IGNORECASE)

_SECRET_WORD = rb"(?:pass|pwd|secret|token|key|credential|auth)"
_TOKEN_PREFIX = (
    rb"(?:AKIA|ASIA|gh[pousr]_|github_pat_|sk-|xox[abposr]-|[rs]k_live_|AIza|GOCSPX-|hf_|ntn_|secret_|eyJ|-----BEGIN)"
)
_GETTER = rb"(?:getenv|environ\.get|environ\.setdefault|config)\s*\("
_GETTER_ANCHORS = (b"getenv", b"environ", b"config")
PREFILTER = AnyOf(
    # os.getenv("API_KEY", "...") and os.getenv("API_KEY") or "..." (in lower-cased bytes)
    Prefilter(
        lazy_compile(_GETTER + rb"\s*[rbu]{0,2}[\"'][^\"'\n]*" + _SECRET_WORD + rb"[^\"'\n]*[\"']\s*(?:,|\)\s*or\s*[rbu]{0,2}[\"'])"),
        anchors=_GETTER_ANCHORS,
        lowercase=True,
        starts=True,
    ),
    # a token-shaped default, whatever the variable is called
    Prefilter(
        lazy_compile(_GETTER + rb"[^)]{0,200}?[\"']" + _TOKEN_PREFIX + rb"|\)\s*or\s*[rbu]{0,2}[\"']" + _TOKEN_PREFIX),
        anchors=(*_GETTER_ANCHORS, b") or"),
        requires=TOKEN_PREFIXES,  # every match ends with one (MCP501's prefilter has looked for them)
    ),
    # --api-key style options with a default
    Prefilter(
        lazy_compile(rb"[\"']--[\w-]*" + _SECRET_WORD + rb"[\w-]*[\"'][^)]{0,400}?default\s*=\s*[rbu]{0,2}[\"']"),
        anchors=(b"\"--", b"'--"),  # each match also holds `default`
        lowercase=True,
        starts=True,
    ),
    # class Settings(BaseSettings): fields read from the environment
    Prefilter(lazy_compile(rb"\bclass\s+\w+\s*\([^)]*Settings\b"), anchors=(b"Settings",)),
)


def is_server_secret(name: str) -> bool:
    """`JWT_SECRET`, `SECRET_KEY`, `MCP_AUTH_TOKEN`: a secret this program verifies or signs with."""
    words = name_words(name.lstrip("-"))
    return words in (["secret"], ["secret", "key"], ["app", "secret"]) or bool(SERVER_SECRET_WORDS & set(words))


class SecretEnvDefault(Rule):
    """A secret has a hardcoded fallback for when its environment variable is unset.

    ## What it does
    Reports literal defaults of secret-named environment variables, settings fields
    and command-line options: `os.getenv("API_KEY", "...")`, `os.environ.get(...)`,
    `os.environ.setdefault(...)`, `os.getenv("TOKEN") or "..."`, `decouple.config(...,
    default=...)`, fields of a pydantic `BaseSettings` class (`api_key: str = "..."`,
    `Field(default="...")`), and `--password`-style options of argparse, click and
    typer with a `default=`. A default that matches a known token format is reported
    whatever the variable is called.

    Placeholder defaults (`""`, `None`, `changeme`, `<your-key>`) are fine for keys
    the server sends elsewhere, because a call with them just fails. They are still
    reported for secrets the server checks or signs with (`JWT_SECRET`, `SECRET_KEY`,
    `SESSION_SECRET`, `WEBHOOK_SECRET`, `MCP_AUTH_TOKEN`, `ADMIN_PASSWORD`): there
    a known default is a working credential, so anyone can forge a token or pass the
    check on a deployment that forgot to set the variable (medium confidence).
    Literals assigned directly are MCP501's.

    ## Why is this bad?
    The fallback is a secret in the source, like any hardcoded one, and worse: the
    server starts and works without the variable, so nobody notices that production
    runs on the value everyone who has read the code knows.

    ## Example
    ```python
    import os
    import jwt
    from mcp.server.fastmcp import FastMCP

    JWT_SECRET = os.getenv("JWT_SECRET", "dev-secret-change-me")

    mcp = FastMCP("notes")

    def verify(token: str) -> dict:
        return jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
    ```

    ## Use instead
    Require the variable and stop at startup when it is missing.
    ```python
    import os
    import jwt
    from mcp.server.fastmcp import FastMCP

    JWT_SECRET = os.environ["JWT_SECRET"]

    mcp = FastMCP("notes")

    def verify(token: str) -> dict:
        return jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
    ```

    ## References
    - [CWE-798: Use of Hard-coded Credentials](https://cwe.mitre.org/data/definitions/798.html)
    - [CWE-1188: Initialization of a Resource with an Insecure Default](https://cwe.mitre.org/data/definitions/1188.html)
    - [pydantic-settings: secrets](https://docs.pydantic.dev/latest/concepts/pydantic_settings/#secrets)
    """

    code = "MCP502"
    name = "secret-env-default"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = 798
    checklist = "MCP-C08"
    redact = True
    message = "{what} {preview} as the default of {source} `{name}`"
    scope = "python"
    prefilter = PREFILTER

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._in_tests = is_test_path(ctx.path)

    def visit_Call(self, node: cst.Call) -> None:
        found = runtime_default(node, self.ctx.qualify)
        if found is not None:
            source, name, default = found
            self._check(default, name, source)

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        name = env_fallback(node, self.ctx.qualify)
        if name is not None:
            self._check(node.right, name or None, "environment variable")

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not is_settings_class(node, self.ctx.qualify) or not isinstance(node.body, cst.IndentedBlock):
            return
        for line in node.body.body:
            if not isinstance(line, cst.SimpleStatementLine):
                continue
            for statement in line.body:
                if isinstance(statement, cst.AnnAssign) and statement.value is not None:
                    target, value = statement.target, statement.value
                elif isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                    target, value = statement.targets[0].target, statement.value
                else:
                    continue
                if isinstance(target, cst.Name) and target.value != "model_config":
                    default = field_default(value, self.ctx.qualify)
                    self._check(default if default is not None else value, target.value, "settings field")

    def _check(self, default: cst.BaseExpression, name: str | None, source: str) -> None:
        text = string_value(default)
        if text is None:
            return
        secret_named = is_secret_name(name.lstrip("-") if name else None)
        verdict = judge(text, name.lstrip("-") if secret_named and name else None, in_tests=self._in_tests)
        if verdict is not None:
            kind, secret, confidence = verdict
            what = f"hardcoded {kind}"
        elif secret_named and is_server_secret(name) and not _NOT_A_DEFAULT_RE.match(text):
            # a placeholder, but the server accepts it as the real thing
            secret, confidence, what = text, Confidence.MEDIUM, "guessable secret"
            if self._in_tests:
                return
        else:
            return
        self.report(default, confidence=confidence, what=what, preview=redact(secret), source=source,
                    name=name or "?")
