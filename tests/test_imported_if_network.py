"""The second cheap test of MCP801, MCP802, MCP851 and MCP853 in modules MCP code only
imports (`Rule.imported_if`): each module below passes the rule's byte prefilter; the
first of each pair has nothing where the rule looks, so libcst is not asked for it; the
second is one the rule reports in (or records evidence in), where the test must say yes."""

from __future__ import annotations

import ast
import textwrap

import pytest

from mcplint import engine
from mcplint.config import Config
from mcplint.outline import Outline
from mcplint.registry import rule_by_code

# Timeouts everywhere, httpx's default, `.get` on dicts: MCP801 has nothing to report.
TIMED_CALLS = """
    import httpx
    import requests

    def fetch(url, params):
        page = params.get("page", 1)
        response = requests.get(url, params={"page": page}, timeout=10)
        with httpx.Client(timeout=httpx.Timeout(10.0)) as client:
            other = client.get(url)
        return response.json(), other.json()
"""
# `fetch` is `requests.get`, through the import.
ALIASED_GET = """
    from requests import get as fetch

    def download(url):
        return fetch(url).content
"""
SESSION_ATTRIBUTE = """
    import requests

    class Api:
        def __init__(self):
            self.session = requests.Session()

        def item(self, url):
            return self.session.get(url)
"""
HTTPX_NO_LIMIT = """
    import httpx as h

    def fetch(url):
        return h.get(url, timeout=None)
"""
# A limiter of the calls this module makes, the words in strings: no limiter of requests.
OUTBOUND_LIMITER = """
    from aiolimiter import AsyncLimiter

    # rate limiting of the upstream API, not of our clients
    upstream_limiter = AsyncLimiter(10, 1)

    async def call(client, url):
        async with upstream_limiter:
            return await client.get(url, headers={"X-RateLimit-Policy": "throttle"})
"""
SLOWAPI = """
    from slowapi import Limiter
    from slowapi.util import get_remote_address

    limiter = Limiter(key_func=get_remote_address)

    def install(app):
        app.state.limiter = limiter
"""
# The exception is logged; the client gets a fixed message.
FIXED_MESSAGE = """
    import logging

    from fastmcp.exceptions import ToolError

    log = logging.getLogger(__name__)

    def load(path):
        try:
            return open(path).read()
        except OSError as e:
            log.warning("cannot read %s: %s", path, e)
            raise ToolError("The file could not be read")
"""
EXCEPTION_TEXT = """
    from fastmcp.exceptions import ToolError

    def load(path):
        try:
            return open(path).read()
        except OSError as e:
            message = f"cannot read: {e}"
            raise ToolError(message)
"""
TRACEBACK_ALIAS = """
    from traceback import format_exc as trace

    from mcp.types import TextContent

    def convert(document):
        try:
            return [TextContent(type="text", text=document.render())]
        except Exception:
            return [TextContent(type="text", text=trace())]
"""
# The message shows the caller's own argument; the environment value stays out of it.
ARGUMENT_IN_ERROR = """
    import os

    from fastmcp.exceptions import ToolError

    ROOT = os.environ.get("DATA_ROOT", "/srv")

    def read(name):
        path = os.path.join(ROOT, name)
        if not os.path.exists(path):
            raise ToolError(f"No such document: {name}")
        return path
"""
ENVIRONMENT_IN_ERROR = """
    import os

    from fastmcp.exceptions import ToolError

    ROOT = os.environ.get("DATA_ROOT", "/srv")

    def read(name):
        raise ToolError(f"No document {name} under {ROOT}")
"""
SQL_IN_ERROR = """
    from fastmcp.exceptions import ToolError

    def count(db, table):
        query = "SELECT count(*) FROM events"
        if db.execute(query) is None:
            raise ToolError("query failed: %s" % query)
"""


def _data(source: str) -> bytes:
    return textwrap.dedent(source).lstrip("\n").encode()


def _gate(code: str, source: str) -> bool:
    return rule_by_code()[code].imported_if(Outline(ast.parse(_data(source))))


@pytest.mark.parametrize("code, source", [
    ("MCP801", TIMED_CALLS), ("MCP802", OUTBOUND_LIMITER), ("MCP851", FIXED_MESSAGE), ("MCP853", ARGUMENT_IN_ERROR),
], ids=["MCP801", "MCP802", "MCP851", "MCP853"])
def test_a_module_with_nothing_where_the_rule_looks_is_left_out(code: str, source: str, monkeypatch) -> None:
    monkeypatch.setattr(engine, "CHECK_DECLARATIONS", False)  # which keeps ruled-out rules running
    rule = rule_by_code()[code]
    data = _data(source)
    assert rule.in_imported_modules.search(data)  # the bytes alone let it through
    assert not _gate(code, source)
    rules, _, ruled_out = engine._imported_rules([rule], "m.py", data)
    assert rules == [] and ruled_out == {code}
    # and the rule, run there anyway, finds nothing
    result = engine.analyse_file_bytes("m.py", data, engine.select_rules(Config()), deep=True, called=False)
    assert code not in {f.code for f in result.findings} | {e.rule for e in result.evidence}


@pytest.mark.parametrize("code, source, line", [
    ("MCP801", ALIASED_GET, 4),  # `fetch(url)`: an alias of requests.get
    ("MCP801", SESSION_ATTRIBUTE, 8),  # `self.session.get(url)`
    ("MCP801", HTTPX_NO_LIMIT, 4),  # `timeout=None` switches httpx's default off
    ("MCP851", EXCEPTION_TEXT, 8),  # through `message`
    ("MCP851", TRACEBACK_ALIAS, 9),  # `trace()` is traceback.format_exc
    ("MCP853", ENVIRONMENT_IN_ERROR, 8),  # `ROOT`, a module constant read from the environment
    ("MCP853", SQL_IN_ERROR, 6),  # `query` holds SQL the server wrote
], ids=["MCP801-alias", "MCP801-session", "MCP801-httpx", "MCP851-derived", "MCP851-traceback", "MCP853-environment",
        "MCP853-sql"])
def test_a_module_the_rule_reports_in_is_kept(code: str, source: str, line: int) -> None:
    assert _gate(code, source)
    # run with declarations checked (tests/conftest.py): a report imported_if rules out fails here
    result = engine.analyse_file_bytes("m.py", _data(source), engine.select_rules(Config()), deep=True, called=False)
    assert result.handlers == 0 and result.servers == 0
    assert [(f.code, f.span.line) for f in result.findings if f.code == code] == [(code, line)]


def test_a_module_with_a_limiter_is_kept_for_its_evidence() -> None:
    assert _gate("MCP802", SLOWAPI)
    result = engine.analyse_file_bytes("m.py", _data(SLOWAPI), engine.select_rules(Config()), deep=True, called=False)
    assert [(e.rule, e.item, e.line) for e in result.evidence if e.rule == "MCP802"] == [
        ("MCP802", "MCP-C07", 4), ("MCP802", "MCP-C07", 7)]
