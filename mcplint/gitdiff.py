"""`mcplint scan --diff REF`: only the findings introduced since a git revision.

Both sides are scanned with the same rules and settings: the working tree as it is
(committed, staged, unstaged, and untracked files git does not ignore) and the files as
they were at REF, read with `git cat-file` into a temporary folder. The user's checkout,
index and HEAD are never touched. A finding is new when REF did not have it, by
fingerprint and count, exactly as with a baseline file (mcplint.baseline).

Which files both sides scan. A finding can change without its own file changing: taint
crosses modules (a changed helper can make a tool in an unchanged file reach a sink in
another unchanged file), and whether a helper module gets the MCP rules depends on which
MCP files import it. Only the modules the MCP rules see (MCP files and the project modules
they import, the engine's deep set) are analysed across files; any other file's findings
are its own. So a changed Python file is taken together with every deep-set module linked
to it by imports in either direction, transitively (its connected part of the deep set's
import graph, with the files and imports of both sides), plus every non-Python file the
rules read (manifests, Dockerfiles, client configs: cheap, and they carry the project
facts). A changed dependency manifest (pyproject.toml, requirements, lock files) can
change findings anywhere, so then every file is scanned on both sides. A file outside
that set is unchanged along with everything its findings depend on, so it cannot have a
new finding. In a project whose modules all hang together this is the whole project:
both sides are scanned, about twice the time of a plain scan.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Callable

from mcplint.baseline import Comparison, compare, entries
from mcplint.config import Config, ConfigError
from mcplint.deps import is_manifest
from mcplint.engine import ScanResult, _deep_set, scan, select_rules
from mcplint.files import PYTHON_SUFFIXES, SourceFile, discover
from mcplint.mcp.project import ModuleIndex, project_imports


class GitError(ConfigError):
    """git is missing, the path is not in a repository, or REF is unknown: exit code 2."""


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    # no fsmonitor hook, no index refresh written to .git, pathspecs taken literally
    command = ["git", "-c", "core.fsmonitor=false", "--literal-pathspecs", "-C", str(repo), *args]
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, env=env, check=False)
    except FileNotFoundError:
        raise GitError("--diff needs git, which was not found on PATH") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"--diff: `git {args[0]}` failed: {detail[-1] if detail else f'exit {done.returncode}'}")
    return done.stdout


def _toplevel(start: Path) -> Path:
    folder = start if start.is_dir() else start.parent
    try:
        out = _git(folder if str(folder) else Path("."), "rev-parse", "--show-toplevel")
    except GitError as exc:
        if "needs git" in str(exc):
            raise
        raise GitError(f"--diff: {start} is not inside a git repository") from None
    return Path(os.path.realpath(os.fsdecode(out.strip())))


def _commit(repo: Path, ref: str) -> str:
    if not ref or ref.startswith("-"):
        raise GitError(f"--diff: `{ref}` is not a git revision")
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except GitError:
        raise GitError(
            f"--diff: unknown git revision `{ref}` (a shallow CI checkout may need more history, "
            "e.g. `fetch-depth: 0`)"
        ) from None


def _split(out: bytes) -> list[str]:
    return [os.fsdecode(item) for item in out.split(b"\0") if item]


def changed_paths(repo: Path, commit: str, pathspecs: list[str]) -> list[str]:
    """Repository paths that differ between `commit` and the working tree, and new
    files git does not ignore."""
    spec = ["--", *pathspecs]
    tracked = _git(repo, "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--no-color", commit, *spec)
    untracked = _git(repo, "ls-files", "--others", "--exclude-standard", "-z", *spec)
    return sorted(set(_split(tracked)) | set(_split(untracked)))


def read_at(repo: Path, commit: str, paths: list[str]) -> dict[str, bytes | None]:
    """The contents of `paths` at `commit` (None: not a file there), in one git process."""
    names = [p for p in paths if "\n" not in p]
    out: dict[str, bytes | None] = {p: None for p in paths}
    if not names:
        return out
    data = _git(repo, "cat-file", "--batch", stdin=b"".join(commit.encode() + b":" + os.fsencode(p) + b"\n" for p in names))
    position = 0
    for name in names:
        end = data.index(b"\n", position)
        header = data[position:end]
        position = end + 1
        if header.endswith(b" missing") or header.endswith(b" ambiguous"):
            continue
        _, kind, size = header.rsplit(b" ", 2)
        content = data[position:position + int(size)]
        position += int(size) + 1
        out[name] = content if kind == b"blob" else None
    return out


def _links(contents: dict[str, bytes]) -> dict[str, set[str]]:
    """Import links between project Python files, both directions."""
    index = ModuleIndex(list(contents))
    links: dict[str, set[str]] = {path: set() for path in contents}
    for path, data in contents.items():
        for qualified in project_imports(data):
            target = index.resolve(path, qualified)
            if target is not None and target.path != path:
                links[path].add(target.path)
                links.setdefault(target.path, set()).add(path)
    return links


def _deep(contents: dict[str, bytes]) -> set[str]:
    """MCP files and the project modules they import, as the engine picks them."""
    return _deep_set(contents, dict.fromkeys(contents, "python"), ModuleIndex(list(contents)))


def _connected(seeds: set[str], within: set[str], *graphs: dict[str, set[str]]) -> set[str]:
    seen, stack = set(seeds), list(seeds)
    while stack:
        path = stack.pop()
        for graph in graphs:
            for other in graph.get(path, ()):
                if other not in seen and other in within:
                    seen.add(other)
                    stack.append(other)
    return seen


def _read(source: SourceFile) -> bytes | None:
    try:
        return source.path.read_bytes()
    except OSError:
        return None


def scan_since(
    ref: str,
    paths: list[Path],
    config: Config,
    *,
    progress: Callable[[int, int], None] | None = None,
    jobs: int | None = None,
) -> ScanResult:
    """Scan `paths` and keep only the findings REF did not have (see the module doc)."""
    paths = paths or [Path(".")]
    root = Path(os.path.realpath(config.root))

    rules = select_rules(config)
    text_rules = [r for r in rules if r.scope == "text"]

    def wanted(display: str) -> bool:  # the same non-Python files the engine lists
        return is_manifest(display) or any(r.wants_file(display) for r in text_rules)

    def kind(display: str) -> str | None:
        if display.endswith(PYTHON_SUFFIXES):
            return "python"
        return "text" if wanted(display) else None

    now = {source.display: source for source in discover(paths, config, None, wanted)}  # checks the paths exist
    repo = _toplevel(paths[0])
    commit = _commit(repo, ref)

    pathspecs = []
    for given in paths:
        relative = os.path.relpath(os.path.realpath(given), repo)
        if relative != ".." and not relative.startswith(".." + os.sep):
            pathspecs.append(Path(relative).as_posix())
    by_display: dict[str, str] = {}  # display path -> repository path, for changed files
    for git_path in changed_paths(repo, commit, pathspecs) if pathspecs else []:
        display = Path(os.path.relpath(repo / git_path, root)).as_posix()
        if not display.startswith("../") and display != "..":
            by_display[display] = git_path
    before = read_at(repo, commit, [by_display[d] for d in sorted(by_display)])

    folders = [Path(os.path.relpath(os.path.realpath(g), root)).as_posix() for g in paths if g.is_dir()]

    def at_ref(display: str) -> bool:  # would a scan at REF have read it? (it is gone now)
        if display in now:
            return True
        if Path(root, display).exists() or kind(display) is None:
            return False
        # excludes apply below the folder given on the command line, as in discovery
        inner = next((display[len(f) + 1:] for f in folders if f != "." and display.startswith(f + "/")), display)
        return not config.is_excluded(display, inner)

    changed = {d for d in by_display if d in now or (before[by_display[d]] is not None and at_ref(d))}
    if not changed:
        result = scan([], config, jobs=jobs)
        return replace(result, baseline=Comparison("git", ref, note=f"no scanned file changed since {ref}"))

    current: dict[str, bytes | None] = {d: _read(source) for d, source in now.items()}
    previous: dict[str, bytes] = {}  # display path -> content at REF, for the files REF had
    for display in set(now) | changed:
        if display in changed:
            content = before[by_display[display]]
            if content is not None and at_ref(display):
                previous[display] = content
        elif current.get(display) is not None:
            previous[display] = current[display]  # unchanged: the working tree's bytes

    if any(is_manifest(d) for d in changed):
        scan_now, scan_before = set(now), set(previous)
    else:
        python_now = {d: b for d, b in current.items() if b is not None and now[d].kind == "python"}
        python_before = {d: b for d, b in previous.items() if kind(d) == "python"}
        seeds = {d for d in changed if kind(d) == "python"}
        linked = set(seeds)
        if any(r.scope == "mcp" for r in rules):
            deep = _deep(python_now) | _deep(python_before)
            linked |= _connected(seeds & deep, deep, _links(python_now), _links(python_before))
        scan_now = {d for d in now if d in linked or now[d].kind == "text"}
        scan_before = {d for d in previous if d in linked or kind(d) == "text"}
    outside = sorted(d for d in scan_now | scan_before if d.startswith("/") or d.startswith("../"))
    if outside:
        raise GitError(f"--diff: `{outside[0]}` is outside the scan root {root}; run mcplint from the project root")

    result = scan([now[d].path for d in sorted(scan_now)], config, progress=progress, jobs=jobs)
    with tempfile.TemporaryDirectory(prefix="mcplint-diff-") as folder:
        tree = Path(folder, "tree")
        tree.mkdir()
        for display in sorted(scan_before):
            target = tree / display
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(previous[display])
        earlier = scan([tree / d for d in sorted(scan_before)], replace(config, root=tree), jobs=jobs)
    known = {entry.fingerprint: entry for entry in entries(earlier.findings)}
    return compare(result, known, kind="git", source=ref, scope=earlier.project.files)
