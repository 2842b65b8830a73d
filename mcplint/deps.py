"""What a scanned project declares about itself outside its Python code.

Rules that judge SDK defaults need the SDK version the project runs (an `mcp` 1.x
server leaks exception text by default; fastmcp's host guard is off by default), and
the dependency rules need every declared requirement. This reads them from the files
a project commits — `pyproject.toml` (PEP 621 and Poetry tables), `requirements*.txt`,
`uv.lock`, `poetry.lock`, `Pipfile.lock`, `pylock.toml` — and `fastmcp.json`. Nothing
is resolved, installed or fetched: a version is known only when a file pins it
exactly (a lock file, or `==`), and rules say "unknown" otherwise. `.gitignore` files
are read too: a secret in a git-ignored `.env` is not committed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from functools import lru_cache

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# Base names of the files read here (`requirements*.txt` by pattern).
MANIFESTS = ("pyproject.toml", "uv.lock", "poetry.lock", "Pipfile.lock", "pylock.toml", "fastmcp.json", ".gitignore")
REQUIREMENTS = ("requirements*.txt", "requirements/*.txt", "*requirements.txt", "constraints*.txt")
LOCK_FILES = ("uv.lock", "poetry.lock", "Pipfile.lock", "pylock.toml")

_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
_EXACT_RE = re.compile(r"^===?\s*([0-9][0-9A-Za-z.+!-]*)$")
_LOWER_RE = re.compile(r"(?:>=|>|~=|\^|~(?!=)|==)\s*v?(\d+(?:\.\d+)*)")


def canonical(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def is_manifest(path: str) -> bool:
    base = path.rsplit("/", 1)[-1]
    tail = "/".join(path.split("/")[-2:])
    return base in MANIFESTS or any(fnmatch(base, p) or fnmatch(tail, p) for p in REQUIREMENTS)


def parse_version(text: str) -> tuple[int, ...] | None:
    """`1.9.4` -> (1, 9, 4); pre/post/local parts are dropped; None if not a release."""
    match = re.match(r"^\s*v?(\d+(?:\.\d+)*)", text or "")
    if not match:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


@dataclass(frozen=True)
class Requirement:
    """One declared dependency: where, what range, and the exact version if pinned."""

    name: str  # canonical
    spec: str  # the version part as written: ">=1.2,<2", "==1.9.4", "" (unbounded)
    path: str
    line: int
    locked: bool = False  # from a lock file (resolved, exact)
    marker: str = ""

    @property
    def version(self) -> tuple[int, ...] | None:
        """The exact version, when pinned (`==`, `===`, or a lock file)."""
        if self.locked:
            return parse_version(self.spec.lstrip("="))
        match = _EXACT_RE.match(self.spec.strip())
        return parse_version(match.group(1)) if match and "*" not in match.group(1) else None

    @property
    def lower_bound(self) -> tuple[int, ...] | None:
        """The lowest version the range admits (`>=1.9`, `~=1.9`, `^1.9`, `==1.9.*`);
        None when it admits any version from 0."""
        if self.version is not None:
            return self.version
        bounds = [parse_version(m.group(1)) for m in _LOWER_RE.finditer(self.spec)]
        bounds = [b for b in bounds if b is not None]
        return max(bounds) if bounds else None

    @property
    def upper_bounded(self) -> bool:
        return self.locked or self.version is not None or any(op in self.spec for op in ("<", "~=", "^", "~"))

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Project:
    """Facts about the scanned tree as a whole, shared by every file's rules."""

    files: frozenset[str] = frozenset()  # display paths of every discovered file
    requirements: list[Requirement] = field(default_factory=list)
    fastmcp_config: dict | None = None  # fastmcp.json, when present and valid
    fastmcp_config_path: str | None = None
    # (folder of the .gitignore, its patterns in order), shallowest first
    gitignores: list[tuple[str, list[str]]] = field(default_factory=list)
    near: str | None = None  # the folder of the file asking (`for_file`)

    def for_file(self, path: str) -> Project:
        """The facts as one file's rules see them: where several folders declare a
        package (a repo of several servers, each with its manifests), the declarations
        of the folder nearest above the file."""
        return replace(self, near=_folder(path))

    def declared(self, name: str) -> list[Requirement]:
        key = canonical(name)
        found = [r for r in self.requirements if r.name == key]
        folders = {_project_folder(r.path) for r in found}
        if self.near is None or len(folders) < 2:
            return found
        for folder in sorted(folders, key=len, reverse=True):  # the nearest first
            if _within(folder, self.near):
                return [r for r in found if _project_folder(r.path) == folder]
        return []  # other projects' declarations, none of this file's: unknown

    def version(self, name: str) -> tuple[int, ...] | None:
        """The version of `name` the project runs, when a lock file or `==` pins it."""
        pinned = [r for r in self.declared(name) if r.version is not None]
        pinned.sort(key=lambda r: not r.locked)  # a lock file wins over a manifest
        return pinned[0].version if pinned else None

    def at_least(self, name: str, version: str) -> bool | None:
        """Is `name` pinned at or above `version`? None: not pinned (unknown)."""
        found = self.version(name)
        wanted = parse_version(version)
        if found is None or wanted is None:
            return None
        return _pad(found, len(wanted)) >= wanted

    def major(self, name: str) -> int | None:
        """The major version: pinned, or implied by a range such as `>=2,<3` / `~=1.9`."""
        exact = self.version(name)
        if exact is not None:
            return exact[0]
        majors = set()
        for requirement in self.declared(name):
            low = re.search(r"(?:>=|~=|\^|==)\s*(\d+)", requirement.spec)
            high = re.search(r"<\s*(\d+)(?:\.0)*\s*(?:,|$)", requirement.spec)
            if low and high and int(high.group(1)) == int(low.group(1)) + 1:
                majors.add(int(low.group(1)))
            elif low and requirement.spec.strip().startswith(("~=", "^")):
                majors.add(int(low.group(1)))
        return majors.pop() if len(majors) == 1 else None

    def has_lock_file(self) -> bool:
        return any(p.rsplit("/", 1)[-1] in LOCK_FILES for p in self.files)

    def in_file(self, path: str) -> list[Requirement]:
        return [r for r in self.requirements if r.path == path]

    def fully_pinned(self, path: str) -> bool:
        """A requirements file whose every entry is `==` (or hash-) pinned: a lock."""
        entries = self.in_file(path)
        return bool(entries) and not path.endswith(".toml") and all(r.version is not None for r in entries)

    def lock_for(self, path: str) -> str | None:
        """The lock file that pins what the manifest `path` declares: a lock file in its
        folder or a folder above it, or a fully pinned requirements file there that
        pins every dependency `path` declares (`requirements-dev.txt` pinning pytest
        does not lock the server's runtime)."""
        folder = _folder(path)
        declared = {r.name for r in self.in_file(path)}
        candidates = []
        for other in self.files:
            if other == path or not _within(_folder(other), folder):
                continue
            base = other.rsplit("/", 1)[-1]
            if base in LOCK_FILES:
                candidates.append(other)
            elif is_manifest(other) and base not in MANIFESTS and self.fully_pinned(other) \
                    and declared <= {r.name for r in self.in_file(other)}:
                candidates.append(other)
        return min(candidates, key=lambda p: (-p.count("/"), p)) if candidates else None

    def git_ignored(self, path: str) -> bool:
        """Is `path` ignored by the `.gitignore` files of the scanned tree (so it is not
        committed)? Negations and `**` are followed; a file under an ignored folder is
        ignored."""
        ignored = False
        parts = path.split("/")
        for folder, patterns in self.gitignores:
            if not _within(folder, _folder(path)):
                continue
            relative = parts[len(folder.split("/")) if folder else 0:]
            for depth in range(1, len(relative) + 1):
                candidate = "/".join(relative[:depth])
                is_dir = depth < len(relative)
                for pattern in patterns:
                    negated = pattern.startswith("!")
                    if _gitignore_match(pattern.lstrip("!"), candidate, is_dir):
                        ignored = not negated
                if ignored and is_dir:
                    return True  # git does not look inside an ignored folder
        return ignored


