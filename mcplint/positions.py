"""Positions of chosen nodes without generating the code of the whole file.

libcst's `PositionProvider` generates the code of the whole module to count lines
and columns, which costs more than parsing it; a report needs the positions of a few
nodes. Each is resolved from the smallest *unit* that holds it: a simple statement
line, or the header of a compound statement or of a clause (`elif`, `except`), whose
nested blocks are skipped. The unit's code is generated alone, inside the indentation
of the blocks around it, so columns come out as in the file; its lines are shifted to
where CPython's `ast` (which holds every statement's line, for a tenth of libcst's
parse) says the unit starts. A compound statement ends where its last statement
does, found the same way.

The result is libcst's `CodeRange` for every node, as `PositionProvider` gives it
(tests compare the two on every node of real files). Where the two parsers disagree
on the statements, or a unit has no line of its own in the `ast` (an `else:`), the
file's positions are resolved the slow way, once.
"""

from __future__ import annotations

import ast
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

from mcplint.mcp import walk

# libcst statement kinds -> the `ast` nodes they can stand for
_COMPOUND: dict[type, tuple[type, ...]] = {
    cst.If: (ast.If,),
    cst.For: (ast.For, ast.AsyncFor),
    cst.While: (ast.While,),
    cst.Try: (ast.Try,),
    cst.With: (ast.With, ast.AsyncWith),
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
}
if hasattr(cst, "TryStar") and hasattr(ast, "TryStar"):  # Python 3.11+
    _COMPOUND[cst.TryStar] = (ast.TryStar,)
if hasattr(cst, "Match") and hasattr(ast, "Match"):  # Python 3.10+
    _COMPOUND[cst.Match] = (ast.Match,)
_AST_COMPOUND = tuple(kind for kinds in _COMPOUND.values() for kind in kinds)
_TRY = (cst.Try, *((cst.TryStar,) if hasattr(cst, "TryStar") else ()))
_HANDLERS = (cst.ExceptHandler, getattr(cst, "ExceptStarHandler", cst.ExceptHandler))
_CLAUSES = (*_HANDLERS, cst.Else, cst.Finally, *((cst.MatchCase,) if hasattr(cst, "MatchCase") else ()))
# Where the code of a unit is cut: a nested block, or another unit (a clause).
_UNIT_TYPES = frozenset({cst.SimpleStatementLine, *_COMPOUND, *_CLAUSES})
_CUT_TYPES = _UNIT_TYPES | {cst.IndentedBlock}


class _Cut(Exception):
    """The unit's header is done: what follows belongs to nested units."""


class _Ranges:
    """Stands in for the metadata provider that codegen records ranges into."""

    __slots__ = ("_computed",)

    def __init__(self) -> None:
        self._computed: dict[cst.CSTNode, CodeRange] = {}


@dataclass(frozen=False)
class _UnitState(PositionProvidingCodegenState):
    """Code generation of one unit that stops where its nested blocks begin."""

    unit: cst.CSTNode | None = None
    cut: bool = False
    starts: dict = field(default_factory=dict)  # nodes whose end lies past the cut

    def before_codegen(self, node: cst.CSTNode) -> None:
        if type(node) in _CUT_TYPES and node is not self.unit:
            self.cut = True
            raise _Cut
        super().before_codegen(node)

    @contextmanager
    def record_syntactic_position(self, node, *, start_node=None, end_node=None) -> Iterator[None]:
        start = CodePosition(self.line, self.column)
        try:
            yield
        finally:
            if self.cut:
                self.starts[node] = start
            else:
                computed = self.provider._computed
                self.provider._computed[node] = CodeRange(
                    computed[start_node].start if start_node is not None else start,
                    computed[end_node].end if end_node is not None else CodePosition(self.line, self.column),
                )


