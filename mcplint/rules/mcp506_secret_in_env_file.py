"""MCP506: a real-looking secret in a committed `.env` file.

Also what the text rules share to judge one `NAME=value` setting (MCP507, MCP953 use
it): the secret-name and value logic of MCP501, applied to configuration.
"""

from __future__ import annotations

import re
from fnmatch import fnmatch

from mcplint.finding import Confidence, Severity
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule
from mcplint.files import is_test_path
from mcplint.secrets import URL_PASSWORD, is_secret_name, judge, redact

# `.env.example` and friends document the variables: their values are placeholders.
_EXAMPLE_RE = lazy_compile(r"example|sample|template|tmpl|dist\b|defaults?\b|schema", re.IGNORECASE)
_ENV_FILES = (".env", ".env.*", "*.env")
_NOT_ENV_SUFFIXES = (".marks", ".md", ".py", ".sh", ".js", ".ts", ".json", ".yml", ".yaml", ".bak", ".swp")
_LINE_RE = lazy_compile(r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*", re.MULTILINE)

_ARTICLE = {"secret": "a secret", URL_PASSWORD: "a password in a URL"}


def describe(kind: str) -> str:
    """`OpenAI API key` -> `an OpenAI API key`."""
    if kind in _ARTICLE:
        return _ARTICLE[kind]
    return ("an " if kind[:1].lower() in "aeiou" else "a ") + kind


def judge_setting(name: str | None, value: str, path: str, *, formats_only: bool = False
                  ) -> tuple[str, str, Confidence] | None:
    """Is `value`, set for `name` in a configuration file at `path`, a secret?

    (what it is, the secret part of the value, confidence), as MCP501 judges a
    literal: by a known token format anywhere, or by a secret name with a
    real-looking value (placeholders, `${VAR}` references and plain words are not).
    `formats_only`: only known token formats count (documentation, examples).
    """
    named = name if name and is_secret_name(name) else None
    verdict = judge(value, None if formats_only else named, in_tests=is_test_path(path))
    if verdict is not None and formats_only and verdict[0] == "secret":
        return None
    return verdict


def env_assignments(text: str):
    """(name, value, start, end) of each `NAME=value` line of a `.env` file; start/end
    are the offsets of the value (quotes excluded, a quoted value may span lines)."""
    consumed = 0
    for match in _LINE_RE.finditer(text):
        if match.start() < consumed:
            continue  # a line inside a quoted multi-line value
        start = match.end()
        quote = text[start:start + 1]
        if quote in ("'", '"', "`"):
            end = start + 1
            while end < len(text) and text[end] != quote:
                end += 2 if text[end] == "\\" and quote == '"' else 1
            if end >= len(text):  # never closed: up to the end of the line
                end = text.find("\n", start)
                end = len(text) if end < 0 else end
            consumed = end
            yield match.group(1), text[start + 1:end], start + 1, end
            continue
        line_end = text.find("\n", start)
        line_end = len(text) if line_end < 0 else line_end
        raw = text[start:line_end]
        comment = re.search(r"\s#", raw)
        value = (raw[:comment.start()] if comment else raw).rstrip()
        yield match.group(1), value, start, start + len(value)


class SecretInEnvFile(Rule):
    """A `.env` file in the tree holds a real-looking secret.

    ## What it does
    Reads `.env`, `.env.*` and `*.env` files and reports settings whose value is a
    secret: a secret-named variable (`OPENAI_API_KEY`, `DB_PASSWORD`,
    `GITHUB_TOKEN`) with a real-looking value, or a value in a known credential
    format (AWS, GitHub, OpenAI, Anthropic, Slack, Stripe, Google, Hugging Face,
    private keys, JWTs, passwords in URLs) under any name. The judgement is MCP501's:
    empty values, placeholders (`changeme`, `<your-key>`, `sk-...`, `${OTHER_VAR}`)
    and plain words for tokens are not secrets. Documentation files
    (`.env.example`, `.env.sample`, `.env.template`, `.env.dist`) are only checked
    for known token formats: a real key there is still a leak. A `.env` file that a
    `.gitignore` of the scanned tree ignores is not committed: it is not reported and
    counts as evidence for MCP-C08. Values are redacted in every report.

    ## Why is this bad?
    A `.env` file that is committed or shipped in a package puts the key in every
    clone, fork, wheel and container layer, and in the git history after it is
    deleted. MCP servers usually hold broad API keys (a GitHub token, a database
    password) that let anyone act as their owner; a leaked key must be rotated.

    ## Example
    ```.env
    GITHUB_PERSONAL_ACCESS_TOKEN=ghp_R8x2Kq7LmZ4vN1pT9wYc3Hs6Jd0Fb5Ge2Ua7
    GITHUB_API_URL=https://api.github.com
    ```

    ## Use instead
    Commit a `.env.example` with placeholders, keep the real `.env` out of git
    (`.gitignore`), and load real values from the environment or a secret manager.
    ```.env
    GITHUB_PERSONAL_ACCESS_TOKEN=<your-github-token>
    GITHUB_API_URL=https://api.github.com
    ```

    ## References
    - [CWE-798: Use of Hard-coded Credentials](https://cwe.mitre.org/data/definitions/798.html)
    - [OWASP Secrets Management Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html)
    - [GitHub: Removing sensitive data from a repository](https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/removing-sensitive-data-from-a-repository)
    """

    code = "MCP506"
    name = "secret-in-env-file"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = 798
    checklist = "MCP-C08"
    redact = True
    scope = "text"
    files = _ENV_FILES
    example_name = ".env"
    message = "`{file}` sets `{name}` to {what} {preview}"

    @classmethod
    def wants_file(cls, path: str) -> bool:
        name = path.rsplit("/", 1)[-1]
        return any(fnmatch(name, p) for p in _ENV_FILES) and not name.lower().endswith(_NOT_ENV_SUFFIXES)

    def check_text(self, doc) -> None:
        file = doc.path.rsplit("/", 1)[-1]
        if self.ctx.project.git_ignored(doc.path):
            self.evidence(1, f"`{doc.path}` is git-ignored: its values stay out of the repository")
            return
        example = _EXAMPLE_RE.search(file.replace(".env", "", 1)) is not None
        for name, value, start, end in env_assignments(doc.text):
            verdict = judge_setting(name, value, doc.path, formats_only=example)
            if verdict is None:
                continue
            kind, secret, confidence = verdict
            at = value.find(secret)
            begin, finish = (start + at, start + at + len(secret)) if at >= 0 else (start, end)
            self.report_at(doc.span(begin, finish), confidence=confidence, snippet=f"{name} {redact(secret)}",
                           file=file, name=name, what=describe(kind), preview=redact(secret))
