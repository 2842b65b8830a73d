"""The MCP model of each SDK dialect: servers, transports, hosts, handlers, auth.

The dialect fixtures under `fixtures/servers/` are pinned whole; the smaller cases
below pin one shape each.
"""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from mcplint.mcp import sdk
from mcplint.mcp.builder import build_model, uri_variables
from mcplint.mcp.model import FileModel
from tests.conftest import FIXTURES

SERVERS = FIXTURES / "servers"


def model_of(source: str) -> FileModel:
    text = textwrap.dedent(source)
    model = build_model(cst.parse_module(text))[0]
    _starts_deep_if_it_serves(text.encode(), model)
    return model


def _starts_deep_if_it_serves(data: bytes, model: FileModel) -> None:
    """Every shape the builder reads a server or handler in is one `scan` analyses in full
    from the start (`sdk.MAY_SERVE`), not only where handlers elsewhere call into it."""
    if model.servers or model.handlers:
        assert sdk.MAY_SERVE.search(data), "a server or handler that sdk.MAY_SERVE does not see"


def summary(model: FileModel) -> list[dict]:
    """Everything test-worthy about a model, as plain data."""
    out = []
    for server in model.servers:
        out.append(
            {
                "var": server.var,
                "dialect": server.dialect,
                "auth": server.auth,
                "transports": [
                    (t.kind, t.via, None if t.host is None else t.host.text, bool(t.host and t.host.from_env))
                    for t in server.transports
                ],
                "handlers": [(h.kind, h.name, [p.name for p in h.untrusted_params]) for h in server.handlers],
            }
        )
    return out


def fixture_model(name: str) -> FileModel:
    return build_model(cst.parse_module((SERVERS / name).read_bytes()))[0]


# -- the dialect fixtures ---------------------------------------------------------------


def test_official_v1_fastmcp() -> None:
    assert summary(fixture_model("mcp_v1_fastmcp.py")) == [
        {
            "var": "desk",
            "dialect": sdk.MCP_V1,
            "auth": "absent",
            # SDK 1.x: run() takes the host from the constructor
            "transports": [("sse", "run", "0.0.0.0", True)],
            "handlers": [
                ("tool", "open_ticket", ["title", "body"]),
                ("tool", "close_ticket", ["ticket_id", "reason"]),
                ("resource", "ticket", ["ticket_id"]),
                ("resource", "ticket_index", []),
                ("prompt", "triage", ["ticket_text"]),
                ("tool", "count_open_tickets", []),
            ],
        }
    ]


def test_official_v2_mcpserver() -> None:
    model = fixture_model("mcp_v2_mcpserver.py")
    assert summary(model) == [
        {
            "var": "mcp",
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
        }
    ]
    assert [h.uri for h in model.handlers if h.kind == "resource"] == ["inventory://{warehouse}/{sku}"]


def test_standalone_fastmcp() -> None:
    model = fixture_model("fastmcp_standalone.py")
    assert summary(model) == [
        {
            "var": "notes",
            "dialect": sdk.FASTMCP,
            "auth": "unknown",
            # the app's bind address is uvicorn's: `os.environ.get(...) or "0.0.0.0"`
            "transports": [("http", "app", "0.0.0.0", True)],
            "handlers": [
                ("tool", "add_note", ["title", "text"]),
                ("tool", "search_notes", ["query", "limit"]),
                ("tool", "delete_note", ["title"]),
                # `{?version}` is a URI variable too; `ctx: Context | None` is injected
                ("resource", "note_text", ["title", "version"]),
                # `page_size` is no URI variable: the client cannot set it
                ("resource", "folder_listing", ["folder"]),
                ("prompt", "summarize", ["title", "style"]),
                ("tool", "word_count", ["title"]),
                ("tool", "rename_note", ["old", "new"]),
            ],
        }
    ]
    assert model.servers[0].auth_unknown == [sdk.AUTH_UNKNOWN_FASTMCP_ENV]
    assert [run.linked for run in model.asgi_runs] == [True]


