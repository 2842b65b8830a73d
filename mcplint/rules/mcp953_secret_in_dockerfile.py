"""MCP953: a secret baked into an image through `ENV`, `ARG` or a `RUN` line."""

from __future__ import annotations


from mcplint import dockerfile
from mcplint.finding import Confidence, Severity
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule
from mcplint.secrets import is_secret_name, redact
from mcplint.rules.mcp506_secret_in_env_file import describe, judge_setting

_REFERENCE_RE = lazy_compile(r"^\$(?:\{(\w+)[^}]*\}|(\w+))$")


class SecretInDockerfile(dockerfile.DockerfileRule, Rule):
    """A Dockerfile writes a secret into the image or its build history.

    ## What it does
    Reports, in every stage:
    - `ENV` and `ARG` settings with a secret name (`API_KEY`, `DB_PASSWORD`,
      `GITHUB_TOKEN`) and a real-looking literal value, or a value in a known
      credential format under any name (the judgement of MCP501: placeholders and
      empty values are not secrets);
    - credentials in known formats written into `RUN` commands (a token in a
      `curl -H`, a password in a clone URL), heredoc bodies included;
    - `ENV NAME=$ARG` for a secret-named variable: the build argument's value is
      stored in the image configuration (medium confidence);
    - a secret-named `ARG` without a default: its value, passed with
      `--build-arg`, is kept in the image history (low confidence).

    `RUN --mount=type=secret` is recorded as evidence for MCP-C12. Values are
    redacted in every report.

    ## Why is this bad?
    Everything in `ENV` is in the image configuration (`docker inspect`), and build
    arguments and `RUN` command lines are in its history (`docker history`). Anyone
    who can pull the image — a registry user, a CI cache, a leaked tarball — reads
    the MCP server's keys, and they cannot be removed from pushed layers.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    ENV OPENAI_API_KEY=sk-proj-R8x2Kq7LmZ4vN1pT9wYc3Hs6Jd0Fb5Ge2Ua7Tq
    COPY . /app
    RUN pip install --no-cache-dir /app
    USER nobody
    CMD ["python", "-m", "summarizer_mcp"]
    ```

    ## Use instead
    Pass secrets at run time (`docker run -e`, an orchestrator's secret store); for
    build-time credentials use a secret mount, which never enters a layer.
    ```dockerfile
    FROM python:3.12-slim
    COPY . /app
    RUN --mount=type=secret,id=pip_token PIP_INDEX_TOKEN=$(cat /run/secrets/pip_token) pip install --no-cache-dir /app
    USER nobody
    CMD ["python", "-m", "summarizer_mcp"]
    ```

    ## References
    - [CWE-798: Use of Hard-coded Credentials](https://cwe.mitre.org/data/definitions/798.html)
    - [Docker: build secrets](https://docs.docker.com/build/building/secrets/)
    - [Docker build checks: SecretsUsedInArgOrEnv](https://docs.docker.com/reference/build-checks/secrets-used-in-arg-or-env/)
    """

    code = "MCP953"
    name = "secret-in-dockerfile"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = 798
    checklist = "MCP-C12"
    redact = True
    message = "{where} {what}"

    def check_text(self, doc) -> None:
        df = dockerfile.read(doc)
        declared_args: set[str] = set(df.global_args)
        for instruction in df.instructions:
            if instruction.keyword == "FROM":
                declared_args = set(df.global_args)
            elif instruction.keyword in ("ENV", "ARG"):
                self._settings(doc, df, instruction, declared_args)
            elif instruction.keyword == "RUN":
                flags, _ = instruction.flags(df.escape)
                if "type=secret" in flags.get("mount", ""):
                    self.evidence(instruction.line, "build secret mounted with `RUN --mount=type=secret`")
                for fragment in instruction.scripts():
                    self._tokens(doc, df, fragment)

    def _settings(self, doc, df, instruction, declared_args: set[str]) -> None:
        keyword = instruction.keyword
        if keyword == "ARG":
            for word in instruction.tokens(df.escape):
                name, equals, _ = word.value.partition("=")
                declared_args.add(name)
                if not equals and is_secret_name(name):
                    # no secret value to point at (or mask): an empty span before the name
                    self.report_at(dockerfile.span(doc, instruction, word.start, word.start), severity=Severity.MEDIUM,
                                   confidence=Confidence.LOW, snippet=f"ARG {name}", where=f"`ARG {name}`",
                                   what="is a secret passed as a build argument: its value stays in the image "
                                        "history; use `RUN --mount=type=secret`")
        for name, value, word in dockerfile.env_pairs(instruction, df.escape):
            reference = _REFERENCE_RE.match(value)
            if reference:
                source = reference.group(1) or reference.group(2)
                if keyword == "ENV" and is_secret_name(name) and source in declared_args:
                    self.report_at(dockerfile.span(doc, instruction, word.start, word.start),
                                   confidence=Confidence.MEDIUM, snippet=f"ENV {name}=${source}",
                                   where=f"`ENV {name}=${source}`",
                                   what="stores a build argument that is a secret in the image configuration")
                continue
            verdict = judge_setting(name, value, doc.path)
            if verdict is None:
                continue
            kind, secret, confidence = verdict
            start, end = dockerfile.value_range(instruction, word, secret)
            self.report_at(dockerfile.span(doc, instruction, start, end), confidence=confidence,
                           snippet=f"{keyword} {name} {redact(secret)}", where=f"`{keyword} {name}`",
                           what=f"holds {describe(kind)} {redact(secret)}")

    def _tokens(self, doc, df, fragment) -> None:
        for word in dockerfile.split_words(fragment.text, df.escape):
            if len(word.value) < 16 and "@" not in word.value:
                continue
            verdict = judge_setting(None, word.value, doc.path)
            if verdict is None:
                continue
            kind, secret, confidence = verdict
            at = fragment.text.find(secret, word.start, word.end)
            start, end = (at, at + len(secret)) if at >= 0 else (word.start, word.end)
            self.report_at(dockerfile.span(doc, fragment, start, end), confidence=confidence,
                           snippet=f"RUN {redact(secret)}", where="`RUN`",
                           what=f"writes {describe(kind)} {redact(secret)} into the build history")
