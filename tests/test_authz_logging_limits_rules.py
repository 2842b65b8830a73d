"""MCP-C02 / C06 / C07 rules (MCP110-112, MCP504, MCP802, MCP803): what a tool's code does
(`mcplint.mcp.effects`), confidences and evidence that fixture marks cannot show."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from mcplint.context import FileContext
from mcplint.deps import Project, Requirement
from mcplint.engine import analyse_source
from mcplint.finding import Confidence
from mcplint.mcp.builder import build_model
from mcplint.mcp.effects import declared_hints, strongest, tool_effects
from mcplint.mcp.names import dotted
from mcplint.registry import all_rules


def _run(source: str, codes: set[str], *, requirements: tuple[str, ...] = (), fastmcp_config: dict | None = None):
    project = Project(requirements=[Requirement(name, "", "pyproject.toml", 1) for name in requirements],
                      fastmcp_config=fastmcp_config)
    rules = [r for r in all_rules() if r.code in codes]
    return analyse_source("server.py", textwrap.dedent(source).encode(), rules, project=project)


def _findings(source: str, code: str, **kwargs):
    return [f for f in _run(source, {code}, **kwargs).findings if f.code == code]


def _effects(source: str) -> dict[str, list]:
    module = cst.parse_module(textwrap.dedent(source))
    model, imports = build_model(module)
    ctx = FileContext("server.py", module, model, imports, summaries=True)
    return {h.name: tool_effects(ctx, h) for h in model.handlers}


HEADER = """
    import os, shutil, subprocess, sqlite3
    from pathlib import Path
    import requests
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("x")

    @mcp.tool()
