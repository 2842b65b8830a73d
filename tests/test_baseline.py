"""`mcplint baseline write` and `scan --baseline FILE`: known findings left out by
fingerprint and count (never line numbers), stale entries noted, bad files exit 2."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from mcplint import baseline
from mcplint.cli import app

runner = CliRunner()

SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"

HEADER = textwrap.dedent(
    """\
    import os
    import subprocess
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("ops")
    """
)
CLEAN = textwrap.dedent(
    """

    @mcp.tool()
    def clean(path: str) -> str:
        return os.popen("du -sh " + path).read()
    """
)
RESTART = textwrap.dedent(
    """

    @mcp.tool()
    def restart(service: str) -> str:
        return str(os.system("systemctl restart " + service))
    """
)
SAFE = textwrap.dedent(
    """

    @mcp.tool()
    def uptime() -> str:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout
    """
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    (tmp_path / "server.py").write_text(HEADER + CLEAN + RESTART + SAFE)
    return tmp_path


def mcplint(*args: str):
    return runner.invoke(app, list(args))


def scan(*args: str):
    return mcplint("scan", "--isolated", "--color", "never", *args)


def write_baseline(*args: str) -> dict:
    result = mcplint("baseline", "write", "--isolated", *args)
    assert result.exit_code == 0, result.output
    return json.loads(Path(".mcplint-baseline.json").read_text(encoding="utf-8"))


def test_write_records_fingerprints_counts_and_readable_context(project: Path) -> None:
    result = mcplint("baseline", "write", "--isolated")
    assert result.exit_code == 0, result.output  # writing a baseline is not a failure
    assert "wrote 2 findings to .mcplint-baseline.json" in result.stderr
    doc = json.loads((project / ".mcplint-baseline.json").read_text(encoding="utf-8"))
    assert list(doc) == ["tool", "version", "findings"]
    assert doc["tool"] == "mcplint" and doc["version"] == baseline.FORMAT_VERSION
    assert sorted(item["handler"] for item in doc["findings"]) == ["tool `clean`", "tool `restart`"]
    for item in doc["findings"]:
        assert list(item) == ["fingerprint", "count", "code", "path", "handler", "message"]
        assert item["code"] == "MCP301" and item["path"] == "server.py" and item["count"] == 1
        assert ":" not in item["fingerprint"]
    assert "line" not in (project / ".mcplint-baseline.json").read_text(encoding="utf-8")


def test_write_is_stable_and_sorted(project: Path) -> None:
    mcplint("baseline", "write", "--isolated")
    first = (project / ".mcplint-baseline.json").read_bytes()
    mcplint("baseline", "write", "--isolated")
    assert (project / ".mcplint-baseline.json").read_bytes() == first
    findings = json.loads(first)["findings"]
    assert findings == sorted(findings, key=lambda e: (e["path"], e["code"], e["fingerprint"]))


def test_output_option_and_select(project: Path) -> None:
    result = mcplint("baseline", "write", "--isolated", "--select", "MCP5", "-o", "ci/base.json")
    assert result.exit_code == 0, result.output
    assert json.loads((project / "ci" / "base.json").read_text())["findings"] == []


def test_baselined_findings_are_not_reported_and_exit_0(project: Path) -> None:
    write_baseline()
    result = scan("--baseline", ".mcplint-baseline.json")
    assert result.exit_code == 0, result.output
    assert "tool-shell-injection" not in result.stdout and "os.popen" not in result.stdout
    assert "No findings" in result.stdout and "2 in the baseline" in result.stdout
    # a baseline hides known debt from CI; the scorecard still shows it
    assert any(line.startswith("MCP-C04") and "fail" in line for line in result.stdout.splitlines())


def test_line_moves_do_not_make_old_findings_new(project: Path) -> None:
    write_baseline()
    server = project / "server.py"
    server.write_text("# a new comment\n\n\n" + HEADER + SAFE + RESTART.replace("restart", "restart ") + CLEAN)
    result = scan("--baseline", ".mcplint-baseline.json", "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_a_new_finding_is_reported(project: Path) -> None:
    write_baseline()
    extra = CLEAN.replace("def clean(path", "def purge(path").replace('"du -sh "', '"rm -rf "')
    (project / "server.py").write_text(HEADER + CLEAN + RESTART + SAFE + extra)
    result = scan("--baseline", ".mcplint-baseline.json", "-q")
    assert result.exit_code == 1, result.output
    assert result.stdout.count("MCP301") == 1 and "tool `purge`" in result.stdout


def test_a_second_copy_of_an_old_problem_is_new_and_the_later_one_is_reported() -> None:
    from mcplint.finding import Finding, Span, assign_fingerprints
    from mcplint.registry import rule_by_code

    meta = rule_by_code()["MCP301"].meta

    def finding(line: int) -> Finding:
        return Finding(meta, "server.py", Span(line, 5), "tool `x` reaches os.system", meta.severity,
                       meta.confidence, snippet="os.system(cmd)", handler="tool `x`")

    old = [finding(10)]
    assign_fingerprints(old)
    known = {e.fingerprint: e for e in baseline.entries(old)}
    assert [e.count for e in known.values()] == [1]
    now = [finding(10), finding(20)]
    assign_fingerprints(now)
    assert now[0].fingerprint.split(":")[0] == now[1].fingerprint.split(":")[0]

    from mcplint.config import Config
    from mcplint.engine import ScanResult

    result = ScanResult(findings=now, files=1, parsed=1, servers=1, handlers=1, rules=[], config=Config(), seconds=0)
    compared = baseline.compare(result, known, kind="file", source="b.json", scope={"server.py"})
    assert [f.span.line for f in compared.findings] == [20]
    assert compared.baseline.matched == 1 and compared.baseline.stale == []
    assert [f.span.line for f in compared.baseline.known] == [10]


def test_duplicated_statement_in_a_file_counts(project: Path) -> None:
    (project / "server.py").write_text(HEADER + CLEAN)
    write_baseline()
    # the same tool pasted again (same handler name, same statement): one old, one new
    (project / "server.py").write_text(HEADER + CLEAN + CLEAN.replace("def clean(", "def clean("))
    result = scan("--baseline", ".mcplint-baseline.json", "-q", "--select", "MCP301")
    assert result.exit_code == 1, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"server.py:{len((HEADER + CLEAN + CLEAN).splitlines())}:")


def test_stale_entries_are_noted_not_failures(project: Path) -> None:
    write_baseline()
    (project / "server.py").write_text(HEADER + CLEAN + SAFE)  # `restart` fixed
    result = scan("--baseline", ".mcplint-baseline.json")
    assert result.exit_code == 0, result.output
    assert "1 baseline finding in 1 file no longer found" in result.stderr
    assert "mcplint baseline write" in result.stderr
    doc = json.loads(scan("--baseline", ".mcplint-baseline.json", "-f", "json").stdout)
    assert doc["summary"]["baseline"] == {"kind": "file", "source": ".mcplint-baseline.json", "matched": 1, "stale": 1}
    assert doc["findings"] == []


def test_entries_for_files_not_scanned_are_not_stale(project: Path) -> None:
    (project / "other.py").write_text(HEADER + RESTART)
    write_baseline()
    result = scan("server.py", "--baseline", ".mcplint-baseline.json")
    assert result.exit_code == 0, result.output
    assert "no longer found" not in result.stderr


def test_suppressed_findings_are_neither_recorded_nor_matched(project: Path) -> None:
    suppressed = CLEAN.replace(".read()", ".read()  # mcplint: ignore[MCP301] -- path is checked upstream")
    (project / "server.py").write_text(HEADER + suppressed + RESTART)
    doc = write_baseline()
    assert [item["handler"] for item in doc["findings"]] == ["tool `restart`"]
    result = scan("--baseline", ".mcplint-baseline.json", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [f["suppressed"] for f in data["findings"]] == [True]
    assert data["summary"]["baseline"]["stale"] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "baseline file not found: missing.json"),
        ("{not json", "is not valid JSON"),
        ('{"tool": "bandit"}', 'expected an object with "tool": "mcplint"'),
        ('{"tool": "mcplint", "version": 1, "findings": [{"fingerprint": "zz"}]}', '"fingerprint" must be a hex string'),
        ('{"tool": "mcplint", "version": 1, "findings": [{"fingerprint": "ab", "count": 0}]}', '"count" must be a positive'),
        ('{"tool": "mcplint", "version": 99, "findings": []}', "upgrade mcplint"),
    ],
)
def test_missing_or_invalid_baseline_is_a_usage_error(project: Path, content: str | None, message: str) -> None:
    if content is not None:
        (project / "missing.json").write_text(content)
    result = scan("--baseline", "missing.json")
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.startswith("mcplint: error: ") and result.stderr.count("\n") == 1


def test_baseline_and_diff_together_are_a_usage_error(project: Path) -> None:
    write_baseline()
    result = scan("--baseline", ".mcplint-baseline.json", "--diff", "HEAD")
    assert result.exit_code == 2
    assert "--baseline and --diff cannot be used together" in result.stderr


def test_fail_on_and_exit_zero_still_apply(project: Path) -> None:
    (project / "server.py").write_text(HEADER + CLEAN)
    write_baseline()
    (project / "server.py").write_text(HEADER + CLEAN + RESTART)
    assert scan("--baseline", ".mcplint-baseline.json", "--exit-zero").exit_code == 0
    assert scan("--baseline", ".mcplint-baseline.json", "--fail-on", "critical").exit_code == 1


def test_sarif_keeps_only_new_results_marked_new_and_valid(project: Path) -> None:
    (project / "server.py").write_text(HEADER + CLEAN)
    write_baseline()
    (project / "server.py").write_text(HEADER + CLEAN + RESTART)
    result = scan("--baseline", ".mcplint-baseline.json", "-f", "sarif")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    validator = jsonschema.Draft4Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert not list(validator.iter_errors(doc))
    run = doc["runs"][0]
    assert [r["properties"]["handler"] for r in run["results"]] == ["tool `restart`"]
    assert [r["baselineState"] for r in run["results"]] == ["new"]
    assert run["properties"]["mcplint/baseline"] == {"kind": "file", "source": ".mcplint-baseline.json",
                                                     "matched": 1, "stale": 0}


def test_sarif_without_baseline_has_no_baseline_state(project: Path) -> None:
    doc = json.loads(scan("-f", "sarif").stdout)
    assert all("baselineState" not in r for r in doc["runs"][0]["results"])
    assert "properties" not in doc["runs"][0]


def test_github_annotations_only_for_new_findings(project: Path) -> None:
    (project / "server.py").write_text(HEADER + CLEAN)
    write_baseline()
    (project / "server.py").write_text(HEADER + CLEAN + RESTART)
    result = scan("--baseline", ".mcplint-baseline.json", "-f", "github")
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and "systemctl" not in lines[0] and "os.system" in lines[0]


def test_json_without_baseline_keeps_its_summary_keys(project: Path) -> None:
    doc = json.loads(scan("-f", "json").stdout)
    assert "baseline" not in doc["summary"]


def test_parse_sums_repeated_hashes() -> None:
    doc = {"tool": "mcplint", "version": 1, "findings": [{"fingerprint": "ab", "count": 1}, {"fingerprint": "ab", "count": 2}]}
    assert baseline.parse(doc)["ab"].count == 3
