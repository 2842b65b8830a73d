"""The human report: findings grouped by file, the checklist scorecard, one summary line.

Everything that comes from scanned files (source lines, messages quoting code) is
printed as plain `Text`, never as markup, with control characters made visible, so a
hostile file cannot restyle or rewrite the user's terminal.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import groupby
from pathlib import Path

from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from mcplint.checklist import FAIL, PASS, UNKNOWN, scorecard
from mcplint.engine import ScanResult
from mcplint.finding import Finding, Severity, source_lines

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
}
STATUS_STYLE = {PASS: "green", FAIL: "bold red"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def safe(text: str) -> str:
    """Show control, bidi and zero-width characters as escapes instead of obeying them."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def _source_lines(root: Path, path: str) -> list[str]:
    """The file's lines for excerpts: regular files only (a FIFO would block forever),
    and not files too large for the scan to have read."""
    from mcplint.engine import MAX_FILE_BYTES

    target = root / path
    try:
        if not target.is_file() or target.stat().st_size > MAX_FILE_BYTES:
            return []
        return source_lines(target.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []


def _excerpt(finding: Finding, lines: list[str]) -> Text | None:
    number = finding.span.line
    if not 0 < number <= len(lines):
        return None
    raw = lines[number - 1]
    if finding.rule.redact:  # a secret: show where, not what
        start = finding.span.column - 1
        end = finding.span.end_column - 1 if finding.span.end_line == number else len(raw)
        raw = raw[:start] + "*" * max(end - start, 0) + raw[end:]
    raw = raw.expandtabs(4)
    indent = len(raw) - len(raw.lstrip())
    shown = safe(raw.rstrip())
    gutter = f"{number:>6} │ "
    text = Text(gutter, style="dim", no_wrap=True, overflow="ellipsis")
    text.append(shown)
    start = max(finding.span.column - 1, indent)
    end = finding.span.end_column - 1 if finding.span.end_line == number else len(raw.rstrip())
    end = max(end, start + 1)
    if start < len(shown):
        text.append("\n" + " " * 6 + " │ ", style="dim")
        text.append(" " * start + "^" * min(end - start, max(len(shown) - start, 1)), style="bold red")
    return text


def _finding(finding: Finding, lines: list[str], verbose: bool) -> Group:
    meta = finding.rule
    head = Text("  ")
    head.append(f"{finding.span.line}:{finding.span.column}", style="bold")
    head.append("  ")
    head.append(meta.code, style="bold")
    head.append(f" {meta.name}  ")
    head.append(finding.severity.value, style=SEVERITY_STYLE[finding.severity])
    head.append(f" · {finding.confidence.value} confidence", style="dim")
    if meta.checklist:
        head.append(f" · {meta.checklist}", style="dim")
    if finding.suppressed:
        head.append("  (suppressed)", style="dim italic")
    parts: list = [head, _indented(Text(safe(finding.message)))]
    excerpt = _excerpt(finding, lines)
    if excerpt is not None:
        parts.append(excerpt)
    if finding.handler:
        parts.append(_indented(Text("in " + safe(finding.handler), style="dim")))
    if finding.trace:
        steps = " → ".join(
            f"{safe(step.note)} ({safe(step.path) + ':' if step.path and step.path != finding.path else 'line '}{step.span.line})"
            for step in finding.trace
        )
        parts.append(_indented(Text("flow: " + steps, style="dim")))
    if meta.why:
        parts.append(_indented(Text.assemble(("why: ", "bold"), meta.why)))
    if meta.fix:
        parts.append(_indented(Text.assemble(("fix: ", "bold green"), meta.fix)))
    if finding.suppressed and finding.justification:
        parts.append(_indented(Text("reason: " + safe(finding.justification), style="dim")))
    return Group(*parts)


def _indented(text: Text) -> Padding:
    return Padding(text, (0, 0, 0, 4))


def _scorecard_table(rows: list, verbose: bool, title: str = "MCP security checklist") -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False, box=None, expand=True)
    table.add_column("item", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("control", overflow="ellipsis", no_wrap=True, ratio=3)
    table.add_column("detail", overflow="fold", ratio=3)
    for row in rows:
        detail = row.detail
        if row.status == UNKNOWN and not verbose and not row.reason:
            detail = "nothing shows it" if row.rules else "not checked yet"
        table.add_row(
            row.item.id,
            Text(row.status, style=STATUS_STYLE.get(row.status, "dim")),
            row.item.title,
            Text(safe(detail), style="" if row.status == FAIL else "dim"),
        )
    return table


def summary_line(result: ScanResult) -> Text:
    active = result.active
    counts = Counter(f.severity for f in active)
    text = Text()
    if active:
        text.append(f"Found {len(active)} finding{'s' if len(active) != 1 else ''}", style="bold")
        detail = ", ".join(f"{counts[s]} {s.value}" for s in sorted(counts, reverse=True))
        text.append(f" ({detail})")
    else:
        text.append("No findings", style="bold green")
    if result.suppressed:
        text.append(f", {len(result.suppressed)} suppressed")
    if result.baseline is not None and result.baseline.matched:
        known = result.baseline
        text.append(f", {known.matched} {'in the baseline' if known.kind == 'file' else 'already at ' + known.source}")
    text.append(
        f". Scanned {result.files} file{'s' if result.files != 1 else ''} "
        f"({result.parsed} analysed, {result.servers} server{'s' if result.servers != 1 else ''}, "
        f"{result.handlers} handler{'s' if result.handlers != 1 else ''}) in {result.seconds:.2f}s."
    )
    failing = len(result.failing())
    if active and failing != len(active):
        text.append(f" {failing} at or above fail-on={result.config.fail_on.value}.")
    return text


def print_report(result: ScanResult, console: Console, *, root: Path, quiet: bool = False, verbose: bool = False) -> None:
    shown = result.findings if verbose else result.active
    if quiet:
        for finding in shown:
            line = Text(f"{safe(finding.path)}:{finding.span.line}:{finding.span.column}: ")
            line.append(finding.code, style="bold")
            line.append(f" [{finding.severity.value}] {safe(finding.message)}")
            console.print(line, soft_wrap=True)
        return
    for path, group in groupby(shown, key=lambda f: f.path):
        console.print(Text(safe(path), style="bold underline"))
        lines = _source_lines(root, path)
        for finding in group:
            console.print(_finding(finding, lines, verbose))
            console.print()
    console.print(_scorecard_table(scorecard(result), verbose))
    console.print()
    console.print(summary_line(result))
