"""From bytes to findings for one file, and from paths to a scan result.

The cheap first pass decides what a file needs: rules whose prefilter (a regex over
the bytes) does not match never see it, and a file no rule needs is never parsed.
Files that can hold an MCP server, and the project modules they import, get the MCP
model and function summaries (the per-file phase, parallel); the project phase then
follows handlers' parameters through those summaries across functions and files.
"""

from __future__ import annotations

import ast
import functools
import gc
import os
import pickle
import signal
import sys
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from mcplint import suppress
from mcplint.checklist import TRANSPORT
from mcplint.config import Config, ConfigError
from mcplint.deps import Project, is_manifest, read_project
from mcplint.files import PYTHON_SUFFIXES, SourceFile, discover, matches
from mcplint.finding import Evidence, Finding, Span, assign_fingerprints, source_lines
from mcplint.mcp import sdk
from mcplint.mcp.project import ModuleIndex, project_imports
from mcplint.registry import classes

if TYPE_CHECKING:
    from mcplint.mcp.summary import FileFacts
    from mcplint.registry import RuleInfo
    from mcplint.rule import Rule

MAX_FILE_BYTES = 8 * 1024 * 1024


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    parsed: bool = False
    servers: int = 0
    handlers: int = 0
    facts: FileFacts | None = None  # function summaries, for the project phase
    suppressions: list = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)  # controls seen in place
    mode: str = ""  # how `scan` had it analysed (DEEP, IMPORTED, PLAIN)


@dataclass
class ScanResult:
    findings: list[Finding]  # every finding, suppressed ones marked
    files: int
    parsed: int
    servers: int
    handlers: int
    rules: list[RuleInfo]  # the rules that ran
    config: Config
    seconds: float
    evidence: list[Evidence] = field(default_factory=list)
    project: Project = field(default_factory=Project)
    baseline: object | None = None  # mcplint.baseline.Comparison: --baseline/--diff left known findings out

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]

    @property
    def suppressed(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed]

    def failing(self) -> list[Finding]:
        return [f for f in self.active if f.severity >= self.config.fail_on]


def _matches(selector: str, rule) -> bool:
    """Does a selector (ALL, a code, a code prefix like MCP3, or a name) pick `rule`?"""
    key = selector.strip()
    return key.upper() == "ALL" or rule.code.startswith(key.upper()) or rule.name == key.lower()


def select_rules(config: Config) -> list[RuleInfo]:
    """The rules `config` selects, as `RuleInfo`s (`registry.classes` gives their classes)."""
    from mcplint.registry import known_rules

    rules = known_rules()
    for code, _ in config.extend_sinks:
        rule = next((r for r in rules if r.code == code), None)
        if rule is None or rule.scope != "mcp":
            raise ConfigError(f"`extend-sinks`: `{code}` is not a rule that follows tool input (see `mcplint rules`)")
    for selector in (*config.select, *config.ignore, *(c for _, codes in config.per_file_ignores for c in codes)):
        if not any(_matches(selector, rule) for rule in rules):
            raise ConfigError(f"unknown rule selector `{selector}` (see `mcplint rules`)")
    chosen = [r for r in rules if any(_matches(s, r) for s in config.select)]
    return [r for r in chosen if not any(_matches(s, r) for s in config.ignore)]


def _diagnostic(code: str, path: str, span: Span, detail: str) -> Finding:
    from mcplint.registry import find_rule

    rule = find_rule(code)
    return Finding(
        rule=rule.meta,
        path=path,
        span=span,
        message=rule.message.format(detail=detail),
        severity=rule.severity,
        confidence=rule.confidence,
        snippet=detail,
        suppress_lines=frozenset({span.line}),
    )


def analyse_source(path: str, data: bytes, rules: Sequence[type[Rule] | RuleInfo], project: Project | None = None) -> FileResult:
    """Every finding for one file on its own (calls followed within it), suppressions applied.
    A file whose name a text rule wants (`Dockerfile`, `.env`) is read as text."""
    from mcplint.mcp.summary import follow, place_pending
    from mcplint.registry import rule_by_code

    index = ModuleIndex([path])
    kind = "python" if path.endswith(PYTHON_SUFFIXES) or not any(r.scope == "text" and r.wants_file(path) for r in rules) \
        else "text"
    result = analyse_file_bytes(path, data, rules, index=index, kind=kind, project=project)
    if result.facts is not None:
        pending = follow({path: result.facts}, index, rule_by_code())
        result.findings.extend(place_pending(pending, {path: data}, rule_by_code(), _locate_here,
                                             facts={path: result.facts})[0])
    result.findings.extend(_apply_suppressions(path, result.suppressions, result.findings, rules))
    result.findings = _of_enabled(result.findings, rules)
    return result


