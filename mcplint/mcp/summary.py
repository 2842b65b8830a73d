"""Function summaries, and following untrusted input through them across the project.

Per file (picklable, no libcst nodes): every function of an analysed file gets a
`FunctionSummary`: which of its parameters reach which sinks (`SinkHit`, found by the
ordinary rules run with the parameters as symbolic sources) and which calls pass a
parameter on (`CallRecord`). Per project (`follow`): from each handler's untrusted
parameters, walk the calls into summaries of the same file or of imported project
modules, depth-bounded, and turn every sink reached into a finding that names the
handler, the parameter and the path.

Nodes are named by their ordinal in `walk.iter_nodes` order, not by position:
positions are computed afterwards, only for the files where a finding actually lands
(`place_pending`). While the per-file phase runs, `Reach` tells the scan which
modules handlers' input reaches, so that only those are analysed for summaries.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Callable, Iterable

from mcplint.finding import Confidence, Finding, Severity, Span, placed_finding, source_lines
from mcplint.mcp.project import ModuleIndex

MAX_DEPTH = 6  # calls followed from a handler before giving up
# A project's own quoting helper (`quote_sql_string`, `escape_shell_arg`,
# `sanitize_identifier`) on the way (`taint.FunctionFlow`): mcplint cannot see that it
# is right, only what it claims. Defined here: the project phase imports no libcst.
NAMED_ESCAPE = "named-escape"
# An allow-list check of the value on the way (`if x not in ALLOWED: raise`, `mcp.guards.allow_listed`).
ALLOW_LISTED = "allow-listed"

Step = tuple[int, str]  # (node ordinal, note)


@dataclass(frozen=True)
class SinkHit:
    """A rule's report inside a function, caused by one of its parameters."""

    code: str
    param: str
    node: int
    statement: int | None  # the enclosing statement, for suppression comments
    message_args: tuple[tuple[str, str], ...]
    severity: Severity
    confidence: Confidence
    steps: tuple[Step, ...]  # from the parameter to the sink, in this file


@dataclass(frozen=True)
class CallRecord:
    """A call that passes a parameter's value on."""

    callee: str  # as written: `helper`, `self.run`, `db.run_query`
    resolved: str  # a function key of this file, or a qualified name of a project module
    node: int
    # (position|keyword, source param, steps, guards the value went through: VALIDATED,
    # NAMED_ESCAPE, what rules' findings past the call keep of the value: `Narrowing`s)
    args: tuple[tuple[int | str, str, tuple[Step, ...], frozenset[str], tuple[Narrowing, ...]], ...]


# A rule's findings reached through a call keep this of the value passed (`Rule.through_call`):
# (rule code, message arguments that replace the callee's, the most confidence left).
Narrowing = tuple[str, tuple[tuple[str, str], ...], Confidence]


# Where a function lies in its file: the ordinals of its nodes (`range(start, end)`) and
# its lines, from its first decorator to its last line (`place_pending` parses only the
# functions that hold the nodes it locates).
Extent = tuple[int, int, int, int]


@dataclass
class FunctionSummary:
    key: str  # "func" or "Class.method"
    params: tuple[str, ...]  # positional order, without self/cls
    hits: list[SinkHit] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)
    extent: Extent | None = None  # None: not known (the file is then parsed whole to locate its nodes)


@dataclass(frozen=True)
class HandlerEntry:
    key: str  # the function's summary key
    label: str  # "tool `run_query`"
    params: tuple[str, ...]  # its untrusted parameters


@dataclass
class FileFacts:
    path: str
    functions: dict[str, FunctionSummary] = field(default_factory=dict)
    handlers: list[HandlerEntry] = field(default_factory=list)
    # (handler key, call ordinal) -> rules a handler's own findings report at that call
    handler_sinks: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    # functions of other modules this file registers as handlers: (kind, name, qualified)
    imported_handlers: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Pending:
    """A finding whose positions are still to be read from its files."""

    code: str
    path: str
    node: int
    statement: int | None
    message: str
    severity: Severity
    confidence: Confidence
    handler: str
    trace: tuple[tuple[str, int, str], ...]  # (path, ordinal, note)


