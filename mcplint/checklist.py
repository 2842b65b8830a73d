"""The MCP server security checklist (shared/checklist.md) and the scorecard over it.

Each item gets one verdict, and the verdict says why:

- `fail`: active findings of the rules that map to the item;
- `pass`: evidence that the control is in place (an auth provider, a rate limiter,
  a lock file, a non-root `USER`: file and line), or, for items judged by the absence
  of a flaw (input validation, injection, secrets, tool metadata), rules that followed
  every analysed handler and found nothing; network items are not applicable to a
  server whose every transport is stdio, and say so;
- `unknown`: nothing in the scanned code shows it either way; `detail` says what to
  check by hand (a proxy may do TLS and rate limiting; the version of an SDK whose
  defaults decide the item may not be pinned).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from mcplint.engine import ScanResult
    from mcplint.finding import Evidence, Finding


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    check_by_hand: str  # what to look at when the code cannot show it


ITEMS: tuple[Item, ...] = (
    Item("MCP-C01", "Authentication required for all connections",
         "check that every network-served endpoint sits behind a token verifier or auth proxy"),
    Item("MCP-C02", "Authorization scoped per client/agent",
         "check that tools that write, delete or execute check the caller's scopes"),
    Item("MCP-C03", "Input validation on all tool parameters",
         "check types, sizes and allow-lists of every tool parameter"),
    Item("MCP-C04", "SQL injection and command injection prevention",
         "check that queries are parameterized and commands avoid the shell"),
    Item("MCP-C05", "TLS 1.3 for all connections",
         "check the TLS settings of the server's proxy and of outbound clients"),
    Item("MCP-C06", "Comprehensive logging with redaction",
         "check that tool calls are logged and secrets are redacted"),
    Item("MCP-C07", "Rate limiting configured",
         "check for rate limiting in the server or in front of it"),
    Item("MCP-C08", "Secret management in place",
         "check that secrets come from a secret store or the environment"),
    Item("MCP-C09", "Error messages sanitized",
         "check that exceptions are not returned to clients verbatim"),
    Item("MCP-C10", "Dependencies scanned for vulnerabilities",
         "check that dependencies are pinned and scanned (pip-audit, Dependabot)"),
    Item("MCP-C11", "No public exposure / network isolation",
         "check where the server listens and what can reach it"),
    Item("MCP-C12", "Container security",
         "check the Dockerfile: non-root user, pinned base image, no secrets"),
    Item("MCP-C13", "Prompt-injection defense in tool metadata",
         "check tool names and descriptions for instructions aimed at the model"),
)
ITEM_BY_ID = {item.id: item for item in ITEMS}

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"

# Judged by the absence of a flaw: rules that followed every analysed handler and
# found nothing are the evidence.
ABSENCE_JUDGED = frozenset({"MCP-C03", "MCP-C04", "MCP-C08", "MCP-C13"})
# About network connections and their clients: not applicable to a server served over
# stdio only (one local client, acting with the user's own rights).
NETWORK_ITEMS = frozenset({"MCP-C01", "MCP-C02", "MCP-C05", "MCP-C07", "MCP-C11"})
# The `item` of engine evidence that records a transport (note: its kind).
TRANSPORT = "transport"


@dataclass
class ItemStatus:
    item: Item
    status: str
    findings: list["Finding"] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # codes of enabled rules that judge this item
    evidence: list["Evidence"] = field(default_factory=list)
    reason: str = ""  # why pass/unknown, when evidence alone does not say

    @property
    def detail(self) -> str:
        if self.status == FAIL:
            n = len(self.findings)
            return f"{n} finding{'s' if n != 1 else ''}"
        if self.status == PASS and self.evidence:
            first = self.evidence[0]
            more = f" (+{len(self.evidence) - 1} more)" if len(self.evidence) > 1 else ""
            return f"{first.note} ({first.path}:{first.line}){more}"
        if self.reason:
            return self.reason
        if self.rules:
            return f"nothing shows it; {self.item.check_by_hand}"
        return f"no rule checks this; {self.item.check_by_hand}"


@dataclass(frozen=True)
class Transports:
    """What the scanned code shows of how a server is served."""

    kinds: tuple[str, ...] = ()
    evidence: tuple["Evidence", ...] = ()  # where each transport is chosen

    @property
    def stdio_only(self) -> bool:
        return bool(self.kinds) and all(kind == "stdio" for kind in self.kinds)


def judge(
    rules: Iterable,
    findings: list["Finding"],
    evidence: list["Evidence"],
    *,
    handlers: int,
    transports: Transports,
) -> list[ItemStatus]:
    """The verdict for every item, from the findings and evidence of one server (or
    of the whole scan)."""
    rules = list(rules)
    out = []
    for item in ITEMS:
        judges = [r for r in rules if r.checklist == item.id]
        codes = [r.code for r in judges]
        # secrets and the like are judged in every file, not only in handlers
        everywhere = any(r.scope in ("python", "text") for r in judges)
        failed = [f for f in findings if f.rule.checklist == item.id]
        seen = [e for e in evidence if e.item == item.id]
        status, reason = UNKNOWN, ""
        if failed:
            status = FAIL
        elif seen:
            status = PASS
        elif item.id in NETWORK_ITEMS and transports.stdio_only:
            first = transports.evidence[0] if transports.evidence else None
            status, reason = PASS, "served over stdio only: no network clients" + (
                f" ({first.path}:{first.line})" if first else "")
        elif item.id in ABSENCE_JUDGED and codes and (handlers or everywhere):
            status = PASS
            what = f"{handlers} handler{'s' if handlers != 1 else ''}" if handlers else "the scanned files"
            reason = f"{what} checked by {', '.join(codes)}; no findings"
        elif item.id in ABSENCE_JUDGED and codes:
            reason = f"no MCP handlers found to judge; {item.check_by_hand}"
        out.append(ItemStatus(item, status, failed, codes, seen, reason))
    return out


def transports_of(evidence: Iterable["Evidence"]) -> Transports:
    found = [e for e in evidence if e.item == TRANSPORT]
    return Transports(tuple(e.note for e in found), tuple(found))


def scorecard(result: "ScanResult") -> list[ItemStatus]:
    """The scorecard of a whole scan (the end of `mcplint scan`'s report)."""
    # findings a baseline (or --diff) left out still fail their item: known is not fixed
    known = result.baseline.known if result.baseline is not None else []
    return judge(result.rules, result.active + known, result.evidence, handlers=result.handlers,
                 transports=transports_of(result.evidence))


@dataclass
class Card:
    """The scorecard of one server (or of the whole scan when no server is found)."""

    title: str  # "server `mcp` (fastmcp) at app/server.py:12", or "project"
    server_id: str | None
    transports: Transports
    handlers: int
    rows: list[ItemStatus]

    @property
    def failed(self) -> int:
        return sum(row.status == FAIL for row in self.rows)


def cards(result: "ScanResult", servers: list) -> list[Card]:
    """One scorecard per server of the inventory (`mcplint.mcp.join.ProjectServer`s).

    A finding or evidence belongs to a server when it is in one of the server's files
    (where it is built, run, or has handlers) or, for a finding, when its trace starts
    there (a sink in a helper reached from the server's tool); what belongs to no
    server (a Dockerfile, a lock file, a shared helper) counts for every server.
    Test code (`tests/`, `test_*.py`) is not the served surface: its findings and
    evidence count for no server (the scan report still lists them).
    """
    from mcplint.finding import Evidence
    from mcplint.files import is_test_path

    servers = [s for s in servers if s.resolved and not s.test_code]
    if not servers:
        return [Card("project", None, transports_of(result.evidence), result.handlers, scorecard(result))]
    files = {s.id: _server_files(s) for s in servers}
    owned = set().union(*files.values())

    def origin(finding) -> set[str]:
        return {finding.path} | ({finding.trace[0].path} if finding.trace and finding.trace[0].path else set())

    out = []
    for server in servers:
        mine = files[server.id]
        findings = [f for f in result.active
                    if not is_test_path(f.path) and (origin(f) & mine or not origin(f) & owned)]
        evidence = [e for e in result.evidence if e.item != TRANSPORT and not is_test_path(e.path)
                    and (e.path in mine or e.path not in owned)]
        transports = Transports(
            tuple(t.kind for t in server.transports),
            tuple(Evidence(TRANSPORT, t.location.path, t.location.line, t.kind) for t in server.transports),
        )
        label = f"`{server.var or server.name or 'server'}`"
        title = f"server {label} ({server.dialect}) at {server.location.path}:{server.location.line}"
        rows = judge(result.rules, findings, evidence, handlers=len(server.handlers), transports=transports)
        out.append(Card(title, server.id, transports, len(server.handlers), rows))
    return out


def _server_files(server) -> set[str]:
    paths = {member.path for member in server.members}
    paths |= {handler.path for handler in server.handlers}
    paths |= {t.location.path for t in server.transports}
    return paths
