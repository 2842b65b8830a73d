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


class _Tables(walk.TableVisitor):
    """Visits calls (not what a lambda holds), leaves functions and lambdas."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    def visit_Call(self, node) -> None:
        self.events.append(("visit", id(node)))

    def visit_Lambda(self, node) -> bool:
        self.events.append(("visit", id(node)))
        return False

    def leave_Lambda(self, original_node) -> None:
        self.events.append(("leave", id(original_node)))

    def leave_FunctionDef(self, original_node) -> None:
        self.events.append(("leave", id(original_node)))


class _Overriding(_Tables):
    def on_visit(self, node) -> bool:
        self.events.append(("any", id(node)))
        return super().on_visit(node)


@pytest.mark.parametrize("name", sorted(TRICKY))
@pytest.mark.parametrize("kind", [_Tables, _Overriding])
def test_table_visitors_see_the_same_with_and_without_the_index(name: str, kind: type) -> None:
    """With the index a `TableVisitor`'s tables are read by the walk itself
    (`walk._visit_indexed`): the calls it gets are those of the plain walk."""
    module = parse_module(textwrap.dedent(TRICKY[name]) + "\ndef f(g=lambda: print(1)):\n    return g(2)\n")
    plain = kind()
    walk.visit(module, plain)
    with walk.indexed(module):
        indexed = kind()
        walk.visit(module, indexed)
    assert indexed.events == plain.events
    assert ("leave", id(module.body[-1])) in plain.events  # the function is left; calls under the lambda are not seen
    assert len([e for e in plain.events if e[0] == "visit"]) == sum(
        isinstance(n, (cst.Call, cst.Lambda)) for n in walk._iter_nodes(module) if not _under_lambda(module, n))


def _under_lambda(module, node) -> bool:
    with walk.indexed(module) as tree:
        return any(isinstance(above, cst.Lambda) for above in tree.ancestors(node)[:-1])


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


# -- locating nodes by parsing only the functions that hold them (`context.locate_nodes`)
def _extents(source: bytes) -> list[tuple[int, int, int, int]]:
    """Every function's extent, as the per-file phase records it (`FileContext.facts`)."""
    module = parse_module(source)
    tree = walk.Tree(module)
    positions = Positions(module, ast.parse(source), tree)
    extents = []
    for at, node in enumerate(tree.nodes):
        if isinstance(node, cst.FunctionDef):
            lines = positions.lines_of(node)
            assert lines is not None, cst.Module([]).code_for_node(node)
            extents.append((at, tree.ends[at], *lines))
    return extents


def _assert_located_alike(source: bytes) -> None:
    from mcplint.context import locate_nodes
    from mcplint.mcp.summary import FileFacts, FunctionSummary, _holding

    extents = _extents(source)
    ordinals = frozenset(n for start, end, _, _ in extents for n in range(start, end))
    facts = FileFacts("f.py", {str(i): FunctionSummary(str(i), (), extent=e) for i, e in enumerate(extents)})
    holding = _holding(facts, set(ordinals))
    assert holding is not None and len(holding) <= len(extents)
    _, whole_spans, whole_headers, _ = locate_nodes("f.py", source, ordinals)
    _, spans, headers, _ = locate_nodes("f.py", source, ordinals, holding)
    assert spans == whole_spans
    assert headers == whole_headers


LOCATED = {
    "methods, nested and decorated": b"""import functools

class Server:
    '''doc'''

    @property
    def name(self):
        return self._name

    @functools.lru_cache(
        maxsize=4,
    )
    async def run(self, cmd: str) -> str:
        def inner(x):
            return [y for y in x if y]
        text = '''
a line at column 0 inside a method
'''
        return inner(cmd) + text  # trailing comment

    def last(self): return 1; x = 2


if True:
\tdef tabbed(a,
\t           b):
\t\treturn a + b
""",
    "crlf": b"def f(a):\r\n    b = a\r\n\r\n    return b\r\n\r\nclass C:\r\n    def m(self):\r\n        return 1\r\n",
    "no trailing newline": b"def f():\n    return 1",
    "after a continuation": b"x = [\n    1,\n]\ndef f(p):\n    return (p,\n            p)\n",
}


@pytest.mark.parametrize("name", sorted(LOCATED))
def test_nodes_located_in_their_functions_alone_are_where_the_whole_file_puts_them(name: str) -> None:
    _assert_located_alike(LOCATED[name])


@pytest.mark.parametrize("path", FIXTURE_FILES[::3], ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_nodes_located_in_their_functions_alone(path) -> None:
    if _extents(path.read_bytes()):
        _assert_located_alike(path.read_bytes())


def test_a_node_outside_every_function_has_the_file_parsed_whole() -> None:
    from mcplint.context import locate_nodes
    from mcplint.mcp.summary import FileFacts, FunctionSummary, _holding

    source = b"import os\n\ndef f(p):\n    os.system(p)\n\nos.system('ls')\n"
    [extent] = _extents(source)
    facts = FileFacts("f.py", {"f": FunctionSummary("f", ("p",), extent=extent)})
    assert _holding(facts, {extent[0] + 1}) == (extent,)
    assert _holding(facts, {extent[1] + 1}) is None  # the module-level call
    assert _holding(FileFacts("f.py", {"f": FunctionSummary("f", ("p",))}), {extent[0]}) is None  # extent unknown


def test_a_file_in_another_encoding_is_parsed_whole() -> None:
    from mcplint.context import locate_nodes

    source = "# -*- coding: latin-1 -*-\ndef f(p):\n    return 'caf\u00e9' + p\n".encode("latin-1")
    extents = _extents(source)
    ordinals = frozenset(range(extents[0][0], extents[0][1]))
    whole = locate_nodes("f.py", source, ordinals)
    assert whole[3] != "utf-8"  # libcst read the declaration
    assert locate_nodes("f.py", source, ordinals, tuple(extents)) == whole


def test_a_function_that_does_not_parse_alone_as_it_was_has_the_file_parsed_whole() -> None:
    from mcplint.context import locate_nodes

    source = b"def f(p):\n    return p\n"
    [extent] = _extents(source)
    ordinals = frozenset(range(extent[0], extent[1]))
    stale = (extent[0], extent[1] + 3, *extent[2:])  # numbered from another version of the function
    assert locate_nodes("f.py", source, ordinals, (stale,)) == locate_nodes("f.py", source, ordinals)
