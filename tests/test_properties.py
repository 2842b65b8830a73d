"""Properties over generated input (hypothesis, hypothesmith).

- The engine never raises, whatever the bytes: random valid programs inside an MCP
  tool handler, arbitrary bytes after an MCP import, and realistic server files
  (the rule fixtures) with random edits.
- Output is deterministic: the same files give byte-identical JSON and SARIF
  whatever the order the paths are given in, however many workers, scan after scan.
- Fingerprints survive unrelated edits above a finding.

Example counts are small (CI has 2 cores); the search is random each run, so over
many CI runs it covers far more than one run's examples. No example database is
written (nothing to clean up in the work tree).
"""

from __future__ import annotations

import ast
import json
import os
import re
import tempfile

# Hypothesis caches to ./.hypothesis; keep the work tree clean (read when first needed).
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "mcplint-hypothesis"))
import textwrap
import warnings
from collections import Counter
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mcplint import engine
from mcplint.config import Config
from mcplint.engine import analyse_source, scan, select_rules
from mcplint.report import json_report, sarif
from tests.conftest import FIXTURES

RULES = select_rules(Config())
FIXTURE_FILES = sorted((FIXTURES / "rules").glob("*.py"))

PROPERTY = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

MCP_HEADER = "import os\nimport subprocess\nfrom mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP('generated')\n\n"


def _analyse(data: bytes, path: str = "generated.py"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CPython's SyntaxWarnings about generated code
        return analyse_source(path, data, RULES)


# -- the engine never raises ----------------------------------------------------------------


def _in_handler(program: str) -> str:
    """A generated module body as the body of a tool handler (and as a module too)."""
    body = textwrap.indent(program, "    ") if program.strip() else "    pass\n"
    return f"{MCP_HEADER}{program}\n\n@mcp.tool()\ndef handler(arg: str, path: str = '.') -> str:\n{body}\n"


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # hypothesmith compiles what it generates
@settings(PROPERTY, max_examples=60)
@given(hypothesmith.from_grammar())
def test_engine_never_raises_on_generated_programs(program: str) -> None:
    result = _analyse(_in_handler(program).encode("utf-8", "surrogatepass"))
    assert all(f.span.line >= 1 for f in result.findings)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@settings(PROPERTY, max_examples=30)
@given(hypothesmith.from_node())
def test_engine_never_raises_on_generated_syntax_trees(program: str) -> None:
    _analyse(_in_handler(program).encode("utf-8", "surrogatepass"))


@settings(PROPERTY, max_examples=100)
@given(st.binary(max_size=2000), st.booleans(), st.booleans())
def test_engine_never_raises_on_arbitrary_bytes(data: bytes, with_header: bool, text_like: bool) -> None:
    if text_like:  # a NUL byte ends the analysis at once: most of the time, go further
        data = data.replace(b"\x00", b"")
    _analyse((MCP_HEADER.encode() if with_header else b"") + data)


# Fragments that make parsers and taint tracking work hard.
TOKENS = [
    "(", ")", "[", "]", "{", "}", ":", ",", ".", "=", "+", "*", "**", "\n", "    ", "\t", "\\\n", "#", "'", '"',
    "'''", 'f"{', "}", "lambda x: ", "await ", "yield ", "async ", "def f(", "class C:", "@mcp.tool()\n",
    "os.system(", "subprocess.run(", "shell=True", "eval(", "open(", "# mcplint: ignore[MCP301]", "\x00", "\xff",
    "\ufeff", "\u202e", "\x0c", "\r", "\r\n", "# -*- coding: latin-1 -*-\n", "if x:\n", "else:", "match x:\n",
    "case _:", "global x\n", "nonlocal x\n", "del ", "import ", "from . import ", "*args", "**kw", ";",
]


@st.composite
def mutated_fixture(draw) -> bytes:
    data = draw(st.sampled_from(FIXTURE_FILES)).read_bytes()
    for _ in range(draw(st.integers(1, 8))):
        start = draw(st.integers(0, len(data)))
        end = min(len(data), start + draw(st.integers(0, 40)))
        insert = draw(st.one_of(
            st.sampled_from(TOKENS).map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.binary(max_size=8),
            st.just(b""),
        ))
        data = data[:start] + insert + data[end:]
    return data


@settings(PROPERTY, max_examples=80)
@given(mutated_fixture())
def test_engine_never_raises_on_edited_servers(data: bytes) -> None:
    result = _analyse(data, "server.py")
    for finding in result.findings:
        assert finding.span.line >= 1 and finding.span.column >= 1
        assert finding.message.strip()


# -- determinism ------------------------------------------------------------------------------

SNIPPETS = {
    "shell": """\
        import os
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("shell")


        @mcp.tool()
        def clean(path: str) -> str:
            return os.popen("du -sh " + path).read()
        """,
    "sql": """\
        import sqlite3
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("db")


        @mcp.tool()
        def lookup(name: str) -> list:
            db = sqlite3.connect("app.db")
            return db.execute(f"SELECT * FROM users WHERE name = '{name}'").fetchall()
        """,
    "secret": """\
        API_KEY = "sk-proj-Q7xZp2LmN9vR4tY8wK3jH6fD1sA5gB0cTq"
        DB_PASSWORD = "hunter2-Correct-Horse-9"
        """,
    "helper": """\
        import subprocess


        def run(command):
            return subprocess.run(command, shell=True, capture_output=True).stdout
        """,
    "uses_helper": """\
        from mcp.server.fastmcp import FastMCP

        from helper import run

        mcp = FastMCP("uses")


        @mcp.tool()
        def execute(cmd: str) -> bytes:
            return run(cmd)  # mcplint: ignore[MCP301] -- reviewed
        """,
    "suppressed_wrong": """\
        import os
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("x")


        @mcp.tool()
        def go(arg: str) -> int:
            return os.system("echo " + arg)  # mcplint: ignore[MCP302]
        """,
    "broken": "from mcp.server.fastmcp import FastMCP\ndef broken(:\n",
    "binary": b"from mcp import x\x00\xff\xfe",
    "plain": "def add(a, b):\n    return a + b\n",
}

_SECONDS = re.compile(r'"seconds": [0-9.]+')


def _write_project(root: Path, files: dict[str, str]) -> None:
    for name, key in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        content = SNIPPETS[key]
        target.write_bytes(content if isinstance(content, bytes) else textwrap.dedent(content).encode())


def _reports(root: Path, paths: list[Path], **scan_kwargs) -> tuple[str, str]:
    result = scan(paths, Config(root=root), **scan_kwargs)
    as_json = _SECONDS.sub('"seconds": 0', json_report.render(result, root=root))
    return as_json, sarif.render(result, root=root)


_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
projects = st.dictionaries(
    st.tuples(st.sampled_from(["", "pkg/", "pkg/sub/", "tools/"]), _NAME).map(lambda t: f"{t[0]}{t[1]}.py"),
    st.sampled_from(sorted(SNIPPETS)),
    min_size=1,
    max_size=6,
)


@settings(PROPERTY, max_examples=20)
@given(projects, st.randoms(use_true_random=False))
def test_same_input_gives_byte_identical_reports_in_any_order(files: dict[str, str], rnd) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder).resolve()
        _write_project(root, files)
        if "uses_helper" in files.values():
            (root / "helper.py").write_text(textwrap.dedent(SNIPPETS["helper"]))
        paths = sorted(root.rglob("*.py"))
        first = _reports(root, [root], jobs=1)
        shuffled = list(paths)
        rnd.shuffle(shuffled)
        assert _reports(root, shuffled, jobs=1) == first
        assert _reports(root, list(reversed(paths)) + paths, jobs=1) == first  # duplicates too
        assert _reports(root, [root], jobs=1) == first  # and again: no state kept between scans


