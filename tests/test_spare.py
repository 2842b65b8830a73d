"""The spare worker `mcplint scan` forks at start-up (`workers.start_spare`): it imports
libcst and the rules on the other core while the CLI starts, then analyses; the report
is the one a scan without it gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mcplint import engine, workers
from mcplint.config import Config

pytestmark = pytest.mark.skipif(not workers.available() or workers.cpu_count() < 2,
                                reason="a spare worker needs forked workers and a second core")

SERVER = textwrap.dedent("""\
    import subprocess
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("ops")


    @mcp.tool()
    def run(command: str) -> str:
        return subprocess.run(command, shell=True, capture_output=True, text=True).stdout
""")
# the sink sits in a helper module: the project phase finds it, and the helper is parsed
# again to place the finding (by the spare, which the per-file phase kept)
HELPER = {
    "server.py": SERVER.replace("import subprocess\n", "from shell import run_line\n").replace(
        "subprocess.run(command, shell=True, capture_output=True, text=True).stdout", "run_line(command)"),
    "shell.py": "import subprocess\n\n\ndef run_line(line: str) -> str:\n"
                "    return subprocess.run(line, shell=True, capture_output=True, text=True).stdout\n",
}
PROBE = textwrap.dedent("""\
    import sys
    from mcplint import workers
    if sys.argv[1] == "spare":
        workers.start_spare("mcplint.engine", "warm_up")
    from mcplint.cli import main
    sys.argv = ["mcplint", "scan", "--format", "json", "--isolated", *sys.argv[2:]]
    try:
        main()
    except SystemExit:
        pass
    sys.stderr.write("LIBCST=%s SPARE=%s\\n" % ("libcst" in sys.modules, workers.has_kept()))
""")


def _probe(mode: str, path: Path, *options: str) -> tuple[str, list[dict]]:
    done = subprocess.run([sys.executable, "-c", PROBE, mode, str(path), *options], capture_output=True, text=True,
                          timeout=120)
    return done.stderr.strip().splitlines()[-1], json.loads(done.stdout)["findings"]


@pytest.mark.parametrize("files", [{"server.py": SERVER}, HELPER])
def test_the_spare_analyses_and_the_report_is_the_same(tmp_path: Path, files: dict) -> None:
    """As pre-commit runs it: the server changed since the last run, whose cache holds
    the rules' table (without it, selecting the rules imports them, and libcst too)."""
    root = tmp_path / "p"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    cache = ("--cache-dir", str(tmp_path / "cache"))
    _probe("plain", root, *cache)
    (root / "server.py").write_text(files["server.py"] + "# edited\n")
    spare, found = _probe("spare", root, *cache)
    plain, expected = _probe("plain", root, "--no-cache")
    assert plain == "LIBCST=True SPARE=False"
    # the spare was taken, and stopped when the scan ended; the command itself never
    # imported libcst, not even to place the finding the project phase found in the helper
    assert spare == "LIBCST=False SPARE=False"
    assert [f["code"] for f in found] == ["MCP301"] and found == expected


def test_a_spare_not_needed_is_stopped(tmp_path: Path) -> None:
    (tmp_path / "notes.py").write_text("def total(items):\n    return sum(items)\n")
    workers.start_spare("mcplint.engine", "warm_up")
    [spare] = workers._kept
    try:
        result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
        assert not workers.has_kept()  # stopped by the scan, not at the end of the command
    finally:
        workers.stop_kept()
    assert result.parsed == 0 and not result.findings
    assert spare.process.exitcode == -9  # killed, and reaped


def _scan_with_spare(tmp_path: Path, warm: str = "mcplint.engine:warm_up"):
    workers.start_spare(*warm.split(":"))
    try:
        result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
        assert not workers.has_kept()  # the scan took it, and stopped it when it ended
        return result
    finally:
        workers.stop_kept()


def dies_warming_up() -> None:
    time.sleep(0.5)  # the scan has given it a file by then
    os._exit(3)


def test_a_spare_that_died_before_its_first_file_costs_no_diagnostic(tmp_path: Path) -> None:
    """Its file goes to a worker of the scan's own, as if there had been no spare."""
    (tmp_path / "server.py").write_text(SERVER)
    result = _scan_with_spare(tmp_path, f"{__name__}:dies_warming_up")
    assert [(f.path, f.code) for f in result.active] == [("server.py", "MCP301")]


