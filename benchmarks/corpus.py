"""The corpora the benchmark scans, prepared once in a cache folder outside the repo.

Every corpus is a plain copy of `*.py` files with the same folders left out for every
tool (the union of what mcplint, bandit and semgrep skip by default), so no tool gets
less work because of its own defaults. Non-Python files are not copied: semgrep would
otherwise look at extension-less scripts with a Python shebang.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Folder names no corpus keeps: the brief's stdlib excludes (site-packages, test, tests,
# idle_test, __pycache__), mcplint's DEFAULT_EXCLUDE (which also drops the stdlib's own
# `venv` package), semgrep's default .semgrepignore (test/, tests/, vendor/, build/, ...)
# and bandit's default excludes.
EXCLUDED_DIRS = frozenset({
    "site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__",
    ".git", ".hg", ".svn", ".bzr", "CVS", ".venv", "venv", ".env", "env", ".tox", ".nox",
    "__pypackages__", "node_modules", "build", "dist", "vendor", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".mcplint_cache", ".hypothesis", ".eggs", ".semgrep",
    ".semgrep_logs", ".npm", ".yarn",
})
EXCLUDED_GLOBS = ("*.egg-info", "*.egg", "*.dist-info")

MARKER = ".bench-corpus.json"  # written last: a folder without it is incomplete


@dataclass(frozen=True)
class Package:
    name: str  # as published on PyPI
    version: str  # pinned: the corpus is the same on every machine
    kind: str  # what sort of server, for the README


# Real MCP servers published on PyPI (code nobody on this project wrote), pinned.
# Each name==version was checked with `pip download` once. Several need Python 3.12+,
# hence `--ignore-requires-python` when downloading: we only read their source.
MCP_REAL: tuple[Package, ...] = (
    # official reference servers
    Package("mcp-server-fetch", "2026.10.24", "reference"),
    Package("mcp-server-git", "2026.10.19", "reference"),
    Package("mcp-server-time", "2026.10.19", "reference"),
    Package("mcp-server-sqlite", "2025.4.25", "reference"),
    # databases and vector stores
    Package("mcp-server-motherduck", "1.1.0", "database"),
    Package("mcp-server-duckdb", "1.1.0", "database"),
    Package("mcp-clickhouse", "0.7.0", "database"),
    Package("mysql-mcp-server", "0.4.4", "database"),
    Package("mcp-alchemy", "2026.10.15.202659", "database"),
    Package("mcp-snowflake-server", "0.4.0", "database"),
    Package("postgres-mcp", "0.3.0", "database"),
    Package("chroma-mcp", "0.2.6", "database"),
    Package("mcp-server-qdrant", "0.8.1", "database"),
    Package("opensearch-mcp-server-py", "0.12.0", "database"),
    # shell, command and device control
    Package("mcp-shell-server", "1.1.14", "shell"),
    Package("cli-mcp-server", "0.2.5", "shell"),
    Package("adb-mcp", "0.1.1", "shell"),
    Package("mcp-server-kubernetes", "0.1.6", "shell"),
    Package("mcp-server-docker", "0.3.0", "shell"),
    Package("acli-mcp-server", "0.1.4", "shell"),
    Package("aapanel-mcp", "1.3.0", "shell"),
    # cloud
    Package("awslabs.aws-documentation-mcp-server", "1.2.3", "cloud"),
    Package("awslabs.aws-api-mcp-server", "1.5.6", "cloud"),
    Package("awslabs.cloudwatch-mcp-server", "0.3.1", "cloud"),
    Package("awslabs.aws-pricing-mcp-server", "1.1.1", "cloud"),
    Package("awslabs.eks-mcp-server", "0.2.1", "cloud"),
    Package("awslabs.bedrock-kb-retrieval-mcp-server", "1.1.2", "cloud"),
    Package("awslabs.aws-location-mcp-server", "2.1.1", "cloud"),
    # documents and office files
    Package("office-word-mcp-server", "1.1.11", "documents"),
    Package("office-powerpoint-mcp-server", "2.0.7", "documents"),
    Package("excel-mcp-server", "2.2.2", "documents"),
    Package("pdf-tools-mcp", "0.1.4", "documents"),
    Package("markitdown-mcp", "0.0.1a8", "documents"),
    Package("mcp-obsidian", "0.2.3", "documents"),
    Package("pymupdf4llm-mcp", "1.28.0", "documents"),
    # web, search and SaaS
    Package("duckduckgo-mcp-server", "0.7.0", "web"),
    Package("arxiv-mcp-server", "0.8.2", "web"),
    Package("mcp-atlassian", "0.23.1", "web"),
    Package("mcp-grafana", "2.1.1", "web"),
    Package("mcp-proxy", "0.13.0", "web"),
)

CORPORA = ("stdlib", "mcp-real", "fixtures")
# The pre-commit scenario (not a default): one file changed in a large repo, a fresh
# copy of mcp-real, scanned as the hook scans it (see benchmarks/run.py). Three cases:
# an MCP server file (parsed, every rule); one whose tools' input reaches sinks through
# other functions of the file (those findings are placed after the project phase, which
# parses the file again); and a module of a server that no rule needs to parse (no MCP
# code, nothing a file rule's prefilter matches), as most files are.
PRECOMMIT = "precommit"
_PRECOMMIT_PACKAGE = next(p for p in MCP_REAL if p.name == "mcp-server-sqlite")
PRECOMMIT_FILE = f"{_PRECOMMIT_PACKAGE.name}-{_PRECOMMIT_PACKAGE.version}/src/mcp_server_sqlite/server.py"
_FLOW_PACKAGE = next(p for p in MCP_REAL if p.name == "mcp-server-git")
PRECOMMIT_FLOW = f"{_FLOW_PACKAGE.name}-{_FLOW_PACKAGE.version}/src/mcp_server_git/server.py"
_HELPER_PACKAGE = next(p for p in MCP_REAL if p.name == "postgres-mcp")
PRECOMMIT_HELPER = f"{_HELPER_PACKAGE.name}-{_HELPER_PACKAGE.version}/src/postgres_mcp/artifacts.py"
PRECOMMIT_CASES = {PRECOMMIT: PRECOMMIT_FILE, f"{PRECOMMIT} flow": PRECOMMIT_FLOW,
                   f"{PRECOMMIT} helper": PRECOMMIT_HELPER}  # row label -> changed file


class CorpusError(Exception):
    """A corpus could not be prepared (offline, pip failed, ...): reported, not raised further."""


@dataclass(frozen=True)
class Stats:
    files: int
    lines: int
    bytes: int
    packages: int | None = None

    def as_dict(self) -> dict:
        return {"files": self.files, "lines": self.lines, "bytes": self.bytes, "packages": self.packages}


def normalize(name: str) -> str:
    """PEP 503 name, used for folder names."""
    out = name.lower()
    for ch in "._":
        out = out.replace(ch, "-")
    return out


def excluded(parts: tuple[str, ...] | list[str]) -> bool:
    """Does any folder in `parts` (not the file name) fall under the shared excludes?"""
    for part in parts:
        if part in EXCLUDED_DIRS or any(fnmatch.fnmatchcase(part, g) for g in EXCLUDED_GLOBS):
            return True
    return False


def count(tree: Path) -> Stats:
    """Files and lines of Python under `tree` (lines = newline count, last line counted)."""
    files = lines = size = 0
    for path in sorted(tree.rglob("*.py")):
        if not path.is_file() or excluded(path.relative_to(tree).parts[:-1]):
            continue
        data = path.read_bytes()
        files += 1
        size += len(data)
        lines += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return Stats(files, lines, size)


def copy_python(source: Path, target: Path) -> int:
    """Copy every `*.py` under `source` into `target`, skipping excluded folders and symlinks."""
    copied = 0
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source)
        if path.is_symlink() or not path.is_file() or excluded(relative.parts[:-1]):
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        copied += 1
    return copied


def _read_marker(tree: Path) -> dict | None:
    try:
        return json.loads((tree / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _write_marker(tree: Path, data: dict) -> None:
    (tree / MARKER).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _fresh(tree: Path) -> None:
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)


# --- stdlib -----------------------------------------------------------------------------

def stdlib_source() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_name() -> str:
    return f"stdlib-{sys.implementation.name}{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"


def prepare_stdlib(cache: Path) -> Path:
    """This Python's standard library, copied once (the excludes make it ~330k lines)."""
    tree = cache / "corpora" / stdlib_name()
    source = stdlib_source()
    marker = _read_marker(tree)
    if marker and marker.get("source") == str(source):
        return tree
    _fresh(tree)
    copy_python(source, tree)
    _write_marker(tree, {"source": str(source), "corpus": "stdlib"})
    return tree


# --- fixtures ---------------------------------------------------------------------------

def prepare_fixtures(cache: Path, repo: Path) -> Path:
    """mcplint's own fixtures/, recopied every time (small, and they change often)."""
    tree = cache / "corpora" / "fixtures"
    source = repo / "fixtures"
    if not source.is_dir():
        raise CorpusError(f"no fixtures folder at {source}")
    _fresh(tree)
    copy_python(source, tree)
    _write_marker(tree, {"source": str(source), "corpus": "fixtures"})
    return tree


# --- mcp-real ---------------------------------------------------------------------------

def _pip_download(package: Package, into: Path, timeout: float) -> Path:
    """Download the sdist (or, failing that, a wheel) of one pinned package into `into`."""
    spec = f"{package.name}=={package.version}"
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
            "--ignore-requires-python", "-q", "-d", str(into)]
    attempts = (["--no-binary", ":all:"], ["--only-binary", ":all:"])
    errors = []
    for extra in attempts:
        _fresh(into)
        try:
            done = subprocess.run([*base, *extra, spec], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            errors.append("timed out")
            continue
        archives = [p for p in into.iterdir() if p.name.endswith((".tar.gz", ".zip", ".whl", ".tar.bz2"))]
        if done.returncode == 0 and len(archives) == 1:
            return archives[0]
        lines = [ln for ln in (done.stderr or "").splitlines() if ln.startswith("ERROR")]
        errors.append(lines[-1] if lines else f"pip exit {done.returncode}")
    raise CorpusError(f"cannot download {spec}: {'; '.join(errors)}")


def _members(archive: Path):
    """(path inside the archive, reader) for every regular file; no extraction to disk."""
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    yield info.filename, lambda info=info: zf.read(info)
    else:
        with tarfile.open(archive) as tf:
            for member in tf.getmembers():
                if member.isfile():
                    yield member.name, lambda member=member: tf.extractfile(member).read()


def unpack_python(archive: Path, target: Path) -> int:
    """Copy the `*.py` files of an sdist or wheel into `target`, shared excludes applied.

    An sdist's top folder (`name-version/`) is dropped. Paths with `..` or absolute
    paths are skipped, so a hostile archive cannot write outside `target`.
    """
    is_sdist = not archive.name.endswith((".whl", ".zip"))
    copied = 0
    for name, read in _members(archive):
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if is_sdist:
            parts = parts[1:]
        if not parts or not parts[-1].endswith(".py") or parts[0] == "/" or ".." in parts:
            continue
        if excluded(parts[:-1]):
            continue
        destination = target.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(read())
        copied += 1
    return copied


def prepare_mcp_real(cache: Path, packages=MCP_REAL, log=print, timeout: float = 600) -> Path:
    """Download each pinned package once, keep its Python files; drop folders not pinned."""
    tree = cache / "corpora" / "mcp-real"
    tree.mkdir(parents=True, exist_ok=True)
    wanted = {f"{normalize(p.name)}-{p.version}": p for p in packages}
    for stale in sorted(tree.iterdir()):
        if stale.is_dir() and stale.name not in wanted:
            shutil.rmtree(stale)
    failures = []
    for folder, package in wanted.items():
        target = tree / folder
        marker = _read_marker(target)
        if marker and marker.get("name") == package.name and marker.get("version") == package.version:
            continue
        log(f"  downloading {package.name}=={package.version}")
        try:
            archive = _pip_download(package, cache / "downloads" / folder, timeout)
        except CorpusError as exc:
            failures.append(str(exc))
            continue
        scratch = Path(tempfile.mkdtemp(prefix=".unpack-", dir=tree))
        try:
            files = unpack_python(archive, scratch)
            if files == 0:
                failures.append(f"{package.name}=={package.version}: no Python files in {archive.name}")
                continue
            if target.exists():
                shutil.rmtree(target)
            scratch.rename(target)
        finally:
            if scratch.exists():
                shutil.rmtree(scratch)
        _write_marker(target, {"name": package.name, "version": package.version, "archive": archive.name,
                               "kind": package.kind, "corpus": "mcp-real"})
    if failures:
        raise CorpusError("; ".join(failures))
    return tree


def prepare(name: str, cache: Path, repo: Path, log=print) -> Path:
    """The folder for corpus `name` (one of CORPORA, or an existing folder to copy)."""
    if name == "stdlib":
        return prepare_stdlib(cache)
    if name == "fixtures":
        return prepare_fixtures(cache, repo)
    if name == "mcp-real":
        return prepare_mcp_real(cache, log=log)
    if name == PRECOMMIT:
        return prepare_precommit(cache, log=log)
    source = Path(name).expanduser()
    if not source.is_dir():
        raise CorpusError(f"unknown corpus `{name}`: use {', '.join((*CORPORA, PRECOMMIT))} or a folder")
    tree = cache / "corpora" / f"custom-{normalize(source.resolve().name) or 'root'}"
    _fresh(tree)
    copy_python(source, tree)
    _write_marker(tree, {"source": str(source.resolve()), "corpus": "custom"})
    return tree


def prepare_precommit(cache: Path, log=print) -> Path:
    """A fresh copy of mcp-real (its runs append lines to the PRECOMMIT_CASES files)."""
    source = prepare_mcp_real(cache, log=log)
    tree = cache / "corpora" / PRECOMMIT
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(source, tree)
    for changed in PRECOMMIT_CASES.values():
        if not (tree / changed).is_file():
            raise CorpusError(f"{changed} is not in mcp-real")
    _write_marker(tree, {"source": str(source), "corpus": PRECOMMIT, "changed": list(PRECOMMIT_CASES.values())})
    return tree


def describe(name: str, tree: Path) -> Stats:
    stats = count(tree)
    if name in ("mcp-real", PRECOMMIT):
        packages = sum(1 for p in tree.iterdir() if (p / MARKER).is_file())
        return Stats(stats.files, stats.lines, stats.bytes, packages)
    return stats
