"""Safe fixes: the text edits a rule attaches to a finding, and `mcplint fix`.

A rule that can repair what it reports hands `report(..., fix=...)` a `NodeFix`: libcst
nodes and the nodes to put in their place (built with `remove_argument`,
`add_keyword`, or any `node.with_changes(...)`). When the finding is placed, the
`NodeFix` becomes a `Fix`: plain text edits, each the smallest changed region of its
node, so two fixes on one call (drop `verify=False`, add `timeout=30`) touch
different characters and both apply in one pass. The same edits are what
`mcplint fix` writes, what `--diff` previews and what SARIF offers as `fixes`.

A fix is `safe` when applying it cannot break behaviour users rely on; `mcplint fix`
applies the others only with `--unsafe-fixes`. It never edits a file that does not
parse, checks that every fixed file still parses before writing it, and scans again
after writing until nothing fixable is left (fixes that overlap apply on the next
pass), so running it twice changes nothing the second time.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from mcplint.files import PYTHON_SUFFIXES
from mcplint.finding import Edit, Finding, Fix, Span  # Edit and Fix are plain data: findings carry them

if TYPE_CHECKING:
    from mcplint.config import Config
    from mcplint.positions import Positions
    from mcplint.engine import ScanResult

MAX_PASSES = 8  # a fix that makes room for another: a few passes settle any real file
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# -- what rules build ---------------------------------------------------------------
@dataclass(frozen=True)
class NodeFix:
    """A fix as a rule sees it: nodes of the file's tree and their replacements."""

    description: str
    changes: tuple[tuple[cst.CSTNode, cst.CSTNode], ...]
    safe: bool = True

    def resolve(self, module: cst.Module, lines: list[str], positions: Positions) -> Fix | None:
        """Text edits for the placed finding; None when the source does not read back
        as the tree says (then no fix is offered rather than a wrong one).

        A node's own code lacks the indentation of the block it sits in, so each
        change is rendered within its top-level statement (which starts at column 0)
        and the two renderings are compared.
        """
        from libcst.metadata import MetadataWrapper, PositionProvider

        edits: list[Edit] = []
        try:
            for old, new in self.changes:
                chain = positions.tree.ancestors(old)
                top = chain[1] if len(chain) > 1 else None
                if top is None:
                    return None
                alone = cst.Module(body=[top], default_indent=module.default_indent,
                                   default_newline=module.default_newline)
                local = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
                where = positions.get(old)
                if where is None or old not in local:
                    return None
                shift = where.start.line - local[old].start.line
                old_code = _unix(alone.code)
                rendered = old_code.split("\n")
                first, last = local[old].start.line, local[old].end.line
                if rendered[first - 1: last] != lines[first - 1 + shift: last + shift]:
                    return None  # the tree does not render as the file reads
                replaced = cst.Module(body=[top.deep_replace(old, new)], default_indent=module.default_indent,
                                      default_newline=module.default_newline)
                edit = smallest_edit(old_code, _unix(replaced.code), (1, 0))
                if edit is not None:
                    span = edit.span
                    edits.append(Edit(Span(span.line + shift, span.column, span.end_line + shift, span.end_column),
                                      edit.text))
        except Exception:  # an odd tree: no fix offered, never a crashed scan
            return None
        if not edits:
            return None
        return Fix(self.description, tuple(sorted(edits)), self.safe)


def replace(old: cst.CSTNode, new: cst.CSTNode, description: str, *, safe: bool = True) -> NodeFix:
    return NodeFix(description, ((old, new),), safe)


def remove_argument(call: cst.Call, arg: cst.Arg) -> cst.Call:
    """`call` without `arg`, its neighbours' commas adjusted (a trailing comma stays)."""
    args = list(call.args)
    index = next(i for i, a in enumerate(args) if a is arg)
    removed = args.pop(index)
    if not args:
        return call.with_changes(args=(), whitespace_before_args=cst.SimpleWhitespace(""))
    if index == len(args):  # it was the last: the new last ends the list as it did
        previous = args[-1]
        if isinstance(removed.comma, cst.Comma) and isinstance(previous.comma, cst.Comma):
            # a trailing comma stays; the previous line keeps its own comment
            after = removed.comma.whitespace_after
            own = previous.comma.whitespace_after
            if isinstance(after, cst.ParenthesizedWhitespace) and isinstance(own, cst.ParenthesizedWhitespace):
                after = own.with_changes(indent=after.indent, last_line=after.last_line)
            elif isinstance(after, cst.ParenthesizedWhitespace):  # the removed argument's comment goes with it
                after = after.with_changes(first_line=cst.TrailingWhitespace(newline=after.first_line.newline))
            args[-1] = previous.with_changes(comma=previous.comma.with_changes(whitespace_after=after))
        else:
            args[-1] = previous.with_changes(comma=removed.comma, whitespace_after_arg=removed.whitespace_after_arg)
    return call.with_changes(args=tuple(args))


