"""How `scan` analyses each file: MCP files and the modules their handlers pass tool
input to get every MCP rule and function summaries (DEEP); modules MCP code only
imports get the rules that can report there (IMPORTED); other files only the file
rules (PLAIN). The modes change what is parsed, never what is found."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mcplint import engine, workers
from mcplint.config import Config
from mcplint.engine import DEEP, IMPORTED, PLAIN

SERVER = """
    from mcp.server.fastmcp import FastMCP
    from pkg import called, imported

    mcp = FastMCP("files")

    @mcp.tool()
    def archive(path: str) -> str:
        return called.pack(path)

    @mcp.tool()
    def version() -> str:
        return imported.VERSION
"""
CALLED = """
    from pkg.shell import run

    def pack(target):
        return run(f"tar czf out.tgz {target}")
"""
SHELL = """
    import subprocess

    def run(command):
        return subprocess.check_output(command, shell=True, text=True)  # the sink, two calls away
"""
IMPORTED_ONLY = """
    import os

    VERSION = "1.0"

    def wipe(folder):
        os.system("rm -rf " + folder)  # nothing passes tool input here
"""
UNRELATED = """
    import os

    def clean(folder):
        os.system("rm -rf " + folder)
"""


def _project(root: Path, **files: str) -> None:
    for name, text in files.items():
        target = root / f"{name.replace('.', '/')}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))


@pytest.fixture
def modes(monkeypatch) -> dict[str, str]:
    """The mode each file was analysed in, in this process."""
    seen: dict[str, str] = {}
    real = engine._analyse_item

    def recording(item, *args):
        seen[item[0]] = item[2]
        return real(item, *args)

    monkeypatch.setattr(workers, "available", lambda: False)
    monkeypatch.setattr(engine, "_analyse_item", recording)
    return seen


def test_each_file_gets_the_mode_its_role_needs(tmp_path: Path, modes) -> None:
    _project(tmp_path, **{"pkg.__init__": "", "pkg.server": SERVER, "pkg.called": CALLED, "pkg.shell": SHELL,
                          "pkg.imported": IMPORTED_ONLY, "other": UNRELATED})
    result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    assert modes == {
        "pkg/server.py": DEEP,
        "pkg/called.py": DEEP,  # archive() passes `path` to pack()
        "pkg/shell.py": DEEP,  # pack() passes it on to run(): found from called.py's summaries
        "pkg/imported.py": IMPORTED,  # imported by the server, never handed tool input
        "pkg/__init__.py": PLAIN,
        "other.py": PLAIN,
    }
    found = {(f.path, f.code) for f in result.active}
    assert ("pkg/shell.py", "MCP301") in found
    assert not any(path in ("pkg/imported.py", "other.py") for path, _ in found)


def test_modes_survive_the_cache(tmp_path: Path, modes) -> None:
    project = tmp_path / "project"
    _project(project, **{"pkg.__init__": "", "pkg.server": SERVER, "pkg.called": CALLED, "pkg.shell": SHELL,
                         "pkg.imported": IMPORTED_ONLY})
    config = Config(root=project)
    first = engine.scan([project], config, jobs=1, cache_dir=tmp_path / "cache")
    (project / "pkg" / "server.py").write_text(textwrap.dedent(SERVER) + "\n# edited\n")
    modes.clear()
    second = engine.scan([project], config, jobs=1, cache_dir=tmp_path / "cache")
    assert modes == {"pkg/server.py": DEEP}  # every other file's result came from the cache, in its mode
    assert [(f.path, f.code, f.span) for f in second.findings] == [(f.path, f.code, f.span) for f in first.findings]
    cold = engine.scan([project], config, jobs=1)
    assert [(f.path, f.code, f.span) for f in cold.findings] == [(f.path, f.code, f.span) for f in second.findings]


def test_a_cached_server_still_reaches_its_helpers_when_another_file_changed(tmp_path: Path, modes) -> None:
    """The MCP file's result comes from the cache, so its summaries reach `called.py`
    while the scan is still deciding every file's mode: that decision must stand (DEEP,
    cached too), not fall back to PLAIN and drop the findings the helpers lead to."""
    project = tmp_path / "project"
    _project(project, **{"pkg.__init__": "", "pkg.server": SERVER, "pkg.called": CALLED, "pkg.shell": SHELL,
                         "pkg.imported": IMPORTED_ONLY})
    config = Config(root=project)
    first = engine.scan([project], config, jobs=1, cache_dir=tmp_path / "cache")
    assert ("pkg/shell.py", "MCP301") in {(f.path, f.code) for f in first.active}
    (project / "pkg" / "imported.py").write_text(textwrap.dedent(IMPORTED_ONLY) + "\n# edited\n")
    modes.clear()
    second = engine.scan([project], config, jobs=1, cache_dir=tmp_path / "cache")
    assert modes == {"pkg/imported.py": IMPORTED}
    assert [(f.path, f.code, f.span) for f in second.findings] == [(f.path, f.code, f.span) for f in first.findings]


CALLED_WITH_AN_UNUSED_FUNCTION = CALLED + """
    from pkg import audit

    def unused(event):
        return audit.record(event)  # passes its parameter on, but no handler calls unused()
