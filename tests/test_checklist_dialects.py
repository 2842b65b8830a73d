"""Each checklist verdict judged on servers written in every SDK dialect.

For each dialect (official 1.x `FastMCP`, official 2.x `MCPServer`, standalone
`fastmcp`, the low-level `Server`) a server is written three ways: served over stdio,
over HTTP with auth, over HTTP without auth. The scorecard of each must pass, fail or
stay unknown for the right reason, citing evidence with its line.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcplint.cli import app

HANDLER = """

@{var}.tool()
def add_note(text: str) -> str:
    return "saved"
"""

DIALECTS = {
    "mcp-v1": dict(
        imports="from mcp.server.fastmcp import FastMCP\nfrom mcp.server.auth.settings import AuthSettings\n"
                "from notes.auth import IntrospectionVerifier\n",
        plain='mcp = FastMCP("notes")',
        authed='mcp = FastMCP("notes", token_verifier=IntrospectionVerifier("https://auth.example.com/i"),\n'
               '             auth=AuthSettings(issuer_url="https://auth.example.com", '
               'resource_server_url="https://notes.example.com"))',
        stdio='mcp.run()',
        http='mcp.run(transport="streamable-http")',
    ),
    "mcp-v2": dict(
        imports="from mcp.server.mcpserver import MCPServer\nfrom mcp.server.auth.settings import AuthSettings\n"
                "from notes.auth import IntrospectionVerifier\n",
        plain='mcp = MCPServer("notes")',
        authed='mcp = MCPServer("notes", token_verifier=IntrospectionVerifier("https://auth.example.com/i"),\n'
               '               auth=AuthSettings(issuer_url="https://auth.example.com", '
               'resource_server_url="https://notes.example.com"))',
        stdio='mcp.run()',
        http='mcp.run(transport="streamable-http", host="127.0.0.1")',
    ),
    "fastmcp": dict(
        imports="from fastmcp import FastMCP\nfrom fastmcp.server.auth.providers.jwt import JWTVerifier\n",
        plain='mcp = FastMCP("notes")',
        authed='mcp = FastMCP("notes", auth=JWTVerifier(jwks_uri="https://auth.example.com/jwks.json",\n'
               '                                      issuer="https://auth.example.com", audience="notes"))',
        stdio='mcp.run()',
        http='mcp.run(transport="http", host="127.0.0.1", port=8000)',
    ),
}

LOWLEVEL_STDIO = textwrap.dedent("""\
    import anyio
    import mcp.types as types
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

    server = Server("notes")


    @server.call_tool()
    async def call_tool(name: str, arguments: dict) -> list[types.TextContent]:
        return [types.TextContent(type="text", text="saved")]


    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())


    anyio.run(main)
""")
LOWLEVEL_HTTP = textwrap.dedent("""\
    import uvicorn
    import mcp.types as types
    from mcp.server.lowlevel import Server
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from starlette.applications import Starlette
    from starlette.routing import Mount

    server = Server("notes")


    @server.call_tool()
    async def call_tool(name: str, arguments: dict) -> list[types.TextContent]:
        return [types.TextContent(type="text", text="saved")]


    manager = StreamableHTTPSessionManager(app=server)
    app = Starlette(routes=[Mount("/mcp", app=manager.handle_request)])
    uvicorn.run(app, host="0.0.0.0", port=8000)
