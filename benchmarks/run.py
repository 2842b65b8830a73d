"""Time mcplint, bandit and semgrep as whole processes on the same corpora.

    python -m benchmarks.run --setup          # once: bandit + semgrep into their own venv
    python -m benchmarks.run --runs 5 --report bench.md

Each measurement starts the tool as a child process and waits for it with `os.wait4`,
which returns the resource usage of that one child: wall time is `time.perf_counter()`
around start and reap, peak memory is the child's `ru_maxrss` (the largest resident set
of any single process in its tree, e.g. semgrep's Python wrapper or its semgrep-core;
not a sum). Rounds are interleaved (run 1 of every tool, then run 2, ...) so that noise
from other work on the machine spreads over all tools alike. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import corpus as corpora

REPO = Path(__file__).resolve().parent.parent
RULES = Path(__file__).resolve().parent / "semgrep-rules.yaml"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mcplint-bench"
TOOLS = ("mcplint", "bandit", "semgrep")
PRECOMMIT_TOOLS = ("mcplint", "bandit")  # semgrep is not timed in the pre-commit scenario
# Pinned so that a rerun on another machine compares the same tools.
PINNED = {"bandit": "bandit==1.9.4", "semgrep": "semgrep==1.185.0"}
QUIET_ENV = {
    # semgrep stalls ~96 s on an update check without this, even for --version
    "SEMGREP_ENABLE_VERSION_CHECK": "0",
    "SEMGREP_SEND_METRICS": "off",
    "NO_COLOR": "1",
}


# --- tools ------------------------------------------------------------------------------

@dataclass
class Tool:
    name: str  # mcplint, bandit, semgrep
    label: str  # the table row: a tool or a variant of one (e.g. "mcplint --no-cache")
    argv: list[str] | None  # how to start it; None = not installed
    version: str = ""
    install: str = ""  # what to run when it is missing
    extra: list[str] = field(default_factory=list)  # variant flags
    prime: bool = False  # run once untimed first (for a tool with a warm cache)

    @property
    def installed(self) -> bool:
        return self.argv is not None

    def command(self, tree: Path, out: Path, semgrep_jobs: int) -> list[str]:
        assert self.argv is not None
        if self.name == "mcplint":
            # -q like bandit's: the report goes to the file, no console copy of it on stderr
            return [*self.argv, "scan", str(tree), "--isolated", "--exit-zero", "--format", "json",
                    "-o", str(out), "--no-progress", "-q", *self.extra]
        if self.name == "bandit":
            return [*self.argv, "-r", str(tree), "-q", "-f", "json", "-o", str(out), "--exit-zero", *self.extra]
        if self.name == "semgrep":
            return [*self.argv, "scan", "--config", str(RULES), "--metrics=off", "--disable-version-check",
                    "--json", "-o", str(out), "-j", str(semgrep_jobs), "--max-target-bytes", "0", "--no-git-ignore", "-q",
                    *self.extra, str(tree)]
        raise ValueError(self.name)

    def hook_command(self, path: str, out: Path | None = None) -> list[str]:
        """The command line of the tool's pre-commit hook for one changed file: mcplint's
        entry in .pre-commit-hooks.yaml, bandit's (plain `bandit`). With `out`: the same
        with a JSON report written there (untimed, for the table's files and findings)."""
        assert self.argv is not None
        if self.name == "mcplint":
            return [*self.argv, "scan", "--force-exclude", path, *(["--format", "json", "-o", str(out)] if out else [])]
        if self.name == "bandit":
            return [*self.argv, path, *(["-f", "json", "-o", str(out)] if out else [])]
        raise ValueError(self.name)


def _bin_dirs(cache: Path) -> list[Path]:
    """Where to look for bandit/semgrep: the benchmark venv, this Python's venv, PATH."""
    venv_bin = cache / "venv" / ("Scripts" if os.name == "nt" else "bin")
    return [venv_bin, Path(sys.executable).parent]


def _which(name: str, cache: Path) -> str | None:
    for folder in _bin_dirs(cache):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def _output(argv: list[str], timeout: float = 120) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=child_env(),
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout or done.stderr).strip()


