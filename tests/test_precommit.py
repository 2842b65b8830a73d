"""The pre-commit hook as users install it: `pre-commit try-repo` against this checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs git and a checkout"
)

VULNERABLE = textwrap.dedent(
    """\
    import os
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("demo")


    @mcp.tool()
    def clean(path: str) -> str:
        return os.popen("du -sh " + path).read()
    """
)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _try_repo(target: Path, home: Path, *files: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "mcplint", "--verbose", "--files", *files],
        cwd=target,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_manifest_is_valid() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hook_fails_on_vulnerable_file_and_passes_clean_ones(tmp_path: Path) -> None:
    target = tmp_path / "project"
    target.mkdir()
    _git(target, "init", "-q")
    (target / "server.py").write_text(VULNERABLE)
    (target / "notes.txt").write_text("os.system(user_input)\n")
    (target / "clean.py").write_text("print('hello')\n")
    _git(target, "add", ".")
    home = tmp_path / "pre-commit-home"

    failing = _try_repo(target, home, "server.py", "notes.txt", "clean.py")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "MCP301" in failing.stdout
    assert "notes.txt" not in failing.stdout.split("mcplint", 1)[-1]  # not a file any rule reads

    passing = _try_repo(target, home, "clean.py")
    assert passing.returncode == 0, passing.stdout + passing.stderr


def _hook_files_regex():
    import re

    import yaml  # pre-commit's own dependency

    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    return re.compile(hook["files"])


def test_hook_passes_every_file_a_rule_reads() -> None:
    """The manifest's `files` regex lists by hand what text rules match by pattern."""
    from mcplint.registry import all_rules

    files = _hook_files_regex()
    samples = {"app/server.py", "tool.pyw"}
    for rule in all_rules():
        if rule.scope != "text":
            continue
        samples.add(rule.example_name)
        for pattern in rule.files:
            samples.add("deploy/" + pattern.replace("*", "x"))
    for sample in sorted(samples):
        assert files.search(sample), f"the pre-commit hook would not pass `{sample}` to mcplint"
    for other in ("README.md", "LICENSE", "docs/index.rst", "setup.cfg", "package.json", "notes.txt"):
        assert not files.search(other), other


def test_hook_checks_dockerfiles_and_env_files(tmp_path: Path) -> None:
    target = tmp_path / "project"
    target.mkdir()
    _git(target, "init", "-q")
    (target / "Dockerfile").write_text("FROM python:3.12-slim\nCOPY . /app\nCMD [\"python\", \"/app/server.py\"]\n")
    (target / ".env").write_text("OPENAI_API_KEY=sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2 + "\n")
    _git(target, "add", ".")
    result = _try_repo(target, tmp_path / "home", "Dockerfile", ".env")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "MCP951" in result.stdout and "MCP506" in result.stdout
    assert "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" not in result.stdout  # the secret is masked
