
import libcst as cst

from mcplint.mcp import walk
from mcplint.mcp.guards import if_guards
from mcplint.finding import Confidence, Severity
from mcplint.mcp.builder import argument, call_args, string_value
from mcplint.mcp.names import dotted
from mcplint.mcp.taint import source_label
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule

# Builtins that run (or compile, to run) Python source; `builtins.eval` is the same call.
CODE_CALLS = {
    name: name
    for base in ("eval", "exec", "compile")
    for name in (base, f"builtins.{base}", f"__builtins__.{base}")
}
RUN_FILE_CALLS = frozenset({"runpy.run_path", "runpy.run_module"})
IMPORT_CALLS = frozenset({"importlib.import_module", "__import__", "builtins.__import__", "importlib.__import__"})
ARGV_CALLS = frozenset(
    {"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen"}
)
EXEC_CALLS = frozenset({"asyncio.create_subprocess_exec"})
INTERPRETER = lazy_compile(
    r"(?:^|[/\\])(?:python[\d.]*|pypy[\d.]*|node|nodejs|deno|bun|ruby|perl|php|Rscript)(?:\.exe)?$"
)
CODE_FLAGS = frozenset({"-c", "-e", "--eval", "-p", "--print", "-r"})
# Calls that keep the input's text (decoding, formatting): the agent still writes the code.
CONTENT_PRESERVING = lazy_compile(
    r"^(?:str|bytes|bytearray|dedent|b64decode|urlsafe_b64decode|b32decode|a2b_base64|unhexlify|fromhex"
    r"|decode|decompress|loads|unquote|unquote_plus|join|format|strip)$"
)

EFFECTS = {
    "code": "which runs it as Python code",
    "compile": "which compiles it into code to run",
    "file": "which runs the Python file it names",
    "import": "which imports (runs) the module it names",
    "argv": "which runs it as an interpreter's `-c`/`-e` code",
    "script": "which runs the script file the handler writes it to",
}


