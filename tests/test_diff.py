"""`mcplint scan --diff REF` on real temporary git repositories: only findings introduced
since REF are reported, across files, with the user's checkout left as it was."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcplint import api
from mcplint.cli import app
from mcplint.config import Config
from mcplint.gitdiff import GitError, scan_since

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

runner = CliRunner()

SERVER = textwrap.dedent(
    """\
    import os
    from mcp.server.fastmcp import FastMCP
    from pkg.helpers import run_make, shell

    mcp = FastMCP("ops")


    @mcp.tool()
    def clean(path: str) -> str:
        return os.popen("du -sh " + path).read()


    @mcp.tool()
    def build(target: str) -> str:
        return run_make(target)
    """
)
HELPERS = textwrap.dedent(
    """\
    import subprocess


    def run_make(target: str) -> str:
        return subprocess.run(["make", target], capture_output=True, text=True).stdout


    def shell(command: str) -> str:
        return subprocess.run(command, shell=True, capture_output=True, text=True).stdout
    """
)
OTHER = textwrap.dedent(
    """\
    import os
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("other")


    @mcp.tool()
    def zap(path: str) -> str:
        return os.popen("rm " + path).read()
    """
)


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_NOSYSTEM="1", HOME=str(repo))
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True)
    return done.stdout


def commit(repo: Path, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "server.py").write_text(SERVER)
    (root / "pkg" / "helpers.py").write_text(HELPERS)
    (root / "other.py").write_text(OTHER)
    git(root, "init", "-q", "-b", "main")
    commit(root, "init")
    monkeypatch.chdir(root)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    return root


def scan(*args: str):
    return runner.invoke(app, ["scan", "--isolated", "--color", "never", *args])


def quiet_lines(*args: str) -> list[str]:
    result = scan("-q", *args)
    assert result.exit_code in (0, 1), result.output
    return result.stdout.strip().splitlines()


def state(repo: Path) -> tuple[str, str, str]:
    return git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain", "-uall"), git(repo, "stash", "list")


def test_nothing_changed_reports_nothing(repo: Path) -> None:
    assert len(quiet_lines()) == 2  # clean and zap, without --diff
    result = scan("--diff", "HEAD")
    assert result.exit_code == 0, result.output
    assert "No findings" in result.stdout
    assert "no scanned file changed since HEAD" in result.stderr


def test_a_new_tool_in_a_changed_file_is_the_only_finding(repo: Path) -> None:
    (repo / "pkg" / "server.py").write_text(
        SERVER + '\n\n@mcp.tool()\ndef purge(folder: str) -> str:\n    return os.popen("rm -rf " + folder).read()\n'
    )
    lines = quiet_lines("--diff", "HEAD")
    assert len(lines) == 1 and "tool `purge`" in lines[0] and lines[0].startswith("pkg/server.py:")
    assert scan("--diff", "HEAD").exit_code == 1


def test_old_findings_survive_edits_that_move_them(repo: Path) -> None:
    (repo / "pkg" / "server.py").write_text('"""Ops tools."""\n# reformatted\n\n' + SERVER.replace("    return os.popen", "    return  os.popen"))
    result = scan("--diff", "HEAD")
    assert result.exit_code == 0, result.output
    assert "1 already at HEAD" in result.stdout


def test_changed_caller_makes_a_finding_in_an_unchanged_helper(repo: Path) -> None:
    # helpers.py does not change; a new tool in server.py hands its input to `shell`
    (repo / "pkg" / "server.py").write_text(
        SERVER + '\n\n@mcp.tool()\ndef run(command: str) -> str:\n    return shell(command)\n'
    )
    lines = quiet_lines("--diff", "HEAD")
    assert len(lines) == 1, lines
    assert lines[0].startswith("pkg/helpers.py:") and "tool `run`" in lines[0]


def test_changed_helper_makes_a_finding_reached_from_an_unchanged_tool(repo: Path) -> None:
    (repo / "pkg" / "helpers.py").write_text(HELPERS.replace('["make", target]', '"make " + target, shell=True'))
    lines = quiet_lines("--diff", "HEAD")
    assert len(lines) == 1 and "tool `build`" in lines[0], lines


def test_unlinked_files_are_not_scanned(repo: Path) -> None:
    (repo / "pkg" / "helpers.py").write_text(HELPERS + "\n# touched\n")
    doc = json.loads(scan("--diff", "HEAD", "-f", "json").stdout)
    assert doc["summary"]["files"] == 2  # helpers.py and server.py, which imports it; not other.py
    assert doc["summary"]["baseline"] == {"kind": "git", "source": "HEAD", "matched": 1, "stale": 0}


def test_a_changed_test_module_is_scanned_on_its_own(repo: Path) -> None:
    # not MCP code and not imported by it: its findings depend on nothing else
    (repo / "test_server.py").write_text("from pkg.server import clean\n\n\ndef test_clean():\n    assert clean\n")
    doc = json.loads(scan("--diff", "HEAD", "-f", "json").stdout)
    assert doc["summary"]["files"] == 1 and doc["findings"] == []


def test_untracked_files_are_new(repo: Path) -> None:
    (repo / "tools.py").write_text(OTHER.replace("zap", "wipe"))
    lines = quiet_lines("--diff", "HEAD")
    assert len(lines) == 1 and lines[0].startswith("tools.py:") and "tool `wipe`" in lines[0]


def test_ignored_files_are_not_changes(repo: Path) -> None:
    (repo / ".gitignore").write_text("local_*.py\n")
    commit(repo, "ignore")
    (repo / "local_debug.py").write_text(OTHER.replace("zap", "debug_zap"))
    assert quiet_lines("--diff", "HEAD") == []


def test_committed_staged_and_unstaged_changes_all_count(repo: Path) -> None:
    (repo / "a.py").write_text(OTHER.replace("zap", "committed"))
    commit(repo)
    (repo / "b.py").write_text(OTHER.replace("zap", "staged"))
    git(repo, "add", "b.py")
    (repo / "other.py").write_text(OTHER + OTHER.split("\n\n\n")[1].replace("zap", "unstaged"))
    lines = quiet_lines("--diff", "HEAD~1")
    assert sorted(line.split("`")[1] for line in lines) == ["committed", "staged", "unstaged"]
    assert [line.split("`")[1] for line in quiet_lines("--diff", "HEAD")] == ["staged", "unstaged"]


def test_a_second_copy_of_an_old_problem_is_new(repo: Path) -> None:
    body = OTHER.split("\n\n\n")[1]
    (repo / "other.py").write_text(OTHER + "\n\n" + body.replace("def zap(", "def zap_again("))
    lines = quiet_lines("--diff", "HEAD", "--select", "MCP301")
    assert len(lines) == 1 and "zap_again" in lines[0]


def test_fixed_and_deleted_findings_are_counted_not_reported(repo: Path) -> None:
    (repo / "other.py").unlink()
    (repo / "pkg" / "server.py").write_text(SERVER.replace('os.popen("du -sh " + path).read()', 'str(len(path))'))
    result = scan("--diff", "HEAD", "-f", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["findings"] == [] and doc["summary"]["baseline"]["stale"] == 2
    assert "2 findings present at HEAD no longer found" in result.stderr


def test_a_manifest_change_scans_everything(repo: Path) -> None:
    (repo / "requirements.txt").write_text("mcp==1.9.0\n")
    doc = json.loads(scan("--diff", "HEAD", "-f", "json").stdout)
    assert doc["summary"]["files"] >= 4  # every Python file, not just the linked part
    assert doc["summary"]["baseline"]["matched"] == 2


def test_a_subfolder_scan_and_a_branch_name(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "pkg" / "extra.py").write_text(OTHER.replace("zap", "extra"))
    commit(repo)
    (repo / "top.py").write_text(OTHER.replace("zap", "top"))  # outside the scanned folder
    lines = quiet_lines("pkg", "--diff", "main")
    assert len(lines) == 1 and lines[0].startswith("pkg/extra.py:")


def test_the_checkout_is_left_as_it_was(repo: Path) -> None:
    (repo / "pkg" / "helpers.py").write_text(HELPERS.replace('["make", target]', '"make " + target, shell=True'))
    git(repo, "add", "pkg/helpers.py")
    (repo / "new.py").write_text(OTHER)
    before = state(repo)
    index = (repo / ".git" / "index").read_bytes()
    scan("--diff", "HEAD")
    assert state(repo) == before
    assert (repo / ".git" / "index").read_bytes() == index


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "console"])
def test_every_format_reports_only_new_findings(repo: Path, fmt: str) -> None:
    (repo / "tools.py").write_text(OTHER.replace("zap", "wipe"))
    result = scan("--diff", "HEAD", "-f", fmt)
    assert result.exit_code == 1, result.output
    assert "wipe" in result.stdout and "`zap`" not in result.stdout and "`clean`" not in result.stdout
    assert scan("--diff", "HEAD", "-f", fmt, "--exit-zero").exit_code == 0
    if fmt == "sarif":
        results = json.loads(result.stdout)["runs"][0]["results"]
        assert [r["baselineState"] for r in results] == ["new"]


def test_unknown_ref_is_a_usage_error(repo: Path) -> None:
    result = scan("--diff", "no-such-branch")
    assert result.exit_code == 2
    assert "unknown git revision `no-such-branch`" in result.stderr
    assert scan("--diff", "--help-me").exit_code == 2


def test_not_a_git_repository_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "server.py").write_text(OTHER)
    monkeypatch.chdir(plain)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    result = scan("--diff", "HEAD")
    assert result.exit_code == 2
    assert "is not inside a git repository" in result.stderr


def test_api_call(repo: Path) -> None:
    (repo / "tools.py").write_text(OTHER.replace("zap", "wipe"))
    config = Config(root=repo)
    result = api.run_scan([repo], config, diff="HEAD")
    assert [f.handler for f in result.active] == ["tool `wipe`"]
    with pytest.raises(GitError):
        scan_since("nope", [repo], config)
