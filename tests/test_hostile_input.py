"""Hostile and odd input: the scan finishes, says what it did not analyse, and stays safe.

Every case puts one bad file (or folder, link, name) beside a normal vulnerable MCP
server and scans the folder through the CLI: the server's MCP301 must still be
reported, the exit code is 1 (findings), nothing prints a traceback, the SARIF log is
schema-valid with the unanalysed file as a tool execution notification (never a
result), and the bad input gets its own MCP001/MCP002 diagnostic with a clear reason.

Cases that can kill or hang the process run the CLI in a subprocess. An `xfail`
(strict) marks an engine change the lead has still to make: its reason says what.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import quote

import jsonschema
import pytest
from typer.testing import CliRunner

from mcplint import engine
from mcplint.cli import app
from mcplint.config import KEYS, Config
from tests.conftest import FIXTURES, REPO

runner = CliRunner()

SERVER = textwrap.dedent(
    """\
    import os
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("demo")


    @mcp.tool()
    def clean(path: str) -> str:
        return os.popen("du -sh " + path).read()
    """
)
MCP_HEAD = "from mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP('hostile')\n"
SCHEMA = REPO / "tests" / "data" / "sarif-schema-2.1.0.json"
DIAGNOSTICS = {"MCP001", "MCP002"}
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SEGFAULT = "engine: libcst's native parser overflows the C stack (SIGSEGV, no report at all)"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


# -- the cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    uri: str  # the SARIF artifact URI (the display path, percent-encoded)
    code: str  # a code or a prefix: "MCP00" accepts MCP001 or MCP002
    detail: str = ""  # a substring of the message
    line: Optional[int] = None


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], None]
    expect: Optional[Expect]  # None: the file needs no report (e.g. an empty file)
    pending: Optional[str] = None  # the engine change `expect` still needs (xfail)
    crashes: Optional[str] = None  # the scan itself does not finish today (xfail both tests)
    isolate: bool = False  # run the CLI in a subprocess: the case may crash or hang it
    patch: Optional[Callable[[pytest.MonkeyPatch, Path], None]] = None
    forbid: tuple[str, ...] = ()  # text that must not appear in any output


def _write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def build(project: Path) -> None:
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))

    return build


def _mcp(body: str) -> bytes:
    return (MCP_HEAD + body).encode("utf-8")


def _huge(project: Path) -> None:
    with open(project / "huge.py", "wb") as handle:  # sparse: no disk, no memory
        handle.write(MCP_HEAD.encode())
        handle.truncate(engine.MAX_FILE_BYTES + 1)


def _links(*pairs: tuple[str, str]) -> Callable[[Path], None]:
    def build(project: Path) -> None:
        for name, target in pairs:
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, project / name)

    return build


CANARY = "CANARY_OUTSIDE_THE_TREE_7f3a"


def _outside_link(project: Path) -> None:
    outside = project.parent / f"{project.name}-outside"
    outside.mkdir()
    # would be a syntax error whose line the console prints, if it were ever read
    (outside / "credentials.py").write_text(f"{MCP_HEAD}aws_secret = {CANARY} !!\n")
    os.symlink(outside / "credentials.py", project / "settings.py")


def _fifo(project: Path) -> None:
    os.mkfifo(project / "pipe.py")


def _locked_file(project: Path) -> None:
    (project / "locked.py").write_text(SERVER)
    if not IS_ROOT:
        (project / "locked.py").chmod(0)


def _patch_locked_file(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    """As root chmod does not stop reads: make opening that one file fail instead."""
    if not IS_ROOT:
        return
    import builtins
    import io

    real_open = io.open

    def guarded(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.path.basename(os.fspath(file)) == "locked.py":
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", guarded)
    monkeypatch.setattr(builtins, "open", guarded)
    real_path_open = Path.open  # Python 3.10's pathlib opens through its own reference to io.open

    def guarded_path_open(self, *args, **kwargs):
        if self.name == "locked.py":
            raise PermissionError(13, "Permission denied", str(self))
        return real_path_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded_path_open)


def _locked_folder(project: Path) -> None:
    (project / "private").mkdir()
    (project / "private" / "server.py").write_text(SERVER)
    if not IS_ROOT:
        (project / "private").chmod(0)


def _patch_locked_folder(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    if not IS_ROOT:
        return
    real_scandir = os.scandir

    def guarded(path="."):
        if os.path.basename(os.fspath(path)) == "private":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", guarded)


def _undecodable_name(project: Path) -> None:
    (project / os.fsdecode(b"caf\xe9.py")).write_text(SERVER)


def _patch_vanish(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    """gone.py is listed, then deleted before the engine reads it."""
    real = engine.discover

    def discover_then_delete(*args, **kwargs):
        files = real(*args, **kwargs)
        (project / "gone.py").unlink()
        return files

    monkeypatch.setattr(engine, "discover", discover_then_delete)


def _nested(open_: str, close: str, depth: int, inner: str = "1") -> bytes:
    return _mcp(f"x = {open_ * depth}{inner}{close * depth}\n")


CONCAT_PARTS = "\n".join(f'    "part {i} of a very long tool description "' for i in range(500))

CASES = [
    Case("syntax-error", _write("broken.py", _mcp("\n@mcp.tool()\ndef run(cmd: str)\n    return cmd\n")),
         Expect("broken.py", "MCP001", "expected ':'", line=6)),
    Case("python2", _write("legacy.py", _mcp('print "starting"\n')),
         Expect("legacy.py", "MCP001", "Missing parentheses", line=4)),
    Case("pep263-latin-1", _write("latin.py", b"# -*- coding: latin-1 -*-\n" + SERVER.replace(
        '"du -sh "', '"du -sh caf\xe9 "').encode("latin-1")),
         Expect("latin.py", "MCP301", "os.popen", line=10)),
    Case("pep263-unknown-codec", _write("klingon.py", b"# -*- coding: klingon -*-\n" + _mcp("")),
         Expect("klingon.py", "MCP002", "unknown encoding")),
    Case("invalid-utf-8", _write("cp1252.py", _mcp("title = 'caf\xe9'\n").replace(b"\xc3\xa9", b"\xe9")),
         Expect("cp1252.py", "MCP002", "cannot decode")),
    Case("utf-8-bom", _write("bom.py", b"\xef\xbb\xbf" + SERVER.encode()),
         Expect("bom.py", "MCP301", "os.popen", line=9)),
    Case("utf-16-undeclared", _write("utf16.py", SERVER.encode("utf-16")),
         Expect("utf16.py", "MCP002", "")),
    Case("utf-16-named", _write("utf16.py", SERVER.encode("utf-16")),
         Expect("utf16.py", "MCP002", "UTF-16")),
    Case("nul-bytes", _write("nul.py", _mcp("# a stray \x00 byte\n")),
         Expect("nul.py", "MCP002", "NUL")),
    Case("binary-named-py", _write("image.py", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 64),
         Expect("image.py", "MCP002", "binary")),
    Case("empty-files", lambda p: (_write("empty.py", b"")(p), _write("pkg/__init__.py", b"")(p)), None),
    Case("huge-file", _huge, Expect("huge.py", "MCP002", "too large")),
    Case("very-long-line", _write("long.py", SERVER.replace(
        "    return", "    banner = '" + "x" * 1_500_000 + "'\n    return")),
         Expect("long.py", "MCP301", "os.popen", line=10)),
    Case("deep-indentation", _write("indent.py", _mcp("".join(" " * i + "if x:\n" for i in range(101)) + " " * 101 + "pass\n")),
         Expect("indent.py", "MCP001", "indentation")),
    Case("5000-nested-parentheses", _write("parens.py", _nested("(", ")", 5000)),
         Expect("parens.py", "MCP00", "nested"), isolate=True),
    Case("5000-nested-lists", _write("lists.py", _nested("[", "]", 5000, "")),
         Expect("lists.py", "MCP00", "nested"), isolate=True),
    Case("100k-concatenated-literals", _write("concat.py", _mcp("x = " + " ".join(["'a'"] * 100_000) + "\n")),
         Expect("concat.py", "MCP002", ""), isolate=True),
    Case("valid-python-libcst-rejects", _write("annotated.py", _mcp("def f():\n    (counter): int = 0\n")),
         Expect("annotated.py", "MCP002", "")),
    Case("500-part-implicit-concatenation", _write("prompt.py", SERVER.replace(
        'mcp = FastMCP("demo")', f'mcp = FastMCP("demo")\n\nPROMPT = (\n{CONCAT_PARTS}\n)').replace(
        "    return", "    mcp_log = PROMPT\n    return")),
         Expect("prompt.py", "MCP301", "os.popen")),
    Case("directory-symlink-loop", _links(("sub/loop", ".."), ("sub/self", ".")), None),
    Case("file-symlink-loop", _links(("a.py", "b.py"), ("b.py", "a.py")),
         Expect("a.py", "MCP002", "symbolic links")),
    Case("dangling-symlink", _links(("dangling.py", "nowhere/missing.py")),
         Expect("dangling.py", "MCP002", "No such file")),
    Case("symlink-outside-the-root", _outside_link, Expect("settings.py", "MCP002", "outside"), forbid=(CANARY,)),
    Case("fifo-named-py", _fifo, Expect("pipe.py", "MCP002", "FIFO"), isolate=True),
    Case("unreadable-file", _locked_file, Expect("locked.py", "MCP002", "Permission denied"),
         patch=_patch_locked_file),
    Case("unreadable-folder", _locked_folder, Expect("private", "MCP002", "Permission denied"),
         patch=_patch_locked_folder),
    Case("spaces-and-non-ascii-names", _write("dir with space/sérveur é.py", SERVER),
         Expect(quote("dir with space/sérveur é.py"), "MCP301", "os.popen", line=9)),
    Case("undecodable-file-name", _undecodable_name, Expect("caf%E9.py", "MCP301", "os.popen", line=9)),
    Case("deleted-during-scan", _write("gone.py", SERVER), Expect("gone.py", "MCP002", "No such file"),
         patch=_patch_vanish),
]


# -- running the CLI --------------------------------------------------------------------


@dataclass
class Outcome:
    exit_code: int
    console: str  # the console report (stderr when the SARIF goes to a file)
    stdout: str
    sarif: Optional[dict]


def run_cli(project: Path, case: Case, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    out = project.parent / f"{project.name}.sarif"
    args = ["scan", "--color", "never", "--isolated", "--format", "sarif", "--output", str(out), "."]
    if case.isolate:
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        try:
            done = subprocess.run([sys.executable, "-m", "mcplint", *args], cwd=project, capture_output=True,
                                  text=True, timeout=120, env=env)
        except subprocess.TimeoutExpired:
            return Outcome(-1, "timeout after 120 s", "", None)
        code, console, stdout = done.returncode, done.stderr, done.stdout
    else:
        monkeypatch.chdir(project)
        monkeypatch.delenv("CI", raising=False)
        if case.patch is not None:
            case.patch(monkeypatch, project)
        result = runner.invoke(app, args)
        monkeypatch.undo()
        code, console, stdout = result.exit_code, result.stderr, result.stdout
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            console += f"\nTraceback: {result.exception!r}"
    sarif = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else None
    return Outcome(code, console, stdout, sarif)


_OUTCOMES: dict[str, Outcome] = {}


@pytest.fixture
def outcome(request, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """One scan per case, shared by the tests that judge it."""
    case: Case = request.param
    if case.name not in _OUTCOMES:
        project = tmp_path_factory.mktemp(case.name.replace(" ", "-"))
        (project / "server.py").write_text(SERVER)
        case.build(project)
        try:
            _OUTCOMES[case.name] = run_cli(project, case, monkeypatch)
        finally:
            for folder, dirs, _ in os.walk(project):  # let pytest clean up chmod-000 folders
                for name in dirs:
                    path = Path(folder, name)
                    if not path.is_symlink():
                        path.chmod(stat.S_IRWXU)
    return _OUTCOMES[case.name]


def _case_params(kind: str):
    out = []
    for case in CASES:
        marks = []
        if case.crashes:
            marks.append(pytest.mark.xfail(reason=case.crashes, strict=True))
        elif kind == "reported" and case.pending:
            marks.append(pytest.mark.xfail(reason=case.pending, strict=True))
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


def _sarif_results(sarif: dict) -> list[dict]:
    return sarif["runs"][0].get("results", [])


def _notifications(sarif: dict) -> list[dict]:
    return [n for inv in sarif["runs"][0].get("invocations", []) for n in inv.get("toolExecutionNotifications", [])]


def _uri(item: dict) -> str:
    return item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]


@pytest.mark.parametrize("outcome", _case_params("completes"), indirect=True)
def test_scan_completes_and_reports_the_rest(outcome: Outcome, validator) -> None:
    assert "Traceback" not in outcome.console + outcome.stdout, outcome.console[-3000:]
    assert "internal error" not in outcome.console
    assert outcome.exit_code == 1, (outcome.exit_code, outcome.console[-3000:])
    assert outcome.sarif is not None, "no SARIF written"
    errors = sorted(validator.iter_errors(outcome.sarif), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    results = _sarif_results(outcome.sarif)
    assert [r for r in results if r["ruleId"] == "MCP301" and _uri(r) == "server.py"], "the server's MCP301 is lost"
    assert not [r for r in results if r["ruleId"] in DIAGNOSTICS], "diagnostics are notifications, not results"
    for notification in _notifications(outcome.sarif):
        assert notification["descriptor"]["id"] in DIAGNOSTICS
        assert notification["message"]["text"].strip()
    assert "server.py" in outcome.console and "MCP301" in outcome.console


@pytest.mark.parametrize("outcome", _case_params("reported"), indirect=True)
def test_hostile_input_gets_a_clear_diagnostic(outcome: Outcome, request) -> None:
    case: Case = request.node.callspec.params["outcome"]
    assert outcome.sarif is not None, f"exit {outcome.exit_code}: {outcome.console[-2000:]}"
    for text in case.forbid:
        assert text not in outcome.console + outcome.stdout + json.dumps(outcome.sarif)
    mentioned = [
        item for item in _sarif_results(outcome.sarif) + _notifications(outcome.sarif)
        if _uri(item) != "server.py"
    ]
    if case.expect is None:
        assert not mentioned, mentioned
        return
    expect = case.expect
    hits = [
        item for item in mentioned
        if _uri(item) == expect.uri
        and (item.get("ruleId") or item.get("descriptor", {}).get("id", "")).startswith(expect.code)
        and expect.detail in item["message"]["text"]
    ]
    assert hits, f"expected {expect} in {[(_uri(i), i['message']['text']) for i in mentioned]}"
    if expect.line is not None:
        assert hits[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == expect.line
    assert expect.detail in outcome.console


# -- one pathological file must not stall the scan ---------------------------------------------


def _slow_project(tmp_path: Path) -> None:
    # libcst needs ~1 s per 2,500-term sum (superlinear); CPython accepts up to ~3,000
    (tmp_path / "slow.py").write_bytes(_mcp("".join(f"x{i} = " + " + ".join(["1"] * 2500) + "\n" for i in range(3))))
    (tmp_path / "server.py").write_text(SERVER)


def test_per_file_time_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_project(tmp_path)
    monkeypatch.setattr(engine, "MAX_FILE_SECONDS", 0.5, raising=False)
    result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    codes = {(f.path, f.code) for f in result.active}
    assert ("server.py", "MCP301") in codes
    assert any(f.path == "slow.py" and f.code == "MCP002" and "budget" in f.message for f in result.active)


def test_per_file_time_budget_stops_the_native_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_project(tmp_path)
    monkeypatch.setattr(engine, "MAX_FILE_SECONDS", 0.5, raising=False)
    started = time.perf_counter()
    engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    assert time.perf_counter() - started < 2.0


# -- never executes, never follows the project's config into commands, never networks ----------

EVIL_IMPORT = """\
import os, sys, pathlib
pathlib.Path({marker!r}).write_text("imported {name}")
os.system("touch {marker}.system")
{tail}
"""


def test_scanned_code_is_never_imported_or_run(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    marker = tmp_path / "MARKER"
    files = {
        "__init__.py": "os._exit(3)",
        "conftest.py": "sys.exit(4)",
        "setup.py": "raise SystemExit(5)",
        "sitecustomize.py": "os.kill(os.getpid(), 9)",
        "helpers.py": "def run(cmd):\n    return os.popen(cmd).read()",
    }
    for name, tail in files.items():
        (project / name).write_text(EVIL_IMPORT.format(marker=str(marker), name=name, tail=tail))
    (project / "server.py").write_text(
        EVIL_IMPORT.format(marker=str(marker), name="server.py", tail="")
        + SERVER
        + textwrap.dedent(
            f"""\
            from . import helpers
            import conftest


            @mcp.tool(description=__import__("os").system("touch {marker}.decorator"))
            def run(cmd: str = __import__("os")._exit(6)) -> str:
                class Evil:
                    x = open({str(marker)!r}, "w").write("class body")
                return helpers.run(cmd)


            if __name__ == "__main__":
                os._exit(7)
            """
        )
    )
    done = subprocess.run([sys.executable, "-m", "mcplint", "scan", "--isolated", "--color", "never", "-q", "."],
                          cwd=project, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"^server\.py:\d+:\d+: MCP301", done.stdout, re.MULTILINE), done.stdout
    assert not list(tmp_path.glob("MARKER*")), "scanned code ran"


@pytest.mark.parametrize(
    "table",
    [
        'command = "touch {marker}"',
        'plugins = ["evil_plugin"]',
        'pre-scan = "touch {marker}"',
        '[tool.mcplint.hooks]\nbefore = "touch {marker}"',
    ],
)
def test_project_config_cannot_run_commands(tmp_path: Path, table: str) -> None:
    marker = tmp_path / "MARKER"
    (tmp_path / "evil_plugin.py").write_text(f"open({str(marker)!r}, 'w')\n")
    (tmp_path / "pyproject.toml").write_text("[tool.mcplint]\n" + table.format(marker=marker) + "\n")
    (tmp_path / "server.py").write_text(SERVER)
    done = subprocess.run([sys.executable, "-m", "mcplint", "scan", "--color", "never", "."],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "unknown key" in done.stderr and "pyproject.toml" in done.stderr
    assert not marker.exists()


def test_config_keys_are_data_not_code() -> None:
    """No setting names a command, module or plugin to load: a scanned repo's config
    is read by whoever scans it, so it must never be able to run anything."""
    risky = re.compile(r"command|plugin|exec|hook|script|shell|import|module|entry|load|run|cmd", re.IGNORECASE)
    assert not [key for key in KEYS if risky.search(key)]


def test_scan_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def refuse(name: str):
        def blocked(*args, **kwargs):
            calls.append(f"{name}{args[1:2]}")
            raise OSError(f"network access during a scan: {name}")

        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    monkeypatch.setattr(socket.socket, "sendto", refuse("sendto"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    # the fixtures are full of URLs, SSRF and HTTP servers: none of it is fetched
    result = engine.scan([FIXTURES], Config(root=REPO), jobs=1)
    assert result.files > 10 and result.active
    from mcplint.report import FORMATS

    for render in FORMATS.values():
        render(result, root=REPO)
    assert calls == []


# -- what reaches the user's terminal and reports -----------------------------------------------

HOSTILE_TEXT = "\x1b]0;pwned\x07\x1b[2J\x1b[1A\u202e\u2066\x0b"
TERMINAL_SEQUENCES = ("\x1b]0;", "\x1b[2J", "\x1b[1A", "\x07", "\u202e", "\u2066", "\x0b")
SGR = re.compile(r"\x1b\[[0-9;]*m")


def _hostile_project(root: Path) -> None:
    (root / "server.py").write_text(
        SERVER.replace('"du -sh " + path', f'f"echo {HOSTILE_TEXT}{{path}}"')
        .replace(".read()", f".read()  # mcplint: ignore[MCP301] -- reviewed {HOSTILE_TEXT}")
        + f'\n\n@mcp.tool()\ndef other(path: str) -> str:\n    return os.popen(f"ls {HOSTILE_TEXT}{{path}}").read()\n',
        encoding="utf-8",
    )
    (root / f"evil{HOSTILE_TEXT[:9]}.py").write_text(SERVER, encoding="utf-8")


@pytest.mark.parametrize("color", ["never", "always"])
@pytest.mark.parametrize("verbose", [False, True])
def test_console_neutralises_control_characters_from_scanned_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, color: str, verbose: bool
) -> None:
    _hostile_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CI", raising=False)
    result = runner.invoke(app, ["scan", "--isolated", "--no-progress", "--color", color, "."] + (["-v"] if verbose else []))
    _assert_terminal_safe(result, color)


def _assert_terminal_safe(result, color: str) -> None:
    assert result.exit_code == 1, result.output
    text = result.stdout + result.stderr
    assert "MCP301" in text and "other" in text
    for sequence in TERMINAL_SEQUENCES:
        assert sequence not in text, f"raw {sequence!r} from the scanned file reached the terminal"
    assert "\x1b" not in SGR.sub("", text), "an escape sequence that mcplint did not emit"
    if color == "never":
        assert "\x1b" not in text
    assert "\\x1b" in text  # shown, escaped


@pytest.mark.parametrize("color", ["never", "always"])
def test_quiet_console_neutralises_control_characters_in_file_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, color: str
) -> None:
    _hostile_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CI", raising=False)
    result = runner.invoke(app, ["scan", "--isolated", "--no-progress", "--color", color, "-q", "."])
    _assert_terminal_safe(result, color)


SECRETS = {
    "OPENAI_API_KEY": "sk-proj-Q7xZp2LmN9vR4tY8wK3jH6fD1sA5gB0cTq",
    "DB_PASSWORD": "hunter2-Correct-Horse-9",
    "GITHUB_TOKEN": "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
}


def _secret_project(root: Path) -> None:
    body = "".join(f'{name} = "{value}"\n' for name, value in SECRETS.items())
    (root / "settings.py").write_text(body + 'DSN = "postgres://admin:S3cr3t-Pa55w0rd-X@db.internal/app"\n')
    (root / "server.py").write_text(SERVER)


SECRET_VALUES = (*SECRETS.values(), "S3cr3t-Pa55w0rd-X")


@pytest.mark.parametrize("output_format", ["json", "sarif", "github"])
def test_secrets_are_redacted_in_machine_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 output_format: str) -> None:
    _secret_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["scan", "--isolated", "--format", output_format, "."])
    assert result.exit_code == 1
    assert result.stdout.count("MCP501") >= len(SECRET_VALUES) - 1, result.stdout
    for value in SECRET_VALUES:
        assert value not in result.stdout + result.stderr


def test_secrets_are_redacted_in_console_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _secret_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["scan", "--isolated", "--color", "never", "-q", "."])
    assert result.stdout.count("MCP501") >= len(SECRET_VALUES) - 1
    for value in SECRET_VALUES:
        assert value not in result.stdout


def test_secrets_are_redacted_in_console_excerpts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _secret_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["scan", "--isolated", "--color", "never", "."])
    assert result.exit_code == 1
    for value in SECRET_VALUES:
        assert value not in result.stdout


def test_console_excerpt_is_the_flagged_line_after_a_form_feed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "server.py").write_text(SERVER.replace("\n\n\n@mcp.tool()", "\n\n\x0c\n@mcp.tool()"))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["scan", "--isolated", "--color", "never", "."])
    assert result.exit_code == 1
    excerpts = re.findall(r"^\s*(\d+) │ (.*)$", result.stdout, re.MULTILINE)
    assert excerpts, result.stdout
    number, text = excerpts[0]
    assert number == "9" and "os.popen" in text, excerpts


# -- discovery on its own (mcplint.files) ----------------------------------------------------------


def test_discover_lists_each_file_once_and_says_what_it_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mcplint.files import discover

    root = tmp_path / "project"
    root.mkdir()
    (root / "server.py").write_text(SERVER)
    _links(("sub/loop", ".."), ("sub/self", "."), ("a.py", "b.py"), ("b.py", "a.py"), ("dangling.py", "gone.py"),
           ("alias.py", "server.py"))(root)
    _outside_link(root)
    _locked_folder(root)
    _patch_locked_folder(monkeypatch, root)
    if hasattr(os, "mkfifo"):
        _fifo(root)
    skipped: list = []
    try:
        files = discover([root], Config(root=root), skipped)
    finally:
        (root / "private").chmod(stat.S_IRWXU)
    # the alias is the server under a second name: scanned once; broken links are handed on
    # under their own names (reading them fails and the engine says why)
    assert [f.display for f in files] == ["a.py", "b.py", "dangling.py", "server.py"]
    reasons = {s.display: (s.kind, s.reason) for s in skipped}
    assert reasons["settings.py"][0] == "outside-root" and "outside the scanned folder" in reasons["settings.py"][1]
    assert reasons["private"] == ("unreadable-folder", "cannot read folder: Permission denied")
    if hasattr(os, "mkfifo"):
        assert reasons["pipe.py"] == ("not-a-file", "not a regular file (FIFO); reading it could block")
    assert len(skipped) == 2 + hasattr(os, "mkfifo")


def test_discover_named_paths_never_raise_on_links(tmp_path: Path) -> None:
    from mcplint.files import discover

    _links(("a.py", "b.py"), ("b.py", "a.py"), ("dangling.py", "gone.py"))(tmp_path)
    skipped: list = []
    files = discover([tmp_path / "a.py", tmp_path / "dangling.py"], Config(root=tmp_path), skipped)
    assert [f.display for f in files] == ["a.py", "dangling.py"] and skipped == []
    if hasattr(os, "mkfifo"):
        _fifo(tmp_path)
        assert discover([tmp_path / "pipe.py"], Config(root=tmp_path), skipped) == []
        assert [s.kind for s in skipped] == ["not-a-file"]


def test_discover_an_explicit_link_outside_the_root_is_scanned(tmp_path: Path) -> None:
    """Only links found while walking are held to the tree: a path the user names is theirs."""
    from mcplint.files import discover

    root = tmp_path / "project"
    root.mkdir()
    _outside_link(root)
    files = discover([root / "settings.py"], Config(root=root))
    assert [f.display for f in files] == [(tmp_path / "project-outside" / "credentials.py").as_posix()]


def test_discover_walks_deep_trees_without_recursion(tmp_path: Path) -> None:
    from mcplint.files import discover

    folder = tmp_path
    for _ in range(600):
        folder = folder / "d"
    folder.mkdir(parents=True)
    (folder / "deep.py").write_text("x = 1\n")
    files = discover([tmp_path], Config(root=tmp_path))
    assert [f.display for f in files] == ["d/" * 600 + "deep.py"]


def test_discover_keeps_undecodable_names(tmp_path: Path) -> None:
    from mcplint.files import discover

    _undecodable_name(tmp_path)
    (files,) = discover([tmp_path], Config(root=tmp_path))
    assert files.display == os.fsdecode(b"caf\xe9.py") and files.path.read_text() == SERVER


def test_a_crash_in_native_code_costs_one_file_not_the_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that kills its worker (as a segfault in the native parser would) gets an
    MCP002 diagnostic; every other file is still analysed."""
    from mcplint import workers

    if not workers.available():
        pytest.skip("no forked workers on this platform")
    (tmp_path / "server.py").write_text(SERVER)
    (tmp_path / "crash.py").write_text(SERVER)
    real = engine.analyse_file_bytes

    def crashing(path, data, rules, **kwargs):
        if path == "crash.py":
            os.kill(os.getpid(), 11)  # SIGSEGV, in the worker only
        return real(path, data, rules, **kwargs)

    monkeypatch.setattr(engine, "analyse_file_bytes", crashing)
    result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    codes = {(f.path, f.code) for f in result.active}
    assert ("server.py", "MCP301") in codes
    [crash] = [f for f in result.active if f.path == "crash.py"]
    assert crash.code == "MCP002" and "crashed the analysis (signal 11)" in crash.message


