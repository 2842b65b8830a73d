"""MCP-C04 injection rules (MCP302): confidences and cases that fixture marks cannot show."""

from __future__ import annotations

import textwrap

import pytest

from mcplint.engine import analyse_source
from mcplint.finding import Confidence
from mcplint.mcp.taint import object_class
from mcplint.registry import all_rules


def _confidences(source: str, code: str) -> list[tuple[int, Confidence]]:
    rules = [r for r in all_rules() if r.code == code]
    result = analyse_source("server.py", textwrap.dedent(source).encode(), rules)
    return [(f.span.line, f.confidence) for f in result.findings if f.code == code]


def test_sql_names_checked_as_a_tuple_against_an_allowlist_are_low_confidence() -> None:
    source = """
    import sqlite3
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("catalog")

    @mcp.tool()
    def rows(schema: str, table: str) -> list:
        if (schema, table) not in valid_tables():
            raise ValueError("unknown table")
        return sqlite3.connect("a.db").execute(f"SELECT * FROM [{schema}].[{table}]").fetchall()

    @mcp.tool()
    def rows_if_known(schema: str, table: str) -> list:
        if (schema, table) in valid_tables():
            return sqlite3.connect("a.db").execute(f"SELECT * FROM [{schema}].[{table}]").fetchall()
        return []

    @mcp.tool()
    def rows_unchecked(schema: str, table: str) -> list:
        if (schema, table) in valid_tables():
            print("known")
        return sqlite3.connect("a.db").execute(f"SELECT * FROM [{schema}].[{table}]").fetchall()
    """
    assert _confidences(source, "MCP302") == [(11, Confidence.LOW), (16, Confidence.LOW), (23, Confidence.HIGH)]


def test_a_check_of_one_of_two_names_leaves_the_other_unchecked() -> None:
    """A query built from two tool parameters is only as checked as the less checked one."""
    source = """
    import sqlite3
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("catalog")
    SCHEMAS = {"main", "archive"}

    @mcp.tool()
    def rows(schema: str, table: str) -> list:
        if schema not in SCHEMAS:
            raise ValueError("unknown schema")
        return sqlite3.connect("a.db").execute(f"SELECT * FROM [{schema}].[{table}]").fetchall()

    @mcp.tool()
    def rows_each_checked(schema: str, table: str) -> list:
        if schema not in SCHEMAS:
            raise ValueError("unknown schema")
        if table not in tables(schema):
            raise ValueError("unknown table")
        return sqlite3.connect("a.db").execute(f"SELECT * FROM [{schema}].[{table}]").fetchall()
    """
    assert _confidences(source, "MCP302") == [(12, Confidence.HIGH), (20, Confidence.LOW)]


def test_checks_among_and_or_terms_guard_their_names() -> None:
    source = """
    import sqlite3
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("catalog")
    SCHEMAS = {"main", "archive"}

    @mcp.tool()
    def rows_or(schema: str, table: str) -> list:
        if schema not in SCHEMAS or table not in tables(schema):
            raise ValueError("unknown table")
        return sqlite3.connect("a.db").execute(f"SELECT * FROM [{schema}].[{table}]").fetchall()

    @mcp.tool()
    def rows_and(schema: str, table: str) -> list:
        if schema in SCHEMAS and table in tables(schema):
            return sqlite3.connect("a.db").execute(f"SELECT * FROM [{schema}].[{table}]").fetchall()
        return []

    @mcp.tool()
    def rows_or_admin(table: str, admin: bool) -> list:
        if table in tables("main") or admin:
            return sqlite3.connect("a.db").execute(f"SELECT * FROM {table}").fetchall()
        return []

    @mcp.tool()
    def rows_and_strict(table: str, strict: bool) -> list:
        if table not in tables("main") and strict:
            raise ValueError("unknown table")
        return sqlite3.connect("a.db").execute(f"SELECT * FROM {table}").fetchall()
    """
    assert _confidences(source, "MCP302") == [(12, Confidence.LOW), (17, Confidence.LOW), (23, Confidence.HIGH),
                                             (30, Confidence.HIGH)]


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        ("ListEmailMetadataQuery", "ListEmailMetadataQuery"),
        ("Optional[Command]", "Command"),
        ("Command | None", "Command"),
        ('"jobs.Command"', "jobs.Command"),
        ("Annotated[Command, Field(description='x')]", "Command"),
        ("str", None),
        ("SecretStr", None),
        ("RawSQL", None),
        ("TextClause", None),
        ("Any", None),
        ("dict[str, Any]", None),
        ("Command | Other", None),
        (None, None),
    ],
)
def test_object_class_names_a_class_only_when_the_value_is_no_text(annotation, expected) -> None:
    assert object_class(annotation) == expected


def test_a_query_object_is_not_sql_text_but_its_text_field_is() -> None:
    """The project's own query objects, not a library's class that wraps the text."""
    source = """
    import sqlite3
    from typing import NewType
    from mcp.server.fastmcp import FastMCP
    from neo4j import Query
    from reports.queries import SavedQuery, bus
    from .jobs import Job

    mcp = FastMCP("reports")
    Sql = NewType("Sql", str)

    @mcp.tool()
    def run_saved(query: SavedQuery) -> list:
        return bus.execute(query)

    @mcp.tool()
    def run_job(query: Job) -> list:
        return bus.execute(query)

    @mcp.tool()
    def run_saved_text(query: SavedQuery) -> list:
        return sqlite3.connect("a.db").execute(query.sql).fetchall()

    @mcp.tool()
    def run_aliased(query: Sql) -> list:
        return sqlite3.connect("a.db").execute(query).fetchall()

    @mcp.tool()
    def run_cypher(query: Query) -> list:
        return session.execute(query)
    """
    rules = [r for r in all_rules() if r.code == "MCP302"]
    result = analyse_source("reports/server.py", textwrap.dedent(source).encode(), rules)
    assert [f.span.line for f in result.findings if f.code == "MCP302"] == [22, 26, 30]