"""
AUDIT = """
    import os

    def record(event):
        os.system("logger " + event)
"""


def test_a_module_only_unreached_functions_call_into_is_not_deep(tmp_path: Path, modes) -> None:
    """Summaries are needed where handlers' input goes (`summary.Reach`), not wherever
    some function of a DEEP module passes its parameters on."""
    _project(tmp_path, **{"pkg.__init__": "", "pkg.server": SERVER, "pkg.called": CALLED_WITH_AN_UNUSED_FUNCTION,
                          "pkg.shell": SHELL, "pkg.imported": IMPORTED_ONLY, "pkg.audit": AUDIT})
    result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    assert modes["pkg/called.py"] == modes["pkg/shell.py"] == DEEP
    assert modes["pkg/audit.py"] == IMPORTED
    assert [(f.path, f.code) for f in result.active] == [("pkg/shell.py", "MCP301")]


LOWLEVEL = """
    from pkg.compat import Server, types
    from pkg.runner import execute

    server = Server("ops")

    async def handle(request):
        return execute(request.params.arguments["cmd"])

    server.request_handlers[types.CallToolRequest] = handle
"""
RUNNER = """
    import subprocess

    def execute(command):
        return subprocess.run(command, shell=True)
"""
MAIN = """
    import mcp
    from pkg import lowlevel, runner
"""


def test_an_imported_module_with_handlers_of_its_own_gets_its_callees_followed(tmp_path: Path, modes) -> None:
    """`lowlevel` looks like no MCP code (its SDK names come through a project module) but
    registers a handler: it is analysed in full, and `runner`, which it calls, again DEEP."""
    _project(tmp_path, **{"main": MAIN, "pkg.__init__": "", "pkg.compat": "", "pkg.lowlevel": LOWLEVEL,
                          "pkg.runner": RUNNER})
    result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    assert modes["pkg/lowlevel.py"] == IMPORTED and modes["pkg/runner.py"] == DEEP
    assert [(f.path, f.code) for f in result.active] == [("pkg/runner.py", "MCP301")]


def test_parallel_workers_take_work_found_on_the_way(tmp_path: Path, monkeypatch) -> None:
    _project(tmp_path, **{"pkg.__init__": "", "pkg.server": SERVER, "pkg.called": CALLED, "pkg.shell": SHELL,
                          "pkg.imported": IMPORTED_ONLY, "other": UNRELATED, "main": MAIN, "pkg.compat": "",
                          "pkg.lowlevel": LOWLEVEL, "pkg.runner": RUNNER})
    serial = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    parallel = engine.scan([tmp_path], Config(root=tmp_path), jobs=2)
    assert [(f.path, f.code, f.span, f.trace) for f in parallel.findings] == \
        [(f.path, f.code, f.span, f.trace) for f in serial.findings]
    assert {f.path for f in parallel.active} == {"pkg/shell.py", "pkg/runner.py"}


LOWLEVEL_SERVER = """
    from mcp.server.lowlevel import Server
    from pkg.tools import archive

    server = Server("files")

    @server.call_tool()
    async def call_tool(name: str, arguments: dict):
        if name == "archive":
            return await archive.handle_archive(arguments)
        raise ValueError(name)
"""
ARCHIVE_TOOL = """
    import subprocess

    from mcp.types import TextContent

    async def handle_archive(arguments: dict) -> list[TextContent]:
        out = subprocess.check_output(f"tar czf out.tgz {arguments['path']}", shell=True, text=True)
        return [TextContent(type="text", text=out)]
"""
UNUSED_TOOL = """
    import os

    from mcp.types import TextContent

    async def handle_wipe(arguments: dict) -> list[TextContent]:  # no handler dispatches here
        os.system("rm -rf " + arguments["folder"])
        return [TextContent(type="text", text="done")]
