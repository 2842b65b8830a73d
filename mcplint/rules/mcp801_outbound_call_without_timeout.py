import ast

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.fix import add_keyword, replace
from mcplint.mcp import walk
from mcplint.mcp.builder import argument, call_args, is_none, name_assignments
from mcplint.mcp.names import dotted
from mcplint.outline import ast_dotted, ast_keyword, ast_qualified, import_targets, nodes_under
from mcplint.rule import Rule
from mcplint.files import is_test_path
from mcplint.prefilter import containing

HTTP_VERBS = ("get", "post", "put", "delete", "head", "patch", "options")
# requests never times out unless told: a server that accepts the connection and
# then stops answering holds the call for ever.
REQUESTS_CALLS = frozenset({*(f"requests.{m}" for m in HTTP_VERBS), "requests.request",
                            *(f"requests.api.{m}" for m in HTTP_VERBS), "requests.api.request"})
REQUESTS_SESSIONS = frozenset({"requests.Session", "requests.session", "requests.sessions.Session"})
SESSION_METHODS = frozenset({*HTTP_VERBS, "request"})
# Client objects the rules of this family recognise, by constructor.
CLIENT_CLASSES = frozenset(
    {*REQUESTS_SESSIONS, "httpx.Client", "httpx.AsyncClient", "aiohttp.ClientSession", "urllib3.PoolManager",
     "urllib3.ProxyManager"}
)
HTTPX_CALLS = frozenset({*(f"httpx.{m}" for m in HTTP_VERBS), "httpx.request", "httpx.stream", "httpx.Client",
                         "httpx.AsyncClient"})
AIOHTTP_DEFAULT = frozenset({"aiohttp.ClientSession", "aiohttp.request"})
# Calls whose timeout falls back to socket.getdefaulttimeout(): None, unless the
# program calls socket.setdefaulttimeout(). Qualified name -> position of `timeout`.
SOCKET_DEFAULT: dict[str, int] = {
    "urllib.request.urlopen": 2,
    "socket.create_connection": 1,
    "http.client.HTTPConnection": 2,
    "http.client.HTTPSConnection": 2,
}
FIX_TIMEOUT = "30"


def client_class(expr: cst.BaseExpression | None, qualify) -> str | None:
    """The client class `expr` constructs (`requests.Session()`, `await` of one), if any."""
    if isinstance(expr, cst.Await):
        expr = expr.expression
    if isinstance(expr, cst.Call):
        name = qualify(expr.func) or ""
        return name if name in CLIENT_CLASSES else None
    return None


