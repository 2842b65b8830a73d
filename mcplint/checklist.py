"""The MCP server security checklist (shared/checklist.md) and the scorecard over it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcplint.engine import ScanResult
    from mcplint.finding import Finding


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


@dataclass
class ItemStatus:
    item: Item
    status: str
    findings: list["Finding"] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # codes of enabled rules that judge this item

    @property
    def detail(self) -> str:
        if self.status == FAIL:
            n = len(self.findings)
            return f"{n} finding{'s' if n != 1 else ''}"
        if self.status == PASS:
            return f"no findings from {', '.join(self.rules)}"
        if self.rules:
            return f"nothing to judge; {self.item.check_by_hand}"
        return f"no rule checks this yet; {self.item.check_by_hand}"


def scorecard(result: "ScanResult") -> list[ItemStatus]:
    """Each checklist item: fail (active findings), pass (rules ran, none found), unknown.

    An item judged only by MCP-model rules is `unknown` when no MCP server or handler
    was found: absence of findings in code that is not a server proves nothing.
    """
    out = []
    saw_mcp = result.servers > 0 or result.handlers > 0
    for item in ITEMS:
        rules = [r for r in result.rules if r.checklist == item.id]
        findings = [f for f in result.active if f.rule.checklist == item.id]
        if findings:
            status = FAIL
        elif rules and (saw_mcp or any(r.scope == "python" for r in rules)):
            status = PASS
        else:
            status = UNKNOWN
        out.append(ItemStatus(item, status, findings, [r.code for r in rules]))
    return out