def _resolve(facts: dict[str, FileFacts], index: ModuleIndex, path: str, record: CallRecord):
    """(file, summary) a call goes to, if it is a function of the scanned project."""
    local = facts[path].functions.get(record.resolved)
    if local is not None:
        return path, local
    target = index.resolve(path, record.resolved)
    if target is None or target.path not in facts:
        return None
    summary = facts[target.path].functions.get(target.name)
    return (target.path, summary) if summary is not None else None


def _argument_for(summary: FunctionSummary, key: int | str) -> str | None:
    if isinstance(key, str):
        return key if key in summary.params else None
    return summary.params[key] if key < len(summary.params) else None


def _join_imported_handlers(facts: dict[str, FileFacts], index: ModuleIndex) -> dict[str, list[HandlerEntry]]:
    """`mcp.add_tool(search)` in one module, `def search(...)` in another: a handler there."""
    extra: dict[str, list[HandlerEntry]] = {}
    for path in sorted(facts):
        for kind, name, qualified in facts[path].imported_handlers:
            target = index.resolve(path, qualified)
            if target is None or target.path not in facts:
                continue
            summary = facts[target.path].functions.get(target.name)
            if summary is not None and not any(h.key == target.name for h in facts[target.path].handlers):
                extra.setdefault(target.path, []).append(HandlerEntry(target.name, f"{kind} `{name}`", summary.params))
    return extra


def follow(facts: dict[str, FileFacts], index: ModuleIndex, rules_by_code: dict) -> list[Pending]:
    """Sinks that handlers reach through calls into other functions of the project.

    A handler registered from another module reaches its own body's sinks too (depth
    0 is then its summary's own hits)."""
    out: list[Pending] = []
    seen: set[tuple] = set()
    imported = _join_imported_handlers(facts, index)
    for path in sorted(facts):
        for handler in facts[path].handlers + imported.get(path, []):
            summary = facts[path].functions.get(handler.key)
            if summary is None:
                continue
            own_hits = handler in imported.get(path, [])
            for param in handler.params:
                walker = _Walker(facts, index, rules_by_code, handler, param, seen, out)
                walker.walk(path, summary, param, (), (), 0, frozenset(), frozenset(), {}, own_hits)
    return out


class Reach:
    """The functions handlers pass their input to, worked out as files' summaries come
    in during the per-file phase: it tells the scan which other files `follow` will need
    summaries of. It goes where `follow` goes (a call passing on a parameter that is
    reached), without the depth limit, so it never stops short of it."""

    def __init__(self, index: ModuleIndex) -> None:
        self.index = index
        self.facts: dict[str, FileFacts] = {}
        # path -> (function name, argument position|keyword, or None for every parameter) asked of it
        self.asked: dict[str, set[tuple[str, int | str | None]]] = {}
        self.reached: dict[str, set[tuple[str, str]]] = {}  # path -> (function key, parameter)

    def add(self, path: str, facts: FileFacts) -> set[str]:
        """Take one file's summaries; return the files newly reached whose summaries are
        still missing."""
        self.facts[path] = facts
        self.reached[path] = set()  # again, from these summaries
        work = [(path, handler.key, param) for handler in facts.handlers for param in handler.params]
        missing: set[str] = set()
        for _, _, qualified in facts.imported_handlers:  # handlers of other modules: every parameter
            target = self.index.resolve(path, qualified)
            if target is not None:
                missing |= self._ask(target.path, target.name, None, work)
        for name, key in self.asked.get(path, ()):
            work += self._entries(path, name, key)
        while work:
            at, key, param = work.pop()
            done = self.reached.setdefault(at, set())
            if (key, param) in done:
                continue
            done.add((key, param))
            summary = self.facts[at].functions.get(key)
            for record in summary.calls if summary is not None else ():
                for arg_key, source, *_ in record.args:
                    if source != param:
                        continue
                    if record.resolved in self.facts[at].functions:  # a function of the same file (`_resolve`)
                        work += self._entries(at, record.resolved, arg_key)
                        continue
                    target = self.index.resolve(at, record.resolved)
                    if target is not None:
                        missing |= self._ask(target.path, target.name, arg_key, work)
        return missing

    def _ask(self, path: str, name: str, key: int | str | None, work: list) -> set[str]:
        self.asked.setdefault(path, set()).add((name, key))
        if path in self.facts:
            work += self._entries(path, name, key)
            return set()
        return {path}

    def _entries(self, path: str, name: str, key: int | str | None) -> list[tuple[str, str, str]]:
        summary = self.facts[path].functions.get(name)
        if summary is None:
            return []
        params = summary.params if key is None else (_argument_for(summary, key),)
        return [(path, summary.key, param) for param in params if param is not None]