class Positions:
    """The positions of the nodes of one parsed file, resolved on demand.

    `syntax`: CPython's `ast` of the same source (None: every position the slow way).
    `tree`: the file's `walk.Tree`, if one is at hand.
    """

    def __init__(self, module: cst.Module, syntax: ast.Module | None, tree: walk.Tree | None = None) -> None:
        self.module = module
        self.syntax = syntax
        active = walk.active()
        self.tree = tree or (active if active is not None and active.nodes[0] is module else walk.Tree(module))
        self._ranges: dict[cst.CSTNode, CodeRange] = {}
        self._units: set[int] = set()
        self._starts: dict[int, CodePosition] = {}  # id(compound unit) -> its start; its end is found apart
        self._offsets: dict[int, list[int] | None] = {}
        self._whole: dict | None = None

    def resolve(self, nodes: Iterable[cst.CSTNode]) -> dict[cst.CSTNode, CodeRange]:
        out = {}
        for node in nodes:
            rng = self.get(node)
            if rng is not None:
                out[node] = rng
        return out

    def lines_of(self, function: cst.FunctionDef) -> tuple[int, int] | None:
        """The lines of a function, from its first decorator to its last line (from its
        `ast` twin: no code is generated), or None where the two trees disagree."""
        chain = self.tree.ancestors(function)
        placed = self._place(chain) if self.syntax is not None and chain and chain[0] is self.module else None
        twin = placed[0] if placed is not None else None
        if not isinstance(twin, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        return min([twin.lineno, *(d.lineno for d in twin.decorator_list)]), twin.end_lineno

    def get(self, node: cst.CSTNode) -> CodeRange | None:
        if self._whole is not None:
            return self._whole.get(node)
        rng = self._ranges.get(node)
        if rng is None and self.syntax is not None:
            rng = self._from_unit(node)
        if rng is None:
            self._whole = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
            return self._whole.get(node)
        return rng

    # -- one unit ---------------------------------------------------------------------
    def _from_unit(self, node: cst.CSTNode) -> CodeRange | None:
        chain = self.tree.ancestors(node)
        if not chain or chain[0] is not self.module:
            return None
        if type(node) is cst.IndentedBlock:  # from its first statement to its last
            first, last = (self.get(node.body[0]), self.get(node.body[-1])) if node.body else (None, None)
            return CodeRange(first.start, last.end) if first is not None and last is not None else None
        at = len(chain) - 1
        while at > 0 and type(chain[at]) not in _UNIT_TYPES:
            at -= 1
        if at == 0:
            return None  # the module itself, or its header comments
        unit = chain[at]
        if id(unit) not in self._units:
            if not self._generate(chain[: at + 1]):
                return None
            self._units.add(id(unit))
        rng = self._ranges.get(node)
        if rng is None and node is unit and id(unit) in self._starts:
            end = self._end(unit)
            if end is not None:
                rng = self._ranges[unit] = CodeRange(self._starts[id(unit)], end)
        return rng

    def _generate(self, chain: list[cst.CSTNode]) -> bool:
        placed = self._place(chain)
        # `else:`, `finally:` and `case` clauses have no line of their own in the `ast`
        first_line = getattr(placed[0], "lineno", None) if placed is not None else None
        if not isinstance(first_line, int):
            return False
        indents = placed[1]
        unit = chain[-1]
        ranges = _Ranges()
        state = _UnitState(default_indent=self.module.default_indent, default_newline=self.module.default_newline,
                           provider=ranges, indent_tokens=indents, unit=unit)
        elif_ = len(chain) > 1 and type(chain[-2]) is cst.If and chain[-2].orelse is unit
        try:
            unit._codegen(state, **({"is_elif": True} if elif_ else {}))
        except _Cut:
            pass
        local = ranges._computed.get(unit)
        start = local.start if local is not None else state.starts.get(unit)
        if start is None:
            return False
        shift = first_line - start.line
        out = self._ranges
        for done, rng in ranges._computed.items():
            out[done] = CodeRange(CodePosition(rng.start.line + shift, rng.start.column),
                                  CodePosition(rng.end.line + shift, rng.end.column))
        if local is None:  # a compound unit: its end is that of its last statement
            self._starts[id(unit)] = CodePosition(start.line + shift, start.column)
        return True

    def _end(self, unit: cst.CSTNode) -> CodePosition | None:
        """Where a compound statement or clause ends: where libcst's `end_node` says,
        the end of its last statement."""
        last = _last_part(unit)
        while isinstance(last, (cst.IndentedBlock, *_CLAUSES)):
            if isinstance(last, cst.IndentedBlock):
                last = last.body[-1] if last.body else None
            else:
                last = last.body
        if last is None:
            return None
        rng = self.get(last)
        return rng.end if rng is not None else None

    def _place(self, chain: list[cst.CSTNode]) -> tuple[object, list[str]] | None:
        """(the `ast` twin of the unit `chain[-1]`, the indentation around it)."""
        default = self.module.default_indent
        indents: list[str] = []
        twin: object = self.syntax.body
        for parent, node in zip(chain, chain[1:]):
            kind = type(node)
            if kind is cst.IndentedBlock or kind is cst.SimpleStatementSuite:
                twin = twin if isinstance(twin, list) else getattr(twin, "body", None)
                if kind is cst.IndentedBlock:
                    indents.append(default if node.indent is None else node.indent)
            elif kind is cst.If and type(parent) is cst.If:  # elif: the only statement of the `ast` orelse
                orelse = getattr(twin, "orelse", None)
                twin = orelse[0] if orelse and len(orelse) == 1 and isinstance(orelse[0], ast.If) else None
            elif kind is cst.SimpleStatementLine or kind in _COMPOUND:
                offsets = self._offsets_of(parent, twin)
                position = next((i for i, s in enumerate(parent.body) if s is node), None)
                if offsets is None or position is None:
                    return None
                twin = twin[offsets[position]]
                expected = _COMPOUND.get(kind)
                if (expected is None and isinstance(twin, _AST_COMPOUND)) or (expected and not isinstance(twin, expected)):
                    return None
            elif kind in _HANDLERS:
                twin = _nth(getattr(twin, "handlers", None), parent.handlers, node)
            elif kind is cst.Else:
                twin = getattr(twin, "orelse", None)
            elif kind is cst.Finally:
                twin = getattr(twin, "finalbody", None)
            elif kind in _CLAUSES:  # a `case` of a `match`, one indentation deeper
                indents.append(default if parent.indent is None else parent.indent)
                twin = _nth(getattr(twin, "cases", None), parent.cases, node)
            else:
                return None
            if twin is None:
                return None
        return twin, indents

    def _offsets_of(self, block: cst.CSTNode, statements: object) -> list[int] | None:
        """Index in the `ast` list of each statement of a libcst block (a line of
        `a; b` is two `ast` statements); None when the two do not add up."""
        key = id(block)
        if key not in self._offsets:
            offsets: list[int] | None = []
            count = 0
            for statement in block.body:
                offsets.append(count)
                count += len(statement.body) if type(statement) is cst.SimpleStatementLine else 1
            if not isinstance(statements, list) or count != len(statements):
                offsets = None
            self._offsets[key] = offsets
        return self._offsets[key]


def _nth(twins: list | None, siblings, node: cst.CSTNode):
    """The `ast` twin of `node`, the nth of `siblings`."""
    position = next((i for i, sibling in enumerate(siblings) if sibling is node), None)
    return twins[position] if twins is not None and position is not None and position < len(twins) else None


def _last_part(unit: cst.CSTNode) -> cst.CSTNode | None:
    """The part a statement's or clause's position ends with, as libcst's codegen says."""
    if isinstance(unit, (cst.If, cst.For, cst.While)):
        return unit.orelse if unit.orelse is not None else unit.body
    if isinstance(unit, _TRY):
        if unit.finalbody is not None:
            return unit.finalbody
        if unit.orelse is not None:
            return unit.orelse
        return unit.handlers[-1] if unit.handlers else unit.body
    if hasattr(cst, "Match") and isinstance(unit, cst.Match):
        return unit.cases[-1] if unit.cases else None
    return getattr(unit, "body", None)


def syntax_of(data: bytes | str) -> ast.Module | None:
    """CPython's `ast` of a source, or None if it does not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings of scanned code are not ours to print
            return ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
