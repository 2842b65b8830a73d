"""Non-Python files through the engine: the Dockerfile reader, located JSON, the
project facts of `mcplint.deps`, suppressions in each format, the CLI reports, and
files that cannot be read as text."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mcplint import deps, dockerfile, engine
from mcplint.advisories import ADVISORIES, affecting
from mcplint.cli import app
from mcplint.config import Config
from mcplint.engine import analyse_source, scan, select_rules
from mcplint.text import TextDocument, read_jsonc

runner = CliRunner()

SECRET = "sk-proj-Wq4nZ8cTr2Lx6Vb9Hm3Kd7Fj1Gs5Py0Ne4Ua8Ri"
DOCKERFILE = textwrap.dedent(
    f"""\
    FROM python:3.12-slim
    ENV OPENAI_API_KEY={SECRET}
    RUN apt-get update \\
        && curl -fsSL https://get.example.org/install.sh | sh
    CMD ["python", "-m", "notes_mcp"]
    """
)
ENV_FILE = f"LOG_LEVEL=info\nOPENAI_API_KEY={SECRET}\n"
RULES = select_rules(Config())


def _write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content) if content.startswith("\n") else content, encoding="utf-8")
    return root


def _scan(root: Path, **config) -> engine.ScanResult:
    return scan([root], Config(root=root, **config), jobs=1)


def _found(result, suppressed: bool = False) -> set[tuple[str, int, str]]:
    items = result.suppressed if suppressed else result.active
    return {(f.path, f.span.line, f.code) for f in items}


# -- the Dockerfile reader -------------------------------------------------------------------


def test_dockerfile_reader_joins_continuations_and_keeps_heredocs_apart() -> None:
    text = textwrap.dedent(
        """\
        # syntax=docker/dockerfile:1
        ARG BASE=python:latest
        FROM ${BASE} AS build
        RUN apt-get update \\
            # a comment inside the instruction is dropped
            && apt-get install -y git
        RUN <<EOF
        echo building
        FROM not-an-instruction
        EOF
        ENV A=1 B="two words" \\
            C='x y'
        ENV LEGACY value with spaces
        FROM build
        USER ${APP_USER:-mcp}
        """
    )
    parsed = dockerfile.parse(text)
    assert [i.keyword for i in parsed.instructions] == ["ARG", "FROM", "RUN", "RUN", "ENV", "ENV", "FROM", "USER"]
    run = parsed.instructions[2]
    assert (run.line, run.end_line) == (4, 6)
    assert "comment" not in run.text and run.text.endswith("&& apt-get install -y git")
    heredoc = parsed.instructions[3]
    assert heredoc.end_line == 10 and "FROM not-an-instruction" in heredoc.heredocs[0].text
    start = heredoc.heredocs[0].text.index("FROM")
    assert text[heredoc.heredocs[0].doc_range(start, start + 4)[0]:][:4] == "FROM"  # offsets map back exactly
    assert [(n, v) for n, v, _ in dockerfile.env_pairs(parsed.instructions[4])] == \
        [("A", "1"), ("B", "two words"), ("C", "x y")]
    assert [(n, v) for n, v, _ in dockerfile.env_pairs(parsed.instructions[5])] == [("LEGACY", "value with spaces")]
    first, second = parsed.stages
    assert (first.resolved, first.name, second.parent) == ("python:latest", "build", first)
    assert dockerfile.substitute("${APP_USER:-mcp}", {}) == "mcp"
    assert dockerfile.substitute("$UID", {}) is None  # unknown, not guessed


def test_dockerfile_reader_honours_the_escape_directive() -> None:
    parsed = dockerfile.parse("# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\n"
                              "RUN powershell -Command `\n    iwr https://get.example.org/i.ps1 | iex\n")
    assert parsed.escape == "`"
    assert parsed.instructions[1].text.strip().endswith("| iex")


def test_image_parts() -> None:
    assert dockerfile.image_parts("registry:5000/org/app:1.2@sha256:ab") == ("registry:5000/org/app", "1.2", "sha256:ab")
    assert dockerfile.image_parts("registry:5000/org/app") == ("registry:5000/org/app", None, None)
    assert dockerfile.image_parts("python") == ("python", None, None)


def test_dockerfile_names() -> None:
    assert dockerfile.is_dockerfile("deploy/Dockerfile.prod") and dockerfile.is_dockerfile("api.Dockerfile")
    assert dockerfile.is_dockerfile("Containerfile")
    assert not dockerfile.is_dockerfile("Dockerfile.dockerignore") and not dockerfile.is_dockerfile("Dockerfile.md")


# -- located JSON ----------------------------------------------------------------------------


def test_jsonc_strings_carry_their_offsets() -> None:
    text = '// servers\n{"servers": {"a": {"env": {"TOKEN": "x\\"y"}, "args": ["-y", "pkg",],},},}\n'
    value, strings = read_jsonc(text)
    assert value == {"servers": {"a": {"env": {"TOKEN": 'x"y'}, "args": ["-y", "pkg"]}}}
    token = next(s for s in strings if s.key == "TOKEN")
    assert text[token.start:token.end] == 'x\\"y' and token.path == ("servers", "a", "env", "TOKEN")
    assert TextDocument("mcp.json", text).json == value
    assert read_jsonc('{"a": }') == (None, [])
    assert read_jsonc("[" * 10_000) == (None, [])  # hostile nesting: no RecursionError


# -- project facts ---------------------------------------------------------------------------

UV_LOCK = """\
version = 1