def _folder(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _project_folder(path: str) -> str:
    """The folder of the project a manifest belongs to (`requirements/base.txt`: the one
    holding `requirements/`)."""
    folder = _folder(path)
    return _folder(folder) if folder.rsplit("/", 1)[-1] == "requirements" else folder


def _within(folder: str, inner: str) -> bool:
    """Is the folder `inner` the folder `folder` or below it?"""
    return folder == "" or inner == folder or inner.startswith(folder + "/")


def _gitignore_patterns(text: str) -> list[str]:
    out = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.startswith("#") or len(line) > 256 or line.count("*") > 8:
            continue  # not a pattern; or one too contrived to match in bounded time
        if line.startswith("\\#") or line.startswith("\\!"):
            line = line[1:]
        out.append(line)
    return out


def _gitignore_match(pattern: str, candidate: str, is_dir: bool) -> bool:
    """Does one `.gitignore` pattern match `candidate` (a path relative to the
    `.gitignore`'s folder)?"""
    if pattern.endswith("/"):
        if not is_dir:
            return False
        pattern = pattern.rstrip("/")
    anchored = "/" in pattern
    regex = _glob_regex(pattern.lstrip("/"))
    if anchored:
        return regex.fullmatch(candidate) is not None
    return regex.fullmatch(candidate.rsplit("/", 1)[-1]) is not None


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> "re.Pattern[str]":
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def _pad(version: tuple[int, ...], length: int) -> tuple[int, ...]:
    return version + (0,) * (length - len(version)) if len(version) < length else version


def read_project(files: list[str], contents: dict[str, bytes]) -> Project:
    """The project facts from the manifests among `contents` (display path -> bytes)."""
    project = Project(files=frozenset(files))
    for path in sorted(contents):
        if not is_manifest(path):
            continue
        text = contents[path].decode("utf-8", "replace")
        base = path.rsplit("/", 1)[-1]
        try:
            if base == "fastmcp.json":
                data = json.loads(text)
                if isinstance(data, dict) and project.fastmcp_config is None:
                    project.fastmcp_config, project.fastmcp_config_path = data, path
            elif base == ".gitignore":
                project.gitignores.append((_folder(path), _gitignore_patterns(text)))
            else:
                project.requirements.extend(requirements_in(path, text))
        except (ValueError, TypeError, AttributeError, RecursionError, tomllib.TOMLDecodeError):
            continue  # a broken manifest declares nothing; the C10 rules report what they can read
    project.gitignores.sort(key=lambda item: (item[0].count("/") + bool(item[0]), item[0]))
    return project


def requirements_in(path: str, text: str) -> list[Requirement]:
    """The requirements one manifest or lock file declares (raises on a broken file)."""
    base = path.rsplit("/", 1)[-1]
    if base == "pyproject.toml":
        return _pyproject(path, text)
    if base in ("uv.lock", "poetry.lock", "pylock.toml"):
        return _toml_lock(path, text)
    if base == "Pipfile.lock":
        return _pipfile_lock(path, text)
    if base in MANIFESTS:
        return []
    return requirements_txt(path, text)


def split_requirement(text: str) -> tuple[str, str, str] | None:
    """`mcp[cli]>=1.9; python_version>'3'` -> ("mcp", ">=1.9", "python_version>'3'")."""
    requirement, _, marker = text.partition(";")
    match = _NAME_RE.match(requirement)
    if not match or "://" in requirement or requirement.strip().startswith(("-", ".", "/")):
        return None
    spec = match.group(3).strip()  # "@ https://..." for a direct reference
    return canonical(match.group(1)), spec.replace(" ", ""), marker.strip()


def requirements_txt(path: str, text: str) -> list[Requirement]:
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if not line or line.startswith("#") or line.startswith("-"):
            continue
        if line.endswith("\\"):
            line = line[:-1].strip()
        line = re.split(r"\s--hash", line, maxsplit=1)[0]
        parts = split_requirement(line)
        if parts is not None:
            out.append(Requirement(parts[0], parts[1], path, number, marker=parts[2]))
    return out


def _line_of(text: str, needle: str, start: int = 0) -> int:
    at = text.find(needle, start)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def _quoted_line(text: str, item: str) -> int:
    """The line of a TOML string `item`: quoted, so `"mcp"` is not found inside
    `name = "mcp-server"` above it."""
    for quoted in (json.dumps(item), f"'{item}'", f'"""{item}"""'):
        if quoted in text:
            return _line_of(text, quoted)
    return _line_of(text, item)


def _key_line(text: str, name: str) -> int:
    """The line of a TOML key `name = ...` (bare or quoted)."""
    match = re.search(r"^[ \t]*[\"']?" + re.escape(name) + r"[\"']?[ \t]*=", text, flags=re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else _line_of(text, name)


def _pyproject(path: str, text: str) -> list[Requirement]:
    data = tomllib.loads(text)
    out: list[Requirement] = []
    project = data.get("project") or {}
    own = canonical(project.get("name") or ((data.get("tool") or {}).get("poetry") or {}).get("name") or "")
    listed = list(project.get("dependencies") or [])
    for group in (project.get("optional-dependencies") or {}).values():
        listed.extend(group or [])
    for group in (data.get("dependency-groups") or {}).values():
        listed.extend(item for item in group or [] if isinstance(item, str))
    for item in listed:
        if not isinstance(item, str):
            continue
        parts = split_requirement(item)
        if parts is not None and parts[0] != own:  # `mcp[cli]` in mcp's own dev group is not a dependency
            out.append(Requirement(parts[0], parts[1], path, _quoted_line(text, item), marker=parts[2]))
    poetry = ((data.get("tool") or {}).get("poetry") or {})
    tables = [poetry.get("dependencies") or {}, poetry.get("dev-dependencies") or {}]
    tables += [(g or {}).get("dependencies") or {} for g in (poetry.get("group") or {}).values()]
    for table in tables:
        for name, value in table.items():
            if canonical(name) == "python":
                continue
            spec = value if isinstance(value, str) else (value.get("version", "") if isinstance(value, dict) else "")
            spec = "" if spec.strip() == "*" else spec.replace(" ", "")
            if re.match(r"^\d", spec):  # poetry: a bare version means exactly that version
                spec = "==" + spec
            out.append(Requirement(canonical(name), spec, path, _key_line(text, name)))
    return out


def _toml_lock(path: str, text: str) -> list[Requirement]:
    data = tomllib.loads(text)
    out = []
    search_from = 0
    for package in data.get("package") or data.get("packages") or []:
        name, version = package.get("name"), package.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            continue
        needle = f'name = "{name}"'
        line = _line_of(text, needle, search_from)
        search_from = max(search_from, text.find(needle, search_from) + 1)
        out.append(Requirement(canonical(name), "==" + version, path, line, locked=True))
    return out


def _pipfile_lock(path: str, text: str) -> list[Requirement]:
    data = json.loads(text)
    out = []
    for section in ("default", "develop"):
        for name, value in (data.get(section) or {}).items():
            version = value.get("version", "") if isinstance(value, dict) else ""
            if version.startswith("=="):
                out.append(Requirement(canonical(name), version, path, _line_of(text, f'"{name}"'), locked=True))
    return out
