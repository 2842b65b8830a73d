"""MCP901: a dependency declared with no version constraint at all.

Also what the dependency rules share (MCP902 and MCP903 import it): which files
declare dependencies, what one file declares, and whether the project is an MCP one.
"""

from __future__ import annotations

import re

from mcplint import deps
from mcplint.finding import Confidence, Severity
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule

MANIFEST_FILES = ("pyproject.toml", *deps.REQUIREMENTS)
_CONSTRAINED_RE = lazy_compile(r"^\s*(?:-c|--constraint)[\s=]", re.MULTILINE)


def declared(doc, project) -> list[deps.Requirement]:
    """What the manifest or lock file `doc` declares (read once, with the project
    facts, when the scan read it; parsed here for a file checked on its own)."""
    if doc.path in project.files:
        return project.in_file(doc.path)
    try:
        return deps.requirements_in(doc.path, doc.text)
    except (ValueError, TypeError, AttributeError, RecursionError, deps.tomllib.TOMLDecodeError):
        return []


def is_mcp_dependency(name: str) -> bool:
    """`mcp`, `fastmcp`, or a package named like an MCP one (`fastapi-mcp`, `mcp-proxy`)."""
    return name in ("mcp", "fastmcp") or "mcp" in name.split("-")


def is_mcp_project(project, requirements: list[deps.Requirement]) -> bool:
    """Does the project depend on an MCP SDK? The dependency rules judge MCP servers,
    not every Python package that happens to be in the tree."""
    return any(is_mcp_dependency(r.name) for r in (*requirements, *project.requirements))


def is_requirements_file(path: str) -> bool:
    return deps.is_manifest(path) and path.rsplit("/", 1)[-1] not in deps.MANIFESTS


class UnpinnedDependency(Rule):
    """A dependency of an MCP server is declared with no version constraint at all.

    ## What it does
    In projects that depend on an MCP SDK (`mcp`, `fastmcp`, or a package named
    `*-mcp`/`mcp-*`), reports requirements with no version specifier (`httpx`
    instead of `httpx>=0.27,<1`):
    - in `requirements*.txt` files always (they are what `pip install -r` and
      Dockerfiles install), unless the file applies a constraints file (`-c`);
    - in `pyproject.toml` (PEP 621, dependency groups, Poetry `*`) only when no lock
      file covers the project: with `uv.lock`, `poetry.lock`, `Pipfile.lock`,
      `pylock.toml` or a fully pinned requirements file, ranges are what libraries
      should declare.
    Direct references (`pkg @ https://...`) and `constraints*.txt` are not judged.

    ## Why is this bad?
    An unconstrained requirement installs whatever is newest on the day of the
    install: a new major version that changes behaviour, or a hijacked release of a
    small package, runs inside the MCP server with its credentials. Nothing records
    which version was tested.

    ## Example
    ```requirements
    mcp>=1.28.1
    httpx
    ```

    ## Use instead
    Bound every requirement (and lock the full set, see MCP902).
    ```requirements
    mcp>=1.28.1,<2
    httpx>=0.27,<1
    ```

    ## References
    - [CWE-1357: Reliance on Insufficiently Trustworthy Component](https://cwe.mitre.org/data/definitions/1357.html)
    - [pip: Repeatable installs](https://pip.pypa.io/en/stable/topics/repeatable-installs/)
    """

    code = "MCP901"
    name = "unpinned-dependency"
    severity = Severity.LOW
    confidence = Confidence.HIGH
    cwe = 1357
    checklist = "MCP-C10"
    scope = "text"
    files = MANIFEST_FILES
    example_name = "requirements.txt"
    message = "dependency `{name}` has no version constraint{how}"

    def check_text(self, doc) -> None:
        base = doc.path.rsplit("/", 1)[-1]
        if base.startswith("constraints"):
            return
        project = self.ctx.project
        requirements = declared(doc, project)
        if not requirements or not is_mcp_project(project, requirements):
            return
        if base == "pyproject.toml":
            if project.lock_for(doc.path) is not None:
                return
            confidence, how = Confidence.MEDIUM, " and no lock file pins it"
        else:
            if _CONSTRAINED_RE.search(doc.text):
                return
            confidence, how = Confidence.HIGH, ""
        for requirement in requirements:
            if requirement.spec or requirement.locked:
                continue
            self.report_at(doc.line_span(requirement.line), confidence=confidence, name=requirement.name, how=how)
