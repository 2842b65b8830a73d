"""The project view: one server object seen from many modules, handlers registered across files.

Each test writes a small package to a temporary folder and pins the joined result:
which per-file servers became one project server, its transports and auth, and which
functions of which files are its handlers.
"""

from __future__ import annotations

import pickle
import shutil
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from mcplint.config import Config
from mcplint.inventory import Inventory, build_inventory
from mcplint.mcp import sdk
from mcplint.mcp.builder import build_model
from mcplint.files import is_test_path
from mcplint.mcp.join import ProjectServer, collect, join
from mcplint.mcp.project import ModuleIndex
from tests.conftest import FIXTURES

SERVERS = FIXTURES / "servers"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def inventory_of(root: Path, files: dict[str, str] | None = None) -> Inventory:
    if files:
        write(root, files)
    return build_inventory([root], Config(root=root))


def view(server: ProjectServer) -> dict:
    """A project server as plain data, for exact comparisons."""
    return {
        "id": server.id,
        "dialect": server.dialect,
        "auth": server.auth,
        "seen_in": sorted({m.path for m in server.members}),
        "transports": [
            (t.kind, str(t.location), None if t.host is None else (t.host.value, t.host.from_env)) for t in server.transports
        ],
        "handlers": [
            (h.kind, h.name, f"{h.path}:{h.location.line}", h.function, [p.name for p in h.untrusted_params])
            for h in server.handlers
        ],
    }


# -- the package from the issue: app, tools importing it, a register helper, main --------

PACKAGE = {
    "shop/__init__.py": "",
    "shop/app.py": """\
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("shop", host="0.0.0.0")
        """,
    "shop/tools/__init__.py": "",
    "shop/tools/search.py": """\
        from mcp.server.fastmcp import Context

        from ..app import mcp


        @mcp.tool(annotations={"readOnlyHint": True})
        def search(query: str, limit: int = 10, ctx: Context = None) -> list[str]:
            \"\"\"Search the catalogue.\"\"\"
            return []
        """,
    "shop/tools/db.py": """\
        def register(mcp):
            @mcp.tool(description="Run a read-only query")
            def run_query(sql: str) -> str:
                return sql

            @mcp.resource("orders://{order_id}")
            def order(order_id: str, verbose: bool = False) -> str:
                return order_id
        """,
    "shop/tools/export.py": """\
        def export_csv(table: str, path: str = "/tmp/out.csv") -> str:
            \"\"\"Export a table as CSV.\"\"\"
            return path
        """,
    "shop/main.py": """\
        from .app import mcp
        from .tools import search  # noqa: F401  (registers its tools on import)
        from .tools.db import register
        from .tools.export import export_csv

        register(mcp)
        mcp.add_tool(export_csv, name="export")

        if __name__ == "__main__":
            mcp.run(transport="sse")
        """,
}


def test_package_joins_into_one_server(tmp_path: Path) -> None:
    inventory = inventory_of(tmp_path, PACKAGE)
    assert [view(s) for s in inventory.servers] == [
        {
            "id": "shop/app.py:3",
            "dialect": sdk.MCP_V1,
            "auth": "absent",  # constructed without auth; "created elsewhere" no longer applies
            "seen_in": ["shop/app.py", "shop/main.py", "shop/tools/db.py", "shop/tools/search.py"],
            # run() in main.py binds the constructor's host (SDK 1.x)
            "transports": [("sse", "shop/main.py:10", ("0.0.0.0", False))],
            "handlers": [
                ("tool", "run_query", "shop/tools/db.py:3", "register.run_query", ["sql"]),
                ("resource", "order", "shop/tools/db.py:7", "register.order", ["order_id"]),
                ("tool", "export", "shop/tools/export.py:1", "export_csv", ["table", "path"]),
                ("tool", "search", "shop/tools/search.py:7", "search", ["query", "limit"]),
            ],
        }
    ]
    assert inventory.analysed == ["shop/app.py", "shop/main.py", "shop/tools/db.py", "shop/tools/search.py"]
    assert inventory.read_on_demand == ["shop/tools/export.py"]  # no MCP import: read for the join only


