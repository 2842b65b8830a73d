"""GitLab SAST report: valid against GitLab's own 15.0.6 schema, deterministic, no suppressed findings."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

import mcplint
from mcplint.cli import app
from mcplint.config import Config
from mcplint.engine import ScanResult, scan
from mcplint.finding import Span, TraceStep
from mcplint.report import FORMATS, gitlab
from tests.conftest import FIXTURES, REPO
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

SCHEMA = REPO / "tests" / "data" / "gitlab-sast-report-format-15.0.6.json"
NOW = datetime(2026, 3, 1, 12, 30, 45, tzinfo=timezone.utc)
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
runner = CliRunner()


@pytest.fixture(autouse=True)
def not_in_gitlab_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI_PROJECT_DIR", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def valid(validator: jsonschema.Draft7Validator, doc: dict) -> dict:
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:20])
    return doc


def render(result: ScanResult, root: Path, **kwargs) -> dict:
    return json.loads(gitlab.render(result, root=root, now=NOW, **kwargs))


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, ScanResult]:
    root = write_project(tmp_path / "project")
    return root, scan_project(root)


def vulns_at(doc: dict, code: str, line: int) -> list[dict]:
    return [
        v for v in doc["vulnerabilities"]
        if v["identifiers"][0]["value"] == code and v["location"]["start_line"] == line
    ]


def test_registered_as_gitlab_sast_format() -> None:
    assert FORMATS["gitlab-sast"] is gitlab.render
    assert "gitlab-sast" in FORMATS


def test_vendored_schema_is_the_version_we_claim() -> None:
    # unmodified, as tests/data/README.md says
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == (
        "b988df6412b8912416e9a500507e4d159d05d905eba277de6ab6ce1e560a2cda"
    )
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["self"]["version"] == gitlab.SCHEMA_VERSION
    assert f"/v{gitlab.SCHEMA_VERSION}/dist/sast-report-format.json" in gitlab.SCHEMA_URI
    assert "confidence" not in schema["properties"]["vulnerabilities"]["items"]["properties"]


def test_validator_rejects_what_gitlab_rejects(validator) -> None:
    good = {
        "version": "15.0.6",
        "scan": {
            "analyzer": {"id": "a", "name": "a", "version": "1", "vendor": {"name": "v"}},
            "scanner": {"id": "a", "name": "a", "version": "1", "vendor": {"name": "v"}},
            "type": "sast", "start_time": "2026-01-01T00:00:00", "end_time": "2026-01-01T00:00:01",
            "status": "success",
        },
        "vulnerabilities": [{"id": "x", "identifiers": [{"type": "t", "name": "n", "value": "v"}],
                             "location": {}, "severity": "High"}],
    }
    assert not list(validator.iter_errors(good))
    for path, bad in (
        (("vulnerabilities", 0, "severity"), "critical"),  # case matters
        (("vulnerabilities", 0, "identifiers"), []),
        (("scan", "end_time"), "2026-01-01T00:00:01.5Z"),
        (("scan", "type"), "dast"),
    ):
        doc = json.loads(json.dumps(good))
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = bad
        assert list(validator.iter_errors(doc)), path


def test_real_scan_is_schema_valid(validator, scanned) -> None:
    root, result = scanned
    doc = valid(validator, render(result, root))
    assert list(doc) == ["schema", "version", "scan", "vulnerabilities"]
    assert doc["version"] == gitlab.SCHEMA_VERSION
    scan_data = doc["scan"]
    assert scan_data["type"] == "sast" and scan_data["status"] == "success"
    for key in ("analyzer", "scanner"):
        assert scan_data[key]["id"] == "mcplint"
        assert scan_data[key]["version"] == mcplint.__version__
        assert scan_data[key]["vendor"] == {"name": "mcplint"}


def test_every_fixture_scan_is_schema_valid(validator) -> None:
    result = scan([FIXTURES / "rules"], Config(root=FIXTURES))
    doc = valid(validator, render(result, FIXTURES))
    assert len(doc["vulnerabilities"]) == len(result.active) > 100
    assert {v["severity"] for v in doc["vulnerabilities"]} >= {"Critical", "High", "Medium", "Low"}


def test_vulnerabilities_are_the_active_findings_only(scanned) -> None:
    root, result = scanned
    doc = render(result, root)
    live = [f for f in result.active if f.code not in gitlab.NOT_ANALYSED]
    assert len(doc["vulnerabilities"]) == len(live)
    suppressed_line = line_of(SERVER, "systemctl restart")
    assert any(f.suppressed and f.span.line == suppressed_line for f in result.findings)
    assert not vulns_at(doc, "MCP301", suppressed_line)
    assert all(v["location"]["file"] != BROKEN_PATH for v in doc["vulnerabilities"])


def test_unparsable_file_is_a_scan_message(scanned) -> None:
    root, result = scanned
    messages = render(result, root)["scan"]["messages"]
    assert len(messages) == 1
    assert messages[0]["level"] == "warn"
    assert messages[0]["value"].startswith(f"{BROKEN_PATH}:")


def test_mcp301_vulnerability(scanned) -> None:
    root, result = scanned
    doc = render(result, root)
    line = line_of(SERVER, "os.system(command)")
    [vuln] = vulns_at(doc, "MCP301", line)
    finding = next(f for f in result.active if f.code == "MCP301" and f.span.line == line)
    assert vuln["severity"] == "Critical"
    assert vuln["name"] == finding.rule.summary  # no finding-specific text in the name
    assert vuln["description"].startswith(finding.message)
    assert "tool `archive`" in vuln["description"] and finding.rule.why in vuln["description"]
    assert vuln["solution"] == finding.rule.fix
    assert vuln["location"] == {"file": SERVER_PATH, "start_line": line, "end_line": line}
    rule_id, cwe = vuln["identifiers"]
    assert rule_id == {
        "type": "mcplint_rule_id", "name": "mcplint MCP301 tool-shell-injection", "value": "MCP301",
        "url": finding.rule.help_uri,
    }
    assert cwe == {"type": "cwe", "name": "CWE-78", "value": "78", "url": "https://cwe.mitre.org/data/definitions/78.html"}
    assert "confidence" not in vuln
    details = vuln["details"]
    assert details["confidence"]["value"] == "high"
    assert details["checklist"]["value"].startswith("MCP-C04 ")
    assert details["handler"]["value"] == "tool `archive`"
    rows = details["flow"]["rows"]
    assert len(rows) == len(finding.trace) >= 2
    assert rows[0][1] == {"type": "file-location", "file_name": SERVER_PATH,
                          "line_start": line_of(SERVER, "def archive"), "line_end": line_of(SERVER, "def archive")}
    assert rows[-1][1]["line_start"] == line
    assert vuln["tracking"]["items"][0]["signatures"] == [{"algorithm": "hash", "value": finding.fingerprint}]


def test_ids_are_uuids_from_fingerprints(scanned) -> None:
    root, result = scanned
    doc = render(result, root)
    ids = [v["id"] for v in doc["vulnerabilities"]]
    assert len(set(ids)) == len(ids)
    assert all(str(uuid.UUID(i)) == i for i in ids)
    by_fingerprint = {f.fingerprint: f for f in result.active}
    for vuln in doc["vulnerabilities"]:
        fingerprint = vuln["details"]["fingerprint"]["value"]
        assert vuln["id"] == gitlab.vulnerability_id(by_fingerprint[fingerprint])


def test_ids_survive_lines_moving(tmp_path: Path) -> None:
    first = write_project(tmp_path / "a")
    second = write_project(tmp_path / "b")
    (second / SERVER_PATH).write_text("# a comment\n# and another\n" + SERVER, encoding="utf-8")
    old, new = render(scan_project(first), first), render(scan_project(second), second)
    assert {v["id"] for v in old["vulnerabilities"]} == {v["id"] for v in new["vulnerabilities"]}
    old_lines = {v["id"]: v["location"]["start_line"] for v in old["vulnerabilities"]}
    assert all(v["location"]["start_line"] == old_lines[v["id"]] + 2
               for v in new["vulnerabilities"] if v["location"]["file"] == SERVER_PATH)


def test_deterministic_except_times(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project")
    one = gitlab.render(scan_project(root), root=root, now=NOW)
    two = gitlab.render(scan_project(root), root=root, now=NOW)
    strip = re.compile(r'"start_time": "[^"]*"')
    assert strip.sub("", one) == strip.sub("", two)  # start = end - seconds, which varies


def test_times(scanned, monkeypatch: pytest.MonkeyPatch) -> None:
    root, result = scanned
    result.seconds = 75.4
    scan_data = render(result, root)["scan"]
    assert scan_data["end_time"] == "2026-03-01T12:30:45"
    assert scan_data["start_time"] == "2026-03-01T12:29:29"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    pinned = json.loads(gitlab.render(result, root=root))["scan"]
    assert pinned["end_time"] == "2023-11-14T22:13:20"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    live = json.loads(gitlab.render(result, root=root))["scan"]
    assert TIME_RE.match(live["start_time"]) and TIME_RE.match(live["end_time"])
    assert live["start_time"] <= live["end_time"]


def test_paths_relative_to_the_gitlab_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_project(tmp_path / "services" / "ops")
    result = scan_project(root)
    monkeypatch.setenv("CI_PROJECT_DIR", str(tmp_path))
    doc = render(result, root)
    files = {v["location"]["file"] for v in doc["vulnerabilities"]}
    assert files == {f"services/ops/{SERVER_PATH}"}
    assert doc["scan"]["messages"][0]["value"].startswith(f"services/ops/{BROKEN_PATH}:")


def test_own_diagnostics_are_info() -> None:
    unused = make_finding(code="MCP003", message="`# mcplint: ignore[MCP301]` suppresses nothing", span=Span(4, 20, 4, 45))
    result = make_result([unused, make_finding(severity=None)])
    doc = render(result, Path("/project"))
    assert sorted(v["severity"] for v in doc["vulnerabilities"]) == ["Critical", "Info"]
    info = next(v for v in doc["vulnerabilities"] if v["severity"] == "Info")
    assert info["identifiers"] == [info["identifiers"][0]] and info["identifiers"][0]["value"] == "MCP003"


def test_limits_and_surrogates(validator) -> None:
    long_message = "tool `x` parameter `y` " + "z" * 2_000_000
    finding = make_finding(path="bad\udcff.py", message=long_message,
                           trace=(TraceStep(Span(1), "parameter `y`"), TraceStep(Span(3, 5, 3, 20), "reaches the sink")))
    doc = valid(validator, render(make_result([finding]), Path("/project")))
    [vuln] = doc["vulnerabilities"]
    assert len(vuln["description"]) <= gitlab.MAX_DESCRIPTION and vuln["description"].endswith("…")
    assert vuln["location"]["file"] == "bad\ufffd.py"
    gitlab.render(make_result([finding]), root=Path("/project"), now=NOW).encode("utf-8")


def test_empty_scan(validator, tmp_path: Path) -> None:
    (tmp_path / "util.py").write_text("x = 1\n")
    result = scan([tmp_path], Config(root=tmp_path))
    doc = valid(validator, render(result, tmp_path))
    assert doc["vulnerabilities"] == [] and "messages" not in doc["scan"]


def test_cli_writes_report_and_keeps_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, validator) -> None:
    write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CI", raising=False)
    out = runner.invoke(app, ["scan", "--isolated", "--no-progress", "--format", "gitlab-sast", "."])
    assert out.exit_code == 1, out.output
    doc = valid(validator, json.loads(out.stdout))
    assert doc["vulnerabilities"]
    assert "Found" in out.stderr  # the summary line is decoration, on stderr
    target = tmp_path / "reports" / "gl-sast-report.json"
    out = runner.invoke(app, ["scan", "--isolated", "--no-progress", "-q", "-f", "gitlab-sast", "-o", str(target),
                              "--exit-zero", "."])
    assert out.exit_code == 0 and out.stdout == ""
    assert valid(validator, json.loads(target.read_text(encoding="utf-8")))["vulnerabilities"]


SECRETS = ("sk-proj-Q7xZp2LmN9vR4tY8wK3jH6fD1sA5gB0cTq", "hunter2-Correct-Horse-9")


def test_secrets_are_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "settings.py").write_text(
        f'OPENAI_API_KEY = "{SECRETS[0]}"\nDB_PASSWORD = "{SECRETS[1]}"\n'
    )
    (tmp_path / "server.py").write_text(SERVER)
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(app, ["scan", "--isolated", "--no-progress", "-f", "gitlab-sast", "."])
    assert out.exit_code == 1
    doc = json.loads(out.stdout)
    assert sum(v["identifiers"][0]["value"] == "MCP501" for v in doc["vulnerabilities"]) == 2
    for value in SECRETS:
        assert value not in out.stdout + out.stderr
