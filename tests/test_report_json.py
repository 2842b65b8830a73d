"""The JSON report: documented, versioned, deterministic; suppressed findings flagged."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

import mcplint
from mcplint.config import Config
from mcplint.engine import ScanResult, scan
from mcplint.finding import Confidence, Finding, RuleMeta, Severity, Span, TraceStep, assign_fingerprints
from mcplint.registry import rule_by_code
from mcplint.report import FORMATS, json_report
from tests.conftest import REPO

SERVER = '''\
import os
import subprocess

from mcp.server.fastmcp import FastMCP

mcp = FastMCP("ops")


@mcp.tool()
def archive(name: str) -> str:
    """Compress a folder."""
    command = "tar czf /tmp/out.tgz " + name
    os.system(command)
    return "done"


@mcp.tool()
def status(service: str) -> str:
    """Show a service's status."""
    return subprocess.run(f"systemctl status {service}", shell=True, capture_output=True, text=True).stdout


@mcp.tool()
def restart(service: str) -> str:
    """Restart a service."""
    subprocess.run(f"systemctl restart {service}", shell=True)  # mcplint: ignore[MCP301] names checked by the proxy
    return "ok"
'''

BROKEN = '''\
from mcp.server.fastmcp import FastMCP

mcp = FastMCP("broken")

@mcp.tool()
def run(cmd: str)
    return cmd
