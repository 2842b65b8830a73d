"""The sweep over code nobody wrote for mcplint: the installed standard library.

`scripts/sweep.py` analyses every file in a worker process it restarts when one dies,
so a crash (an exception, a killed process, a hang) is counted against its file. Here:
the whole standard library as a scan sees it, then every rule on every file of a
sample plus the stdlib's own deliberately broken files (bad encodings, Python 2,
syntax errors). Zero crashes, and every file not analysed has a reason.
"""

from __future__ import annotations

import importlib.util
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO

STDLIB = Path(sysconfig.get_paths()["stdlib"])
# Files the stdlib keeps to test its own tokenizer and 2to3: broken on purpose.
BROKEN_ON_PURPOSE = [STDLIB / "lib2to3" / "tests" / "data", STDLIB / "test" / "tokenizedata", STDLIB / "test" / "badsyntax_3131.py"]


def _load_sweep():
    spec = importlib.util.spec_from_file_location("mcplint_sweep", REPO / "scripts" / "sweep.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


sweep = _load_sweep()


def _check(report, minimum_files: int) -> None:
    assert report.files >= minimum_files, sweep.summary(report)
    assert report.crashes == [], sweep.summary(report)
    assert report.unexplained == [], report.unexplained
    for key in list(report.diagnostics) + list(report.skipped):
        assert key.split(": ", 1)[1].strip(), key  # "MCP002: <reason>"


def test_stdlib_sweep_as_a_scan_sees_it() -> None:
    report = sweep.sweep([STDLIB], timeout=120)
    _check(report, minimum_files=500)
    assert report.parsed + report.not_needed + sum(report.diagnostics.values()) >= report.files


def test_every_rule_on_a_stdlib_sample_and_the_broken_files() -> None:
    sample = sweep.sweep([STDLIB], deep=True, every=15, timeout=120)
    # a 1-in-15 sample of what this Python ships (Debian's system Python ships less)
    expected = sum(1 for p in STDLIB.rglob("*.py") if "site-packages" not in p.parts and "dist-packages" not in p.parts) // 15
    _check(sample, minimum_files=max(10, expected * 3 // 4))
    assert sample.parsed >= sample.files * 0.9  # deep: every rule really ran
    broken = [p for p in BROKEN_ON_PURPOSE if p.exists()]
    if not broken:
        pytest.skip("this Python ships none of its deliberately broken test files")
    report = sweep.sweep(broken, deep=True, timeout=120)
    _check(report, minimum_files=1)
    assert report.diagnostics, "deliberately broken files produced no diagnostic"


FAKE_WORKER = """
import json, os, sys, time
for line in sys.stdin:
    path, display = json.loads(line)
    if display == "kill.py":
        os._exit(9)
    if display == "hang.py":
        time.sleep(60)
    if display == "raise.py":
        print(json.dumps({"path": display, "error": "Traceback: boom", "seconds": 0}), flush=True)
        continue
    print(json.dumps({"path": display, "findings": [], "parsed": True, "seconds": 0}), flush=True)
"""


class _FakeWorker(sweep._Worker):
    @staticmethod
    def command(deep: bool) -> list[str]:
        return [sys.executable, "-c", FAKE_WORKER]


def test_sweep_counts_dying_hanging_and_raising_files_and_goes_on() -> None:
    """The harness itself: each bad file is one crash, and every other file is still swept."""
    names = ["a.py", "kill.py", "b.py", "hang.py", "c.py", "raise.py", "d.py"]
    report = sweep.Report(["fake"])
    sweep.run([(name, name) for name in names], jobs=2, timeout=3, deep=False, report=report,
              worker_class=_FakeWorker)
    assert sorted((c["path"], c["kind"]) for c in report.crashes) == [
        ("hang.py", "timeout"), ("kill.py", "process died"), ("raise.py", "exception")]
    assert "exit status 9" in next(c["detail"] for c in report.crashes if c["path"] == "kill.py")
    assert report.files == 5  # a, b, c, d and raise.py answered
    assert report.parsed == 4