def test_a_file_that_grows_after_stat_is_read_only_up_to_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    from types import SimpleNamespace

    from mcplint.files import SourceFile

    monkeypatch.setattr(engine, "MAX_FILE_BYTES", 1000)
    reads: list[int] = []

    class Growing:
        def stat(self):
            return SimpleNamespace(st_size=10)  # small when listed...

        def open(self, mode):
            stream = io.BytesIO(b"x" * 10_000_000)  # ...huge when read
            real_read = stream.read
            stream.read = lambda n=-1: reads.append(n) or real_read(n)
            return stream

    outcome = engine._read(SourceFile(Growing(), "grow.py"))
    assert reads == [1001]
    assert isinstance(outcome, engine.FileResult)
    assert outcome.findings[0].code == "MCP002" and "too large" in outcome.findings[0].message


def test_a_file_that_cannot_be_read_is_reported_once_with_its_reason(tmp_path: Path) -> None:
    _huge(tmp_path)
    result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    [finding] = [f for f in result.active if f.path == "huge.py"]
    assert finding.message == f"not analysed: file too large ({engine.MAX_FILE_BYTES + 1} bytes)"


@pytest.mark.parametrize("command", ["scan", "checklist", "inventory"])
def test_warnings_about_the_scanned_code_are_not_printed(tmp_path: Path, command: str) -> None:
    """Invalid escapes (`"\\d"` in a regex or docstring) make CPython warn while libcst
    evaluates the scanned code's strings; even with every warning turned on, the report
    is all a user sees."""
    (tmp_path / "server.py").write_text(textwrap.dedent(
        '''
        import re
        import subprocess
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("x")
        VERSION = re.compile("\\d+\\.\\d+")

        @mcp.tool()
        def version(cmd: str) -> str:
            """Runs "\\w+" tools."""
            return subprocess.check_output(cmd + " --version", shell=True, text=True)
        '''
    ))
    done = subprocess.run([sys.executable, "-m", "mcplint", command, "--isolated", "."] if command == "scan"
                          else [sys.executable, "-m", "mcplint", command, "."], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "default"})
    assert "invalid escape" not in done.stderr, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr
