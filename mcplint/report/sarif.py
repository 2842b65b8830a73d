"""SARIF 2.1.0 as GitHub code scanning reads it.

One run, driver `mcplint`, a rule descriptor for every rule that ran (the rule's
docstring is its help), one result per active finding. Suppressed findings are left
out: GitHub ignores `suppressions` and would show them as open alerts. Files mcplint
could not read or parse are tool execution notifications, not results, because a
result about "this file was not analysed" is not a problem in the code.

The objects are `sarif-om` classes; `to_sarif` turns them into JSON-ready dicts with
camelCase keys, dropping `None` and attrs defaults (which `sarif-om` fills with values
such as `ruleIndex: -1` or `kind: "fail"`), but always keeping `level`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attr
from sarif_om import (
    ArtifactChange,
    ArtifactContent,
    ArtifactLocation,
    CodeFlow,
    Fix,
    Invocation,
    Location,
    Message,
    MultiformatMessageString,
    Notification,
    PhysicalLocation,
    PropertyBag,
    Region,
    Replacement,
    ReportingConfiguration,
    ReportingDescriptor,
    ReportingDescriptorReference,
    Result,
    Run,
    SarifLog,
    ThreadFlow,
    ThreadFlowLocation,
    Tool,
    ToolComponent,
)

import mcplint
from mcplint.docs import rule_markdown
from mcplint.finding import Finding, RuleMeta, Severity, Span
from mcplint.report import NOT_ANALYSED, clean

if TYPE_CHECKING:
    from mcplint.engine import ScanResult


SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/mcplint/mcplint"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "mcplint/v1"


LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
# GitHub: > 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low. Must be a string.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}
# For rules outside the checklist (mcplint's own diagnostics): not security alerts.
PROBLEM_SEVERITY = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "recommendation",
}

KEEP_EVEN_IF_DEFAULT = frozenset({"level"})  # dropping it would change the effective level
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[/\\]")


def to_sarif(obj: Any) -> Any:
    """A `sarif-om` object tree as plain JSON data with the schema's property names."""
    if attr.has(type(obj)):
        out: dict[str, Any] = {}
        for field in attr.fields(type(obj)):
            value = getattr(obj, field.name)
            if value is None:
                continue
            default = field.default.factory() if isinstance(field.default, attr.Factory) else field.default
            key = field.metadata.get("schema_property_name", field.name)
            if value == default and type(value) is type(default) and key not in KEEP_EVEN_IF_DEFAULT:
                continue
            out[key] = to_sarif(value)
        declared = attr.fields_dict(type(obj))
        out.update({k: to_sarif(v) for k, v in vars(obj).items() if k not in declared and v is not None})
        return out
    if isinstance(obj, dict):
        return {k: to_sarif(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [to_sarif(v) for v in obj]
    if isinstance(obj, str):
        return clean(obj)
    return obj




def _utf8(text: str) -> bytes:
    """The bytes of a path; file-name bytes Python could not decode come back as they were."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def artifact_location(path: str, root: Path) -> ArtifactLocation:
    """A percent-encoded URI: relative to `%SRCROOT%`, or a `file:` URI for outside paths."""
    windows = bool(_WINDOWS_DRIVE.match(path))
    if windows or path.startswith("/"):
        pure: PurePath = PureWindowsPath(path) if windows else PurePosixPath(path)
        try:
            path = pure.relative_to(type(pure)(root)).as_posix()
        except ValueError:
            return ArtifactLocation(uri=_file_uri(pure))
    raw = _utf8(path.replace("\\", "/"))
    # `:` is encoded too, so a first segment like `a:b.py` is not read as a scheme.
    return ArtifactLocation(uri=quote(raw, safe="/"), uri_base_id=SRCROOT)


def _file_uri(pure: PurePath) -> str:
    text = pure.as_posix()
    if isinstance(pure, PureWindowsPath):
        text = "/" + text  # file:///C:/...
    return "file://" + quote(_utf8(text), safe="/:")


def region(span: Span) -> Region:
    """1-based lines and code-point columns; an empty extent means "the line from here"."""
    known_end = (span.end_line, span.end_column) != (span.line, span.column) and span.end_column > 0
    return Region(
        start_line=span.line,
        start_column=span.column,
        end_line=span.end_line,
        end_column=span.end_column if known_end else None,
    )


def physical_location(path: str, span: Span, root: Path) -> PhysicalLocation:
    return PhysicalLocation(artifact_location=artifact_location(path, root), region=region(span))


def _fixes(finding: Finding, root: Path) -> list[Fix] | None:
    """The finding's fix as SARIF `fixes`: one change per file, each edit a replacement
    of an explicit region (an insertion is an empty region: end == start)."""
    fix = finding.fix
    if fix is None:
        return None
    by_path: dict[str, list[Replacement]] = {}
    for edit in fix.edits:
        span = edit.span
        deleted = Region(start_line=span.line, start_column=span.column, end_line=span.end_line,
                         end_column=span.end_column)
        by_path.setdefault(edit.path or finding.path, []).append(
            Replacement(deleted_region=deleted, inserted_content=ArtifactContent(text=edit.text) if edit.text else None))
    changes = [ArtifactChange(artifact_location=artifact_location(path, root), replacements=replacements)
               for path, replacements in by_path.items()]
    properties = PropertyBag()
    properties.safe = fix.safe
    return [Fix(description=Message(text=fix.description), artifact_changes=changes, properties=properties)]


def _tags(meta: RuleMeta) -> list[str]:
    if meta.checklist is None:
        return ["maintainability"]
    tags = ["security"]
    if meta.cwe is not None:
        tags.append(f"external/cwe/cwe-{meta.cwe}")
    tags.append(f"checklist/{meta.checklist}")
    return tags


def descriptor(meta: RuleMeta) -> ReportingDescriptor:
    properties = PropertyBag(tags=_tags(meta))
    properties.precision = meta.confidence.value
    if meta.checklist is None:
        setattr(properties, "problem.severity", PROBLEM_SEVERITY[meta.severity])
    else:
        setattr(properties, "security-severity", SECURITY_SEVERITY[meta.severity])
    full = " ".join(part for part in (meta.summary, meta.why) if part)
    docs = meta.docs or full or meta.code
    markdown = rule_markdown(meta) if meta.docs else docs
    return ReportingDescriptor(
        id=meta.code,
        name=meta.name,
        short_description=MultiformatMessageString(text=_limit(meta.summary or meta.name)),
        full_description=MultiformatMessageString(text=_limit(full or meta.name)),
        help=MultiformatMessageString(text=docs, markdown=markdown),
        help_uri=meta.help_uri,
        default_configuration=ReportingConfiguration(level=LEVEL[meta.severity]),
        properties=properties,
    )


def _limit(text: str, size: int = 1024) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _rules(result: "ScanResult", findings: list[Finding]) -> tuple[list[RuleMeta], list[RuleMeta]]:
    """(rules, notification descriptors): every rule that ran, in the scan's order.

    A rule that only a finding names (another engine's) is appended, sorted by code.
    """
    ran = [rule.meta for rule in result.rules]
    known = {m.code for m in ran}
    ran += sorted({f.rule.code: f.rule for f in findings if f.rule.code not in known}.values(), key=lambda m: m.code)
    rules = [m for m in ran if m.code not in NOT_ANALYSED]
    notifications = [m for m in ran if m.code in NOT_ANALYSED]
    return rules, notifications


def _notification_descriptor(meta: RuleMeta) -> ReportingDescriptor:
    described = descriptor(meta)
    described.properties = None
    return described


def _result(finding: Finding, index: int, root: Path) -> Result:
    primary = physical_location(finding.path, finding.span, root)
    related: list[Location] = []
    flow: list[ThreadFlowLocation] = []
    for step in finding.trace:
        step_path = step.path or finding.path
        where = physical_location(step_path, step.span, root)
        flow.append(ThreadFlowLocation(location=Location(physical_location=where, message=Message(text=step.note))))
        if (step_path, step.span) != (finding.path, finding.span):
            related.append(Location(id=len(related) + 1, physical_location=where, message=Message(text=step.note)))
    properties = PropertyBag()
    properties.severity = finding.severity.value
    properties.confidence = finding.confidence.value
    if finding.handler:
        properties.handler = finding.handler
    return Result(
        rule_id=finding.code,
        rule_index=index,
        level=LEVEL[finding.severity],
        message=Message(text=finding.message),
        locations=[Location(physical_location=primary)],
        partial_fingerprints={FINGERPRINT_KEY: finding.fingerprint} if finding.fingerprint else None,
        related_locations=related or None,
        code_flows=[CodeFlow(thread_flows=[ThreadFlow(locations=flow)])] if flow else None,
        fixes=_fixes(finding, root),
        properties=properties,
    )


def _notification(finding: Finding, index: int, root: Path) -> Notification:
    return Notification(
        message=Message(text=f"{finding.path}: {finding.message}"),
        level=LEVEL[finding.severity],
        descriptor=ReportingDescriptorReference(id=finding.code, index=index),
        locations=[Location(physical_location=physical_location(finding.path, finding.span, root))],
    )


def build(result: "ScanResult", *, root: Path) -> SarifLog:
    """The `sarif-om` log for a scan: active findings only."""
    active = sorted(result.active, key=Finding.sort_key)
    problems = [f for f in active if f.code not in NOT_ANALYSED]
    not_analysed = [f for f in active if f.code in NOT_ANALYSED]
    rules, notifications = _rules(result, active)
    index = {meta.code: i for i, meta in enumerate(rules)}
    notification_index = {meta.code: i for i, meta in enumerate(notifications)}
    version = mcplint.__version__
    driver = ToolComponent(
        name="mcplint",
        version=version,
        semantic_version=version,
        information_uri=INFORMATION_URI,
        rules=[descriptor(meta) for meta in rules],
        notifications=[_notification_descriptor(meta) for meta in notifications] or None,
    )
    invocation = Invocation(
        execution_successful=True,
        tool_execution_notifications=[_notification(f, notification_index[f.code], root) for f in not_analysed]
        or None,
    )
    run = Run(
        tool=Tool(driver=driver),
        invocations=[invocation],
        results=[_result(f, index[f.code], root) for f in problems],
        column_kind="unicodeCodePoints",
    )
    if result.baseline is not None:  # --baseline/--diff: known findings are left out, what remains is new
        for item in run.results:
            item.baseline_state = "new"
        run.properties = {"mcplint/baseline": result.baseline.summary()}
    return SarifLog(runs=[run], version="2.1.0", schema_uri=SCHEMA_URI)


def render(result: "ScanResult", *, root: Path) -> str:
    data = to_sarif(build(result, root=root))
    ordered = {"$schema": data.pop("$schema"), "version": data.pop("version"), **data}
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"
