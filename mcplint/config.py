"""Settings from `[tool.mcplint]` in pyproject.toml or from mcplint.toml, then flags."""

from __future__ import annotations

import fnmatch
import re
import sys
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from mcplint.finding import Confidence, Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

CONFIG_FILES = ("mcplint.toml", ".mcplint.toml", "pyproject.toml")

DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".bzr",
    ".venv", "venv", ".env/", "env/", ".tox", ".nox", "__pypackages__", "site-packages",
    "node_modules", "build", "dist", "*.egg-info",
    "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".mcplint_cache",
    ".hypothesis", ".eggs",
)


class ConfigError(Exception):
    """A problem with settings: reported in one line, exit code 2."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    fail_on: Severity = Severity.LOW
    min_confidence: Confidence = Confidence.LOW
    force_exclude: bool = False
    extend_sinks: tuple[tuple[str, tuple[str, ...]], ...] = ()  # rule code -> qualified call names
    root: Path = field(default_factory=Path.cwd)
    source: Path | None = None  # the file the settings came from

    @property
    def excludes(self) -> tuple[str, ...]:
        return self.exclude + self.extend_exclude

    def is_excluded(self, relative: str, inner: str | None = None, folder: bool = False) -> bool:
        """Does an exclude glob match?

        A glob with a `/` inside matches the whole root-relative path; one without matches
        any single component of `inner` (the part of the path below an explicitly given
        folder, so `mcplint scan fixtures/` scans fixtures even though it is excluded).
        A trailing `/` (as in `.gitignore`) matches folders only: `.env/` skips a
        virtualenv named `.env` but not a `.env` file. `folder`: `relative` is a folder.
        """
        inner = relative if inner is None else inner
        parts = [p for p in inner.split("/") if p]
        paths, any_part, folder_part = self._exclude_matchers
        for pattern, only_folders in paths:
            if fnmatch.fnmatchcase(relative, pattern + "/*") or (
                    fnmatch.fnmatchcase(relative, pattern) and (folder or not only_folders)):
                return True
        if any_part is not None and any(any_part.match(part) for part in parts):
            return True
        folders = parts if folder else parts[:-1]
        return folder_part is not None and any(folder_part.match(part) for part in folders)

    @cached_property
    def _exclude_matchers(self) -> tuple[list[tuple[str, bool]], re.Pattern | None, re.Pattern | None]:
        """The exclude globs as `is_excluded` uses them, compiled once (a scan asks for every
        file and folder): (whole-path globs, folders only?), one regex for the component
        globs that match any component, one for those that match folders only."""
        paths: list[tuple[str, bool]] = []
        any_part: list[str] = []
        folder_part: list[str] = []
        for pattern in self.excludes:
            only_folders = pattern.endswith("/")
            pattern = pattern.rstrip("/")
            if "/" in pattern:
                paths.append((pattern, only_folders))
            else:
                (folder_part if only_folders else any_part).append(fnmatch.translate(pattern))

        def compiled(globs: list[str]) -> re.Pattern | None:
            return re.compile("|".join(f"(?:{glob})" for glob in globs)) if globs else None

        return paths, compiled(any_part), compiled(folder_part)

    def ignored_for(self, relative: str) -> set[str]:
        out: set[str] = set()
        for pattern, codes in self.per_file_ignores:
            if fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(relative.rsplit("/", 1)[-1], pattern):
                out.update(codes)
        return out


# key -> (field name, parser)
def _str_list(key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"`{key}` must be a list of strings, got {value!r}")
    return tuple(value)


def _enum(cls):
    def parse(key: str, value: object):
        if not isinstance(value, str):
            raise ConfigError(f"`{key}` must be a string, got {value!r}")
        try:
            return cls.parse(value)
        except ValueError as exc:
            raise ConfigError(f"`{key}`: {exc}") from None

    return parse


def _per_file_ignores(key: str, value: object):
    if not isinstance(value, dict):
        raise ConfigError(f"`{key}` must be a table of glob = [codes], got {value!r}")
    return tuple((glob, _str_list(f"{key}.{glob}", codes)) for glob, codes in value.items())


KEYS = {
    "select": ("select", _str_list),
    "ignore": ("ignore", _str_list),
    "per-file-ignores": ("per_file_ignores", _per_file_ignores),
    "exclude": ("exclude", _str_list),
    "extend-exclude": ("extend_exclude", _str_list),
    "fail-on": ("fail_on", _enum(Severity)),
    "min-confidence": ("min_confidence", _enum(Confidence)),
    "force-exclude": ("force_exclude", lambda k, v: _bool(k, v)),
    "extend-sinks": ("extend_sinks", lambda k, v: _extend_sinks(k, v)),
}


def _extend_sinks(key: str, value: object):
    if not isinstance(value, dict):
        raise ConfigError(f"`{key}` must be a table of rule code = [qualified call names], got {value!r}")
    out = []
    for code, names in value.items():
        if not isinstance(code, str) or not code.upper().startswith("MCP"):
            raise ConfigError(f"`{key}`: `{code}` is not a rule code")
        out.append((code.upper(), _str_list(f"{key}.{code}", names)))
    return tuple(out)


def _bool(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"`{key}` must be true or false, got {value!r}")
    return value


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _table(path: Path) -> dict | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{_shown(path)}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{_shown(path)}: cannot read: {exc}") from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("mcplint")
        return table if isinstance(table, dict) else None
    return data


def find_config(start: Path) -> Path | None:
    """The nearest config file at or above `start` (a dedicated file wins)."""
    start = start.resolve()
    directory = start if start.is_dir() else start.parent
    for folder in (directory, *directory.parents):
        for name in CONFIG_FILES:
            candidate = folder / name
            if candidate.is_file():
                if name != "pyproject.toml" or _table(candidate) is not None:
                    return candidate
    return None


def load(path: Path | None) -> Config:
    """Settings from `path` (or defaults rooted at the cwd when None)."""
    if path is None:
        return Config()
    table = _table(path)
    if table is None:
        raise ConfigError(f"{_shown(path)}: no [tool.mcplint] table")
    values = {}
    for key, value in table.items():
        if key not in KEYS:
            raise ConfigError(f"{_shown(path)}: unknown key `{key}` (expected one of: {', '.join(KEYS)})")
        name, parse = KEYS[key]
        try:
            values[name] = parse(key, value)
        except ConfigError as exc:
            raise ConfigError(f"{_shown(path)}: {exc}") from None
    return replace(Config(), root=path.parent.resolve(), source=path, **values)


def with_overrides(config: Config, **overrides) -> Config:
    """Flags win over the file; None means 'not given'."""
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})
