"""Secrets in text: what the secret rules share, with no parser of their own.

How a name says "this is a secret" (`is_secret_name`), what a placeholder looks like,
the known token formats, entropy, whether a value bound to a secret-named key is one
(`judge`), and redaction for messages. The Python rules (MCP501 to MCP503, MCP104,
MCP105) use it on names and literals of the tree; the text rules (MCP506, MCP507,
MCP953) on `.env` files, MCP client configs and Dockerfiles, which is why it imports
nothing of libcst.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from functools import lru_cache

from mcplint.finding import Confidence
from mcplint.prefilter import lazy_compile

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

JWT = "JSON Web Token"
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
        (JWT, r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ(?P<body>[A-Za-z0-9_-]{8,})\.[A-Za-z0-9_-]*"),
    )
)


_JWT_RE = dict(TOKEN_FORMATS)[JWT]


def _signed(token: str) -> bool:
    """Can the third part of a JSON Web Token be a signature? A real one is random bytes,
    32 or more (HMAC-SHA256; RSA and ECDSA ones are longer); a test's stand-in is
    missing, shorter than 16 bytes, or reads as text once decoded (`c2lnbmF0dXJl` is
    `signature`), and no server would accept it."""
    signature = token.split(".")[2] if token.count(".") >= 2 else ""
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (ValueError, binascii.Error):
        return False
    return len(raw) >= 16 and not (raw.isascii() and raw.decode("ascii").isprintable())


def _stand_in_jwt(value: str) -> bool:
    """A JSON Web Token that cannot be signed (`_signed`): not a secret, whatever name
    it is bound to."""
    match = _JWT_RE.search(value)
    return match is not None and not _signed(match.group(0))


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
            if label == JWT and not _signed(text):
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
    if name is None or _stand_in_jwt(text):
        return None
    confidence = value_confidence(text, name)
    if confidence is Confidence.LOW and (compared or not is_password_name(name)):
        return None
    if in_tests and confidence is not None:
        confidence = Confidence.LOW if confidence is Confidence.HIGH else None
    if confidence is None:
        return None
    return "secret", _AUTH_SCHEME_RE.sub("", text.strip()), confidence