def test_handlers_by_file_marks_functions_registered_elsewhere(tmp_path: Path) -> None:
    project = inventory_of(tmp_path, PACKAGE).project
    by_file = {path: [(key, h.name, h.cross_file) for key, h in entries] for path, entries in project.handlers_by_file.items()}
    assert by_file == {
        "shop/tools/db.py": [("register.run_query", "run_query", False), ("register.order", "order", False)],
        "shop/tools/export.py": [("export_csv", "export", True)],
        "shop/tools/search.py": [("search", "search", False)],
    }
    [(key, handler)] = project.cross_file_handlers("shop/tools/export.py")
    assert key == "export_csv"
    assert str(handler.registration) == "shop/main.py:7"
    assert handler.description == "Export a table as CSV."
    assert handler.servers == ["shop/app.py:3"]
    # every per-file server of the package is the one project server
    assert project.server_of == {
        ("shop/app.py", 0): ["shop/app.py:3"],
        ("shop/main.py", 0): ["shop/app.py:3"],
        ("shop/tools/db.py", 0): ["shop/app.py:3"],
        ("shop/tools/search.py", 0): ["shop/app.py:3"],
    }


def test_registration_metadata_is_kept(tmp_path: Path) -> None:
    project = inventory_of(tmp_path, PACKAGE).project
    by_name = {h.name: h for h in project.handlers}
    assert by_name["search"].annotations == (("readOnlyHint", True),)
    assert by_name["run_query"].description == "Run a read-only query"
    assert by_name["order"].uri == "orders://{order_id}"
    assert [(p.name, p.untrusted, p.injected) for p in by_name["order"].params] == [
        ("order_id", True, False),
        ("verbose", False, False),  # not in the URI template: keeps its default
    ]
    assert [(p.name, p.injected) for p in by_name["search"].params][-1] == ("ctx", True)


def test_facts_and_project_are_picklable(tmp_path: Path) -> None:
    """Parallel scans send per-file facts between processes."""
    write(tmp_path, PACKAGE)
    path = "shop/tools/db.py"
    module = cst.parse_module((tmp_path / path).read_bytes())
    facts = collect(path, module, build_model(module)[0], source=(tmp_path / path).read_bytes())
    assert pickle.loads(pickle.dumps(facts)) == facts
    project = inventory_of(tmp_path).project
    again = pickle.loads(pickle.dumps(project))
    assert [view(s) for s in again.servers] == [view(s) for s in project.servers]


# -- factories, entry points without SDK imports, helpers on several servers -----------


def test_factory_in_one_module_run_from_an_entry_point(tmp_path: Path) -> None:
    """`def create_server(): mcp = FastMCP(); register_x(mcp); return mcp`, then `create_server().run()`."""
    inventory = inventory_of(
        tmp_path,
        {
            "ops/server.py": """\
                from mcp.server.fastmcp import FastMCP

                from .tools.disk import register_disk_tools


                def create_server() -> FastMCP:
                    mcp = FastMCP("ops")
                    register_disk_tools(mcp)
                    return mcp
                """,
            "ops/tools/disk.py": """\
                import shutil

                from mcp.server.fastmcp import FastMCP


                def register_disk_tools(mcp: FastMCP) -> None:
                    @mcp.tool()
                    def disk_usage(path: str) -> str:
                        return str(shutil.disk_usage(path))
                """,
            # no MCP import here: analysed because it imports the server module
            "ops/cli.py": """\
                from .server import create_server


                def main() -> None:
                    server = create_server()
                    server.run()
                """,
        },
    )
    [server] = inventory.servers
    assert view(server) == {
        "id": "ops/server.py:7",
        "dialect": sdk.MCP_V1,
        "auth": "absent",
        "seen_in": ["ops/server.py", "ops/tools/disk.py"],
        # `server.run()` on a factory's result: the file model skips it, the join does not
        "transports": [("stdio", "ops/cli.py:6", None)],
        "handlers": [("tool", "disk_usage", "ops/tools/disk.py:8", "register_disk_tools.disk_usage", ["path"])],
    }
    assert "ops/cli.py" in inventory.analysed