def _of_enabled(findings: list[Finding], rules) -> list[Finding]:
    """Only the findings of enabled rules: the engine's diagnostics (a file that does not
    parse, one over its budget) are made wherever the problem shows and kept here only if
    `select`/`ignore` keep their code."""
    enabled = {r.code for r in rules}
    return [f for f in findings if f.code in enabled]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector, paused while a file is analysed and run once
    after it. An analysis builds a few hundred thousand objects that live until it ends
    (the tree, its index, the rules' tables): the collector's automatic passes over
    them cost a tenth of a scan and free nothing, as a libcst tree holds no cycles.
    The cycles there are (a file's context and its rules) go in the one pass after."""
    if not gc.isenabled():  # paused already, by a caller
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)  # all the analysis allocated is still in the youngest generation


def _collector_paused(analyse: Callable[..., FileResult]) -> Callable[..., FileResult]:
    @functools.wraps(analyse)
    def paused(*args, **kwargs) -> FileResult:
        with collector_paused():
            return analyse(*args, **kwargs)

    return paused


@_collector_paused
def analyse_file_bytes(
    path: str,
    data: bytes,
    rules: Sequence[type[Rule] | RuleInfo],
    *,
    deep: bool = False,
    called: bool = True,
    index: ModuleIndex | None = None,
    extra_sinks: tuple = (),
    kind: str = "python",
    project: Project | None = None,
    in_scan: bool = False,
) -> FileResult:
    """The per-file phase: findings, function summaries and suppressions of one file.

    `rules`: classes or `RuleInfo`s; the classes are imported where a rule has to run.

    `deep`: run the MCP rules even though the file does not look like MCP code itself
    (a project module that an MCP file imports: its sinks are reached from tools).
    `called`: with `deep`, whether handlers pass tool input into this module. One they
    do not (MCP code only imports it) gets only the MCP rules that can report there
    (`Rule.in_imported_modules`) and no function summaries, and is not parsed for them
    when none can; unless it turns out to hold servers or handlers of its own.
    `kind`: "text" for a non-Python file (only the text rules that want it run).
    `in_scan`: called by `scan`, whose deep set already holds every file the MCP
    prefilter matches (so it is not run again here).
    """
    result = FileResult(path)
    text_rules = [r for r in rules if r.scope == "text" and r.wants_file(path)] if kind == "text" else []
    if kind == "text" and not text_rules:
        return result  # a manifest read only for the project facts
    if b"\x00" in data:
        utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
        expected = "mcplint reads UTF-8 text" if kind == "text" else \
            "Python source must be UTF-8 or declare an 8-bit encoding"
        detail = f"UTF-16 encoded ({expected})" if utf16 else "binary file (contains NUL bytes)"
        result.findings.append(_diagnostic("MCP002", path, Span(1), detail))
        return result
    if kind == "text":
        from mcplint.text import analyse_text

        result.findings, result.evidence, text = analyse_text(path, data, classes(text_rules), project)
        result.parsed = True
        result.suppressions = suppress.parse(text, python=False)
        return result
    mcp_rules = [r for r in rules if r.scope == "mcp"]
    is_mcp = bool(mcp_rules) and (deep or (not in_scan and sdk.MCP_PREFILTER.search(data)))
    if is_mcp:
        mcp_rules = classes(mcp_rules)
    # which MCP rules a module MCP code only imports gets: asked only where they would run
    # (the second test parses the file with CPython: not for the files no MCP rule reads)
    imported, cpython, ruled_out = (_imported_rules(mcp_rules, path, data) if is_mcp and not called
                                    else (None, None, frozenset()))
    if is_mcp and imported == []:
        is_mcp = False  # nothing an MCP rule could report here: the file rules alone
    file_rules = [r for r in rules if r.scope == "python" and r.prefilter.search(data)]
    file_ruled_out: frozenset[str] = frozenset()
    if file_rules and not is_mcp:  # parsed for them alone: their second tests decide
        file_rules, cpython, file_ruled_out = _file_rules(file_rules, path, data, cpython)
    text: str | None = None
    if is_mcp or file_rules:
        from mcplint.parse import plain_checks

        with plain_checks():  # libcst's trees are read here: isinstance without ABCMeta's
            outcome = _parse(path, data, cpython)
            if isinstance(outcome, Finding):
                result.findings.append(outcome)
            else:
                module, syntax = outcome
                # not module.code: regenerating the source recurses as deep as the tree
                text = data.decode(module.encoding, "replace")
                result.parsed = True
                _run_rules(result, path, data, module, syntax, text, mcp_rules if is_mcp else [], classes(file_rules),
                           deep=deep, imported=imported, ruled_out=ruled_out | file_ruled_out, index=index,
                           extra_sinks=extra_sinks, project=project)
    if text is None and suppress.MARKER_RE.search(data.decode("utf-8", "replace")):
        text = data.decode("utf-8", "replace")
    if text is not None:
        result.suppressions = suppress.parse(text)
    return result


def _cpython_tree(path: str, data: bytes):
    """CPython's `ast` of the file; the SyntaxError for libcst to place; or the
    diagnostic for a file neither parser should be given."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings of scanned code are not ours to print
            return compile(data, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (RecursionError, MemoryError):
        return _diagnostic("MCP002", path, Span(1), "too deeply nested to parse")
    except SyntaxError as exc:
        if "too many nested" in (exc.msg or "") or "too complex" in (exc.msg or ""):
            return _diagnostic("MCP002", path, Span(max(exc.lineno or 1, 1)), f"too deeply nested to parse ({exc.msg})")
        return exc
    except ValueError as exc:  # NUL bytes, undecodable source
        return _diagnostic("MCP002", path, Span(1), f"cannot decode: {exc}")


def _parse(path: str, data: bytes, cpython=None):
    """(libcst's tree, CPython's `ast` or None), or the diagnostic that says why there is none.
    `cpython`: `_cpython_tree` of the file, if the caller has it already.

    CPython's own parser reads the file first: it is ten times faster than libcst,
    gives the messages users know, and stops inputs (thousands of nested brackets)
    that would crash libcst's native parser and the whole process with it. Its tree
    gives statements' lines for positions (`mcplint.positions`).
    """
    import libcst as cst

    from mcplint.parse import parse_module

    cpython = _cpython_tree(path, data) if cpython is None else cpython
    if isinstance(cpython, Finding):
        return cpython
    syntax, syntax_error = (None, cpython) if isinstance(cpython, SyntaxError) else (cpython, None)
    try:
        return parse_module(data), syntax
    except cst.ParserSyntaxError as exc:
        if syntax is not None:
            # newer grammar than libcst knows, or a libcst limit: the code is fine
            return _diagnostic("MCP002", path, Span(max(exc.raw_line, 1)),
                               f"valid Python that mcplint's parser cannot read: {str(exc.message).splitlines()[0]}")
        if syntax_error.lineno:
            return _diagnostic("MCP001", path, Span(syntax_error.lineno, max(syntax_error.offset or 1, 1)), syntax_error.msg)
        detail = str(exc.message).splitlines()[0] if exc.message else "invalid syntax"
        return _diagnostic("MCP001", path, Span(max(exc.raw_line, 1), max(exc.raw_column, 0) + 1), detail)
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return _diagnostic("MCP002", path, Span(1), f"cannot decode: {exc}")
    except RecursionError:
        return _diagnostic("MCP002", path, Span(1), "too deeply nested to parse")


def _imported_rules(mcp_rules, path: str, data: bytes) -> tuple[list, object, frozenset[str]]:
    """The MCP rules that can report in a module MCP code imports without calling into it
    with tool input (all of them where the file may build a server of its own), by their
    `in_imported_modules` and then their `imported_if` (`_second_tests`)."""
    if sdk.SERVER_HINT.search(data):
        return list(mcp_rules), None, frozenset()
    rules = [r for r in mcp_rules if r.in_imported_modules is True
             or (r.in_imported_modules is not False and r.in_imported_modules.search(data))]
    return _second_tests(rules, [(r.code, r.imported_if) for r in rules if r.imported_if is not None], path, data)


def _file_rules(rules, path: str, data: bytes, cpython) -> tuple[list, object, frozenset[str]]:
    """The file rules (`RuleInfo`s) to run in a file parsed for them alone, by their
    `file_if` (`_second_tests`)."""
    tests = [(r.code, r.file_if) for r in classes(rules) if r.file_if is not None]
    return _second_tests(rules, tests, path, data, cpython)


def _second_tests(rules, tests, path: str, data: bytes, cpython=None) -> tuple[list, object, frozenset[str]]:
    """`rules` less those whose second test (`tests`: code -> a function of the file's
    `Outline`) says they cannot report in the file; CPython's tree of it (`cpython`, or
    made here if a test needed it: `_cpython_tree`); the codes ruled out (left in the
    list when the tests check declarations, which then fail any report they make)."""
    if not tests:
        return rules, cpython, frozenset()
    cpython = _cpython_tree(path, data) if cpython is None else cpython
    if not isinstance(cpython, ast.Module):  # libcst's parse reports what is wrong with it
        return rules, cpython, frozenset()
    from mcplint.outline import Outline

    outline = Outline(cpython)
    ruled_out = frozenset(code for code, test in tests if not test(outline))
    return (rules if CHECK_DECLARATIONS else [r for r in rules if r.code not in ruled_out]), cpython, ruled_out


def _run_rules(result: FileResult, path: str, data: bytes, module, syntax, text: str, mcp_rules, file_rules, *,
               deep: bool, imported=None, ruled_out: frozenset[str] = frozenset(), index, extra_sinks: tuple = (),
               project: Project | None = None) -> None:
    """`imported`: the MCP rules to run if the file is only imported by MCP code (see
    `analyse_file_bytes`); None: it is called into, or MCP code itself. `ruled_out`:
    the codes among them that their `imported_if` says cannot report here, and of the
    file rules those their `file_if` says cannot."""
    import libcst as cst

    from mcplint.context import FileContext
    from mcplint.mcp import walk
    from mcplint.mcp.builder import build_model
    from mcplint.mcp.model import FileModel
    from mcplint.mcp.names import ImportTable

    try:
        with walk.indexed(module):
            if mcp_rules:
                model, imports = build_model(module)
            else:
                model, imports = FileModel(), ImportTable()
                for statement in module.body:  # top-level imports are enough for file rules
                    if isinstance(statement, cst.SimpleStatementLine):
                        for small in statement.body:
                            if isinstance(small, (cst.Import, cst.ImportFrom)):
                                imports.add(small)
            result.servers, result.handlers = len(model.servers), len(model.handlers)
            with_mcp = bool(mcp_rules) and (model.is_mcp or deep)
            summaries = with_mcp and (imported is None or model.is_mcp)
            if with_mcp and not summaries:
                mcp_rules = imported
            active = list(file_rules) + (list(mcp_rules) if with_mcp else [])
            ctx = FileContext(path, module, model, imports, summaries=with_mcp, index=index,
                              extra_sinks=extra_sinks if with_mcp else (), project=project, syntax=syntax,
                              imported_only=with_mcp and not summaries)
            ctx.run(rule(ctx) for rule in active)
            if CHECK_DECLARATIONS:
                _check_declarations(ctx, data, ruled_out, imported=with_mcp and not model.is_mcp)
            for server in model.servers if with_mcp else ():
                for transport in server.transports:  # for the scorecard: stdio-only servers open no socket
                    ctx.add_evidence(TRANSPORT, transport.node, transport.kind, "")
            result.findings.extend(ctx.findings(source_lines(text)))
            result.evidence = ctx.evidence(text)
            for rule in ctx.gave_up:
                result.findings.append(_diagnostic("MCP002", path, Span(1),
                                                   f"{rule.code} skipped part of this file: too deeply nested to analyse"))
            result.facts = ctx.facts() if summaries else None
            ctx.release()
    except RecursionError:
        result.findings.append(_diagnostic("MCP002", path, Span(1), "too deeply nested to analyse"))


# Set in the tests: an MCP rule that reports (or records evidence) in a file without a
# server or handler of its own, against its `Rule.in_imported_modules`, or any rule
# where its second test (`imported_if`, `file_if`) ruled it out, fails the test, rather
# than a wrong declaration silently losing findings.
CHECK_DECLARATIONS = os.environ.get("MCPLINT_CHECK_DECLARATIONS") == "1"


def _check_declarations(ctx, data: bytes, ruled_out: frozenset[str], imported: bool) -> None:
    """`imported`: the file has no server or handler of its own, and MCP code imports it."""
    from mcplint.registry import rule_by_code

    rules = rule_by_code()
    for code, what in ctx.made():
        rule = rules.get(code)
        if rule is None:
            continue
        declared = rule.in_imported_modules if imported and rule.scope == "mcp" else True
        if declared is not True and (declared is False or not declared.search(data)):
            raise AssertionError(f"{code} made {what} in {ctx.path}, a file with no server or handler, which its "
                                 f"`in_imported_modules` ({declared!r}) says it cannot")
        if code in ruled_out and rule.scope == "python":
            raise AssertionError(f"{code} made {what} in {ctx.path}, where its `file_if` ({rule.file_if.__name__}) "
                                 "says it cannot")
        if code in ruled_out and imported:
            raise AssertionError(f"{code} made {what} in {ctx.path}, a file with no server or handler, where its "
                                 f"`imported_if` ({rule.imported_if.__name__}) says it cannot")


def _apply_suppressions(path: str, suppressions, findings: list[Finding], rules) -> list[Finding]:
    """Mark suppressed findings of one file; return findings about the suppressions themselves
    (kept only if MCP003/MCP004 are enabled, like every diagnostic: see `_of_enabled`)."""
    from mcplint.registry import find_rule

    enabled = {r.code for r in rules}
    extra: list[Finding] = []
    for item in suppressions:
        span = Span(item.line, item.column)
        if not item.codes:
            extra.append(_diagnostic("MCP004", path, span, f"`{item.text}` names no rule; write `# mcplint: ignore[CODE]`"))
            continue
        resolved = []
        for written in item.codes:
            rule = find_rule(written)
            if rule is None:
                extra.append(_diagnostic("MCP004", path, span, f"unknown rule `{written}`"))
            else:
                resolved.append((written, rule.code))
        for written, code in resolved:
            hits = [f for f in findings if f.code == code and item.line in f.suppress_lines]
            for finding in hits:
                finding.suppressed = True
                finding.justification = item.reason
            if hits:
                item.used.add(code)
            elif code in enabled:  # a rule that did not run cannot have found anything
                extra.append(_diagnostic("MCP003", path, span, f"no `{written}` finding on this line"))
    return extra


# How `scan` analyses a Python file (see `analyse_file_bytes`): MCP code, or a module
# handlers pass tool input to; a module MCP code only imports; any other file.
DEEP, IMPORTED, PLAIN = "deep", "imported", "plain"
DEEP_IMPORT_DEPTH = 2  # how far imports are followed from MCP files to find helper modules (4 found nothing more on the 40-package corpus, at 15% more time)


MAX_FILE_SECONDS = 20.0  # one pathological file must not stall a CI job (0: no budget)
# Below this much Python to analyse, one worker: a second one imports libcst itself
# (~0.3 s, on the other core), about what it would save. (At 2 MiB, a 1.2 MB tree of 23
# servers took 3.7-4.5 s in one worker and 1.7-2.6 s in two; the fixtures, 0.2 MB,
# 1.5-1.9 s against 0.8-1.3 s; a 40 KB server the same either way.)
PARALLEL_MIN_BYTES = 64 * 1024


def scan(
    paths: list[Path],
    config: Config,
    progress: Callable[[int, int], None] | None = None,
    jobs: int | None = None,
    cache_dir: Path | None = None,
) -> ScanResult:
    """Scan `paths`. `jobs`: worker processes for the per-file phase (None: one per core).
    `cache_dir`: reuse and update the result cache there (`mcplint.cache`)."""
    started = time.perf_counter()
    from mcplint.cache import Cache, Entry, digest

    cache = Cache.open(cache_dir, config, paths) if cache_dir is not None else None
    warm = cache is not None and cache.entry.final is not None
    rules = None if warm else _selected(config, cache)
    patterns = cache.entry.patterns if warm else tuple(r.files for r in rules if r.scope == "text")

    def wanted(display: str) -> bool:  # non-Python files: manifests, and what text rules read
        return is_manifest(display) or any(matches(p, display) for p in patterns)

    skipped: list = []
    files = discover(paths, config, skipped, wanted)
    contents: dict[str, bytes] = {}
    kinds = {source.display: source.kind for source in files}
    unread: dict[str, str] = {item.display: item.reason for item in skipped}  # path -> why not read
    for source in files:
        data = _read(source)
        if isinstance(data, bytes):
            contents[source.display] = data
        else:
            unread[source.display] = data.findings[0].snippet  # the diagnostic's detail
    manifest = {path: digest(data) for path, data in contents.items()}
    manifest.update({path: "!" + why for path, why in unread.items()})
    if warm and manifest == cache.entry.manifest:  # nothing changed: the last result, no parsing
        return ScanResult(config=config, seconds=time.perf_counter() - started, **cache.entry.final)

    rules = rules if rules is not None else _selected(config, cache)
    text_rules = [r for r in rules if r.scope == "text"]
    results = {path: FileResult(path, [_diagnostic("MCP002", path, Span(1), why)]) for path, why in unread.items()}
    project = read_project(list(kinds), {p: d for p, d in contents.items() if kinds[p] == "text"})
    index = ModuleIndex([p for p in contents if kinds[p] == "python"])
    mcp_files = _mcp_files(contents, kinds) if any(r.scope == "mcp" for r in rules) else set()
    # per-file results hold what an import resolves to and the SDK versions: valid in one context
    context = digest("\n".join([*sorted(index.paths), *(f"{p}={manifest[p]}" for p in sorted(contents)
                                                          if kinds[p] == "text")]).encode("utf-8", "surrogatepass"))
    entry = Entry(patterns=tuple(r.files for r in text_rules), context=context, manifest=manifest)

    plan = _Plan(contents, kinds, index, mcp_files, manifest, cache, context, entry, results,
                 (lambda: progress(len(results), len(files))) if progress is not None else None)
    if jobs is None or jobs < 1:
        from mcplint import workers

        jobs = workers.cpu_count()
    if plan.bytes_to_analyse() < PARALLEL_MIN_BYTES:
        jobs = 1  # starting worker processes would cost more than it saves
    analysed = rules  # a text file's rules are imported where it is analysed: they need no libcst
    parses = bool(plan.waiting) or any(_parses(*item, rules) for item in plan.queue)
    # the spare worker the CLI started has imported what parsing needs meanwhile: it is
    # the first worker, and the parent does not import it (other workers do); the
    # workers stay for placing findings in files that must be parsed again
    with_spare = _spare_started()
    if with_spare is not None and not parses:
        with_spare.stop_kept()  # a file that needs no parsing is not kept waiting for it
    if parses and with_spare is None:
        # what parsing a file imports (libcst, the Python rules), imported once here:
        # forked workers inherit it
        _import_parsing()
        analysed = [rule if rule.scope == "text" else rule.load() for rule in rules]
    try:
        while plan.queue:
            for result in _per_file(plan.queue, analysed, index, jobs, config.extend_sinks, project):
                plan.done(result)

        # the project phase: follow untrusted input from handlers into other functions and files
        facts = {path: r.facts for path, r in results.items() if r.facts is not None}
        if facts:
            from mcplint.mcp.summary import follow, place_pending
            from mcplint.registry import known_rules

            infos = {rule.code: rule for rule in known_rules()}
            with collector_paused():
                pending = follow(facts, index, infos)
                # placed where they land: the functions that hold them parsed again, unless
                # their files are unchanged and were located before
                known = cache.located(manifest) if cache is not None else None
                placed, located = place_pending(pending, contents, infos, _locator(jobs), known, facts)
                for finding in placed:
                    results[finding.path].findings.append(finding)
            entry.located = {path: (manifest[path], *where) for path, where in {**(known or {}), **located}.items()}
    finally:
        if "mcplint.workers" in sys.modules:
            sys.modules["mcplint.workers"].stop_kept()
    findings: list[Finding] = []
    for path, result in results.items():
        result.findings.extend(_apply_suppressions(path, result.suppressions, result.findings, rules))
        ignored = config.ignored_for(path)
        findings.extend(
            f for f in _of_enabled(result.findings, rules)
            if not any(_matches(s, f.rule) for s in ignored) and f.confidence >= config.min_confidence
        )
    findings.sort(key=Finding.sort_key)
    assign_fingerprints(findings)
    final = dict(
        findings=findings,
        # manifests read only for the project facts are not counted as scanned
        files=sum(f.kind == "python" or any(r.wants_file(f.display) for r in text_rules) for f in files) + len(skipped),
        parsed=sum(r.parsed for r in results.values()),
        servers=sum(r.servers for r in results.values()),
        handlers=sum(r.handlers for r in results.values()),
        evidence=sorted((e for r in results.values() for e in r.evidence), key=lambda e: (e.item, e.path, e.line)),
        project=project,
    )
    if cache is not None:
        from mcplint.registry import known_rules

        entry.final = {**final, "rules": rules}
        cache.save(entry)
        cache.save_rules(known_rules())
    return ScanResult(rules=rules, config=config, seconds=time.perf_counter() - started, **final)


def _selected(config: Config, cache) -> list[RuleInfo]:
    """`select_rules`, from the cache's table of the rules where it has one (then no rule
    module, and not libcst, is imported unless a file needs parsing)."""
    if cache is not None:
        from mcplint.registry import remember

        saved = cache.rules()
        if saved is not None:
            remember(saved)
    return select_rules(config)


def _parses(path: str, data: bytes, mode: str, kind: str, rules) -> bool:
    """Might `analyse_file_bytes` parse this item of the per-file phase with libcst (and
    so need the Python rules' classes)? Never False where it would."""
    if kind != "python":
        return False
    return (mode != PLAIN and any(r.scope == "mcp" for r in rules)) or \
        any(r.scope == "python" and r.prefilter.search(data) for r in rules)


class _Plan:
    """How each file is analysed (its mode), decided as results come in: MCP files that
    may serve (`sdk.MAY_SERVE`), and the modules their handlers pass tool input to (found
    from their summaries), DEEP; the other modules MCP files import, and MCP files that
    only use the SDK's types, IMPORTED, once no analysis under way can still call into
    them; every other file PLAIN. Results come from the cache where it holds one for the
    file's content and mode; the rest wait in `queue`."""

    def __init__(self, contents, kinds, index: ModuleIndex, mcp_files: set[str], manifest, cache, context: str,
                 entry, results: dict[str, FileResult], progress: Callable[[], None] | None) -> None:
        self.contents, self.kinds, self.index = contents, kinds, index
        self.manifest, self.cache, self.context, self.entry = manifest, cache, context, entry
        self.results = results
        self.progress = progress
        self.queue: deque = deque()
        self.modes: dict[str, str] = {}
        self.reach = None  # which modules handlers pass tool input to (`summary.Reach`), once there are summaries
        # files that may serve (`sdk.MAY_SERVE`) start DEEP; the other MCP files (they use
        # the SDK's types) wait with the modules MCP files import
        serving = {path for path in mcp_files if sdk.MAY_SERVE.search(contents[path])}
        self.waiting = _deep_set(contents, kinds, index, mcp_files) - serving
        self.outstanding = 1  # DEEP analyses not done yet (their calls may still reach `waiting`), and the start
        for path in contents:
            if path in serving:
                self.schedule(path, DEEP)
        self.outstanding -= 1  # every file that may serve is under way (or done, from the cache)
        for path in contents:
            if path not in self.modes and path not in self.waiting:  # not reached from a cached result already
                self.schedule(path, PLAIN)
        self._release()

    def bytes_to_analyse(self) -> int:
        return sum(len(item[1]) for item in self.queue) + sum(len(self.contents[p]) for p in self.waiting)

    def schedule(self, path: str, mode: str, first: bool = False) -> None:
        self.modes[path] = mode
        self.outstanding += mode == DEEP
        cached = None
        if self.cache is not None:
            cached = self.cache.reusable(path, self.manifest[path], mode, self.kinds[path], self.context)
        if cached is not None:
            self.done(pickle.loads(cached), cached)
        else:
            (self.queue.appendleft if first else self.queue.append)((path, self.contents[path], mode, self.kinds[path]))

    def done(self, result: FileResult, pickled: bytes | None = None) -> None:
        path = result.path
        if result.mode != self.modes[path]:
            return  # superseded: it is being analysed again, DEEP
        self.results[path] = result
        if self.cache is not None:  # before the project phase adds to it
            self.entry.files[path] = (self.manifest[path], result.mode, self.kinds[path],
                                      pickled or pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        self.outstanding -= result.mode == DEEP
        for target in self._reached(path, result.facts):
            if target in self.waiting or self.modes.get(target) == IMPORTED:
                self.waiting.discard(target)
                stale = next((at for at, item in enumerate(self.queue) if item[0] == target), None)
                if stale is not None:
                    del self.queue[stale]
                self.schedule(target, DEEP, first=True)
        self._release()
        if self.progress is not None:
            self.progress()

    def _reached(self, path: str, facts: FileFacts | None) -> list[str]:
        """The modules that handlers' input reaches, as this file's summaries tell (sorted)."""
        if facts is None:
            return []
        if self.reach is None:  # on the first summaries: a scan that makes none stays free of libcst
            from mcplint.mcp.summary import Reach

            self.reach = Reach(self.index)
        return sorted(self.reach.add(path, facts))

    def _release(self) -> None:
        if not self.outstanding and self.waiting:  # nothing under way can call into them any more
            imported = sorted(self.waiting)
            self.waiting.clear()
            for path in imported:
                self.schedule(path, IMPORTED)


def _per_file(work: deque, rules, index: ModuleIndex, jobs: int, extra_sinks: tuple = (),
              project: Project | None = None):
    """The per-file phase, in worker processes the scan can stop (see `mcplint.workers`).

    `work`: (path, bytes, mode, kind) items; the caller may add to it while it reads
    results. A file that runs over MAX_FILE_SECONDS, or crashes its worker, becomes an
    MCP002 diagnostic and the scan goes on. Results are keyed by path and sorted
    afterwards, so the output does not depend on the number of workers or the order
    they finish in. The workers taken (the spare the CLI started, those of an earlier
    call) and forked are kept, for placing findings (`_locator`).
    """
    from mcplint import workers

    if workers.available() and MAX_FILE_SECONDS > 0 and work:
        # by name too: the spare was forked before this scan's arguments existed
        use = workers.Use(__name__, "_analyse_item", dict(rules=rules, index=index, extra_sinks=extra_sinks,
                                                          project=project))

        def failed(item, why: str) -> FileResult:
            return FileResult(item[0], [_diagnostic("MCP002", item[0], Span(1), why)], mode=item[2])

        try:
            yield from workers.run(work, use.function(), failed, jobs=jobs, budget=MAX_FILE_SECONDS, use=use,
                                   keep=True)
            return
        except OSError:  # no process support here (sandboxes): analyse in this process
            pass
    elif jobs > 1:
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        running: dict = {}
        try:
            with ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init,
                                     initargs=(rules, index, extra_sinks, project)) as pool:
                while work or running:
                    while work and len(running) < 2 * jobs:
                        item = work.popleft()
                        running[pool.submit(_worker_run, item)] = item
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        result = future.result()
                        del running[future]
                        yield result
            return
        except (OSError, ImportError, BrokenProcessPool):  # no process support, or a worker died: finish here
            work.extendleft(running.values())
    while work:
        yield _within_budget(work.popleft(), rules, index, extra_sinks, project)


def _locator(jobs: int):
    """Where cross-file findings are located (`summary.place_pending`), one file each (a
    parse of the functions that hold them, or of the file): in the workers the per-file
    phase kept, which have imported libcst (it takes the command ~0.2 s), or in new ones
    if there are several files."""
    from mcplint import workers

    kept = workers.has_kept()
    if not kept and (jobs < 2 or not workers.available()):
        return _locate_here

    def locate(items: list[tuple]) -> list[tuple]:
        if kept or len(items) > 1:
            try:  # a file the per-file phase parsed does not crash or overrun now; if it did, here
                return list(workers.run(items, _locate, lambda item, why: _locate(item), jobs=jobs,
                                        budget=MAX_FILE_SECONDS, use=workers.Use(__name__, "_locate")))
            except OSError:  # no process support here after all
                pass
        return _locate_here(items)

    return locate


def _locate(item: tuple) -> tuple:
    from mcplint.context import locate_nodes  # libcst: imported only when a file is located
    from mcplint.parse import plain_checks

    with collector_paused(), plain_checks():  # a parse, as in the per-file phase
        return locate_nodes(*item)


def _locate_here(items: list[tuple]) -> list[tuple]:
    return [_locate(item) for item in items]


def _analyse_item(item, rules, index: ModuleIndex, extra_sinks: tuple, project: Project | None) -> FileResult:
    path, data, mode, kind = item
    result = analyse_file_bytes(path, data, rules, deep=mode != PLAIN, called=mode == DEEP, index=index,
                                extra_sinks=extra_sinks, kind=kind, in_scan=True, project=project)
    result.mode = mode
    return result


def _import_parsing() -> None:
    """Import what analysing a Python file needs: libcst and the MCP model."""
    import mcplint.context  # noqa: F401
    import mcplint.mcp.builder  # noqa: F401
    import mcplint.parse  # noqa: F401


def warm_up() -> None:
    """What analysing Python files imports, and every rule (run by the spare worker the
    CLI starts, `workers.start_spare`)."""
    from mcplint.registry import all_rules

    _import_parsing()
    all_rules()


def _spare_started():
    """`mcplint.workers` if the CLI started a spare worker there (and workers are used)."""
    workers = sys.modules.get("mcplint.workers")  # imported by whoever started one
    return workers if workers is not None and workers.has_kept() and MAX_FILE_SECONDS > 0 else None


_WORKER: dict = {}


def _worker_init(rules, index, extra_sinks, project) -> None:
    _WORKER.update(rules=rules, index=index, extra_sinks=extra_sinks, project=project)


def _worker_run(item) -> FileResult:
    return _within_budget(item, _WORKER["rules"], _WORKER["index"], _WORKER["extra_sinks"], _WORKER["project"])


class _OverBudget(Exception):
    pass


def _within_budget(item, rules, index, extra_sinks, project) -> FileResult:
    """The per-file phase for one file, stopped after MAX_FILE_SECONDS (a timer signal
    interrupts the analysis between Python steps; where there are no timer signals,
    no budget). `item`: (path, bytes, mode, kind)."""
    path = item[0]
    budget = MAX_FILE_SECONDS
    usable = budget > 0 and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        return _analyse_item(item, rules, index, extra_sinks, project)

    def expire(signum, frame):
        raise _OverBudget

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, budget)
    try:
        return _analyse_item(item, rules, index, extra_sinks, project)
    except _OverBudget:
        return FileResult(path, [_diagnostic("MCP002", path, Span(1), f"exceeded the {budget:g} s budget for one file")],
                          mode=item[2])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _mcp_files(contents: dict[str, bytes], kinds: dict[str, str]) -> set[str]:
    return {path for path, data in contents.items() if kinds[path] == "python" and sdk.MCP_PREFILTER.search(data)}