def test_lowlevel_v1_decorators() -> None:
    model = fixture_model("lowlevel_v1.py")
    assert summary(model) == [
        {
            "var": "server",
            "dialect": sdk.LOWLEVEL,
            "auth": "absent",
            # SseServerTransport served by uvicorn; host from `def main(host="0.0.0.0")`
            "transports": [("sse", "session-manager", "0.0.0.0", True)],
            "handlers": [
                ("tool", "call_tool", ["name", "arguments"]),
                ("resource", "read_resource", ["uri"]),
                ("prompt", "get_prompt", ["name", "arguments"]),
            ],
        }
    ]
    assert all(h.lowlevel for h in model.handlers)


def test_lowlevel_v2_constructor_handlers() -> None:
    model = fixture_model("lowlevel_v2.py")
    assert summary(model) == [
        {
            "var": "server",
            "dialect": sdk.LOWLEVEL,
            "auth": "unknown",
            "transports": [("streamable-http", "app", "127.0.0.1", False)],
            # (ctx, params): the context is the SDK's, annotated or not
            "handlers": [("tool", "handle_call_tool", ["params"]), ("resource", "handle_read_resource", ["params"])],
        }
    ]
    assert set(model.servers[0].auth_unknown) == {sdk.AUTH_UNKNOWN_MIDDLEWARE, sdk.AUTH_UNKNOWN_HEADER}


def test_class_based_server() -> None:
    assert summary(fixture_model("class_based.py")) == [
        {
            "var": "self.mcp",
            "dialect": sdk.MCP_V1,
            "auth": "absent",
            "transports": [("stdio", "run", None, False)],
            "handlers": [
                ("tool", "find_contact", ["email"]),
                ("resource", "account", ["account_id"]),
                ("tool", "export", ["segment"]),
            ],
        }
    ]


def test_register_helpers_are_inferred() -> None:
    model = fixture_model("register_helpers.py")
    assert summary(model) == [
        {
            "var": "mcp",
            "dialect": sdk.INFERRED,
            "auth": "unknown",
            "transports": [],
            "handlers": [("tool", "scale", ["deployment", "replicas"]), ("tool", "rollout_status", ["deployment"])],
        },
        {
            "var": "server",
            "dialect": sdk.INFERRED,
            "auth": "unknown",
            "transports": [],
            "handlers": [("prompt", "incident", ["summary"])],
        },
    ]
    assert model.servers[0].type_hint == "mcp.server.fastmcp.FastMCP"
    assert "plan" not in {h.name for h in model.handlers}  # `agent: "PlannerAgent"` is no server


def test_imported_server_modules_are_inferred() -> None:
    assert summary(fixture_model("app_module_tools.py")) == [
        {
            "var": "mcp",
            "dialect": sdk.INFERRED,
            "auth": "unknown",
            "transports": [],
            "handlers": [("tool", "translate", ["text", "target_language"]), ("resource", "glossary", ["term"])],
        }
    ]
    assert summary(fixture_model("app_module_main.py")) == [
        {
            "var": "mcp",
            "dialect": sdk.INFERRED,
            "auth": "unknown",
            # `mcp.run()` -> stdio is not taken on an imported name alone; the call with
            # transport= and host= is the HTTP path, host from the argparse default
            "transports": [("unknown-network", "run", "0.0.0.0", True)],
            "handlers": [],
        }
    ]


def test_every_dialect_fixture_is_pinned() -> None:
    pinned = {
        "mcp_v1_fastmcp.py", "mcp_v2_mcpserver.py", "fastmcp_standalone.py", "lowlevel_v1.py", "lowlevel_v2.py",
        "class_based.py", "register_helpers.py", "app_module_tools.py", "app_module_main.py",
    }
    assert {p.name for p in SERVERS.glob("*.py")} == pinned