class ClientBindings:
    """Which names a file binds to HTTP client objects.

    `s = requests.Session()`, `with httpx.Client() as client`, `session:
    requests.Session` (a parameter or an annotated assignment): plain names count in
    their own function (or the module); attribute targets (`self.session = ...`) count
    for the whole file. A name bound to a client anywhere in its scope counts as one.
    """

    def __init__(self, module: cst.Module, qualify) -> None:
        self.qualify = qualify
        self.scopes: dict[int, dict[str, str]] = {}
        self.attributes: dict[str, str] = {}
        self.bound_to: dict[int, str] = {}  # id(constructor call) -> the name it is bound to
        self._build(module)

    def _annotated(self, annotation: cst.Annotation | None) -> str | None:
        if annotation is None:
            return None
        for node in walk.iter_nodes(annotation.annotation):
            if isinstance(node, (cst.Name, cst.Attribute)):
                name = self.qualify(node) or ""
                if name in CLIENT_CLASSES:
                    return name
        return None

    def _build(self, module: cst.Module) -> None:
        stack: list[tuple[cst.CSTNode, int]] = [(module, id(module))]
        self.scopes[id(module)] = {}
        while stack:
            node, scope = stack.pop()
            table = self.scopes[scope]
            node_type = type(node)  # exact types: isinstance on libcst's classes is slow
            if node_type is cst.FunctionDef:
                scope = id(node)
                table = self.scopes.setdefault(scope, {})
                params = node.params
                for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                    kind = self._annotated(param.annotation)
                    if kind:
                        table[param.name.value] = kind
            elif node_type is cst.Assign:
                kind = client_class(node.value, self.qualify)
                for target in node.targets:
                    self._bind(target.target, kind, table, node.value)
            elif node_type is cst.AnnAssign:
                self._bind(node.target, client_class(node.value, self.qualify) or self._annotated(node.annotation), table,
                           node.value)
            elif node_type is cst.WithItem and node.asname is not None:
                self._bind(node.asname.name, client_class(node.item, self.qualify), table, node.item)
            if isinstance(node, walk.STATEMENT_HOLDERS):  # bindings are statements (and `with` items)
                stack.extend((child, scope) for child in walk.children(node))

    def _bind(self, target: cst.BaseExpression, kind: str | None, table: dict[str, str],
              value: cst.BaseExpression | None) -> None:
        name = dotted(target)
        if name is None or not kind:
            return
        (self.attributes if "." in name else table).setdefault(name, kind)
        if isinstance(value, cst.Await):
            value = value.expression
        if value is not None:
            self.bound_to[id(value)] = name

    def kind_of(self, receiver: cst.BaseExpression, functions: list[cst.FunctionDef], module: cst.Module) -> str | None:
        """The client class `receiver` is bound to, looked up from the innermost function out."""
        direct = client_class(receiver, self.qualify)
        if direct is not None:
            return direct
        name = dotted(receiver)
        if name is None:
            return None
        if "." in name:
            return self.attributes.get(name)
        for scope in (*reversed(functions), module):
            found = self.scopes.get(id(scope), {}).get(name)
            if found:
                return found
        return None


class ClientScopes:
    """Mixin for rules (listed before `Rule`): the enclosing functions while visiting
    (`self._functions`), and the file's `ClientBindings`, built when first needed."""

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._functions: list[cst.FunctionDef] = []
        self._bindings: ClientBindings | None = None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._functions.pop()

    def _clients(self) -> ClientBindings:
        if self._bindings is None:
            self._bindings = ClientBindings(self.ctx.module, self.ctx.qualify)
        return self._bindings

    def _client_kind(self, receiver: cst.BaseExpression) -> str | None:
        """The client class `receiver` is bound to where the visit stands."""
        return self._clients().kind_of(receiver, self._functions, self.ctx.module)


def module_constants(module: cst.Module,
                     excluded: set[str] | frozenset[str] = frozenset()) -> dict[str, cst.BaseExpression]:
    """Module-level names assigned exactly once (`=` or an annotated assignment), but
    the `excluded` ones, and their values."""
    seen: dict[str, list[cst.BaseExpression]] = {}
    for name, value in name_assignments(module.body):
        seen.setdefault(name, []).append(value)
    return {k: v[0] for k, v in seen.items() if len(v) == 1 and k not in excluded}


# -- the imported-module test (CPython's tree, `mcplint.outline`) -------------------------
# Modules whose calls the rule knows (by the first name of the qualified callee).
_NETWORK_ROOTS = frozenset({"requests", "httpx", "aiohttp", "urllib", "socket", "http"})
_KNOWN_CALLS = REQUESTS_CALLS | HTTPX_CALLS | AIOHTTP_DEFAULT | SOCKET_DEFAULT.keys()
_NONE_REPORTED = REQUESTS_CALLS | HTTPX_CALLS


def _is_none(node: ast.AST | None) -> bool:
    return type(node) is ast.Constant and node.value is None


def _reports_missing(name: str, positional: int) -> bool:
    """Is a call of `name` with no `timeout=` (nor `*`/`**` arguments) and `positional`
    positional arguments reported? Not for httpx (its default applies), nor where the
    timeout is passed positionally (`urlopen(url, data, 10)`)."""
    return name not in HTTPX_CALLS and (name not in SOCKET_DEFAULT or positional <= SOCKET_DEFAULT[name])


def _constructs_session(expr: ast.AST | None, targets: dict[str, set[str]]) -> bool:
    """Can `client_class` take `expr` for a requests Session (CPython's tree)?"""
    if type(expr) is ast.Await:
        expr = expr.value
    return type(expr) is ast.Call and bool(ast_qualified(expr.func, targets) & REQUESTS_SESSIONS)


