"""The CLI as a user meets it: exit codes, formats, config errors, suppressions."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcplint.cli import app

runner = CliRunner()

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
SAFE = textwrap.dedent(
    """\
    import subprocess
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("demo")


    @mcp.tool()
    def clean(path: str) -> str:
        return subprocess.run(["du", "-sh", "--", path], capture_output=True, text=True).stdout
    """
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CI", raising=False)
    return tmp_path


def invoke(*args: str):
    return runner.invoke(app, ["scan", "--color", "never", *args])


def test_findings_exit_1_and_report_names_rule_handler_and_fix(project: Path) -> None:
    (project / "server.py").write_text(VULNERABLE)
    result = invoke("server.py")
    assert result.exit_code == 1, result.output
    assert "MCP301" in result.stdout
    assert "tool-shell-injection" in result.stdout
    assert "in tool `clean`" in result.stdout
    assert "fix:" in result.stdout
    assert "MCP-C04" in result.stdout and "fail" in result.stdout
    assert "Found 1 finding" in result.stdout


def test_clean_project_exits_0(project: Path) -> None:
    (project / "server.py").write_text(SAFE)
    result = invoke()
    assert result.exit_code == 0, result.output
    assert "No findings" in result.stdout


def test_exit_zero_and_fail_on(project: Path) -> None:
    (project / "server.py").write_text(VULNERABLE)
    assert invoke("--exit-zero").exit_code == 0
    assert invoke("--fail-on", "critical").exit_code == 1
    # MCP301 is critical: nothing at or above an impossible threshold is not possible,
    # so check the other direction with a rule-free selection
    assert invoke("--select", "MCP0").exit_code == 0


def test_min_confidence_hides_findings(project: Path) -> None:
    (project / "server.py").write_text(VULNERABLE)
    shown = invoke("--min-confidence", "high")
    assert shown.exit_code == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (("--fail-on", "severe"), "--fail-on: expected one of low, medium, high, critical"),
        (("--min-confidence", "sure"), "--min-confidence: expected one of low, medium, high"),
        (("--select", "MCP999"), "unknown rule selector `MCP999`"),
        (("missing.py",), "path does not exist: missing.py"),
        (("--config", "nope.toml"), "config file not found: nope.toml"),
    ],
)
def test_usage_errors_exit_2_with_one_line(project: Path, args, message) -> None:
    (project / "server.py").write_text(SAFE)
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[tool.mcplint]\nselct = ['MCP3']\n", "unknown key `selct`"),
        ("[tool.mcplint]\nfail-on = 3\n", "`fail-on` must be a string"),
        ("[tool.mcplint]\nselect = 'MCP3'\n", "`select` must be a list of strings"),
        ("[tool.mcplint\n", "invalid TOML"),
    ],
)
def test_config_errors_exit_2_naming_the_key(project: Path, toml: str, message: str) -> None:
    (project / "pyproject.toml").write_text(toml)
    (project / "server.py").write_text(SAFE)
    result = invoke()
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_file_is_found_and_flags_override_it(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.mcplint]\nignore = ['MCP301']\n")
    (project / "server.py").write_text(VULNERABLE)
    assert invoke().exit_code == 0
    assert invoke("--isolated").exit_code == 1
    (project / "mcplint.toml").write_text("fail-on = 'critical'\n")  # dedicated file wins
    assert invoke().exit_code == 1


def test_per_file_ignores_and_excludes(project: Path) -> None:
    (project / "pkg").mkdir()
    (project / "pkg" / "server.py").write_text(VULNERABLE)
    (project / "pyproject.toml").write_text('[tool.mcplint]\nper-file-ignores = { "pkg/*.py" = ["MCP3"] }\n')
    assert invoke().exit_code == 0
    (project / "pyproject.toml").write_text('[tool.mcplint]\nextend-exclude = ["pkg"]\n')
    result = invoke()
    # only pyproject.toml is left (the dependency rules read it)
    assert result.exit_code == 0 and "Scanned 1 file (1 analysed, 0 servers" in result.stdout
    # a folder named explicitly is scanned even though excluded ...
    assert invoke("pkg").exit_code == 1
    # ... unless --force-exclude (what the pre-commit hook passes)
    assert invoke("--force-exclude", "pkg/server.py").exit_code == 0


def test_default_excludes_skip_virtualenvs(project: Path) -> None:
    venv = project / "myenv"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "server.py").write_text(VULNERABLE)
    (project / "node_modules").mkdir()
    (project / "node_modules" / "server.py").write_text(VULNERABLE)
    assert invoke().exit_code == 0


def test_suppression_with_reason_silences_and_verbose_shows_it(project: Path) -> None:
    source = VULNERABLE.replace(
        'return os.popen("du -sh " + path).read()',
        'return os.popen("du -sh " + path).read()  # mcplint: ignore[MCP301] -- admin-only server',
    )
    (project / "server.py").write_text(source)
    result = invoke()
    assert result.exit_code == 0, result.stdout
    assert "1 suppressed" in result.stdout
    verbose = invoke("-v")
    assert "(suppressed)" in verbose.stdout and "admin-only server" in verbose.stdout


def test_suppression_on_any_line_of_a_multiline_statement(project: Path) -> None:
    source = VULNERABLE.replace(
        'return os.popen("du -sh " + path).read()',
        'return os.popen(\n        "du -sh "\n        + path  # mcplint: ignore[tool-shell-injection]\n    ).read()',
    )
    (project / "server.py").write_text(source)
    result = invoke()
    assert result.exit_code == 0, result.stdout


@pytest.mark.parametrize(
    "comment, code, detail",
    [
        ("# mcplint: ignore", "MCP004", "names no rule"),
        ("# mcplint: ignore[MCP399]", "MCP004", "unknown rule `MCP399`"),
        ("# mcplint: ignore[MCP302]", "MCP003", "no `MCP302` finding on this line"),
    ],
)
def test_bad_suppressions_are_reported(project: Path, comment: str, code: str, detail: str) -> None:
    (project / "server.py").write_text(SAFE.replace("mcp = FastMCP(\"demo\")", f"mcp = FastMCP(\"demo\")  {comment}"))
    result = invoke("-q")
    assert result.exit_code == 1
    assert code in result.stdout and detail in result.stdout


def test_unparsable_mcp_file_is_a_finding_not_a_crash(project: Path) -> None:
    (project / "server.py").write_text("from mcp.server.fastmcp import FastMCP\ndef broken(:\n    pass\n")
    result = invoke("-q")
    assert result.exit_code == 1
    assert "server.py:2:" in result.stdout and "MCP001" in result.stdout


def test_unreadable_encoding_is_a_finding(project: Path) -> None:
    (project / "server.py").write_bytes(b"# -*- coding: no-such-codec -*-\nfrom mcp.server.fastmcp import FastMCP\n")
    result = invoke("-q")
    assert result.exit_code == 1 and "MCP002" in result.stdout


def test_quiet_prints_one_line_per_finding(project: Path) -> None:
    (project / "server.py").write_text(VULNERABLE)
    result = invoke("-q")
    lines = result.stdout.strip().splitlines()
    assert lines == [line for line in lines if line.startswith("server.py:9:")]
    assert len(lines) == 1


def test_color_never_and_no_color_emit_no_escapes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "server.py").write_text(VULNERABLE)
    assert "\x1b[" not in invoke().stdout
    assert "\x1b[" in runner.invoke(app, ["scan", "--color", "always"]).stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[3" not in runner.invoke(app, ["scan"]).stdout


def test_rules_and_explain(project: Path) -> None:
    from mcplint.registry import all_rules

    listed = runner.invoke(app, ["rules"])
    # codes are never cut, whatever the width (names may fold onto a second line)
    assert listed.exit_code == 0 and all(r.code in listed.stdout for r in all_rules())
    as_json = json.loads(runner.invoke(app, ["rules", "--format", "json"]).stdout)
    assert {"code": "MCP301", "checklist": "MCP-C04"}.items() <= next(r for r in as_json if r["code"] == "MCP301").items()
    explained = runner.invoke(app, ["explain", "mcp301"])
    assert explained.exit_code == 0
    assert "## Example" in explained.stdout and "## Use instead" in explained.stdout
    assert runner.invoke(app, ["explain", "MCP999"]).exit_code == 2


def test_version() -> None:
    from mcplint import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


def test_parallel_scan_gives_the_same_report(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mcplint import engine

    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    for number in range(6):
        (project / f"server{number}.py").write_text(VULNERABLE)
        (project / f"clean{number}.py").write_text(SAFE)
    serial = invoke("--format", "json", "-j", "1")
    parallel = invoke("--format", "json", "-j", "2")
    assert serial.exit_code == parallel.exit_code == 1
    strip = lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "summary"})  # noqa: E731
    assert strip(serial.stdout) == strip(parallel.stdout)
    assert json.loads(parallel.stdout)["summary"]["findings"]["total"] == 6


def test_extend_sinks_from_config(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.mcplint.extend-sinks]\nMCP301 = ["opslib.remote.run_on_host"]\n')
    (project / "server.py").write_text(
        "from mcp.server.fastmcp import FastMCP\n"
        "from opslib.remote import run_on_host\n\n"
        'mcp = FastMCP("ops")\n\n\n'
        "@mcp.tool()\n"
        "def restart(service: str) -> str:\n"
        '    return run_on_host("web1", f"systemctl restart {service}")\n\n\n'
        "def nightly() -> None:\n"
        '    run_on_host("web1", "apt-get update")\n'
    )
    result = invoke("-q")
    assert result.exit_code == 1, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("server.py:9:12: MCP301")
    assert "reaches `opslib.remote.run_on_host` (a sink named in `extend-sinks`)" in lines[0]
    (project / "pyproject.toml").write_text('[tool.mcplint.extend-sinks]\nMCP501 = ["x.y"]\n')
    bad = invoke()
    assert bad.exit_code == 2 and "`MCP501` is not a rule that follows tool input" in bad.stderr


def test_diagnostics_follow_select_and_ignore(project: Path) -> None:
    """A file that does not parse is MCP001, like any rule: `--ignore` silences it."""
    (project / "broken.py").write_text("from mcp.server.fastmcp import FastMCP\ndef f(:\n")
    assert "MCP001" in invoke("--quiet").stdout
    silenced = invoke("--quiet", "--ignore", "MCP001")
    assert silenced.exit_code == 0 and "MCP001" not in silenced.stdout
    assert "MCP001" not in invoke("--quiet", "--select", "MCP3").stdout


# -- command lines read without typer (mcplint.cli.parse_plain) ---------------------------


def _typer_arguments(argv: list[str]):
    """The command and arguments typer hands to the command for `argv`, or the exit code."""
    from mcplint import cli

    seen = []
    result = CliRunner().invoke(cli.build_app(lambda command, arguments: seen.append((command, arguments))), argv)
    called = [item for item in seen if item[0] is not cli.main_callback]
    return called[0] if called and result.exit_code == 0 else result.exit_code


@pytest.mark.parametrize(
    "argv",
    [
        ["scan"],
        ["scan", "server.py"],
        ["scan", "--force-exclude", "a.py", "b/c.py"],
        ["scan", "-q", "--format", "json", "-o", "out.json", "src"],
        ["scan", "--format=sarif", "--output=o.sarif", "--select", "MCP3", "--select", "MCP5,MCP7", "--ignore=MCP501"],
        ["scan", "-f", "gitlab-sast", "-j", "2", "--jobs", "3", "--color", "never", "--no-progress", "--exit-zero"],
        ["scan", "--fail-on", "high", "--min-confidence", "medium", "--config", "x.toml", "--isolated", "-v"],
        ["scan", "--statistics", "--baseline", "b.json", "--no-cache", "--cache-dir", "c", "--diff", "main"],
        ["scan", "--exclude", "a/*", "--extend-exclude", "b/*", "--", "--weird.py", "x.py", "-"],
        ["scan", "--fail-on", ""],
        ["rules"],
        ["rules", "-f", "json"],
        ["explain", "MCP301"],
        ["inventory", "src", "--format", "json", "--color", "always"],
        ["checklist", "-f", "markdown", "--exit-zero", "-o", "card.md"],
        ["fix", "--diff", "--unsafe-fixes", "-q", "src"],
    ],
)
def test_plain_command_lines_get_what_typer_gives(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from mcplint import cli

    monkeypatch.delenv("MCPLINT_CACHE_DIR", raising=False)
    plain = cli.parse_plain(argv)
    assert plain is not None, argv
    command, arguments = _typer_arguments(argv)
    assert plain == (command, arguments)


def test_plain_command_line_reads_the_cache_dir_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcplint import cli

    monkeypatch.setenv("MCPLINT_CACHE_DIR", "/tmp/somewhere")
    assert cli.parse_plain(["scan"]) == _typer_arguments(["scan"])
    assert cli.parse_plain(["scan"])[1]["cache_dir"] == Path("/tmp/somewhere")
    assert cli.parse_plain(["scan", "--cache-dir", "here"]) == _typer_arguments(["scan", "--cache-dir", "here"])


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--version"],
        ["--version", "scan"],
        ["scan", "--help"],
        ["scan", "-h"],
        ["scan", "--bogus"],
        ["scan", "-qv"],  # typer reads clusters; the plain reader leaves them to it
        ["scan", "-fjson"],
        ["scan", "--format", "xml"],
        ["scan", "--format"],
        ["scan", "--jobs", "two"],
        ["scan", "--jobs", "-1"],
        ["scan", "--jobs", "02"],
        ["scan", "--select", "-x"],
        ["scan", "--quiet=yes"],
        ["scan", "-"],
        ["explain"],
        ["explain", "MCP301", "MCP302"],
        ["rules", "extra"],
        ["baseline", "write"],
        ["nonsense"],
    ],
)
def test_anything_else_goes_to_typer(argv: list[str]) -> None:
    from mcplint import cli

    assert cli.parse_plain(argv) is None


def test_shell_completion_goes_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcplint import cli

    monkeypatch.setenv("_MCPLINT_COMPLETE", "bash_complete")
    assert cli.parse_plain(["scan"]) is None


def test_main_without_typer_reports_as_typer_does(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from mcplint import cli

    (project / "server.py").write_text(VULNERABLE)
    (project / "clean.py").write_text(SAFE)
    for args, code in ((["server.py", "-q"], 1), (["clean.py"], 0), (["server.py", "--fail-on", "bogus"], 2),
                       (["server.py", "--format", "json", "--no-cache"], 1)):
        argv = ["scan", "--color", "never", *args]
        assert cli.parse_plain(argv) is not None
        monkeypatch.setattr("sys.argv", ["mcplint", *argv])
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
            raise SystemExit(0)
        out, err = capsys.readouterr()
        typer_result = invoke(*args)
        assert exit_info.value.code == typer_result.exit_code, args
        assert _untimed(out) == _untimed(typer_result.stdout), args
        assert _untimed(err) == _untimed(typer_result.stderr), args


def _untimed(text: str) -> str:
    return re.sub(r'\d+\.\d+s\b|"seconds": [\d.]+', "T", text)


def test_a_plain_scan_imports_neither_typer_nor_rich(project: Path) -> None:
    (project / "server.py").write_text(VULNERABLE)
    probe = (
        "import sys\n"
        "from mcplint import cli\n"
        "sys.argv = ['mcplint', 'scan', 'server.py', '--format', 'json', '-q', '--no-cache']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(repr(sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click', 'pydantic', 'rich'})))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, text=True)
    assert done.stderr.strip().endswith("[]"), done.stderr
    assert '"MCP301"' in done.stdout


def test_a_closed_pipe_exits_1_and_an_interrupt_130(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcplint import cli

    def broken_pipe():
        raise BrokenPipeError(32, "Broken pipe")

    def interrupted():
        raise KeyboardInterrupt

    streams = sys.stdout, sys.stderr
    try:
        with pytest.raises(SystemExit) as exit_info:
            cli._run_plain(broken_pipe, {})
        assert exit_info.value.code == 1
    finally:
        sys.stdout, sys.stderr = streams
    with pytest.raises(SystemExit) as exit_info:
        cli._run_plain(interrupted, {})
    assert exit_info.value.code == 130


def _command(*args: str, cwd: Path | None = None, **options) -> subprocess.CompletedProcess:
    """`mcplint` as its console script runs it (`mcplint.__main__.main`)."""
    return subprocess.run([sys.executable, "-m", "mcplint", *args], cwd=cwd, capture_output=True, **options)


def test_the_command_exits_with_the_codes_of_the_cli_and_flushes_its_output(tmp_path: Path) -> None:
    """The command leaves without tearing the interpreter down (`__main__._leave`): the
    exit codes and the output are those of the CLI."""
    (tmp_path / "server.py").write_text(
        "import subprocess\nfrom mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP('ops')\n\n\n"
        "@mcp.tool()\ndef run(command: str) -> str:\n"
        "    return subprocess.run(command, shell=True, capture_output=True, text=True).stdout\n",
        encoding="utf-8")
    found = _command("scan", "server.py", "--isolated", "--no-cache", "--format", "json", cwd=tmp_path, text=True)
    assert found.returncode == 1
    assert [f["code"] for f in json.loads(found.stdout)["findings"]] == ["MCP301"]  # all of it, flushed
    written = _command("scan", "server.py", "--isolated", "--no-cache", "--exit-zero", "--format", "sarif",
                       "-o", "out.sarif", cwd=tmp_path, text=True)
    assert written.returncode == 0
    assert json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))["runs"][0]["results"]
    usage = _command("scan", "--no-such-option", cwd=tmp_path, text=True)
    assert usage.returncode == 2 and "--no-such-option" in usage.stderr
    assert _command("--version", text=True).returncode == 0


def test_leaving_takes_sys_exit_codes() -> None:
    probe = "from mcplint.__main__ import _leave\nimport sys\nsys.stdout.write('out')\n_leave({!r})\n"
    for code, status, message in ((None, 0, ""), (3, 3, ""), ("mcplint: stopped", 1, "mcplint: stopped\n")):
        done = subprocess.run([sys.executable, "-c", probe.format(code)], capture_output=True, text=True)
        assert (done.returncode, done.stdout, done.stderr) == (status, "out", message)


def test_a_reader_that_is_gone_gets_exit_1_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import os\nfrom fastmcp import FastMCP\n\nmcp = FastMCP('x')\n\n\n"
                                     "@mcp.tool()\ndef run(command: str) -> str:\n    return os.popen(command).read()\n",
                                     encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "mcplint", "scan", "app.py", "--isolated", "--no-cache",
                                "--exit-zero", "--format", "json"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the report is written, as `| head` may be
    error = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1
    assert "Traceback" not in error and "Exception ignored" not in error, error