"""


def test_an_mcp_file_that_only_uses_the_sdk_types_is_analysed_as_a_project_module(tmp_path: Path, modes) -> None:
    """A tool's implementation module imports `mcp.types` for its result but builds no
    server: DEEP where a handler passes it tool input, IMPORTED where none does, like any
    project module (`sdk.MAY_SERVE`): code no handler reaches gets no summaries."""
    _project(tmp_path, **{"pkg.__init__": "", "pkg.server": LOWLEVEL_SERVER, "pkg.tools.__init__": "",
                          "pkg.tools.archive": ARCHIVE_TOOL, "pkg.tools.wipe": UNUSED_TOOL,
                          "main": "from pkg.tools import wipe\nimport mcp\n"})
    result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    assert modes["pkg/server.py"] == modes["pkg/tools/archive.py"] == DEEP
    assert modes["pkg/tools/wipe.py"] == modes["main.py"] == IMPORTED
    assert [(f.path, f.code, f.span.line) for f in result.active] == [("pkg/tools/archive.py", "MCP301", 7)]


LOGGING_SERVER = """
    from mcp.server.fastmcp import FastMCP
    from pkg import client, relay

    mcp = FastMCP("x")

    @mcp.tool()
    def forward(params: dict) -> str:
        return relay.send(params)

    @mcp.tool()
    def status() -> str:
        return client.ping()
"""
LOGS_PARAMS = """
    import logging

    log = logging.getLogger(__name__)

    def {name}(params=None):
        log.info("notification %s", params)
        return "ok"
"""


def test_a_module_no_tool_input_reaches_logs_params_that_are_not_a_tools(tmp_path: Path, modes) -> None:
    """MCP503's "every argument (`params`)": where a handler hands its arguments on, the
    module's `params` are the tool's; in a module the server only imports (an LSP
    client, a settings loader) they are something else."""
    _project(tmp_path, **{"pkg.__init__": "", "pkg.server": LOGGING_SERVER,
                          "pkg.relay": LOGS_PARAMS.format(name="send"), "pkg.client": LOGS_PARAMS.format(name="ping")})
    result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    assert modes["pkg/relay.py"] == DEEP and modes["pkg/client.py"] == IMPORTED
    assert [(f.path, f.code, f.span.line) for f in result.active if f.code == "MCP503"] == [("pkg/relay.py", "MCP503", 7)]


AUTH = """
    import jwt

    def claims(token):
        return jwt.decode(token, options={"verify_signature": False})
"""
CONSTANTS = """
    VERSION = "1.0"
    TIMEOUT = 30
"""
USES_BOTH = """
    from mcp.server.fastmcp import FastMCP
    from pkg import auth, constants

    mcp = FastMCP("x")
"""


def test_an_imported_module_is_parsed_only_if_a_rule_can_report_there(tmp_path: Path, modes, monkeypatch) -> None:
    parsed: list[str] = []
    real = engine._parse
    monkeypatch.setattr(engine, "_parse", lambda path, *args: parsed.append(path) or real(path, *args))
    _project(tmp_path, **{"pkg.__init__": "", "pkg.server": USES_BOTH, "pkg.auth": AUTH, "pkg.constants": CONSTANTS})
    result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    assert modes["pkg/auth.py"] == modes["pkg/constants.py"] == IMPORTED
    assert "pkg/auth.py" in parsed and "pkg/constants.py" not in parsed  # no rule reports in constants alone
    assert [(f.path, f.code) for f in result.active] == [("pkg/auth.py", "MCP103")]  # found as before


def test_declarations_are_checked(monkeypatch) -> None:
    """The tests run with MCPLINT_CHECK_DECLARATIONS=1: a rule that reports where its
    declaration says it cannot fails loudly."""
    from mcplint.registry import rule_by_code

    assert engine.CHECK_DECLARATIONS
    monkeypatch.setattr(rule_by_code()["MCP103"], "in_imported_modules", False)
    with pytest.raises(AssertionError, match="MCP103 made a finding in auth.py"):
        engine.analyse_file_bytes("auth.py", textwrap.dedent(AUTH).encode(), engine.select_rules(Config()), deep=True)


# Both hold the words MCP503's and MCP104's byte prefilters ask for (a log call and
# `params`; `==` and `key`); only the first has them where the rules look.
LOGS_AN_ALIAS = """
    import logging
    import os

    log = logging.getLogger(__name__)

    def connect():
        key = os.environ["SERVICE_API_KEY"]
        shown = key
        log.info("connecting with %s", shown)
