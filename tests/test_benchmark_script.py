"""The benchmark script works: options, corpus manifest and preparation, the table.

Nothing here measures or asserts speed, downloads or installs anything.
"""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import pytest

from benchmarks import corpus
from benchmarks import run as bench


def test_defaults_and_lists() -> None:
    args = bench.parse_args([])
    assert args.runs == 5
    assert args.corpus == ["stdlib", "mcp-real", "fixtures"]
    assert args.tools == ["mcplint", "bandit", "semgrep"]
    assert args.semgrep_jobs == 1
    assert args.cache.is_absolute()
    args = bench.parse_args(["--corpus", "fixtures, stdlib", "--tools", "mcplint", "--runs", "2"])
    assert args.corpus == ["fixtures", "stdlib"] and args.tools == ["mcplint"] and args.runs == 2


@pytest.mark.parametrize("argv", [["--runs", "0"], ["--tools", "ruff"], ["--tools", ""], ["--semgrep-jobs", "0"]])
def test_bad_options_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(argv)
    assert exc.value.code == 2


def test_manifest_is_pinned_real_servers() -> None:
    names = [p.name for p in corpus.MCP_REAL]
    assert 30 <= len(names) <= 45
    assert len({corpus.normalize(n) for n in names}) == len(names)
    for package in corpus.MCP_REAL:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", package.name), package
        assert re.fullmatch(r"[0-9][0-9A-Za-z.]*", package.version), package  # exact, no specifier
        assert package.kind in {"reference", "database", "shell", "cloud", "documents", "web"}
    for official in ("mcp-server-fetch", "mcp-server-git", "mcp-server-time", "mcp-server-sqlite"):
        assert official in names
    assert sum(n.startswith("awslabs.") for n in names) >= 3


def test_copy_keeps_python_and_drops_excluded_folders(tmp_path: Path) -> None:
    source = tmp_path / "src"
    for name, text in {
        "pkg/a.py": "x = 1\ny = 2\n",
        "pkg/b.py": "z = 3",  # no final newline: still one line
        "pkg/tests/test_a.py": "assert True\n",
        "venv/lib.py": "",
        "pkg/__pycache__/a.py": "",
        "pkg.egg-info/setup.py": "",
        "pkg/readme.txt": "not python\n",
    }.items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (source / "pkg" / "link.py").symlink_to(source / "pkg" / "a.py")
    target = tmp_path / "out"
    assert corpus.copy_python(source, target) == 2
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == ["pkg/a.py", "pkg/b.py"]
    stats = corpus.count(target)
    assert (stats.files, stats.lines) == (2, 3)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_sdist_unpack_strips_top_folder_and_refuses_escapes(tmp_path: Path) -> None:
    archive = tmp_path / "demo_server-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        _add(tar, "demo_server-1.0/src/demo_server/server.py", b"import mcp\n")
        _add(tar, "demo_server-1.0/tests/test_server.py", b"")
        _add(tar, "demo_server-1.0/PKG-INFO", b"Name: demo\n")
        _add(tar, "demo_server-1.0/../../escape.py", b"")
    target = tmp_path / "out"
    assert corpus.unpack_python(archive, target) == 1
    assert (target / "src" / "demo_server" / "server.py").read_bytes() == b"import mcp\n"
    assert not (tmp_path / "escape.py").exists()


def _row(corpus_name: str, name: str, times: list[float], peak_kib: int = 51200, **output) -> bench.Row:
    tool = bench.Tool(name, name, ["/bin/true"], "1.0")
    return bench.Row(corpus_name, tool, [bench.Sample(t, peak_kib, 0, cpu=2 * t) for t in times], dict(output))