def test_a_crash_in_the_spare_costs_one_file_not_the_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a crash in a worker forked by the scan: a diagnostic for the file (tried again
    in a fresh worker if the spare had not analysed a file yet), the rest analysed."""
    (tmp_path / "a_server.py").write_text(SERVER)
    (tmp_path / "crash.py").write_text(SERVER)
    real = engine.analyse_file_bytes

    def crashing(path, data, rules, **kwargs):
        if path == "crash.py":
            os.kill(os.getpid(), 9)  # in the worker only
        return real(path, data, rules, **kwargs)

    monkeypatch.setattr(engine, "analyse_file_bytes", crashing)  # before the fork: the spare has it too
    result = _scan_with_spare(tmp_path)
    codes = {(f.path, f.code) for f in result.active}
    assert ("a_server.py", "MCP301") in codes
    [crash] = [f for f in result.active if f.path == "crash.py"]
    assert crash.code == "MCP002" and "crashed the analysis (signal 9)" in crash.message


def test_the_command_starts_a_spare_only_where_it_may_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mcplint.__main__ import _may_parse

    monkeypatch.chdir(tmp_path)
    for name in (".env", "Dockerfile", "server.py"):
        (tmp_path / name).write_text("x = 1\n")
    assert _may_parse(["scan"]) and _may_parse(["scan", "--format", "json"])  # the current folder
    assert _may_parse(["scan", "server.py", ".env"]) and _may_parse(["scan", str(tmp_path)])
    assert not _may_parse(["scan", "--force-exclude", ".env", "Dockerfile"])  # a pre-commit run on these
    assert not _may_parse(["baseline", "write", "."])


def pid_of(item: tuple) -> tuple[str, int]:
    return item[0], os.getpid()


def pid_plus(item: tuple, plus: int) -> tuple[str, int]:
    return item[0], os.getpid() + plus


def _failed(item: tuple, why: str) -> tuple[str, str]:
    return item[0], why


def test_a_run_keeps_its_workers_for_the_next() -> None:
    """The workers a run kept (`keep`) analyse the next run's items with its `use`; then
    `stop_kept` ends them."""
    items = [(f"f{n}",) for n in range(6)]
    try:
        first = dict(workers.run(items, pid_of, _failed, jobs=2, budget=10, keep=True))
        assert workers.has_kept() and len(set(first.values())) == 2
        kept = [worker.process for worker in workers._kept]
        second = dict(workers.run(items, pid_of, _failed, jobs=2, budget=10,
                                  use=workers.Use(__name__, "pid_plus", {"plus": 1})))
        assert {pid - 1 for pid in second.values()} <= set(first.values())  # the same processes, the new function
        assert not workers.has_kept()  # taken, and stopped at the end of a run that does not keep them
        assert all(not process.is_alive() for process in kept)
    finally:
        workers.stop_kept()


def test_a_kept_worker_that_died_costs_nothing() -> None:
    """Killed between runs (the OOM killer): its item goes to a worker the run forks."""
    try:
        first = dict(workers.run([("a",)], pid_of, _failed, jobs=1, budget=10, keep=True))
        [worker] = workers._kept
        os.kill(worker.process.pid, 9)
        worker.process.join(timeout=5)
        second = dict(workers.run([("a",), ("b",)], pid_of, _failed, jobs=1, budget=10,
                                  use=workers.Use(__name__, "pid_of")))
        assert set(second) == {"a", "b"} and all(isinstance(pid, int) for pid in second.values())
        assert first["a"] not in second.values()
    finally:
        workers.stop_kept()


def test_placing_findings_takes_the_workers_of_the_per_file_phase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper is parsed again to place the finding there: by a worker the per-file
    phase kept, not by one forked for it (which would import libcst again) nor the scan's
    own process."""
    for name, text in HELPER.items():
        (tmp_path / name).write_text(text)
    forked: list = []
    real = workers._Worker.__init__

    def counting(self, context, analyse) -> None:
        forked.append(analyse)
        real(self, context, analyse)

    monkeypatch.setattr(workers._Worker, "__init__", counting)
    located: list[int] = []
    real_locate = engine._locate
    monkeypatch.setattr(engine, "_locate", lambda item: (located.append(os.getpid()), real_locate(item))[1])
    result = engine.scan([tmp_path], Config(root=tmp_path), jobs=1)
    assert [(f.path, f.code) for f in result.active] == [("shell.py", "MCP301")]
    assert len(forked) == 1 and not located  # the one worker analysed both files and placed the finding
    assert not workers.has_kept()