[[package]]
name = "fastmcp"
version = "2.7.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "mcp"
version = "1.9.4"
source = { registry = "https://pypi.org/simple" }
"""
POETRY_LOCK = """\
[[package]]
name = "mcp"
version = "1.23.0"
description = "Model Context Protocol SDK"
"""


def test_project_reads_versions_from_lock_files_and_pins() -> None:
    contents = {
        "app/pyproject.toml": b'[project]\nname = "mcp-notes"\ndependencies = ["mcp>=1.9,<2", "httpx"]\n'
                              b'[dependency-groups]\ndev = ["mcp-notes[test]", "pytest"]\n',
        "app/uv.lock": UV_LOCK.encode(),
        "other/poetry.lock": POETRY_LOCK.encode(),
        "tools/requirements.txt": b"# tools\nmcp-proxy==0.8.2 \\\n    --hash=sha256:abc\nrich==13.9.4\n",
        "dev/pyproject.toml": b'[project]\nname = "dev"\ndependencies = ["mcp>=1.28", "rich"]\n',
        "dev/requirements-dev.txt": b"pytest==8.3.4\nrich==13.9.4\n",
        "srv/pyproject.toml": b'[project]\nname = "srv"\ndependencies = ["rich>=13"]\n',
        "srv/requirements.txt": b"rich==13.9.4\n",
    }
    project = deps.read_project(list(contents), contents)
    assert project.version("fastmcp") == (2, 7, 0)
    assert project.version("mcp") in ((1, 9, 4), (1, 23, 0))  # both lock files are the project's
    assert project.version("mcp-proxy") == (0, 8, 2) and project.version("httpx") is None
    assert project.at_least("fastmcp", "2.3") is True and project.at_least("fastmcp", "3") is False
    assert project.at_least("httpx", "0.27") is None
    assert project.major("fastmcp") == 2
    assert project.has_lock_file()
    declared = {r.name: r for r in project.in_file("app/pyproject.toml")}
    assert set(declared) == {"mcp", "httpx", "pytest"}  # the project's own name is not a dependency
    assert declared["mcp"].line == 3 and declared["mcp"].lower_bound == (1, 9)  # not line 2 (`mcp-notes`)
    lock = next(r for r in project.in_file("app/uv.lock") if r.name == "mcp")
    assert lock.locked and lock.line == 9
    assert project.lock_for("app/pyproject.toml") == "app/uv.lock"
    assert project.lock_for("app/sub/requirements.txt") == "app/uv.lock"  # a lock covers the folders below
    assert project.lock_for("other/sub/pyproject.toml") == "other/poetry.lock"
    assert project.lock_for("docs/requirements.txt") is None
    assert project.fully_pinned("tools/requirements.txt")
    assert project.lock_for("tools/setup/requirements-extra.txt") == "tools/requirements.txt"  # declares nothing
    assert project.lock_for("dev/pyproject.toml") is None  # pinned dev tools do not lock the runtime
    assert project.lock_for("srv/pyproject.toml") == "srv/requirements.txt"


def test_poetry_dependency_lines_point_at_the_key() -> None:
    text = '[tool.poetry]\nname = "cal-mcp"\ndescription = "mcp for calendars"\n\n' \
           '[tool.poetry.dependencies]\npython = "^3.11"\nmcp = "1.9.0"\n'
    (requirement,) = deps.requirements_in("pyproject.toml", text)
    assert (requirement.name, requirement.spec, requirement.line, requirement.version) == ("mcp", "==1.9.0", 7, (1, 9, 0))


def test_gitignore_decides_what_is_committed() -> None:
    contents = {".gitignore": b"# local settings\n.env*\n!.env.example\nsecrets/\n", "svc/.gitignore": b"/local.env\n"}
    project = deps.read_project([".gitignore", "svc/.gitignore"], contents)
    assert project.git_ignored(".env") and project.git_ignored("svc/.env.production")
    assert not project.git_ignored(".env.example")
    assert project.git_ignored("secrets/prod.env") and project.git_ignored("svc/local.env")
    assert not project.git_ignored("svc/deep/local.env")  # anchored to svc/
    assert not project.git_ignored("prod.env")


def test_advisory_ranges() -> None:
    assert [a.id for a in affecting("mcp", (1, 27, 1))] == ["GHSA-jpw9-pfvf-9f58", "GHSA-hvrp-rf83-w775",
                                                            "GHSA-vj7q-gjh5-988w"]
    assert affecting("mcp", (1, 28, 1)) == [] and affecting("MCP", (2, 3, 0)) == []
    assert len(affecting("fastmcp", (2, 12))) == 4 and affecting("fastmcp", (3, 2)) == []
    for advisory in ADVISORIES:
        assert advisory.url.startswith("https://") and advisory.summary and deps.parse_version(advisory.fixed)


# -- rules over a project --------------------------------------------------------------------


def test_env_file_ignored_by_git_is_evidence_not_a_finding(tmp_path: Path) -> None:
    _write(tmp_path, {".gitignore": ".env\n", ".env": ENV_FILE, "deploy/.env.staging": ENV_FILE})
    result = _scan(tmp_path, exclude=())
    assert _found(result) == {("deploy/.env.staging", 2, "MCP506")}
    assert any(e.path == ".env" and e.item == "MCP-C08" for e in result.evidence)


def test_lock_file_and_tooling_are_evidence(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pyproject.toml": '[project]\nname = "notes-mcp"\ndependencies = ["mcp>=1.28.1", "httpx"]\n',
        "uv.lock": UV_LOCK.replace('"1.9.4"', '"1.28.1"').replace('"2.7.0"', '"3.2.0"'),
        ".github/dependabot.yml": "version: 2\nupdates:\n  - package-ecosystem: pip\n    directory: /\n",
        ".github/workflows/ci.yml": "jobs:\n  audit:\n    steps:\n      - run: uvx pip-audit\n",
    })
    result = _scan(tmp_path)
    assert not [f for f in result.active if f.code.startswith("MCP9")]
    notes = {(e.path, e.line): e.note for e in result.evidence if e.item == "MCP-C10"}
    assert notes[("uv.lock", 1)] == "lock file `uv.lock`"
    assert "Dependabot" in notes[(".github/dependabot.yml", 3)]
    assert "pip-audit" in notes[(".github/workflows/ci.yml", 4)]


def test_unlocked_project_is_reported_once_per_folder(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pyproject.toml": '[project]\nname = "notes-mcp"\ndependencies = ["fastmcp>=2.3", "httpx"]\n',
        "requirements.txt": "fastmcp>=2.3\nhttpx\n",
        "lib/pyproject.toml": '[project]\nname = "notes-lib"\ndependencies = ["pydantic>=2"]\n',
    })
    found = _found(_scan(tmp_path))
    assert {item for item in found if item[2] == "MCP902"} == {("pyproject.toml", 1, "MCP902"),
                                                               ("lib/pyproject.toml", 1, "MCP902")}
    assert ("requirements.txt", 2, "MCP901") in found and ("pyproject.toml", 3, "MCP901") in found
    assert ("pyproject.toml", 3, "MCP903") in found


def test_projects_without_an_mcp_dependency_are_not_judged(tmp_path: Path) -> None:
    _write(tmp_path, {"pyproject.toml": '[project]\nname = "plain"\ndependencies = ["httpx"]\n'})
    assert not [f for f in _scan(tmp_path).active if f.code.startswith("MCP9")]


# -- suppressions ----------------------------------------------------------------------------


def test_suppressions_in_dockerfile_env_and_requirements(tmp_path: Path) -> None:
    _write(tmp_path, {
        "Dockerfile": textwrap.dedent(
            """\
            FROM python:3.12-slim
            RUN useradd -m app
            USER app
            RUN apt-get update \\
                # mcplint: ignore[MCP955] -- the vendor publishes no checksum; pinned by URL version
                && curl -fsSL https://get.example.org/v1.2.3/install.sh | sh
            # mcplint: ignore[MCP951] -- the backup job needs root; the image runs in a rootless runtime
            USER root
            # mcplint: ignore[MCP952] -- nothing to suppress here
            CMD ["python", "-m", "notes_mcp"]
            """
        ),
        "deploy.env": f"# mcplint: ignore[MCP506] -- a revoked demo key kept for the tutorial\n"
                      f"OPENAI_API_KEY={SECRET}\nDEMO_TOKEN={SECRET.replace('R8', 'Q9')}  # noqa: MCP506\n",
        "requirements.txt": "mcp==1.28.1\nhttpx  # mcplint: ignore[MCP901] -- pinned by the base image\n",
    })
    result = _scan(tmp_path)
    assert _found(result, suppressed=True) == {
        ("Dockerfile", 6, "MCP955"), ("Dockerfile", 8, "MCP951"),
        ("deploy.env", 2, "MCP506"), ("deploy.env", 3, "MCP506"), ("requirements.txt", 2, "MCP901"),
    }
    assert {f.justification for f in result.suppressed if f.path == "Dockerfile"} == {
        "the vendor publishes no checksum; pinned by URL version",
        "the backup job needs root; the image runs in a rootless runtime",
    }
    assert ("Dockerfile", 9, "MCP003") in _found(result)  # the unused one is reported


def test_per_file_ignores_silence_json_configs(tmp_path: Path) -> None:
    config = '{"mcpServers": {"gh": {"command": "npx", "env": {"GITHUB_TOKEN": "ghp_R8x2Kq7LmZ4vN1pT9wYc3Hs6Jd0Fb5Ge2Ua7"}}}}'
    _write(tmp_path, {".cursor/mcp.json": config, "examples/mcp.json": config})
    assert _found(_scan(tmp_path)) == {(".cursor/mcp.json", 1, "MCP507"), ("examples/mcp.json", 1, "MCP507")}
    result = _scan(tmp_path, per_file_ignores=(("examples/*", ("MCP507",)),))
    assert _found(result) == {(".cursor/mcp.json", 1, "MCP507")}


# -- the CLI and its reports -----------------------------------------------------------------


@pytest.fixture
def container_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CI", raising=False)
    return _write(tmp_path, {"Dockerfile": DOCKERFILE, "config/.env.production": ENV_FILE})


EXPECTED_LOCATIONS = {
    ("Dockerfile", "MCP951", 1, 1, 22),
    ("Dockerfile", "MCP953", 2, 20, 20 + len(SECRET)),
    ("Dockerfile", "MCP955", 4, 8, len(DOCKERFILE.splitlines()[3]) + 1),  # `curl` to the end of `| sh`
    ("config/.env.production", "MCP506", 2, 16, 16 + len(SECRET)),
}


def test_cli_json_report_locates_text_findings(container_project: Path) -> None:
    result = runner.invoke(app, ["scan", "--format", "json", "--isolated", "--no-progress"])
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    assert {(f["path"], f["code"], f["line"], f["column"], f["end_column"]) for f in findings} == EXPECTED_LOCATIONS
    assert SECRET not in result.stdout  # messages redact the value


def test_cli_sarif_report_locates_text_findings(container_project: Path) -> None:
    result = runner.invoke(app, ["scan", "--format", "sarif", "--isolated", "--no-progress"])
    assert result.exit_code == 1, result.output
    results = json.loads(result.stdout)["runs"][0]["results"]
    located = set()
    for item in results:
        location = item["locations"][0]["physicalLocation"]
        region = location["region"]
        located.add((location["artifactLocation"]["uri"], item["ruleId"], region["startLine"], region["startColumn"],
                     region["endColumn"]))
    assert located == EXPECTED_LOCATIONS
    assert SECRET not in result.stdout


def test_cli_console_masks_secrets_in_excerpts(container_project: Path) -> None:
    result = runner.invoke(app, ["scan", "--color", "never", "--isolated", "--no-progress"])
    assert "MCP953" in result.stdout and "MCP506" in result.stdout
    assert SECRET not in result.stdout and SECRET[:12] not in result.stdout


def test_cli_scans_a_plain_env_file_in_a_folder(container_project: Path) -> None:
    (container_project / ".env").write_text(ENV_FILE)
    venv = container_project / "env" / "lib"  # a virtualenv named `env` stays excluded
    venv.mkdir(parents=True)
    (venv / "leak.py").write_text("API_KEY = 'sk-live-" + "9f8e7d6c5b4a3210" * 3 + "'\n")
    result = runner.invoke(app, ["scan", "--format", "json", "--isolated", "--no-progress"])
    paths = {f["path"] for f in json.loads(result.stdout)["findings"]}
    assert ".env" in paths and not any(p.startswith("env/") for p in paths)


# -- files that are not text -----------------------------------------------------------------


def test_binary_undecodable_and_huge_text_files_are_diagnostics(tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path, {
        "Dockerfile": b"FROM python:3.12\x00\x00binary",
        "api/Dockerfile": b"FROM python:3.12-slim\n# caf\xe9\nUSER nobody\n",
        ".env.local": ENV_FILE + "PADDING=" + "x" * 400 + "\n",
    })
    monkeypatch.setattr(engine, "MAX_FILE_BYTES", 300)
    result = _scan(tmp_path)
    details = {f.path: f.message for f in result.active if f.code == "MCP002"}
    assert "binary" in details["Dockerfile"]
    assert "not valid UTF-8" in details["api/Dockerfile"] and "line 2" in details["api/Dockerfile"]
    assert "too large" in details[".env.local"]
    assert {f.code for f in result.active} == {"MCP002"}


def test_utf8_bom_and_crlf_are_read(tmp_path: Path) -> None:
    data = ("\ufeffFROM python:latest\r\nUSER app\r\n").encode("utf-8")
    result = analyse_source("Dockerfile", data, RULES)
    assert [(f.code, f.span.line, f.span.column) for f in result.findings] == [("MCP952", 1, 6)]


# -- never a crash ---------------------------------------------------------------------------

TEXT_NAMES = ("Dockerfile", ".env", ".cursor/mcp.json", "requirements.txt", "pyproject.toml", "uv.lock")
ALPHABET = st.sampled_from(list("FROM RUN USER ENV ARG ADD AS =$:{}[]\"'`\\#|&;<>-\n\t\rabcxyz0123@/.") +
                           ["<<EOF", "\nEOF\n", "curl ", "| sh", "${", "--mount=type=secret", "ghp_", "latest", "\\\n"])


@settings(max_examples=150, deadline=None)
@given(st.lists(ALPHABET, max_size=80).map("".join), st.sampled_from(TEXT_NAMES))
def test_text_rules_never_raise(text: str, name: str) -> None:
    result = analyse_source(name, text.encode("utf-8"), RULES)
    for finding in result.findings:
        assert finding.span.line >= 1 and finding.span.column >= 1


def test_a_json_web_token_is_a_secret_only_if_it_can_be_signed() -> None:
    """A stand-in from a test (its signature reads as text, or is missing) is no token,
    whatever name it is bound to; a random signature of 32 bytes is one."""
    import base64
    import hashlib

    from mcplint.secrets import JWT, find_token, judge

    head = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMtZGVzayJ9."
    signed = head + base64.urlsafe_b64encode(hashlib.sha256(b"k").digest()).decode().rstrip("=")
    assert find_token(signed)[0] == JWT
    assert judge(signed, "api_token")[0] == JWT
    short = head + base64.urlsafe_b64encode(hashlib.sha256(b"k").digest()[:8]).decode().rstrip("=")
    for stand_in in (head + "c2lnbmF0dXJl", head, short, head + "a"):  # `signature`, none, 8 bytes, not base64
        assert find_token(stand_in) is None, stand_in
        assert judge(stand_in, "jwt") is None and judge(stand_in, "api_token", in_tests=True) is None