def add_keyword(call: cst.Call, name: str, value: str) -> cst.Call:
    """`call` with `name=value` appended, laid out like the arguments before it: on a
    line of its own in a one-argument-per-line call with a trailing comma."""
    new = cst.Arg(
        keyword=cst.Name(name),
        value=cst.parse_expression(value),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )
    args = list(call.args)
    if not args:
        return call.with_changes(args=(new,))
    last = args[-1]
    if isinstance(last.comma, cst.Comma):  # trailing comma: the new argument goes after it
        if len(args) > 1 and isinstance(args[-2].comma, cst.Comma):
            separator = args[-2].comma
        elif isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
            separator = cst.Comma(whitespace_after=call.whitespace_before_args)
        else:
            separator = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        if isinstance(separator.whitespace_after, cst.SimpleWhitespace) and not separator.whitespace_after.value:
            separator = separator.with_changes(whitespace_after=cst.SimpleWhitespace(" "))
        closing = last.comma
        own, between = last.comma.whitespace_after, separator.whitespace_after
        if isinstance(own, cst.ParenthesizedWhitespace) and isinstance(between, cst.ParenthesizedWhitespace):
            # the last argument keeps its own comment; the new one starts a clean line
            separator = separator.with_changes(whitespace_after=between.with_changes(first_line=own.first_line))
            closing = last.comma.with_changes(
                whitespace_after=own.with_changes(first_line=cst.TrailingWhitespace(newline=own.first_line.newline)))
        args[-1] = last.with_changes(comma=separator)
        args.append(new.with_changes(comma=closing))
    else:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(new)
    return call.with_changes(args=tuple(args))


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == name), None)


# -- text ---------------------------------------------------------------------------
def _unix(text: str) -> str:
    return _LINE_BREAK.sub("\n", text)


def _advance(position: tuple[int, int], text: str) -> tuple[int, int]:
    line, column = position
    breaks = text.count("\n")
    if not breaks:
        return line, column + len(text)
    return line + breaks, len(text) - text.rfind("\n") - 1


def smallest_edit(old: str, new: str, start: tuple[int, int]) -> Edit | None:
    """The one edit that turns `old` (found at `start`: 1-based line, 0-based column)
    into `new`, trimmed to the characters that change; None when nothing does."""
    if old == new:
        return None
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]:
        suffix += 1
    # A pure insertion or deletion of whole lines can start inside the indentation
    # it shares with the next line; slide it back over that indentation to the line
    # start, so it does not straddle the point where another fix's edit begins.
    longer = old if len(old) > len(new) else new
    if prefix + suffix == min(len(old), len(new)):
        while prefix > 0 and longer[prefix - 1] == longer[len(longer) - suffix - 1] and longer[prefix - 1] in " \t":
            prefix -= 1
            suffix += 1
    begin = _advance(start, old[:prefix])
    end = _advance(begin, old[prefix: len(old) - suffix])
    return Edit(Span(begin[0], begin[1] + 1, end[0], end[1] + 1), new[prefix: len(new) - suffix])


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in _LINE_BREAK.finditer(text)]


def _offset(text: str, starts: list[int], line: int, column: int) -> int | None:
    """Character offset of a 1-based (line, column) in `text`; None when out of range."""
    if not 0 < line <= len(starts):
        return None
    begin = starts[line - 1]
    stop = starts[line] if line < len(starts) else len(text)
    content = _LINE_BREAK.sub("", text[begin:stop])
    if not 0 < column <= len(content) + 1:
        return None
    return begin + column - 1


def apply_fixes(text: str, fixes: list[Fix]) -> tuple[str, list[int]]:
    """`text` with every fix that does not overlap an earlier one applied, and the
    indexes of the fixes applied. A fix's edits apply all together or not at all;
    an insertion at the edge of another edit's region does not overlap it."""
    starts = _line_starts(text)
    found = _LINE_BREAK.search(text)
    newline = found.group(0) if found else "\n"
    taken: list[tuple[int, int, str]] = []
    applied: list[int] = []
    ordered = sorted(range(len(fixes)), key=lambda i: min(e.span for e in fixes[i].edits))
    for index in ordered:
        ranges = []
        for edit in fixes[index].edits:
            begin = _offset(text, starts, edit.span.line, edit.span.column)
            end = _offset(text, starts, edit.span.end_line, edit.span.end_column)
            if begin is None or end is None or end < begin:
                ranges = None
                break
            ranges.append((begin, end, edit.text.replace("\n", newline)))
        if not ranges:
            continue
        if all((b, e, t) in taken for b, e, t in ranges):  # the same fix offered twice
            applied.append(index)
            continue
        if any(_overlap(r, t) for r in ranges for t in taken):
            continue
        taken.extend(ranges)
        applied.append(index)
    out: list[str] = []
    position = 0
    for begin, end, replacement in sorted(taken, key=lambda r: (r[0], r[1])):
        out.append(text[position:begin])
        out.append(replacement)
        position = end
    out.append(text[position:])
    return "".join(out), applied


