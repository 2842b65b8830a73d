import ast
from typing import Iterator

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import metadata, walk
from mcplint.mcp.metadata import METADATA_CALLS, METADATA_CLASSES, static_texts
from mcplint.mcp.model import Handler, Server
from mcplint.mcp.names import dotted
from mcplint.rule import Rule
from mcplint.outline import ast_keyword, ast_last
from mcplint.rules.mcp203_tool_ssrf import CLIENT_CLASSES, CLIENT_METHODS, CLIENT_NAME, HTTP_CALLS

REMOTE, FILE, ENV = "remote", "file", "env"
ENV_CALLS = frozenset({"os.getenv", "os.environ.get", "os.environ.setdefault", "os.environ.pop"})
FILE_CALLS = frozenset({"open", "io.open", "codecs.open", "json.load", "yaml.safe_load", "yaml.load", "tomllib.load",
                        "toml.load"})
FILE_METHODS = frozenset({"read_text", "read_bytes"})
# Paths next to the code: data shipped with the server, versioned with it.
PACKAGED = frozenset({"__file__", "importlib.resources.files", "importlib.resources.read_text",
                      "importlib.resources.open_text", "pkgutil.get_data", "importlib_resources.files"})
NUMBER_CALLS = frozenset({"int", "float", "bool", "len", "round", "min", "max", "abs"})
BODY_METHODS = frozenset({"json", "text", "read", "aread", "content", "decode"})
MAX_DEPTH = 6  # names and helper functions followed
MAX_NODES = 2000  # expression nodes looked at for one piece of metadata
_SEVERITY = {REMOTE: Severity.HIGH, FILE: Severity.LOW, ENV: Severity.LOW}
_CONFIDENCE = {REMOTE: Confidence.HIGH, FILE: Confidence.MEDIUM, ENV: Confidence.LOW}
_WHAT = {REMOTE: "an HTTP response", FILE: "a file", ENV: "an environment variable"}


def may_be_dynamic(outline) -> bool:
    """Can the rule report in this file (CPython's tree, `mcplint.outline`)? In a module with
    no handler or server of its own, only at the `description=` of a call that may build
    an MCP metadata object (`types.Tool(...)`) where `static_text` may give no text, or
    that is an f-string; a constant (`None`, a number) leads nowhere."""
    for call in outline.of(ast.Call):
        if ast_last(call.func) in METADATA_CLASSES:
            value = ast_keyword(call, "description")
            if value is not None and type(value) is not ast.Constant and not static_texts(outline).certain(value):
                return True
    return False


class _Origin:
    def __init__(self, kind: str, node: cst.CSTNode, shown: str) -> None:
        self.kind = kind
        self.node = node
        self.shown = shown