def test_reports_do_not_depend_on_parallelism(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixtures scanned in one process and in worker processes: the same bytes."""
    root = FIXTURES.parent
    folders = sorted(p for p in FIXTURES.iterdir() if p.is_dir())
    serial = _reports(root, folders, jobs=1)
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0, raising=False)
    assert _reports(root, list(reversed(folders)), jobs=2) == serial
    result = json.loads(serial[0])
    assert result["summary"]["findings"]["total"] > 50  # a real comparison, not two empty reports


# -- fingerprints -----------------------------------------------------------------------------

UNRELATED = st.one_of(
    st.just(""),
    st.from_regex(r"# [a-zA-Z0-9 ,.]{0,40}", fullmatch=True),
    st.integers(0, 10**6).map(lambda n: f"UNRELATED_{n} = {n}"),
    st.integers(0, 999).map(lambda n: f"def unrelated_{n}():\n    return {n}\n"),
    st.integers(0, 999).map(lambda n: f"class Unrelated{n}:\n    value = {n}\n"),
    st.sampled_from(["import json", "import logging", "from pathlib import Path", '"""A docstring."""']),
)


def _fingerprints(source: str) -> Counter:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder).resolve()
        (root / "server.py").write_text(source)
        result = scan([root], Config(root=root), jobs=1)
    return Counter((f.code, f.fingerprint) for f in result.findings)


SERVER = textwrap.dedent(SNIPPETS["shell"]) + textwrap.dedent(
    """\


    @mcp.tool()
    def query(name: str) -> list:
        import sqlite3
        return sqlite3.connect("x.db").execute("SELECT * FROM t WHERE n = '%s'" % name).fetchall()
    """
)
BASELINE = _fingerprints(SERVER)


def _insert(source: str, where: int, lines: list[str]) -> str:
    """Insert `lines` before the `where`-th top-level statement (0: the top of the file)."""
    body = ast.parse(source).body
    heads = [min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) for node in body]
    offsets = [0] + [m.end() for m in re.finditer("\n", source)]  # offset of each line's start
    at = offsets[heads[min(where, len(heads) - 1)] - 1] if where else 0
    return source[:at] + "\n".join(lines) + "\n" + source[at:]


@settings(PROPERTY, max_examples=30)
@given(st.lists(UNRELATED, min_size=1, max_size=8), st.integers(0, 5))
def test_fingerprints_survive_unrelated_lines_above(lines: list[str], where: int) -> None:
    assert len(BASELINE) >= 2
    edited = _insert(SERVER, where, lines)
    assume(edited != SERVER)
    assert _fingerprints(edited) == BASELINE


@pytest.mark.parametrize("line", ["\x0c", "# page break \x0c", 'TITLE = "a\x0cb"', 'SEP = "\x1c"', 'LS = "\u2028"'])
def test_fingerprints_survive_form_feeds_above(line: str) -> None:
    assert _fingerprints(_insert(SERVER, 2, [line])) == BASELINE
