"""`mcplint inventory`: the dialect fixtures as a user sees them, the JSON format, the CLI."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mcplint.cli import app
from mcplint.config import Config
from mcplint.inventory import build_inventory
from mcplint.mcp import sdk
from mcplint.report import inventory as report
from tests.conftest import FIXTURES, REPO

SERVERS = FIXTURES / "servers"
runner = CliRunner()


@pytest.fixture(scope="module")
def fixtures_inventory():
    return build_inventory([SERVERS], Config(root=SERVERS))


def brief(server) -> dict:
    return {
        "name": server.name or server.var,
        "dialect": server.dialect,
        "auth": server.auth,
        "transports": [
            (t.kind, t.via, None if t.host is None else t.host.value, t.served_by is not None) for t in server.transports
        ],
        "handlers": [(h.kind, h.name, [p.name for p in h.untrusted_params]) for h in server.handlers],
    }


def test_dialect_fixtures(fixtures_inventory) -> None:
    assert [brief(s) for s in fixtures_inventory.servers] == [
        {
            "name": "crm",
            "dialect": sdk.MCP_V1,
            "auth": "absent",
            "transports": [("stdio", "run", None, False)],
            "handlers": [
                ("tool", "find_contact", ["email"]),
                ("resource", "account", ["account_id"]),
                ("tool", "export", ["segment"]),
            ],
        },
        {
            "name": "notes",
            "dialect": sdk.FASTMCP,
            "auth": "unknown",
            "transports": [("http", "app", "0.0.0.0", True)],
            "handlers": [
                ("tool", "add_note", ["title", "text"]),
                ("tool", "search_notes", ["query", "limit"]),
                ("tool", "delete_note", ["title"]),
                ("resource", "note_text", ["title", "version"]),
                ("resource", "folder_listing", ["folder"]),
                ("prompt", "summarize", ["title", "style"]),
                ("tool", "word_count", ["title"]),
                ("tool", "rename_note", ["old", "new"]),
            ],
        },
        {
            "name": "metrics",
            "dialect": sdk.LOWLEVEL,
            "auth": "absent",
            "transports": [("sse", "session-manager", "0.0.0.0", True)],
            "handlers": [
                ("tool", "call_tool", ["name", "arguments"]),
                ("resource", "read_resource", ["uri"]),
                ("prompt", "get_prompt", ["name", "arguments"]),
            ],
        },
        {
            "name": "weather",
            "dialect": sdk.LOWLEVEL,
            "auth": "unknown",
            "transports": [("streamable-http", "app", "127.0.0.1", True)],
            "handlers": [("tool", "handle_call_tool", ["params"]), ("resource", "handle_read_resource", ["params"])],
        },
        {
            "name": "support-desk",
            "dialect": sdk.MCP_V1,
            "auth": "absent",
            "transports": [("sse", "run", "0.0.0.0", False)],
            "handlers": [
                ("tool", "open_ticket", ["title", "body"]),
                ("tool", "close_ticket", ["ticket_id", "reason"]),
                ("resource", "ticket", ["ticket_id"]),
                ("resource", "ticket_index", []),
                ("prompt", "triage", ["ticket_text"]),
                ("tool", "count_open_tickets", []),
            ],
        },
        {
            "name": "inventory",
            "dialect": sdk.MCP_V2,
            "auth": "configured",
            "transports": [("streamable-http", "run", "127.0.0.1", False)],
            "handlers": [
                ("tool", "stock_level", ["sku"]),
                ("tool", "reserve", ["sku", "quantity"]),
                ("resource", "stock_record", ["warehouse", "sku"]),
                ("prompt", "restock_plan", ["warehouse"]),
                ("completion", "complete", ["ref", "argument", "context"]),
            ],
        },
        # `from .app import mcp` in two files, app.py not scanned: one server
        {
            "name": "mcp",
            "dialect": sdk.INFERRED,
            "auth": "unknown",
            "transports": [("unknown-network", "run", "0.0.0.0", False)],
            "handlers": [("tool", "translate", ["text", "target_language"]), ("resource", "glossary", ["term"])],
        },
        {
            "name": "mcp",
            "dialect": sdk.INFERRED,
            "auth": "unknown",
            "transports": [],
            "handlers": [("tool", "scale", ["deployment", "replicas"]), ("tool", "rollout_status", ["deployment"])],
        },
        {
            "name": "server",
            "dialect": sdk.INFERRED,
            "auth": "unknown",
            "transports": [],
            "handlers": [("prompt", "incident", ["summary"])],
        },
    ]
    assert fixtures_inventory.skipped == []


def test_details_users_look_for(fixtures_inventory) -> None:
    by_name = {s.name: s for s in fixtures_inventory.servers}
    desk = by_name["support-desk"]
    [transport] = desk.transports
    # the host comes from an env default on the constructor, 16 lines above run()
    assert (transport.host.value, transport.host.from_env, transport.host.location.line) == ("0.0.0.0", True, 17)
    assert transport.location.line == 62
    auth = by_name["inventory"].auth_evidence
    assert [(e.location.line, e.text.split("(")[0]) for e in auth] == [(17, "token_verifier=IntrospectionVerifier"), (18, "auth=AuthSettings")]
    assert by_name["notes"].auth_unknown == [sdk.AUTH_UNKNOWN_FASTMCP_ENV]
    close = next(h for h in desk.handlers if h.name == "close_ticket")
    assert close.description == "Close a ticket by id."
    assert [(p.name, p.annotation, p.default, p.untrusted, p.injected) for p in close.params] == [
        ("ticket_id", "int", None, True, False),
        ("reason", "str", '"resolved"', True, False),
        ("ctx", "Optional[Ctx]", "None", False, True),
    ]
    # low-level servers: the tools their call_tool serves, from `types.Tool(...)`
    call_tool = by_name["metrics"].handlers[0]
    assert [(d.name, [(p.name, p.type) for p in d.params or ()]) for d in call_tool.declared_tools] == [
        ("query_metric", [("name", "string")])
    ]


def test_annotations_and_enum_names(tmp_path: Path) -> None:
    (tmp_path / "git_server.py").write_text(
        textwrap.dedent(
            """\
            from enum import Enum

            from mcp.server.mcpserver import MCPServer
            from mcp.types import ToolAnnotations

            READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False)


            class GitTools(str, Enum):
                STATUS = "git_status"
                RESET = "git_reset"


            def writes(destructive: bool) -> ToolAnnotations:
                return ToolAnnotations(read_only_hint=False, destructive_hint=destructive)


            server = MCPServer("git")


            @server.tool(name=GitTools.STATUS.value, annotations=READ_ONLY, title="Status")
            def status(repo_path: str) -> str:
                return ""


            @server.tool(name=GitTools.RESET, annotations=writes(destructive=True))
            def reset(repo_path: str) -> str:
                return ""
            """
        )
    )
    [server] = build_inventory([tmp_path], Config(root=tmp_path)).servers
    status, reset = server.handlers
    assert (status.name, status.title, status.annotations, status.annotations_complete) == (
        "git_status",
        "Status",
        (("readOnlyHint", True), ("destructiveHint", False)),
        True,
    )
    assert (reset.name, reset.annotations, reset.annotations_complete) == ("git_reset", (), False)


# -- JSON ------------------------------------------------------------------------------

SERVER_KEYS = [
    "id", "name", "dialect", "server_class", "resolved", "test_code", "path", "line", "column", "var", "seen_in",
    "transports", "auth", "handlers", "mounts", "mounted_in",
]
HANDLER_KEYS = [
    "kind", "name", "path", "line", "column", "function", "registered_at", "lowlevel", "uri", "title", "description",
    "annotations", "annotations_complete", "params", "declared_tools", "servers", "test_code",
]
TRANSPORT_KEYS = ["kind", "network", "via", "path", "line", "column", "host", "served_by", "test_code"]
PARAM_KEYS = ["name", "annotation", "default", "star", "untrusted", "injected"]


def test_json_shape(fixtures_inventory) -> None:
    document = json.loads(report.render_json(fixtures_inventory))
    assert list(document) == ["schema_version", "kind", "tool", "summary", "servers", "unattached_handlers", "skipped"]
    assert document["schema_version"] == 1 and document["kind"] == "inventory"
    assert document["summary"] == {
        "files": 9, "analysed": 9, "servers": 9,
        "tools": 17, "resources": 9, "prompts": 5, "completions": 1,
        "unattached": 0, "in_test_code": {"servers": 0, "handlers": 0}, "skipped": 0,
    }
    for server in document["servers"]:
        assert list(server) == SERVER_KEYS
        assert list(server["auth"]) == ["status", "evidence", "unknown_because"]
        for transport in server["transports"]:
            assert list(transport) == TRANSPORT_KEYS
        for handler in server["handlers"]:
            assert list(handler) == HANDLER_KEYS
            assert server["id"] in handler["servers"]
            for param in handler["params"]:
                assert list(param) == PARAM_KEYS
    desk = next(s for s in document["servers"] if s["name"] == "support-desk")
    assert desk["transports"][0]["host"] == {"value": "0.0.0.0", "from_env": True, "at": {"path": "mcp_v1_fastmcp.py", "line": 17, "column": 10}}
    assert desk["auth"] == {"status": "absent", "evidence": [], "unknown_because": []}


def test_json_is_deterministic_and_documented(fixtures_inventory) -> None:
    text = report.render_json(fixtures_inventory)
    assert text == report.render_json(build_inventory([SERVERS], Config(root=SERVERS)))
    docs = (REPO / "docs" / "inventory-format.md").read_text()
    for key in {*SERVER_KEYS, *HANDLER_KEYS, *TRANSPORT_KEYS, *PARAM_KEYS, "unattached_handlers", "in_test_code", "seen_in"}:
        assert f"`{key}`" in docs, key


# -- console -----------------------------------------------------------------------------


def render(inventory, width: int = 200) -> str:
    console = Console(width=width, no_color=True, color_system=None, record=True)
    report.print_inventory(inventory, console)
    return console.export_text()


def test_console_tree(tmp_path: Path) -> None:
    shutil.copy(SERVERS / "mcp_v1_fastmcp.py", tmp_path / "server.py")
    text = render(build_inventory([tmp_path], Config(root=tmp_path)))
    assert text.splitlines()[:6] == [
        "server support-desk  mcp-v1  server.py:15",
        "├── transport sse  run() at line 62  host 0.0.0.0 (all interfaces; a default, changeable at run time) · line 17",
        "├── auth absent  a network transport without auth: anyone who can reach it can call every tool",
        "├── tools (3)",
        "│   ├── open_ticket(title: str, body: str, ctx: Ctx (injected))  line 23",
        "│   │   └── Open a support ticket.",
    ]
    assert text.rstrip().endswith("1 server, 3 tools, 2 resources, 1 prompt. 1 of 1 file analysed.")


def test_hostile_text_is_shown_not_obeyed(tmp_path: Path) -> None:
    """Names and descriptions come from the scanned code: no markup, no escapes, no fake lines."""
    (tmp_path / "evil.py").write_text(
        textwrap.dedent(
            '''\
            from fastmcp import FastMCP

            mcp = FastMCP("[bold red]owned[/]")


            @mcp.tool(name="ok\\n├── tool  fake_tool()", description="\\x1b[2J\\x1b[31mwiped\\u202e")
            def tool(x: str) -> str:
                return x
            '''
        )
    )
    text = render(build_inventory([tmp_path], Config(root=tmp_path)))
    assert "[bold red]owned[/]" in text  # literal, not styled
    assert "\x1b" not in text and "\u202e" not in text
    assert "\\x1b[2J" in text and "\\u202e" in text
    assert "ok\\n├── tool  fake_tool()" in text  # one line: the newline is shown, not obeyed
    assert not any(line.lstrip("│ ").startswith("├── tool  fake_tool") for line in text.splitlines())


def test_test_code_is_set_apart(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("from fastmcp import FastMCP\n\nmcp = FastMCP('prod')\nmcp.run()\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text(
        "from fastmcp import FastMCP\nfrom app import mcp\n\n\ndef test_http():\n    mcp.run(transport='http')\n    FastMCP('fixture').run()\n"
    )
    inventory = build_inventory([tmp_path], Config(root=tmp_path))
    assert [(s.name, s.test_code) for s in inventory.servers] == [("prod", False), ("fixture", True)]
    text = render(inventory)
    assert "1 more transport in test code (http)" in text
    assert "servers in test code (1)" in text
    assert "1 server, 0 tools, 0 resources, 0 prompts (and 1 server in test code)." in text


# -- skipped files, the CLI ------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    shutil.copy(SERVERS / "mcp_v2_mcpserver.py", tmp_path / "server.py")
    (tmp_path / "broken.py").write_text("from mcp.server.fastmcp import FastMCP\n\ndef f(:\n    pass\n")
    (tmp_path / "binary.py").write_bytes(b"import mcp\x00\x01")
    return tmp_path


def invoke(*args: str):
    return runner.invoke(app, ["inventory", "--color", "never", *args])


def test_cli_console_lists_servers_and_skipped_files(project: Path) -> None:
    result = invoke()
    assert result.exit_code == 0, result.output
    assert "server inventory  mcp-v2  server.py:15" in result.stdout
    assert "stock_level(sku: str, ctx: Context (injected))" in result.stdout
    assert re.search(r"broken\.py:3\s+syntax error", result.stdout)
    assert "binary.py  binary file (contains NUL bytes)" in result.stdout


def test_cli_json(project: Path) -> None:
    result = invoke("--format", "json", ".")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [s["name"] for s in document["servers"]] == ["inventory"]
    assert document["skipped"] == [
        {"path": "binary.py", "line": None, "reason": "binary file (contains NUL bytes)"},
        {"path": "broken.py", "line": 3, "reason": "syntax error: invalid syntax"},
    ]


def test_cli_output_file(project: Path) -> None:
    assert invoke("--format", "json", "-o", "out/inv.json").exit_code == 0
    assert json.loads((project / "out" / "inv.json").read_text())["summary"]["servers"] == 1
    assert invoke("-o", "inv.txt").exit_code == 0
    assert "server inventory" in (project / "inv.txt").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "--format: expected console or json"),
        (["--config", "missing.toml"], "config file not found"),
        (["--config", "pyproject.toml", "--isolated"], "cannot be used together"),
        (["no/such/dir"], "path does not exist"),
    ],
)
def test_cli_usage_errors_exit_2(project: Path, args: list[str], message: str) -> None:
    (project / "pyproject.toml").write_text("[tool.mcplint]\n")
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_cli_config_excludes_apply(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.mcplint]\nextend-exclude = ["server.py"]\n')
    assert json.loads(invoke("--format", "json").stdout)["summary"]["servers"] == 0
    assert json.loads(invoke("--format", "json", "--isolated").stdout)["summary"]["servers"] == 1


def test_parameter_types_are_readable(tmp_path: Path) -> None:
    """A multi-line `Annotated[...]` with comments is one line in JSON; the console shows type and checks."""
    (tmp_path / "fetch.py").write_text(
        textwrap.dedent(
            '''\
            from typing import Annotated

            from pydantic import Field
            from mcp.server.fastmcp import FastMCP

            mcp = FastMCP("fetch")


            @mcp.tool()
            def fetch(
                url: Annotated[str, Field(description="URL to fetch", pattern="^https://")],
                max_length: Annotated[
                    int,
                    Field(
                        description="Maximum characters.",  # inclusive bounds
                        ge=1,
                        le=100_000,
                    ),
                ] = 5000,
            ) -> str:
                return url
            '''
        )
    )
    inventory = build_inventory([tmp_path], Config(root=tmp_path))
    [handler] = inventory.handlers
    assert [p.annotation for p in handler.params] == [
        'Annotated[str, Field(description="URL to fetch", pattern="^https://")]',
        "Annotated[int, Field(description='Maximum characters.', ge=1, le=100000)]",
    ]
    assert "fetch(url: str {pattern}, max_length: int {ge, le} = 5000)" in render(inventory)
