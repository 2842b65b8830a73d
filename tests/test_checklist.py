"""The scorecard: pass with evidence, fail with findings, unknown with what to check."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mcplint.checklist import FAIL, PASS, UNKNOWN, Transports, judge
from mcplint.cli import app
from mcplint.config import Config
from mcplint.engine import scan
from mcplint.finding import Evidence
from mcplint.registry import all_rules, rule_by_code
from tests.conftest import FIXTURES

RULES = [r for r in all_rules() if r.scope != "engine"]


def _rows(findings=(), evidence=(), handlers=3, transports=Transports()):
    return {row.item.id: row for row in judge(RULES, list(findings), list(evidence), handlers=handlers,
                                               transports=transports)}


def test_evidence_passes_an_item_and_is_cited() -> None:
    proof = Evidence("MCP-C07", "app/server.py", 14, "rate limiting middleware `RateLimitingMiddleware`", "MCP802")
    row = _rows(evidence=[proof])["MCP-C07"]
    assert row.status == PASS and row.evidence == [proof]
    assert row.detail == "rate limiting middleware `RateLimitingMiddleware` (app/server.py:14)"


def test_findings_fail_an_item_even_with_evidence(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text(
        "import subprocess\nfrom mcp.server.fastmcp import FastMCP\nmcp = FastMCP('x')\n\n"
        "@mcp.tool()\ndef run(cmd: str) -> str:\n    return subprocess.run(cmd, shell=True).stdout\n"
    )
    result = scan([tmp_path], Config(root=tmp_path))
    proof = Evidence("MCP-C04", "server.py", 1, "made up", "MCP301")
    row = {r.item.id: r for r in judge(result.rules, result.active, [proof], handlers=1, transports=Transports())}
    assert row["MCP-C04"].status == FAIL and [f.code for f in row["MCP-C04"].findings] == ["MCP301"]


def test_absence_judged_items_need_handlers_or_file_rules() -> None:
    without = _rows(handlers=0)
    assert without["MCP-C03"].status == UNKNOWN and "no MCP handlers" in without["MCP-C03"].detail
    assert without["MCP-C08"].status == PASS  # secrets rules read every file
    with_handlers = _rows(handlers=2)
    assert with_handlers["MCP-C03"].status == PASS and "2 handlers checked by MCP201" in with_handlers["MCP-C03"].detail


def test_network_items_pass_for_stdio_only_and_not_otherwise() -> None:
    where = Evidence("transport", "server.py", 30, "stdio")
    stdio = _rows(transports=Transports(("stdio",), (where,)))
    for item in ("MCP-C01", "MCP-C02", "MCP-C05", "MCP-C07", "MCP-C11"):
        assert stdio[item].status == PASS and "stdio only" in stdio[item].detail and "server.py:30" in stdio[item].detail
    mixed = _rows(transports=Transports(("stdio", "sse"), (where, where)))
    assert mixed["MCP-C05"].status != PASS or mixed["MCP-C05"].evidence
    none = _rows(transports=Transports())
    assert none["MCP-C01"].status == UNKNOWN


def test_unknown_says_what_to_check_by_hand() -> None:
    row = _rows()["MCP-C06"]
    if row.status == UNKNOWN:
        assert "check" in row.detail


def test_scan_records_transports_for_the_scorecard() -> None:
    result = scan([FIXTURES / "servers" / "lowlevel_v1.py"], Config(root=FIXTURES))
    kinds = {e.note for e in result.evidence if e.item == "transport"}
    assert kinds, "the low-level server's transport was not recorded"


def test_checklist_command_one_scorecard_per_server() -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["checklist", str(FIXTURES / "servers"), "--format", "json", "--isolated"])
    assert out.exit_code in (0, 1), out.output
    doc = json.loads(out.stdout)
    cards = doc["scorecards"]
    assert len(cards) >= 5 and len({c["server"] for c in cards}) == len(cards)
    for card in cards:
        assert [i["id"] for i in card["items"]] == [f"MCP-C{n:02d}" for n in range(1, 14)]
        for item in card["items"]:
            assert item["status"] in ("pass", "fail", "unknown")
            if item["status"] == "fail":
                assert item["findings"]
            if item["status"] == "pass" and item["id"] not in ("MCP-C03", "MCP-C04", "MCP-C08", "MCP-C13"):
                assert item["evidence"] or "stdio only" in item["detail"]
    stdio = [c for c in cards if c["transports"] and set(c["transports"]) == {"stdio"}]
    network = [c for c in cards if set(c["transports"]) & {"sse", "streamable-http", "http"}]
    assert stdio and network
    assert all(next(i for i in c["items"] if i["id"] == "MCP-C11")["status"] in ("pass", "fail") for c in stdio)
    assert any(next(i for i in c["items"] if i["id"] == "MCP-C01")["status"] == "fail" for c in network)


def test_findings_of_a_server_stay_on_its_card(tmp_path: Path) -> None:
    (tmp_path / "safe.py").write_text(
        "from mcp.server.fastmcp import FastMCP\nsafe = FastMCP('safe')\n\n@safe.tool()\ndef ping() -> str:\n"
        "    return 'pong'\n\nsafe.run()\n"
    )
    (tmp_path / "risky.py").write_text(
        "import subprocess\nfrom mcp.server.fastmcp import FastMCP\nrisky = FastMCP('risky')\n\n@risky.tool()\n"
        "def run(cmd: str) -> str:\n    return subprocess.run(cmd, shell=True).stdout\n\nrisky.run()\n"
    )
    out = CliRunner().invoke(app, ["checklist", str(tmp_path), "--format", "json", "--isolated"])
    assert out.exit_code == 1
    by_var = {c["title"].split("`")[1]: {i["id"]: i for i in c["items"]} for c in json.loads(out.stdout)["scorecards"]}
    assert by_var["risky"]["MCP-C04"]["status"] == "fail"
    assert by_var["safe"]["MCP-C04"]["status"] == "pass"


def test_markdown_is_inert(tmp_path: Path) -> None:
    folder = tmp_path / "a|b <img src=x> @team"
    folder.mkdir()
    (folder / "server.py").write_text(
        "from mcp.server.fastmcp import FastMCP\nmcp = FastMCP('x')\n\n@mcp.tool()\ndef ping() -> str:\n"
        "    return 'pong'\n\nmcp.run()\n"
    )
    out = CliRunner().invoke(app, ["checklist", str(tmp_path), "--format", "markdown", "--isolated"])
    assert out.exit_code == 0, out.output
    text = out.stdout
    import re

    assert not re.search(r"(?<!\\)<img", text) and "a|b" not in text and "@team" not in text
    assert text.count("| MCP-C") == 13


def test_every_item_has_a_rule_or_is_documented_as_pending() -> None:
    judged = {r.checklist for r in rule_by_code().values() if r.checklist}
    assert {"MCP-C01", "MCP-C03", "MCP-C04", "MCP-C08", "MCP-C11", "MCP-C13"} <= judged


def test_test_code_counts_for_no_server(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text(
        "from mcp.server.fastmcp import FastMCP\nmcp = FastMCP('x')\n\n@mcp.tool()\ndef ping() -> str:\n"
        "    return 'pong'\n\nmcp.run()\n"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_server.py").write_text(
        "GITHUB_TOKEN = 'ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8" + "'\n"
    )
    scan_doc = CliRunner().invoke(app, ["scan", str(tmp_path), "--format", "json", "--isolated", "--no-cache"])
    assert any(f["code"] == "MCP501" for f in json.loads(scan_doc.stdout)["findings"])  # still reported
    out = CliRunner().invoke(app, ["checklist", str(tmp_path), "--format", "json", "--isolated"])
    [card] = json.loads(out.stdout)["scorecards"]
    assert next(i for i in card["items"] if i["id"] == "MCP-C08")["status"] == "pass"
