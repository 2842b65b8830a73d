"""Which file of the scanned project an import names.

The scan knows files by their root-relative paths. A relative import resolves by path
(`from .db import q` in `pkg/tools/x.py` is `pkg/tools/db.py` or
`pkg/tools/db/__init__.py`); an absolute one (`from pkg.db import q`) by the file whose
path ends in `pkg/db.py` or `pkg/db/__init__.py` — src layouts and namespace packages
need no configuration. A name that names no project file is a library: not followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from posixpath import dirname, join, normpath


@dataclass(frozen=True)
class Target:
    path: str  # the project file
    name: str  # what is looked up in it ("" for the module itself)


class ModuleIndex:
    def __init__(self, paths: list[str]) -> None:
        self.paths = set(paths)
        # "pkg/db" -> files whose module path ends with it, for absolute imports
        self._by_suffix: dict[str, list[str]] = {}
        for path in sorted(self.paths):
            if not path.endswith(".py"):
                continue
            stem = path[:-3]
            if stem.endswith("/__init__"):
                stem = stem[: -len("/__init__")]
            parts = stem.split("/")
            for start in range(len(parts)):
                self._by_suffix.setdefault("/".join(parts[start:]), []).append(path)

    def _module_file(self, module_path: str) -> str | None:
        for candidate in (f"{module_path}.py", f"{module_path}/__init__.py"):
            if candidate in self.paths:
                return candidate
        return None

    def resolve(self, importer: str, qualified: str) -> Target | None:
        """The project file and name that `qualified` (as the ImportTable spells it) means."""
        if qualified.startswith("."):
            dots = len(qualified) - len(qualified.lstrip("."))
            rest = qualified[dots:]
            base = dirname(importer)
            for _ in range(dots - 1):
                base = dirname(base)
            parts = rest.split(".") if rest else []
            for cut in range(len(parts), -1, -1):
                module_path = normpath(join(base, *parts[:cut])) if cut else base
                found = self._module_file(module_path)
                if found is not None:
                    return Target(found, ".".join(parts[cut:]))
            return None
        parts = qualified.split(".")
        for cut in range(len(parts), 0, -1):
            candidates = self._by_suffix.get("/".join(parts[:cut]))
            if candidates:
                return Target(_closest(importer, candidates), ".".join(parts[cut:]))
        return None


def _closest(importer: str, candidates: list[str]) -> str:
    """Of several files with the same module suffix, the one nearest the importer."""

    def shared(path: str) -> int:
        count = 0
        for a, b in zip(importer.split("/"), path.split("/")):
            if a != b:
                break
            count += 1
        return count

    return max(candidates, key=lambda path: (shared(path), -len(path), path))


_IMPORT_RE = re.compile(
    rb"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)|import[ \t]+([^\n#;]+))",
    re.MULTILINE,
)


def project_imports(data: bytes) -> list[str]:
    """What a file imports, as qualified names (`.db.run_query`, `pkg.tools`), from its bytes.

    A cheap reading for choosing which modules to analyse deeply; an odd import it
    misreads only costs a helper module that is not followed.
    """
    out: list[str] = []
    for match in _IMPORT_RE.finditer(data):
        module, names, plain = match.groups()
        if plain is not None:
            out.extend(part.split()[0].decode("ascii", "replace") for part in plain.split(b",") if part.split())
            continue
        base = module.decode("ascii", "replace")
        for part in names.strip(b"()").split(b","):
            words = part.split()
            if not words or words[0] == b"*":
                continue
            name = words[0].decode("ascii", "replace")
            out.append(f"{base}{name}" if base.endswith(".") else f"{base}.{name}")
    return out
