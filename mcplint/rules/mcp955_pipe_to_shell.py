"""MCP955: a `RUN` step pipes a downloaded script straight into a shell."""

from __future__ import annotations

import re

from mcplint import dockerfile
from mcplint.finding import Confidence, Severity
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule

_DOWNLOAD = r"(?:curl|wget|iwr|irm|Invoke-WebRequest|Invoke-RestMethod)"
_INTERPRETER = (r"(?:/[\w./-]*/)?(?:(?:ba|z|da|k|a|fi)?sh|python[0-9.]*|perl|ruby|node|php|pwsh|powershell"
                r"|iex|Invoke-Expression)")
# `curl -fsSL URL | sudo -E bash -s -- --flag`, `wget -qO- URL | env X=1 sh`
_PIPED_RE = lazy_compile(
    rf"(?<![\w-]){_DOWNLOAD}\b[^|;&\n]*(?:\|(?!\|)[^|;&\n]*?)*?\|(?!\|)\s*"
    rf"(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+(?:-\S+\s+)*(?:\w+=\S*\s+)*)?{_INTERPRETER}(?![\w.-])",
    re.IGNORECASE,
)
# `sh -c "$(curl -fsSL URL)"`, `bash <(curl -s URL)`, `eval "$(wget -qO- URL)"`, `. <(curl URL)`
_SUBSTITUTED_RE = lazy_compile(
    rf"(?:(?<![\w-]){_INTERPRETER}\s+(?:-\S+\s+)*|(?<![\w-])(?:eval|source)\s+|(?<![\w.])\.\s+)"
    rf"[\"']?(?:\$\(|<\()\s*{_DOWNLOAD}\b",
    re.IGNORECASE,
)
_URL_RE = lazy_compile(r"\b(?:https?|ftp)://[^\s'\"|)]+")


class PipeToShell(dockerfile.DockerfileRule, Rule):
    """A `RUN` step pipes a downloaded script straight into a shell (`curl | sh`).

    ## What it does
    Reports `RUN` commands (heredoc scripts included) that pipe `curl`, `wget` or
    PowerShell's `iwr`/`irm` output into a shell or interpreter (`sh`, `bash`,
    `python3`, `node`, `iex`, also through `sudo` or `env`), or run a downloaded
    script through command or process substitution (`sh -c "$(curl ...)"`,
    `bash <(curl ...)`, `eval "$(wget -qO- ...)"`). The message names the URL.

    ## Why is this bad?
    The script is executed as it streams in, as root during the build, with no
    chance to check what arrived: a compromised or hijacked install script, a CDN
    incident or (over `http://`) a man in the middle runs arbitrary code in the image
    that will hold the MCP server's credentials. A truncated download can even run a
    half script. The result differs from build to build.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN apt-get update && apt-get install -y --no-install-recommends curl \\
        && curl -LsSf https://astral.sh/uv/install.sh | sh
    USER nobody
    ```

    ## Use instead
    Install from a package index or a pinned image, or download to a file, check its
    checksum, then run it.
    ```dockerfile
    FROM python:3.12-slim
    COPY --from=ghcr.io/astral-sh/uv:0.5.11 /uv /uvx /bin/
    USER nobody
    ```

    ## References
    - [CWE-494: Download of Code Without Integrity Check](https://cwe.mitre.org/data/definitions/494.html)
    - [Hadolint DL4006 and the curl | sh discussion](https://github.com/hadolint/hadolint/wiki/DL4006)
    - [uv: installing in Docker without the install script](https://docs.astral.sh/uv/guides/integration/docker/)
    """

    code = "MCP955"
    name = "pipe-to-shell"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 494
    checklist = "MCP-C12"
    message = "`RUN` runs a script downloaded from {source} in `{shell}` without checking it"

    def check_text(self, doc) -> None:
        df = dockerfile.read(doc)
        for instruction in df.instructions:
            if instruction.keyword != "RUN":
                continue
            for fragment in instruction.scripts():
                for regex in (_PIPED_RE, _SUBSTITUTED_RE):
                    for match in regex.finditer(fragment.text):
                        words = match.group(0).split()
                        shell = (words[-1] if regex is _PIPED_RE else words[0]).rsplit("/", 1)[-1]
                        url = _URL_RE.search(fragment.text, match.start())
                        near = url is not None and url.start() < match.end() + 200
                        source = f"`{url.group(0)}`" if near else "the network"
                        self.report_at(dockerfile.span(doc, fragment, match.start(), match.end()),
                                       snippet=" ".join(words), source=source, shell=shell)
