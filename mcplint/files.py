"""Which files a scan reads: walk the given paths, honour excludes, never loop.

Discovery never follows a symlink to a folder (no loops, no escaping the tree) and
never reads a file: it only lists. What it cannot or will not hand to the engine is
returned as a `Skipped` entry with a reason, so the scan can say what it did not
analyse instead of dropping it silently:

- a folder it cannot list (permissions, a name too long, removed during the walk);
- a `.py` symlink that points outside the scanned folders (a hostile tree could link
  `settings.py` to `~/.aws/credentials` and have its lines echoed into CI logs);
- a `.py` name that is not a regular file (a FIFO would block the scan forever).

A broken or looping `.py` symlink is listed under its own name: reading it fails,
and the engine reports the error for that name.

Symlinks to folders are not followed and not reported: a link to a folder inside the
tree is scanned at its real location, and one outside belongs to another tree.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from pathlib import Path
from typing import Callable

from mcplint.config import Config, ConfigError

PYTHON_SUFFIXES = (".py", ".pyw")
# Named on the command line (pre-commit passes every staged file the hook's types
# allow) but not Python and wanted by no text rule: not analysed.
NOT_PYTHON_SUFFIXES = (".json", ".toml", ".txt", ".lock", ".yaml", ".yml", ".md", ".rst", ".cfg", ".ini", ".env",
                       ".js", ".ts", ".html", ".css", ".sh", ".in")

# Which non-Python files to list: a predicate on the display path (the text rules'
# patterns and the dependency manifests). None: Python only.
Wanted = Callable[[str], bool] | None


@dataclass(frozen=True)
class SourceFile:
    path: Path  # what to open
    display: str  # relative to the scan root, forward slashes
    kind: str = "python"  # or "text": a file for the text rules and project facts


_TEST_PATH = re.compile(r"(?:^|/)(?:tests?|testing)/|(?:^|/)(?:test_[^/]*|[^/]*_test|conftest|tests)\.py$")


def is_test_path(path: str) -> bool:
    """`tests/...`, `test_x.py`, `x_test.py`, `tests.py`, `conftest.py`: test code, full of
    stand-in credentials and demo servers; not the served surface."""
    return _TEST_PATH.search(path.replace("\\", "/")) is not None


def matches(patterns: tuple[str, ...], path: str) -> bool:
    """Does `path` (display path) match one of a text rule's `files` patterns? A pattern
    is matched against the file's name, or its last path parts when it has a slash."""
    parts = path.split("/")
    return any(fnmatch("/".join(parts[-(pattern.count("/") + 1):]), pattern) for pattern in patterns)


def _kind(display: str, wanted: Wanted, named: bool = False) -> str | None:
    """"python", "text", or None (not scanned). A file named on the command line
    is Python unless a text rule wants it or its suffix says it is something else."""
    name = display.rsplit("/", 1)[-1]
    if name.endswith(PYTHON_SUFFIXES):
        return "python"
    if wanted is not None and wanted(display):
        return "text"
    if named and not name.lower().endswith(NOT_PYTHON_SUFFIXES) and not name.startswith(".env"):
        return "python"
    return None


@dataclass(frozen=True)
class Skipped:
    """A path discovery will not hand to the engine, and why (for an MCP002 finding)."""

    path: Path
    display: str  # as for SourceFile: the link or folder itself, not its target
    reason: str  # a phrase: "cannot read folder: Permission denied"
    kind: str  # unreadable-folder | outside-root | not-a-file