'''

SERVER_PATH = "sub dir/srv é.py"  # a space and non-ASCII on purpose
BROKEN_PATH = "broken.py"


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def write_project(root: Path) -> Path:
    (root / "sub dir").mkdir(parents=True, exist_ok=True)
    (root / SERVER_PATH).write_text(SERVER, encoding="utf-8")
    (root / BROKEN_PATH).write_text(BROKEN, encoding="utf-8")
    return root


def scan_project(root: Path) -> ScanResult:
    return scan([root], Config(root=root))


def mcp301(result: ScanResult, *, suppressed: bool | None = None) -> list[Finding]:
    return [
        f for f in result.findings
        if f.code == "MCP301" and f.path == SERVER_PATH and (suppressed is None or f.suppressed is suppressed)
    ]


def make_finding(
    path: str = "server.py",
    *,
    code: str = "MCP301",
    span: Span = Span(3, 5, 3, 20),
    message: str = "tool `run` parameter `cmd` reaches shell command `os.system`",
    severity: Severity | None = None,
    trace: tuple[TraceStep, ...] = (),
    suppressed: bool = False,
    justification: str | None = None,
    rule: RuleMeta | None = None,
) -> Finding:
    meta = rule or rule_by_code()[code].meta
    return Finding(
        rule=meta,
        path=path,
        span=span,
        message=message,
        severity=severity or meta.severity,
        confidence=meta.confidence,
        snippet="os.system(cmd)",
        handler="tool `run`" if meta.checklist else None,
        trace=trace,
        suppressed=suppressed,
        justification=justification,
    )


def make_result(findings: list[Finding], *, files: int = 1, servers: int = 1, handlers: int = 1) -> ScanResult:
    findings = sorted(findings, key=Finding.sort_key)
    assign_fingerprints(findings)
    rules = [rule for code, rule in sorted(rule_by_code().items())]
    return ScanResult(
        findings=findings,
        files=files,
        parsed=files,
        servers=servers,
        handlers=handlers,
        rules=rules,
        config=Config(root=Path("/project")),
        seconds=0.123456,
    )


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, ScanResult]:
    root = write_project(tmp_path / "project")
    return root, scan_project(root)


def render(result: ScanResult, root: Path = Path("/project")) -> dict:
    return json.loads(json_report.render(result, root=root))


def test_registered_as_json_format() -> None:
    assert FORMATS["json"] is json_report.render


def test_top_level_shape_and_key_order(scanned) -> None:
    root, result = scanned
    doc = render(result, root)
    assert list(doc) == ["schema_version", "tool", "summary", "findings", "checklist", "rules"]
    assert doc["schema_version"] == 1
    assert doc["tool"] == {"name": "mcplint", "version": mcplint.__version__}
    assert list(doc["summary"]) == ["files", "parsed", "servers", "handlers", "findings", "suppressed", "seconds"]
    assert list(doc["summary"]["findings"]) == ["total", "critical", "high", "medium", "low"]


def test_summary_counts(scanned) -> None:
    root, result = scanned
    summary = render(result, root)["summary"]
    assert summary["files"] == 2
    assert summary["parsed"] == 1  # the broken file does not parse
    assert summary["servers"] >= 1 and summary["handlers"] >= 3
    counts = summary["findings"]
    assert counts["total"] == len(result.active)
    assert counts["total"] == sum(counts[s] for s in ("critical", "high", "medium", "low"))
    assert counts["critical"] >= 2  # the two live MCP301 findings
    assert summary["suppressed"] == len(result.suppressed) >= 1
    assert isinstance(summary["seconds"], float) and summary["seconds"] == round(result.seconds, 2)


def test_mcp301_finding_fields(scanned) -> None:
    root, result = scanned
    doc = render(result, root)
    line = line_of(SERVER, "os.system(command)")
    [item] = [f for f in doc["findings"] if f["code"] == "MCP301" and f["line"] == line]
    assert list(item) == [
        "code", "name", "severity", "confidence", "checklist", "cwe", "path", "line", "column",
        "end_line", "end_column", "message", "handler", "trace", "fingerprint", "suppressed", "justification", "fix",
    ]
    assert item["name"] == "tool-shell-injection"
    assert (item["severity"], item["confidence"], item["checklist"], item["cwe"]) == ("critical", "high", "MCP-C04", 78)
    assert item["path"] == SERVER_PATH
    assert item["column"] == 5 and item["end_line"] == line and item["end_column"] == 5 + len("os.system(command)")
    assert item["handler"] == "tool `archive`"
    assert "`name`" in item["message"] and "os.system" in item["message"]
    assert re.fullmatch(r"[0-9a-f]{16}:\d+", item["fingerprint"])
    assert item["suppressed"] is False and item["justification"] is None
    trace = item["trace"]
    assert trace[0]["line"] == line_of(SERVER, "def archive") and "name" in trace[0]["note"]
    assert trace[-1]["line"] == line
    assert all(step["path"] == SERVER_PATH for step in trace)
    assert all(list(step) == ["path", "line", "column", "end_line", "end_column", "note"] for step in trace)


def test_suppressed_finding_is_included_and_flagged(scanned) -> None:
    root, result = scanned
    doc = render(result, root)
    line = line_of(SERVER, "systemctl restart")
    [item] = [f for f in doc["findings"] if f["code"] == "MCP301" and f["line"] == line]
    assert item["suppressed"] is True
    assert item["justification"] == "names checked by the proxy"
    live = [f for f in doc["findings"] if not f["suppressed"]]
    assert len(live) == doc["summary"]["findings"]["total"]


def test_syntax_error_diagnostic(scanned) -> None:
    root, result = scanned
    [item] = [f for f in render(result, root)["findings"] if f["path"] == BROKEN_PATH]
    assert item["code"] == "MCP001" and item["checklist"] is None and item["cwe"] is None
    assert item["severity"] == "high" and item["line"] >= 1 and item["column"] >= 1


def test_checklist_scorecard(scanned) -> None:
    root, result = scanned
    checklist = render(result, root)["checklist"]
    assert [c["id"] for c in checklist] == [f"MCP-C{n:02d}" for n in range(1, 14)]
    assert all(list(c) == ["id", "title", "status", "findings", "rules", "evidence", "detail"] for c in checklist)
    c04 = checklist[3]
    assert c04["status"] == "fail" and c04["findings"] >= 2 and "MCP301" in c04["rules"]
    assert {c["status"] for c in checklist} <= {"pass", "fail", "unknown"}


def test_rules_that_ran(scanned) -> None:
    root, result = scanned
    rules = render(result, root)["rules"]
    assert [r["code"] for r in rules] == [r.code for r in result.rules]
    [rule] = [r for r in rules if r["code"] == "MCP301"]
    assert rule == {
        "code": "MCP301",
        "name": "tool-shell-injection",
        "severity": "critical",
        "confidence": "high",
        "checklist": "MCP-C04",
        "cwe": 78,
        "summary": "A tool parameter reaches a command run through a shell.",
        "help_uri": rule_by_code()["MCP301"].meta.help_uri,
        "engine": "mcplint",
    }


def test_deterministic(scanned, tmp_path: Path) -> None:
    root, result = scanned
    first = json_report.render(result, root=root)
    assert first == json_report.render(result, root=root)
    # A second scan of a copy elsewhere differs at most in the timing.
    other_root = write_project(tmp_path / "elsewhere")
    again = scan_project(other_root)
    again.seconds = result.seconds
    assert json_report.render(again, root=other_root) == first
    assert str(root) not in first  # no absolute paths from this machine


def test_empty_scan(tmp_path: Path) -> None:
    result = scan_project(tmp_path)
    doc = render(result, tmp_path)
    assert doc["findings"] == []
    assert doc["summary"]["files"] == 0 and doc["summary"]["findings"]["total"] == 0
    assert all(c["status"] in ("unknown", "pass") for c in doc["checklist"])


def test_crafted_edge_cases_serialise() -> None:
    trace = (
        TraceStep(Span(1, 9, 1, 12), "parameter `cmd`"),
        TraceStep(Span(3, 5, 3, 20), "reaches the sink", "other/mod.py"),
    )
    weird = "d\udcff/ü, a:b %.py"  # an undecodable file-name byte, comma, colon, percent
    result = make_result([
        make_finding("a b/ü.py", trace=trace),
        make_finding(weird, message="line one\nline two"),
        make_finding("x.py", suppressed=True, justification="reviewed"),
        make_finding("x.py", code="MCP001", span=Span(2), message="cannot parse this file: expected ':'"),
    ])
    text = json_report.render(result, root=Path("/project"))
    text.encode("utf-8")  # no lone surrogates survive
    doc = json.loads(text)
    by_path = {f["path"]: f for f in doc["findings"] if not f["suppressed"]}
    assert by_path["a b/ü.py"]["trace"][1]["path"] == "other/mod.py"
    assert by_path["a b/ü.py"]["trace"][0]["path"] == "a b/ü.py"
    assert any(p.startswith("d\ufffd") for p in by_path)
    assert doc["summary"]["seconds"] == 0.12
    assert doc["summary"]["suppressed"] == 1
    assert doc["summary"]["findings"] == {"total": 3, "critical": 2, "high": 1, "medium": 0, "low": 0}


def test_justification_only_for_suppressed() -> None:
    finding = make_finding(justification="stale")
    assert json_report.finding_data(replace(finding, suppressed=False))["justification"] is None
    assert json_report.finding_data(replace(finding, suppressed=True))["justification"] == "stale"


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_every_field_is_documented(scanned) -> None:
    root, result = scanned
    doc = render(result, root)
    text = (REPO / "docs" / "json-format.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+)`", text))
    missing = sorted(_keys(doc) - documented)
    assert not missing, f"fields missing from docs/json-format.md: {missing}"
    assert "schema_version" in text and str(json_report.SCHEMA_VERSION) in text


def test_severity_and_confidence_values_are_documented() -> None:
    text = (REPO / "docs" / "json-format.md").read_text(encoding="utf-8")
    for value in [*(s.value for s in Severity), *(c.value for c in Confidence), "pass", "fail", "unknown"]:
        assert f'"{value}"' in text, value


def test_rule_named_only_by_a_finding_is_listed() -> None:
    foreign = RuleMeta(
        code="B602", name="subprocess-popen-with-shell-equals-true", severity=Severity.HIGH,
        confidence=Confidence.MEDIUM, checklist="MCP-C04", cwe=78, summary="subprocess call with shell=True.",
        engine="bandit",
    )
    doc = render(make_result([make_finding(rule=foreign)]))
    assert doc["rules"][-1]["code"] == "B602" and doc["rules"][-1]["engine"] == "bandit"
    assert doc["findings"][0]["code"] == "B602"


def test_a_fix_is_in_the_json(tmp_path: Path) -> None:
    from mcplint.config import Config
    from mcplint.engine import scan
    from mcplint.report.json_report import build

    (tmp_path / "server.py").write_text(
        "import yaml\nfrom mcp.server.fastmcp import FastMCP\nmcp = FastMCP('x')\n\n@mcp.tool()\n"
        "def parse(text: str) -> dict:\n    return yaml.load(text)\n"
    )
    doc = build(scan([tmp_path], Config(root=tmp_path)))
    [item] = [f for f in doc["findings"] if f["code"] == "MCP304"]
    fix = item["fix"]
    assert fix["safe"] is True and "safe_load" in fix["description"]
    [edit] = fix["edits"]
    line = "    return yaml.load(text)"
    assert edit["line"] == edit["end_line"] == 7
    fixed = line[: edit["column"] - 1] + edit["text"] + line[edit["end_column"] - 1:]
    assert fixed == "    return yaml.safe_load(text)"