def find_tools(names: list[str], cache: Path) -> list[Tool]:
    tools: list[Tool] = []
    for name in names:
        if name == "mcplint":
            argv = [sys.executable, "-m", "mcplint"]
            version = _output([*argv, "--version"]).splitlines()
            if not version or not version[0].startswith("mcplint"):
                tools.append(Tool(name, name, None, install=f"{sys.executable} -m pip install -e {REPO}"))
                continue
            tools.append(Tool(name, name, argv, version[0].split()[-1] + _git_state()))
            # Hook for the cache: once `mcplint scan` has --no-cache, the plain row becomes
            # the warm run (primed once, untimed) and a --no-cache row shows the cold cost.
            if "--no-cache" in _output([*argv, "scan", "--help"]):
                tools[-1].prime = True
                tools.append(Tool(name, "mcplint --no-cache", argv, tools[-1].version, extra=["--no-cache"]))
        else:
            found = _which(name, cache)
            install = f"python -m benchmarks.run --setup   (or: pip install '{PINNED[name]}')"
            if found is None:
                tools.append(Tool(name, name, None, install=install))
                continue
            first = _output([found, "--version"]).splitlines()
            version = first[0].split()[-1] if first else "?"
            tools.append(Tool(name, name, [found], version, install))
    return tools


def _git_state() -> str:
    """` (abc1234, uncommitted changes in mcplint/)` for the repo being measured, read-only."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "mcplint"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""
    if not head:
        return ""
    return f" ({head}{', uncommitted changes in mcplint/' if dirty else ''})"


def child_env() -> dict[str, str]:
    """This environment for the tools, quietened, with Python's usual bytecode caching:
    some sandboxes set PYTHONDONTWRITEBYTECODE, which no user has, and which would make
    every run of a Python tool compile its modules again (see benchmarks/README.md)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(QUIET_ENV)
    return env


def setup(cache: Path, log=print) -> int:
    """Create cache/venv and install the pinned bandit and semgrep into it.

    semgrep pins its own `mcp` version: it must not share mcplint's environment.
    """
    venv = cache / "venv"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        log(f"creating {venv}")
        done = subprocess.run([sys.executable, "-m", "venv", str(venv)])
        if done.returncode:
            log("could not create the virtualenv")
            return done.returncode
    log(f"installing {' '.join(PINNED.values())} into {venv} (semgrep is ~360 MiB)")
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           *PINNED.values()])
    return done.returncode


# --- measuring --------------------------------------------------------------------------

@dataclass
class Sample:
    seconds: float
    peak_kib: int | None
    exit_code: int
    stderr: str = ""
    timed_out: bool = False
    cpu: float | None = None  # user + system seconds of the child and the descendants it reaped


def measure(argv: list[str], cwd: Path, timeout: float) -> Sample:
    """Run one child to completion: wall clock and the child's own peak RSS."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=child_env(), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        except OSError as exc:
            return Sample(0.0, None, 127, f"cannot start {argv[0]}: {exc}")
        expired = threading.Event()

        def kill() -> None:  # the whole process group: semgrep-core too
            expired.set()
            try:
                if hasattr(os, "killpg"):
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
            except OSError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            if hasattr(os, "wait4"):
                _, status, usage = os.wait4(proc.pid, 0)
                seconds = time.perf_counter() - start
                proc.returncode = code = os.waitstatus_to_exitcode(status)
                # Linux reports KiB, macOS bytes
                peak = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
                cpu = usage.ru_utime + usage.ru_stime
            else:  # Windows: time only
                code = proc.wait()
                seconds = time.perf_counter() - start
                peak = cpu = None
        finally:
            timer.cancel()
        err.seek(0)
        tail = err.read()[-4000:].decode("utf-8", "replace")
    return Sample(seconds, peak, code, tail, expired.is_set(), cpu)


def read_output(tool: str, path: Path) -> dict:
    """What the tool says it did: files scanned, findings, errors (a sanity check)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if tool == "mcplint":
        summary = data.get("summary", {})
        diagnostics = [f for f in data.get("findings", []) if f.get("code") in ("MCP001", "MCP002")]
        return {"files": summary.get("files"), "parsed": summary.get("parsed"),
                "findings": summary.get("findings", {}).get("total"), "errors": len(diagnostics)}
    if tool == "bandit":
        metrics = data.get("metrics", {})
        return {"files": sum(1 for k in metrics if k != "_totals"), "findings": len(data.get("results", [])),
                "errors": len(data.get("errors", []))}
    if tool == "semgrep":
        return {"files": len(data.get("paths", {}).get("scanned", [])), "findings": len(data.get("results", [])),
                "errors": len(data.get("errors", []))}
    return {}