LOOKUPS = textwrap.dedent('''
    import subprocess

    import requests
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("ops")
    COMMANDS = {"disk": "df -h", "load": "uptime"}


    @mcp.tool()
    def run_named(name: str) -> str:
        return subprocess.run(COMMANDS.get(name), shell=True, capture_output=True, text=True).stdout


    @mcp.tool()
    def run_named_or_raw(name: str) -> str:
        return subprocess.run(COMMANDS.get(name, name), shell=True, capture_output=True, text=True).stdout


    @mcp.tool()
    def run_fetched(url: str) -> str:
        script = requests.get(url, timeout=10).text
        return subprocess.run(script, shell=True, capture_output=True, text=True).stdout
''')


def test_a_lookup_in_a_table_is_the_tables_value_not_the_key() -> None:
    """`TABLE.get(key)` is one of the table's entries, as `TABLE[key]` is (an
    allow-list); a default given is the tool's own value; `requests.get(url)` is not a
    lookup, and what it returns stays tied to the parameter."""
    lines = {line for line, _ in _confidences(LOOKUPS, "MCP301")}
    source = LOOKUPS.splitlines()
    assert {source[line - 1].strip().split("(")[0] for line in lines} == {"return subprocess.run"}
    assert sorted(lines) == [source.index(l) + 1 for l in source
                             if "COMMANDS.get(name, name)" in l or "subprocess.run(script" in l]


@pytest.mark.parametrize(("body", "guarded"), [
    ("if x not in ALLOWED:\n        raise ValueError(x)\n    sink(x)", True),
    ("if x not in ALLOWED:\n        return None\n    sink(x)", True),
    ("if x in ALLOWED:\n        sink(x)", True),
    ("if ok and x in ALLOWED:\n        sink(x)", True),
    ("if x not in ALLOWED or not ok:\n        raise ValueError(x)\n    sink(x)", True),
    ("y = x\n    if y not in ALLOWED:\n        raise ValueError(y)\n    sink(y)", True),
    # a cache lookup that returns early: the sink runs for the values not in it
    ("if x in CACHE:\n        return CACHE[x]\n    sink(x)", False),
    # after the sink, or around it in the failing branch
    ("sink(x)\n    if x not in ALLOWED:\n        raise ValueError(x)", False),
    ("if x not in ALLOWED:\n        sink(x)\n        raise ValueError(x)", False),
    # a substring test, the value tested against itself, a check that stops nothing
    ("if x not in 'abc def':\n        raise ValueError(x)\n    sink(x)", False),
    ("if x not in [x, 'a']:\n        raise ValueError(x)\n    sink(x)", False),
    ("if x not in ALLOWED:\n        log(x)\n    sink(x)", False),
    # a pattern is not an allow-list here
    ("if not re.fullmatch('[a-z]+', x):\n        raise ValueError(x)\n    sink(x)", False),
])
def test_allow_list_checks(body: str, guarded: bool) -> None:
    import libcst as cst

    from mcplint.mcp import walk
    from mcplint.mcp.guards import allow_listed, membership_ifs

    module = cst.parse_module(f"def f(x):\n    {body}\n")
    with walk.indexed(module) as tree:
        function = module.body[0]
        sink = next(n for n in tree.nodes if isinstance(n, cst.Call) and getattr(n.func, "value", "") == "sink")
        names = {"x", "y"} if "y = x" in body else {"x"}
        assert allow_listed(membership_ifs(function.body), sink, names) is guarded


def test_an_allow_list_the_agent_sends_is_no_check() -> None:
    """`if path not in allowed: raise` where `allowed` is a parameter too: the agent picks both."""
    source = """\
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("files")
        ALLOWED = {"notes.md", "todo.md"}


        @mcp.tool()
        def read(path: str, allowed: list[str]) -> str:
            if path not in allowed:
                raise ValueError(path)
            return open(path).read()


        @mcp.tool()
        def read_listed(path: str) -> str:
            if path not in ALLOWED:
                raise ValueError(path)
            return open(path).read()
        """
    assert [line for line, _ in _confidences(source, "MCP202")] == [11]


def test_a_graph_query_is_called_cypher_not_sql() -> None:
    source = """\
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("graph")


        @mcp.tool()
        async def read_neo4j_cypher(query: str) -> list:
            return await neo4j_driver.execute_query(query)


        @mcp.tool()
        def read_sql(query: str) -> list:
            return db.execute_query(query)
        """
    rules = [r for r in all_rules() if r.code == "MCP302"]
    result = analyse_source("server.py", textwrap.dedent(source).encode(), rules)
    messages = {f.span.line: f.message for f in result.findings if f.code == "MCP302"}
    assert "whole Cypher statement (the agent may send any Cypher)" in messages[8]
    assert "whole SQL statement (the agent may send any SQL)" in messages[13]
