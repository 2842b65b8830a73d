"""`mcplint checklist`: the scorecard of each server, as console, JSON or Markdown.

Every verdict carries its reason: the findings (fail), the evidence with file:line
(pass), or what to check by hand (unknown). Markdown is for a pull-request comment:
scanned text in it is escaped so that a file name or a quoted description cannot
inject markup, links or @-mentions.
"""

from __future__ import annotations

import json
import re

from rich.console import Console
from rich.text import Text

import mcplint
from mcplint.checklist import FAIL, PASS, Card
from mcplint.report.console import _scorecard_table, safe
from mcplint.report.json_report import evidence_data

SCHEMA_VERSION = 1
_MARK = {PASS: "pass", FAIL: "**fail**", "unknown": "unknown"}


def print_cards(cards: list[Card], console: Console, *, verbose: bool = False) -> None:
    for card in cards:
        kinds = ", ".join(sorted(set(card.transports.kinds))) or "not seen"
        console.print(Text(safe(card.title), style="bold"))
        console.print(Text(f"transports: {kinds}; handlers: {card.handlers}", style="dim"))
        console.print(_scorecard_table(card.rows, verbose=True, title=""))
        if verbose:
            for row in card.rows:
                for finding in row.findings:
                    console.print(Text(f"  {row.item.id} {finding.path}:{finding.span.line} {finding.code} "
                                       f"{safe(finding.message)}", style="red"))
                for evidence in row.evidence[1:]:
                    console.print(Text(f"  {row.item.id} {evidence.path}:{evidence.line} {safe(evidence.note)}",
                                       style="dim"))
        console.print()
    totals = [sum(row.status == status for card in cards for row in card.rows) for status in (PASS, FAIL, "unknown")]
    console.print(Text(f"{len(cards)} scorecard{'s' if len(cards) != 1 else ''}: "
                       f"{totals[0]} pass, {totals[1]} fail, {totals[2]} unknown."))


def render_json(cards: list[Card]) -> str:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "mcplint", "version": mcplint.__version__},
        "scorecards": [
            {
                "title": card.title,
                "server": card.server_id,
                "transports": list(card.transports.kinds),
                "handlers": card.handlers,
                "items": [
                    {
                        "id": row.item.id,
                        "title": row.item.title,
                        "status": row.status,
                        "detail": row.detail,
                        "rules": list(row.rules),
                        "evidence": [evidence_data(e) for e in row.evidence],
                        "findings": [
                            {"path": f.path, "line": f.span.line, "code": f.code, "severity": f.severity.value,
                             "fingerprint": f.fingerprint}
                            for f in row.findings
                        ],
                    }
                    for row in card.rows
                ],
            }
            for card in cards
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md(text: str) -> str:
    """Scanned text made inert in Markdown: no markup, no HTML, no mentions, one line."""
    text = " ".join(safe(text).split())
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("@", "@\u200b")  # no notification for @user / @org/team


def render_markdown(cards: list[Card]) -> str:
    lines = ["## MCP security checklist", ""]
    for card in cards:
        kinds = ", ".join(sorted(set(card.transports.kinds))) or "not seen"
        lines += [f"### {md(card.title)}", "", f"Transports: {md(kinds)}. Handlers: {card.handlers}.", "",
                  "| item | status | control | detail |", "|---|---|---|---|"]
        for row in card.rows:
            lines.append(f"| {row.item.id} | {_MARK[row.status]} | {md(row.item.title)} | {md(row.detail)} |")
        lines.append("")
    return "\n".join(lines)