@dataclass
class Row:
    corpus: str
    tool: Tool
    samples: list[Sample] = field(default_factory=list)
    output: dict = field(default_factory=dict)
    problem: str = ""  # not installed / failed / corpus missing

    @property
    def times(self) -> list[float]:
        return [s.seconds for s in self.samples]

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.samples and not self.problem else None

    @property
    def cpu_median(self) -> float | None:
        cpu = [s.cpu for s in self.samples if s.cpu is not None]
        return statistics.median(cpu) if cpu and not self.problem else None

    @property
    def peak_mib(self) -> float | None:
        peaks = [s.peak_kib for s in self.samples if s.peak_kib is not None]
        return max(peaks) / 1024 if peaks else None


def run_corpus(name: str, tree: Path, tools: list[Tool], runs: int, timeout: float, semgrep_jobs: int,
               log=print) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="mcplint-bench-") as scratch_dir:
        scratch = Path(scratch_dir)  # neutral cwd: no config file of any tool is found there
        return _run_rows(name, tools, runs, timeout, scratch, scratch,
                         lambda tool, out: tool.command(tree, out, semgrep_jobs), log=log)


def precommit_tools(tools: list[Tool]) -> list[Tool]:
    """The tools of the pre-commit scenario: mcplint and bandit as their hooks run them."""
    return [tool for tool in tools if tool.name in PRECOMMIT_TOOLS and not tool.extra]


def run_precommit(tree: Path, tools: list[Tool], runs: int, timeout: float, log=print) -> list[Row]:
    """One changed file in a large repo, for each of `corpora.PRECOMMIT_CASES`: each
    tool runs once untimed (caches primed), then before each timed run a new comment
    line is appended to the file and the tool's hook command scans it from the repo
    root. Exit code 1 (findings) is a normal outcome of a hook. One untimed run with a
    JSON report afterwards fills in files and findings."""
    rows: list[Row] = []
    for label, path in corpora.PRECOMMIT_CASES.items():
        changed = tree / path

        def edit(row: Row, index: int, changed: Path = changed) -> None:
            with changed.open("a", encoding="utf-8") as handle:
                handle.write(f"# edited for pre-commit benchmark run {index + 1} of {row.tool.label}\n")

        with tempfile.TemporaryDirectory(prefix="mcplint-bench-") as scratch_dir:
            scratch = Path(scratch_dir)
            case = _run_rows(label, precommit_tools(tools), runs, timeout, tree, scratch,
                             lambda tool, out, path=path: tool.hook_command(path), before=edit, ok=(0, 1),
                             prime_all=True, log=log)
            for row in case:
                if not row.problem:
                    out = scratch / f"{row.tool.label.replace(' ', '_')}-report.json"
                    measure(row.tool.hook_command(path, out), tree, timeout)
                    row.output = read_output(row.tool.name, out)
        rows += case
    return rows