def test_table_has_medians_ratios_and_missing_tools() -> None:
    rows = [
        _row("stdlib", "mcplint", [3.0, 1.0, 2.0], files=10, parsed=2, findings=0, errors=1),
        _row("stdlib", "bandit", [4.0, 5.0, 4.0], files=10, findings=7),
        bench.Row("stdlib", bench.Tool("semgrep", "semgrep", None, install="pip install semgrep"),
                  problem="not installed: pip install semgrep"),
        _row("fixtures", "mcplint", [1.0]),
    ]
    text = bench.table(rows)
    lines = text.splitlines()
    assert lines[0].startswith("| corpus | tool | median s | min–max s | vs bandit | CPU s | peak MiB |")
    assert "| stdlib | mcplint | 2.00 | 1.00–3.00 | 0.50× | 4.00 | 50 | 10 (2 parsed) | 0 (1 errors) |" in lines
    assert "| stdlib | bandit | 4.00 | 4.00–5.00 | 1.00× | 8.00 | 50 | 10 | 7 |" in lines
    assert any(line.startswith("| stdlib | semgrep | not installed: pip install semgrep") for line in lines)
    assert "| fixtures | mcplint | 1.00 | 1.00–1.00 | — | 2.00 | 50 | ? | ? |" in lines  # no bandit: no ratio


def test_ratios_pair_each_run_with_bandits_in_the_same_round() -> None:
    rows = [
        _row("mcp-real", "mcplint", [2.0, 6.0, 3.0]),
        _row("mcp-real", "bandit", [10.0, 12.0, 4.0]),
        _row("fixtures", "mcplint", [1.0, 1.0]),  # no bandit row: no ratio
        _row("stdlib", "mcplint", [1.0, 2.0]),
        _row("stdlib", "bandit", [4.0]),  # rounds that do not pair up: no ratio
    ]
    assert bench.round_ratios(rows) == ["- mcp-real / mcplint: 0.20–0.75×"]  # the medians give 0.30×
    text = bench.report(rows, {}, [], 3, 1, ("0", "0"))
    assert "Against bandit round by round" in text and "- mcp-real / mcplint: 0.20–0.75×" in text


def test_report_describes_the_machine() -> None:
    stats = {"fixtures": corpus.Stats(21, 2254, 90000)}
    text = bench.report([_row("fixtures", "bandit", [1.0])], stats, [bench.Tool("bandit", "bandit", ["b"], "1.9.4")],
                        1, 1, ("0.10 / 0.20 / 0.30", "0.40 / 0.50 / 0.60"))
    assert "Machine: " in text and "Tools: bandit 1.9.4" in text and "semgrep `-j 1`" in text
    assert "| fixtures | — | 21 | 2,254 | 0.1 |" in text


def test_dry_run_prints_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--dry-run", "--cache", str(tmp_path), "--tools", "mcplint"]) == 0
    out = capsys.readouterr().out
    assert "mcp-server-git==2026.10.19" in out
    assert "-m mcplint scan <corpus> --isolated --exit-zero --format json" in out
    assert not any(tmp_path.iterdir())  # nothing prepared, downloaded or installed


def test_one_run_of_mcplint_on_a_tiny_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "tiny"
    (project / "tests").mkdir(parents=True)
    (project / "server.py").write_text(
        "import os\nfrom mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP('demo')\n\n\n"
        "@mcp.tool()\ndef clean(path: str) -> str:\n    return os.popen('du -sh ' + path).read()\n"
    )
    (project / "util.py").write_text("X = 1\n")
    (project / "tests" / "test_server.py").write_text("assert True\n")
    report = tmp_path / "report.md"
    code = bench.main(["--corpus", str(project), "--tools", "mcplint", "--runs", "1",
                       "--cache", str(tmp_path / "cache"), "--report", str(report)])
    assert code == 0
    out = capsys.readouterr().out
    assert report.read_text(encoding="utf-8") == out
    row = next(line for line in out.splitlines() if line.startswith("| custom-tiny | mcplint |"))
    assert "failed" not in row, row  # mcplint itself crashed: the script reports, not raises
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[4] == "—"  # no bandit row to compare with
    assert float(cells[5]) > 0  # CPU seconds, from the child's resource usage
    assert cells[7].startswith("2 ")  # tests/ was left out of the corpus for every tool
    assert int(cells[8]) >= 1  # the shell injection was found: the run really scanned
    assert "| custom-tiny | — | 2 | 10 |" in out


