"""Adopting mcplint on an old codebase: report only findings that are not already known.

`mcplint baseline write` records today's active findings in `.mcplint-baseline.json`;
`mcplint scan --baseline FILE` then leaves those out of the report and the exit code.
`mcplint scan --diff REF` (mcplint.gitdiff) does the same with the findings the code had
at a git revision instead of a file.

Matching uses the finding fingerprints (`assign_fingerprints`): the hash of the rule,
the file, the handler and the whitespace-normalised statement, never a line number, so
edits elsewhere in a file do not turn old findings into new ones. A baseline keeps, per
hash, how many findings had it. A scan that finds more (a second copy of an old problem)
reports the extra ones, the later in the file; a scan that finds fewer leaves *stale*
entries (fixed, or the statement changed), which are counted and noted, never a failure.
Suppressed findings are neither recorded nor matched: the suppression comment covers them.

The file is JSON, sorted, with no timestamps, line numbers or absolute paths, so it
diffs well in review:

    {"tool": "mcplint", "version": 1, "findings": [
      {"fingerprint": "1df9f7e009a0ec28", "count": 1, "code": "MCP301",
       "path": "server.py", "handler": "tool `clean`", "message": "..."}]}

Paths are relative to the scan root (the folder of the config file, else the current
folder), as in every report: write and use a baseline from the same place.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from mcplint.config import ConfigError
from mcplint.finding import Finding

if TYPE_CHECKING:
    from mcplint.engine import ScanResult

FORMAT_VERSION = 1
DEFAULT_FILE = ".mcplint-baseline.json"
_HASH = re.compile(r"^[0-9a-f]{1,64}$")


class BaselineError(ConfigError):
    """A baseline file that cannot be used: a usage error (exit code 2)."""


@dataclass(frozen=True)
class Entry:
    """Findings with one fingerprint hash: how many, and what they were (for humans)."""

    fingerprint: str  # the hash part of `Finding.fingerprint`, without `:index`
    count: int
    code: str = ""
    path: str = ""
    handler: str | None = None
    message: str = ""

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fingerprint": self.fingerprint, "count": self.count, "code": self.code,
                               "path": self.path}
        if self.handler:
            out["handler"] = self.handler
        out["message"] = self.message
        return out


@dataclass
class Comparison:
    """What a scan was compared with, and how many known findings it left out."""

    kind: str  # "file" (--baseline) or "git" (--diff)
    source: str  # the baseline file as given, or the git revision
    matched: int = 0  # known findings found again: left out of the report
    known: list[Finding] = field(default_factory=list)  # those findings (the scorecard still counts them)
    stale: list[Entry] = field(default_factory=list)  # known, not found any more (count = how many)
    note: str = ""  # anything else worth a line on stderr (e.g. "no file changed")

    @property
    def stale_count(self) -> int:
        return sum(entry.count for entry in self.stale)

    def summary(self) -> dict[str, Any]:
        """For `summary.baseline` in the JSON report."""
        return {"kind": self.kind, "source": self.source, "matched": self.matched, "stale": self.stale_count}

    def messages(self) -> list[str]:
        """Lines for stderr: stale entries are worth knowing, never a failure."""
        lines = [self.note] if self.note else []
        stale = self.stale_count
        if stale and self.kind == "file":
            files = len({entry.path for entry in self.stale})
            lines.append(
                f"{stale} baseline finding{'s' if stale != 1 else ''} in {files} file{'s' if files != 1 else ''} "
                f"no longer found (fixed or changed); `mcplint baseline write` refreshes {self.source}"
            )
        elif stale:
            lines.append(f"{stale} finding{'s' if stale != 1 else ''} present at {self.source} "
                         f"no longer found (fixed or changed)")
        return lines


def fingerprint_hash(finding: Finding) -> str:
    return finding.fingerprint.partition(":")[0]


def entries(findings: Iterable[Finding]) -> list[Entry]:
    """The active findings grouped by fingerprint hash, sorted by path, code and hash."""
    counts: Counter[str] = Counter()
    first: dict[str, Finding] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        if finding.suppressed or not finding.fingerprint:
            continue
        key = fingerprint_hash(finding)
        counts[key] += 1
        first.setdefault(key, finding)
    out = [
        Entry(key, counts[key], first[key].code, first[key].path, first[key].handler, first[key].message)
        for key in counts
    ]
    return sorted(out, key=lambda e: (e.path, e.code, e.fingerprint))


def render(findings: Iterable[Finding]) -> str:
    """The baseline file's text for these findings."""
    document = {"tool": "mcplint", "version": FORMAT_VERSION, "findings": [e.data() for e in entries(findings)]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write(result: "ScanResult", path: Path) -> list[Entry]:
    """Record the scan's active findings in `path`; returns the entries written."""
    text = render(result.findings)
    try:
        if path.parent != Path(""):
            path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise BaselineError(f"cannot write baseline {path}: {exc.strerror or exc}") from None
    return entries(result.findings)


def load(path: Path) -> dict[str, Entry]:
    """The entries of a baseline file by hash; a missing or malformed file is a BaselineError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BaselineError(f"baseline file not found: {path} (create it with `mcplint baseline write`)") from None
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BaselineError(f"baseline {path} is not valid JSON: {exc}") from None
    return parse(document, str(path))


def parse(document: object, name: str = "baseline") -> dict[str, Entry]:
    def bad(why: str) -> BaselineError:
        return BaselineError(f"baseline {name} is not an mcplint baseline: {why}")

    if not isinstance(document, dict) or document.get("tool") != "mcplint":
        raise bad('expected an object with "tool": "mcplint"')
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise bad('"version" must be an integer')
    if version > FORMAT_VERSION:
        raise BaselineError(f"baseline {name} has format version {version}; this mcplint reads "
                            f"version {FORMAT_VERSION} (upgrade mcplint)")
    items = document.get("findings")
    if not isinstance(items, list):
        raise bad('"findings" must be a list')
    out: dict[str, Entry] = {}
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise bad(f"finding {number} is not an object")
        key, count = item.get("fingerprint"), item.get("count", 1)
        if not isinstance(key, str) or not _HASH.match(key):
            raise bad(f"finding {number}: \"fingerprint\" must be a hex string")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise bad(f"finding {number}: \"count\" must be a positive integer")
        text = {k: item.get(k) if isinstance(item.get(k), str) else "" for k in ("code", "path", "message")}
        handler = item.get("handler") if isinstance(item.get("handler"), str) else None
        previous = out.get(key)
        total = count + (previous.count if previous else 0)  # a hand-merged file may repeat a hash
        out[key] = Entry(key, total, text["code"], text["path"], handler, text["message"])
    return out


def compare(
    result: "ScanResult",
    known: dict[str, Entry],
    *,
    kind: str,
    source: str,
    scope: Iterable[str] | None = None,
) -> "ScanResult":
    """The scan without the findings `known` accounts for, with a `Comparison` attached.

    Findings are taken in report order: with N known findings of a hash, the first N
    found are old and any later ones new. `scope`: the paths the scan covered (default:
    every file it discovered); known findings elsewhere are not called stale.
    """
    remaining = {key: entry.count for key, entry in known.items()}
    kept: list[Finding] = []
    matched: list[Finding] = []
    for finding in sorted(result.findings, key=Finding.sort_key):
        key = fingerprint_hash(finding)
        if not finding.suppressed and finding.fingerprint and remaining.get(key, 0) > 0:
            remaining[key] -= 1
            matched.append(finding)
            continue
        kept.append(finding)
    covered = set(result.project.files if scope is None else scope)
    stale = [
        replace(known[key], count=left)
        for key, left in remaining.items()
        if left > 0 and known[key].path in covered
    ]
    stale.sort(key=lambda e: (e.path, e.code, e.fingerprint))
    comparison = Comparison(kind=kind, source=source, matched=len(matched), known=matched, stale=stale)
    return replace(result, findings=kept, baseline=comparison)