def test_helper_called_with_two_servers_registers_on_both(tmp_path: Path) -> None:
    project = inventory_of(
        tmp_path,
        {
            "svc/common.py": """\
                def register_health(server):
                    @server.tool()
                    def health() -> str:
                        return "ok"
                """,
            "svc/servers.py": """\
                from fastmcp import FastMCP

                from .common import register_health

                public = FastMCP("public")
                admin = FastMCP("admin")
                register_health(public)
                register_health(admin)
                """,
        },
    ).project
    assert [s.name for s in project.servers] == ["public", "admin"]
    assert [[h.name for h in s.handlers] for s in project.servers] == [["health"], ["health"]]
    [health] = project.handlers
    assert health.servers == ["svc/servers.py:5", "svc/servers.py:6"]


def test_self_mcp_passed_to_an_imported_helper(tmp_path: Path) -> None:
    [server] = inventory_of(
        tmp_path,
        {
            "crm/server.py": """\
                from mcp.server.fastmcp import FastMCP

                from .tools import register_tools


                class CRMServer:
                    def __init__(self) -> None:
                        self.mcp = FastMCP("crm")
                        register_tools(self.mcp)

                    def serve(self) -> None:
                        self.mcp.run(transport="streamable-http")
                """,
            "crm/tools.py": """\
                def register_tools(mcp):
                    @mcp.tool()
                    def find_contact(email: str) -> dict:
                        return {}
                """,
        },
    ).servers
    assert view(server)["handlers"] == [("tool", "find_contact", "crm/tools.py:3", "register_tools.find_contact", ["email"])]
    assert [t.kind for t in server.transports] == ["streamable-http"]


def test_chained_helpers(tmp_path: Path) -> None:
    """main -> register_all(mcp) -> db.register(mcp): the parameter is passed on."""
    [server] = inventory_of(
        tmp_path,
        {
            "app/main.py": """\
                from fastmcp import FastMCP

                from .tools import register_all

                mcp = FastMCP("app")
                register_all(mcp)
                """,
            "app/tools/__init__.py": """\
                from . import db


                def register_all(mcp):
                    db.register(mcp)
                """,
            "app/tools/db.py": """\
                def register(mcp):
                    @mcp.tool
                    def query(sql: str) -> list:
                        return []
                """,
        },
    ).servers
    assert [(h.name, h.path) for h in server.handlers] == [("query", "app/tools/db.py")]


# -- imported functions: re-exports, bound methods, loops, Tool.from_function -----------


def test_imported_functions_through_reexports_methods_and_loops(tmp_path: Path) -> None:
    [server] = inventory_of(
        tmp_path,
        {
            "kb/__init__.py": "",
            "kb/handlers/__init__.py": "from .notes import add_note, delete_note\n",
            "kb/handlers/notes.py": """\
                def add_note(title: str, body: str) -> str:
                    return title


                def delete_note(title: str) -> str:
                    return title
                """,
            "kb/queries.py": """\
                class Queries:
                    def __init__(self, dsn: str) -> None:
                        self.dsn = dsn

                    async def run_query(self, sql: str, limit: int = 100) -> list:
                        return []
                """,
            "kb/server.py": """\
                from fastmcp import FastMCP
                from fastmcp.tools import Tool

                from .handlers import add_note, delete_note
                from .queries import Queries

                queries = Queries("sqlite://")
                run_query = queries.run_query

                mcp = FastMCP("kb")
                mcp.add_tool(Tool.from_function(run_query, name="query", annotations={"readOnlyHint": True}))
                for fn in (add_note, delete_note):
                    mcp.tool(fn)
                """,
        },
    ).servers
    assert view(server)["handlers"] == [
        ("tool", "add_note", "kb/handlers/notes.py:1", "add_note", ["title", "body"]),
        ("tool", "delete_note", "kb/handlers/notes.py:5", "delete_note", ["title"]),
        ("tool", "query", "kb/queries.py:5", "Queries.run_query", ["sql", "limit"]),
    ]
    query = server.handlers[-1]
    assert query.annotations == (("readOnlyHint", True),)
    assert str(query.registration) == "kb/server.py:11"


