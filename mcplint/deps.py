"""What a scanned project declares about itself outside its Python code.

Rules that judge SDK defaults need the SDK version the project runs (an `mcp` 1.x
server leaks exception text by default; fastmcp's host guard is off by default), and
the dependency rules need every declared requirement. This reads them from the files
a project commits — `pyproject.toml` (PEP 621 and Poetry tables), `requirements*.txt`,
`uv.lock`, `poetry.lock`, `Pipfile.lock`, `pylock.toml` — and `fastmcp.json`. Nothing
is resolved, installed or fetched: a version is known only when a file pins it
exactly (a lock file, or `==`), and rules say "unknown" otherwise.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from fnmatch import fnmatch

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# Base names of the files read here (`requirements*.txt` by pattern).
MANIFESTS = ("pyproject.toml", "uv.lock", "poetry.lock", "Pipfile.lock", "pylock.toml", "fastmcp.json")
REQUIREMENTS = ("requirements*.txt", "requirements/*.txt", "*requirements.txt", "constraints*.txt")
LOCK_FILES = ("uv.lock", "poetry.lock", "Pipfile.lock", "pylock.toml")

_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
_EXACT_RE = re.compile(r"^===?\s*([0-9][0-9A-Za-z.+!-]*)$")


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

    def declared(self, name: str) -> list[Requirement]:
        key = canonical(name)
        return [r for r in self.requirements if r.name == key]

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
            if base == "pyproject.toml":
                project.requirements.extend(_pyproject(path, text))
            elif base in ("uv.lock", "poetry.lock", "pylock.toml"):
                project.requirements.extend(_toml_lock(path, text))
            elif base == "Pipfile.lock":
                project.requirements.extend(_pipfile_lock(path, text))
            elif base == "fastmcp.json":
                data = json.loads(text)
                if isinstance(data, dict) and project.fastmcp_config is None:
                    project.fastmcp_config, project.fastmcp_config_path = data, path
            else:
                project.requirements.extend(requirements_txt(path, text))
        except (ValueError, TypeError, AttributeError, tomllib.TOMLDecodeError):
            continue  # a broken manifest declares nothing; the C10 rules report what they can read
    return project


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


def _pyproject(path: str, text: str) -> list[Requirement]:
    data = tomllib.loads(text)
    out: list[Requirement] = []
    project = data.get("project") or {}
    listed = list(project.get("dependencies") or [])
    for group in (project.get("optional-dependencies") or {}).values():
        listed.extend(group or [])
    for group in (data.get("dependency-groups") or {}).values():
        listed.extend(item for item in group or [] if isinstance(item, str))
    for item in listed:
        if not isinstance(item, str):
            continue
        parts = split_requirement(item)
        if parts is not None:
            out.append(Requirement(parts[0], parts[1], path, _line_of(text, item), marker=parts[2]))
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
            out.append(Requirement(canonical(name), spec, path, _line_of(text, f"{name}")))
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
