"""Worker processes for the per-file phase that the parent can stop.

A timer signal cannot interrupt libcst's native parser (it holds the interpreter
until it returns, and some inputs make it superlinear), and a crash in native code
would take the whole scan with it. So each file is analysed in a forked worker: the
parent hands out one file at a time, kills a worker whose file runs over the budget
and starts a new one, and turns a worker that died into a diagnostic for its file.
The rest of the scan goes on either way.

Workers are forked (cheap: the parent's imported modules and rules are shared);
where fork is not available or safe (Windows, macOS) the caller analyses in-process.
One, the spare (`start_spare`), is forked as `mcplint scan` starts, before the command
has imported anything much: it imports libcst and the rules on the other core while
the command starts up, and the first `run` takes it as one of its workers. A run may
keep its workers for the next (`keep`): placing the project phase's findings parses
files again, in workers that have imported libcst already, not in the command.
"""

from __future__ import annotations

import functools
import importlib
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterator

# What the caller does for one item, and the result for an item that overran or crashed.
Analyse = Callable[[tuple], object]
OnFailure = Callable[[tuple, str], object]


def available() -> bool:
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


@dataclass(frozen=True)
class Use:
    """What a worker that `run` takes (the spare, `start_spare`, or one an earlier run
    kept) analyses items with: `module.name(item, **kwargs)`. Named, not pickled: the
    function of a scan is made after the spare was forked."""

    module: str
    name: str
    kwargs: dict = field(default_factory=dict)

    def function(self) -> Analyse:
        return functools.partial(getattr(importlib.import_module(self.module), self.name), **self.kwargs)


def _serve(conn, analyse: Analyse | None, warm: tuple[str, str] | None = None) -> None:
    """A worker: analyse items until told to stop (None). A spare first calls
    `warm` (module, function) and waits for a `Use`."""
    if warm is not None:
        try:
            getattr(importlib.import_module(warm[0]), warm[1])()
        except KeyboardInterrupt:
            return
        except Exception:  # noqa: S110 - the analysis imports the same again and reports what fails
            pass
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if item is None:
            return
        if isinstance(item, Use):
            analyse = item.function()
            continue
        try:
            reply = ("ok", analyse(item))
        except BaseException as exc:  # handed to the parent, which raises it as in-process analysis would
            reply = ("error", exc)
        try:
            conn.send(reply)
        except Exception as exc:  # an unpicklable exception or result
            conn.send(("error", RuntimeError(f"worker could not return its result: {exc!r}")))


class _Worker:
    def __init__(self, context, analyse: Analyse) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, analyse), daemon=True)
        self.process.start()
        child.close()
        self.item: tuple | None = None
        self.started = 0.0
        self.untried = False  # taken by a run (the spare, a kept worker) and no result returned since

    @classmethod
    def spare(cls, spare: _Spare) -> _Worker:
        worker = cls.__new__(cls)
        worker.conn, worker.process = _Ends(spare.replies, spare.requests), spare
        worker.item, worker.started, worker.untried = None, 0.0, False
        return worker

    def give(self, item: tuple) -> None:
        self.item, self.started = item, time.monotonic()
        self.conn.send(item)

    def stop(self, kill: bool = False) -> None:
        try:
            if kill:
                self.process.kill()
            else:
                self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():  # pragma: no cover - a worker that ignores its stop
            self.process.kill()
            self.process.join()
        self.conn.close()


