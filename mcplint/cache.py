"""The result cache: a re-run over unchanged files costs a hash per file.

One cache file per scan setting (mcplint's own code, the configuration and the paths
given) holds:

- each file's per-file result (findings, function summaries, suppressions, evidence),
  keyed by the file's content hash, how it was analysed (its mode, text) and the project
  context it was analysed in (the set of Python files, which decides what an import
  resolves to, and the manifests, which decide SDK versions). The project phase (taint
  across files) runs again from the summaries on every run that changed anything, so
  a changed helper correctly changes the findings of the unchanged tool that calls it;
- the whole result of the last scan, returned as is when no file changed — without
  importing libcst or the rules at all;
- where cross-file findings were placed (node positions, by file content): a file
  unchanged since is not parsed again to place them.

Beside them, one file per version of mcplint's code holds what the engine needs of
each rule before it parses anything (`registry.RuleInfo`): a scan whose files need no
parsing (none an MCP file, none matching a file rule's prefilter: most one-file
pre-commit runs) then imports no rule and no libcst either.

The folder (`.mcplint_cache` under the project root unless `--cache-dir` says
otherwise) carries a `CACHEDIR.TAG` (backup tools skip it) and a `.gitignore` of `*`.
A cache that cannot be read is ignored, one that cannot be written is skipped: the
cache never changes what a scan reports, only how fast.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mcplint

FORMAT = 6
KEEP = 8  # cache files kept (one per scan setting); the oldest go first
TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by mcplint.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _code_stamp() -> str:
    """mcplint's own code: its version and every module's size and mtime (an editable
    install changes without a version bump)."""
    package = Path(mcplint.__file__).parent
    parts = [mcplint.__version__, sys.version]
    for root, folders, names in os.walk(package):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for name in sorted(names):
            if name.endswith(".py"):
                info = os.stat(os.path.join(root, name))
                parts.append(f"{os.path.relpath(os.path.join(root, name), package)}:{info.st_size}:{info.st_mtime_ns}")
    return digest("\n".join(parts).encode("utf-8", "surrogatepass"))


@dataclass
class Entry:
    """One scan setting's cache."""

    patterns: tuple[tuple[str, ...], ...] = ()  # the text rules' file patterns
    context: str = ""  # the project context the per-file results were computed in
    files: dict[str, tuple[str, str, str, Any]] = field(default_factory=dict)  # path -> (digest, mode, kind, result)
    manifest: dict[str, str] = field(default_factory=dict)  # path -> digest (or "!reason") of the last scan
    final: dict[str, Any] | None = None  # the last ScanResult's fields
    # path -> (digest, spans, header lines, encoding): where cross-file findings were placed
    located: dict[str, tuple] = field(default_factory=dict)


class Cache:
    def __init__(self, folder: Path, key: str, stamp: str) -> None:
        """`key`: the scan setting's digest; `stamp`: that of mcplint's code alone."""
        self.folder = folder
        self.path = folder / f"scan-{key[:24]}.pickle"
        self.rules_path = folder / f"rules-{stamp[:24]}.pickle"
        self._rules_read = False  # `rules()` found a good table: no need to write it again
        entry = _load(self.path)
        self.entry = entry if isinstance(entry, Entry) else Entry()

    @classmethod
    def open(cls, folder: Path, config, paths: list[Path]) -> "Cache":
        stamp = f"format {FORMAT}\n{_code_stamp()}"
        setting = "\n".join([
            stamp,
            repr(config),
            *sorted(str(Path(p).resolve()) for p in paths),
        ])
        return cls(folder, digest(setting.encode("utf-8", "surrogatepass")), digest(stamp.encode("utf-8", "surrogatepass")))

    def rules(self) -> tuple | None:
        """`registry.known_rules()` as this version of mcplint's code made it, if saved."""
        rules = _load(self.rules_path)
        self._rules_read = isinstance(rules, tuple)
        return rules if self._rules_read else None

    def save_rules(self, rules: tuple) -> None:
        if not self._rules_read and self._write(self.rules_path, rules):
            _remove(old for old in self.folder.glob("rules-*.pickle") if old != self.rules_path)  # other versions'

    def reusable(self, path: str, data_digest: str, mode: str, kind: str, context: str):
        """The cached per-file result for this content and context, or None."""
        if context != self.entry.context:
            return None
        cached = self.entry.files.get(path)
        if cached is not None and cached[:3] == (data_digest, mode, kind):
            return cached[3]
        return None

    def located(self, manifest: dict[str, str]) -> dict[str, tuple]:
        """What the last scan located in files unchanged since (`summary.place_pending`)."""
        return {path: where for path, (data_digest, *where) in self.entry.located.items()
                if manifest.get(path) == data_digest}

    def save(self, entry: Entry) -> None:
        if self._write(self.path, entry):
            self._prune()

    def _write(self, path: Path, value) -> bool:
        """Pickle `value` to `path` (atomically); False if it could not be written."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tag = self.folder / "CACHEDIR.TAG"
            if not tag.exists():
                tag.write_text(TAG, encoding="ascii")
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Created by mcplint automatically.\n*\n", encoding="ascii")
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".scan-", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as out:
                    pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
            return True
        except (OSError, pickle.PicklingError, RecursionError):
            return False  # a read-only or full disk: the scan result stands, only the next run is slower

    def _prune(self) -> None:
        caches = sorted(self.folder.glob("scan-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        _remove(caches[KEEP:])


def _remove(paths) -> None:
    for path in paths:
        try:
            path.unlink()
        except OSError:
            pass


def _load(path: Path):
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except Exception:  # missing, truncated, from another version: a miss
        return None
