"""Non-Python files (Dockerfiles, `.env`, MCP client JSON, requirements) through the
same engine: text rules look at the decoded text and report spans; findings then go
through the same suppression, config and reporters as Python findings.

A suppression comment (`# mcplint: ignore[CODE] -- reason`) works in every format
with `#` comments; JSON has none, so there `per-file-ignores` in the config is the way.
Where a trailing comment would change the meaning (a Dockerfile instruction, a `.env`
value), the comment goes on its own line right above the flagged line; it covers a
whole multi-line unit (an instruction with its continuation lines) the reader
registered in `TextDocument.statements`.
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
    # What several rules derive from the same text (a parsed Dockerfile), computed once.
    memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    # Multi-line units, (first line, last line): a suppression anywhere in one covers it.
    statements: list[tuple[int, int]] = field(default_factory=list, init=False, repr=False, compare=False)

    def suppress_lines(self, span: Span) -> frozenset[int]:
        """The lines whose suppression comments cover a finding at `span`: its lines,
        the unit they belong to, and the comment lines right above."""
        first, last = span.line, span.end_line
        for start, end in self.statements:
            if start <= last and first <= end:
                first, last = min(first, start), max(last, end)
        above = first - 1
        while above >= 1 and self.lines[above - 1].lstrip().startswith("#"):
            above -= 1
        return frozenset(range(above + 1, last + 1))

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

    def line_offset(self, line: int) -> int:
        """The character offset where a line (1-based) starts."""
        return self._starts[min(max(line, 1), len(self._starts)) - 1]

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
        """The parsed JSON document, or None when it is not valid JSON. Comments and
        trailing commas are accepted (VS Code and Cursor read their configs as JSONC)."""
        try:
            return json.loads(self.text)
        except (ValueError, RecursionError):
            return self._located_json[0]

    @cached_property
    def _located_json(self) -> tuple[object, list["JsonString"]]:
        return read_jsonc(self.text)

    def json_strings(self) -> list["JsonString"]:
        """Every string value of the JSON document with where it is: JSON parsers give
        no positions, and a rule must report the line of a value."""
        return self._located_json[1]


@dataclass(frozen=True)
class JsonString:
    """A string value in a JSON document: its key path, the value, and the character
    offsets of its contents in the text (between the quotes)."""

    path: tuple  # keys and list indices from the root, e.g. ("mcpServers", "github", "env", "TOKEN")
    value: str
    start: int
    end: int

    @property
    def key(self) -> str | None:
        """The key the value sits under (None inside a list)."""
        return self.path[-1] if self.path and isinstance(self.path[-1], str) else None


_JSON_GAP = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*", re.DOTALL)
_JSON_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")
_JSON_MAX_DEPTH = 200


def read_jsonc(text: str) -> tuple[object, list[JsonString]]:
    """Parse JSON with comments and trailing commas; (value, located strings), or
    (None, []) when the text is not such a document."""
    strings: list[JsonString] = []
    position = 0

    def gap() -> None:
        nonlocal position
        position = _JSON_GAP.match(text, position).end()

    def string(path: tuple, keep: bool) -> str:
        nonlocal position
        start = position + 1
        value, position = json.decoder.scanstring(text, start)
        if keep:
            strings.append(JsonString(path, value, start, position - 1))
        return value

    def value(path: tuple):
        nonlocal position
        if len(path) > _JSON_MAX_DEPTH:
            raise ValueError("too deeply nested")
        gap()
        char = text[position:position + 1]
        if char == "{":
            position += 1
            out = {}
            while True:
                gap()
                if text.startswith("}", position):
                    position += 1
                    return out
                if not text.startswith('"', position):
                    raise ValueError("expected a key")
                key = string(path, keep=False)
                gap()
                if not text.startswith(":", position):
                    raise ValueError("expected ':'")
                position += 1
                out[key] = value(path + (key,))
                gap()
                if text.startswith(",", position):
                    position += 1
                elif not text.startswith("}", position):
                    raise ValueError("expected ',' or '}'")
        if char == "[":
            position += 1
            items: list = []
            while True:
                gap()
                if text.startswith("]", position):
                    position += 1
                    return items
                items.append(value(path + (len(items),)))
                gap()
                if text.startswith(",", position):
                    position += 1
                elif not text.startswith("]", position):
                    raise ValueError("expected ',' or ']'")
        if char == '"':
            return string(path, keep=True)
        match = _JSON_SCALAR.match(text, position)
        if not match:
            raise ValueError("unexpected character")
        position = match.end()
        return json.loads(match.group(0))

    try:
        result = value(())
        gap()
        if position != len(text):
            raise ValueError("trailing text")
    except (ValueError, IndexError, RecursionError):
        return None, []
    return result, strings


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
            suppress_lines=self.doc.suppress_lines(span),
        ))

    def add_evidence(self, item: str, where, note: str, code: str) -> None:
        line = where if isinstance(where, int) else getattr(where, "line", 1)
        self.evidence.append(Evidence(item, self.path, line, note, code))


def text_rules_for(path: str, rules) -> list:
    return [r for r in rules if r.scope == "text" and r.wants_file(path)]


def analyse_text(path: str, data: bytes, rules, project: Project | None) -> tuple[list[Finding], list[Evidence], str]:
    """Run the text rules that want `path`; returns findings, evidence and the text.

    Text that is not UTF-8 is not analysed (as for Python source that does not
    decode): an MCP002 diagnostic says where, instead of rules judging mangled values.
    """
    text = data.decode("utf-8-sig", "replace")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        from mcplint.engine import _diagnostic

        line = data[:exc.start].count(b"\n") + 1
        detail = f"not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); save the file as UTF-8"
        return [_diagnostic("MCP002", path, Span(line), detail)], [], text
    doc = TextDocument(path, text)
    ctx = TextContext(doc, project)
    for rule_class in rules:
        rule_class(ctx).check_text(doc)
    return ctx.found, ctx.evidence, text
