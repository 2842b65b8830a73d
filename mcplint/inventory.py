"""What `mcplint inventory` computes: the attack surface of the MCP servers in a tree.

It reads the files a scan reads (same discovery, excludes and MCP prefilter), builds
the model of every file that can hold a server or its handlers, and of every module
that imports one of those (an entry point that runs a server built elsewhere often
imports no SDK), then joins them into the project view (`mcplint.mcp.join`): every
server with its transports, hosts and auth, and every tool, resource and prompt with
its parameters and file:line. A plain module whose function another file registers as
a tool is read on demand. A file that cannot be read or parsed is listed as skipped
with the reason, never a crash.
"""

from __future__ import annotations

import ast
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from mcplint.config import Config
from mcplint.engine import MAX_FILE_BYTES
from mcplint.files import SourceFile, discover
from mcplint.mcp import sdk
from mcplint.files import is_test_path
from mcplint.mcp.join import ModuleFacts, ProjectModel, collect, join
from mcplint.mcp.project import ModuleIndex
from mcplint.parse import parse_module


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str
    line: int | None = None


@dataclass
class Inventory:
    files: int  # Python files considered (after excludes)
    analysed: list[str]  # files whose MCP model was built
    project: ProjectModel
    skipped: list[Skipped] = field(default_factory=list)
    read_on_demand: list[str] = field(default_factory=list)  # plain modules read for the join

    @property
    def servers(self):
        return self.project.servers

    @property
    def handlers(self):
        return self.project.handlers

    def count(self, kind: str) -> int:
        return sum(1 for h in self.project.handlers if h.kind == kind)


def _read(source: SourceFile) -> bytes | Skipped:
    try:
        status = source.path.stat()
        if not stat.S_ISREG(status.st_mode):
            return Skipped(source.display, "not a regular file")  # a FIFO would block the read
        size = status.st_size
        if size > MAX_FILE_BYTES:
            return Skipped(source.display, f"file too large ({size} bytes)")
        data = source.path.read_bytes()
    except OSError as exc:
        return Skipped(source.display, f"cannot read: {exc.strerror or exc}")
    if b"\x00" in data:
        return Skipped(source.display, "binary file (contains NUL bytes)")
    return data


def _parse(path: str, data: bytes) -> cst.Module | Skipped:
    try:
        return parse_module(data)
    except cst.ParserSyntaxError as exc:
        try:  # CPython's message and line are the ones users know
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # about the scanned code: not ours to print
                compile(data, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except SyntaxError as py_exc:
            if py_exc.lineno:
                return Skipped(path, f"syntax error: {py_exc.msg}", py_exc.lineno)
        except (ValueError, RecursionError, MemoryError):
            pass
        detail = str(exc.message).splitlines()[0] if exc.message else "invalid syntax"
        return Skipped(path, f"syntax error: {detail}", max(exc.raw_line, 1))
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return Skipped(path, f"cannot decode: {exc}")
    except RecursionError:
        return Skipped(path, "too deeply nested to parse")


def _analyse(path: str, data: bytes, module: cst.Module, with_model: bool) -> ModuleFacts | Skipped:
    from mcplint.mcp.builder import build_model

    try:
        model = build_model(module)[0] if with_model else None
        return collect(path, module, model, source=data)
    except RecursionError:
        return Skipped(path, "too deeply nested to analyse")


def _importers_of(stems: set[str]) -> re.Pattern[bytes] | None:
    """Import lines naming one of `stems` (`from .server import create`, `import app.main`)."""
    if not stems:
        return None
    names = b"|".join(re.escape(stem.encode()) for stem in sorted(stems))
    return re.compile(rb"^[ \t]*(?:from|import)[ \t]+[\w. \t]*?\b(?:" + names + rb")\b", re.MULTILINE)


def _stem(path: str) -> str:
    stem = path[:-3] if path.endswith(".py") else path.rsplit(".", 1)[0]
    parts = stem.split("/")
    return parts[-2] if parts[-1] == "__init__" and len(parts) > 1 else parts[-1]


def build_inventory(paths: list[Path], config: Config) -> Inventory:
    """The inventory of the MCP servers under `paths` (files, or folders walked)."""
    files = discover(paths or [Path(".")], config)
    by_path = {source.display: source for source in files}
    index = ModuleIndex(list(by_path))
    facts: dict[str, ModuleFacts] = {}
    skipped: list[Skipped] = []
    plain: list[SourceFile] = []  # re-read if needed: holding every file's bytes would cost memory

    def analyse(source: SourceFile, data: bytes) -> None:
        module = _parse(source.display, data)
        result = _analyse(source.display, data, module, with_model=True) if not isinstance(module, Skipped) else module
        if isinstance(result, Skipped):
            skipped.append(result)
        else:
            facts[source.display] = result

    for source in files:
        data = _read(source)
        if isinstance(data, Skipped):
            skipped.append(data)
        elif sdk.MCP_PREFILTER.search(data):
            analyse(source, data)
        else:
            plain.append(source)
    # Entry points often import no SDK (`server = create_server(); server.run()`):
    # a file that imports an MCP module is analysed too, for what it does with the server.
    importers = _importers_of({stem for stem in map(_stem, facts) if stem.isidentifier() and stem.isascii()})
    if importers is not None:
        for source in plain:
            data = _read(source) if not is_test_path(source.display) else None
            if isinstance(data, bytes) and importers.search(data) is not None:
                analyse(source, data)
    analysed = sorted(facts)
    on_demand: list[str] = []
    failed = {s.path for s in skipped}

    def load(path: str) -> ModuleFacts | None:
        """A scanned file not analysed: its functions, classes and imports, for lookups."""
        source = by_path.get(path)
        if source is None or path in failed:
            return None
        data = _read(source)
        module = _parse(path, data) if not isinstance(data, Skipped) else data
        result = _analyse(path, data, module, with_model=False) if not isinstance(module, Skipped) else module
        if isinstance(result, Skipped):
            skipped.append(result)
            failed.add(path)
            return None
        on_demand.append(path)
        return result

    project = join(facts, index, load)
    skipped.sort(key=lambda s: s.path)
    return Inventory(
        files=len(files), analysed=analysed, project=project, skipped=skipped, read_on_demand=sorted(on_demand)
    )