def _run_rows(name: str, tools: list[Tool], runs: int, timeout: float, cwd: Path, scratch: Path, command,
              before=None, ok: tuple[int, ...] = (0,), prime_all: bool = False, log=print) -> list[Row]:
    """`runs` interleaved rounds of `command(tool, out)` run in `cwd`, after one untimed
    run of the tools that want priming (all with `prime_all`); `before(row, index)` runs
    before each timed run.
    A run that exits with a code not in `ok` (or times out) ends its row as failed."""
    rows = [Row(name, tool) for tool in tools]
    for row in rows:
        if not row.tool.installed:
            row.problem = f"not installed: {row.tool.install}"
    live = [r for r in rows if not r.problem]
    for row in live:
        if row.tool.prime or prime_all:
            measure(command(row.tool, scratch / "prime.json"), cwd, timeout)
    for index in range(runs):
        for row in live:
            if row.problem:
                continue
            out = scratch / f"{row.tool.label.replace(' ', '_')}.json"
            if before is not None:
                before(row, index)
            sample = measure(command(row.tool, out), cwd, timeout)
            row.samples.append(sample)
            log(f"  {name:<9} {row.tool.label:<18} run {index + 1}/{runs}  {sample.seconds:7.2f} s"
                + (f"  {sample.peak_kib / 1024:6.0f} MiB" if sample.peak_kib else ""))
            if sample.timed_out or sample.exit_code not in ok:
                why = f"timed out after {timeout:g} s" if sample.timed_out else f"exit {sample.exit_code}"
                last = sample.stderr.strip().splitlines()[-1:] or [""]
                row.problem = f"failed ({why}) {last[0][:200]}".strip().replace("|", "\\|")
                continue
            row.output = read_output(row.tool.name, out)
    return rows


# --- reporting --------------------------------------------------------------------------

def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except (OSError, ValueError):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} cores ({usable} usable)",
        "memory": memory or "?",
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except (OSError, AttributeError):
        return "?"


def _shown(argv: list[str]) -> str:
    """A command line as a reader would type it: `python -m mcplint ...` without the interpreter's path."""
    if argv[:1] == [sys.executable]:
        argv = ["python", *argv[1:]]
    return " ".join([Path(argv[0]).name, *argv[1:]])


def _bandit_row(rows: list[Row], corpus: str) -> Row | None:
    """bandit's row of `corpus`, the one every ratio is taken against."""
    return next((r for r in rows if r.corpus == corpus and r.tool.name == "bandit"), None)


def _fmt_ratio(row: Row, bandit: Row | None) -> str:
    if row.median is None or bandit is None or bandit.median is None or bandit.median == 0:
        return "—"
    return f"{row.median / bandit.median:.2f}×"