def test_tool_object_bound_to_a_name_then_added(tmp_path: Path) -> None:
    """`t = Tool.from_function(fn)` is not registered until `mcp.add_tool(t)`."""
    [server] = inventory_of(
        tmp_path,
        {
            "x/impl.py": "def rename(old: str, new: str) -> str:\n    return new\n",
            "x/server.py": """\
                from fastmcp import FastMCP
                from fastmcp.tools import Tool

                from .impl import rename

                rename_tool = Tool.from_function(rename, name="rename_note")
                notes = FastMCP("notes")
                notes.add_tool(rename_tool)
                """,
        },
    ).servers
    assert [(h.name, h.path, h.servers) for h in server.handlers] == [("rename_note", "x/impl.py", ["x/server.py:7"])]


def test_not_a_server_is_not_joined(tmp_path: Path) -> None:
    """An agent's `tool()` and a Starlette `mount()` are not MCP registrations."""
    project = inventory_of(
        tmp_path,
        {
            "bot/funcs.py": "def lookup(city: str) -> str:\n    return city\n",
            "bot/agent.py": """\
                from pydantic_ai import Agent
                from starlette.applications import Starlette
                from mcp.server.fastmcp import FastMCP

                from .funcs import lookup

                agent = Agent("openai:gpt-4o")
                agent.tool(lookup)
                mcp = FastMCP("bot")
                app = Starlette()
                app.mount("/mcp", mcp.sse_app())
                """,
        },
    ).project
    assert [h.name for h in project.handlers] == []
    [server] = project.servers
    assert server.mounts == [] and server.mounted_in == []


# -- SDK subclasses in the project, fastmcp composition --------------------------------


def test_project_subclass_of_the_sdk_server(tmp_path: Path) -> None:
    """`class MyMCP(FastMCP)` in one module, built in another; `self.tool(...)` in its methods."""
    [server] = inventory_of(
        tmp_path,
        {
            "vec/base.py": """\
                from fastmcp import FastMCP


                class VectorMCP(FastMCP):
                    def __init__(self, **settings) -> None:
                        super().__init__(name="vectors", **settings)
                        self.setup_tools()

                    def setup_tools(self) -> None:
                        async def find(query: str, limit: int = 5) -> list[str]:
                            return []

                        find_tool = find
                        self.tool(find_tool, name="vector-find")

                        @self.tool()
                        def store(text: str) -> str:
                            return "stored"
                """,
            # no SDK import: analysed because it imports the module defining the subclass
            "vec/server.py": """\
                from .base import VectorMCP

                mcp = VectorMCP()
                """,
            "vec/main.py": """\
                from .server import mcp

                mcp.run(transport="http", host="0.0.0.0")
                """,
        },
    ).servers
    assert server.dialect == sdk.FASTMCP
    assert server.server_class == "VectorMCP"
    assert server.auth == "unknown"  # the subclass may configure auth in __init__
    assert [(h.name, h.function, [p.name for p in h.untrusted_params]) for h in server.handlers] == [
        ("vector-find", "VectorMCP.setup_tools.find", ["query", "limit"]),
        ("store", "VectorMCP.setup_tools.store", ["text"]),
    ]
    assert [(t.kind, t.host.value if t.host else None) for t in server.transports] == [("http", "0.0.0.0")]


