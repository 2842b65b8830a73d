"""MCP954: `ADD https://...` downloads into the image with no integrity check."""

from __future__ import annotations

import json
import re

from mcplint import dockerfile
from mcplint.finding import Confidence, Severity
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule

_REMOTE_RE = lazy_compile(r"^(?:https?://|git@|git://|ssh://)", re.IGNORECASE)
_COMMIT_RE = lazy_compile(r"#[0-9a-f]{40}(?::|$)")


class AddFromUrl(dockerfile.DockerfileRule, Rule):
    """`ADD` fetches a remote URL into the image without verifying what it got.

    ## What it does
    Reports `ADD` instructions with an `http://`, `https://` or git source
    (`git@...`, `https://.../repo.git#branch`) and no `--checksum=`; a git source
    pinned to a full commit hash is accepted. Both the plain and the JSON form
    (`ADD ["https://...", "/dest"]`) are read.

    ## Why is this bad?
    Whatever the server returns on the day of the build goes into the image: a
    compromised release page, a moved tag or a man in the middle (over `http://`)
    becomes code inside the MCP server's container, with its secrets and network
    access. Nothing records what was downloaded, so the build is not reproducible.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    ADD https://github.com/jqlang/jq/releases/download/jq-1.7.1/jq-linux-amd64 /usr/local/bin/jq
    USER nobody
    ```

    ## Use instead
    Give `ADD` the expected checksum (BuildKit), or download with `curl` and verify
    the file before using it; `COPY` files that are in the build context.
    ```dockerfile
    FROM python:3.12-slim
    ADD --checksum=sha256:5942c9b0934e510ee61eb3e30273f1b3fe2590df93933a93d7c58b81d19c8ff5 https://github.com/jqlang/jq/releases/download/jq-1.7.1/jq-linux-amd64 /usr/local/bin/jq
    USER nobody
    ```

    ## References
    - [CWE-494: Download of Code Without Integrity Check](https://cwe.mitre.org/data/definitions/494.html)
    - [Dockerfile reference: ADD --checksum](https://docs.docker.com/reference/dockerfile/#add---checksum)
    - [Docker build best practices: ADD or COPY](https://docs.docker.com/build/building/best-practices/#add-or-copy)
    """

    code = "MCP954"
    name = "add-from-url"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 494
    checklist = "MCP-C12"
    message = "`ADD {url}` downloads into the image without a checksum; add `--checksum=sha256:...` or use `curl` and verify"

    def check_text(self, doc) -> None:
        df = dockerfile.read(doc)
        for instruction in df.instructions:
            if instruction.keyword != "ADD":
                continue
            flags, words = instruction.flags(df.escape)
            if flags.get("checksum"):
                continue
            sources = [(w.value, w.start, w.end) for w in words[:-1]]
            if words and words[0].value.startswith("["):
                sources = self._json_sources(instruction)
            for url, start, end in sources:
                if _REMOTE_RE.match(url) and not _COMMIT_RE.search(url):
                    self.report_at(dockerfile.span(doc, instruction, start, end), url=url)

    @staticmethod
    def _json_sources(instruction) -> list[tuple[str, int, int]]:
        text = instruction.text
        begin = text.find("[")
        try:
            items = json.loads(text[begin:])
        except ValueError:
            return []
        if not isinstance(items, list):
            return []
        out = []
        for item in items[:-1]:
            if isinstance(item, str):
                at = text.find(item, begin)
                out.append((item, max(at, 0), max(at, 0) + len(item)))
        return out
