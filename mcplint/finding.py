"""What every engine produces: rule metadata, locations and findings.

A `Finding` does not know which engine made it. mcplint's own rules, and later
bandit or semgrep, all describe their rules with a `RuleMeta` and emit findings that
the suppression, baseline and reporting layers treat alike.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field


class _Ordered(enum.Enum):
    """An enum whose members compare by their declaration order."""

    @property
    def rank(self) -> int:
        return list(type(self)).index(self)

    def __lt__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.rank <= other.rank

    @classmethod
    def parse(cls, text: str):
        try:
            return cls(text.strip().lower())
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise ValueError(f"expected one of {choices}, got {text!r}") from None


class Severity(_Ordered):
    """Impact if exploited through an agent (see checklist.md)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Confidence(_Ordered):
    """How sure the rule is that the finding is real."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    def lowered(self) -> "Confidence":
        """One level less sure (a partial guard), never below low."""
        return Confidence.MEDIUM if self is Confidence.HIGH else Confidence.LOW


@dataclass(frozen=True)
class RuleMeta:
    """Everything a reporter needs to know about a rule, whatever engine runs it."""

    code: str
    name: str
    severity: Severity
    confidence: Confidence
    checklist: str | None  # None only for mcplint's own diagnostics
    cwe: int | None
    summary: str
    why: str = ""
    fix: str = ""
    docs: str = ""
    engine: str = "mcplint"
    redact: bool = False  # the flagged source is a secret: reporters must not echo it

    @property
    def help_uri(self) -> str:
        return f"https://github.com/mcplint/mcplint/blob/main/docs/rules.md#{self.code.lower()}-{self.name}"


@dataclass(frozen=True, order=True)
class Span:
    """A region of a file: 1-based lines, 1-based columns, end column exclusive.

    Columns count Unicode code points (SARIF `columnKind: unicodeCodePoints`).
    """

    line: int
    column: int = 1
    end_line: int = 0
    end_column: int = 0

    def __post_init__(self) -> None:
        if self.end_line < self.line:
            object.__setattr__(self, "end_line", self.line)
        if self.end_line == self.line and self.end_column < self.column:
            object.__setattr__(self, "end_column", self.column)


@dataclass(frozen=True)
class TraceStep:
    """One hop of a taint path: where the value was, and what happened there."""

    span: Span
    note: str
    path: str = ""  # empty: the finding's own file


@dataclass(frozen=True, order=True)
class Edit:
    """Replace `span` (1-based lines, code-point columns, end exclusive) with `text`.

    An empty span (start == end) is an insertion. Line breaks in `text` are `\\n`;
    applying an edit writes the file's own line break instead.
    """

    span: Span
    text: str
    path: str = ""  # empty: the file of the finding the fix belongs to


@dataclass(frozen=True)
class Fix:
    """Text edits that repair a finding (built by `mcplint.fix` from a rule's `NodeFix`)."""

    description: str  # "remove `verify=False`", imperative, names what changes
    edits: tuple[Edit, ...]
    safe: bool = True


@dataclass(frozen=True)
class Evidence:
    """Code that shows a checklist control is in place (an auth provider, a rate
    limiter, a lock file): what the scorecard cites for `pass`."""

    item: str  # checklist id, e.g. "MCP-C01"
    path: str
    line: int
    note: str  # "token verifier `JWTVerifier` on server `mcp`"
    rule: str = ""  # code of the rule that saw it


@dataclass
class Finding:
    rule: RuleMeta
    path: str  # relative to the scan root, forward slashes
    span: Span
    message: str
    severity: Severity
    confidence: Confidence
    snippet: str = ""  # the source text of the flagged statement (for fingerprints)
    handler: str | None = None  # e.g. "tool `run_query`"
    trace: tuple[TraceStep, ...] = ()
    suppress_lines: frozenset[int] = frozenset()
    suppressed: bool = False
    justification: str | None = None
    fingerprint: str = ""
    extra: dict = field(default_factory=dict)
    fix: Fix | None = None  # text edits that repair it (`mcplint fix`, SARIF `fixes`)

    @property
    def code(self) -> str:
        return self.rule.code

    def sort_key(self) -> tuple:
        return (self.path, self.span, self.code, self.message)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def source_lines(text: str) -> list[str]:
    """Lines as Python counts them: `str.splitlines` also breaks at form feeds,
    `\\x1c`-`\\x1e`, `\\x85` and `\\u2028`, which would shift every line after them."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def placed_finding(meta: RuleMeta, path: str, where: Span, message: str, severity: Severity, confidence: Confidence,
                   lines: list[str], handler: str | None, steps, suppress: set[int]) -> Finding:
    """A finding whose positions are known; `steps`: (path, span, note), the path of a
    step in this file written as ""."""
    return Finding(
        rule=meta,
        path=path,
        span=where,
        message=message,
        severity=severity,
        confidence=confidence,
        snippet=lines[where.line - 1].strip() if 0 < where.line <= len(lines) else "",
        handler=handler,
        trace=tuple(TraceStep(step_span, note, "" if step_path == path else step_path)
                    for step_path, step_span, note in steps),
        suppress_lines=frozenset(suppress),
    )


def assign_fingerprints(findings: list[Finding]) -> None:
    """Give every finding a fingerprint that survives unrelated edits above it.

    The hash covers the rule, the file, the handler and the whitespace-normalised
    statement text; an occurrence counter separates identical statements in one file,
    so a second copy of an old problem gets a new fingerprint.
    """
    seen: dict[str, int] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        normalised = " ".join(finding.snippet.split())
        base = "\x1f".join(
            (finding.code, finding.path, finding.handler or "", normalised or finding.message)
        )
        digest = hashlib.sha256(base.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        index = seen.get(digest, 0)
        seen[digest] = index + 1
        finding.fingerprint = f"{digest}:{index}"