# -- the pre-commit scenario ----------------------------------------------------------------


def test_precommit_changes_one_file_of_a_pinned_server() -> None:
    assert bench.parse_args(["--corpus", "precommit"]).corpus == ["precommit"]
    assert "precommit" not in bench.parse_args([]).corpus  # not a default: it rewrites a corpus copy
    assert list(corpus.PRECOMMIT_CASES) == ["precommit", "precommit flow", "precommit helper"]
    packages = [next(p.name for p in corpus.MCP_REAL if path.startswith(f"{p.name}-{p.version}/"))
                for path in corpus.PRECOMMIT_CASES.values()]
    assert packages == ["mcp-server-sqlite", "mcp-server-git", "postgres-mcp"]
    assert corpus.PRECOMMIT_FILE.endswith("/server.py") and corpus.PRECOMMIT_FLOW.endswith("/server.py")


def test_children_write_bytecode_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    env = bench.child_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env and env["SEMGREP_SEND_METRICS"] == "off"


def test_hook_commands_are_the_hooks(repo: Path) -> None:
    hooks = (repo / ".pre-commit-hooks.yaml").read_text()
    entry = re.search(r"^\s*entry:\s*(.+)$", hooks, re.MULTILINE).group(1).split()
    mcplint = bench.Tool("mcplint", "mcplint", ["python", "-m", "mcplint"], "0.1")
    assert entry[0] == "mcplint"
    assert mcplint.hook_command("a/server.py") == ["python", "-m", "mcplint", *entry[1:], "a/server.py"]
    assert mcplint.hook_command("s.py", Path("o.json"))[-4:] == ["--format", "json", "-o", "o.json"]
    bandit = bench.Tool("bandit", "bandit", ["bandit"], "1.9.4")
    assert bandit.hook_command("a/server.py") == ["bandit", "a/server.py"]


def test_dry_run_prints_the_precommit_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--dry-run", "--cache", str(tmp_path), "--corpus", "precommit", "--tools", "mcplint"]) == 0
    out = capsys.readouterr().out
    assert "-m mcplint scan --force-exclude FILE" in out
    assert all(path in out for path in corpus.PRECOMMIT_CASES.values())
    assert not any(tmp_path.iterdir())


def test_precommit_rounds_edit_the_file_before_each_timed_run(tmp_path: Path) -> None:
    import sys

    for path in corpus.PRECOMMIT_CASES.values():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("import mcp\n")
    exits = "import sys; sys.exit({})"

    def tool(name: str, code: int, **extra) -> bench.Tool:
        return bench.Tool(name, extra.pop("label", name), [sys.executable, "-c", exits.format(code)], "1", **extra)

    tools = [tool("mcplint", 1, prime=True), tool("mcplint", 1, label="mcplint --no-cache", extra=["--no-cache"]),
             tool("bandit", 0), tool("semgrep", 0)]
    rows = bench.run_precommit(tmp_path, tools, 2, 60, log=lambda message: None)
    # the hooks, for each changed file; no variants, no semgrep
    assert [(row.corpus, row.tool.label) for row in rows] == [
        ("precommit", "mcplint"), ("precommit", "bandit"), ("precommit flow", "mcplint"), ("precommit flow", "bandit"),
        ("precommit helper", "mcplint"), ("precommit helper", "bandit")]
    assert all(len(row.samples) == 2 and not row.problem for row in rows)  # exit 1 = findings: a hook's normal outcome
    for path in corpus.PRECOMMIT_CASES.values():
        lines = (tmp_path / path).read_text().splitlines()
        assert lines[0] == "import mcp" and len(lines) == 1 + 2 * 2 and len(set(lines)) == len(lines)
    failing = bench.run_precommit(tmp_path, [tool("mcplint", 2)], 2, 60, log=lambda message: None)
    assert all(row.problem.startswith("failed (exit 2)") and len(row.samples) == 1 for row in failing)
