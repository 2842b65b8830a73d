"""Inline suppressions: `# mcplint: ignore[MCP301] -- reason` (also `# noqa: MCP301`).

Codes are required. A suppression covers findings whose statement (or, for
handler-level findings, whose handler header) includes the comment's line. Unused,
code-less and unknown-code suppressions become findings of their own.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

MARKER_RE = re.compile(r"#\s*(?:mcplint\s*:\s*ignore|noqa\s*:\s*MCP)", re.IGNORECASE)
IGNORE_RE = re.compile(
    r"#\s*mcplint\s*:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?(?P<rest>[^#]*)", re.IGNORECASE
)
NOQA_RE = re.compile(r"#\s*noqa\s*:\s*(?P<codes>MCP\d{3}(?:\s*,\s*MCP\d{3})*)(?P<rest>[^#]*)", re.IGNORECASE)


@dataclass
class Suppression:
    line: int
    column: int
    codes: tuple[str, ...]  # as written (codes or rule names)
    reason: str | None
    text: str
    used: set[str] = field(default_factory=set)


def _comments(text: str, python: bool = True) -> list[tuple[int, int, str]]:
    """(line, column, comment) for every comment; a line scan for other formats
    (Dockerfile, `.env`, requirements) or if tokenize fails."""
    try:
        if not python:
            raise tokenize.TokenError
        tokens = tokenize.generate_tokens(io.StringIO(text).readline)
        return [(t.start[0], t.start[1], t.string) for t in tokens if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        out = []
        for number, line in enumerate(text.splitlines(), 1):
            index = line.find("#")
            if index >= 0:
                out.append((number, index, line[index:]))
        return out


def parse(text: str, python: bool = True) -> list[Suppression]:
    if not MARKER_RE.search(text):
        return []
    out = []
    for line, column, comment in _comments(text, python):
        for regex in (IGNORE_RE, NOQA_RE):
            for match in regex.finditer(comment):
                raw = match.group("codes")
                codes = tuple(c.strip() for c in raw.split(",") if c.strip()) if raw else ()
                reason = match.group("rest").strip().lstrip("-:—").strip() or None
                out.append(Suppression(line, column + match.start() + 1, codes, reason, match.group(0).strip()))
    return out
