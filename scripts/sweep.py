#!/usr/bin/env python3
"""Sweep mcplint over code nobody wrote for it: every `.py` of the installed standard
library and site-packages (or the folders given), all rules, each file on its own.

It counts files, what mcplint said it could not analyse (MCP001/MCP002 and discovery
skips, by reason), findings by code, crashes and time. A crash is anything the
engine must never do on any input: raise, kill the process (a segfault in the native
parser), or run past the per-file time limit. Each file is analysed in a worker
process that the sweep restarts when it dies, so one crash is counted against its
file and the sweep goes on.

    python scripts/sweep.py                      # stdlib + site-packages
    python scripts/sweep.py --stdlib --json out.json
    python scripts/sweep.py --deep some/folder   # also run the MCP rules on every file
    python scripts/sweep.py --whole --stdlib     # plus one real `scan` of each folder
    python scripts/sweep.py --deep --every 15    # a quick sample

Exit status: 0 when nothing crashed and every diagnostic and skip has a reason, else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import subprocess
import sys
import sysconfig
import tempfile
import time
import traceback
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

DIAGNOSTICS = ("MCP001", "MCP002")
DEFAULT_TIMEOUT = 60.0  # seconds one file may take before it counts as a crash (hang)


# -- what to sweep --------------------------------------------------------------------

def default_roots(stdlib: bool, site: bool) -> list[Path]:
    paths = sysconfig.get_paths()
    roots: list[Path] = []
    if stdlib:
        roots.append(Path(paths["stdlib"]))
    if site:
        for key in ("purelib", "platlib"):
            candidate = Path(paths[key])
            if candidate.is_dir() and candidate not in roots:
                roots.append(candidate)
    return roots


def collect(roots: list[Path]) -> tuple[list[tuple[str, str]], list[dict]]:
    """((path to open, display) for every Python file, discovery skips)."""
    from mcplint.config import Config
    from mcplint.files import discover

    files: list[tuple[str, str]] = []
    skips: list[dict] = []
    seen: set[str] = set()
    for given in roots:
        given = given.resolve()
        root = given if given.is_dir() else given.parent
        # Sweep everything (`venv`, `build`, `test` are real stdlib packages), but keep the
        # standard library's own site-packages for the site-packages root.
        nested = ("site-packages",) if (root / "site-packages").is_dir() else ()
        config = Config(root=root, exclude=nested + ("__pycache__",))
        skipped: list = []
        for source in discover([given], config, skipped):
            real = os.path.realpath(source.path)
            if real in seen:
                continue
            seen.add(real)
            files.append((str(source.path), f"{root.name}/{source.display}"))
        skips += [{"path": f"{root.name}/{s.display}", "kind": s.kind, "reason": s.reason} for s in skipped]
    return files, skips


# -- the worker: one file at a time, one JSON line per file ----------------------------

def worker(deep: bool) -> None:
    """Read `[path, display]` lines on stdin, answer one JSON line each on stdout."""
    from mcplint.config import Config
    from mcplint.engine import MAX_FILE_BYTES, analyse_source, select_rules

    rules = select_rules(Config())
    analyse = analyse_source
    if deep:
        from mcplint import engine
        from mcplint.mcp.project import ModuleIndex

        def analyse(display, data, rules):  # every rule on every file, not only MCP-looking ones
            return engine.analyse_file_bytes(display, data, rules, deep=True, index=ModuleIndex([display]))

    out = sys.stdout
    for line in sys.stdin:
        path, display = json.loads(line)
        started = time.perf_counter()
        answer: dict = {"path": display}
        try:
            size = os.stat(path).st_size
            if size > MAX_FILE_BYTES:
                answer["findings"] = [["MCP002", 1, f"not analysed: file too large ({size} bytes)"]]
                answer["parsed"] = False
            else:
                with open(path, "rb") as handle:
                    data = handle.read()
                result = analyse(display, data, rules)
                answer["findings"] = [[f.code, f.span.line, f.message] for f in result.findings]
                answer["parsed"] = bool(result.parsed)
                answer["bytes"] = len(data)
        except OSError as exc:
            answer["findings"] = [["MCP002", 1, f"not analysed: cannot read: {exc.strerror or exc}"]]
            answer["parsed"] = False
        except BaseException as exc:  # noqa: BLE001 - the engine must never raise: count it
            answer["error"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:]
        answer["seconds"] = time.perf_counter() - started
        out.write(json.dumps(answer) + "\n")
        out.flush()


# -- the parent: feed workers, restart the ones that die -----------------------------

@dataclass
class Report:
    roots: list[str]
    files: int = 0
    bytes: int = 0
    parsed: int = 0
    not_needed: int = 0  # no rule looks at the file: never parsed, by design
    findings: Counter = field(default_factory=Counter)  # code -> count (rules' findings)
    diagnostics: Counter = field(default_factory=Counter)  # "MCP00x: reason" -> count
    skipped: Counter = field(default_factory=Counter)  # "kind: reason" -> count (discovery)
    crashes: list[dict] = field(default_factory=list)
    unexplained: list[dict] = field(default_factory=list)  # diagnostics or skips without a reason
    examples: dict = field(default_factory=dict)  # reason -> the first few paths
    slowest: list[tuple[float, str]] = field(default_factory=list)
    seconds: float = 0.0
    whole: list[dict] = field(default_factory=list)  # `--whole`: one real scan per root

    def as_json(self) -> dict:
        return {
            "roots": self.roots,
            "files": self.files,
            "bytes": self.bytes,
            "parsed": self.parsed,
            "not_needed": self.not_needed,
            "findings": dict(sorted(self.findings.items())),
            "diagnostics": dict(self.diagnostics.most_common()),
            "skipped": dict(self.skipped.most_common()),
            "crashes": self.crashes,
            "unexplained": self.unexplained,
            "examples": self.examples,
            "slowest": [[round(s, 3), p] for s, p in sorted(self.slowest, reverse=True)[:10]],
            "seconds": round(self.seconds, 2),
            "whole": self.whole,
        }


_NUMBERS = re.compile(r"0x[0-9a-fA-F]+|\d+")
_QUOTED = re.compile(r"`[^`]*`|'[^']*'|\"[^\"]*\"")


def reason_key(code: str, message: str) -> str:
    """`MCP002: cannot decode: 'utf-8' codec can't decode byte 0xe9 in position 12` ->
    a category without the positions and names that differ per file."""
    text = message.split(": ", 1)[1] if message.startswith(("not analysed: ", "cannot parse this file: ")) else message
    text = _NUMBERS.sub("N", _QUOTED.sub("…", text))
    return f"{code}: {text}"


class _Worker:
    @staticmethod
    def command(deep: bool) -> list[str]:
        return [sys.executable, os.path.abspath(__file__), "--worker"] + (["--deep"] if deep else [])

    def __init__(self, deep: bool):
        command = self.command(deep)
        # stderr to a file, not a pipe: warnings over thousands of files would fill a pipe
        # and block the worker
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        self.current: tuple[str, str] | None = None
        self.started = 0.0

    def send(self, item: tuple[str, str]) -> None:
        self.current, self.started = item, time.perf_counter()
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(list(item)) + "\n").encode())
        self.proc.stdin.flush()

    def stop(self, kill: bool = False) -> str:
        if kill:
            self.proc.kill()
        else:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.seek(0)
        err = self.stderr.read()
        self.stderr.close()
        return err.decode("utf-8", "replace")[-2000:]


def run(files: list[tuple[str, str]], jobs: int, timeout: float, deep: bool, report: Report,
        progress: bool = False, worker_class: type = _Worker) -> None:
    todo = deque(files)
    selector = selectors.DefaultSelector()
    workers: list[_Worker] = []

    def start() -> None:
        if not todo:
            return
        w = worker_class(deep)
        workers.append(w)
        selector.register(w.proc.stdout, selectors.EVENT_READ, w)
        w.send(todo.popleft())

    def retire(w: _Worker, kill: bool) -> str:
        selector.unregister(w.proc.stdout)
        workers.remove(w)
        return w.stop(kill=kill)

    for _ in range(max(1, min(jobs, len(todo)))):
        start()
    done = 0
    while workers:
        now = time.perf_counter()
        wait = max(0.05, min(w.started + timeout - now for w in workers))
        events = selector.select(wait)
        for key, _ in events:
            w: _Worker = key.data
            line = w.proc.stdout.readline()
            if not line:  # the worker died on this file: a crash (segfault, os._exit, OOM kill)
                path = w.current[1] if w.current else "?"
                stderr = retire(w, kill=False)
                code = w.proc.returncode
                what = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
                report.crashes.append({"path": path, "kind": "process died", "detail": f"{what}: {stderr[-500:]}"})
                done += 1
                start()
                continue
            _record(report, json.loads(line))
            done += 1
            if progress and done % 500 == 0:
                sys.stderr.write(f"  {done}/{len(files)} files\n")
            if todo:
                w.send(todo.popleft())
            else:
                w.current = None
                retire(w, kill=False)
        now = time.perf_counter()
        for w in list(workers):
            if w.current is not None and now - w.started > timeout:
                retire(w, kill=True)
                report.crashes.append({"path": w.current[1], "kind": "timeout",
                                       "detail": f"no answer after {timeout:.0f} s"})
                done += 1
                start()
    selector.close()


def _record(report: Report, answer: dict) -> None:
    path = answer["path"]
    report.files += 1
    report.bytes += answer.get("bytes", 0)
    report.slowest.append((answer.get("seconds", 0.0), path))
    report.slowest = sorted(report.slowest, reverse=True)[:10]
    if "error" in answer:
        report.crashes.append({"path": path, "kind": "exception", "detail": answer["error"]})
        return
    report.parsed += answer["parsed"]
    codes = [code for code, _, _ in answer["findings"]]
    if not answer["parsed"] and not any(c in DIAGNOSTICS for c in codes):
        report.not_needed += 1
    for code, line, message in answer["findings"]:
        if code in DIAGNOSTICS:
            key = reason_key(code, message)
            report.diagnostics[key] += 1
            _example(report, key, f"{path}:{line}")
            detail = key.split(": ", 1)[1] if ": " in key else ""
            if not detail.strip():
                report.unexplained.append({"path": path, "code": code, "message": message})
        else:
            report.findings[code] += 1


def _example(report: Report, key: str, where: str, keep: int = 3) -> None:
    shown = report.examples.setdefault(key, [])
    if len(shown) < keep:
        shown.append(where)


def whole_scan(root: Path, timeout: float) -> dict:
    """One real `mcplint.engine.scan` of `root` (the cross-file phase included), isolated."""
    code = (
        "import json, sys, time; from collections import Counter; from pathlib import Path\n"
        "from mcplint.config import Config; from mcplint.engine import scan\n"
        "root = Path(sys.argv[1]).resolve()\n"
        "nested = ('site-packages',) if (root / 'site-packages').is_dir() else ()\n"
        "t = time.perf_counter(); r = scan([root], Config(root=root, exclude=nested + ('__pycache__',)))\n"
        "print(json.dumps({'files': r.files, 'parsed': r.parsed, 'seconds': round(time.perf_counter() - t, 2),\n"
        "  'findings': dict(sorted(Counter(f.code for f in r.active).items()))}))\n"
    )
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"root": str(root), "ok": False, "detail": f"timeout after {timeout:.0f} s"}
    if done.returncode != 0:
        return {"root": str(root), "ok": False, "detail": f"exit {done.returncode}: {done.stderr[-1500:]}"}
    return {"root": str(root), "ok": True, **json.loads(done.stdout.strip().splitlines()[-1]),
            "wall": round(time.perf_counter() - started, 2)}


def sweep(roots: list[Path], *, jobs: int | None = None, timeout: float = DEFAULT_TIMEOUT, deep: bool = False,
          whole: bool = False, limit: int | None = None, every: int = 1, progress: bool = False) -> Report:
    started = time.perf_counter()
    report = Report([str(r) for r in roots])
    files, skips = collect(roots)
    files = files[::max(every, 1)]
    if limit is not None:
        files = files[:limit]
    for skip in skips:
        key = f"{skip['kind']}: {_NUMBERS.sub('N', _QUOTED.sub('…', skip['reason']))}"
        report.skipped[key] += 1
        _example(report, key, skip["path"])
        if not skip["reason"].strip():
            report.unexplained.append(skip)
    run(files, jobs or os.cpu_count() or 1, timeout, deep, report, progress=progress)
    if whole:
        report.whole = [whole_scan(root, timeout * 10) for root in roots]
        report.crashes += [{"path": w["root"], "kind": "whole scan", "detail": w["detail"]}
                           for w in report.whole if not w["ok"]]
    report.seconds = time.perf_counter() - started
    return report


def summary(report: Report) -> str:
    lines = [
        f"swept {report.files} files ({report.bytes / 1e6:.1f} MB) under {', '.join(report.roots)}",
        f"  analysed (parsed): {report.parsed}; not needed by any rule: {report.not_needed}",
        f"  crashes: {len(report.crashes)}; unexplained skips: {len(report.unexplained)}",
        f"  time: {report.seconds:.1f} s",
        "  findings by code: " + (", ".join(f"{c} {n}" for c, n in sorted(report.findings.items())) or "none"),
        "  not analysed (diagnostics by reason):",
        *(f"    {n:6}  {k}   e.g. {', '.join(report.examples.get(k, []))}" for k, n in report.diagnostics.most_common()),
        "  skipped by discovery:",
        *(f"    {n:6}  {k}   e.g. {', '.join(report.examples.get(k, []))}" for k, n in report.skipped.most_common()),
        "  slowest files: " + ", ".join(f"{p} {s:.2f}s" for s, p in sorted(report.slowest, reverse=True)[:5]),
    ]
    for w in report.whole:
        lines.append(f"  whole scan of {w['root']}: " + (
            f"ok, {w['files']} files, {w['parsed']} analysed, {w['seconds']} s, findings {w['findings']}"
            if w["ok"] else f"FAILED: {w['detail']}"))
    for crash in report.crashes:
        lines.append(f"  CRASH {crash['kind']} in {crash['path']}:\n{crash['detail']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="folders to sweep instead of the installed ones")
    parser.add_argument("--stdlib", action="store_true", help="the standard library (default: both)")
    parser.add_argument("--site-packages", action="store_true", help="site-packages (default: both)")
    parser.add_argument("--deep", action="store_true", help="run the MCP rules on every file, not only MCP-looking ones")
    parser.add_argument("--whole", action="store_true", help="also run one real scan of each folder")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes [default: one per core]")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per file before a hang counts")
    parser.add_argument("--limit", type=int, default=None, help="sweep only the first N files")
    parser.add_argument("--every", type=int, default=1, help="sweep every Nth file (a quick sample)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.deep)
        return 0
    roots = list(args.paths) or default_roots(
        args.stdlib or not args.site_packages, args.site_packages or not args.stdlib
    )
    report = sweep(roots, jobs=args.jobs, timeout=args.timeout, deep=args.deep, whole=args.whole,
                   limit=args.limit, every=args.every, progress=True)
    print(summary(report))
    if args.json is not None:
        args.json.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if report.crashes or report.unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