# -- imports and aliases ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("imports", "constructor", "dialect"),
    [
        ("from mcp.server.fastmcp import FastMCP", "FastMCP", sdk.MCP_V1),
        ("import mcp.server.fastmcp as fm", "fm.FastMCP", sdk.MCP_V1),
        ("from mcp.server.mcpserver import MCPServer as S", "S", sdk.MCP_V2),
        ("from mcp.server import MCPServer", "MCPServer", sdk.MCP_V2),
        ("from fastmcp import FastMCP as F", "F", sdk.FASTMCP),
        ("import fastmcp", "fastmcp.FastMCP", sdk.FASTMCP),
        ("from fastmcp.server.server import FastMCP", "FastMCP", sdk.FASTMCP),
        ("from mcp.server.lowlevel import Server", "Server", sdk.LOWLEVEL),
        ("from mcp import server", "server.Server", sdk.LOWLEVEL),
        ("from fastmcp import FastMCP", "FastMCP.from_openapi", sdk.FASTMCP),
    ],
)
def test_constructors_through_aliases(imports: str, constructor: str, dialect: str) -> None:
    model = model_of(f"{imports}\nmcp = {constructor}('x')\n")
    assert [(s.var, s.dialect) for s in model.servers] == [("mcp", dialect)]


def test_unrelated_fastmcp_name_is_no_server() -> None:
    model = model_of(
        """
        from mytools import Agent

        agent = Agent("planner")

        @agent.tool
        def plan(goal: str) -> str:
            return goal
        """
    )
    assert not model.is_mcp


def test_server_from_a_factory_of_another_module() -> None:
    model = model_of(
        """
        from .factory import create_mcp_server, make_agent

        mcp = create_mcp_server()
        agent = make_agent()

        @mcp.tool()
        def ping() -> str: ...

        @agent.tool
        def think() -> str: ...
        """
    )
    assert [(s.var, s.dialect) for s in model.servers] == [("mcp", sdk.INFERRED)]
    assert [h.name for h in model.handlers] == ["ping"]


def test_subclasses() -> None:
    model = model_of(
        """
        from fastmcp import FastMCP
        from .base import ErrorPreservingFastMCP

        class NotesServer(FastMCP):
            pass

        notes = NotesServer("notes")
        jira = ErrorPreservingFastMCP("jira")
        """
    )
    assert [(s.var, s.dialect, s.auth) for s in model.servers] == [
        ("notes", sdk.FASTMCP, "unknown"),
        ("jira", sdk.INFERRED, "unknown"),
    ]
    assert model.servers[1].auth_unknown == [sdk.AUTH_UNKNOWN_SUBCLASS]


# -- handlers ---------------------------------------------------------------------------


def test_fastmcp_registration_shapes() -> None:
    model = model_of(
        """
        from fastmcp import FastMCP
        from fastmcp.tools import Tool, tool

        mcp = FastMCP("shapes", tools=[listed])

        def listed(a: str) -> str: ...
        def plain(b: str) -> str: ...
        def called(c: str) -> str: ...
        def wrapped(d: str) -> str: ...
        def via_resource(e: str) -> str: ...

        @tool(name="standalone")
        def later(f: str) -> str: ...

        mcp.tool(plain)
        mcp.tool(name="called_tool")(called)
        mcp.add_tool(Tool.from_function(wrapped, name="wrapped_tool"))
        mcp.resource("data://{e}")(via_resource)
        """
    )
    assert [(h.kind, h.name, h.server.var if h.server else None) for h in model.handlers] == [
        ("tool", "listed", "mcp"),
        ("tool", "standalone", None),
        ("tool", "plain", "mcp"),
        ("tool", "called_tool", "mcp"),
        ("tool", "wrapped_tool", "mcp"),
        ("resource", "via_resource", "mcp"),
    ]


def test_resource_uri_from_a_constant() -> None:
    model = model_of(
        """
        from fastmcp import FastMCP
        VIEW = "ui://{panel}/view.html"
        mcp = FastMCP("ui")

        @mcp.resource(VIEW)
        def view(panel: str, theme: str = "dark") -> str: ...
        """
    )
    (handler,) = model.handlers
    assert handler.uri == "ui://{panel}/view.html"
    assert [p.name for p in handler.untrusted_params] == ["panel"]


