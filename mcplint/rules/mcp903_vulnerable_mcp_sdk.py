"""MCP903: the project pins (or allows) an MCP SDK version with known advisories."""

from __future__ import annotations

from mcplint import advisories, deps
from mcplint.finding import Confidence, Severity
from mcplint.rule import Rule
from mcplint.rules.mcp901_unpinned_dependency import MANIFEST_FILES, declared


def _version_text(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


class VulnerableMcpSdk(Rule):
    """The MCP SDK version the project pins has known security advisories.

    ## What it does
    Checks the `mcp` and `fastmcp` versions in lock files (`uv.lock`, `poetry.lock`,
    `Pipfile.lock`, `pylock.toml`) and `==` pins in `requirements*.txt` and
    `pyproject.toml` against a small advisory table shipped with mcplint
    (`mcplint/advisories.py`: each entry cites its GitHub advisory or CVE record;
    nothing is fetched). The report lists the advisories and the first version
    that fixes them all. A manifest covered by a lock file is not judged: the lock
    decides what is installed. Without one, a range that admits affected versions
    (`mcp>=1.0`, or no bound) is reported at low confidence. A pinned version with no known advisory is
    recorded as evidence for MCP-C10. The table is not a vulnerability database:
    run `pip-audit` or `osv-scanner` for the whole dependency tree.

    ## Why is this bad?
    The SDK parses every message a client sends and enforces the transport's
    protections. Known flaws in it — a crash from one malformed request, DNS
    rebinding protection off by default, sessions not bound to the authenticated
    user, an OAuth proxy confused deputy, SSRF through the OpenAPI provider — are
    published with exploit details, so a server that still runs an affected version
    is an easy target.

    ## Example
    ```requirements
    mcp==1.9.0
    ```

    ## Use instead
    Upgrade to the fixed version and relock.
    ```requirements
    mcp==1.28.1
    ```

    ## References
    - [CWE-1395: Dependency on Vulnerable Third-Party Component](https://cwe.mitre.org/data/definitions/1395.html)
    - [Security advisories of the MCP Python SDK](https://github.com/modelcontextprotocol/python-sdk/security/advisories)
    - [Security advisories of FastMCP](https://github.com/PrefectHQ/fastmcp/security/advisories)
    """

    code = "MCP903"
    name = "vulnerable-mcp-sdk"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = 1395
    checklist = "MCP-C10"
    scope = "text"
    files = (*MANIFEST_FILES, *deps.LOCK_FILES)
    example_name = "requirements.txt"
    message = "{what} {count}: {ids}; {fix}"

    def check_text(self, doc) -> None:
        project = self.ctx.project
        base = doc.path.rsplit("/", 1)[-1]
        if base not in deps.LOCK_FILES and project.lock_for(doc.path) is not None:
            return  # a lock file decides what is installed: it is judged instead
        for requirement in declared(doc, project):
            if requirement.name not in advisories.PACKAGES:
                continue
            version = requirement.version
            if version is not None:
                hits = advisories.affecting(requirement.name, version)
                confidence = Confidence.HIGH
                what = f"`{requirement.name}` {_version_text(version)} is affected by"
                needle = requirement.spec.lstrip("=")
            else:
                hits = advisories.affecting(requirement.name, requirement.lower_bound or (0,))
                confidence = Confidence.LOW
                allowed = requirement.spec or " (any version)"
                what = f"`{requirement.name}{allowed}` allows versions affected by"
                needle = requirement.spec
            if not hits:
                if version is not None:
                    self.evidence(requirement.line, f"`{requirement.name}` {_version_text(version)} has no advisory "
                                                    "in mcplint's table")
                continue
            fixed = max((a.fixed for a in hits), key=lambda v: deps.parse_version(v) or (0,))
            ids = ", ".join(a.label if len(hits) == 1 else a.id for a in hits)
            if len(hits) == 1:
                ids += f" ({hits[0].summary})"
            severity = max(a.severity for a in hits)
            self.report_at(self._span(doc, requirement.line, needle), severity=severity, confidence=confidence,
                           snippet=f"{requirement.name} {requirement.spec}", what=what,
                           count="1 known advisory" if len(hits) == 1 else f"{len(hits)} known advisories",
                           ids=ids, fix=f"upgrade to {fixed} or later" if version is not None
                           else f"require `{requirement.name}>={fixed}`")

    @staticmethod
    def _span(doc, line: int, needle: str):
        """The version text at or after the requirement's line (a lock file lists the
        version a line or two below the name)."""
        if needle:
            start = doc.line_offset(line)
            at = doc.text.find(needle, start, start + 2000)
            if at >= 0:
                return doc.span(at, at + len(needle))
        return doc.line_span(line)
