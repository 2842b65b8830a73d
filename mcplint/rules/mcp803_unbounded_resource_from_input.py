import re

import libcst as cst

from mcplint.context import SYMBOLIC
from mcplint.finding import Confidence, Severity
from mcplint.mcp import walk
from mcplint.mcp.builder import argument, node_source, string_value
from mcplint.mcp.model import Handler, Param
from mcplint.mcp.names import dotted
from mcplint.mcp.taint import FunctionFlow, Taint, source_label
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule

# Parameter types that hold a number with no upper bound.
_NUMERIC = lazy_compile(
    r"^(?:Optional\[)?(?:typing\.)?(?:int|float|StrictInt|StrictFloat|PositiveInt|NonNegativeInt|PositiveFloat"
    r"|NonNegativeFloat|conint\(.*\)|confloat\(.*\)|Annotated\[\s*(?:int|float|Optional\[(?:int|float)\])\s*,.*\])"
    r"\]?(?:\s*\|\s*None)?$",
    re.DOTALL,
)
_UPPER_BOUND = lazy_compile(r"\b(?:le|lt|max_value|maximum)\s*=")
_CONTAINER = lazy_compile(r"^(?:typing\.)?(?:dict|Dict|Mapping|Any|MutableMapping)\b")

# Calls that turn the input into a number (taint goes through) or cap it (taint stops).
CONVERSIONS = frozenset({"int", "float", "round", "abs", "math.floor", "math.ceil", "math.trunc", "decimal.Decimal"})
_CAPPING_HELPER = lazy_compile(r"clamp|(?:^|_)(?:cap|bound|bounded|limit|restrict|sanitiz|validat|normaliz)", re.I)

SLEEPS = frozenset({"time.sleep", "asyncio.sleep", "anyio.sleep", "trio.sleep", "gevent.sleep"})
ALLOCATORS = {
    "bytearray": 0, "bytes": 0, "os.urandom": 0, "secrets.token_bytes": 0, "secrets.token_hex": 0,
    "secrets.token_urlsafe": 0, "random.randbytes": 0, "numpy.zeros": 0, "numpy.ones": 0, "numpy.empty": 0,
    "numpy.full": 0, "numpy.arange": 0, "numpy.random.rand": 0, "numpy.random.randn": 0,
    "numpy.random.random": 0, "torch.zeros": 0, "torch.ones": 0, "torch.empty": 0, "torch.rand": 0,
    "itertools.repeat": 1, "math.factorial": 0,
}
READ_METHODS = frozenset({"read", "recv", "readline", "readlines", "read1", "fetchmany", "recv_into"})
PAD_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})
POOLS = frozenset({"concurrent.futures.ThreadPoolExecutor", "concurrent.futures.ProcessPoolExecutor",
                   "multiprocessing.Pool", "multiprocessing.pool.ThreadPool"})
_ORDERING = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual)


def _source_confidence(param: Param, lowlevel: bool) -> Confidence | None:
    """How sure a parameter is an unbounded number: None when it cannot be one or is bounded."""
    annotation = " ".join((param.annotation or "").split())
    default = node_source(param.node.default) if param.node.default is not None else ""
    if _UPPER_BOUND.search(annotation) or _UPPER_BOUND.search(default) or param.star == "*":
        return None
    if not annotation:
        return Confidence.LOW if lowlevel else Confidence.MEDIUM
    if _NUMERIC.match(annotation):
        return Confidence.HIGH
    if _CONTAINER.match(annotation) or param.star == "**":
        return Confidence.LOW  # a value read out of an arguments dict
    return None


class _SizeFlow(FunctionFlow):
    """The taint flow, with number conversions passed through and caps (`min(n, 100)`) stopping it."""

    def _call(self, call: cst.Call) -> Taint | None:
        qualified = self.imports.qualify(call.func) or ""
        if qualified in CONVERSIONS:
            taint = self._first(a.value for a in call.args)
            return taint.then(call, f"converted by `{qualified}()`") if taint is not None else None
        if qualified == "min":
            if any(self.taint_of(a.value) is None for a in call.args) or len(call.args) < 2:
                return None  # capped by a value the client does not choose
            return self._first(a.value for a in call.args)
        if qualified == "max":
            return self._first(a.value for a in call.args)
        if _CAPPING_HELPER.search(qualified.rsplit(".", 1)[-1]):
            return None
        return super()._call(call)