"""


@pytest.mark.parametrize(("body", "kind"), [
    ("def t(p: str):\n    os.remove(p)", "delete"),
    ("def t(p: str):\n    shutil.rmtree(Path('/srv') / p)", "delete"),
    ("def t(p: str):\n    Path(p).write_text('x')", "write"),
    ("def t(p: str):\n    open(p, 'a').write('x')", "write"),
    ("def t(p: str):\n    open(p).read()", None),
    ("def t(cmd: str):\n    subprocess.run(cmd, shell=True)", "execute"),
    ("def t(cmd: str):\n    subprocess.run(['sh', '-c', cmd])", None),  # the program is fixed; MCP301 judges the rest
    ("def t(name: str):\n    subprocess.run(['docker', 'rm', '-f', name])", "delete"),
    ("def t(name: str):\n    subprocess.run(['docker', 'compose', 'down'])", "delete"),
    ("def t(name: str):\n    subprocess.run(['git', 'log', '--grep', 'remove'])", None),
    ("def t(pod: str):\n    c = f'kubectl get pod {pod}'\n    subprocess.check_output(c.split())", None),
    ("def t(i: int):\n    sqlite3.connect('d').execute('DELETE FROM t WHERE id = ?', (i,))", "delete"),
    ("def t(i: int):\n    sql = 'UPDATE t SET a = 1 WHERE id = ?'\n    sqlite3.connect('d').execute(sql, (i,))", "write"),
    ("def t(q: str):\n    sqlite3.connect('d').execute('SELECT * FROM t WHERE a = ?', (q,))", None),
    ("def t(u: str):\n    requests.delete(u)", "delete"),
    ("def t(u: str):\n    requests.post(u, json={})", None),  # read-only search APIs POST too
    ("def t(u: str):\n    requests.request('PATCH', u)", "write"),
    ("def t(k: str):\n    cache.delete(k)", "delete"),
    ("def t(k: str):\n    asyncio.create_task(k)", None),
    ("def t(k: str):\n    df.to_csv()", None),
    ("def t(k: str):\n    df.to_csv(k)", "write"),
    ("def t(k: str):\n    df.drop_duplicates()", None),
    ("def t(k: str):\n    repo.git.push('origin', k)", "write"),
])
def test_effect_kinds(body: str, kind: str | None) -> None:
    effect = strongest(_effects(HEADER + textwrap.indent(body, "    "))["t"])
    assert (effect.kind if effect else None) == kind


def test_effects_follow_helpers_of_the_same_file_and_say_where() -> None:
    source = HEADER.replace("@mcp.tool()\n", "") + """
    def _wipe(path):
        shutil.rmtree(path)

    class Store:
        def drop(self, name):
            self._really_drop(name)

        def _really_drop(self, name):
            os.remove(name)

    @mcp.tool()
    def wipe(folder: str):
        _wipe(folder)
    """
    effect = strongest(_effects(source)["wipe"])
    assert effect.kind == "delete" and effect.via == "_wipe" and effect.certain
    assert "in `_wipe()`" in effect.describe()


def test_housekeeping_deletes_of_fixed_paths_are_uncertain_and_scratch_writes_ignored() -> None:
    source = HEADER + """
    def t(name: str):
        os.remove("/srv/app/app.lock")
        with open(os.devnull, "w") as sink:
            pass
        tmp_path = Path("/tmp") / name
        tmp_path.write_text("x")
    """
    effects = _effects(source)["t"]
    assert [(e.kind, e.certain) for e in effects] == [("delete", False)]


@pytest.mark.parametrize(("body", "temporary"), [
    ("fd, p = tempfile.mkstemp(dir=d)", True),
    ("p = None\n    with tempfile.NamedTemporaryFile('w', delete=False) as f:\n        p = f.name", True),
    ("with tempfile.TemporaryDirectory() as p:\n        pass", True),
    ("q = tempfile.mkdtemp(dir=d)\n    p = q", True),
    ("p, fd = tempfile.mkstemp(dir=d)", False),  # the descriptor
    ("p = tempfile.mkdtemp()\n    p = os.path.join(p, d)", False),
    ("p = None", False),
    ("p = tempfile.mkdtemp()\n    for p in os.listdir(d):\n        pass", False),
    ("with tempfile.NamedTemporaryFile() as p:\n        pass", False),  # the file object, not its name
])
def test_temporary_path_is_a_file_tempfile_made(body: str, temporary: bool) -> None:
    from mcplint.mcp.effects import temporary_path

    function = cst.parse_module(f"def t(d):\n    {body}\n    os.unlink(p)\n").body[0]
    qualify = lambda node: dotted(node)  # noqa: E731 (`import tempfile`)
    assert temporary_path(cst.Name("p"), function, qualify) is temporary

def test_declared_hints_read_v2_names_dicts_and_module_constants() -> None:
    source = """
    from fastmcp import FastMCP
    from mcp.types import ToolAnnotations

    mcp = FastMCP("x")
    RO = ToolAnnotations(read_only_hint=True)

    @mcp.tool(annotations=RO)
    def a(): ...

    @mcp.tool(annotations={"destructiveHint": False, "title": "B"})
    def b(): ...

    @mcp.tool(annotations=make_hints())
    def c(): ...

    @mcp.tool
    def d(): ...
    """
    module = cst.parse_module(textwrap.dedent(source))
    model, imports = build_model(module)
    ctx = FileContext("server.py", module, model, imports)
    hints = {h.name: declared_hints(ctx, h) for h in model.handlers}
    assert hints["a"].get("readOnlyHint").value is True
    assert isinstance(hints["a"].get("readOnlyHint").node, cst.Arg)  # reported where the tool uses the constant
    assert hints["b"].get("destructiveHint").value is False and hints["b"].literal
    assert hints["c"].given and not hints["c"].literal
    assert not hints["d"].given


# -- MCP110 -----------------------------------------------------------------------------------
FASTMCP_HTTP = """
    import shutil
    from fastmcp import FastMCP
    {imports}

    mcp = FastMCP("builds", {kwargs})

    @mcp.tool
    def purge(project: str) -> str:
        shutil.rmtree(f"/srv/cache/{{project}}")
        return "purged"

    mcp.run(transport="http", host="{host}")
