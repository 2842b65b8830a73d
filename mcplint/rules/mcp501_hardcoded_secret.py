"""MCP501: a credential written into the source.

The module also holds what the secret rules share (MCP502, MCP503 import it): how a
name says "this is a secret", what a placeholder looks like, the known token formats,
entropy, and redaction for messages.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

import libcst as cst

from mcplint.mcp import walk
from mcplint.files import is_test_path
from mcplint.finding import Confidence, Severity
from mcplint.mcp.builder import argument, string_value
from mcplint.prefilter import AnyOf, Literals, Prefilter, lazy_compile
from mcplint.rule import Rule

# -- names --------------------------------------------------------------------------

_WORD_RE = lazy_compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

# The last word of a name that makes it a secret on its own.
SECRET_WORDS = frozenset(
    {"password", "passwd", "passphrase", "secret", "token", "credential", "credentials",
     "authorization", "apikey", "secretkey", "privatekey", "accesskey", "authkey",
     "authtoken", "accesstoken", "apitoken", "bearertoken", "clientsecret"}
)
# ... only after another word: `db_pass`, `smtp_pwd` (a bare `pwd` is the working directory).
QUALIFIED_SECRET_WORDS = frozenset({"pass", "pwd", "pw"})
# `key` is a secret only with one of these before it (`cache_key`, `sort_key` are not).
KEY_QUALIFIERS = frozenset(
    {"api", "access", "secret", "private", "signing", "sign", "encryption", "encrypt", "crypto",
     "master", "auth", "client", "app", "subscription", "license", "licence", "service", "account",
     "hmac", "aes", "fernet", "jwt", "webhook", "ssh", "gpg", "pgp", "rsa", "deploy", "admin",
     "shared", "sas", "developer", "dev", "openai", "anthropic", "claude", "gemini", "google", "azure",
     "aws", "stripe", "github", "gitlab", "slack", "twilio", "sendgrid", "mailgun", "mapbox",
     "pinecone", "cohere", "mistral", "groq", "openrouter", "huggingface", "hf", "serpapi", "tavily",
     "brave", "exa", "firecrawl", "jina", "perplexity", "deepseek", "replicate", "notion", "airtable",
     "algolia", "datadog", "sentry", "elevenlabs", "voyage", "supabase", "firebase"}
)
# `page_token`, `eos_token`, `max_tokens`: pagination cursors and tokenizer vocabulary.
TOKEN_NOT_SECRET = frozenset(
    {"next", "page", "continuation", "pagination", "cursor", "sync", "start", "end", "eos", "bos", "pad",
     "unk", "sep", "mask", "cls", "special", "stop", "cancel", "cancellation", "progress", "resume",
     "idempotency", "lexer", "parse", "parser", "max", "min", "num", "total", "input", "output", "prompt",
     "completion", "reasoning", "cached", "context", "image", "audio", "video", "vision", "think",
     "thinking", "word", "last", "first", "prev", "previous", "delta", "stream", "sentinel"}
)
# A word anywhere in the name that says the value is not the secret itself.
NOT_THE_SECRET = frozenset(
    {"safe", "masked", "mask", "redacted", "hashed", "hash", "obfuscated", "sanitized", "partial", "truncated",
     "preview", "hint", "fingerprint", "digest", "is", "has", "use", "uses", "require", "requires", "needs",
     "enable", "enabled", "allow", "no", "without", "len", "length", "num", "count"}
)
# Words that may follow the secret word and still name its value: `password_value`.
VALUE_SUFFIXES = frozenset(
    {"value", "val", "str", "string", "raw", "plain", "plaintext", "b64", "base64", "hex", "bytes",
     "literal", "default", "fallback"}
)


def name_words(name: str) -> list[str]:
    """`X-API-Key` -> [x, api, key]; `clientSecret2` -> [client, secret, 2]."""
    return [w.lower() for part in re.split(r"[^A-Za-z0-9]+", name) for w in _WORD_RE.findall(part)]


@lru_cache(maxsize=8192)  # asked for the same few names again and again
def is_secret_name(name: str | None) -> bool:
    """Does an identifier, attribute, dict key or env var name denote a secret value?

    The secret word must end the name (`token_url`, `password_field`, `secret_name`
    name other things); `max_tokens` and `page_token` are not credentials.
    """
    if not name:
        return False
    words = [w for w in name_words(name) if not w.isdigit()]
    if NOT_THE_SECRET.intersection(words):
        return False  # safe_ssh_key, masked_token, has_password
    while len(words) > 1 and words[-1] in VALUE_SUFFIXES:
        words.pop()
    if not words:
        return False
    last, prev = words[-1], (words[-2] if len(words) > 1 else None)
    if last == "token":
        # `page_token.token`: the token of a pagination cursor is a cursor too
        while prev == "token" and len(words) > 2:
            words.pop()
            prev = words[-2]
        return prev not in TOKEN_NOT_SECRET
    if last in SECRET_WORDS:
        return True
    if last in QUALIFIED_SECRET_WORDS:
        return prev is not None
    if last == "key":
        return prev in KEY_QUALIFIERS
    # one lower-case word: `dbpassword`, `apitoken`
    return len(words) == 1 and last.endswith(("password", "passwd", "apikey", "secretkey", "accesstoken"))


def is_password_name(name: str | None) -> bool:
    """A secret a person chooses (and may choose badly): `password`, `db_pass`."""
    words = name_words(name or "")
    return bool(words) and (words[-1] in {"password", "passwd", "passphrase", "pass", "pwd", "pw"}
                            or words[-1].endswith("password"))


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


# -- values -------------------------------------------------------------------------

# Words and marks people write where a real secret should go.
_PLACEHOLDER_RE = lazy_compile(
    r"your|example|placeholder|change[-_ ]?(?:me|it|this)|replace|insert|dummy|fake|sample|mock|test|demo"
    r"|redacted|secret|token|passw|apikey|api[-_ ]key|credential|invalid|expired|revoked|bogus|todo|fixme"
    r"|xxx|\*\*\*|\.\.\.|…|<[^>]*>|\{[^}]*\}|\$\{?\w|%\(?\w*\)?[sdr]|^\s*\$|\[.*\]"
    r"|(?<![a-z])(?:foo|bar|baz|qux|abc|xyz|tbd)(?![a-z])"
    r"|^(?:none|null|nil|undefined|unset|empty|disabled|n/?a|default|password|pass|pwd|key|admin|root|guest"
    r"|user|username|string|str|bearer|basic)$",
    re.IGNORECASE,
)
_ENV_NAME_RE = lazy_compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_IDENTIFIER_RE = lazy_compile(r"^_*[a-z][a-z0-9]*(?:[_.-][a-z0-9]+)+_*$|^__\w+__$")
_PATH_RE = lazy_compile(
    r"^(?:~|\.{1,2})?/[\w./~-]*$|^[\w./-]+\.(?:pem|key|crt|cer|der|p12|pfx|json|txt|env|ini|ya?ml|toml)$"
)
_URL_RE = lazy_compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
# A command-line option's name: `token == "--template"` reads an argv token, not a credential.
_OPTION_RE = lazy_compile(r"^--[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_AUTH_SCHEME_RE = lazy_compile(r"^(?:bearer|basic|token|apikey|api-key|digest)\s+", re.IGNORECASE)
_URL_CREDENTIALS_RE = lazy_compile(r"\b[a-z][a-z0-9+.-]*://([^\s/:@'\"]+):([^\s/@'\"]+)@([\w.-]+)", re.IGNORECASE)
# Hosts reserved for documentation (RFC 2606, 6761): `deploy:hunter2@bastion.example.com` in a docstring.
_EXAMPLE_HOST_RE = lazy_compile(r"(?:^|\.)(?:example\.(?:com|net|org)|example|test|invalid)\.?$", re.IGNORECASE)
MIN_SECRET_LENGTH = 6
URL_PASSWORD = "password in a URL"


def is_placeholder(value: str) -> bool:
    """A value that stands for a secret without being one (`""`, `<your-key>`, `changeme`, `sk-...`)."""
    text = value.strip()
    if len(text) < 3 or len(set(text.lower())) <= 2:
        return True
    return _PLACEHOLDER_RE.search(text) is not None


def shannon_entropy(text: str) -> float:
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _has_sequence(text: str, run: int = 6) -> bool:
    """`abcdef`, `123456`: a hand-typed stand-in, not a generated key."""
    steps = 0
    for a, b in zip(text, text[1:]):
        steps = steps + 1 if ord(b) - ord(a) == 1 else 0
        if steps >= run - 1:
            return True
    return False


def redact(value: str) -> str:
    """Enough of a secret to find it again, never enough to use it: `sk-p…` (51 chars)."""
    value = value.strip()
    keep = min(4, len(value) // 4)
    return f"`{value[:keep]}…` ({len(value)} chars)"


# -- token formats ------------------------------------------------------------------

# label, pattern; the group `body` is the random part (its entropy tells real from dummy).
TOKEN_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, lazy_compile(pattern))
    for label, pattern in (
        ("private key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?P<body>[\sA-Za-z0-9+/=:,-]*)"),
        ("AWS access key id", r"\b(?:AKIA|ASIA|ABIA|ACCA)(?P<body>[0-9A-Z]{16})\b"),
        ("GitHub token", r"\b(?:gh[pousr]_(?P<body>[A-Za-z0-9]{36,255})|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b"),
        ("Anthropic API key", r"\bsk-ant-(?:[a-z]+\d\d-)?(?P<body>[A-Za-z0-9_-]{32,})"),
        ("OpenAI API key",
         r"\bsk-(?:(?:proj|svcacct|admin)-(?P<body>[A-Za-z0-9_-]{32,})|(?P<legacy>[A-Za-z0-9]{32,})\b)"),
        ("Slack token", r"\bxox[abposr]-(?P<body>[A-Za-z0-9-]{10,})"),
        ("Slack webhook", r"hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/(?P<body>[A-Za-z0-9]{16,})"),
        ("Stripe live key", r"\b[rs]k_live_(?P<body>[A-Za-z0-9]{16,})"),
        ("Google API key", r"\bAIza(?P<body>[0-9A-Za-z_-]{35})\b"),
        ("Google OAuth client secret", r"\bGOCSPX-(?P<body>[A-Za-z0-9_-]{28})\b"),
        ("Notion token", r"\b(?:secret_|ntn_)(?P<body>[A-Za-z0-9]{40,})\b"),
        ("Hugging Face token", r"\bhf_(?P<body>[A-Za-z0-9]{34})\b"),
        ("JSON Web Token", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ(?P<body>[A-Za-z0-9_-]{8,})\.[A-Za-z0-9_-]*"),
    )
)


def find_token(value: str) -> tuple[str, str, Confidence] | None:
    """A known credential format in `value`: (label, matched text, confidence), placeholders excluded."""
    for label, pattern in TOKEN_FORMATS:
        for match in pattern.finditer(value):
            text = match.group(0)
            body = match.group("body") or match.groupdict().get("legacy") or ""
            if label == "private key":
                body = re.sub(r"\s", "", body)
                if len(body) < 20:
                    continue
            if is_placeholder(body):  # the prefix is fixed text (Notion keys start with `secret_`)
                continue
            confidence = Confidence.HIGH
            if shannon_entropy(body) < 3.0 or _has_sequence(body):
                confidence = Confidence.MEDIUM  # `ghp_ABCDEF...`: typed by hand, probably a stand-in
            return label, text, confidence
    for match in _URL_CREDENTIALS_RE.finditer(value):
        password = match.group(2)
        if _EXAMPLE_HOST_RE.search(match.group(3)):
            continue
        confidence = value_confidence(password, match.group(1))
        if confidence is not None:
            return URL_PASSWORD, password, min(confidence, Confidence.MEDIUM)
    return None


def value_confidence(value: str, name: str | None = None) -> Confidence | None:
    """How likely `value`, bound to a secret-named `name`, is a real secret; None: not one.

    High: long and random-looking. Medium: letters mixed with digits or symbols
    (`Tr0ub4dor&3`). Low: a plain word or a short value.
    """
    text = _AUTH_SCHEME_RE.sub("", value.strip())
    if len(text) < MIN_SECRET_LENGTH or not text.isascii() or not text.isprintable() or " " in text:
        return None
    if is_placeholder(text) or _ENV_NAME_RE.match(text) or _IDENTIFIER_RE.match(text) or _PATH_RE.match(text) \
            or _OPTION_RE.match(text):
        return None
    if _URL_RE.match(text) and not _URL_CREDENTIALS_RE.search(text):
        return None
    if name is not None:
        words = set(name_words(name))
        if text.lower().strip("_") in words or text.lower() == name.lower():
            return None  # FOOTNOTE_TOKEN = "footnote": an enum, not a credential
    classes = sum(
        (any(c.islower() for c in text), any(c.isupper() for c in text), any(c.isdigit() for c in text),
         any(not c.isalnum() for c in text))
    )
    if len(text) >= 16 and classes >= 2 and shannon_entropy(text) >= 3.5 and not _has_sequence(text):
        return Confidence.HIGH
    if len(text) >= 8 and classes >= 2 and any(c.isalpha() for c in text) and not text.isalpha():
        return Confidence.MEDIUM
    return Confidence.LOW


def judge(text: str, name: str | None, *, in_tests: bool = False, compared: bool = False
          ) -> tuple[str, str, Confidence] | None:
    """Is `text`, bound to the secret-named `name` (None: no name), a secret?

    Returns (what it is, the secret part, confidence). A plain word is a finding
    only for a password: tokens and keys are generated, so a word bound to one is a
    label. Test code is full of stand-ins: there only a random-looking value counts,
    at low confidence, and known formats lose one confidence level.
    """
    token = find_token(text)
    if token is not None:
        label, secret, confidence = token
        if in_tests:
            if label == URL_PASSWORD:
                return None  # redis://default:S3cretPass@localhost: a local stand-in
            confidence = Confidence.MEDIUM if confidence is Confidence.HIGH else Confidence.LOW
        return label, secret, confidence
    if name is None:
        return None
    confidence = value_confidence(text, name)
    if confidence is Confidence.LOW and (compared or not is_password_name(name)):
        return None
    if in_tests and confidence is not None:
        confidence = Confidence.LOW if confidence is Confidence.HIGH else None
    if confidence is None:
        return None
    return "secret", _AUTH_SCHEME_RE.sub("", text.strip()), confidence


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
    `*.test`, `*.invalid`) and format strings. Names such as `token_url`, `password_field`,
    `max_tokens`, `TOKEN_TYPE`, `secret_name` and `key_path` are not secrets.
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
