"""Positions of chosen nodes without regenerating the whole module.

libcst's `PositionProvider` generates the code of the whole file to count lines,
which costs more than parsing it. A finding needs the positions of a few nodes: this
resolves them for the one top-level statement that holds them (a module of its own)
and shifts the lines by where CPython's `ast` says that statement starts. When the
two parsers disagree on the statements, it falls back to the whole file.
"""

from __future__ import annotations

import ast
from typing import Iterable, Mapping

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from mcplint.mcp import walk


def _first_lines(module: cst.Module, data: bytes) -> list[int] | None:
    """The line each top-level libcst statement starts on, from CPython's parser."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines: list[int] = []
    index = 0
    for statement in module.body:
        if index >= len(tree.body):
            return None
        node = tree.body[index]
        decorators = getattr(node, "decorator_list", [])
        lines.append(min([node.lineno, *(d.lineno for d in decorators)]))
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    return lines if index == len(tree.body) else None


def positions_for(module: cst.Module, data: bytes, nodes: Iterable[cst.CSTNode]) -> Mapping[cst.CSTNode, CodeRange]:
    wanted = {id(node) for node in nodes}
    lines = _first_lines(module, data) if wanted else None
    if lines is None:
        return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    out: dict[cst.CSTNode, CodeRange] = {}
    for statement, first in zip(module.body, lines):
        if not wanted:
            break
        inside = {id(n) for n in walk.iter_nodes(statement)} & wanted
        if not inside:
            continue
        alone = cst.Module(body=[statement], default_indent=module.default_indent,
                           default_newline=module.default_newline)
        local = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
        top = local[statement].start.line
        for decorator in getattr(statement, "decorators", ()):
            top = min(top, local[decorator].start.line)
        shift = first - top
        for node, rng in local.items():
            out[node] = CodeRange(
                CodePosition(rng.start.line + shift, rng.start.column),
                CodePosition(rng.end.line + shift, rng.end.column),
            )
        wanted -= inside
    return out