def table(rows: list[Row]) -> str:
    """The Markdown table: one row per corpus × tool."""
    lines = [
        "| corpus | tool | median s | min–max s | vs bandit | CPU s | peak MiB | files | findings |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        bandit = _bandit_row(rows, row.corpus)
        if row.problem or not row.samples:
            lines.append(f"| {row.corpus} | {row.tool.label} | {row.problem or 'not run'} | | | | | | |")
            continue
        times = row.times
        peak = f"{row.peak_mib:.0f}" if row.peak_mib is not None else "—"
        cpu = f"{row.cpu_median:.2f}" if row.cpu_median is not None else "—"
        files = row.output.get("files")
        if row.output.get("parsed") is not None:
            files = f"{files} ({row.output['parsed']} parsed)"
        findings = row.output.get("findings")
        if row.output.get("errors"):
            findings = f"{findings} ({row.output['errors']} errors)"
        lines.append(
            f"| {row.corpus} | {row.tool.label} | {row.median:.2f} | {min(times):.2f}–{max(times):.2f} | "
            f"{_fmt_ratio(row, bandit)} | {cpu} | {peak} | {files if files is not None else '?'} | "
            f"{findings if findings is not None else '?'} |"
        )
    return "\n".join(lines)


def round_ratios(rows: list[Row]) -> list[str]:
    """Each tool's time against bandit's in the same round (the runs are interleaved, so
    a round's two runs saw the same machine), as the range over the rounds."""
    out = []
    for row in rows:
        bandit = _bandit_row(rows, row.corpus)
        if row is bandit or bandit is None or row.problem or bandit.problem or len(row.samples) < 2 \
                or len(row.samples) != len(bandit.samples) or any(b.seconds <= 0 for b in bandit.samples):
            continue
        ratios = [mine.seconds / theirs.seconds for mine, theirs in zip(row.samples, bandit.samples)]
        out.append(f"- {row.corpus} / {row.tool.label}: {min(ratios):.2f}–{max(ratios):.2f}×")
    return out


def corpus_table(stats: dict[str, corpora.Stats | str]) -> str:
    lines = ["| corpus | packages | Python files | lines of Python | MiB |", "|---|---:|---:|---:|---:|"]
    for name, item in stats.items():
        if isinstance(item, str):
            lines.append(f"| {name} | {item} | | | |")
        else:
            packages = item.packages if item.packages is not None else "—"
            lines.append(f"| {name} | {packages} | {item.files:,} | {item.lines:,} | {item.bytes / 2**20:.1f} |")
    return "\n".join(lines)


def report(rows: list[Row], stats: dict, tools: list[Tool], runs: int, semgrep_jobs: int,
           loads: tuple[str, str]) -> str:
    info = machine()
    versions = ", ".join(
        f"{t.label} {t.version}" if t.installed else f"{t.label} (not installed)" for t in tools
    )
    parts = [
        f"Machine: {info['cpu']}, {info['cores']}, {info['memory']}, {info['os']}, {info['python']}.  ",
        f"Tools: {versions}.  ",
        f"Runs: {runs} per tool and corpus, interleaved; semgrep `-j {semgrep_jobs}`; "
        f"load average (1/5/15 min) before {loads[0]}, after {loads[1]}.",
        "",
        corpus_table(stats),
        "",
        table(rows),
        "",
        "Wall clock of the whole process (start-up included); CPU s, the median of its user and system "
        "time with that of the processes it started and waited for (mcplint's workers, semgrep-core); "
        "peak MiB is the largest resident set "
        "of any one process of the tool. files/findings are what each tool's JSON says it did "
        "(mcplint: files seen, and parsed = given to libcst; errors = files a tool reports it "
        "could not analyse).",
    ]
    cases = {label: path for label, path in corpora.PRECOMMIT_CASES.items() if any(r.corpus == label for r in rows)}
    if cases:
        hooks = "; ".join(f"`{_shown(t.hook_command('FILE'))}`" for t in precommit_tools(tools) if t.installed)
        parts += ["", f"precommit: a copy of mcp-real where each run first appends a comment line to FILE; each "
                      f"tool then scans that one file as its pre-commit hook does ({hooks}). FILE is "
                      + "; ".join(f"`{path}` in the {label} rows" for label, path in cases.items()) + "."]
    ratios = round_ratios(rows)
    if ratios:
        parts += ["", "Against bandit round by round (each run divided by bandit's in the same round):", "", *ratios]
    raw = [f"- {r.corpus} / {r.tool.label}: " + ", ".join(f"{t:.2f}" for t in r.times) for r in rows if r.samples]
    if raw:
        parts += ["", "Every run (s):", "", *raw]
    return "\n".join(parts) + "\n"


# --- command line -----------------------------------------------------------------------

def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Time mcplint against bandit and semgrep on the same corpora (whole processes).",
    )
    parser.add_argument("--corpus", type=_csv, default=list(corpora.CORPORA),
                        help="comma-separated: stdlib, mcp-real, fixtures, precommit (one changed file in a copy "
                             "of mcp-real, scanned as the pre-commit hooks do), or a folder (default: the first three)")
    parser.add_argument("--tools", type=_csv, default=list(TOOLS),
                        help="comma-separated subset of: mcplint, bandit, semgrep (default: all)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per tool and corpus (default: 5)")
    parser.add_argument("--setup", action="store_true",
                        help="first install the pinned bandit and semgrep into CACHE/venv")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help=f"where corpora, downloads and the venv live (default: {DEFAULT_CACHE})")
    parser.add_argument("--report", type=Path, help="also write the Markdown report to this file")
    parser.add_argument("--semgrep-jobs", type=int, default=1,
                        help="semgrep -j (default 1: mcplint and bandit use one process)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one run is killed")
    parser.add_argument("--dry-run", action="store_true",
                        help="show corpora, tools and commands; download, install and time nothing")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.semgrep_jobs < 1:
        parser.error("--semgrep-jobs must be at least 1")
    unknown = [t for t in args.tools if t not in TOOLS]
    if unknown or not args.tools:
        parser.error(f"unknown tool(s) {', '.join(unknown) or '(none given)'}: choose from {', '.join(TOOLS)}")
    if not args.corpus:
        parser.error("--corpus needs at least one corpus")
    args.cache = args.cache.expanduser().resolve()
    return args