def _session_names(outline, targets: dict[str, set[str]]) -> set[str]:
    """The names (`s`, `self.session`) `ClientBindings` may bind to a requests Session,
    in any scope: assigned a Session, annotated as one, `with requests.Session() as s`."""
    def annotated(annotation: ast.AST | None) -> bool:
        return annotation is not None and any(type(n) in (ast.Name, ast.Attribute)
                                              and ast_qualified(n, targets) & REQUESTS_SESSIONS
                                              for n in nodes_under(annotation))

    bound = [t for node in outline.of(ast.Assign) if _constructs_session(node.value, targets) for t in node.targets]
    bound += [node.target for node in outline.of(ast.AnnAssign)
              if _constructs_session(node.value, targets) or annotated(node.annotation)]
    bound += [item.optional_vars for kind in (ast.With, ast.AsyncWith) for node in outline.of(kind)
              for item in node.items if _constructs_session(item.context_expr, targets)]
    names = {name for name in map(ast_dotted, bound) if name}
    names.update(arg.arg for kind in (ast.FunctionDef, ast.AsyncFunctionDef) for node in outline.of(kind)
                 for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)
                 if annotated(arg.annotation))
    return names


def may_call_without_timeout(outline) -> bool:
    """Can the rule report in this file (CPython's tree, `mcplint.outline`)? Only at a call
    the file's imports of requests, httpx, aiohttp, urllib, socket or http.client name (a
    name bound by no import qualifies to nothing there), or at a `.get(...)`-like call on
    something the file may bind to a requests Session, and only where the call's own
    arguments leave the check open: no `timeout=` (and no `*args`/`**kwargs`), or
    `timeout=None` (`httpx.Timeout(None)`). The file-wide facts that silence the rule
    (`socket.setdefaulttimeout()`, mounted adapters, aiohttp requests that pass their
    own timeout) are not read."""
    targets = {name: found for name, found in import_targets(outline).items()
               if any(t.split(".", 1)[0] in _NETWORK_ROOTS for t in found)}
    if not targets:
        return False
    # A name bound to a requests Session needs `requests.Session`/`session`/
    # `sessions.Session` written (as a constructor or an annotation).
    sessions = any(t in REQUESTS_SESSIONS for found in targets.values() for t in found) or any(
        node.attr in ("Session", "session") and ast_qualified(node, targets) & REQUESTS_SESSIONS
        for node in outline.of(ast.Attribute))
    session_names: set[str] | None = None
    for call in outline.of(ast.Call):
        func = call.func
        written = ast_dotted(func)
        known = ast_qualified(func, targets) & _KNOWN_CALLS if written and written.split(".", 1)[0] in targets else set()
        session = False
        if sessions and type(func) is ast.Attribute and func.attr in SESSION_METHODS:
            if _constructs_session(func.value, targets):
                session = True
            else:
                if session_names is None:
                    session_names = _session_names(outline, targets)
                session = ast_dotted(func.value) in session_names
        if not (known or session):
            continue
        timeout = ast_keyword(call, "timeout")
        star = any(type(a) is ast.Starred for a in call.args) or any(k.arg is None for k in call.keywords)
        if timeout is None:
            if not star and (session or any(_reports_missing(name, len(call.args)) for name in known)):
                return True
        elif _is_none(timeout):  # requests and httpx report `timeout=None`
            if session or known & _NONE_REPORTED:
                return True
        elif type(timeout) is ast.Call and known & HTTPX_CALLS and len(timeout.args) + len(timeout.keywords) == 1 \
                and "httpx.Timeout" in ast_qualified(timeout.func, targets) \
                and _is_none(timeout.args[0] if timeout.args else timeout.keywords[0].value):
            return True  # `httpx.Timeout(None)`
    return False


def _has_star(call: cst.Call) -> bool:
    return any(arg.star for arg in call.args)


