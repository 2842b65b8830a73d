"""Non-Python files (Dockerfiles, `.env`, MCP client JSON, requirements) through the
same engine: text rules look at the decoded text and report spans; findings then go
through the same suppression, config and reporters as Python findings.

A suppression comment (`# mcplint: ignore[CODE] -- reason`) works in every format
with `#` comments; JSON has none, so there `per-file-ignores` in the config is the way.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from mcplint.deps import Project
from mcplint.finding import Confidence, Evidence, Finding, Severity, Span, source_lines

if TYPE_CHECKING:
    from mcplint.rule import Rule


@dataclass
class TextDocument:
    path: str
    text: str
    lines: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = source_lines(self.text)

    @cached_property
    def _starts(self) -> list[int]:
        # the same line breaks as `source_lines`
        return [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", self.text)]

    def position(self, offset: int) -> tuple[int, int]:
        """(1-based line, 1-based column) of a character offset into `text`."""
        line = bisect.bisect_right(self._starts, offset) - 1
        return line + 1, offset - self._starts[line] + 1

    def span(self, start: int, end: int) -> Span:
        """The Span of `text[start:end]`."""
        line, column = self.position(start)
        end_line, end_column = self.position(max(end, start))
        return Span(line, column, end_line, end_column)

    def line_span(self, line: int) -> Span:
        """A whole line (1-based), without its leading indentation."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        indent = len(text) - len(text.lstrip())
        return Span(line, indent + 1, line, len(text) + 1)

    @cached_property
    def json(self):
        """The parsed JSON document, or None when it is not valid JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None


class TextContext:
    """What a text rule can ask and how it reports (the text-file FileContext)."""

    handler = None

    def __init__(self, doc: TextDocument, project: Project | None = None) -> None:
        self.doc = doc
        self.path = doc.path
        self.project = project or Project()
        self.found: list[Finding] = []
        self.evidence: list[Evidence] = []

    def report_span(self, rule: "Rule", span: Span, *, message: str, severity: Severity, confidence: Confidence,
                    snippet: str | None) -> None:
        lines = self.doc.lines
        line_text = lines[span.line - 1].strip() if 0 < span.line <= len(lines) else ""
        self.found.append(Finding(
            rule=rule.meta,
            path=self.path,
            span=span,
            message=message,
            severity=severity,
            confidence=confidence,
            snippet=snippet if snippet is not None else line_text,
            suppress_lines=frozenset(range(span.line, span.end_line + 1)),
        ))

    def add_evidence(self, item: str, where, note: str, code: str) -> None:
        line = where if isinstance(where, int) else getattr(where, "line", 1)
        self.evidence.append(Evidence(item, self.path, line, note, code))


def text_rules_for(path: str, rules) -> list:
    return [r for r in rules if r.scope == "text" and r.wants_file(path)]


def analyse_text(path: str, data: bytes, rules, project: Project | None) -> tuple[list[Finding], list[Evidence], str]:
    """Run the text rules that want `path`; returns findings, evidence and the text."""
    text = data.decode("utf-8-sig", "replace")
    doc = TextDocument(path, text)
    ctx = TextContext(doc, project)
    for rule_class in rules:
        rule_class(ctx).check_text(doc)
    return ctx.found, ctx.evidence, text
