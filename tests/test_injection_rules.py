"""MCP-C04 injection rules (MCP302): confidences that fixture marks cannot show."""

from __future__ import annotations

import textwrap

from mcplint.engine import analyse_source
from mcplint.finding import Confidence
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
