"""GitLab SAST report (security report schema 15.0.6), for `artifacts: reports: sast:`.

One vulnerability per active finding of a checklist rule, and of mcplint's own
diagnostics about suppression comments (severity `Info`). Suppressed findings are
left out, as semgrep does: GitLab has no way to show them as dismissed. Files mcplint
could not read or parse are `scan.messages` (level `warn`), not vulnerabilities.

Each vulnerability's `id` is a UUID derived from the finding's fingerprint, and its
`tracking` signature is the fingerprint itself (algorithm `hash`), so a finding keeps
its identity when lines above it move. The schema has no `confidence` field since 15.0:
it goes into `details` with the handler, the checklist item and the data flow.

Everything is deterministic except `scan.start_time` / `end_time`; pass `now` (or set
`SOURCE_DATE_EPOCH`) to pin them. Paths are made relative to `$CI_PROJECT_DIR` when
the scan root lies inside it, because GitLab resolves them against the repository root.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mcplint
from mcplint.checklist import ITEM_BY_ID
from mcplint.finding import Finding, RuleMeta, Severity, Span
from mcplint.report import NOT_ANALYSED, clean
from mcplint.report.github import annotation_path

if TYPE_CHECKING:
    from mcplint.engine import ScanResult


SCHEMA_VERSION = "15.0.6"
SCHEMA_URI = (
    "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/"
    f"v{SCHEMA_VERSION}/dist/sast-report-format.json"
)
TOOL_URL = "https://github.com/mcplint/mcplint"
# Fixed namespace: the same fingerprint gives the same UUID on every machine and run.
ID_NAMESPACE = uuid.UUID("5f0c1d2e-8a4b-5c6d-9e7f-0a1b2c3d4e5f")
TRACKING_ALGORITHM = "hash"


SEVERITY = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
}
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"  # the schema's pattern: no fraction, no zone (UTC)

# Schema limits on vulnerability fields.
MAX_NAME, MAX_DESCRIPTION, MAX_SOLUTION = 255, 1_048_576, 7000




def _limit(text: str, size: int) -> str:
    text = clean(text)
    return text if len(text) <= size else text[: size - 1] + "…"


def vulnerability_id(finding: Finding) -> str:
    """A UUID from the fingerprint (rule, file, handler, statement, occurrence)."""
    key = finding.fingerprint or "\x1f".join((finding.code, finding.path, str(finding.span), finding.message))
    return str(uuid.uuid5(ID_NAMESPACE, clean(key)))


def _identifiers(meta: RuleMeta) -> list[dict[str, str]]:
    """The rule first (GitLab's primary identifier, stable forever), then its CWE."""
    out = [{
        "type": "mcplint_rule_id",
        "name": f"mcplint {meta.code} {meta.name}",
        "value": meta.code,
        "url": meta.help_uri,
    }]
    if meta.cwe is not None:
        out.append({
            "type": "cwe",
            "name": f"CWE-{meta.cwe}",
            "value": str(meta.cwe),
            "url": f"https://cwe.mitre.org/data/definitions/{meta.cwe}.html",
        })
    return out


def _text(value: str) -> dict[str, str]:
    return {"type": "text", "value": clean(value)}


def _file_location(path: str, span: Span) -> dict[str, Any]:
    return {"type": "file-location", "file_name": clean(path), "line_start": span.line, "line_end": span.end_line}


def _details(finding: Finding, path_of) -> dict[str, Any]:
    meta = finding.rule
    details: dict[str, Any] = {
        "confidence": {"name": "Confidence", **_text(finding.confidence.value)},
    }
    if meta.checklist:
        item = ITEM_BY_ID.get(meta.checklist)
        label = f"{meta.checklist} {item.title}" if item else meta.checklist
        details["checklist"] = {"name": "MCP security checklist", **_text(label)}
    if finding.handler:
        details["handler"] = {"name": "Handler", **_text(finding.handler)}
    if finding.trace:
        rows = [
            [_text(step.note), _file_location(path_of(step.path or finding.path), step.span)]
            for step in finding.trace
        ]
        details["flow"] = {
            "name": "Data flow",
            "type": "table",
            "header": [_text("Step"), _text("Location")],
            "rows": rows,
        }
    if finding.fingerprint:
        details["fingerprint"] = {"name": "mcplint fingerprint", **_text(finding.fingerprint)}
    return details


def _description(finding: Finding) -> str:
    meta = finding.rule
    parts = [finding.message]
    if finding.handler:
        parts.append(f"In {finding.handler}.")
    if meta.why:
        parts.append(meta.why)
    return _limit("\n\n".join(parts), MAX_DESCRIPTION)


def _vulnerability(finding: Finding, path_of) -> dict[str, Any]:
    meta = finding.rule
    path = path_of(finding.path)
    span = finding.span
    location = {"file": clean(path), "start_line": span.line, "end_line": span.end_line}
    vulnerability: dict[str, Any] = {
        "id": vulnerability_id(finding),
        "name": _limit(meta.summary or meta.name, MAX_NAME),
        "description": _description(finding),
        "severity": SEVERITY[finding.severity] if meta.checklist else "Info",
    }
    if meta.fix:
        vulnerability["solution"] = _limit(meta.fix, MAX_SOLUTION)
    vulnerability.update({
        "identifiers": _identifiers(meta),
        "links": [{"name": f"mcplint {meta.code} documentation", "url": meta.help_uri}],
        "location": location,
        "details": _details(finding, path_of),
    })
    if finding.fingerprint:
        vulnerability["tracking"] = {
            "type": "source",
            "items": [{
                **location,
                "signatures": [{"algorithm": TRACKING_ALGORITHM, "value": finding.fingerprint}],
            }],
        }
    return vulnerability


def _message(finding: Finding, path_of) -> dict[str, str]:
    return {"level": "warn", "value": clean(f"{path_of(finding.path)}:{finding.span.line}: {finding.message}")}


def _now() -> datetime:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    return datetime.now(timezone.utc)


def _component() -> dict[str, Any]:
    return {
        "id": "mcplint",
        "name": "mcplint",
        "url": TOOL_URL,
        "vendor": {"name": "mcplint"},
        "version": mcplint.__version__,
    }


def build(result: "ScanResult", *, root: Path, now: datetime | None = None,
          project_dir: Path | None = None) -> dict[str, Any]:
    """The report as plain data. `now` is the end of the scan (default: the clock);
    `project_dir` defaults to `$CI_PROJECT_DIR` (unset: paths as found)."""
    if project_dir is None and os.environ.get("CI_PROJECT_DIR"):
        project_dir = Path(os.environ["CI_PROJECT_DIR"])

    def path_of(path: str) -> str:
        return annotation_path(path, root, project_dir)

    end = (now or _now()).astimezone(timezone.utc)
    start = end - timedelta(seconds=max(result.seconds, 0.0))
    active = sorted(result.active, key=Finding.sort_key)
    scan: dict[str, Any] = {
        "analyzer": _component(),
        "scanner": _component(),
        "type": "sast",
        "start_time": start.strftime(TIME_FORMAT),
        "end_time": end.strftime(TIME_FORMAT),
        "status": "success",
    }
    messages = [_message(f, path_of) for f in active if f.code in NOT_ANALYSED]
    if messages:
        scan["messages"] = messages
    return {
        "schema": SCHEMA_URI,
        "version": SCHEMA_VERSION,
        "scan": scan,
        "vulnerabilities": [_vulnerability(f, path_of) for f in active if f.code not in NOT_ANALYSED],
    }


def render(result: "ScanResult", *, root: Path, now: datetime | None = None,
           project_dir: Path | None = None) -> str:
    return json.dumps(build(result, root=root, now=now, project_dir=project_dir), indent=2, ensure_ascii=False) + "\n"
