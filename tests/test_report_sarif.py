"""SARIF: schema-valid (with format checks) and shaped the way GitHub code scanning reads it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from mcplint.docs import rule_markdown
import pytest

import mcplint
from mcplint.engine import ScanResult
from mcplint.finding import Confidence, RuleMeta, Severity, Span, TraceStep
from mcplint.registry import rule_by_code
from mcplint.report import FORMATS, sarif
from tests.conftest import REPO
from tests.test_report_json import (
    BROKEN_PATH,
    SERVER,
    line_of,
    make_finding,
    make_result,
    scan_project,
    write_project,
)

SCHEMA_CANDIDATES = (
    REPO / "tests" / "data" / "sarif-schema-2.1.0.json",
    REPO.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json",
)
ENCODED_SERVER = "sub%20dir/srv%20%C3%A9.py"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    path = next((p for p in SCHEMA_CANDIDATES if p.is_file()), None)
    assert path is not None, "the SARIF 2.1.0 schema is vendored in tests/data"
    schema = json.loads(path.read_text(encoding="utf-8"))
    checker = jsonschema.FormatChecker()
    # Without rfc3987 (or rfc3986-validator) uri-reference is silently not checked.
    assert "uri-reference" in checker.checkers, "install rfc3987 so uri-reference is checked"
    return jsonschema.Draft4Validator(schema, format_checker=checker)


def valid(validator: jsonschema.Draft4Validator, doc: dict) -> dict:
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    return doc


def render(result: ScanResult, root: Path = Path("/project")) -> dict:
    return json.loads(sarif.render(result, root=root))


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, ScanResult]:
    root = write_project(tmp_path / "project")
    return root, scan_project(root)


def the_run(doc: dict) -> dict:
    assert len(doc["runs"]) == 1
    return doc["runs"][0]


def mcp301_results(run: dict) -> list[dict]:
    return [
        r for r in run["results"]
        if r["ruleId"] == "MCP301" and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == ENCODED_SERVER
    ]


def test_registered_as_sarif_format() -> None:
    assert FORMATS["sarif"] is sarif.render


def test_format_checking_is_really_active(validator) -> None:
    bad = {
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "x"}},
            "results": [{
                "message": {"text": "m"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "no file associated with this alert"}}}],
            }],
        }],
    }
    assert any("uri-reference" in e.message for e in validator.iter_errors(bad))


def test_scan_output_is_valid(validator, scanned) -> None:
    root, result = scanned
    valid(validator, render(result, root))


def test_github_required_fields(validator, scanned) -> None:
    root, result = scanned
    doc = valid(validator, render(result, root))
    assert list(doc)[:3] == ["$schema", "version", "runs"]
    assert doc["$schema"] == sarif.SCHEMA_URI and doc["version"] == "2.1.0"
    run = the_run(doc)
    driver = run["tool"]["driver"]
    assert driver["name"] == "mcplint"
    assert driver["version"] == driver["semanticVersion"] == mcplint.__version__
    assert driver["informationUri"].startswith("https://")
    assert run["columnKind"] == "unicodeCodePoints"
    assert "automationDetails" not in run  # upload-sarif's `category` must be able to set it
    ids = [rule["id"] for rule in driver["rules"]]
    assert len(ids) == len(set(ids))
    for rule in driver["rules"]:
        for key in ("shortDescription", "fullDescription"):
            assert rule[key]["text"].strip() and len(rule[key]["text"]) <= 1024
        assert rule["help"]["text"].strip() and rule["help"]["markdown"].strip()
        assert rule["name"] and rule["helpUri"].startswith("https://")
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert run["results"], "the project has MCP301 findings"
    for res in run["results"]:
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        assert res["message"]["text"].strip()
        [location] = res["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not physical["artifactLocation"]["uri"].startswith("/")
        assert physical["region"]["startLine"] >= 1 and physical["region"]["startColumn"] >= 1
        assert res["partialFingerprints"]["mcplint/v1"]
        assert "suppressions" not in res


def test_rules_cover_every_rule_that_ran_in_order(scanned) -> None:
    root, result = scanned
    driver = the_run(render(result, root))["tool"]["driver"]
    ran = [r.code for r in result.rules]
    assert [r["id"] for r in driver["rules"]] == [c for c in ran if c not in sarif.NOT_ANALYSED]
    assert [n["id"] for n in driver["notifications"]] == [c for c in ran if c in sarif.NOT_ANALYSED]


def test_mcp301_rule_descriptor(scanned) -> None:
    root, result = scanned
    driver = the_run(render(result, root))["tool"]["driver"]
    [rule] = [r for r in driver["rules"] if r["id"] == "MCP301"]
    meta = rule_by_code()["MCP301"].meta
    assert rule["name"] == "tool-shell-injection"
    assert rule["shortDescription"]["text"] == meta.summary
    assert rule["fullDescription"]["text"].startswith(meta.summary)
    assert rule["help"]["text"] == meta.docs
    assert rule["help"]["markdown"] == rule_markdown(meta) and "### Use instead" in rule["help"]["markdown"]
    assert rule["helpUri"] == meta.help_uri
    assert rule["defaultConfiguration"] == {"level": "error"}
    assert rule["properties"] == {
        "tags": ["security", "external/cwe/cwe-78", "checklist/MCP-C04"],
        "precision": "high",
        "security-severity": "9.5",
    }


def test_mcp301_results(scanned) -> None:
    root, result = scanned
    run = the_run(render(result, root))
    results = mcp301_results(run)
    lines = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results)
    # the suppressed `systemctl restart` finding stays out
    assert lines == [line_of(SERVER, "os.system(command)"), line_of(SERVER, "systemctl status")]
    first = next(r for r in results if r["locations"][0]["physicalLocation"]["region"]["startLine"] == lines[0])
    assert first["level"] == "error"
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": lines[0], "startColumn": 5, "endLine": lines[0], "endColumn": 5 + len("os.system(command)"),
    }
    finding = next(f for f in result.active if f.code == "MCP301" and f.span.line == lines[0])
    assert first["partialFingerprints"] == {"mcplint/v1": finding.fingerprint}
    assert first["properties"] == {"severity": "critical", "confidence": "high", "handler": "tool `archive`"}


def test_trace_becomes_code_flow_and_related_locations(scanned) -> None:
    root, result = scanned
    run = the_run(render(result, root))
    sink_line = line_of(SERVER, "os.system(command)")
    [res] = [
        r for r in mcp301_results(run) if r["locations"][0]["physicalLocation"]["region"]["startLine"] == sink_line
    ]
    [flow] = res["codeFlows"]
    [thread] = flow["threadFlows"]
    steps = [step["location"] for step in thread["locations"]]
    assert steps[0]["physicalLocation"]["region"]["startLine"] == line_of(SERVER, "def archive")
    assert "name" in steps[0]["message"]["text"]
    assert steps[-1]["physicalLocation"]["region"]["startLine"] == sink_line
    assert all(s["physicalLocation"]["artifactLocation"]["uri"] == ENCODED_SERVER for s in steps)
    related = res["relatedLocations"]
    assert [r["id"] for r in related] == list(range(1, len(related) + 1))
    # the sink itself is the primary location, not a related one
    primary = res["locations"][0]["physicalLocation"]
    assert all(r["physicalLocation"] != primary for r in related)
    assert len(related) == len(steps) - 1


def test_unparsable_file_is_a_notification_not_a_result(validator, scanned) -> None:
    root, result = scanned
    run = the_run(valid(validator, render(result, root)))
    assert all(r["ruleId"] not in sarif.NOT_ANALYSED for r in run["results"])
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is True
    [note] = [n for n in invocation["toolExecutionNotifications"] if n["descriptor"]["id"] == "MCP001"]
    assert note["level"] == "error"
    assert BROKEN_PATH in note["message"]["text"]
    location = note["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": BROKEN_PATH, "uriBaseId": "%SRCROOT%"}
    assert location["region"]["startLine"] >= 1
    notifications = run["tool"]["driver"]["notifications"]
    assert notifications[note["descriptor"]["index"]]["id"] == "MCP001"


def test_deterministic(scanned, tmp_path: Path) -> None:
    root, result = scanned
    first = sarif.render(result, root=root)
    assert first == sarif.render(result, root=root)
    other_root = write_project(tmp_path / "elsewhere")
    assert sarif.render(scan_project(other_root), root=other_root) == first  # SARIF carries no timing
    assert str(root) not in first


def test_empty_scan(validator, tmp_path: Path) -> None:
    doc = valid(validator, render(scan_project(tmp_path), tmp_path))
    run = the_run(doc)
    assert run["results"] == []
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert run["tool"]["driver"]["rules"]


# -- crafted edge cases -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("a b/ü.py", "a%20b/%C3%BC.py"),
        ("src/100%.py", "src/100%25.py"),
        ("src/q?x#y.py", "src/q%3Fx%23y.py"),
        ("a:b.py", "a%3Ab.py"),  # not a scheme
        ("d\udcff/x.py", "d%FF/x.py"),  # an undecodable file-name byte, as it was on disk
        ("[x]/{y}.py", "%5Bx%5D/%7By%7D.py"),
    ],
)
def test_awkward_paths_are_valid_uri_references(validator, path: str, uri: str) -> None:
    doc = valid(validator, render(make_result([make_finding(path)])))
    location = the_run(doc)["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": uri, "uriBaseId": "%SRCROOT%"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/project/src/x.py", {"uri": "src/x.py", "uriBaseId": "%SRCROOT%"}),
        ("/elsewhere/my file.py", {"uri": "file:///elsewhere/my%20file.py"}),
        ("C:/work/x y.py", {"uri": "file:///C:/work/x%20y.py"}),
    ],
)
def test_absolute_paths(validator, path: str, expected: dict) -> None:
    doc = valid(validator, render(make_result([make_finding(path)]), Path("/project")))
    assert the_run(doc)["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] == expected


@pytest.mark.parametrize(
    ("severity", "level"),
    [(Severity.CRITICAL, "error"), (Severity.HIGH, "error"), (Severity.MEDIUM, "warning"), (Severity.LOW, "note")],
)
def test_result_level_follows_the_findings_severity(validator, severity: Severity, level: str) -> None:
    doc = valid(validator, render(make_result([make_finding(severity=severity)])))
    [res] = the_run(doc)["results"]
    assert res["level"] == level  # kept even when it equals sarif-om's default ("warning")


def test_security_severity_scores_are_strings() -> None:
    for severity, score in sarif.SECURITY_SEVERITY.items():
        assert isinstance(score, str)
        value = float(score)
        bands = {Severity.CRITICAL: (9.0, 10.0), Severity.HIGH: (7.0, 8.9),
                 Severity.MEDIUM: (4.0, 6.9), Severity.LOW: (0.1, 3.9)}
        low, high = bands[severity]
        assert low < value <= high if severity is Severity.CRITICAL else low <= value <= high


def test_suppressed_findings_stay_out(validator) -> None:
    result = make_result([make_finding("x.py", suppressed=True, justification="reviewed")])
    run = the_run(valid(validator, render(result)))
    assert run["results"] == []
    assert "reviewed" not in sarif.render(result, root=Path("/project"))


def test_file_not_readable_diagnostic(validator) -> None:
    unread = make_finding(
        "data/blob.py", code="MCP002", span=Span(1), message="not analysed: binary file (contains NUL bytes)"
    )
    run = the_run(valid(validator, render(make_result([unread]))))
    assert run["results"] == []
    [note] = run["invocations"][0]["toolExecutionNotifications"]
    assert note["descriptor"]["id"] == "MCP002"
    region = note["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 1, "startColumn": 1, "endLine": 1}  # unknown extent: no empty endColumn


def test_diagnostics_about_suppressions_are_non_security_results(validator) -> None:
    unused = make_finding(
        "x.py", code="MCP003", span=Span(4, 20), message="unused suppression: no `MCP301` finding on this line"
    )
    run = the_run(valid(validator, render(make_result([unused]))))
    [res] = run["results"]
    rule = run["tool"]["driver"]["rules"][res["ruleIndex"]]
    assert rule["id"] == "MCP003" and res["level"] == "note"
    assert "security-severity" not in rule["properties"]
    assert rule["properties"]["problem.severity"] == "recommendation"


def test_rule_from_another_engine_is_appended(validator) -> None:
    foreign = RuleMeta(
        code="B602", name="subprocess-popen-with-shell-equals-true", severity=Severity.HIGH,
        confidence=Confidence.MEDIUM, checklist="MCP-C04", cwe=78, summary="subprocess call with shell=True.",
        engine="bandit",
    )
    result = make_result([make_finding(rule=foreign), make_finding("y.py")])
    run = the_run(valid(validator, render(result)))
    rules = run["tool"]["driver"]["rules"]
    assert rules[-1]["id"] == "B602" and rules[-1]["properties"]["precision"] == "medium"
    assert rules[-1]["properties"]["security-severity"] == "8.0"
    assert rules[-1]["help"]["text"].strip()  # no docs: falls back to the summary
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]


def test_trace_into_another_file_and_multiline_messages(validator) -> None:
    trace = (
        TraceStep(Span(2, 9, 2, 12), "parameter `cmd`", "tools/entry.py"),
        TraceStep(Span(7, 5, 9, 2), "passed to `helper()`"),
        TraceStep(Span(3, 5, 3, 20), "reaches the sink"),
    )
    finding = make_finding("tools/run.py", trace=trace, message="first line\nsecond `line` \u00e9")
    run = the_run(valid(validator, render(make_result([finding]))))
    [res] = run["results"]
    steps = res["codeFlows"][0]["threadFlows"][0]["locations"]
    uris = [s["location"]["physicalLocation"]["artifactLocation"]["uri"] for s in steps]
    assert uris == ["tools/entry.py", "tools/run.py", "tools/run.py"]
    assert res["message"]["text"] == "first line\nsecond `line` \u00e9"
    assert res["relatedLocations"][1]["physicalLocation"]["region"] == {
        "startLine": 7, "startColumn": 5, "endLine": 9, "endColumn": 2,
    }


def test_serializer_drops_defaults_and_none_but_keeps_level() -> None:
    from sarif_om import Notification, ReportingConfiguration, Result

    assert sarif.to_sarif(ReportingConfiguration(level="warning")) == {"level": "warning"}
    assert sarif.to_sarif(Notification(message={"text": "m"})) == {"message": {"text": "m"}, "level": "warning"}
    data = sarif.to_sarif(Result(message={"text": "m"}, rule_index=0))
    assert data == {"message": {"text": "m"}, "level": "warning", "ruleIndex": 0}  # no kind/rank/-1


def test_every_crafted_case_together_is_valid(validator) -> None:
    findings = [
        make_finding("a b/ü.py", trace=(
            TraceStep(Span(1, 9, 1, 12), "parameter `cmd`"), TraceStep(Span(3, 5, 3, 20), "reaches the sink"),
        )),
        make_finding("x.py", suppressed=True),
        make_finding("x.py", code="MCP001", span=Span(2, 7), message="cannot parse this file: expected ':'"),
        make_finding("y.py", code="MCP002", span=Span(1), message="not analysed: cannot read: Permission denied"),
        make_finding("z.py", code="MCP004", span=Span(5, 3), message="invalid suppression: unknown rule `MCP999`"),
        make_finding("z.py", severity=Severity.LOW),
    ]
    result = make_result(findings)
    text = sarif.render(result, root=Path("/project"))
    assert text == sarif.render(result, root=Path("/project"))
    run = the_run(valid(validator, json.loads(text)))
    assert len(run["results"]) == 3
    assert len(run["invocations"][0]["toolExecutionNotifications"]) == 2