def _deep_set(contents: dict[str, bytes], kinds: dict[str, str], index: ModuleIndex,
              mcp_files: set[str] | None = None) -> set[str]:
    """MCP files, and the project modules they import (a sink often sits in a helper)."""
    frontier = set(_mcp_files(contents, kinds) if mcp_files is None else mcp_files)
    deep = set(frontier)
    for _ in range(DEEP_IMPORT_DEPTH):
        found = set()
        for path in frontier:
            for qualified in project_imports(contents[path]):
                target = index.resolve(path, qualified)
                if target is not None and target.path not in deep:
                    found.add(target.path)
        deep |= found
        frontier = found
        if not frontier:
            break
    return deep


def _read(source: SourceFile) -> bytes | FileResult:
    try:
        size = source.path.stat().st_size
        if size <= MAX_FILE_BYTES:
            with source.path.open("rb") as handle:  # never more than the budget, even if it grew since
                data = handle.read(MAX_FILE_BYTES + 1)
            if len(data) <= MAX_FILE_BYTES:
                return data
            size = max(size, len(data))
        return FileResult(source.display, [_diagnostic("MCP002", source.display, Span(1), f"file too large ({size} bytes)")])
    except OSError as exc:
        return FileResult(source.display, [_diagnostic("MCP002", source.display, Span(1), f"cannot read: {exc.strerror or exc}")])
