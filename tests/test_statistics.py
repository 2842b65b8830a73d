"""`mcplint scan --statistics`: findings counted per rule, most frequent first."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcplint.cli import app
from mcplint.config import Config
from mcplint.engine import scan
from mcplint.finding import Span
from mcplint.registry import rule_by_code
from mcplint.report import statistics
from tests.conftest import FIXTURES
from tests.test_report_json import make_finding, make_result, scan_project, write_project

runner = CliRunner()
LINE_RE = re.compile(r"^ *(\d+)  (MCP\d{3})  (?:\[\*\] |    )?([a-z-]+) +(critical|high|medium|low)$")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CI", raising=False)
    return tmp_path


def parse(text: str) -> list[tuple[int, str, str, str]]:
    lines = text.splitlines()
    matches = [LINE_RE.match(line) for line in lines]
    assert all(matches), [line for line, m in zip(lines, matches) if not m]
    return [(int(m.group(1)), m.group(2), m.group(3), m.group(4)) for m in matches]


def test_counts_active_findings_per_rule(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    result = scan_project(root)
    rows = statistics.data(result)
    expected = Counter(f.code for f in result.active)
    assert {row["code"]: row["count"] for row in rows} == dict(expected)
    mcp301 = next(row for row in rows if row["code"] == "MCP301")
    assert mcp301["count"] == 2  # the suppressed third copy is not counted
    assert list(mcp301) == ["code", "name", "count", "severity", "fixable"]
    assert (mcp301["name"], mcp301["severity"], mcp301["fixable"]) == ("tool-shell-injection", "critical", False)


def test_sorted_by_count_then_code() -> None:
    result = scan([FIXTURES / "rules"], Config(root=FIXTURES))
    rows = statistics.data(result)
    keys = [(-row["count"], row["code"]) for row in rows]
    assert keys == sorted(keys) and len(rows) >= 10
    assert sum(row["count"] for row in rows) == len(result.active)


def test_text_is_aligned_lines() -> None:
    result = scan([FIXTURES / "rules"], Config(root=FIXTURES))
    text = statistics.render_text(result)
    parsed = parse(text)
    assert [(n, code) for n, code, _, _ in parsed] == [(r["count"], r["code"]) for r in statistics.data(result)]
    assert len({line.index(" MCP") for line in text.splitlines()}) == 1  # codes in one column


def test_fixable_marker() -> None:
    from mcplint.fix import Edit, Fix

    plain = make_finding()
    unsafe = make_finding(code="MCP203", span=Span(5))
    unsafe.fix = Fix("make it up", (Edit(Span(5, 1, 5, 4), "x"),), safe=False)
    safe_fix = Fix("remove `verify=False`", (Edit(Span(9, 1, 9, 4), ""),))
    fixable = [make_finding(code="MCP701" if "MCP701" in rule_by_code() else "MCP202", span=Span(line))
               for line in (9, 12)]
    fixable[0].fix = safe_fix  # one safe fix is enough for the marker
    result = make_result([plain, unsafe, *fixable])
    lines = statistics.render_text(result).splitlines()
    assert lines[0].split()[:3] == ["2", fixable[0].code, "[*]"]
    assert [line.split()[1] for line in lines[1:]] == ["MCP203", "MCP301"]
    assert all("[*]" not in line for line in lines[1:])
    assert [row["fixable"] for row in statistics.data(result)] == [True, False, False]
    assert parse("\n".join(lines))


def test_cli_text_replaces_the_report(project: Path) -> None:
    out = runner.invoke(app, ["scan", "--isolated", "--no-progress", "--statistics", "."])
    assert out.exit_code == 1, out.output
    parsed = parse(out.stdout)
    assert ("MCP301", 2) in {(code, n) for n, code, _, _ in parsed}
    assert "MCP security checklist" not in out.stdout and "flow:" not in out.stdout
    assert "Found" in out.stderr


def test_cli_json(project: Path) -> None:
    out = runner.invoke(app, ["scan", "--isolated", "--no-progress", "--statistics", "-f", "json", "--exit-zero", "."])
    assert out.exit_code == 0
    rows = json.loads(out.stdout)
    assert isinstance(rows, list) and rows
    assert {row["code"] for row in rows} >= {"MCP001", "MCP301"}


def test_cli_output_file_and_quiet(project: Path) -> None:
    target = project / "out" / "stats.txt"
    out = runner.invoke(app, ["scan", "--isolated", "--no-progress", "-q", "--statistics", "-o", str(target), "."])
    assert out.exit_code == 1 and out.stdout == "" and out.stderr == ""
    assert parse(target.read_text(encoding="utf-8"))


@pytest.mark.parametrize("output_format", ["sarif", "github", "gitlab-sast", "markdown"])
def test_cli_rejects_other_formats(project: Path, output_format: str) -> None:
    out = runner.invoke(app, ["scan", "--isolated", "--statistics", "-f", output_format, "."])
    assert out.exit_code == 2
    assert "--statistics" in out.stderr and output_format in out.stderr


def test_cli_no_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "util.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(app, ["scan", "--isolated", "--no-progress", "--statistics", "."])
    assert out.exit_code == 0 and out.stdout == ""
    out = runner.invoke(app, ["scan", "--isolated", "--no-progress", "--statistics", "-f", "json", "."])
    assert out.exit_code == 0 and json.loads(out.stdout) == []


def test_severity_is_the_worst_finding_of_the_rule() -> None:
    from mcplint.finding import Severity

    low = make_finding(code="MCP203", severity=Severity.MEDIUM, span=Span(3))
    high = make_finding(code="MCP203", severity=Severity.HIGH, span=Span(7))
    only_low = make_finding(code="MCP202", severity=Severity.LOW, span=Span(9))
    rows = statistics.data(make_result([low, high, only_low]))
    assert [(r["code"], r["count"], r["severity"]) for r in rows] == [("MCP203", 2, "high"), ("MCP202", 1, "low")]