def test_fastmcp_mount(tmp_path: Path) -> None:
    project = inventory_of(
        tmp_path,
        {
            "suite/jira.py": """\
                from fastmcp import FastMCP

                jira = FastMCP("jira")


                @jira.tool
                def get_issue(key: str) -> dict:
                    return {}
                """,
            "suite/main.py": """\
                from fastmcp import FastMCP

                from .jira import jira

                main = FastMCP("suite", auth=None)
                main.mount(jira, namespace="jira")
                main.run(transport="http")
                """,
        },
    ).project
    jira, main = project.servers
    assert (jira.name, main.name) == ("jira", "suite")
    assert [(m.server, m.namespace, str(m.location)) for m in main.mounts] == [("suite/jira.py:3", "jira", "suite/main.py:6")]
    assert [(m.server, m.namespace) for m in jira.mounted_in] == [("suite/main.py:5", "jira")]
    assert jira.transports == []  # served through the parent's


# -- the dialect fixtures ----------------------------------------------------------------


def test_fixture_modules_importing_an_unscanned_app_share_one_server(tmp_path: Path) -> None:
    """`from .app import mcp` in two files, no app.py: one inferred server, not two."""
    for name in ("app_module_main.py", "app_module_tools.py"):
        shutil.copy(SERVERS / name, tmp_path / name)
    [server] = inventory_of(tmp_path).servers
    assert view(server) == {
        "id": "app_module_main.py:16",
        "dialect": sdk.INFERRED,
        "auth": "unknown",
        "seen_in": ["app_module_main.py", "app_module_tools.py"],
        "transports": [("unknown-network", "app_module_main.py:16", ("0.0.0.0", True))],
        "handlers": [
            ("tool", "translate", "app_module_tools.py:9", "translate", ["text", "target_language"]),
            ("resource", "glossary", "app_module_tools.py:16", "glossary", ["term"]),
        ],
    }
    assert server.auth_unknown == [sdk.AUTH_UNKNOWN_ELSEWHERE]
    assert not server.resolved


def test_fixture_modules_join_with_their_app(tmp_path: Path) -> None:
    """The same two files with the app module they import: the constructor is found."""
    for name in ("app_module_main.py", "app_module_tools.py"):
        shutil.copy(SERVERS / name, tmp_path / name)
    write(tmp_path, {"app.py": "from fastmcp import FastMCP\n\nmcp = FastMCP('translator')\n"})
    [server] = inventory_of(tmp_path).servers
    assert (server.id, server.dialect, server.resolved) == ("app.py:3", sdk.FASTMCP, True)
    assert [h.name for h in server.handlers] == ["translate", "glossary"]
    assert server.auth_unknown == [sdk.AUTH_UNKNOWN_FASTMCP_ENV]  # not "created elsewhere" any more


def test_register_helpers_called_by_nobody_stay_inferred() -> None:
    project = build_inventory([SERVERS / "register_helpers.py"], Config(root=SERVERS)).project
    assert [(s.var, s.dialect, [h.name for h in s.handlers]) for s in project.servers] == [
        ("mcp", sdk.INFERRED, ["scale", "rollout_status"]),
        ("server", sdk.INFERRED, ["incident"]),
    ]


@pytest.mark.parametrize(
    "name", ["mcp_v1_fastmcp.py", "mcp_v2_mcpserver.py", "fastmcp_standalone.py", "lowlevel_v1.py", "lowlevel_v2.py", "class_based.py"]
)
def test_single_file_fixtures_are_unchanged_by_the_join(name: str) -> None:
    """A file that builds and runs its own server: the project view is the file's model."""
    [own] = build_model(cst.parse_module((SERVERS / name).read_bytes()))[0].servers
    [server] = build_inventory([SERVERS / name], Config(root=SERVERS)).servers
    assert (server.dialect, server.auth, server.auth_unknown) == (own.dialect, own.auth, own.auth_unknown)
    assert [t.kind for t in server.transports] == [t.kind for t in own.transports]
    assert sorted(h.name for h in server.handlers) == sorted(h.name for h in own.handlers)
    assert [h.location.line for h in server.handlers] == sorted(h.location.line for h in server.handlers)