class OutboundCallWithoutTimeout(ClientScopes, Rule):
    """An outbound network call that can wait for ever: no timeout, or one switched off.

    ## What it does
    In MCP servers and the project modules they import, reports:

    - `requests.get/post/put/delete/head/patch/options/request(...)` and the same
      methods of a `requests.Session` with no `timeout=` (requests has no default
      timeout at all);
    - `urllib.request.urlopen`, `socket.create_connection` and
      `http.client.HTTP(S)Connection` with no timeout, unless the module calls
      `socket.setdefaulttimeout()`;
    - `aiohttp.ClientSession()` and `aiohttp.request()` with no `timeout=` (low
      severity: aiohttp's default gives a request five minutes), unless the session's
      requests pass their own;
    - `timeout=None` given to requests or httpx, which switches the limit off.

    httpx clients and functions are fine without `timeout=`: httpx applies five
    seconds by default. Calls with `**kwargs` are not reported (the timeout may be in
    them), nor is test code.

    The fix adds `timeout=30` to requests calls and `urlopen`, which only stops
    calls that would otherwise hang.

    ## Why is this bad?
    A tool call that waits on a server that accepted the connection and then went
    quiet never returns: the agent's request hangs, and each such call pins a worker,
    a connection and memory of the MCP server. Whoever can make a tool fetch from a
    slow host (a URL parameter, a prompt-injected link) can exhaust the server this
    way.

    ## Example
    ```python
    import requests
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("weather")

    @mcp.tool()
    def forecast(city: str) -> str:
        response = requests.get("https://api.weather.example/v1/forecast", params={"q": city})
        return response.text
    ```

    ## Use instead
    Give every outbound call a timeout (seconds; a `(connect, read)` pair for requests).
    ```python
    import requests
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("weather")

    @mcp.tool()
    def forecast(city: str) -> str:
        response = requests.get("https://api.weather.example/v1/forecast", params={"q": city}, timeout=10)
        return response.text
    ```

    ## References
    - [CWE-1088: Synchronous Access of Remote Resource without Timeout](https://cwe.mitre.org/data/definitions/1088.html)
    - [requests: Timeouts](https://requests.readthedocs.io/en/latest/user/advanced/#timeouts)
    - [HTTPX: Timeouts (5 seconds by default)](https://www.python-httpx.org/advanced/timeouts/)
    - [aiohttp: Timeouts](https://docs.aiohttp.org/en/stable/client_quickstart.html#timeouts)
    """

    code = "MCP801"
    name = "outbound-call-without-timeout"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 1088
    checklist = "MCP-C07"
    in_imported_modules = containing(b"requests", b"httpx", b"aiohttp", b"urllib", b"socket", b"HTTPConnection", b"HTTPSConnection")
    imported_if = staticmethod(may_call_without_timeout)  # a client library's call whose own arguments set no timeout
    message = "`{call}` {problem}{detail}"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._skip = is_test_path(ctx.path)
        # a name can be bound to a client object only in a file that imports a client library
        self._may_bind_clients = ctx.imports.imports_package(("requests", "httpx", "aiohttp"))
        self._default_timeout: bool | None = None
        self._mounted: set[str] | None = None

    def visit_Call(self, node: cst.Call) -> None:
        if self._skip:
            return
        qualified = self.ctx.qualify(node.func) or ""
        if "." in qualified and not self.ctx.imports.is_imported(dotted(node.func) or ""):
            qualified = ""  # `requests.get("cpu")` on a local dict named `requests`: no import, no library
        if qualified in REQUESTS_CALLS:
            self._requests(node, qualified)
        elif qualified in HTTPX_CALLS:
            self._explicit_none(node, qualified, "httpx")
        elif qualified in SOCKET_DEFAULT:
            self._socket_default(node, qualified)
        elif qualified in AIOHTTP_DEFAULT:
            self._aiohttp(node, qualified)
        elif self._may_bind_clients and isinstance(node.func, cst.Attribute) and node.func.attr.value in SESSION_METHODS:
            if (self.ctx.qualify(node.func.value) or "") in ("requests", "httpx", "aiohttp"):
                return
            kind = self._client_kind(node.func.value)
            if kind in REQUESTS_SESSIONS:
                shown = f"{self.ctx.code_for(node.func.value)}.{node.func.attr.value}"
                self._requests(node, shown, session=True)

    # -- per library ------------------------------------------------------------------
    def _requests(self, node: cst.Call, shown: str, session: bool = False) -> None:
        timeout = argument(node, None, "timeout")
        if timeout is not None:
            if is_none(timeout):
                self.report(node, call=shown, problem="has `timeout=None`",
                            detail=" (no limit: requests waits for ever)", confidence=Confidence.MEDIUM)
            return
        if _has_star(node):
            return
        if session and isinstance(node.func, cst.Attribute) and dotted(node.func.value) in self._adapter_hosts():
            return  # a mounted adapter may set the timeout (`TimeoutHTTPAdapter`)
        self.report(
            node, call=shown, problem="has no `timeout=`",
            detail=" (requests Sessions have no default timeout)" if session else " (requests has no default timeout)",
            confidence=Confidence.MEDIUM if session else Confidence.HIGH,
            fix=replace(node, add_keyword(node, "timeout", FIX_TIMEOUT), f"add `timeout={FIX_TIMEOUT}`"),
        )

    def _explicit_none(self, node: cst.Call, shown: str, library: str) -> None:
        timeout = argument(node, None, "timeout")
        if is_none(timeout) or (isinstance(timeout, cst.Call) and (self.ctx.qualify(timeout.func) or "") == "httpx.Timeout"
                                 and is_none(argument(timeout, 0, "timeout")) and len(timeout.args) == 1):
            self.report(node, call=shown, problem="has `timeout=None`",
                        detail=f" (switches off {library}'s 5 s default)", confidence=Confidence.MEDIUM)

    def _socket_default(self, node: cst.Call, qualified: str) -> None:
        if argument(node, SOCKET_DEFAULT[qualified], "timeout") is not None or _has_star(node):
            return
        if self._sets_default_timeout():
            return
        fix = None
        if qualified == "urllib.request.urlopen":
            fix = replace(node, add_keyword(node, "timeout", FIX_TIMEOUT), f"add `timeout={FIX_TIMEOUT}`")
        self.report(node, call=qualified, problem="has no timeout", detail=" (the socket default is none)", fix=fix)

    def _aiohttp(self, node: cst.Call, qualified: str) -> None:
        if argument(node, None, "timeout") is not None or _has_star(node):
            return
        if qualified == "aiohttp.ClientSession" and self._session_requests_timed(node):
            return
        shown = f"{qualified}()" if qualified == "aiohttp.ClientSession" else qualified
        self.report(node, call=shown, problem="has no `timeout=`",
                    detail=" (aiohttp's default lets a request run for 5 minutes)", severity=Severity.LOW)

    # -- file facts -------------------------------------------------------------------
    def _sets_default_timeout(self) -> bool:
        if self._default_timeout is None:
            self._default_timeout = any(
                isinstance(n, cst.Call) and (self.ctx.qualify(n.func) or "") == "socket.setdefaulttimeout"
                for n in walk.iter_nodes(self.ctx.module)
            )
        return self._default_timeout

    def _adapter_hosts(self) -> set[str]:
        """Sessions of this file that `mount()` an adapter."""
        if self._mounted is None:
            self._mounted = {
                dotted(n.func.value) or "" for n in walk.iter_nodes(self.ctx.module)
                if isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute) and n.func.attr.value == "mount"
            }
        return self._mounted

    def _session_requests_timed(self, node: cst.Call) -> bool:
        """Do the requests of the session `node` builds pass their own `timeout=`
        (`session.get(url, timeout=ClientTimeout(total=10))`)? Then its default does not apply."""
        name = self._clients().bound_to.get(id(node))
        return name is not None and any(
            isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute) and dotted(n.func.value) == name
            and n.func.attr.value in (*SESSION_METHODS, "ws_connect") and "timeout" in call_args(n)[1]
            for n in walk.iter_nodes(self.ctx.module)
        )
