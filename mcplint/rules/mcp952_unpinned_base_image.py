"""MCP952: a `FROM` image that is `latest` or has no tag at all."""

from __future__ import annotations

from mcplint import dockerfile
from mcplint.finding import Confidence, Severity
from mcplint.rule import Rule


class UnpinnedBaseImage(dockerfile.DockerfileRule, Rule):
    """A base image is `latest` or untagged, so every build may pull a different image.

    ## What it does
    Reports `FROM` instructions whose image has the tag `latest` or no tag and no
    digest (which Docker reads as `latest`), in every stage. Image names built from
    `ARG`s are resolved through their defaults (`FROM python:${PY}` with
    `ARG PY=latest`); an argument without a default is not judged. `scratch` and
    references to an earlier stage (`FROM builder`) are not images. A base image
    pinned by digest (`python:3.12-slim@sha256:...`) is recorded as evidence for
    MCP-C12.

    ## Why is this bad?
    `latest` moves: a rebuild silently picks up a new major version, a different
    distribution, or a compromised push to the tag, and two builds of the same commit
    differ. Vulnerability scans and reviews of the image no longer describe what
    runs. A version tag narrows this; a digest fixes the exact bytes (let Dependabot
    or Renovate update it).

    ## Example
    ```dockerfile
    FROM python:latest
    COPY . /app
    RUN pip install --no-cache-dir /app
    USER nobody
    CMD ["python", "-m", "notes_mcp"]
    ```

    ## Use instead
    Pin a version, best with its digest.
    ```dockerfile
    FROM python:3.12-slim@sha256:2f7b3c7e4b8d1f0a9c6e5d4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f
    COPY . /app
    RUN pip install --no-cache-dir /app
    USER nobody
    CMD ["python", "-m", "notes_mcp"]
    ```

    ## References
    - [CWE-1357: Reliance on Insufficiently Trustworthy Component](https://cwe.mitre.org/data/definitions/1357.html)
    - [Docker build best practices: pin base image versions](https://docs.docker.com/build/building/best-practices/#pin-base-image-versions)
    """

    code = "MCP952"
    name = "unpinned-base-image"
    severity = Severity.LOW
    confidence = Confidence.HIGH
    cwe = 1357
    checklist = "MCP-C12"
    message = "base image `{image}` {why}; pin a version tag, or better a digest"

    def check_text(self, doc) -> None:
        df = dockerfile.read(doc)
        for stage in df.stages:
            reference = stage.resolved
            if not reference or stage.parent is not None or reference.lower() == "scratch":
                continue
            name, tag, digest = dockerfile.image_parts(reference)
            if digest:
                self.evidence(stage.instruction.line, f"base image `{name}` pinned by digest")
                continue
            if tag is not None and tag.lower() != "latest":
                continue
            why = "is tagged `latest`" if tag else "has no tag (Docker pulls `latest`)"
            _, words = stage.instruction.flags(df.escape)
            word = words[0] if words else None
            span = dockerfile.span(doc, stage.instruction, word.start, word.end) if word else \
                dockerfile.span(doc, stage.instruction)
            self.report_at(span, image=reference, why=why)