@dataclass
class _Walker:
    facts: dict[str, FileFacts]
    index: ModuleIndex
    rules_by_code: dict
    handler: HandlerEntry
    origin: str  # the handler's parameter
    seen: set
    out: list

    def walk(self, path, summary, param, trace, via, depth, covered, guards, narrowed, own_hits=False) -> None:
        """`covered`: rules already reported at a call on the way here (a wrapper the
        rule knows as a sink); the same rule is not reported again deeper down.
        `narrowed`: rule code -> (message arguments, confidence cap) from the last call
        on the way whose argument's shape tells what that rule's findings mean."""
        if depth > 0 or own_hits:
            for hit in summary.hits:
                if hit.param != param or hit.code in covered:
                    continue
                rule = self.rules_by_code[hit.code]
                if (NAMED_ESCAPE in guards and rule.escape_sanitizes) or \
                        (ALLOW_LISTED in guards and rule.allow_list_sanitizes):
                    continue
                key = (self.handler.label, self.origin, path, hit.node, hit.code)
                if key not in self.seen:
                    self.seen.add(key)
                    self.out.append(self._pending(path, hit, trace, via, bool(guards - {ALLOW_LISTED}),
                                                  narrowed.get(hit.code)))
        if depth >= MAX_DEPTH:
            return
        for record in summary.calls:
            for arg_key, source, steps, arg_guards, narrowing in record.args:
                if source != param:
                    continue
                resolved = _resolve(self.facts, self.index, path, record)
                if resolved is None:
                    continue
                callee_path, callee = resolved
                callee_param = _argument_for(callee, arg_key)
                key = ("call", self.handler.label, self.origin, callee_path, callee.key, callee_param)
                if callee_param is None or key in self.seen:
                    continue
                self.seen.add(key)
                hop = tuple((path, node, note) for node, note in steps) + (
                    (path, record.node, f"passed to `{record.callee}()` as `{callee_param}`"),
                )
                at_call = {hit.code for hit in summary.hits if hit.node == record.node and hit.param == param}
                if depth == 0:
                    at_call |= self.facts[path].handler_sinks.get((self.handler.key, record.node), set())
                # the call nearest the sink decides, as the last string built before a
                # request is the URL (MCP203): `f"man-{ref}"` passed on, then `f"/v2/{x}"`
                inner = {code: (dict(args), cap) for code, args, cap in narrowing}
                self.walk(callee_path, callee, callee_param, trace + hop, via + (record.callee,), depth + 1,
                          covered | at_call, guards | arg_guards, {**narrowed, **inner})

    def _pending(self, path: str, hit: SinkHit, trace, via, guarded: bool,
                 narrowing: tuple[dict[str, str], Confidence] | None = None) -> Pending:
        rule = self.rules_by_code[hit.code]
        args = dict(hit.message_args)
        confidence = hit.confidence
        if narrowing is not None and narrowing[1] <= confidence:  # the callee's own reading may be narrower
            args.update(narrowing[0])
            confidence = narrowing[1]
        args["handler"] = self.handler.label
        args["param"] = self.origin
        try:
            message = args.pop("_message", rule.message).format(**args)
        except (KeyError, IndexError, ValueError):
            message = rule.meta.summary
        chain = " → ".join(f"`{name}()`" for name in via)
        suffix = f" via {chain}" if via else ""
        return Pending(
            code=hit.code,
            path=path,
            node=hit.node,
            statement=hit.statement,
            message=message + suffix,
            severity=hit.severity,
            # a pattern or length limit on the tool parameter, or a quoting helper
            # on the way, narrows the payload
            confidence=confidence.lowered() if guarded else confidence,
            handler=self.handler.label,
            trace=trace + tuple((path, node, note) for node, note in hit.steps) + ((path, hit.node, "reaches the sink"),),
        )


