"""Which files a scan reads: walk the given paths, honour excludes, never loop."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mcplint.config import Config, ConfigError

PYTHON_SUFFIXES = (".py", ".pyw")


@dataclass(frozen=True)
class SourceFile:
    path: Path  # what to open
    display: str  # relative to the scan root, forward slashes


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _excluded(config: Config, path: Path, root: Path, base: Path) -> bool:
    inner = path.resolve().relative_to(base).as_posix() if path.resolve().is_relative_to(base) else None
    return config.is_excluded(_display(path, root), inner)


def discover(paths: list[Path], config: Config) -> list[SourceFile]:
    """Python files under `paths`, sorted, each once.

    Directory symlinks are not followed (no loops); explicitly named files are kept
    even when excluded, unless `force_exclude` is set (pre-commit passes every file).
    """
    root = config.root.resolve()
    found: dict[str, SourceFile] = {}
    for given in paths:
        if not given.exists() and not given.is_symlink():
            raise ConfigError(f"path does not exist: {given}")
        if given.is_file() or (given.is_symlink() and not given.is_dir()):
            display = _display(given, root)
            if config.force_exclude and config.is_excluded(display):
                continue
            found.setdefault(display, SourceFile(given, display))
            continue
        base = given.resolve()
        if config.force_exclude and config.is_excluded(_display(given, root)):
            continue
        for folder, dirs, files in os.walk(given, followlinks=False):
            here = Path(folder)
            kept = []
            for name in sorted(dirs):
                child = here / name
                if child.is_symlink() or _excluded(config, child, root, base):
                    continue
                if (child / "pyvenv.cfg").is_file():  # a virtualenv under any name
                    continue
                kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                if not name.endswith(PYTHON_SUFFIXES):
                    continue
                child = here / name
                if _excluded(config, child, root, base):
                    continue
                display = _display(child, root)
                found.setdefault(display, SourceFile(child, display))
    return [found[key] for key in sorted(found)]