"""


def _http(imports: str = "", kwargs: str = "", host: str = "10.0.0.7") -> str:
    return FASTMCP_HTTP.format(imports=imports, kwargs=kwargs, host=host)


def test_authz_middleware_silences_every_tool_and_is_evidence() -> None:
    source = _http("from fastmcp.server.middleware import AuthMiddleware\n    from fastmcp.server.auth import require_scopes",
                   "middleware=[AuthMiddleware(auth=require_scopes('builds'))]")
    result = _run(source, {"MCP110"})
    assert not [f for f in result.findings if f.code == "MCP110"]
    assert any(e.item == "MCP-C02" and "AuthMiddleware" in e.note for e in result.evidence)


def test_authentication_middleware_alone_does_not_count_as_authorization() -> None:
    source = _http("from app.auth import BearerAuthMiddleware", "middleware=[BearerAuthMiddleware()]")
    assert len(_findings(source, "MCP110")) == 1


@pytest.mark.parametrize(("kwargs", "host", "confidence"), [
    ("", "10.0.0.7", Confidence.HIGH),
    ("auth=JWTVerifier(jwks_uri='https://id/jwks', audience='b', required_scopes=['builds'])", "10.0.0.7",
     Confidence.MEDIUM),
    ("", "127.0.0.1", Confidence.MEDIUM),
])
def test_destructive_tool_confidence(kwargs: str, host: str, confidence: Confidence) -> None:
    found = _findings(_http("from fastmcp.server.auth.providers.jwt import JWTVerifier", kwargs, host), "MCP110")
    assert [f.confidence for f in found] == [confidence]


def test_per_tool_check_is_evidence() -> None:
    source = _http().replace("def purge(project: str) -> str:\n",
                             "def purge(project: str) -> str:\n        require_permission('builds:admin')\n")
    result = _run(source, {"MCP110"})
    assert not result.findings
    assert [e.note for e in result.evidence if e.rule] == ["permission check `require_permission()` on tool `purge`"]


def test_stdio_server_and_fastmcp_json_deployment() -> None:
    stdio = _http().replace('mcp.run(transport="http", host="10.0.0.7")', "mcp.run()")
    assert _findings(stdio, "MCP110") == []
    deployed = _findings(stdio, "MCP110", fastmcp_config={"deployment": {"transport": "http", "host": "0.0.0.0"}})
    assert len(deployed) == 1 and "fastmcp.json" in deployed[0].message


# -- MCP111 / MCP112 ------------------------------------------------------------------------------
def test_destructive_hint_true_is_silent_and_not_authorization_evidence() -> None:
    source = """
    import os
    from fastmcp import FastMCP

    mcp = FastMCP("files")

    @mcp.tool(annotations={"destructiveHint": True})
    def remove(name: str) -> str:
        os.remove(os.path.basename(name))
        return "ok"
    """
    result = _run(source, {"MCP111", "MCP112"})
    assert not result.findings
    assert [e for e in result.evidence if e.rule] == []


def test_read_only_hint_confidence_follows_how_the_write_was_found() -> None:
    source = """
    from fastmcp import FastMCP

    mcp = FastMCP("tracker")

    @mcp.tool(annotations={"readOnlyHint": True})
    def peek(issue: int) -> str:
        jira.update_issue(issue, fields={})
        return "ok"
    """
    found = _findings(source, "MCP111")
    assert [f.confidence for f in found] == [Confidence.LOW]
    assert "`jira.update_issue()`" in found[0].message


# -- MCP504 ----------------------------------------------------------------------------------------
def test_audit_trail_evidence_when_every_tool_logs() -> None:
    source = """
    import logging
    from mcp.server.fastmcp import FastMCP

    logger = logging.getLogger(__name__)
    mcp = FastMCP("crm")

    @mcp.tool()
    def a(x: str) -> str:
        logger.info("a called")
        return x

    @mcp.tool()
    def b(x: str) -> str:
        logger.info("b called")
        return x
    """
    result = _run(source, {"MCP504"})
    assert [e.note for e in result.evidence if e.rule] == ["every tool (2) of server `mcp` writes a log line"]
    silent = source.replace('        logger.info("b called")\n', "")
    assert [e for e in _run(silent, {"MCP504"}).evidence if e.rule] == []


def test_custom_middleware_hook_that_logs_is_evidence() -> None:
    source = """
    import logging
    from fastmcp import FastMCP
    from fastmcp.server.middleware import Middleware

    log = logging.getLogger("audit")

    class Audit(Middleware):
        async def on_call_tool(self, context, call_next):
            log.info("call %s", context.message.name)
            return await call_next(context)

    mcp = FastMCP("crm", middleware=[Audit()])
    """
    result = _run(source, {"MCP504"})
    assert not result.findings
    assert [e.note for e in result.evidence if e.rule] == ["middleware `Audit.on_call_tool` logs calls"]


# -- MCP802 ----------------------------------------------------------------------------------------
TWO_SERVERS = """
    from fastmcp import FastMCP
    from fastmcp.server.middleware.rate_limiting import RateLimitingMiddleware

    a = FastMCP("a")
    b = FastMCP("b")
    a.add_middleware(RateLimitingMiddleware(max_requests_per_second=5))
    app_a = a.http_app()
    app_b = b.http_app()
