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
  importing libcst or the rules at all.

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

FORMAT = 2
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


@dataclass(frozen=True)
class RuleRef:
    """What reports and the scorecard need of a rule, without importing it."""

    code: str
    scope: str
    checklist: str | None
    meta: Any  # RuleMeta


@dataclass
class Entry:
    """One scan setting's cache."""

    patterns: tuple[tuple[str, ...], ...] = ()  # the text rules' file patterns
    context: str = ""  # the project context the per-file results were computed in
    files: dict[str, tuple[str, str, str, Any]] = field(default_factory=dict)  # path -> (digest, mode, kind, result)
    manifest: dict[str, str] = field(default_factory=dict)  # path -> digest (or "!reason") of the last scan
    final: dict[str, Any] | None = None  # the last ScanResult's fields


class Cache:
    def __init__(self, folder: Path, key: str) -> None:
        self.folder = folder
        self.path = folder / f"scan-{key[:24]}.pickle"
        self.entry = self._load() or Entry()

    @classmethod
    def open(cls, folder: Path, config, paths: list[Path]) -> "Cache":
        setting = "\n".join([
            f"format {FORMAT}",
            _code_stamp(),
            repr(config),
            *sorted(str(Path(p).resolve()) for p in paths),
        ])
        return cls(folder, digest(setting.encode("utf-8", "surrogatepass")))

    def _load(self) -> Entry | None:
        try:
            with open(self.path, "rb") as handle:
                entry = pickle.load(handle)
            return entry if isinstance(entry, Entry) else None
        except Exception:  # missing, truncated, from another version: a miss
            return None

    def reusable(self, path: str, data_digest: str, mode: str, kind: str, context: str):
        """The cached per-file result for this content and context, or None."""
        if context != self.entry.context:
            return None
        cached = self.entry.files.get(path)
        if cached is not None and cached[:3] == (data_digest, mode, kind):
            return cached[3]
        return None

    def save(self, entry: Entry) -> None:
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
                    pickle.dump(entry, out, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
            self._prune()
        except (OSError, pickle.PicklingError, RecursionError):
            pass  # a read-only or full disk: the scan result stands, only the next run is slower

    def _prune(self) -> None:
        caches = sorted(self.folder.glob("scan-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in caches[KEEP:]:
            try:
                old.unlink()
            except OSError:
                pass