def _holding(facts: FileFacts, ordinals: set[int]) -> tuple[Extent, ...] | None:
    """The outermost functions of the file that hold `ordinals` (in source order), or None
    if one of them is outside every function known (the file is then parsed whole)."""
    outermost: list[Extent] = []
    for extent in sorted((f.extent for f in facts.functions.values() if f.extent is not None),
                         key=lambda e: (e[0], -e[1])):
        if not outermost or extent[0] >= outermost[-1][1]:
            outermost.append(extent)
    starts = [extent[0] for extent in outermost]
    used: dict[int, Extent] = {}
    for number in ordinals:
        at = bisect_right(starts, number) - 1
        if at < 0 or number >= outermost[at][1]:
            return None
        used[at] = outermost[at]
    return tuple(used[at] for at in sorted(used))


# What is known of where a file's nodes are: span of each node ordinal, header lines (for
# suppression comments), the file's encoding (`context.locate_nodes`).
Located = tuple[dict[int, Span], dict[int, set[int]], str]


def place_pending(pending: list[Pending], contents: dict[str, bytes], rules_by_code: dict,
                  locate: Callable[[list[tuple]], Iterable[tuple]],
                  known: dict[str, Located] | None = None,
                  facts: dict[str, FileFacts] | None = None) -> tuple[list[Finding], dict[str, Located]]:
    """Findings for sinks reached across functions, with what was located to place them.

    Each file involved is parsed again, once, by `locate` (a list of (path, bytes,
    ordinals, extents) to `context.locate_nodes` results): cheaper than computing
    positions for every analysed file in case a finding lands there. Where the files'
    `facts` tell the extents of the functions that hold every node to locate, only those
    functions are parsed. `known`: what earlier runs located in files unchanged since; a
    file whose nodes it holds is not parsed again.
    """
    wanted: dict[str, set[int]] = {}
    for item in pending:
        wanted.setdefault(item.path, set()).update(n for n in (item.node, item.statement) if n is not None)
        for path, node, _ in item.trace:
            wanted.setdefault(path, set()).add(node)
    known = known or {}
    located: dict[str, Located] = {}
    missing = []
    for path, ordinals in sorted(wanted.items()):
        if path in known and ordinals <= known[path][0].keys():
            located[path] = known[path]
        else:
            extents = _holding(facts[path], ordinals) if facts is not None and path in facts else None
            missing.append((path, contents[path], frozenset(ordinals), extents))
    for path, spans, headers, encoding in (locate(missing) if missing else ()):
        before = known.get(path, ({}, {}, encoding))
        located[path] = ({**before[0], **spans}, {**before[1], **headers}, encoding)
    lines = {path: source_lines(contents[path].decode(encoding, "replace")) for path, (_, _, encoding) in located.items()}
    out = []
    for item in pending:
        spans, headers, _ = located[item.path]
        where = spans[item.node]
        suppress = set(range(where.line, where.end_line + 1))
        if item.statement is not None:
            suppress |= headers.get(item.statement, set())
        steps = [(path, located[path][0][node], note) for path, node, note in item.trace if node in located[path][0]]
        out.append(placed_finding(rules_by_code[item.code].meta, item.path, where, item.message, item.severity,
                                  item.confidence, lines[item.path], item.handler, steps, suppress))
    return out, located