class DynamicToolMetadata(Rule):
    """Tool metadata is built at run time from remote data, files or the environment.

    ## What it does
    Follows the `description=` of tool, resource and prompt registrations, the
    `description` of low-level `types.Tool(...)` objects, a server's
    `instructions=`, and assignments to a tool function's `__doc__`, through
    variables, f-strings, `+`, `.format()`, `.join()` and the file's own helper
    functions, and reports them when they come from

    - an HTTP response (`requests`, `httpx`, `aiohttp`, `urllib`, or the `.get()`
      of a client made with a `base_url=`, such as a project's own API wrapper):
      high severity;
    - a file read at run time that is not shipped next to the code (a path built
      from `__file__` or read with `importlib.resources` is fine): low severity;
    - an environment variable: low severity, low confidence (whoever sets the
      environment runs the server anyway; the text just escapes review).

    A tool's `__doc__` reassigned at module level from anything that is not a
    literal or the old docstring with constants formatted in is reported with low
    confidence. Numbers (`int(os.environ["MAX_ROWS"])` formatted into a
    description) are not text and are not reported, nor is a lookup in an object
    (`cache.get(key)`): it is not the arguments the object was made with.

    ## Why is this bad?
    The model trusts tool descriptions as instructions, and users approve a server
    by what they see once. Metadata fetched from a URL can change after approval
    ("rug pull"): whoever controls that URL, or can tamper with it on the way,
    writes instructions straight into every agent that loads the server, without a
    code change anyone could review. Text from files and the environment is less
    exposed but still escapes the code review that metadata should get.

    ## Example
    ```python
    import httpx
    from fastmcp import FastMCP

    mcp = FastMCP("catalog")
    DESCRIPTIONS = httpx.get("https://config.example.com/mcp/descriptions.json", timeout=10).json()

    @mcp.tool(description=DESCRIPTIONS["search"])
    def search(query: str) -> list[str]:
        return []
    ```

    ## Use instead
    Write the descriptions in the code (or in a file shipped with it), where they are
    checked and versioned with the tools.
    ```python
    from fastmcp import FastMCP

    mcp = FastMCP("catalog")

    @mcp.tool(description="Search the product catalog by keyword; returns product names.")
    def search(query: str) -> list[str]:
        return []
    ```

    ## References
    - [CWE-829: Inclusion of Functionality from Untrusted Control Sphere](https://cwe.mitre.org/data/definitions/829.html)
    - [Invariant Labs: MCP tool poisoning and rug pulls](https://invariantlabs.ai/blog/mcp-security-notification-tool-poisoning-attacks)
    - [MCP specification: Tools, security considerations](https://modelcontextprotocol.io/specification/2025-06-18/server/tools#security-considerations)
    """

    code = "MCP404"
    name = "dynamic-tool-metadata"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    cwe = 829
    checklist = "MCP-C13"
    in_imported_modules = METADATA_CALLS  # metadata objects built in the module
    # ... with a description that is not text written in the file
    imported_if = staticmethod(may_be_dynamic)
    message = "{where}: taken at run time from {what} (`{shown}`)"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._stack: list[cst.FunctionDef] = []
        self._registrations: dict[int, Handler] = {}
        self._decorator_calls: set[int] = set()
        self._servers: dict[int, Server] = {}
        self._functions: dict[str, cst.FunctionDef] | None = None
        self._budget = MAX_NODES

    # -- what to look at ------------------------------------------------------------------
    def check_handler(self, handler: Handler) -> None:
        call = metadata.registration_call(handler)
        if call is not None:
            self._registrations[id(call)] = handler
            if isinstance(handler.registration, cst.Decorator):
                self._decorator_calls.add(id(call))

    def check_server(self, server: Server) -> None:
        if isinstance(server.node, cst.Call) and server.constructed:
            self._servers[id(server.node)] = server

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._stack.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._stack.pop()

    def visit_Call(self, node: cst.Call) -> None:
        handler = self._registrations.get(id(node))
        if handler is not None:
            # a decorator is evaluated in the scope around the function it decorates
            scope = self._scope(outer=id(node) in self._decorator_calls)
            label = metadata.handler_label(handler)
            description = metadata.description_arg(handler)
            if description is not None:
                self._judge(description, f"the description of {label}", scope, handler)
            return
        server = self._servers.get(id(node))
        if server is not None:
            for text in metadata.server_texts(self.ctx, server):
                self._judge(text.node, f"the {text.part} of {text.owner}", self._scope(), None)
            return
        if metadata.metadata_class(self.ctx, node) is not None:
            for text in metadata.call_texts(self.ctx, node):
                if text.part == "description":
                    self._judge(text.node, f"the description of {text.owner}", self._scope(), text.handler)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if not (isinstance(target.target, cst.Attribute) and target.target.attr.value == "__doc__"):
                continue
            owner = dotted(target.target.value) or ""
            handler = next((h for h in self.ctx.model.handlers if h.function.name.value == owner.rsplit(".", 1)[-1]
                            and h.kind in ("tool", "resource", "prompt") and not h.lowlevel), None)
            if handler is None:
                continue
            where = f"the docstring of {metadata.handler_label(handler)} (`{owner}.__doc__` reassigned)"
            scope = self._scope()
            # in a function, the text may come from its caller: only a module-level computation is judged
            if not self._judge(node.value, where, scope, handler) and scope is None and not self._static_doc(node.value):
                self.report(node.value, severity=Severity.LOW, confidence=Confidence.LOW, in_handler=handler,
                            where=where, what="a computed value",
                            shown=metadata.quote(self.ctx.code_for(node.value), 60))

    def _static_doc(self, expr: cst.BaseExpression) -> bool:
        """A literal, or the old docstring with literals and module constants formatted in."""
        if metadata.static_text(self.ctx, expr) is not None:
            return True
        keywords = {id(n.keyword) for n in walk.iter_nodes(expr) if isinstance(n, cst.Arg) and n.keyword is not None}
        attributes = {id(n.attr) for n in walk.iter_nodes(expr) if isinstance(n, cst.Attribute)}
        for node in walk.iter_nodes(expr):
            if id(node) in keywords or id(node) in attributes:
                continue
            if isinstance(node, cst.Call):
                func = node.func
                if not (isinstance(func, cst.Attribute) and func.attr.value in ("format", "replace", "strip", "join")
                        or dotted(func) in ("textwrap.dedent", "inspect.cleandoc", "str")):
                    return False
            elif isinstance(node, cst.Name) and node.value not in ("True", "False", "None") and \
                    metadata.module_constant(self.ctx, node.value) is None and not node.value.isupper():
                parent_doc = any(isinstance(n, cst.Attribute) and n.attr.value == "__doc__" and n.value is node
                                 for n in walk.iter_nodes(expr))
                if not parent_doc:
                    return False
        return True

    def _scope(self, outer: bool = False) -> cst.FunctionDef | None:
        stack = self._stack[:-1] if outer else self._stack
        return stack[-1] if stack else None

    def _judge(self, expr: cst.BaseExpression, where: str, scope, handler: Handler | None) -> bool:
        if metadata.static_text(self.ctx, expr) is not None and not isinstance(expr, cst.FormattedString):
            return False
        self._budget = MAX_NODES
        found = self._origin(expr, scope, 0, set())
        if found is None:
            return False
        self.report(expr, severity=_SEVERITY[found.kind], confidence=_CONFIDENCE[found.kind], in_handler=handler,
                    where=where, what=_WHAT[found.kind], shown=found.shown)
        return True

    # -- where a value comes from ----------------------------------------------------------------
    def _origin(self, expr: cst.CSTNode | None, scope, depth: int, seen: set) -> _Origin | None:
        self._budget -= 1
        if expr is None or depth > MAX_DEPTH or self._budget < 0:
            return None
        if isinstance(expr, cst.Await):
            return self._origin(expr.expression, scope, depth, seen)
        if isinstance(expr, cst.Call):
            return self._call(expr, scope, depth, seen)
        if isinstance(expr, cst.Name):
            return self._name(expr.value, scope, depth, seen)
        if isinstance(expr, cst.Attribute):
            if dotted(expr) in ("os.environ",):
                return None
            return self._origin(expr.value, scope, depth, seen)
        if isinstance(expr, cst.Subscript):
            base = dotted(expr.value)
            if base is not None and self.ctx.qualify(expr.value) == "os.environ":
                return _Origin(ENV, expr, metadata.quote(self.ctx.code_for(expr), 60))
            return self._origin(expr.value, scope, depth, seen)
        if isinstance(expr, (cst.SimpleString, cst.Integer, cst.Float)):
            return None
        for child in walk.children(expr):  # f-strings, `+`, containers, `x or y`, `a if c else b`
            if isinstance(child, (cst.Lambda, cst.FunctionDef)):
                continue
            found = self._origin(child, scope, depth, seen)
            if found is not None:
                return found
        return None

    def _call(self, call: cst.Call, scope, depth: int, seen: set) -> _Origin | None:
        qualified = self.ctx.qualify(call.func) or ""
        shown = metadata.quote(self.ctx.code_for(call.func), 50)
        if qualified in NUMBER_CALLS:
            return None  # `int(os.environ.get("MAX_ROWS", 100))`: a number, no text
        if qualified in HTTP_CALLS:
            return _Origin(REMOTE, call, shown)
        if qualified in ENV_CALLS:
            return _Origin(ENV, call, metadata.quote(self.ctx.code_for(call), 60))
        func = call.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receiver = func.value
            if method in CLIENT_METHODS and self._is_client(receiver, scope):
                return _Origin(REMOTE, call, shown)
            if method in FILE_METHODS:
                return None if self._packaged(call) else _Origin(FILE, call, shown)
            if method == "get" and self._instance(receiver, scope):
                return None  # `cache.get(key)`: a lookup in an object, not its constructor's arguments
            if method in BODY_METHODS or method in ("format", "strip", "replace", "get", "join", "dedent"):
                found = self._origin(receiver, scope, depth, seen)
                if found is not None:
                    return found
        if qualified in FILE_CALLS:
            return None if self._packaged(call) else _Origin(FILE, call, shown)
        if isinstance(func, cst.Name) and not self.ctx.imports.is_imported(func.value):
            function = self._local_functions().get(func.value)
            if function is not None and id(function) not in seen:
                seen = seen | {id(function)}
                for node in walk.iter_nodes(function.body):
                    if isinstance(node, cst.Return) and node.value is not None:
                        found = self._origin(node.value, function, depth + 1, seen)
                        if found is not None:
                            return found
        for arg in call.args:
            found = self._origin(arg.value, scope, depth, seen)
            if found is not None:
                return found
        return None

    def _name(self, name: str, scope, depth: int, seen: set) -> _Origin | None:
        key = (id(scope), name)
        if key in seen:
            return None
        seen = seen | {key}
        values: list[cst.BaseExpression] = []
        if scope is not None:
            for node in walk.iter_nodes(scope.body):
                if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                    continue
                if isinstance(node, cst.Assign) and any(dotted(t.target) == name for t in node.targets):
                    values.append(node.value)
                elif isinstance(node, (cst.AnnAssign, cst.AugAssign)) and dotted(node.target) == name and node.value:
                    values.append(node.value)
                elif isinstance(node, cst.WithItem) and node.asname is not None and dotted(node.asname.name) == name:
                    values.append(node.item)
        if not values:
            constant = metadata.module_constant(self.ctx, name)
            if constant is not None:
                values.append(constant)
                scope = None
        for value in values:
            found = self._origin(value, scope, depth + 1, seen)
            if found is not None:
                return found
        return None

    def _is_client(self, receiver: cst.BaseExpression, scope) -> bool:
        name = dotted(receiver)
        if name is None:
            return isinstance(receiver, cst.Call) and (self.ctx.qualify(receiver.func) or "") in CLIENT_CLASSES
        if (self.ctx.qualify(receiver) or "") in ("requests", "httpx"):
            return True
        if CLIENT_NAME.match(name.rsplit(".", 1)[-1]):
            return True
        if any(self._client_made(value) for _, value in self._bindings(name, scope)):
            return True
        # a module's client, used in a function (`client = APIClient(base_url=...)`)
        return scope is not None and self._client_made(metadata.module_constant(self.ctx, name))

    def _bindings(self, name: str, scope) -> Iterator[tuple[cst.CSTNode, cst.BaseExpression]]:
        """(statement, value) of each `name = value` and `with value as name` in `scope`
        (the module if None)."""
        for node in walk.iter_nodes(scope.body if scope is not None else self.ctx.module):
            if isinstance(node, cst.Assign) and any(dotted(t.target) == name for t in node.targets):
                yield node, node.value
            elif isinstance(node, cst.WithItem) and node.asname is not None and dotted(node.asname.name) == name:
                yield node, node.item

    def _instance(self, receiver: cst.BaseExpression, scope) -> bool:
        """A name bound to an instance of a class (`cache = TextCache(size=...)`)."""
        name = dotted(receiver)
        if name is None or "." in name:
            return False
        values = [value for node, value in self._bindings(name, scope) if isinstance(node, cst.Assign)]
        if not values and scope is not None:
            values = [metadata.module_constant(self.ctx, name)]
        return bool(values) and all(
            isinstance(value, cst.Call) and (dotted(value.func) or "").rsplit(".", 1)[-1][:1].isupper()
            for value in values)

    def _client_made(self, value: cst.BaseExpression | None) -> bool:
        """An HTTP client's construction: a class of the HTTP libraries, or anything given
        a `base_url=` (a project's API wrapper, an SDK's client)."""
        if isinstance(value, cst.Await):
            value = value.expression
        return isinstance(value, cst.Call) and ((self.ctx.qualify(value.func) or "") in CLIENT_CLASSES or any(
            arg.keyword is not None and arg.keyword.value == "base_url" for arg in value.args))

    def _packaged(self, call: cst.Call) -> bool:
        """Reading a file next to the code (`Path(__file__).parent / "x.md"`, `importlib.resources`)."""
        target = call.func.value if isinstance(call.func, cst.Attribute) else (call.args[0].value if call.args else None)
        if target is None:
            return False
        for node in walk.iter_nodes(target):
            if isinstance(node, cst.Name) and node.value == "__file__":
                return True
            if isinstance(node, (cst.Name, cst.Attribute)) and (self.ctx.qualify(node) or "") in PACKAGED:
                return True
            if isinstance(node, cst.Name) and node.value not in ("Path", "open"):
                constant = metadata.module_constant(self.ctx, node.value)
                if constant is not None and any(isinstance(n, cst.Name) and n.value == "__file__"
                                                for n in walk.iter_nodes(constant)):
                    return True
        return False

    def _local_functions(self) -> dict[str, cst.FunctionDef]:
        if self._functions is None:
            self._functions = {s.name.value: s for s in self.ctx.module.body if isinstance(s, cst.FunctionDef)}
        return self._functions