def dry_run(args: argparse.Namespace, tools: list[Tool], out=print) -> None:
    out(f"cache: {args.cache}")
    for name in args.corpus:
        if name == "mcp-real":
            out(f"corpus mcp-real: {len(corpora.MCP_REAL)} pinned packages from PyPI")
            for package in corpora.MCP_REAL:
                out(f"  {package.name}=={package.version}  ({package.kind})")
        elif name == "stdlib":
            out(f"corpus stdlib: {corpora.stdlib_source()} -> {args.cache / 'corpora' / corpora.stdlib_name()}")
        elif name == "fixtures":
            out(f"corpus fixtures: {REPO / 'fixtures'}")
        elif name == corpora.PRECOMMIT:
            out(f"corpus precommit: a copy of mcp-real; before each run a comment line is appended to FILE "
                f"({', '.join(corpora.PRECOMMIT_CASES.values())}, in turn), then each tool's pre-commit hook "
                f"scans that file:")
            for tool in precommit_tools(tools):
                if tool.installed:
                    out(f"  {tool.label}: {' '.join(tool.hook_command('FILE'))}")
        else:
            out(f"corpus {name}: folder")
    tree = Path("<corpus>")
    for tool in tools:
        if tool.installed:
            out(f"{tool.label} {tool.version}: {' '.join(tool.command(tree, Path('<out.json>'), args.semgrep_jobs))}")
        else:
            out(f"{tool.label}: not installed: {tool.install}")
    out(f"{args.runs} run(s) each")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    if args.setup and not args.dry_run:
        args.cache.mkdir(parents=True, exist_ok=True)
        if setup(args.cache, log):
            log("setup failed; continuing with the tools that are installed")
    tools = find_tools(args.tools, args.cache)
    if args.dry_run:
        dry_run(args, tools)
        return 0
    args.cache.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    stats: dict[str, corpora.Stats | str] = {}
    before = load()
    for name in args.corpus:
        log(f"corpus {name}: preparing")
        try:
            tree = corpora.prepare(name, args.cache, REPO, log=log)
        except corpora.CorpusError as exc:
            log(f"corpus {name}: {exc}")
            stats[name] = f"unavailable: {exc}"
            rows += [Row(name, tool, problem="corpus unavailable") for tool in tools]
            continue
        label = name if name in (*corpora.CORPORA, corpora.PRECOMMIT) else tree.name
        stats[label] = corpora.describe(name, tree)
        log(f"corpus {label}: {stats[label].files} files, {stats[label].lines} lines in {tree}")
        if name == corpora.PRECOMMIT:
            rows += run_precommit(tree, tools, args.runs, args.timeout, log=log)
        else:
            rows += run_corpus(label, tree, tools, args.runs, args.timeout, args.semgrep_jobs, log=log)
    text = report(rows, stats, tools, args.runs, args.semgrep_jobs, (before, load()))
    print(text, end="")
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text, encoding="utf-8")
        log(f"report written to {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