@pytest.mark.parametrize(
    "parameter",
    [
        "ctx: Context",
        "ctx: Ctx",
        "ctx: Context | None = None",
        "ctx: Optional[Context] = None",
        "ctx: Union[Context, None] = None",
        'ctx: "Context"',
        "ctx: Context[ServerSession, None]",
        "ctx: fastmcp.Context",
        "ctx: Context = CurrentContext()",
        "ctx = CurrentContext()",
        "db = Depends(get_db)",
        "db: Annotated[DB, Depends(get_db)]",
        "token = CurrentAccessToken()",
        "session: UserSession",
    ],
)
def test_injected_parameters_are_trusted(parameter: str) -> None:
    model = model_of(
        f"""
        from typing import Annotated, Optional, Union
        import fastmcp
        from fastmcp import Context, FastMCP
        from fastmcp import Context as Ctx
        from fastmcp.dependencies import CurrentAccessToken, CurrentContext, Depends

        mcp = FastMCP("x")

        @mcp.tool
        def lookup(key: str, {parameter}) -> str: ...
        """
    )
    assert [p.name for p in model.handlers[0].untrusted_params] == ["key"]


def test_context_mentioned_in_a_description_is_still_input() -> None:
    model = model_of(
        """
        from typing import Annotated
        from pydantic import Field
        from mcp.server.fastmcp import FastMCP
        mcp = FastMCP("x")

        @mcp.tool()
        def ask(context: Annotated[str, Field(description="Context for the model")]) -> str: ...
        """
    )
    assert [p.name for p in model.handlers[0].untrusted_params] == ["context"]


def test_lowlevel_registrations() -> None:
    model = model_of(
        """
        from mcp.server.lowlevel import Server
        from mcp import types

        server = Server("x")

        async def v2_call(ctx, params): ...
        async def legacy_call(req): ...

        server.add_request_handler("tools/call", types.CallToolRequestParams, v2_call)
        server.request_handlers[types.CallToolRequest] = legacy_call

        @server.tool()
        def not_a_lowlevel_decorator(x: str): ...
        """
    )
    assert [(h.kind, h.name, [p.name for p in h.untrusted_params], h.lowlevel) for h in model.handlers] == [
        ("tool", "v2_call", ["params"], True),
        ("tool", "legacy_call", ["req"], True),
    ]


def test_uri_variables() -> None:
    assert uri_variables("files://{path*}") == {"path"}
    assert uri_variables("repo://{owner}/{name}{?ref,depth}") == {"owner", "name", "ref", "depth"}
    assert uri_variables("users://{user-id}{&fields}") == {"user_id", "fields"}
    assert uri_variables("static://index") == set()


# -- transports and hosts --------------------------------------------------------------


def test_factory_function_and_chained_run() -> None:
    model = model_of(
        """
        from fastmcp.server import FastMCP

        def create_server():
            mcp = FastMCP("files")
            return mcp

        if __name__ == "__main__":
            create_server().run(transport="sse", host="0.0.0.0", port=8001)
        """
    )
    assert summary(model)[0]["transports"] == [("sse", "run", "0.0.0.0", False)]


def test_v1_settings_host_and_entry_points() -> None:
    model = model_of(
        """
        import anyio
        from mcp.server.fastmcp import FastMCP
        mcp = FastMCP("x")
        mcp.settings.host = "0.0.0.0"
        anyio.run(mcp.run_sse_async)
        """
    )
    assert summary(model)[0]["transports"] == [("sse", "run", "0.0.0.0", False)]


@pytest.mark.parametrize(
    ("setup", "host_expr", "expected"),
    [
        ("", '"0.0.0.0"', ("0.0.0.0", False)),
        ("HOST = '::'", "HOST", ("::", False)),
        ("", 'os.getenv("HOST", "0.0.0.0")', ("0.0.0.0", True)),
        ("", 'os.environ.get("HOST") or "0.0.0.0"', ("0.0.0.0", True)),
        ("", 'os.environ["HOST"]', (None, True)),
        ("", "settings.host", (None, False)),
    ],
)
def test_host_values(setup: str, host_expr: str, expected: tuple) -> None:
    model = model_of(
        f"""
        import os
        from mcp.server.mcpserver import MCPServer
        {setup}
        mcp = MCPServer("x")
        mcp.run("sse", host={host_expr})
        """
    )
    (host,) = model.servers[0].hosts
    assert (host.text, host.from_env) == expected


