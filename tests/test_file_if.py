"""A file rule's second test (`Rule.file_if`, on CPython's tree): a file its bytes
prefilter lets through is parsed with libcst for it only where the rule could report.
MCP703's: an `http://` string and a request that may carry it."""

from __future__ import annotations

import ast
import textwrap

import pytest

from mcplint import engine
from mcplint.config import Config
from mcplint.outline import Outline
from mcplint.registry import rule_by_code
from mcplint.rules.mcp703_plaintext_http_credentialed import PREFILTER, may_send_over_http

# Each reported by the rule...
REPORTED = [
    """
    import requests

    def fetch(token):
        return requests.get("http://api.example.com/v1/items", headers={"Authorization": token})
    """,
    """
    from requests import post as send

    API = "http://api.example.com"

    def push(key, item):
        return send(API + "/items", json={"api_key": key, "item": item})
    """,
    """
    def fetch(session, token):  # a client by its name, no import of a library
        return session.get("http://api.example.com/items", auth=("me", token))
    """,
    """
    import os

    def fetch(self):
        return self.http_client.post(f"http://{'api.example.com'}/x?token=" + os.environ["T"], timeout=5)
    """,
    """
    import urllib.request

    def fetch(key):
        return urllib.request.Request("http://api.example.com/", headers={"X-Api-Key": key})
    """,
]
# ... and not, though the bytes hold an `"http://` and a credential word.
QUIET = [
    """
    NS = "http://schemas.openxmlformats.org/package/2006/relationships"  # an XML namespace

    def token_of(element):
        return element.get(f"{{{NS}}}id")
    """,
    """
    def is_link(target, auth_required):
        return target.lower().startswith(("http://", "https://")) and not auth_required
    """,
    """
    def describe(key):
        '''Point the client at "http://localhost:8000/mcp" with the key.'''
        return {"key": key}
    """,
]


def _data(source: str) -> bytes:
    return textwrap.dedent(source).encode()


def _reported(data: bytes) -> bool:
    return any(f.code == "MCP703" for f in engine.analyse_file_bytes("m.py", data, engine.select_rules(Config())).findings)


@pytest.mark.parametrize("source", REPORTED)
def test_kept_where_the_rule_reports(source: str) -> None:
    data = _data(source)
    assert PREFILTER.search(data) and may_send_over_http(Outline(ast.parse(data)))
    assert _reported(data)


@pytest.mark.parametrize("source", QUIET)
def test_ruled_out_where_the_rule_cannot_report(source: str) -> None:
    data = _data(source)
    assert PREFILTER.search(data) and not may_send_over_http(Outline(ast.parse(data)))
    assert not _reported(data)


def test_a_file_parsed_for_a_ruled_out_rule_alone_is_not_parsed(monkeypatch) -> None:
    parsed: list[str] = []
    real = engine._parse
    monkeypatch.setattr(engine, "_parse", lambda path, *args: parsed.append(path) or real(path, *args))
    monkeypatch.setattr(engine, "CHECK_DECLARATIONS", False)  # which runs the rules ruled out, to check them
    rules = engine.select_rules(Config())
    result = engine.analyse_file_bytes("ns.py", _data(QUIET[0]), rules)
    assert parsed == [] and not result.parsed and result.findings == []
    result = engine.analyse_file_bytes("api.py", _data(REPORTED[0]), rules)
    assert parsed == ["api.py"] and [f.code for f in result.findings] == ["MCP703"]


def test_file_if_is_checked(monkeypatch) -> None:
    """A rule that reports where its `file_if` says it cannot fails the tests (which
    keep the rule running there to see)."""
    assert engine.CHECK_DECLARATIONS
    monkeypatch.setattr(rule_by_code()["MCP703"], "file_if", staticmethod(lambda outline: False))
    with pytest.raises(AssertionError, match="MCP703 made a finding in api.py, where its `file_if` \\(<lambda>\\)"):
        engine.analyse_file_bytes("api.py", _data(REPORTED[0]), engine.select_rules(Config()))