"""


def test_rate_limiter_added_to_one_server_covers_only_that_server() -> None:
    result = _run(TWO_SERVERS, {"MCP802"})
    assert [f.message.split(" is ")[0] for f in result.findings] == ["server `b`"]
    assert [e.note for e in result.evidence if e.rule] == ["rate limiting `RateLimitingMiddleware`"]


def test_limiter_package_declared_but_not_seen_lowers_confidence() -> None:
    source = TWO_SERVERS.replace("    a.add_middleware(RateLimitingMiddleware(max_requests_per_second=5))\n", "")
    assert {f.confidence for f in _findings(source, "MCP802")} == {Confidence.MEDIUM}
    found = _findings(source, "MCP802", requirements=("slowapi",))
    assert {f.confidence for f in found} == {Confidence.LOW} and "`slowapi`" in found[0].message


def test_outbound_limiter_is_not_inbound_rate_limiting() -> None:
    source = TWO_SERVERS.replace("a.add_middleware(RateLimitingMiddleware(max_requests_per_second=5))",
                                 "from aiolimiter import AsyncLimiter\n    upstream = AsyncLimiter(5, 1)")
    assert len(_findings(source, "MCP802")) == 2


# -- MCP803 ----------------------------------------------------------------------------------------
LOWLEVEL = """
    import asyncio
    import mcp.types as types
    from mcp.server.lowlevel import Server

    server = Server("device")

    @server.list_tools()
    async def list_tools():
        return [types.Tool(name="wait", inputSchema={"type": "object",
                                                     "properties": {"seconds": {"type": "number", "maximum": 30}}})]

    @server.call_tool()
    async def call_tool(name: str, arguments: dict):
        await asyncio.sleep(arguments["seconds"])
        await asyncio.sleep(arguments.get("minutes", 1) * 60)
        return []
"""


def test_lowlevel_arguments_with_a_schema_maximum_are_bounded() -> None:
    found = _findings(LOWLEVEL, "MCP803")
    assert [(f.span.line, f.confidence) for f in found] == [(16, Confidence.LOW)]
    assert 'parameter `arguments["minutes"]`' in found[0].message


@pytest.mark.parametrize(("signature", "body", "expected"), [
    ("n: int", "range(n)", Confidence.HIGH),
    ("n", "range(n)", Confidence.MEDIUM),
    ("n: str", "range(int(n))", None),  # a string is not a number source
    ("n: int", "range(min(n, 100))", None),
    ("n: int", "range(max(n, 1))", Confidence.HIGH),
    ("n: int", "range(clamp_count(n))", None),
    ("n: int = Field(5, le=10)", "range(n)", None),
    ("n: Annotated[int, Field(description='how many')]", "range(n)", Confidence.HIGH),
])
def test_number_sources_and_caps(signature: str, body: str, expected: Confidence | None) -> None:
    source = f"""
    from typing import Annotated
    from pydantic import Field
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("x")

    @mcp.tool()
    def t({signature}) -> list:
        return list({body})
    """
    found = _findings(source, "MCP803")
    assert [f.confidence for f in found] == ([expected] if expected else [])


def test_sizes_inside_helpers_are_not_reported_without_a_tool() -> None:
    source = """
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("x")

    def pad(width: int) -> str:
        return "-" * width
    """
    assert _findings(source, "MCP803") == []


def test_middleware_class_never_used_in_its_file_is_not_evidence() -> None:
    source = """
    import logging
    from fastmcp.server.middleware import Middleware

    log = logging.getLogger("audit")

    class Audit(Middleware):
        async def on_call_tool(self, context, call_next):
            log.info("call %s", context.message.name)
            return await call_next(context)
    """
    assert [e for e in _run(source, {"MCP504"}).evidence if e.rule] == []