def test_hosts_from_command_line_defaults() -> None:
    model = model_of(
        """
        import argparse
        import click
        import typer
        from fastmcp import FastMCP

        mcp = FastMCP("x")

        def with_argparse():
            parser = argparse.ArgumentParser()
            parser.add_argument("--bind-host", dest="host", default="0.0.0.0")
            args = parser.parse_args()
            mcp.run(transport="http", host=args.host)

        @click.command()
        @click.option("--listen", default="::")
        def with_click(listen):
            mcp.run(transport="http", host=listen)

        def with_typer(address: str = typer.Option("127.0.0.1")):
            mcp.run(transport="http", host=address)
        """
    )
    assert [(v.text, v.from_env) for v in model.servers[0].hosts] == [
        ("0.0.0.0", True), ("::", True), ("127.0.0.1", True),
    ]


def test_asgi_runner_links_to_mounted_apps() -> None:
    model = model_of(
        """
        import uvicorn
        from fastapi import FastAPI
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("x")
        api = FastAPI()
        api.mount("/mcp", mcp.streamable_http_app())

        uvicorn.run(api, host="0.0.0.0")
        """
    )
    (transport,) = model.servers[0].transports
    assert (transport.kind, transport.via, transport.host.text) == ("streamable-http", "app", "0.0.0.0")
    assert transport.runner is model.asgi_runs[0].node


def test_lowlevel_session_manager_and_stdio() -> None:
    model = model_of(
        """
        from mcp.server.lowlevel import Server
        from mcp.server.stdio import stdio_server
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        app = Server("x")

        async def run_stdio():
            async with stdio_server() as (read, write):
                await app.run(read, write, app.create_initialization_options())

        manager = StreamableHTTPSessionManager(app=app, json_response=True)
        """
    )
    assert summary(model)[0]["transports"] == [
        ("stdio", "run", None, False),
        ("streamable-http", "session-manager", None, False),
    ]


def test_runtime_transport_choice() -> None:
    model = model_of(
        """
        import os
        from mcp.server.fastmcp import FastMCP
        mcp = FastMCP("x")
        mcp.run(transport=os.getenv("TRANSPORT", "stdio"))
        mcp.run(transport=os.getenv("TRANSPORT", "sse"))
        mcp.run(transport=choice)
        mcp.run(transport=choice, mount_path="/mcp")
        mcp.run(**options)
        """
    )
    assert [t.kind for t in model.servers[0].transports] == ["unknown", "sse", "unknown", "unknown-network", "unknown"]


def test_flask_run_is_no_server() -> None:
    model = model_of(
        """
        from flask import Flask
        from mcp.server.fastmcp import FastMCP
        app = Flask(__name__)
        mcp = FastMCP("x")
        app.run(host="0.0.0.0")
        """
    )
    assert [s.var for s in model.servers] == ["mcp"]
    assert model.servers[0].transports == []


# -- auth -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "auth"),
    [
        ('mcp = FastMCP("x")', "absent"),
        ('mcp = FastMCP("x", auth=None)', "absent"),
        ('mcp = FastMCP("x", token_verifier=V(), auth=A())', "configured"),
        ('mcp = FastMCP("x", auth_server_provider=P(), auth=A())', "configured"),
        ('mcp = FastMCP("x")\nmcp.auth = provider', "configured"),
        ('mcp = FastMCP("x", **settings)', "unknown"),
        ('mcp = FastMCP("x")\napp = Starlette(middleware=[Middleware(AuthenticationMiddleware, backend=B())])', "unknown"),
        ('mcp = FastMCP("x")\napp = Starlette(middleware=[Middleware(CORSMiddleware)])', "absent"),
        ('mcp = FastMCP("x")\ntoken = request.headers.get("Authorization")', "unknown"),
        ('mcp = FastMCP("x")\nkey = request.headers["X-API-Key"]', "unknown"),
        ('mcp = FastMCP("x")\nheaders["Authorization"] = f"Bearer {token}"', "absent"),
        ('mcp = FastMCP("x")\n@api.middleware("http")\nasync def check_api_key(request, call_next): ...', "unknown"),
        ('mcp = FastMCP("x")\n@api.middleware("http")\nasync def add_timing(request, call_next): ...', "absent"),
    ],
)
def test_auth_status(source: str, auth: str) -> None:
    model = model_of("from mcp.server.fastmcp import FastMCP\n" + source + "\n")
    assert model.servers[0].auth == auth


