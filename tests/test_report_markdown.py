"""The pull-request comment: right content, capped, and inert whatever the scanned files contain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from mcplint.checklist import ITEMS
from mcplint.cli import app
from mcplint.config import Config
from mcplint.engine import ScanResult, scan
from mcplint.finding import Severity, Span, TraceStep
from mcplint.report import FORMATS, markdown
from tests.conftest import FIXTURES
from tests.test_report_json import (
    SERVER,
    SERVER_PATH,
    line_of,
    make_finding,
    make_result,
    scan_project,
    write_project,
)

runner = CliRunner()
ROW_RE = re.compile(r"^\| (critical|high|medium|low) \| (MCP\d{3}) [a-z-]+ \| (.+?) \| (.+) \|$")


def to_html(text: str) -> str:
    """Rendered as GitHub would (CommonMark + tables, raw HTML allowed)."""
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def rows(text: str) -> list[re.Match]:
    return [m for m in (ROW_RE.match(line) for line in text.splitlines()) if m]


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, ScanResult]:
    root = write_project(tmp_path / "project")
    return root, scan_project(root)


def test_registered_as_markdown_format() -> None:
    assert FORMATS["markdown"] is markdown.render


def test_head_and_summary(scanned) -> None:
    root, result = scanned
    text = markdown.render(result, root=root)
    lines = text.splitlines()
    assert lines[0] == markdown.MARKER
    n = len(result.active)
    assert lines[1].startswith(f"### mcplint: {n} findings (")
    critical = sum(f.severity is Severity.CRITICAL for f in result.active)
    assert f"{critical} critical" in lines[1]
    assert f"{len(result.suppressed)} suppressed." in text
    assert f"Scanned {result.files} files ({result.parsed} analysed" in text


def test_table_lists_active_findings_worst_first(scanned) -> None:
    root, result = scanned
    text = markdown.render(result, root=root)
    found = rows(text)
    assert len(found) == len(result.active)
    ranks = [Severity(m.group(1)).rank for m in found]
    assert ranks == sorted(ranks, reverse=True)
    archive = line_of(SERVER, "os.system(command)")
    escaped_path = markdown.escape(SERVER_PATH)
    [row] = [m for m in found if m.group(3) == f"{escaped_path}:{archive}"]
    assert row.group(2) == "MCP301" and row.group(1) == "critical"
    assert "<code>archive</code>" in row.group(4) and "<code>os.system</code>" in row.group(4)
    restart = line_of(SERVER, "systemctl restart")  # suppressed: counted, not listed
    assert not [m for m in found if m.group(3) == f"{escaped_path}:{restart}"]


def test_table_is_capped(scanned) -> None:
    root, result = scanned
    text = markdown.render(result, root=root, max_findings=2)
    assert len(rows(text)) == 2
    assert f"… and {len(result.active) - 2} more." in text
    assert text.count("<details>") == 2 + 1  # two findings and the scorecard


def test_details_per_finding(scanned) -> None:
    root, result = scanned
    text = markdown.render(result, root=root)
    blocks = re.findall(r"<details>\n<summary>(.*?)</summary>\n\n(.*?)\n</details>", text, re.S)
    assert len(blocks) == len(result.active) + 1
    archive = line_of(SERVER, "os.system(command)")
    summary, body = next(b for b in blocks if b[0].startswith("critical · MCP301") and b[0].endswith(f":{archive}"))
    finding = next(f for f in result.active if f.code == "MCP301" and f.span.line == archive)
    assert "high confidence" in body and "MCP-C04" in body and "CWE-78" in body
    assert f"[docs]({finding.rule.help_uri})" in body
    assert "In tool <code>archive</code>." in body
    steps = re.findall(r"^(\d+)\. (.*) — (.*)$", body, re.M)
    assert [int(n) for n, _, _ in steps] == list(range(1, len(finding.trace) + 1))
    assert steps[0][2].endswith(f":{line_of(SERVER, 'def archive')}")
    assert steps[-1][2].endswith(f":{archive}")
    assert f"**Why:** {finding.rule.why}" in body and f"**Fix:** {finding.rule.fix}" in body


def test_scorecard(scanned) -> None:
    root, result = scanned
    text = markdown.render(result, root=root)
    table = re.findall(r"^\| (MCP-C\d\d) \| (\S+ \w+) \| (.*?) \| (.*) \|$", text, re.M)
    assert [row[0] for row in table] == [item.id for item in ITEMS]
    assert [row[2] for row in table] == [markdown.escape(item.title) for item in ITEMS]
    by_id = {row[0]: row for row in table}
    assert by_id["MCP-C04"][1] == "❌ fail"
    assert re.search(r"<summary>MCP security checklist: \d+ fail", text)


def test_no_findings(tmp_path: Path) -> None:
    (tmp_path / "util.py").write_text("x = 1\n")
    result = scan([tmp_path], Config(root=tmp_path))
    text = markdown.render(result, root=tmp_path)
    assert text.splitlines()[1] == "### mcplint: no findings"
    assert not rows(text) and "| Severity |" not in text
    assert "MCP security checklist" in text


def test_deterministic(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project")
    assert markdown.render(scan_project(root), root=root) == markdown.render(scan_project(root), root=root)


HOSTILE_MESSAGES = (
    "tool `x` | injected | cells | here",
    "tool <script>alert(1)</script> <img src=x onerror=alert(2)>",
    "ping @octocat and @github/security, closes #12",
    "[click](https://evil.example/x) ![pixel](https://evil.example/p.png)",
    "odd ` backtick `<b>bold</b>` and \u202eevil\u202c and a\nnew line",
    "&lt;script&gt; $\\sqrt{x}$ ~~gone~~ **loud**",
)


@pytest.mark.parametrize("hostile", HOSTILE_MESSAGES)
def test_hostile_text_is_inert(hostile: str) -> None:
    trace = (TraceStep(Span(1), hostile), TraceStep(Span(3, 5, 3, 20), "reaches the sink", path=hostile + ".py"))
    finding = make_finding(path=f"{hostile}.py", message=hostile, trace=trace)
    finding.handler = f"tool `{hostile}`"
    text = markdown.render(make_result([finding]), root=Path("/project"))
    assert "\u202e" not in text and "@octocat" not in text and "@github" not in text
    assert not re.search(r"(?<!&)#12", text)
    html = to_html(text)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "evil.example" not in re.sub(r">[^<]*<", "><", html)  # only as text, never in an attribute
    assert "<strong>loud" not in html and "<del>" not in html
    table_rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    assert table_rows and all(row.count("<td>") in (0, 4) for row in table_rows)
    finding_rows = [row for row in table_rows if "MCP301" in row]
    assert len(finding_rows) == 1 and finding_rows[0].count("<td>") == 4
    # the text itself survives, readable
    assert re.findall(r"[a-z]{4,}", hostile)[1] in html


def test_hostile_file_name_in_a_real_scan(tmp_path: Path) -> None:
    folder = tmp_path / "a|b <img src=x> @team"
    folder.mkdir()
    (folder / "server.py").write_text(SERVER)
    result = scan([tmp_path], Config(root=tmp_path))
    text = markdown.render(result, root=tmp_path)
    assert "a|b" not in text and "@team" not in text
    assert not re.search(r"(?<!\\)<img", text)
    html = to_html(text)
    assert "<img" not in html
    assert len(rows(text)) == len(result.active) > 0


def test_stays_under_githubs_comment_limit() -> None:
    findings = [
        make_finding(path=f"pkg/module_{i:04d}.py", span=Span(i + 1, 5, i + 1, 20),
                     message="tool `run` parameter `cmd` reaches shell command `os.system` " + "x" * 400,
                     trace=tuple(TraceStep(Span(j + 1), f"step {j} `v{j}`") for j in range(20)))
        for i in range(3000)
    ]
    text = markdown.render(make_result(findings), root=Path("/project"), max_findings=500)
    assert len(text) <= markdown.MAX_CHARS
    listed = len(rows(text))
    assert 20 < listed < 500 and f"… and {3000 - listed} more." in text  # the table takes at most half
    assert re.search(r"Details of \d+ more findings left out", text)
    assert text.rstrip().endswith("</details>")  # the scorecard is never cut


def test_secrets_are_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = ("sk-proj-Q7xZp2LmN9vR4tY8wK3jH6fD1sA5gB0cTq", "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5")
    (tmp_path / "settings.py").write_text(f'OPENAI_API_KEY = "{secrets[0]}"\nGITHUB_TOKEN = "{secrets[1]}"\n')
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(app, ["scan", "--isolated", "--no-progress", "-f", "markdown", "."])
    assert out.exit_code == 1
    assert len([m for m in rows(out.stdout) if m.group(2) == "MCP501"]) == 2
    for value in secrets:
        assert value not in out.stdout + out.stderr


def test_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CI", raising=False)
    out = runner.invoke(app, ["scan", "--isolated", "--no-progress", "--format", "markdown", "."])
    assert out.exit_code == 1
    assert out.stdout.startswith(markdown.MARKER + "\n")
    assert "Found" in out.stderr and "Found" not in out.stdout
    target = tmp_path / "comment.md"
    out = runner.invoke(app, ["scan", "--isolated", "--no-progress", "-q", "-f", "markdown", "-o", str(target),
                              "--exit-zero", "."])
    assert out.exit_code == 0 and out.stdout == ""
    assert target.read_text(encoding="utf-8").startswith(markdown.MARKER)


def test_fixture_corpus_renders() -> None:
    result = scan([FIXTURES / "rules"], Config(root=FIXTURES))
    text = markdown.render(result, root=FIXTURES)
    assert len(text) <= markdown.MAX_CHARS
    assert len(rows(text)) == min(len(result.active), markdown.DEFAULT_MAX_FINDINGS)
    html = to_html(text)
    assert all(row.count("<td>") == 4 for row in re.findall(r"<tr>(.*?)</tr>", html, re.S) if "<td>" in row)


def test_baseline_is_mentioned(scanned) -> None:
    from mcplint.baseline import Comparison

    root, result = scanned
    result.baseline = Comparison(kind="git", source="origin/main", matched=3)
    assert "3 known findings already at origin/main not listed." in markdown.render(result, root=root)
    result.baseline = Comparison(kind="file", source="@team|x.json", matched=1)
    text = markdown.render(result, root=root)
    assert "1 known finding in the baseline @\u2060team\\|x.json not listed." in text