def _real(path: Path | str) -> Path:
    """The resolved path; never raises (a symlink loop resolves as far as it can)."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError, RuntimeError):  # pragma: no cover - realpath(strict=False) does not raise
        return Path(os.path.abspath(path))


def _relative(real: Path, root: Path) -> str:
    try:
        return real.relative_to(root).as_posix()
    except ValueError:
        return real.as_posix()


def _display(path: Path, root: Path) -> str:
    """Where a file really is, relative to the root (symlinks resolved)."""
    return _relative(_real(path), root)


def _link_display(path: Path, root: Path) -> str:
    """Where a symlink itself is (its folder resolved, the link not followed)."""
    return _relative(_real(path.parent) / path.name, root)


def _within(path: Path, folders: tuple[Path, ...]) -> bool:
    return any(path == folder or path.is_relative_to(folder) for folder in folders)


def _strerror(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _check_link(path: Path, root: Path, allowed: tuple[Path, ...] | None) -> SourceFile | Skipped:
    """A `.py` symlink: the file to read, or why it is not read.

    A broken or looping link is handed on under its own name: reading it fails and
    the engine reports why (`No such file or directory`, `Too many levels of symbolic
    links`). `allowed`: the folders a target must be inside (None: anywhere, for a
    link the user named on the command line).
    """
    try:
        info = os.stat(path)
    except OSError:
        display = _link_display(path, root)
        return SourceFile(path, display)
    if not stat.S_ISREG(info.st_mode):
        display = _link_display(path, root)
        return Skipped(path, display, f"symlink to `{_target(path)}`, which is not a regular file", "not-a-file")
    if allowed is not None and not _within(_real(path), allowed):
        display = _link_display(path, root)
        return Skipped(
            path, display, f"symlink to `{_target(path)}`, outside the scanned folder: not followed", "outside-root"
        )
    display = _display(path, root)  # the target's place: a file reached by two names is scanned once
    return SourceFile(path, display)


def _target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:  # pragma: no cover - raced with a removal
        return "?"


def _keep(item: SourceFile | Skipped, found: dict[str, SourceFile], skip, kind: str) -> None:
    """A checked link: scanned under its own name, or skipped with its reason."""
    if isinstance(item, Skipped):
        skip(item)
    else:
        found.setdefault(item.display, replace(item, kind=kind))


def _not_regular(path: Path, root: Path, mode: int) -> Skipped:
    kind = "FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device or special file"
    return Skipped(path, _display(path, root), f"not a regular file ({kind}); reading it could block", "not-a-file")


def discover(
    paths: list[Path],
    config: Config,
    skipped: list[Skipped] | None = None,
    wanted: Wanted = None,
) -> list[SourceFile]:
    """Python files under `paths` (and the non-Python files `wanted` picks), sorted by
    display path, each once.

    Directory symlinks are not followed (no loops); explicitly named files are kept
    even when excluded, unless `force_exclude` is set (pre-commit passes every file).
    Paths that cannot be scanned are appended to `skipped` (when given) with a reason.
    """
    root = _real(config.root)
    found: dict[str, SourceFile] = {}
    dropped: dict[str, Skipped] = {}

    def skip(item: Skipped) -> None:
        dropped.setdefault(item.display, item)

    for given in paths:
        if not os.path.lexists(given):
            raise ConfigError(f"path does not exist: {given}")
        if given.is_symlink() and not given.is_dir():  # a named link to a file, broken or looping
            display = _link_display(given, root)
            kind = _kind(display, wanted, named=True)
            if kind is None or (config.force_exclude and config.is_excluded(display)):
                continue
            _keep(_check_link(given, root, None), found, skip, kind)
            continue
        try:
            mode = os.stat(given).st_mode
        except OSError as exc:
            skip(Skipped(given, _display(given, root), f"cannot read: {_strerror(exc)}", "unreadable-folder"))
            continue
        if not stat.S_ISDIR(mode):
            display = _display(given, root)
            kind = _kind(display, wanted, named=True)
            if kind is None or (config.force_exclude and config.is_excluded(display)):
                continue
            if stat.S_ISREG(mode):
                found.setdefault(display, SourceFile(given, display, kind))
            else:
                skip(_not_regular(given, root, mode))
            continue
        if config.force_exclude and config.is_excluded(_display(given, root), folder=True):
            continue
        _walk(given, root, config, found, skip, wanted)
    if skipped is not None:
        skipped.extend(dropped[key] for key in sorted(dropped) if key not in found)
    return [found[key] for key in sorted(found)]


def _walk(given: Path, root: Path, config: Config, found: dict[str, SourceFile], skip, wanted: Wanted) -> None:
    """Every file to scan below the folder `given`, iteratively (no recursion limit).

    Folders are listed with `os.scandir` and never through a symlink, so a folder's
    real path is its parent's real path plus its name: nothing is resolved per file.
    """
    base = _real(given)
    allowed = (root, base)
    stack: list[tuple[Path, Path]] = [(given, base)]  # (path to open, real path)
    while stack:
        folder, real_folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            display = _relative(real_folder, root)
            skip(Skipped(folder, display, f"cannot read folder: {_strerror(exc)}", "unreadable-folder"))
            continue
        subfolders: list[tuple[Path, Path]] = []
        for entry in entries:
            child = folder / entry.name
            real = real_folder / entry.name
            display = _relative(real, root)
            inner = real.relative_to(base).as_posix()
            try:
                is_link = entry.is_symlink()
                is_dir = not is_link and entry.is_dir(follow_symlinks=False)
            except OSError:  # pragma: no cover - raced with a removal
                continue
            if is_dir:
                if config.is_excluded(display, inner, folder=True):
                    continue
                if (child / "pyvenv.cfg").is_file():  # a virtualenv under any name
                    continue
                subfolders.append((child, real))
                continue
            kind = _kind(display, wanted)
            if kind is None or config.is_excluded(display, inner):
                continue
            if is_link:
                _keep(_check_link(child, root, allowed), found, skip, kind)
                continue
            try:
                regular = entry.is_file(follow_symlinks=False)
            except OSError:  # pragma: no cover - raced with a removal
                continue
            if regular:
                found.setdefault(display, SourceFile(child, display, kind))
            else:
                try:
                    mode = entry.stat(follow_symlinks=False).st_mode
                except OSError:  # pragma: no cover - raced with a removal
                    continue
                skip(_not_regular(child, root, mode))
        stack.extend(reversed(subfolders))
