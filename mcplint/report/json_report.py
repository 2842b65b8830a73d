"""mcplint's own JSON document: every finding, the checklist scorecard, the rules that ran.

The format is documented field by field in docs/json-format.md and versioned by
`schema_version`: fields may be added without a bump, never renamed, retyped or removed.
Output is deterministic (fixed key order, findings in path/line order, no timestamps);
only `summary.seconds` differs between two scans of the same code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mcplint
from mcplint.checklist import scorecard
from mcplint.finding import Finding, RuleMeta, Severity, Span, TraceStep
from mcplint.report import clean

if TYPE_CHECKING:
    from mcplint.engine import ScanResult


SCHEMA_VERSION = 1
SEVERITIES = tuple(reversed(Severity))  # critical first




def _optional(text: str | None) -> str | None:
    return None if text is None else clean(text)


def _location(span: Span) -> dict[str, int]:
    return {"line": span.line, "column": span.column, "end_line": span.end_line, "end_column": span.end_column}


def _step(step: TraceStep, finding: Finding) -> dict[str, Any]:
    return {"path": clean(step.path or finding.path), **_location(step.span), "note": clean(step.note)}


def finding_data(finding: Finding) -> dict[str, Any]:
    meta = finding.rule
    return {
        "code": meta.code,
        "name": meta.name,
        "severity": finding.severity.value,
        "confidence": finding.confidence.value,
        "checklist": meta.checklist,
        "cwe": meta.cwe,
        "path": clean(finding.path),
        **_location(finding.span),
        "message": clean(finding.message),
        "handler": _optional(finding.handler),
        "trace": [_step(step, finding) for step in finding.trace],
        "fingerprint": finding.fingerprint,
        "suppressed": finding.suppressed,
        "justification": _optional(finding.justification) if finding.suppressed else None,
        "fix": _fix(finding),
    }


def _fix(finding: Finding) -> dict[str, Any] | None:
    fix = finding.fix
    if fix is None or finding.rule.redact:  # an edit of a secret's line would echo it
        return None
    return {
        "description": clean(fix.description),
        "safe": fix.safe,
        "edits": [{"path": clean(edit.path or finding.path), **_location(edit.span), "text": clean(edit.text)}
                  for edit in fix.edits],
    }


def rule_data(meta: RuleMeta) -> dict[str, Any]:
    return {
        "code": meta.code,
        "name": meta.name,
        "severity": meta.severity.value,
        "confidence": meta.confidence.value,
        "checklist": meta.checklist,
        "cwe": meta.cwe,
        "summary": meta.summary,
        "help_uri": meta.help_uri,
        "engine": meta.engine,
    }


def build(result: "ScanResult") -> dict[str, Any]:
    """The document as plain data (what `render` serializes)."""
    active = result.active
    by_severity = {s.value: sum(1 for f in active if f.severity is s) for s in SEVERITIES}
    summary = {
        "files": result.files,
        "parsed": result.parsed,
        "servers": result.servers,
        "handlers": result.handlers,
        "findings": {"total": len(active), **by_severity},
        "suppressed": len(result.suppressed),
        "seconds": round(result.seconds, 2),
    }
    if result.baseline is not None:  # --baseline / --diff: known findings were left out
        summary["baseline"] = result.baseline.summary()
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "mcplint", "version": mcplint.__version__},
        "summary": summary,
        "findings": [finding_data(f) for f in sorted(result.findings, key=Finding.sort_key)],
        "checklist": [
            {
                "id": status.item.id,
                "title": status.item.title,
                "status": status.status,
                "findings": len(status.findings),
                "rules": list(status.rules),
                "evidence": [evidence_data(e) for e in status.evidence],
                "detail": status.detail,
            }
            for status in scorecard(result)
        ],
        "rules": [rule_data(meta) for meta in _rules(result)],
    }


def evidence_data(evidence) -> dict:
    return {"path": evidence.path, "line": evidence.line, "note": evidence.note, "rule": evidence.rule}


def _rules(result: "ScanResult") -> list[RuleMeta]:
    """The rules that ran, then (sorted by code) any other rule a finding names."""
    ran = [rule.meta for rule in result.rules]
    known = {meta.code for meta in ran}
    others = {f.rule.code: f.rule for f in result.findings if f.rule.code not in known}
    return ran + [others[code] for code in sorted(others)]


def render(result: "ScanResult", *, root: Path) -> str:
    """`root` is unused: finding paths are already relative to it, and an absolute
    root would make the document differ between machines."""
    del root
    return json.dumps(build(result), indent=2, ensure_ascii=False) + "\n"