"""
LOGS_NOTHING_SENSITIVE = """
    import logging

    logger = logging.getLogger(__name__)

    def fetch(client, params, page_token):  # the api key is set on the client
        logger.info("fetching %s after %s", client.base_url, page_token)  # a cursor, not a credential
        logger.debug("%d cache keys", len(client.cache_keys))
        return client.get("/items", params=params)

    def same(entry, cache_key):
        return entry.cache_key == cache_key and entry.status != "token_expired"
"""


def test_an_imported_module_is_parsed_only_if_a_rule_can_report_where_it_looks(tmp_path: Path, modes,
                                                                               monkeypatch) -> None:
    parsed: list[str] = []
    real = engine._parse
    monkeypatch.setattr(engine, "_parse", lambda path, *args: parsed.append(path) or real(path, *args))
    monkeypatch.setattr(engine, "CHECK_DECLARATIONS", False)  # which runs every rule the bytes let through
    server = USES_BOTH.replace("auth, constants", "logs, quiet")
    _project(tmp_path, **{"pkg.__init__": "", "pkg.server": server, "pkg.logs": LOGS_AN_ALIAS,
                          "pkg.quiet": LOGS_NOTHING_SENSITIVE})
    result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    assert modes["pkg/logs.py"] == modes["pkg/quiet.py"] == IMPORTED
    assert "pkg/logs.py" in parsed and "pkg/quiet.py" not in parsed
    assert [(f.path, f.code, f.span.line) for f in result.active] == [("pkg/logs.py", "MCP503", 10)]


def test_imported_if_is_checked(monkeypatch) -> None:
    """A rule that reports in an imported module where its `imported_if` says it cannot
    fails the tests (which keep the rule running there to see)."""
    from mcplint.registry import rule_by_code

    monkeypatch.setattr(rule_by_code()["MCP503"], "imported_if", staticmethod(lambda outline: False))
    with pytest.raises(AssertionError, match="MCP503 made a finding in logs.py.*`imported_if` \\(<lambda>\\)"):
        engine.analyse_file_bytes("logs.py", textwrap.dedent(LOGS_AN_ALIAS).encode(), engine.select_rules(Config()),
                                  deep=True, called=False)


def test_only_imported_modules_get_the_second_test(tmp_path: Path, modes, monkeypatch) -> None:
    """`imported_if` costs a parse with CPython: a file that no MCP code imports (PLAIN)
    gets no MCP rule, so it must not pay for deciding which ones (on the standard
    library, asking anyway made the cold scan half as slow again)."""
    asked: list[str] = []
    real = engine._imported_rules
    monkeypatch.setattr(engine, "_imported_rules", lambda rules, path, data: asked.append(path) or real(rules, path, data))
    server = USES_BOTH.replace("auth, constants", "logs, quiet")
    _project(tmp_path, **{"pkg.__init__": "", "pkg.server": server, "pkg.logs": LOGS_AN_ALIAS,
                          "pkg.quiet": LOGS_NOTHING_SENSITIVE, "tools.unrelated": LOGS_AN_ALIAS})
    result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    assert modes["tools/unrelated.py"] == PLAIN and modes["pkg/logs.py"] == modes["pkg/quiet.py"] == IMPORTED
    assert sorted(asked) == ["pkg/logs.py", "pkg/quiet.py"]
    assert [(f.path, f.code) for f in result.active] == [("pkg/logs.py", "MCP503")]  # no MCP rule in tools/



def test_libcst_is_imported_wherever_a_file_is_parsed() -> None:
    """The scan imports libcst and the Python rules' classes only if `_parses` says a file
    of the per-file phase may be parsed; a file it rules out must be analysed from the
    rules' `RuleInfo`s alone."""
    rules = engine.select_rules(Config())
    assert rules and not any(isinstance(r, type) for r in rules)
    corpus = [p for folder in (Path(__file__).parent.parent / "fixtures", Path(engine.__file__).parent)
              for p in folder.rglob("*.py") if "__pycache__" not in p.parts]
    ruled_out = 0
    for path in corpus:
        display, data = path.as_posix(), path.read_bytes()
        assert engine._parses(display, data, DEEP, "python", rules)
        parses = engine._parses(display, data, PLAIN, "python", rules)
        result = engine.analyse_file_bytes(display, data, rules, in_scan=True)
        assert parses or not result.parsed, display
        ruled_out += not parses
    assert len(corpus) > 100 and ruled_out > 20
