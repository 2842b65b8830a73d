"""GitHub Actions workflow commands: one annotation line per active finding.

`::error file=F,line=L,endLine=EL,col=C,endColumn=EC,title=mcplint (MCP301) tool-shell-injection::message`
Critical and high findings are errors, medium warnings, low notices. Values are escaped
as actions/toolkit does (`%`, CR, LF everywhere; `:` and `,` also in properties).
GitHub shows at most 10 annotations of each level per step; the rest stay in the log.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from mcplint.finding import Finding, Severity
from mcplint.report import clean

if TYPE_CHECKING:
    from mcplint.engine import ScanResult


COMMAND = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
}




def escape_data(text: str) -> str:
    return clean(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation_path(path: str, root: Path, workspace: Path | None) -> str:
    """The finding's path relative to the checkout when the scan root lies inside it.

    GitHub resolves annotation paths against the repository root; a scan of a
    subdirectory reports paths relative to that subdirectory, which would not match.
    """
    if workspace is None:
        return path
    target = Path(path) if PurePosixPath(path).is_absolute() else Path(root, path)
    try:
        return target.resolve().relative_to(workspace.resolve()).as_posix()
    except (ValueError, OSError):
        return path


def annotation(finding: Finding, path: str) -> str:
    span = finding.span
    properties = [("file", path), ("line", str(span.line)), ("endLine", str(span.end_line)), ("col", str(span.column))]
    if (span.end_line, span.end_column) != (span.line, span.column) and span.end_column > 0:
        properties.append(("endColumn", str(span.end_column)))
    properties.append(("title", f"mcplint ({finding.code}) {finding.rule.name}"))
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{COMMAND[finding.severity]} {joined}::{escape_data(finding.message)}"


def render(result: "ScanResult", *, root: Path, workspace: Path | None = None) -> str:
    """Annotation lines; `workspace` defaults to `$GITHUB_WORKSPACE` (unset: paths as found)."""
    if workspace is None and os.environ.get("GITHUB_WORKSPACE"):
        workspace = Path(os.environ["GITHUB_WORKSPACE"])
    return "".join(
        annotation(f, annotation_path(f.path, root, workspace)) + "\n"
        for f in sorted(result.active, key=Finding.sort_key)
    )
