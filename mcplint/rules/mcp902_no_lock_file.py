"""MCP902: an MCP server project declares dependencies but locks none of them."""

from __future__ import annotations


from mcplint import deps
from mcplint.files import matches
from mcplint.finding import Confidence, Severity
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule
from mcplint.rules.mcp901_unpinned_dependency import MANIFEST_FILES, declared, is_mcp_project, is_requirements_file

DEPENDABOT = (".github/dependabot.yml", ".github/dependabot.yaml")
RENOVATE = ("renovate.json", "renovate.json5", ".renovaterc", ".renovaterc.json", ".github/renovate.json",
            ".github/renovate.json5", ".gitlab/renovate.json")
CI_FILES = (".github/workflows/*.yml", ".github/workflows/*.yaml", ".gitlab-ci.yml", ".pre-commit-config.yaml")

_PYTHON_ECOSYSTEM_RE = lazy_compile(r"package-ecosystem:\s*[\"']?(pip|uv|poetry|pipenv)\b")
_AUDIT_RE = lazy_compile(
    r"\b(pip-audit|pip_audit|gh-action-pip-audit|safety\s+(?:check|scan)|osv-scanner|uv\s+audit|trivy|grype|snyk"
    r"|dependency-review-action)\b"
)


def _folder(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


class NoLockFile(Rule):
    """An MCP server project declares dependencies but has no lock file.

    ## What it does
    In projects that depend on an MCP SDK, reports a `pyproject.toml` or
    `requirements*.txt` that declares dependencies when no lock file covers its
    folder: `uv.lock`, `poetry.lock`, `Pipfile.lock` or `pylock.toml` in the same
    folder or a folder above, or a requirements file whose every entry is pinned
    with `==` (as `pip-compile` and `uv pip compile` write them, hashes or not).
    It is reported once per folder, on the first line of its `pyproject.toml` (else
    of its first requirements file).

    Evidence for MCP-C10 is recorded for a lock file, a fully pinned requirements
    file, a Dependabot configuration for Python (`.github/dependabot.yml`), a
    Renovate configuration, and a dependency audit in CI (`pip-audit`, `safety`,
    `osv-scanner`, `trivy`, `grype`, `snyk`, GitHub's dependency review).

    ## Why is this bad?
    Without a lock file every install resolves the whole dependency tree again: the
    server that runs in production is not the one that was tested, a compromised
    release of any transitive dependency is picked up the day it is published, and
    a vulnerability scanner has no exact versions to check. An MCP server is an
    application; it should ship a lock file.

    ## Example
    ```requirements
    mcp[cli]>=1.28.1
    httpx>=0.27
    ```

    ## Use instead
    Commit a lock file (`uv lock`, `poetry lock`), or compile the requirements to
    exact versions with hashes.
    ```requirements
    # uv pip compile requirements.in --generate-hashes -o requirements.txt
    mcp[cli]==1.28.1 \\
        --hash=sha256:9d2a1c3e4b5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef
    httpx==0.28.1 \\
        --hash=sha256:d909fcccc110f8c7faf814ca82a9a4d816bc5a6dbfea25d6591d6985b8ba59ad
    ```

    ## References
    - [CWE-1357: Reliance on Insufficiently Trustworthy Component](https://cwe.mitre.org/data/definitions/1357.html)
    - [uv: Locking and syncing](https://docs.astral.sh/uv/concepts/projects/sync/)
    - [pip: Secure installs (hash-checking mode)](https://pip.pypa.io/en/stable/topics/secure-installs/)
    """

    code = "MCP902"
    name = "no-lock-file"
    severity = Severity.LOW
    confidence = Confidence.HIGH
    cwe = 1357
    checklist = "MCP-C10"
    scope = "text"
    files = (*MANIFEST_FILES, *deps.LOCK_FILES, *DEPENDABOT, *RENOVATE, *CI_FILES)
    example_name = "requirements.txt"
    message = "`{file}` declares {count} but no lock file pins them"

    def check_text(self, doc) -> None:
        base = doc.path.rsplit("/", 1)[-1]
        if base in deps.LOCK_FILES:
            self.evidence(1, f"lock file `{doc.path}`")
            return
        if not deps.is_manifest(doc.path):
            self._tooling(doc)
            return
        project = self.ctx.project
        requirements = [r for r in declared(doc, project) if not r.locked]
        if not requirements or not is_mcp_project(project, requirements):
            return
        if base != "pyproject.toml" and all(r.version is not None for r in requirements):
            self.evidence(1, f"fully pinned `{doc.path}`")
            return
        if project.lock_for(doc.path) is not None or self._primary(doc.path) != doc.path:
            return
        count = len(requirements)
        self.report_at(doc.line_span(1), file=base, count=f"{count} dependenc{'y' if count == 1 else 'ies'}")

    def _primary(self, path: str) -> str:
        """The manifest of `path`'s folder that speaks for it: `pyproject.toml`, else
        the first requirements file that declares something."""
        project = self.ctx.project
        folder = _folder(path)
        candidates = [p for p in project.files if _folder(p) == folder and project.in_file(p)
                      and (p.endswith("pyproject.toml") or is_requirements_file(p))]
        if not candidates:
            return path
        return min(candidates, key=lambda p: (not p.endswith("pyproject.toml"), p))

    def _tooling(self, doc) -> None:
        if matches(DEPENDABOT, doc.path):
            match = _PYTHON_ECOSYSTEM_RE.search(doc.text)
            if match:
                line = doc.text.count("\n", 0, match.start()) + 1
                self.evidence(line, f"Dependabot updates Python dependencies (`{match.group(1)}`)")
        elif matches(RENOVATE, doc.path):
            self.evidence(1, "Renovate updates dependencies")
        else:
            match = _AUDIT_RE.search(doc.text)
            if match:
                line = doc.text.count("\n", 0, match.start()) + 1
                self.evidence(line, f"dependency audit `{match.group(1)}` in `{doc.path}`")

