"""GitHub workflow-command annotations: one escaped line per active finding."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mcplint.engine import ScanResult
from mcplint.finding import Severity, Span
from mcplint.report import FORMATS, github
from tests.test_report_json import (
    BROKEN_PATH,
    SERVER,
    SERVER_PATH,
    line_of,
    make_finding,
    make_result,
    scan_project,
    write_project,
)

LINE_RE = re.compile(
    r"::(?P<command>error|warning|notice) "
    r"file=(?P<file>[^,:]*),line=(?P<line>\d+),endLine=(?P<end_line>\d+),col=(?P<col>\d+)"
    r"(?:,endColumn=(?P<end_col>\d+))?,title=(?P<title>[^,:]*)::(?P<message>[^\r\n]*)"
)


@pytest.fixture(autouse=True)
def not_on_a_runner(monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, ScanResult]:
    root = write_project(tmp_path / "project")
    return root, scan_project(root)


def parse(text: str) -> list[dict[str, str]]:
    assert text == "" or text.endswith("\n")
    lines = text.splitlines()
    parsed = [LINE_RE.fullmatch(line) for line in lines]
    assert all(parsed), [line for line, m in zip(lines, parsed) if not m]
    return [m.groupdict() for m in parsed]


def test_registered_as_github_format() -> None:
    assert FORMATS["github"] is github.render


def test_one_line_per_active_finding(scanned) -> None:
    root, result = scanned
    lines = parse(github.render(result, root=root))
    assert len(lines) == len(result.active)


def test_mcp301_annotation(scanned) -> None:
    root, result = scanned
    text = github.render(result, root=root)
    line = line_of(SERVER, "os.system(command)")
    expected = (
        f"::error file={SERVER_PATH},line={line},endLine={line},col=5,endColumn={5 + len('os.system(command)')},"
        "title=mcplint (MCP301) tool-shell-injection::"
        "tool `archive` parameter `name` reaches shell command `os.system`"
    )
    assert expected in text.splitlines()
    mcp301 = [a for a in parse(text) if "(MCP301)" in a["title"] and a["file"] == SERVER_PATH]
    assert {int(a["line"]) for a in mcp301} == {line, line_of(SERVER, "systemctl status")}  # not the suppressed one


def test_syntax_error_is_annotated(scanned) -> None:
    root, result = scanned
    [note] = [a for a in parse(github.render(result, root=root)) if a["file"] == BROKEN_PATH]
    assert note["command"] == "error" and note["title"] == "mcplint (MCP001) syntax-error"
    assert note["message"].startswith("cannot parse this file")


@pytest.mark.parametrize(
    ("severity", "command"),
    [(Severity.CRITICAL, "error"), (Severity.HIGH, "error"), (Severity.MEDIUM, "warning"), (Severity.LOW, "notice")],
)
def test_severity_to_command(severity: Severity, command: str) -> None:
    [annotation] = parse(github.render(make_result([make_finding(severity=severity)]), root=Path("/project")))
    assert annotation["command"] == command


def test_escaping_of_data_and_properties() -> None:
    finding = make_finding("odd, name:x %1/ü.py", message="100% sure\r\nsecond line: a, b")
    text = github.render(make_result([finding]), root=Path("/project"))
    assert text == (
        "::error file=odd%2C name%3Ax %251/ü.py,line=3,endLine=3,col=5,endColumn=20,"
        "title=mcplint (MCP301) tool-shell-injection::100%25 sure%0D%0Asecond line: a, b\n"
    )
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert github.escape_data("a:b,c%\r") == "a:b,c%25%0D"


def test_unknown_extent_has_no_end_column() -> None:
    finding = make_finding("y.py", code="MCP002", span=Span(1), message="not analysed: cannot read: Permission denied")
    text = github.render(make_result([finding]), root=Path("/project"))
    assert text == (
        "::error file=y.py,line=1,endLine=1,col=1,title=mcplint (MCP002) file-not-analysed::"
        "not analysed: cannot read: Permission denied\n"
    )


def test_multiline_span() -> None:
    [a] = parse(github.render(make_result([make_finding(span=Span(4, 9, 7, 2))]), root=Path("/project")))
    assert (a["line"], a["end_line"], a["col"], a["end_col"]) == ("4", "7", "9", "2")


def test_suppressed_and_empty() -> None:
    assert github.render(make_result([make_finding(suppressed=True)]), root=Path("/project")) == ""
    assert github.render(make_result([]), root=Path("/project")) == ""


def test_undecodable_path_still_encodes() -> None:
    text = github.render(make_result([make_finding("d\udcff/x.py")]), root=Path("/project"))
    text.encode("utf-8")
    assert "file=d\ufffd/x.py," in text


def test_paths_relative_to_the_checkout(tmp_path: Path, monkeypatch) -> None:
    workspace = tmp_path / "repo"
    root = workspace / "services" / "mcp"
    root.mkdir(parents=True)
    result = make_result([make_finding("src/server.py")])
    assert "file=services/mcp/src/server.py," in github.render(result, root=root, workspace=workspace)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    assert "file=services/mcp/src/server.py," in github.render(result, root=root)
    # a scan root outside the checkout keeps the scan-relative path
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path / "other"))
    assert "file=src/server.py," in github.render(result, root=root)


def test_deterministic(scanned) -> None:
    root, result = scanned
    assert github.render(result, root=root) == github.render(result, root=root)