class UnboundedResourceFromInput(Rule):
    """A tool parameter sets a size, count, duration or loop bound with no upper limit.

    ## What it does
    Reports places where a number chosen by the client — a tool, resource or prompt
    parameter typed `int`/`float` (or untyped, or read out of a low-level handler's
    `arguments` dict), also after `int()`/`float()` — decides how much work or memory a
    call takes:

    - loops: `range(n)`, `while i < n`;
    - waits: `time.sleep(n)`, `asyncio.sleep(n)`;
    - reads: `f.read(n)`, `sock.recv(n)`, `cursor.fetchmany(n)`;
    - allocations: `"x" * n`, `[0] * n`, `bytearray(n)`, `os.urandom(n)`, `numpy.zeros(n)`,
      `s.ljust(n)`, `itertools.repeat(x, n)`;
    - arithmetic that grows with the input: `base ** n`, `pow(base, n)`,
      `math.factorial(n)`;
    - worker pools: `ThreadPoolExecutor(max_workers=n)`.

    Stays silent when the parameter has an upper bound the SDK enforces
    (`Annotated[int, Field(le=100)]`, `= Field(10, le=100)`, `conint(le=...)`,
    `Literal[...]`), when it is capped on the way (`min(n, 100)`, a helper named
    `clamp`/`cap_*`/`validate_*`), or when the handler compares it with `<`, `<=`,
    `>` or `>=` anywhere (an `if n > MAX: raise`, a clamp). `LIMIT {n}` in SQL text is
    MCP302's finding. Confidence is high for a parameter typed as a number, medium
    for an untyped one, low for values read out of an arguments dict (a low-level
    server's `inputSchema` may set a `maximum`).

    ## Why is this bad?
    The client picks the number, and a model asked to "get everything" or an
    injected instruction will pick a large one. `range(10**9)`, `time.sleep(86400)`
    or `"x" * 10**10` holds a worker, exhausts memory or blocks the event loop — and
    with one process serving every client, everyone's calls stop. A maximum in the
    parameter's type is also shown to the model in the tool's schema, so it asks for
    sensible values in the first place.

    ## Example
    ```python
    import time
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("jobs")

    @mcp.tool()
    def wait_for_job(job_id: str, seconds: int) -> str:
        time.sleep(seconds)
        return job_id
    ```

    ## Use instead
    Give the parameter a range the SDK enforces.
    ```python
    import time
    from typing import Annotated

    from mcp.server.fastmcp import FastMCP
    from pydantic import Field

    mcp = FastMCP("jobs")

    @mcp.tool()
    def wait_for_job(job_id: str, seconds: Annotated[int, Field(ge=0, le=30)]) -> str:
        time.sleep(seconds)
        return job_id
    ```

    ## References
    - [CWE-400: Uncontrolled Resource Consumption](https://cwe.mitre.org/data/definitions/400.html)
    - [CWE-770: Allocation of Resources Without Limits or Throttling](https://cwe.mitre.org/data/definitions/770.html)
    - [Pydantic: Number constraints](https://docs.pydantic.dev/latest/concepts/fields/#numeric-constraints)
    """

    code = "MCP803"
    name = "unbounded-resource-from-input"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 400
    checklist = "MCP-C07"
    in_imported_modules = False  # each report carries tool input
    message = "{handler} parameter `{param}` sets {what} with no upper bound"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._flows: dict[int, tuple[_SizeFlow, dict[str, Confidence], set[str]] | None] = {}
        self._bounded_keys: set[str] | None = None

    def _state(self, handler: Handler):
        key = id(handler.function)
        if key not in self._flows:
            sources = {}
            for param in handler.untrusted_params:
                confidence = _source_confidence(param, handler.lowlevel)
                if confidence is not None:
                    sources[param.name] = confidence
            if not sources:
                self._flows[key] = None
            else:
                params = [p for p in handler.untrusted_params if p.name in sources]
                flow = _SizeFlow(handler.function, params, self.ctx.imports)
                self._flows[key] = (flow, sources, _compared_names(handler.function))
        return self._flows[key]

    def _check(self, node: cst.CSTNode, value: cst.BaseExpression | None, what: str,
               cap: Confidence = Confidence.HIGH) -> bool:
        handler = self.ctx.handler
        if value is None or handler is None or handler.kind == SYMBOLIC:
            return False
        state = self._state(handler)
        if state is None:
            return False
        flow, sources, compared = state
        taint = flow.taint_of(value)
        if taint is None:
            return False
        names = {taint.param, *_names(value)}
        for step in taint.steps:
            if isinstance(step.node, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
                targets = step.node.targets if isinstance(step.node, cst.Assign) else [step.node]
                names.update(n for t in targets if (n := dotted(t.target)))
        if names & compared:
            return False
        if sources[taint.param] is Confidence.LOW and self._schema_bounded(taint, value):
            return False
        confidence = min(sources[taint.param], cap)
        label = source_label(taint, [value, *(step.node for step in taint.steps)])
        self.report(node, taint=taint, confidence=confidence, param=label, what=what)
        return True

    def _schema_bounded(self, taint: Taint, value: cst.BaseExpression) -> bool:
        """`arguments["seconds"]` where this file's input schema gives `"seconds"` a `"maximum"`."""
        label = source_label(taint, [value, *(step.node for step in taint.steps)])
        match = re.match(r'^[\w.]+\["(.+)"\]$', label)
        if match is None:
            return False
        if self._bounded_keys is None:
            self._bounded_keys = set()
            for node in walk.iter_nodes(self.ctx.module):
                if not isinstance(node, cst.Dict):
                    continue
                for element in node.elements:
                    if isinstance(element, cst.DictElement) and isinstance(element.value, cst.Dict) and any(
                            isinstance(e, cst.DictElement) and string_value(e.key) in ("maximum", "exclusiveMaximum")
                            for e in element.value.elements):
                        key = string_value(element.key)
                        if key is not None:
                            self._bounded_keys.add(key)
        return match.group(1) in self._bounded_keys

    # -- sinks ------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.handler is None or self.ctx.handler.kind == SYMBOLIC:
            return
        qualified = self.ctx.qualify(node.func) or ""
        if qualified == "range":
            for arg in node.args:
                if self._check(node, arg.value, "the length of a `range()` loop"):
                    return
        elif qualified in SLEEPS:
            self._check(node, argument(node, 0, "seconds") or argument(node, 0, "delay"),
                        f"the duration of `{qualified}()`")
        elif qualified in ALLOCATORS:
            self._check(node, argument(node, ALLOCATORS[qualified], "size"), f"the size of `{qualified}()`")
        elif qualified == "pow" and len(node.args) == 2:
            self._check(node, node.args[1].value, "the exponent of `pow()`")
        elif qualified in POOLS:
            self._check(node, argument(node, 0, "max_workers") or argument(node, 0, "processes"),
                        f"the worker count of `{qualified.rsplit('.', 1)[-1]}`")
        elif isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            if method in READ_METHODS and node.args:
                self._check(node, argument(node, 0, "size") or argument(node, 0, "n"),
                            f"the size of `.{method}()`")
            elif method in PAD_METHODS and node.args:
                self._check(node, node.args[0].value, f"the width of `.{method}()`")
            elif method == "limit" and len(node.args) == 1:
                self._check(node, node.args[0].value, "the row limit of `.limit()`", cap=Confidence.MEDIUM)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Multiply):
            for sequence, count in ((node.left, node.right), (node.right, node.left)):
                if _is_sequence_literal(sequence):
                    self._check(node, count, "the length of a repeated sequence")
                    return
        elif isinstance(node.operator, cst.Power):
            self._check(node, node.right, "the exponent of `**`")

    def visit_While(self, node: cst.While) -> None:
        test = node.test
        if isinstance(test, cst.Comparison):
            for target in test.comparisons:
                if isinstance(target.operator, (cst.LessThan, cst.LessThanEqual)):
                    self._check(test, target.comparator, "the bound of a `while` loop")
                    return


def _is_sequence_literal(expr: cst.BaseExpression) -> bool:
    if string_value(expr) is not None or isinstance(expr, (cst.List, cst.Tuple)):
        return True
    return isinstance(expr, cst.FormattedString)


def _names(expr: cst.CSTNode) -> set[str]:
    return {n for node in walk.iter_nodes(expr) if isinstance(node, (cst.Name, cst.Attribute))
            and (n := dotted(node)) is not None}


def _compared_names(function: cst.FunctionDef) -> set[str]:
    """Names the handler compares with `<`/`<=`/`>`/`>=` outside `while` tests: a bound check or clamp."""
    loops = {id(n.test) for n in walk.iter_nodes(function.body) if isinstance(n, cst.While)}
    out: set[str] = set()
    for node in walk.iter_nodes(function.body):
        if isinstance(node, cst.While):
            continue
        if isinstance(node, cst.Comparison) and id(node) not in loops and \
                any(isinstance(t.operator, _ORDERING) for t in node.comparisons):
            out |= _names(node.left)
            for target in node.comparisons:
                out |= _names(target.comparator)
    return out
