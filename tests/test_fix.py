"""Safe fixes: fixtures fix to their `.fixed` files, `mcplint fix` writes, previews,
re-scans and exits like `scan`, and SARIF offers the same edits as `fixes`.

Regenerate the `.fixed` files deliberately (after changing a fixture or a fix), then
read their diff: `python -m tests.test_fix`.
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from collections import Counter
from pathlib import Path

import libcst as cst
import pytest
from typer.testing import CliRunner

from mcplint import fix as fixing
from mcplint.cli import app
from mcplint.config import Config
from mcplint.engine import scan
from mcplint.finding import Span
from mcplint.fix import Edit, Fix, add_keyword, apply_fixes, remove_argument, smallest_edit
from mcplint.report import sarif
from tests.conftest import FIXTURES

runner = CliRunner()
SINGLE_FILE_FIXTURES = sorted([*(FIXTURES / "rules").glob("*.py"), *(FIXTURES / "servers").glob("*.py")])


def fixed_path(path: Path) -> Path:
    return path.with_name(path.name + ".fixed")


def fix_copy(path: Path, tmp: Path) -> tuple[Path, fixing.FixOutcome]:
    """Fix a copy of `path` (same folder name and file name, so path-based judgements
    such as "is this test code" do not change)."""
    copy = tmp / path.parent.name / path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, copy)
    outcome = fixing.run([copy], Config(root=tmp), write=True)
    return copy, outcome


# -- fixtures are the specification ----------------------------------------------------------
@pytest.mark.parametrize("path", SINGLE_FILE_FIXTURES, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fixture_fixes_to_its_fixed_file(path: Path, tmp_path: Path) -> None:
    copy, outcome = fix_copy(path, tmp_path)
    assert not outcome.errors
    expected = fixed_path(path)
    text = copy.read_text(encoding="utf-8")
    if not expected.exists():
        assert not outcome.fixed, (
            f"{path.name}: `mcplint fix` changes it; add {expected.name} (python -m tests.test_fix) and review it")
        return
    assert outcome.fixed, f"{expected.name} exists but nothing in {path.name} is fixed"
    assert text == expected.read_text(encoding="utf-8"), f"{path.name}: the fixed file differs from {expected.name}"


@pytest.mark.parametrize("path", [p for p in SINGLE_FILE_FIXTURES if fixed_path(p).exists()],
                         ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fixed_file_no_longer_has_the_fixed_findings(path: Path, tmp_path: Path) -> None:
    before = scan([path], Config(root=FIXTURES))
    copy, outcome = fix_copy(path, tmp_path)
    after = scan([copy], Config(root=tmp_path))
    fixed = Counter(f.code for f in outcome.fixed)
    counts_before = Counter(f.code for f in before.active)
    counts_after = Counter(f.code for f in after.active)
    for code, n in fixed.items():
        assert counts_after[code] <= counts_before[code] - n, f"{path.name}: {code} findings were not fixed"
    assert not [f for f in after.active if f.fix is not None and f.fix.safe], "a safe fix is left to apply"
    # idempotent: a second run changes nothing
    text = copy.read_text(encoding="utf-8")
    again = fixing.run([copy], Config(root=tmp_path), write=True)
    assert not again.fixed and copy.read_text(encoding="utf-8") == text


def test_every_fixing_rule_has_a_fixed_fixture() -> None:
    fixed_codes = set()
    for path in SINGLE_FILE_FIXTURES:
        if fixed_path(path).exists():
            fixed_codes |= {f.code for f in scan([path], Config(root=FIXTURES)).active if f.fix is not None}
    assert {"MCP304", "MCP601", "MCP701", "MCP801"} <= fixed_codes


# -- the edits -------------------------------------------------------------------------------
def _call(code: str) -> tuple[cst.Module, cst.Call]:
    module = cst.parse_module(code)
    call = module.body[0].body[0].value  # type: ignore[attr-defined]
    return module, call


@pytest.mark.parametrize("source, expected", [
    ("get(url)\n", "get(url, timeout=30)\n"),
    ("get()\n", "get(timeout=30)\n"),
    ("get(url,)\n", "get(url, timeout=30,)\n"),
    ("get(\n    url,\n    json=body,\n)\n", "get(\n    url,\n    json=body,\n    timeout=30,\n)\n"),
    ("get(\n    url,\n)\n", "get(\n    url,\n    timeout=30,\n)\n"),
    ("get(url,\n    json=body)\n", "get(url,\n    json=body, timeout=30)\n"),
    ("get(url, **options)\n", "get(url, **options, timeout=30)\n"),
    ("get(\n    url,\n    json=body,  # why\n)\n", "get(\n    url,\n    json=body,  # why\n    timeout=30,\n)\n"),
])
def test_add_keyword_follows_the_layout(source: str, expected: str) -> None:
    module, call = _call(source)
    assert module.deep_replace(call, add_keyword(call, "timeout", "30")).code == expected


@pytest.mark.parametrize("source, keyword, expected", [
    ("get(url, verify=False)\n", "verify", "get(url)\n"),
    ("get(verify=False, url=u)\n", "verify", "get(url=u)\n"),
    ("get(url, verify=False, headers=h)\n", "verify", "get(url, headers=h)\n"),
    ("Client(verify=False)\n", "verify", "Client()\n"),
    ("get(\n    url,\n    verify=False,\n)\n", "verify", "get(\n    url,\n)\n"),
    ("get(\n    url,\n    verify=False\n)\n", "verify", "get(\n    url\n)\n"),
    ("get(\n    url,  # the API\n    verify=False,  # lab\n)\n", "verify", "get(\n    url,  # the API\n)\n"),
    ("get(url, verify=False,  # lab\n)\n", "verify", "get(url,\n)\n"),
])
def test_remove_argument_keeps_the_layout(source: str, keyword: str, expected: str) -> None:
    module, call = _call(source)
    arg = fixing.keyword_arg(call, keyword)
    assert module.deep_replace(call, remove_argument(call, arg)).code == expected


def test_smallest_edit_is_the_changed_text_only() -> None:
    assert smallest_edit("f(a, verify=False)", "f(a)", (3, 4)) == Edit(Span(3, 8, 3, 22), "")
    assert smallest_edit("f(a)", "f(a, timeout=30)", (1, 0)) == Edit(Span(1, 4, 1, 4), ", timeout=30")
    # whole-line insertions and deletions start at the line start, not inside the indentation
    assert smallest_edit("f(\n    a,\n)", "f(\n    a,\n    t=1,\n)", (1, 0)) == Edit(Span(3, 1, 3, 1), "    t=1,\n")
    assert smallest_edit("same", "same", (1, 0)) is None


def test_overlapping_fixes_apply_one_per_pass() -> None:
    first = Fix("first", (Edit(Span(1, 1, 1, 4), "X"),))
    second = Fix("second", (Edit(Span(1, 2, 1, 5), "Y"),))
    touching = Fix("third", (Edit(Span(1, 4, 1, 4), "!"),))
    text, applied = apply_fixes("abcdef\n", [first, second, touching])
    assert text == "X!def\n" and applied == [0, 2]


def test_edits_use_the_file_line_breaks() -> None:
    edit = Fix("add a line", (Edit(Span(2, 1, 2, 1), "inserted\n"),))
    text, _ = apply_fixes("one\r\ntwo\r\n", [edit])
    assert text == "one\r\ninserted\r\ntwo\r\n"


# -- the command ------------------------------------------------------------------------------
SERVER = textwrap.dedent(
    """\
    import requests
    import yaml
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("status")


    @mcp.tool()
    def status(service: str) -> str:
        return requests.get("https://status.example.com/" + service, verify=False).text


    @mcp.tool()
    def parse(document: str) -> dict:
        return yaml.load(document, Loader=yaml.Loader)
    """
)
SERVER_FIXED = textwrap.dedent(
    """\
    import requests
    import yaml
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("status")


    @mcp.tool()
    def status(service: str) -> str:
        return requests.get("https://status.example.com/" + service, timeout=30).text


    @mcp.tool()
    def parse(document: str) -> dict:
        return yaml.safe_load(document)
    """
)


def write(tmp: Path, name: str, text: str, newline: str = "\n") -> Path:
    path = tmp / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def test_fix_writes_and_exits_like_scan(tmp_path: Path) -> None:
    path = write(tmp_path, "server.py", SERVER)
    result = runner.invoke(app, ["fix", str(path), "--isolated", "--select", "MCP304,MCP701,MCP801"])
    assert path.read_text() == SERVER_FIXED
    assert result.exit_code == 0, result.output  # nothing left of the selected rules
    assert "Fixed 3 findings in 1 file" in result.output
    again = runner.invoke(app, ["fix", str(path), "--isolated", "--select", "MCP304,MCP701,MCP801"])
    assert again.exit_code == 0 and path.read_text() == SERVER_FIXED and "Fixed 0 findings" in again.output


def test_fix_exits_1_when_findings_remain(tmp_path: Path) -> None:
    path = write(tmp_path, "server.py", SERVER)
    result = runner.invoke(app, ["fix", str(path), "--isolated"])  # MCP203 (SSRF) has no fix
    assert result.exit_code == 1
    assert path.read_text() == SERVER_FIXED
    assert runner.invoke(app, ["fix", str(path), "--isolated", "--exit-zero"]).exit_code == 0


def test_diff_previews_without_writing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "server.py", SERVER)
    result = runner.invoke(app, ["fix", "server.py", "--isolated", "--diff", "--select", "MCP304,MCP701,MCP801"])
    assert path.read_text() == SERVER  # untouched
    assert result.exit_code == 0
    assert f"--- a/server.py" in result.stdout and "+++ b/server.py" in result.stdout
    assert "-    return yaml.load(document, Loader=yaml.Loader)\n" in result.stdout
    assert "+    return yaml.safe_load(document)\n" in result.stdout
    assert "Would fix 3 findings" in result.output


def test_crlf_file_stays_crlf(tmp_path: Path) -> None:
    path = write(tmp_path, "server.py", SERVER, newline="\r\n")
    runner.invoke(app, ["fix", str(path), "--isolated", "--select", "MCP304,MCP701,MCP801"])
    assert path.read_bytes() == SERVER_FIXED.replace("\n", "\r\n").encode()


def test_file_with_syntax_error_is_never_edited(tmp_path: Path) -> None:
    broken = SERVER + "\ndef oops(:\n"
    path = write(tmp_path, "server.py", broken)
    result = runner.invoke(app, ["fix", str(path), "--isolated"])
    assert path.read_text() == broken
    assert result.exit_code == 1  # the syntax error is a finding (MCP001)


def test_suppressed_findings_are_not_fixed(tmp_path: Path) -> None:
    text = SERVER.replace("verify=False).text", "verify=False).text  # mcplint: ignore[MCP701] -- lab gateway")
    path = write(tmp_path, "server.py", text)
    runner.invoke(app, ["fix", str(path), "--isolated", "--select", "MCP701"])
    assert path.read_text() == text


def test_unsafe_fixes_need_the_flag(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        import os

        from fastmcp import FastMCP

        mcp = FastMCP("notes")
        mcp.run(transport="http", host=os.getenv("HOST", "0.0.0.0"))
        """
    )
    path = write(tmp_path, "server.py", text)
    result = runner.invoke(app, ["fix", str(path), "--isolated", "--select", "MCP601"])
    assert path.read_text() == text
    assert "1 more fixable with --unsafe-fixes" in result.output
    runner.invoke(app, ["fix", str(path), "--isolated", "--select", "MCP601", "--unsafe-fixes"])
    assert 'os.getenv("HOST", "127.0.0.1")' in path.read_text()