def _callee_name(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""


class ToolCodeExecution(Rule):
    """A tool parameter is run as code.

    ## What it does
    Reports `eval`, `exec` and `compile` (also as `builtins.eval`), `runpy.run_path`/
    `run_module`, `importlib.import_module`/`__import__`, and interpreters started on
    the input (`[sys.executable, "-c", code]`, `["node", "-e", code]`, or a script the
    handler first writes the input to) when the code, file or module name derives from
    an untrusted handler parameter. A `compile()` that feeds `exec` is reported once.

    Code the agent writes (the parameter, an f-string, decoded text) is reported at high
    confidence; a file or module it names, code read through another call, or a script
    written to a temporary file at medium; a value the handler first tests against an
    allowlist or a regex, or a module name confined to one package
    (`import_module(f"plugins.{name}")`), at low. Code looked up in a dict of the module
    by a key the agent picks (`eval(SNIPPETS.get(key))`) is the server's own and is not
    reported, nor are `ast.literal_eval`, `json.loads` or AST-walking evaluators such as
    `simpleeval`. Emptied `__builtins__` (`eval(expr, {"__builtins__": {}})`) is no
    sandbox and changes nothing. `bash -c` and `shell=True` are MCP301's findings;
    flows into functions outside the handler are not followed yet.

    ## Why is this bad?
    Whoever steers the agent (a user, or text injected into a document the agent read)
    runs any Python on the server with its rights: reading secrets and files, opening
    network connections, installing persistence. "Calculator" and "run Python" tools
    are the usual way this reaches MCP servers.

    ## Example
    ```python
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("calc")

    @mcp.tool()
    def calculate(expression: str) -> str:
        return str(eval(expression))
    ```

    ## Use instead
    Parse the input as data, or evaluate it with a restricted evaluator that walks a
    whitelisted AST. A tool that must run code belongs in a sandbox (a container or a
    WebAssembly runtime) with no secrets and no network.
    ```python
    import ast
    import operator
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("calc")
    OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}

    def _eval(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in OPS:
            return OPS[type(node.op)](_eval(node.left), _eval(node.right))
        raise ValueError("unsupported expression")

    @mcp.tool()
    def calculate(expression: str) -> str:
        return str(_eval(ast.parse(expression, mode="eval").body))
    ```

    ## References
    - [CWE-94: Code Injection](https://cwe.mitre.org/data/definitions/94.html)
    - [Python docs: `eval`](https://docs.python.org/3/library/functions.html#eval)
    - [Python docs: `ast.literal_eval`](https://docs.python.org/3/library/ast.html#ast.literal_eval)
    """

    code = "MCP303"
    name = "tool-code-execution"
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    cwe = 94
    checklist = "MCP-C04"
    in_imported_modules = False  # each report carries tool input
    message = "{handler} parameter `{param}` reaches `{sink}`, {effect}"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._local_functions: set[str] | None = None
        self._constant_tables: set[str] | None = None

    def _shadowed(self, name: str) -> bool:
        """A module that defines its own `eval`/`compile` does not call the builtin."""
        if self._local_functions is None:
            self._local_functions = {
                n.name.value for n in walk.iter_nodes(self.ctx.module) if isinstance(n, cst.FunctionDef)
            }
        return name in self._local_functions

    def _looks_up_constant(self, calls) -> bool:
        """`SNIPPETS.get(key)` on a module-level dict: the code is the server's own, not the input."""
        if self._constant_tables is None:
            self._constant_tables = {
                target.target.value
                for statement in self.ctx.module.body if isinstance(statement, cst.SimpleStatementLine)
                for small in statement.body if isinstance(small, cst.Assign) and isinstance(small.value, cst.Dict)
                for target in small.targets if isinstance(target.target, cst.Name)
            }
        return any(
            isinstance(c.func, cst.Attribute)
            and c.func.attr.value == "get"
            and dotted(c.func.value) in self._constant_tables
            for c in calls
        )

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.handler is None:
            return
        qualified = self.ctx.qualify(node.func) or ""
        if qualified in CODE_CALLS:
            builtin = qualified.rsplit(".", 1)[-1]
            if "." not in qualified and self._shadowed(builtin):
                return
            kind = "compile" if builtin == "compile" else "code"
            value = argument(node, 0, "source")
            flags = argument(node, 3, "flags")
            if kind == "compile" and flags is not None and "PyCF_ONLY_AST" in self.ctx.code_for(flags):
                return  # ast.parse by another name: no code object
        elif qualified in RUN_FILE_CALLS:
            kind = "file"
            value = argument(node, 0, "path_name" if qualified.endswith("run_path") else "mod_name")
        elif qualified in IMPORT_CALLS:
            kind = "import"
            value = argument(node, 0, "name")
        elif qualified in ARGV_CALLS or qualified in EXEC_CALLS:
            argv = self._interpreter_argv(node, qualified)
            if argv is None:
                return
            kind, value = "argv", _inline_code(argv)
            if value is None and _script_operand(argv) is not None:
                kind, value = "script", self._written_code()
        else:
            return
        taint = self.ctx.taint(value) if value is not None else None
        if taint is None:
            return
        nodes = [value, *(step.node for step in taint.steps)]
        calls = [n for n in nodes if isinstance(n, cst.Call)]
        if kind == "code" and any(self.ctx.qualify(c.func) in CODE_CALLS for c in calls):
            return  # reported at compile()
        if self._looks_up_constant(calls):
            return
        confidence = self._confidence(kind, node, value, taint, calls)
        self.report(
            node, taint=taint, confidence=confidence, param=source_label(taint, nodes), sink=qualified, effect=EFFECTS[kind]
        )

    def _interpreter_argv(self, node: cst.Call, qualified: str) -> list[cst.BaseExpression] | None:
        """The literal argv of a call that starts an interpreter (python, node, ...)."""
        if qualified in EXEC_CALLS:
            positional, _, _ = call_args(node)
            argv = [arg.value for arg in positional]
        else:
            first = argument(node, 0, "args")
            if not isinstance(first, (cst.List, cst.Tuple)):
                return None
            argv = [element.value for element in first.elements]
        if len(argv) < 2:
            return None
        program_text = string_value(argv[0])
        if program_text is not None and INTERPRETER.search(program_text):
            return argv
        if self.ctx.qualify(argv[0]) == "sys.executable":
            return argv
        return None

    def _written_code(self) -> cst.BaseExpression | None:
        """Tainted text the handler writes to a file (`f.write(code)`, `p.write_text(code)`)."""
        for sub in walk.iter_nodes(self.ctx.handler.function.body):
            if (
                isinstance(sub, cst.Call)
                and isinstance(sub.func, cst.Attribute)
                and sub.func.attr.value in ("write", "write_text", "writelines")
                and sub.args
                and self.ctx.taint(sub.args[0].value) is not None
            ):
                return sub.args[0].value
        return None

    def _confidence(self, kind, node, value, taint, calls) -> Confidence:
        if self._guarded(taint, node):
            return Confidence.LOW
        if kind == "script":
            return Confidence.MEDIUM  # the file written is probably, not provably, the one run
        if kind == "import":
            prefix = self._literal_prefix(value)
            relative = argument(node, 1, "package") is not None
            return Confidence.LOW if (prefix or relative) else Confidence.MEDIUM
        if kind == "file":
            return Confidence.MEDIUM
        # The input chose the code through a lookup, a file read, a call we don't know.
        for call in calls:
            if not CONTENT_PRESERVING.match(_callee_name(call.func)) and not _reads(call, taint.param):
                return Confidence.MEDIUM
        return Confidence.HIGH

    @staticmethod
    def _literal_prefix(value: cst.BaseExpression) -> bool:
        """`f"plugins.{name}"`, `"plugins." + name`: only modules of one package."""
        if isinstance(value, cst.FormattedString) and value.parts:
            first = value.parts[0]
            return isinstance(first, cst.FormattedStringText) and first.value.endswith(".")
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
            return (string_value(value.left) or "").endswith(".")
        return False

    def _guarded(self, taint, sink: cst.Call) -> bool:
        """The handler tests the tainted names against an allowlist or a pattern first."""
        names = {taint.param} | {
            name for step in taint.steps if (name := _assigned_name(step.node)) is not None
        }
        return if_guards(self.ctx.handler.function.body, sink, names, self.ctx.qualify)


def _inline_code(argv: list[cst.BaseExpression]) -> cst.BaseExpression | None:
    """The code after `-c`/`-e`."""
    for flag, code in zip(argv[1:], argv[2:]):
        if string_value(flag) in CODE_FLAGS:
            return code
    return None


def _script_operand(argv: list[cst.BaseExpression]) -> cst.BaseExpression | None:
    """The script an interpreter runs, when it is not a literal path."""
    for operand in argv[1:]:
        text = string_value(operand)
        if text is not None and text.startswith("-"):
            continue
        return operand if text is None else None
    return None


def _reads(call: cst.Call, param: str) -> bool:
    """`arguments.get("source")`: reading the parameter itself."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "get"):
        return False
    return (dotted(func.value) or "").split(".")[0] == param


def _assigned_name(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Assign) and len(node.targets) == 1:
        return dotted(node.targets[0].target)
    if isinstance(node, (cst.AnnAssign, cst.AugAssign)):
        return dotted(node.target)
    return None
