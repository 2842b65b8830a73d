"""Known security advisories for the MCP SDKs, shipped with mcplint (no network at
run time). MCP903 matches pinned and locked versions of these packages against it.

Each entry was checked against its GitHub advisory (or, for a CVE without one we
could confirm, the NVD record): package, the versions it affects (`introduced` up to
but not including `fixed`, the OSV `ECOSYSTEM` range semantics), the first fixed
version, and a one-line summary. Add an entry only with such a source; keep the list
ordered by package, then fixed version.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcplint.deps import canonical, parse_version
from mcplint.finding import Severity


@dataclass(frozen=True)
class Advisory:
    id: str  # GHSA id (or CVE id when no GHSA id could be confirmed)
    aliases: tuple[str, ...]  # CVE ids
    package: str  # canonical PyPI name
    fixed: str  # first fixed version
    summary: str
    severity: Severity
    url: str
    introduced: str = "0"

    def affects(self, version: tuple[int, ...]) -> bool:
        return _at_least(version, parse_version(self.introduced) or (0,)) and \
            not _at_least(version, parse_version(self.fixed) or (0,))

    @property
    def label(self) -> str:
        return f"{self.id} ({', '.join(self.aliases)})" if self.aliases else self.id


def _at_least(version: tuple[int, ...], other: tuple[int, ...]) -> bool:
    width = max(len(version), len(other))
    return version + (0,) * (width - len(version)) >= other + (0,) * (width - len(other))


ADVISORIES: tuple[Advisory, ...] = (
    Advisory("GHSA-3qhf-m339-9g5v", ("CVE-2025-53366",), "mcp", "1.9.4",
             "a request that fails validation crashes the FastMCP server (denial of service)",
             Severity.HIGH, "https://github.com/advisories/GHSA-3qhf-m339-9g5v"),
    Advisory("GHSA-j975-95f5-7wqh", ("CVE-2025-53365",), "mcp", "1.10.0",
             "an unhandled exception in the Streamable HTTP transport crashes the server (denial of service)",
             Severity.HIGH, "https://github.com/advisories/GHSA-j975-95f5-7wqh"),
    Advisory("GHSA-9h52-p55h-vw2f", ("CVE-2025-66416",), "mcp", "1.23.0",
             "DNS rebinding protection is not enabled by default for HTTP servers on localhost",
             Severity.HIGH, "https://github.com/advisories/GHSA-9h52-p55h-vw2f"),
    Advisory("GHSA-jpw9-pfvf-9f58", ("CVE-2026-52869",), "mcp", "1.27.2",
             "HTTP transports serve session requests without verifying the authenticated principal",
             Severity.HIGH, "https://github.com/advisories/GHSA-jpw9-pfvf-9f58"),
    Advisory("GHSA-hvrp-rf83-w775", ("CVE-2026-52870",), "mcp", "1.27.2",
             "experimental task handlers let any client read and cancel other clients' tasks",
             Severity.HIGH, "https://github.com/advisories/GHSA-hvrp-rf83-w775"),
    Advisory("GHSA-vj7q-gjh5-988w", ("CVE-2026-59950",), "mcp", "1.28.1",
             "the WebSocket server transport does not validate Host and Origin headers",
             Severity.HIGH, "https://github.com/advisories/GHSA-vj7q-gjh5-988w"),
    Advisory("GHSA-c2jp-c369-7pvx", (), "fastmcp", "2.13.0",
             "OAuth proxy auth integrations allow a confused-deputy account takeover",
             Severity.HIGH, "https://github.com/advisories/GHSA-c2jp-c369-7pvx"),
    Advisory("GHSA-rww4-4w9c-7733", ("CVE-2026-27124",), "fastmcp", "3.2.0",
             "the OAuth proxy callback does not verify consent (confused deputy)",
             Severity.HIGH, "https://github.com/advisories/GHSA-rww4-4w9c-7733"),
    Advisory("GHSA-vv7q-7jx5-f767", ("CVE-2026-32871",), "fastmcp", "3.2.0",
             "the OpenAPI provider allows path traversal and authenticated SSRF through path parameters",
             Severity.CRITICAL, "https://github.com/advisories/GHSA-vv7q-7jx5-f767"),
    Advisory("CVE-2025-64340", (), "fastmcp", "3.2.0",
             "`fastmcp install` on Windows runs shell metacharacters in a server name (command injection)",
             Severity.MEDIUM, "https://nvd.nist.gov/vuln/detail/CVE-2025-64340"),
)

PACKAGES = frozenset(a.package for a in ADVISORIES)


def affecting(package: str, version: tuple[int, ...]) -> list[Advisory]:
    """The advisories that affect `package` at exactly `version`."""
    key = canonical(package)
    return [a for a in ADVISORIES if a.package == key and a.affects(version)]