class _Ends:
    """The parent's or the spare's ends of two pipes, as one duplex `Connection`."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        from multiprocessing.connection import Connection

        self._in, self._out = Connection(read_fd, writable=False), Connection(write_fd, readable=False)

    def send(self, obj) -> None:
        self._out.send(obj)

    def recv(self):
        return self._in.recv()

    def fileno(self) -> int:  # what `multiprocessing.connection.wait` waits on
        return self._in.fileno()

    def close(self) -> None:
        self._in.close()
        self._out.close()


class _Spare:
    """The spare worker: forked with `os.fork` (a `multiprocessing.Process` costs ~10 ms
    more to start and stop, paid by every run that then has no use for it), with the
    `Process` methods `_Worker` uses."""

    def __init__(self, module: str, function: str) -> None:
        requests, replies = os.pipe(), os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the spare: it serves, then exits without the parent's exit handlers
            os.close(requests[1])
            os.close(replies[0])
            code = 1
            try:
                _serve(_Ends(requests[0], replies[1]), None, (module, function))
                code = 0
            finally:
                os._exit(code)
        os.close(requests[0])
        os.close(replies[1])
        self.requests, self.replies = requests[1], replies[0]  # the parent's ends
        self.exitcode: int | None = None

    def is_alive(self) -> bool:
        self._reap(block=False)
        return self.exitcode is None

    def kill(self) -> None:
        if self.exitcode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def join(self, timeout: float | None = None) -> None:
        if timeout is None:
            self._reap(block=True)
            return
        deadline = time.monotonic() + timeout
        while self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.001)

    def _reap(self, block: bool) -> None:
        if self.exitcode is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere
                self.exitcode = -signal.SIGKILL
                return
            if pid:
                self.exitcode = os.waitstatus_to_exitcode(status)


# Idle workers the next `run` given a `use` takes before it forks any: the spare, then
# the workers of a run that kept them.
_kept: list[_Worker] = []


def start_spare(module: str, function: str) -> None:
    """Fork a worker now, at the start of a command, that calls `module.function()` (the
    imports analysing a file needs: libcst and the rules, ~0.2 s) while the command
    starts up, reads its configuration and its files on the other core. The first `run`
    given a `use` takes it as one of its workers. Only where workers fork, and with a
    second core to do it on."""
    if not _kept and available() and cpu_count() > 1:
        _kept.append(_Worker.spare(_Spare(module, function)))


def has_kept() -> bool:
    """Is there a spare, or a worker a run kept?"""
    return bool(_kept)


def stop_kept() -> None:
    """Stop the spare if no run took it (the command needed no analysis), and the workers
    runs kept."""
    while _kept:
        _kept.pop().stop(kill=True)


def run(items: list[tuple] | deque, analyse: Analyse, on_failure: OnFailure, *, jobs: int, budget: float,
        use: Use | None = None, keep: bool = False) -> Iterator:
    """Results of `analyse(item)` for every item, in completion order, from up to `jobs`
    workers. `items` may be a deque that the caller extends while it reads results (work
    found from earlier results); the run ends when it is empty and no worker is busy.
    `use`: `analyse` by name, for the workers this run takes before it forks its own: the
    spare (`start_spare`) and those an earlier run kept. `keep`: leave this run's idle
    workers to the next run (`stop_kept` stops them).

    An item still running after `budget` seconds (0: no budget) gets
    `on_failure(item, "exceeded the N s budget for one file")`; an item whose worker
    died gets `on_failure(item, "crashed the analysis (...)")`.
    """
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("fork")
    pending = items if isinstance(items, deque) else deque(items)
    idle: list[_Worker] = []
    busy: dict[object, _Worker] = {}
    while use is not None and _kept and pending and len(idle) < jobs:
        worker = _kept.pop(0)
        try:
            worker.conn.send(use)
            worker.untried = True  # if it is gone, its first item goes to another worker
            idle.append(worker)
        except OSError:  # it is gone: the run forks its own
            worker.stop(kill=True)
    try:
        while pending or busy:
            while pending and (idle or len(busy) < jobs):
                worker = idle.pop() if idle else _Worker(context, analyse)
                item = pending.popleft()
                try:
                    worker.give(item)
                except OSError:
                    pending.appendleft(item)
                    worker.stop(kill=True)
                    if worker.untried:
                        continue
                    raise
                busy[worker.conn] = worker
            timeout = None
            if budget > 0:
                deadline = min(w.started for w in busy.values()) + budget
                timeout = max(0.0, deadline - time.monotonic())
            for conn in wait(list(busy), timeout=timeout):
                worker = busy.pop(conn)
                try:
                    status, value = conn.recv()
                except (EOFError, OSError):
                    worker.process.join(timeout=5)  # reap it: its exit code says how it died
                    code = worker.process.exitcode
                    worker.stop(kill=True)
                    if worker.untried:  # a worker taken may have died before its first item: tried again
                        pending.appendleft(worker.item)
                        continue
                    how = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
                    yield on_failure(worker.item, f"crashed the analysis ({how})")
                    continue
                if status == "error":
                    raise value
                worker.untried = False
                idle.append(worker)
                yield value
            if budget > 0:
                now = time.monotonic()
                for conn, worker in list(busy.items()):
                    if now - worker.started >= budget:
                        del busy[conn]
                        worker.stop(kill=True)
                        yield on_failure(worker.item, f"exceeded the {budget:g} s budget for one file")
    finally:
        for worker in idle:
            if keep:
                _kept.append(worker)
            else:
                worker.stop()
        for worker in busy.values():
            worker.stop(kill=True)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1
