"""What MCP503 can report in a module MCP code only imports: its `imported_if`
(`may_log_sensitive`) reads each log call's arguments as the rule does, through the
same structure, and must say yes wherever the rule reports."""

from __future__ import annotations

import ast
import textwrap

import pytest

from mcplint import engine
from mcplint.config import Config
from mcplint.outline import Outline
from mcplint.registry import rule_by_code
from mcplint.rules.mcp503_sensitive_data_logged import may_log_sensitive

HEAD = """
    import logging
    import os
    from os import environ

    log = logging.getLogger(__name__)

"""
# Each a function body whose one log call the rule reports...
REPORTED = [
    "log.info('connecting with %s', token)",
    "log.info('key %s', os.environ.get('SERVICE_API_KEY'))",
    "log.info('auth %s', request.headers)",
    "log.info('env %s', environ)",
    "log.info('env %s', str(dict(os.environ)))",
    "log.info('sent %s', {'password': user.pw})",
    "log.info('header %s', request.headers['Authorization'])",
    "log.info('secret starts %s', self.client_secret[:20])",
    "log.info('joined %s', ', '.join([user, password]))",
    "log.info('%s', json.dumps(payload.get('api_key')))",
    "log.info('%s', locals())",
    "shown = os.environ['SERVICE_API_KEY']\n    log.info('connecting with %s', shown)",
    "log.info('%s', (auth.token or '').strip())",
]
# ... and where it reports nothing, though the bytes hold the words its prefilter wants.
QUIET = [
    "log.error('Token may be expired or invalid. Please verify credentials.')",
    "log.info('page %s', page_token)",
    "log.info('expires %s', token.expires_at)",
    "log.info('%s', mask(token))",
    "log.warning('retrying in %.1fs', float(response.headers.get('Retry-After')))",
    "wait = float(response.headers.get('Retry-After'))\n    log.warning('retrying in %.1fs', wait)",
    "log.info('%d keys', len(cache_keys))",
    "log.info('%s', params.index)",
    "log.info('extra', **kwargs)",
    "log.info('in %s', 'directory' in arguments)",
    "log.info(f'{len(results)} results, {token_count} tokens')",
    # a tool's arguments never reach a module the server only imports: its `params` are not a tool's
    "log.info(f'calling with {arguments}')",
    "log.debug('notification %s', params)",
    "message = f'got {params}'\n    log.info(message)",
]


def _module(body: str) -> bytes:
    return (textwrap.dedent(HEAD) + "def go(request, user, payload, auth, self, response, params):\n    " + body
            + "\n").encode()


def _reported(data: bytes) -> bool:
    result = engine.analyse_file_bytes("m.py", data, engine.select_rules(Config()), deep=True, called=False)
    return any(f.code == "MCP503" for f in result.findings)


@pytest.mark.parametrize("body", REPORTED)
def test_kept_where_the_rule_reports(body: str) -> None:
    data = _module(body)
    assert rule_by_code()["MCP503"].in_imported_modules.search(data)
    assert may_log_sensitive(Outline(ast.parse(data)))
    assert _reported(data)  # and the tests' CHECK_DECLARATIONS found it allowed


@pytest.mark.parametrize("body", QUIET)
def test_ruled_out_where_the_rule_reports_nothing(body: str) -> None:
    data = _module(body)
    assert rule_by_code()["MCP503"].in_imported_modules.search(data)
    assert not may_log_sensitive(Outline(ast.parse(data)))
    assert not _reported(data)
