"""Cheap positions (`mcplint.positions`) and the pre-order index (`walk.Tree`) give what
libcst's own `PositionProvider` and a plain walk give, node for node."""

from __future__ import annotations

import ast
import os
import tempfile
import textwrap
import warnings

os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "mcplint-hypothesis"))

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from libcst.metadata import MetadataWrapper, PositionProvider

from mcplint.mcp import walk
from mcplint.parse import parse_module
from mcplint.positions import Positions, syntax_of
from tests.conftest import FIXTURES

TRICKY = {
    "clauses": """
        import os  # a comment

        def f(a, b=1, *args, c: int = 2, **kw) -> str:
            '''doc'''
            if a:
                x = 1; y = 2
            elif b:  # comment after elif
                pass
            elif c: return 3
            else:
                try:
                    os.system(a)
                except (OSError, ValueError) as exc:
                    raise RuntimeError(str(exc)) from exc
                except Exception:
                    pass
                else:
                    z = [
                        1,
                        2,
                    ]
                finally:
                    print("done")
            for i in range(3):
                continue
            else:
                pass
            while a:
                break
            else: pass
            return f"{a!r:>{b}}"
        """,
    "decorators": """
        @decorator
        # between
        @other.deco(1,
                    2)
        async def handler(x):
            async with open(x) as f, open(x) as g:
                async for line in f:
                    await g.write(line)

        class A(Base, metaclass=M):
            @property
            def p(self): return self._p

            class Inner:
                value = '''multi
        line''' + \\
                    "continued"
        """,
    "match": """
        def g(command):
            match command.split():
                case [action]:
                    return action
                case ["go", direction] if direction:
                    return direction
                case Point(x=0, y=0) | {"k": 1}:
                    pass
                case _:
                    return None
        """,
    "one-liners": """
        if x: y = 1
        else: y = 2
        try: pass
        except: pass
        with a: pass
        class C: pass
        def h(): return lambda q: q + 1
        """,
    "tabs and blank lines": "if True:\n\tif False:\n\t\tx = (1,\n\t\t     2)\n\n\n\t\ty = 3\n\telse:\n\t\tz = 4\n",
    "crlf": "def f():\r\n    a = 1\r\n\r\n    return a\r\n",
    "no trailing newline": "def f():\n    return 1",
}


def _assert_same(source: str | bytes) -> None:
    module = parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    tree = walk.Tree(module)
    # one Positions for the whole file, asked in an order unrelated to the source
    positions = Positions(module, ast.parse(source), tree)
    nodes = tree.nodes[1:]
    for node in reversed(nodes):
        assert positions.get(node) == expected[node], (type(node).__name__, cst.Module([]).code_for_node(node))
    # and one per node: nothing asked before changes the answer
    for node in nodes[:: max(1, len(nodes) // 40)]:
        assert Positions(module, ast.parse(source), tree).get(node) == expected[node]


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_sources(name: str) -> None:
    source = TRICKY[name]
    _assert_same(textwrap.dedent(source) if source.startswith("\n") else source)


FIXTURE_FILES = sorted(p for p in FIXTURES.rglob("*.py") if not p.name.endswith(".fixed.py"))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_files(path) -> None:
    _assert_same(path.read_bytes())


def test_only_the_units_holding_the_nodes_are_generated() -> None:
    source = "def big():\n" + "".join(f"    x{i} = call({i})\n" for i in range(500)) + "    return run(x1)\n"
    module = parse_module(source)
    positions = Positions(module, ast.parse(source))
    call = module.body[0].body.body[-1].body[0].value
    assert positions.get(call) == MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)[call]
    assert positions._whole is None
    assert len(positions._ranges) < 20  # the `return` line, not the 500 above it


def test_falls_back_to_whole_file_positions_without_an_ast() -> None:
    source = "if a:\n    b = 1\n"
    module = parse_module(source)
    positions = Positions(module, None)
    node = module.body[0].body.body[0]
    assert positions.get(node) == MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)[node]
    assert positions._whole is not None


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # hypothesmith compiles the programs it generates (`1()`)
@settings(deadline=None, database=None, max_examples=40,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(hypothesmith.from_grammar())
def test_generated_programs(source: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(source)
            parse_module(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError, cst.ParserSyntaxError):
            return
    _assert_same(source)


# -- walk.Tree ------------------------------------------------------------------------------

class _Recorder(cst.CSTVisitor):
    def __init__(self, skip: type) -> None:
        self.events: list[tuple[str, int]] = []
        self.skip = skip

    def on_visit(self, node) -> bool:
        self.events.append(("visit", id(node)))
        return not isinstance(node, self.skip)

    def on_leave(self, original_node) -> None:
        self.events.append(("leave", id(original_node)))


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_indexed_walks_equal_plain_walks(name: str) -> None:
    module = parse_module(textwrap.dedent(TRICKY[name]))
    plain = list(walk.iter_nodes(module))
    plain_events = _Recorder(cst.Lambda)
    walk.visit(module, plain_events)
    with walk.indexed(module) as tree:
        assert list(walk.iter_nodes(module)) == plain
        indexed_events = _Recorder(cst.Lambda)
        walk.visit(module, indexed_events)
        for node in plain[1:]:
            assert list(walk.iter_nodes(node)) == list(walk._iter_nodes(node))
            assert tree.ancestors(node)[-1] is node and tree.ancestors(node)[0] is module
    assert indexed_events.events == plain_events.events
    assert walk.active() is None


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_pruned_walks_skip_the_same_subtrees_with_and_without_the_index(name: str) -> None:
    module = parse_module(textwrap.dedent(TRICKY[name]))
    kinds = (cst.FunctionDef, cst.ClassDef)
    plain = list(walk.pruned(module, kinds))
    with walk.indexed(module):
        indexed = list(walk.pruned(module, kinds))
    assert [id(n) for n in plain] == [id(n) for n in indexed]
    inside = {id(n) for top in plain if type(top) in kinds for n in walk._iter_nodes(top) if n is not top}
    assert not inside & {id(n) for n in plain}  # nothing under a pruned node is visited


def test_syntax_warnings_of_scanned_code_are_not_printed() -> None:
    """An invalid escape (`"\\d"` in a regex without `r`) makes CPython warn while parsing:
    scanned code's warnings are not ours to print (as errors here, one would lose the tree)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert syntax_of(b'pattern = "\\d+"\n') is not None
