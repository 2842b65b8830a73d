"""A pull-request comment in GitHub/GitLab Markdown.

A hidden marker (so a CI step can find and update its previous comment), one summary
line, a table of the active findings (worst first, capped at `max_findings` with
"and K more"), a collapsible block per finding with its flow, why and fix, and the
checklist scorecard. Suppressed findings are only counted.

Text from scanned files (paths, messages quoting code, handler names, flow notes,
scorecard details) is hostile until escaped: Markdown punctuation is backslash-escaped
(so `|` cannot split a table cell, `<` cannot open HTML, `[` cannot make a link),
text inside `<summary>` (raw HTML, not Markdown) is HTML-escaped, control, bidi and
zero-width characters are shown as `\\uXXXX`, and a word joiner after `@` and `#`
keeps a file from mentioning people or referencing issues. Secrets never reach the
comment: messages are redacted by the rules and no source lines are quoted.
The comment stays under GitHub's 65,536-character limit.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from mcplint.checklist import FAIL, PASS, UNKNOWN, scorecard
from mcplint.finding import Finding, Severity
from mcplint.report import clean

if TYPE_CHECKING:
    from mcplint.engine import ScanResult

MARKER = "<!-- mcplint-report -->"
DEFAULT_MAX_FINDINGS = 50
MAX_CHARS = 60_000  # GitHub rejects comments over 65,536 characters
TABLE_MESSAGE_CHARS = 300  # longer messages are cut in the table (in full in the details)
WORD_JOINER = "\u2060"

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_BREAKS = re.compile(r"\r\n|[\r\n\t]")
# ASCII punctuation that can start Markdown or HTML inline: code, emphasis, links and
# images (`(` needs no escape once `[` has one), raw HTML, entities, strikethrough,
# GitHub math (`$`), table cells (`|`). `:` (emoji) is harmless.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#!|~&$])")
_MENTION = re.compile(r"([@#])(?=[\w-])")
_SEVERITIES = tuple(reversed(Severity))  # critical first
STATUS_ICON = {PASS: "✅ pass", FAIL: "❌ fail", UNKNOWN: "❔ unknown"}


def _visible(text: str) -> str:
    """One line with invisible and control characters shown as escapes."""
    text = clean(text)
    text = _BREAKS.sub(" ", text)
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def _no_mentions(text: str) -> str:
    return _MENTION.sub(lambda m: m.group(1) + WORD_JOINER, text)


def escape(text: str) -> str:
    """Scanned text as inert Markdown inline content (also safe in a table cell)."""
    return _no_mentions(_MARKDOWN.sub(r"\\\1", _visible(text)))


def escape_html(text: str) -> str:
    """Scanned text inside raw HTML (`<summary>`), where Markdown escapes do not apply."""
    return _no_mentions(html.escape(_visible(text), quote=True)).replace("|", "&#124;")


def message(text: str) -> str:
    """A message whose `code` spans (from the rule's template) become `<code>`, all escaped.

    An odd number of backticks (a backtick inside a quoted value) means the spans cannot
    be trusted: then the whole text is escaped as plain text.
    """
    parts = text.split("`")
    if len(parts) % 2 == 0:
        return escape(text)
    return "".join(escape(part) if i % 2 == 0 else f"<code>{escape(part)}</code>" for i, part in enumerate(parts))


def _short(text: str, size: int = TABLE_MESSAGE_CHARS) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _location(finding: Finding) -> str:
    return f"{finding.path}:{finding.span.line}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _order(finding: Finding) -> tuple:
    return (-finding.severity.rank, finding.sort_key())


def _headline(result: "ScanResult", active: list[Finding]) -> str:
    if not active:
        return "### mcplint: no findings"
    counts = Counter(f.severity for f in active)
    detail = ", ".join(f"{counts[s]} {s.value}" for s in _SEVERITIES if counts[s])
    return f"### mcplint: {_plural(len(active), 'finding')} ({detail})"


def _summary(result: "ScanResult", active: list[Finding]) -> str:
    parts = []
    if result.suppressed:
        parts.append(f"{len(result.suppressed)} suppressed.")
    known = result.baseline  # --baseline / --diff: only new findings are listed
    if known is not None and known.matched:
        where = f"in the baseline {escape(known.source)}" if known.kind == "file" else f"already at {escape(known.source)}"
        parts.append(f"{_plural(known.matched, 'known finding')} {where} not listed.")
    parts.append(
        f"Scanned {_plural(result.files, 'file')} ({result.parsed} analysed, "
        f"{_plural(result.servers, 'server')}, {_plural(result.handlers, 'handler')})."
    )
    failing = len(result.failing())
    if active and failing != len(active):
        parts.append(f"{failing} at or above fail-on={result.config.fail_on.value}.")
    return " ".join(parts)


def _table(active: list[Finding], limit: int, budget: int) -> tuple[list[str], int]:
    """The table lines and how many findings it lists: at most `limit`, and only as many
    rows as fit in `budget` characters."""
    lines = ["| Severity | Rule | Location | Message |", "|---|---|---|---|"]
    size = sum(len(line) + 1 for line in lines)
    shown = 0
    for f in active[:limit]:
        row = f"| {f.severity.value} | {f.code} {f.rule.name} | {escape(_location(f))} | {message(_short(f.message))} |"
        if size + len(row) + 1 > budget:
            break
        lines.append(row)
        size += len(row) + 1
        shown += 1
    if len(active) > shown:
        lines += ["", f"… and {len(active) - shown} more."]
    return lines, shown


def _details(finding: Finding) -> str:
    meta = finding.rule
    head = f"{finding.severity.value} · {meta.code} {meta.name} · {_location(finding)}"
    facts = [f"**{meta.code} {meta.name}**", finding.severity.value, f"{finding.confidence.value} confidence"]
    if meta.checklist:
        facts.append(meta.checklist)
    if meta.cwe is not None:
        facts.append(f"CWE-{meta.cwe}")
    body = [" · ".join(facts) + f" · [docs]({meta.help_uri})", "", message(finding.message)]
    if finding.handler:
        body += ["", f"In {message(finding.handler)}."]
    if finding.trace:
        body += ["", "Flow:", ""]
        for number, step in enumerate(finding.trace, 1):
            where = f"{step.path or finding.path}:{step.span.line}"
            body.append(f"{number}. {message(step.note)} — {escape(where)}")
    if meta.why:
        body += ["", f"**Why:** {meta.why}"]
    if meta.fix:
        body += ["", f"**Fix:** {meta.fix}"]
    return "\n".join(["<details>", f"<summary>{escape_html(head)}</summary>", "", *body, "", "</details>", ""])


def _scorecard(result: "ScanResult") -> list[str]:
    rows = scorecard(result)
    counts = Counter(row.status for row in rows)
    summary = ", ".join(f"{counts[s]} {s}" for s in (FAIL, PASS, UNKNOWN) if counts[s])
    lines = [
        "<details>",
        f"<summary>MCP security checklist: {summary}</summary>",
        "",
        "| Item | Status | Control | Detail |",
        "|---|---|---|---|",
    ]
    for row in rows:
        status = STATUS_ICON.get(row.status, escape(row.status))
        lines.append(f"| {row.item.id} | {status} | {escape(row.item.title)} | {message(row.detail)} |")
    return [*lines, "", "</details>"]


def render(result: "ScanResult", *, root: Path, max_findings: int = DEFAULT_MAX_FINDINGS,
           max_chars: int = MAX_CHARS) -> str:
    """The comment. `root` is unused: finding paths are already relative to it."""
    del root
    active = sorted(result.active, key=_order)
    head = [MARKER, _headline(result, active), "", _summary(result, active), ""]
    shown: list[Finding] = []
    if active:
        table, count = _table(active, max(max_findings, 0), max_chars // 2)
        shown = active[:count]
        head += [*table, ""]
    tail = ["", *_scorecard(result), ""]
    budget = max_chars - len("\n".join(head + tail)) - 200
    details: list[str] = []
    left_out = 0
    for finding in shown:
        block = _details(finding)
        if len(block) + 1 > budget:
            left_out = len(shown) - len(details)
            break
        details.append(block)
        budget -= len(block) + 1
    if left_out:
        details.append(
            f"Details of {_plural(left_out, 'more finding')} left out to fit the comment; "
            "run `mcplint scan` for the full report."
        )
    return "\n".join(head + details + tail)