def _overlap(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    if a[0] == a[1] == b[0] == b[1]:
        return True  # two insertions at one point: their order would be a guess
    return a[0] < b[1] and b[0] < a[1]


# -- `mcplint fix` ------------------------------------------------------------------
@dataclass
class FixOutcome:
    result: "ScanResult"  # the scan after fixing (with --diff: the one scan, before)
    fixed: list[Finding] = field(default_factory=list)  # findings whose fix was applied
    before: dict[str, str] = field(default_factory=dict)  # display path -> original text
    after: dict[str, str] = field(default_factory=dict)  # display path -> fixed text
    errors: list[str] = field(default_factory=list)
    wrote: bool = False

    @property
    def remaining(self) -> list[Finding]:
        if self.wrote:
            return self.result.active
        done = {id(f) for f in self.fixed}
        return [f for f in self.result.active if id(f) not in done]

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.remaining if f.severity >= self.result.config.fail_on]

    @property
    def unsafe_available(self) -> int:
        return sum(1 for f in self.remaining if f.fix is not None and not f.fix.safe)

    def diff(self) -> str:
        """A unified diff of every changed file (`a/` and `b/` prefixes as git shows,
        for paths under the scan root)."""
        chunks = []
        for path in sorted(self.after):
            old, new = self.before[path], self.after[path]
            before, after = (path, path) if path.startswith("/") else (f"a/{path}", f"b/{path}")
            chunks.extend(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), before, after))
            if chunks and not chunks[-1].endswith(("\n", "\r")):
                chunks[-1] += "\n\\ No newline at end of file\n"
        return "".join(chunks)


def fixable(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (finding.fix.safe or unsafe)


def run(paths: list[Path], config: "Config", *, write: bool, unsafe: bool = False, jobs: int | None = None) -> FixOutcome:
    """Scan `paths`, apply the fixes of active findings; with `write`, write the files
    and scan again until nothing fixable is left."""
    from mcplint.engine import scan

    root = Path(config.root)
    result = scan(paths, config, jobs=jobs)
    outcome = FixOutcome(result, wrote=write)
    broken: set[str] = set()
    encodings: dict[str, str] = {}
    for _ in range(MAX_PASSES):
        plan: dict[str, list[Finding]] = {}
        for finding in result.active:
            if fixable(finding, unsafe) and finding.path not in broken:
                plan.setdefault(finding.path, []).append(finding)
        changed = False
        for display in sorted(plan):
            findings = sorted(plan[display], key=Finding.sort_key)
            text = outcome.after.get(display)
            if text is None:
                text = _read(_file(display, root), display, outcome, encodings)
                if text is None:
                    broken.add(display)
                    continue
            new_text, applied = apply_fixes(text, [f.fix for f in findings])
            if not applied or new_text == text:
                continue
            if display.endswith(PYTHON_SUFFIXES) and not _parses(new_text):
                outcome.errors.append(f"{display}: the fixes would leave invalid Python; file left unchanged")
                broken.add(display)
                continue
            if write and not _write(_file(display, root), new_text, encodings[display], display, outcome):
                broken.add(display)
                continue
            outcome.before.setdefault(display, text)
            outcome.after[display] = new_text
            outcome.fixed.extend(findings[i] for i in applied)
            changed = True
        if not changed or not write:
            break
        result = scan(paths, config, jobs=jobs)
        outcome.result = result
    return outcome


def _file(display: str, root: Path) -> Path:
    path = Path(display)
    return path if path.is_absolute() else Path(root).resolve() / display


def _read(path: Path, display: str, outcome: FixOutcome, encodings: dict[str, str]) -> str | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        outcome.errors.append(f"{display}: cannot read: {exc.strerror or exc}")
        return None
    python = display.endswith(PYTHON_SUFFIXES)
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0] if python else "utf-8"
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return None  # the scan reported it (MCP001/MCP002); never edit it
    if python and not _parses(text):
        return None  # a syntax error: never edited
    encodings[display] = encoding
    return text


def _parses(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def _write(path: Path, text: str, encoding: str, display: str, outcome: FixOutcome) -> bool:
    try:
        with path.open("w", encoding=encoding, newline="") as handle:
            handle.write(text)
        return True
    except (OSError, UnicodeEncodeError) as exc:
        outcome.errors.append(f"{display}: cannot write: {getattr(exc, 'strerror', None) or exc}")
        return False
