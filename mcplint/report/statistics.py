"""`mcplint scan --statistics`: how many active findings each rule reported, like ruff's.

Most frequent first (ties by code). Suppressed findings are not counted, as in every
other report. Text: one aligned line per rule (count, code, name, severity), `[*]`
before the name of a rule with a finding that `mcplint fix` can fix safely. JSON: a list of
`{"code", "name", "count", "severity", "fixable"}`. `severity` is the highest among the
rule's findings, which can differ from the rule's default (`mcplint rules`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcplint.engine import ScanResult
    from mcplint.finding import Finding, RuleMeta, Severity


@dataclass(frozen=True)
class RuleCount:
    meta: "RuleMeta"
    count: int
    severity: "Severity"  # the highest among the rule's findings (a finding may differ from the rule's default)
    fixable: bool  # at least one of them has a safe fix (what `mcplint fix` applies without --unsafe)


def _safe_fix(finding: "Finding") -> bool:
    fix = getattr(finding, "fix", None)
    return fix is not None and bool(getattr(fix, "safe", False))


def counts(result: "ScanResult") -> list[RuleCount]:
    groups: dict[str, list["Finding"]] = {}
    for f in result.active:
        groups.setdefault(f.code, []).append(f)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [
        RuleCount(
            meta=found[0].rule,
            count=len(found),
            severity=max((f.severity for f in found), key=lambda s: s.rank),
            fixable=any(_safe_fix(f) for f in found),
        )
        for _, found in ordered
    ]


def data(result: "ScanResult") -> list[dict[str, Any]]:
    return [
        {
            "code": row.meta.code,
            "name": row.meta.name,
            "count": row.count,
            "severity": row.severity.value,
            "fixable": row.fixable,
        }
        for row in counts(result)
    ]


def render_json(result: "ScanResult") -> str:
    return json.dumps(data(result), indent=2) + "\n"


def render_text(result: "ScanResult") -> str:
    rows = counts(result)
    if not rows:
        return ""
    any_fixable = any(row.fixable for row in rows)
    width = max(len(str(row.count)) for row in rows)
    code_width = max(len(row.meta.code) for row in rows)
    name_width = max(len(row.meta.name) for row in rows) + (4 if any_fixable else 0)
    lines = []
    for row in rows:
        name = (("[*] " if row.fixable else "    ") if any_fixable else "") + row.meta.name
        lines.append(
            f"{row.count:>{width}}  {row.meta.code:<{code_width}}  {name:<{name_width}}  {row.severity.value}"
        )
    return "\n".join(lines) + "\n"