def test_fix_that_would_break_the_syntax_is_refused(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, "server.py", SERVER)
    real = fixing.apply_fixes
    monkeypatch.setattr(fixing, "apply_fixes", lambda text, fixes: (text + "def (:\n", real(text, fixes)[1]))
    result = runner.invoke(app, ["fix", str(path), "--isolated", "--select", "MCP801"])
    assert result.exit_code == 2 and "invalid Python" in result.output
    assert path.read_text() == SERVER


# -- SARIF ------------------------------------------------------------------------------------
def test_sarif_results_carry_the_fixes(tmp_path: Path) -> None:
    from tests.test_report_sarif import SCHEMA_CANDIDATES

    import jsonschema

    path = write(tmp_path, "server.py", SERVER)
    result = scan([path], Config(root=tmp_path, select=("MCP304", "MCP701", "MCP801")))
    doc = json.loads(sarif.render(result, root=tmp_path))
    schema = json.loads(next(p for p in SCHEMA_CANDIDATES if p.is_file()).read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).iter_errors(doc))
    assert not errors, [e.message for e in errors]
    by_rule = {r["ruleId"]: r for r in doc["runs"][0]["results"]}
    [change] = by_rule["MCP801"]["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"] == {"uri": "server.py", "uriBaseId": "%SRCROOT%"}
    [insertion] = change["replacements"]
    region = insertion["deletedRegion"]
    assert (region["startLine"], region["startColumn"]) == (region["endLine"], region["endColumn"]) == (10, 78)
    assert insertion["insertedContent"]["text"] == ", timeout=30"
    deletion = by_rule["MCP701"]["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert "insertedContent" not in deletion
    assert deletion["deletedRegion"] == {"startLine": 10, "startColumn": 64, "endLine": 10, "endColumn": 78}
    assert by_rule["MCP304"]["fixes"][0]["description"]["text"] == "use `yaml.safe_load`"
    assert by_rule["MCP304"]["fixes"][0]["properties"]["safe"] is True


# -- regenerating the expectations ---------------------------------------------------------------
def regenerate() -> None:
    import tempfile

    for path in SINGLE_FILE_FIXTURES:
        with tempfile.TemporaryDirectory() as tmp:
            copy, outcome = fix_copy(path, Path(tmp))
            target = fixed_path(path)
            if outcome.fixed:
                target.write_text(copy.read_text(encoding="utf-8"), encoding="utf-8")
                print(f"wrote {target.relative_to(FIXTURES.parent)} ({len(outcome.fixed)} fixes)")
            elif target.exists():
                target.unlink()
                print(f"removed {target.relative_to(FIXTURES.parent)}")


if __name__ == "__main__":
    regenerate()
    sys.exit(0)