# -- cheap positions ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in SERVERS.glob("*.py")))
def test_locations_match_libcst_positions(name: str) -> None:
    """Lines from `ast` plus per-statement positions equal whole-file libcst positions."""
    data = (SERVERS / name).read_bytes()
    module = cst.parse_module(data)
    model = build_model(module)[0]
    full = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert collect(name, module, model, positions=full) == collect(name, module, model, source=data)


# -- the module index the join relies on ---------------------------------------------------


def test_module_index_package_level_names_and_reexports() -> None:
    index = ModuleIndex(["pkg/__init__.py", "pkg/app.py", "pkg/tools/__init__.py", "pkg/tools/db.py", "src/pkg/x.py"])
    resolve = index.resolve
    assert resolve("pkg/main.py", ".app") == resolve("pkg/main.py", ".app") and resolve("pkg/main.py", ".app").path == "pkg/app.py"
    assert (resolve("pkg/tools/db.py", "..app.mcp").path, resolve("pkg/tools/db.py", "..app.mcp").name) == ("pkg/app.py", "mcp")
    # `from . import settings` where settings is a name in the package's __init__
    assert (resolve("pkg/main.py", ".settings").path, resolve("pkg/main.py", ".settings").name) == ("pkg/__init__.py", "settings")
    # `from .tools import db` then `db.register`
    assert (resolve("pkg/main.py", ".tools.db.register").path, resolve("pkg/main.py", ".tools.db.register").name) == (
        "pkg/tools/db.py",
        "register",
    )
    assert resolve("pkg/main.py", "requests.get") is None


def test_test_paths() -> None:
    assert [p for p in ("tests/test_x.py", "pkg/tests/helpers.py", "test_server.py", "pkg/server_test.py", "conftest.py",
                         "app/tests.py", "pkg/server.py", "pkg/testing_utils.py", "contest.py") if is_test_path(p)] == [
        "tests/test_x.py", "pkg/tests/helpers.py", "test_server.py", "pkg/server_test.py", "conftest.py",
        "app/tests.py",
    ]


def test_join_of_nothing() -> None:
    project = join({}, ModuleIndex([]))
    assert (project.servers, project.handlers, project.handlers_by_file) == ([], [], {})


def test_low_level_tool_declarations_imported_from_other_modules(tmp_path: Path) -> None:
    """`list_tools` returns `types.Tool(...)` objects declared in a tools package."""
    [server] = inventory_of(
        tmp_path,
        {
            "papers/tools/__init__.py": "from .search import search_tool\n",
            "papers/tools/search.py": """\
                import mcp.types as types

                search_tool = types.Tool(
                    name="search_papers",
                    description="Search arXiv.",
                    inputSchema={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
                    annotations=types.ToolAnnotations(readOnlyHint=True),
                )
                """,
            "papers/server.py": """\
                import mcp.types as types
                from mcp.server import Server
                from mcp.server.stdio import stdio_server

                from .tools import search_tool

                server = Server("papers")


                @server.list_tools()
                async def list_tools() -> list[types.Tool]:
                    return [search_tool]


                @server.call_tool()
                async def call_tool(name: str, arguments: dict) -> list:
                    return []


                async def main() -> None:
                    async with stdio_server() as (read, write):
                        await server.run(read, write, server.create_initialization_options())
                """,
        },
    ).servers
    [call_tool] = server.handlers
    assert (call_tool.name, call_tool.lowlevel) == ("call_tool", True)
    assert [(d.name, str(d.location), [(p.name, p.type, p.required) for p in d.params], d.annotations) for d in call_tool.declared_tools] == [
        ("search_papers", "papers/tools/search.py:3", [("query", "string", True)], (("readOnlyHint", True),)),
    ]
    assert [t.kind for t in server.transports] == ["stdio"]
