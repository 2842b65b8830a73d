"""`mcplint.parse`: libcst's parser with plain node initialisers gives libcst's own tree;
node classes without ABCMeta (`plain_checks`) answer isinstance as with it."""

from __future__ import annotations

from abc import ABCMeta
from pathlib import Path

import libcst as cst
import pytest

from mcplint.parse import _PLAIN, _abc_node_classes, _node_classes, _Plain, _plain_init, parse_module, plain_checks

ROOT = Path(__file__).resolve().parent.parent
# every fixture, and some of mcplint's own code: each kind of statement, expression and whitespace
SOURCES = sorted((ROOT / "fixtures").rglob("*.py")) + [
    ROOT / "mcplint" / name for name in ("engine.py", "positions.py", "workers.py", "mcp/builder.py", "mcp/taint.py")]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_tree_is_the_one_libcst_builds(path: Path) -> None:
    data = path.read_bytes()
    try:
        expected = cst.parse_module(data)
    except cst.ParserSyntaxError:
        with pytest.raises(cst.ParserSyntaxError):
            parse_module(data)
        return
    module = parse_module(data)
    assert module.deep_equals(expected)
    assert module.code == expected.code


def test_every_node_class_in_a_tree_got_a_plain_initialiser() -> None:
    """A class left with its own `__init__` (a slot missing, a new field shape) still
    parses, only slower: this says which, so that the speed is not lost unnoticed."""
    seen = set()
    for path in SOURCES:
        try:
            module = parse_module(path.read_bytes())
        except cst.ParserSyntaxError:
            continue
        seen |= {type(node) for node in _all_nodes(module)}
    own = _node_classes()
    assert {kind for kind in seen if _PLAIN.get(kind) in (None, own[kind])} == set()


def test_nodes_built_outside_a_parse_are_validated() -> None:
    parse_module("x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")
    with pytest.raises(cst.CSTValidationError):
        cst.Call(func=cst.Name("f"), lpar=[cst.LeftParen()])  # a paren without its pair


def test_a_parse_that_fails_leaves_the_classes_as_they_were() -> None:
    own = _node_classes()
    with pytest.raises(cst.ParserSyntaxError):
        parse_module("def (:\n")
    assert {kind: kind.__init__ for kind in own} == own


def test_defaults_and_factories_are_those_of_the_dataclass() -> None:
    required = {cst.Name: {"value": "x"}, cst.Call: {"func": cst.Name("f")}, cst.Param: {"name": cst.Name("p")},
                cst.SimpleWhitespace: {"value": " "}, cst.Module: {"body": []}}
    for kind, fields in required.items():
        made = kind.__new__(kind)
        _plain_init(kind)(made, **fields)
        assert made.deep_equals(kind(**fields))


def _all_nodes(node: cst.CSTNode):
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


def test_a_class_whose_fields_have_no_slots_keeps_its_own_initialiser() -> None:
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Unslotted:
        value: str

    assert _plain_init(Unslotted) is None


# -- plain_checks: isinstance without ABCMeta, same answers ----------------------------------


def _checks(kinds: list[type], nodes: list[cst.CSTNode]) -> list[bool]:
    return [isinstance(node, kind) for node in nodes for kind in kinds] + \
        [issubclass(sub, kind) for sub in kinds for kind in kinds] + \
        [isinstance(node, (cst.Call, cst.BaseExpression)) for node in nodes]


def test_plain_checks_answer_as_abcmeta_and_are_undone() -> None:
    kinds = list(_abc_node_classes())
    module = parse_module((ROOT / "mcplint" / "engine.py").read_bytes())
    nodes = [module, *module.body[:40], *(n for s in module.body[:40] for n in s.children)]
    before = _checks(kinds, nodes)
    assert any(before) and not all(before)
    with plain_checks():
        assert {type(kind) for kind in kinds} == {_Plain}
        assert _checks(kinds, nodes) == before
        with pytest.raises(TypeError):  # abstract classes stay abstract
            cst.BaseExpression()
        with plain_checks():  # nested: the outer one undoes it
            pass
        assert type(cst.Call) is _Plain
    assert {type(kind) for kind in kinds} == {ABCMeta}
    assert _checks(kinds, nodes) == before


def test_plain_checks_are_undone_when_the_analysis_fails() -> None:
    with pytest.raises(RecursionError):
        with plain_checks():
            raise RecursionError
    assert type(cst.Name) is ABCMeta and type(cst.CSTNode) is ABCMeta


def test_the_analysis_of_a_file_runs_with_plain_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine parses and runs the rules inside `plain_checks` (and leaves it undone)."""
    from mcplint import engine
    from mcplint.registry import all_rules

    seen = []
    real = engine._run_rules
    monkeypatch.setattr(engine, "_run_rules", lambda *a, **k: (seen.append(type(cst.Call)), real(*a, **k))[1])
    data = b"from mcp.server.fastmcp import FastMCP\nmcp = FastMCP('x')\n@mcp.tool()\ndef f(p: str):\n    return open(p).read()\n"
    result = engine.analyse_file_bytes("server.py", data, list(all_rules()))
    assert seen == [_Plain] and type(cst.Call) is ABCMeta
    assert {f.code for f in result.findings} >= {"MCP202"}
