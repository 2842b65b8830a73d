"""MCP951: the image a Dockerfile builds runs its process as root."""

from __future__ import annotations

import re

from mcplint import dockerfile
from mcplint.finding import Confidence, Severity
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule

# Base images whose default user is not root.
_NON_ROOT_IMAGE_RE = lazy_compile(r"[:\-_]nonroot\b|^cgr\.dev/chainguard/(?!.*-dev\b)", re.IGNORECASE)
_CREATES_USER_RE = lazy_compile(r"\b(?:useradd|adduser)\b(?:\s+-{1,2}[\w-]+(?:[= ](?!-)\S+)?)*\s+([a-z_][\w.-]*)")


def effective_user(df: dockerfile.Dockerfile, stage: dockerfile.Stage):
    """The last `USER` that applies to `stage` (its own, else the stage it is built
    on), with the stage it is in; (None, None) when no stage sets one."""
    while stage is not None:
        users = [i for i in stage.body if i.keyword == "USER"]
        if users:
            return users[-1], stage
        stage = stage.parent
    return None, None


class ContainerRunsAsRoot(dockerfile.DockerfileRule, Rule):
    """The container's process runs as root: the final stage never switches to another user.

    ## What it does
    Reads the final stage of a Dockerfile (following `FROM <earlier stage>`) and
    reports it when no `USER` instruction applies, or when the last one is
    `USER root` / `USER 0`. `USER` values are resolved through `ARG` and `ENV`
    defaults; a value that depends on an argument without a default is not judged.
    A stage that creates a user (`useradd app`) but never switches to it is named in
    the message. Base images that already run as a non-root user (distroless
    `:nonroot`, Chainguard) are accepted, and so are dev containers
    (`.devcontainer/Dockerfile`), which are not deployed. A final `USER` with a
    non-root user is recorded as evidence for MCP-C12.

    ## Why is this bad?
    An MCP server executes what an agent asks for, and a prompt injection or a bug in
    a tool turns that into the attacker's request. As root inside the container, a
    compromised server can rewrite the image's own code, read every mounted secret,
    install tools, and use any kernel or runtime weakness to escape to the host with
    full privileges. A dedicated unprivileged user limits all of that.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    WORKDIR /app
    COPY . /app
    RUN pip install --no-cache-dir .
    CMD ["python", "-m", "weather_mcp"]
    ```

    ## Use instead
    Create an unprivileged user and switch to it before the process starts.
    ```dockerfile
    FROM python:3.12-slim
    WORKDIR /app
    COPY . /app
    RUN pip install --no-cache-dir . && useradd --system --uid 10001 mcp
    USER mcp
    CMD ["python", "-m", "weather_mcp"]
    ```

    ## References
    - [CWE-250: Execution with Unnecessary Privileges](https://cwe.mitre.org/data/definitions/250.html)
    - [Dockerfile reference: USER](https://docs.docker.com/reference/dockerfile/#user)
    - [OWASP Docker Security Cheat Sheet, rule 2: set a user](https://cheatsheetseries.owasp.org/cheatsheets/Docker_Security_Cheat_Sheet.html)
    """

    code = "MCP951"
    name = "container-runs-as-root"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 250
    checklist = "MCP-C12"
    message = "{what}: the container runs as root"

    def check_text(self, doc) -> None:
        if "/.devcontainer/" in "/" + doc.path:
            return  # a development environment, not a deployed image
        df = dockerfile.read(doc)
        final = df.final
        if final is None:
            return
        instruction, stage = effective_user(df, final)
        if instruction is None:
            image = final.resolved or final.image
            root = final
            while root.parent is not None:
                root = root.parent
            base = root.resolved or root.image
            if _NON_ROOT_IMAGE_RE.search(base):
                self.evidence(root.instruction.line, f"base image `{base}` runs as a non-root user")
                return
            created = self._created_user(final)
            what = f"final stage `FROM {image}` has no `USER`"
            if created:
                what += f" (it creates user `{created}` but never switches to it)"
            self.report_at(dockerfile.span(doc, final.instruction), what=what)
            return
        words = instruction.tokens(df.escape)
        if not words:
            return
        value = dockerfile.substitute(words[0].value, dockerfile.stage_variables(df, stage, until=instruction))
        if value is None:
            return  # set by a build argument with no default: unknown
        user = value.split(":", 1)[0]
        if user in ("root", "0"):
            self.report_at(dockerfile.span(doc, instruction), what=f"the last `USER` of the final stage is `{user}`")
        elif user:
            self.evidence(instruction.line, f"container runs as non-root user `{user}`")

    @staticmethod
    def _created_user(stage: dockerfile.Stage) -> str | None:
        while stage is not None:
            for instruction in stage.body:
                if instruction.keyword == "RUN":
                    match = _CREATES_USER_RE.search(instruction.text)
                    if match:
                        return match.group(1)
            stage = stage.parent
        return None