""")


@pytest.fixture(autouse=True)
def _in_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # paths in the report are relative to the project root


def _server(dialect: str, *, auth: bool, transport: str) -> str:
    parts = DIALECTS[dialect]
    return (parts["imports"] + "\n" + (parts["authed"] if auth else parts["plain"]) + "\n"
            + HANDLER.format(var="mcp") + "\n\n" + parts[transport] + "\n")


def _card(root: Path) -> dict[str, dict]:
    out = CliRunner().invoke(app, ["checklist", str(root), "--format", "json", "--isolated"])
    assert out.exit_code in (0, 1), out.output
    [card] = json.loads(out.stdout)["scorecards"]
    return {item["id"]: item for item in card["items"]}


def _write(root: Path, source: str) -> Path:
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "server.py").write_text(source)
    return root


def _line(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


@pytest.mark.parametrize("dialect", [*DIALECTS, "lowlevel"])
def test_stdio_server_network_items_pass_as_not_applicable(tmp_path: Path, dialect: str) -> None:
    source = LOWLEVEL_STDIO if dialect == "lowlevel" else _server(dialect, auth=False, transport="stdio")
    card = _card(_write(tmp_path, source))
    for item in ("MCP-C01", "MCP-C02", "MCP-C05", "MCP-C07", "MCP-C11"):
        assert card[item]["status"] == "pass", (item, card[item])
        assert "stdio only" in card[item]["detail"]
    for item in ("MCP-C03", "MCP-C04", "MCP-C13"):
        assert card[item]["status"] == "pass" and "1 handler checked" in card[item]["detail"]
    assert card["MCP-C12"]["status"] == "unknown" and "Dockerfile" in card["MCP-C12"]["detail"]


@pytest.mark.parametrize("dialect", [*DIALECTS, "lowlevel"])
def test_http_server_without_auth_fails_authentication(tmp_path: Path, dialect: str) -> None:
    source = LOWLEVEL_HTTP if dialect == "lowlevel" else _server(dialect, auth=False, transport="http")
    card = _card(_write(tmp_path, source))
    c01 = card["MCP-C01"]
    assert c01["status"] == "fail" and any(f["code"] == "MCP101" for f in c01["findings"])
    assert not card["MCP-C05"]["detail"].startswith("served over stdio")


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_http_server_with_auth_passes_with_evidence(tmp_path: Path, dialect: str) -> None:
    source = _server(dialect, auth=True, transport="http")
    card = _card(_write(tmp_path, source))
    c01 = card["MCP-C01"]
    assert c01["status"] == "pass", c01
    [first, *_] = c01["evidence"]
    assert first["path"] == "notes/server.py"
    assert first["line"] in range(_line(source, "mcp = "), _line(source, "mcp = ") + 3)
    assert "Verifier" in first["note"]


def test_controls_in_place_are_cited(tmp_path: Path) -> None:
    """Rate limiting, error masking, a lock file and a non-root container user."""
    source = textwrap.dedent("""\
        from fastmcp import FastMCP
        from fastmcp.server.middleware.rate_limiting import RateLimitingMiddleware

        mcp = FastMCP("notes", mask_error_details=True)
        mcp.add_middleware(RateLimitingMiddleware(max_requests_per_second=10))


        @mcp.tool()
        def add_note(text: str) -> str:
            return "saved"


        mcp.run(transport="http", host="127.0.0.1", host_origin_protection=True)
    """)
    root = _write(tmp_path, source)
    (root / "pyproject.toml").write_text('[project]\nname = "notes"\nversion = "1"\ndependencies = ["fastmcp>=3.4.3"]\n')
    (root / "uv.lock").write_text('version = 1\n\n[[package]]\nname = "fastmcp"\nversion = "3.4.11"\n')
    (root / "Dockerfile").write_text(
        "FROM python:3.12-slim@sha256:" + "a" * 64 + "\nRUN useradd -m app\nCOPY . /app\nUSER app\n"
        'CMD ["python", "/app/notes/server.py"]\n'
    )
    card = _card(root)
    expect = {
        "MCP-C07": ("notes/server.py", _line(source, "add_middleware")),
        "MCP-C09": ("notes/server.py", _line(source, "mask_error_details")),
        "MCP-C11": ("notes/server.py", _line(source, "mcp.run")),
        "MCP-C10": ("uv.lock", None),
        "MCP-C12": ("Dockerfile", 4),
    }
    for item, (path, line) in expect.items():
        row = card[item]
        assert row["status"] == "pass", (item, row)
        assert any(e["path"] == path and (line is None or e["line"] == line) for e in row["evidence"]), (item, row)


def test_sdk_default_that_leaks_errors_fails_without_masking(tmp_path: Path) -> None:
    """Official SDK 1.x sends exception text to network clients; 2.x masks it."""
    card = _card(_write(tmp_path, _server("mcp-v1", auth=True, transport="http")))
    assert card["MCP-C09"]["status"] == "fail"
    assert {f["code"] for f in card["MCP-C09"]["findings"]} == {"MCP852"}


def test_sdk_that_masks_by_default_passes_with_the_reason(tmp_path: Path) -> None:
    source = _server("mcp-v2", auth=True, transport="http")
    card = _card(_write(tmp_path, source))
    assert card["MCP-C09"]["status"] == "pass"
    assert "2.x" in card["MCP-C09"]["evidence"][0]["note"]