def test_fastmcp_auth_may_come_from_the_environment() -> None:
    model = model_of('from fastmcp import FastMCP\nmcp = FastMCP("x")\n')
    assert (model.servers[0].auth, model.servers[0].auth_unknown) == ("unknown", [sdk.AUTH_UNKNOWN_FASTMCP_ENV])


def test_lowlevel_v2_app_auth() -> None:
    model = model_of(
        """
        from mcp.server import Server
        server = Server("x")
        app = server.streamable_http_app(auth=settings, token_verifier=verifier)
        """
    )
    assert model.servers[0].auth == "configured"


# -- the prefilter ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        b"from .app import mcp\nmcp.run(transport='sse')\n",
        b"server = create()\nserver.run('streamable-http')\n",
        b"anyio.run(app.run_sse_async)\n",
        b"def register(mcp):\n    @mcp.tool()\n    def f(): ...\n",
    ],
)
def test_prefilter_sends_entry_points_and_helpers(source: bytes) -> None:
    assert sdk.MCP_PREFILTER.search(source)


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("*.py")), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_fixture_that_serves_starts_deep(path) -> None:
    data = path.read_bytes()
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError:
        return  # the syntax-error fixtures
    _starts_deep_if_it_serves(data, build_model(module)[0])


@pytest.mark.parametrize(
    "source",
    [
        """
        from mcp.server.fastmcp import Context

        class PodHandler:
            def __init__(self, mcp):
                self.mcp = mcp
                self.mcp.tool(name="list_pods")(self.list_pods)

            async def list_pods(self, ctx: Context, namespace: str) -> str:
                return namespace
        """,
        """
        from fastmcp.tools import tool

        @tool
        def search(q: str) -> str:
            return q
        """,
        """
        import fastmcp.tools

        def search(q: str) -> str:
            return q

        search_tool = fastmcp.tools.tool(search)
        """,
        """
        from mcp.types import TextContent

        def register(app):
            app.add_template(read_note)

        def read_note(name: str) -> str:
            return name
        """,
    ],
    ids=["handler-class", "standalone-decorator", "standalone-call", "add-template"],
)
def test_handlers_registered_without_a_server_class_name_start_deep(source: str) -> None:
    assert model_of(source).handlers  # and model_of checks sdk.MAY_SERVE


@pytest.mark.parametrize("source", ["from mcp.server import Server\n\nserver = Server('notes')\n",
                                    "from mcp.server import Server as LowLevel\n\nserver = LowLevel('notes')\n"])
def test_a_lowlevel_server_built_without_handlers_here_starts_deep(source: str) -> None:
    assert model_of(source).servers  # and model_of checks sdk.MAY_SERVE


@pytest.mark.parametrize(
    "source",
    [
        b"from mcp.types import TextContent\n\nasync def handle_search(arguments: dict) -> list[TextContent]: ...\n",
        b"from mcp.server.fastmcp import Context\n\ndef progress(ctx: Context, done: int) -> None: ...\n",
        b'"""Helpers for the Notes MCP Server (see Server/Data Center)."""\nfrom mcp import types\n',
    ],
)
def test_files_that_only_use_the_sdk_types_do_not_serve(source: bytes) -> None:
    assert sdk.MCP_PREFILTER.search(source) and not sdk.MAY_SERVE.search(source)
    assert not model_of(source.decode()).handlers


def test_prefilter_skips_plain_code() -> None:
    assert not sdk.MCP_PREFILTER.search(b"import flask\napp.run(host='0.0.0.0')\n")
