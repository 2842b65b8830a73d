import re

import libcst as cst

from mcplint.mcp import walk
from mcplint.finding import Confidence, Severity
from mcplint.mcp.builder import argument, name_assignments, string_value
from mcplint.mcp.model import Handler
from mcplint.mcp.names import dotted
from mcplint.mcp.taint import Taint
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule
from mcplint.rules.mcp202_tool_path_traversal import Parents

# Module-level functions that send a request: qualified name -> (position, keyword) of the URL.
HTTP_CALLS: dict[str, tuple[int, str]] = {
    **{f"requests.{m}": (0, "url") for m in ("get", "post", "put", "delete", "head", "patch", "options")},
    "requests.request": (1, "url"),
    **{f"httpx.{m}": (0, "url") for m in ("get", "post", "put", "delete", "head", "patch", "options")},
    "httpx.request": (1, "url"),
    "httpx.stream": (1, "url"),
    "urllib.request.urlopen": (0, "url"),
    "urllib.request.Request": (0, "url"),
    "urllib.request.urlretrieve": (0, "url"),
    "aiohttp.request": (1, "url"),
    "urllib3.request": (1, "url"),
}
# Session/client objects and the methods that send a request.
CLIENT_CLASSES = frozenset(
    {"requests.Session", "requests.session", "requests.sessions.Session", "httpx.Client", "httpx.AsyncClient",
     "aiohttp.ClientSession", "urllib3.PoolManager", "urllib3.ProxyManager"}
)
CLIENT_METHODS: dict[str, tuple[int, str]] = {
    **{m: (0, "url") for m in ("get", "post", "put", "delete", "head", "patch", "options", "ws_connect")},
    "request": (1, "url"),
    "stream": (1, "url"),
    "urlopen": (1, "url"),
}
# Receivers named like an HTTP client even when mcplint cannot see where they were made
# (`ctx.request_context.lifespan_context.http_client`). Plain `client` is too common
# (redis, boto3) to count.
CLIENT_NAME = lazy_compile(
    r"^_*(?:https?|https?_?client|httpx_?client|async_?client|https?_?session|session|sess|aiohttp_session"
    r"|client_session|requests_session)$",
    re.IGNORECASE,
)

# What a URL check must compare against to be an allow-list.
ALLOW_NAME = lazy_compile(r"allow|whitelist|permit|trusted", re.IGNORECASE)
HOST_ATTRS = frozenset({"hostname", "netloc", "host"})
IP_CHECKS = frozenset({"is_private", "is_loopback", "is_link_local", "is_reserved", "is_global", "is_multicast"})
VALIDATOR_NAME = lazy_compile(r"safe|valid|allow|permit|trusted|whitelist", re.IGNORECASE)

# `re.match(r"^https://docs\.python\.org/", url)`: an anchored pattern that fixes the host.
REGEX_MATCHERS = frozenset({"re.match", "re.fullmatch"})
_ANCHORED_HOST = lazy_compile(r"^\^?(?:https\??|\(https\?\)|https?)://(?:[\w-]|\\\.)+(?::\d+)?/")
_HOST_URL = lazy_compile(r"^[a-zA-Z][\w+.-]*://[^/?#]+[/?#]")
_SCHEME_START = lazy_compile(r"^[a-zA-Z][\w+.-]*:/?$")  # `https:`, `http:/`: the host is still to come
FULL, PARTIAL = 2, 1
_UNKNOWN = "\x00"  # an untainted, unresolved expression in a URL's head


_FUNCTIONS = frozenset({cst.FunctionDef, cst.Lambda})
_DEFINITIONS = frozenset({cst.FunctionDef, cst.ClassDef})


def _walk(node: cst.CSTNode) -> list[cst.CSTNode]:
    """`node` and everything under it in source order, not descending into nested functions."""
    return [n for n in walk.pruned(node, _FUNCTIONS) if n is node or type(n) not in _FUNCTIONS]


def _mentions_host(node: cst.CSTNode) -> bool:
    return any(isinstance(n, cst.Attribute) and n.attr.value in HOST_ATTRS for n in _walk(node))


def _has_exit(block: cst.CSTNode) -> bool:
    return any(isinstance(n, (cst.Return, cst.Raise)) for n in _walk(block))


def _contains(block: cst.CSTNode, target: cst.CSTNode) -> bool:
    return any(n is target for n in _walk(block))


class _Check:
    """One URL check: what it checks, how strong it is, whether it must be about the
    host (`x in ALLOWED` is an allow-list only if `x` is a host), the `if` acting on it."""

    def __init__(self, checked: cst.BaseExpression, level: int, gate: cst.If | None, needs_host: bool) -> None:
        self.checked, self.level, self.gate, self.needs_host = checked, level, gate, needs_host


class ToolSsrf(Rule):
    """A tool parameter chooses the URL the server requests (server-side request forgery).

    ## What it does
    Reports HTTP requests (`requests`, `httpx`, `aiohttp`, `urllib.request`,
    `urllib3`, and their session/client objects) whose URL derives from an untrusted
    parameter of a tool, resource template or prompt. Confidence is high when the
    parameter is the whole URL or sets its scheme or host (including
    `f"{BASE}{x}"` with a base that has no path, where `x = "@evil.example"` moves the
    host); medium when a fixed `https://host/` prefix leaves only the path to the
    parameter; low when only a query value is tainted. The URL is the last string built
    before the request, in the tool or in the helpers it passes the value to
    (`url = f"{API}/alerts/{state}"`, then `make_request(url)`).

    Stays silent when, before the request and on the same branch, the handler checks
    the host against an allow-list in an `if` that returns or raises (or wraps the
    request) or in an `assert`: `urlparse(url).hostname in ALLOWED_HOSTS` (a literal
    collection, or a name such as `ALLOWED_HOSTS`), `host == "api.example.com"`,
    `host.endswith(".example.com")`, or `url.startswith("https://api.example.com/")`;
    also when the URL goes through a function of the same file that makes such a
    check, and when the whole URL is checked against an allow-list of URLs
    (`if url not in MIRRORS: raise`), in the tool or in a function on the way.
    Private-address checks (`ip.is_private`) and validators defined in other
    modules lower the confidence to medium: redirects and DNS rebinding get past a
    check of the address at validation time. A check stored in a variable counts
    where the `if` tests that name (`allowed = urlparse(url).hostname in ALLOWED_HOSTS`,
    then `if not allowed: raise`) and the name is bound once.

    ## Why is this bad?
    The server makes the request with its own network position and credentials. An
    agent steered by a prompt injection can make it fetch the cloud metadata service
    (`http://169.254.169.254/`), internal admin panels, or `localhost` services, and
    return what it read to the model, or send data to an attacker's host. A
    "fetch any URL" tool is this exposure by design, so it needs a destination policy.

    ## Example
    ```python
    import httpx
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("web")

    @mcp.tool()
    async def fetch_page(url: str) -> str:
        async with httpx.AsyncClient() as client:
            return (await client.get(url)).text
    ```

    ## Use instead
    Allow only the hosts the tool is meant for.
    ```python
    from urllib.parse import urlparse

    import httpx
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("web")
    ALLOWED_HOSTS = {"docs.python.org", "peps.python.org"}

    @mcp.tool()
    async def fetch_page(url: str) -> str:
        parsed = urlparse(url)
        if parsed.scheme != "https" or parsed.hostname not in ALLOWED_HOSTS:
            raise ValueError("host not allowed")
        async with httpx.AsyncClient(follow_redirects=False) as client:
            return (await client.get(url)).text
    ```

    ## References
    - [CWE-918: Server-Side Request Forgery](https://cwe.mitre.org/data/definitions/918.html)
    - [OWASP SSRF Prevention Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/Server_Side_Request_Forgery_Prevention_Cheat_Sheet.html)
    """

    code = "MCP203"
    name = "tool-ssrf"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = 918
    checklist = "MCP-C03"
    allow_list_sanitizes = True
    in_imported_modules = False  # each report carries tool input
    message = "{handler} parameter `{param}` {part} the URL requested by `{sink}`{detail}"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._scopes: list[cst.FunctionDef] = []
        self._scope_bindings: dict[int, dict[str, bool]] = {}
        self._constants: dict[str, cst.BaseExpression] | None = None
        self._checks: dict[int, list[tuple[str, _Check]]] = {}
        self._function_levels: dict[str, int] = {}
        self._functions: dict[str, list[cst.FunctionDef]] | None = None
        self._parent_maps: dict[int, Parents] = {}

    # -- sinks -------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        handler = self.ctx.handler
        if handler is None:
            return
        found = self._url_argument(node)
        if found is None:
            return
        url, sink = found
        taint = self.ctx.taint(url)
        if taint is None or self._already_reported(url, taint, sink):
            return
        level, why = self._guard(handler, taint.param, node)
        if level == FULL:
            return
        part, confidence = self._url_part(url, taint)
        if level == PARTIAL:
            confidence = min(confidence, Confidence.MEDIUM)
        self.report(
            node, taint=taint, confidence=confidence, param=taint.param, part=part, sink=sink,
            detail=f" ({why})" if why else "",
        )

    def _url_argument(self, node: cst.Call) -> tuple[cst.BaseExpression, str] | None:
        qualified = self.ctx.qualify(node.func) or ""
        if qualified in HTTP_CALLS:
            position, keyword = HTTP_CALLS[qualified]
            url = argument(node, position, keyword)
            return (url, qualified) if url is not None else None
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in CLIENT_METHODS:
            return None
        if not self._is_client(func.value):
            return None
        position, keyword = CLIENT_METHODS[func.attr.value]
        url = argument(node, position, keyword)
        return (url, f"{self.ctx.code_for(func.value)}.{func.attr.value}") if url is not None else None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scopes.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scopes.pop()

    def _already_reported(self, url: cst.BaseExpression, taint: Taint, sink: str) -> bool:
        """`urlopen(Request(url))`: reported once, where the Request is built.

        Also a URL read from the response of an earlier request (`links =
        requests.get(API, params={"q": q}).json()`): what the API returned is not the
        parameter, so it is not this rule's finding.
        """
        for node in (url, *(step.node for step in taint.steps)):
            if not isinstance(node, cst.Call):
                continue
            if sink == "urllib.request.urlopen" and self.ctx.qualify(node.func) == "urllib.request.Request":
                return True
            if node is not url and self._url_argument(node) is not None:
                return True
        return False

    def _is_client(self, receiver: cst.BaseExpression) -> bool:
        if isinstance(receiver, cst.Call):
            return (self.ctx.qualify(receiver.func) or "") in CLIENT_CLASSES
        name = dotted(receiver)
        if name is None:
            return False
        if (self.ctx.qualify(receiver) or "") in ("requests", "httpx", "aiohttp", "urllib3"):
            return False  # the module itself: HTTP_CALLS handles it
        if "." in name:
            bound = self._bindings(self.ctx.module).get(name)
        else:
            # The innermost function that binds the name decides; then the module.
            scopes = [*reversed(self._scopes), self.ctx.module]
            bound = next((b[name] for scope in scopes if name in (b := self._bindings(scope))), None)
        if bound is not None:
            return bound
        return CLIENT_NAME.match(name.rsplit(".", 1)[-1]) is not None

    def _bindings(self, scope: cst.CSTNode) -> dict[str, bool]:
        """Names bound in one scope -> whether to a client object.

        Plain names count in their own function (or module); attribute targets such as
        `self.session` are recorded in the module's table, for the whole file.
        """
        key = id(scope)
        if key in self._scope_bindings:
            return self._scope_bindings[key]
        table: dict[str, bool] = {}
        self._scope_bindings[key] = table
        module_table = table if isinstance(scope, cst.Module) else self._bindings(self.ctx.module)
        qualify = self.ctx.qualify

        def is_client(expr: cst.BaseExpression | None) -> bool:
            if isinstance(expr, cst.Await):
                expr = expr.expression
            return isinstance(expr, cst.Call) and (qualify(expr.func) or "") in CLIENT_CLASSES

        def bind(target: cst.BaseExpression, client: bool) -> None:
            name = dotted(target)
            if name is None:
                return
            if "." in name:
                module_table[name] = module_table.get(name, False) or client
            else:
                table[name] = table.get(name, False) or client

        def annotated(annotation: cst.Annotation | None) -> bool:
            """`client: httpx.AsyncClient`, `session: aiohttp.ClientSession | None`."""
            return annotation is not None and any(
                isinstance(n, (cst.Name, cst.Attribute)) and (qualify(n) or "") in CLIENT_CLASSES
                for n in _walk(annotation.annotation)
            )

        if isinstance(scope, cst.FunctionDef):
            params = scope.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                table[param.name.value] = annotated(param.annotation)
            nodes = walk.pruned(scope.body, _DEFINITIONS)
        else:
            nodes = walk.pruned(scope, (cst.FunctionDef,))
            # and attribute targets bound to a client anywhere (`self.session = ...` in a method)
            for node in walk.iter_nodes(scope):
                if type(node) is cst.Assign and is_client(node.value):
                    for t in node.targets:
                        if "." in (dotted(t.target) or ""):
                            bind(t.target, True)
        for node in nodes:
            kind = type(node)
            if kind is cst.Assign:
                for t in node.targets:
                    bind(t.target, is_client(node.value))
            elif kind is cst.AnnAssign:
                bind(node.target, is_client(node.value) or annotated(node.annotation))
            elif kind is cst.WithItem and node.asname is not None:
                bind(node.asname.name, is_client(node.item))
        return table

    # -- which part of the URL is tainted ---------------------------------------------
    def _url_part(self, url: cst.BaseExpression, taint: Taint) -> tuple[str, Confidence]:
        """How to say which part of the URL is tainted, and the confidence that goes with it."""
        return self._shape((*(step.node for step in taint.steps), url)) or ("is", Confidence.HIGH)

    def through_call(self, taint: Taint) -> tuple[dict[str, str], Confidence] | None:
        """A URL the handler builds and passes to a helper that requests it: with a fixed
        `https://host/` prefix the parameter sets only its path (or a query value)."""
        shape = self._shape(step.node for step in taint.steps)
        return ({"part": shape[0]}, shape[1]) if shape is not None else None

    def _shape(self, nodes) -> tuple[str, Confidence] | None:
        """Which part of the URL the tainted value sets, from the string-building nodes
        among `nodes` (in flow order), or None if none builds one. The last one builds
        the URL: it decides, unless the value starts it (`f"{url}?page=2"`), when the
        one before that built `url` does (`f"{API}/items/{x}"`): pieces built earlier
        (`f"{{{name}}}"` for a template's placeholder) do not."""
        for node in reversed(tuple(nodes)):
            head = self._fixed_base(node) if isinstance(node, cst.Call) else None
            if head is None:
                head = self._head(node)
            if not head:
                continue
            if not fixes_host(head):
                return "sets the host of", Confidence.HIGH
            if "?" in head.split("://", 1)[-1]:
                return "sets a query value of", Confidence.LOW
            return "sets the path of", Confidence.MEDIUM
        return None

    def _head(self, node: cst.CSTNode) -> str | None:
        """The URL text before the first tainted piece of a string-building expression."""
        pieces: list[cst.CSTNode | str]
        if isinstance(node, cst.FormattedString):
            pieces = [p.value if isinstance(p, cst.FormattedStringText) else p.expression for p in node.parts]
        elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            pieces = _flatten_add(node)
        elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
            return self._template_head(node.left, "%")
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
            return self._template_head(node.func.value, "{")
        else:
            return None
        head = ""
        for piece in pieces:
            if isinstance(piece, str):
                head += piece
                continue
            if self.ctx.taint(piece) is not None:
                return head
            text = self._constant_text(piece)
            head += text if text is not None else _UNKNOWN
        return None  # nothing tainted here: the taint entered another way

    def _fixed_base(self, call: cst.Call) -> str | None:
        """`add_query(BASE_URL, x)`: a helper given a fixed-host URL first and the input after.

        Returns the base URL's text. `urljoin(base, x)` is the exception: an absolute
        `x` replaces the base.
        """
        if (self.ctx.qualify(call.func) or "").endswith("urljoin") or self._head(call) is not None:
            return None
        positional = [a.value for a in call.args if not a.star and a.keyword is None]
        if len(positional) < 2 or not any(self.ctx.taint(a) for a in positional[1:]):
            return None
        text = self._url_text(positional[0])
        return text if text is not None and "://" in text and fixes_host(text) else None

    def _url_text(self, expr: cst.BaseExpression, depth: int = 0) -> str | None:
        """The text of an untainted URL expression, unknown parts as placeholders.

        A local name is read from its first assignment in the handler, so that
        `url = f"{BASE}?s={sid}"; url = add_query(url, x)` still sees the base.
        """
        literal = self._constant_text(expr)
        if literal is not None:
            return literal
        if isinstance(expr, cst.FormattedString):
            parts = [p.value if isinstance(p, cst.FormattedStringText) else p.expression for p in expr.parts]
        elif isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            parts = _flatten_add(expr)
        elif isinstance(expr, cst.Name) and depth < 3 and self.ctx.handler is not None:
            value = next((n.value for n in _walk(self.ctx.handler.function.body) if isinstance(n, cst.Assign)
                          and any(dotted(t.target) == expr.value for t in n.targets)), None)
            return self._url_text(value, depth + 1) if value is not None else None
        else:
            return None
        text = ""
        for part in parts:
            if isinstance(part, str):
                text += part
            else:
                known = self._constant_text(part)
                text += known if known is not None else _UNKNOWN
        return text

    def _template_head(self, template: cst.BaseExpression, marker: str) -> str:
        if self.ctx.taint(template) is not None:
            return ""  # the template itself is chosen by the caller
        text = self._constant_text(template)
        return text.split(marker, 1)[0] if text is not None else _UNKNOWN

    def _constant_text(self, expr: cst.CSTNode) -> str | None:
        literal = string_value(expr)
        if literal is not None:
            return literal
        if isinstance(expr, cst.Name):
            value = self._module_constants().get(expr.value)
            return string_value(value) if value is not None else None
        return None

    def _module_constants(self) -> dict[str, cst.BaseExpression]:
        if self._constants is None:
            self._constants = dict(name_assignments(self.ctx.module.body))
        return self._constants

    # -- guards --------------------------------------------------------------------------
    def _guard(self, handler: Handler, param: str, sink: cst.Call) -> tuple[int, str]:
        parents = self._parent_maps.setdefault(id(handler.function), Parents(handler.function))
        best = (0, "")
        for checked_param, check in self._handler_checks(handler):
            if checked_param != param or check.level <= best[0] or not parents.precedes(check.checked, sink):
                continue
            if check.gate is not None and not (_has_exit(check.gate.body) or _contains(check.gate, sink)):
                continue
            why = "" if check.level == FULL else "a private-address check is defeated by redirects and DNS rebinding"
            best = (check.level, why)
        if best[0] == FULL:
            return best
        for call in _calls(handler.function.body):
            name = dotted(call.func)
            if name is None or call is sink:
                continue
            taint = next((t for a in call.args if (t := self.ctx.taint(a.value, handler))), None)
            if taint is None or taint.param != param or not parents.precedes(call, sink):
                continue
            short = name.rsplit(".", 1)[-1]
            level = self._function_level(short)
            if level == FULL:
                return FULL, ""
            if level == PARTIAL and best[0] < PARTIAL:
                best = (PARTIAL, f"`{short}()` checks addresses, which redirects and DNS rebinding get past")
            elif level is None and best[0] < PARTIAL and VALIDATOR_NAME.search(short):
                best = (PARTIAL, f"checked by `{short}()`, which mcplint cannot see")
        return best

    def _handler_checks(self, handler: Handler) -> list[tuple[str, _Check]]:
        key = id(handler.function)
        if key not in self._checks:
            found = []
            for check in self._scan(handler.function.body):
                taint = self.ctx.taint(check.checked, handler)
                if taint is not None and (not check.needs_host or _mentions_host_in(check.checked, taint)):
                    found.append((taint.param, check))
            self._checks[key] = found
        return self._checks[key]

    def _scan(self, body: cst.CSTNode, anywhere: bool = False) -> list[_Check]:
        """Allow-list checks (FULL) and address checks (PARTIAL) in a function body.

        In a handler an allow-list check counts in an `if` or `assert` test; in a helper
        (`anywhere`) wherever it is, since helpers often `return host in ALLOWED`.
        """
        checks: list[_Check] = []
        gates: dict[int, cst.If | None] = {}
        # a check stored first (`allowed = host in ALLOWED_HOSTS`, then `if not allowed:`)
        # is the `if`'s, where the name is bound once
        bound: dict[str, list[cst.BaseExpression]] = {}
        for node in _walk(body):
            if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
                bound.setdefault(node.targets[0].target.value, []).append(node.value)
        for node in _walk(body):
            if isinstance(node, (cst.If, cst.Assert)):
                gate = node if isinstance(node, cst.If) else None
                for n in _walk(node.test):
                    gates[id(n)] = gate
                    values = bound.get(n.value, ()) if isinstance(n, cst.Name) else ()
                    if len(values) == 1:
                        for stored in _walk(values[0]):
                            gates.setdefault(id(stored), gate)
        for node in _walk(body):
            if isinstance(node, cst.Attribute) and node.attr.value in IP_CHECKS:
                checks.append(_Check(node.value, PARTIAL, None, needs_host=False))
            if not anywhere and id(node) not in gates:
                continue
            gate = gates.get(id(node))
            if isinstance(node, cst.Comparison):
                for target in node.comparisons:
                    if isinstance(target.operator, (cst.In, cst.NotIn)) and self._allow_list(target.comparator):
                        checks.append(_Check(node.left, FULL, gate, needs_host=True))
                    elif isinstance(target.operator, (cst.Equal, cst.NotEqual)) and self._host_constant(
                            target.comparator):
                        checks.append(_Check(node.left, FULL, gate, needs_host=True))
            elif isinstance(node, cst.Call) and (self.ctx.qualify(node.func) or "") in REGEX_MATCHERS:
                pattern = string_value(argument(node, 0, "pattern"))
                checked = argument(node, 1, "string")
                if pattern is not None and checked is not None and _ANCHORED_HOST.match(pattern):
                    checks.append(_Check(checked, FULL, gate, needs_host=False))
            elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                method = node.func.attr.value
                if method == "startswith":
                    prefix = argument(node, 0, "prefix")
                    if prefix is not None and self._allowed_prefix(prefix):
                        checks.append(_Check(node.func.value, FULL, gate, needs_host=False))
                elif method == "endswith":
                    suffix = string_value(argument(node, 0, "suffix"))
                    if suffix is not None and suffix.startswith(".") and suffix.count(".") >= 2:
                        checks.append(_Check(node.func.value, FULL, gate, needs_host=True))
        return checks

    def _allow_list(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, (cst.Set, cst.List, cst.Tuple)):
            return bool(expr.elements) and all(string_value(e.value) is not None for e in expr.elements)
        if isinstance(expr, cst.Call) and dotted(expr.func) in ("frozenset", "set", "tuple") and expr.args:
            return self._allow_list(expr.args[0].value)
        name = dotted(expr)
        if name is None:
            return False
        last = name.rsplit(".", 1)[-1]
        if ALLOW_NAME.search(last) or (last.isupper() and len(last) > 1):
            return True
        value = self._module_constants().get(name)
        return value is not None and self._allow_list(value)

    def _host_constant(self, expr: cst.BaseExpression) -> bool:
        literal = string_value(expr)
        if literal is not None:
            return "." in literal and "/" not in literal  # a host name, not a scheme
        name = dotted(expr)
        return name is not None and name.rsplit(".", 1)[-1].isupper()

    def _allowed_prefix(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.Tuple):
            return bool(expr.elements) and all(self._allowed_prefix(e.value) for e in expr.elements)
        literal = self._constant_text(expr)
        if literal is not None:
            return _HOST_URL.match(literal) is not None
        value = self._module_constants().get(dotted(expr) or "")
        if value is not None:
            return self._allowed_prefix(value)
        name = dotted(expr)
        return name is not None and ALLOW_NAME.search(name.rsplit(".", 1)[-1]) is not None

    def _function_level(self, name: str) -> int | None:
        """How a function of this file checks a URL: FULL, PARTIAL, 0; None if not defined here."""
        if self._functions is None:
            self._functions = {}
            for node in walk.iter_nodes(self.ctx.module):
                if type(node) is cst.FunctionDef:
                    self._functions.setdefault(node.name.value, []).append(node)
        if name not in self._functions:
            return None
        if name not in self._function_levels:
            level = 0
            for function in self._functions[name]:
                for check in self._scan(function.body, anywhere=True):
                    if not check.needs_host or _mentions_host(function.body):
                        level = max(level, check.level)
            self._function_levels[name] = level
        return self._function_levels[name]


def fixes_host(head: str) -> bool:
    """Whether a URL that starts with `head` has its scheme and host already fixed."""
    if not head:
        return False
    if "://" in head:
        return any(c in head.split("://", 1)[1] for c in "/?#")
    # `{BASE_URL}{path}`: an untainted base; `/v1/items/` + x: a path for a client's
    # base_url, and so is `items/` + x (but not `https:/` + x, a scheme still open, nor
    # `//` + x, a host still to come)
    if head.startswith("//"):  # a host, then what fixes it
        return any(c in head[2:] for c in "/?#")
    return head.startswith((_UNKNOWN, "/")) or ("/" in head and not _SCHEME_START.match(head))


def _mentions_host_in(checked: cst.BaseExpression, taint: Taint) -> bool:
    """Whether the checked value is the host: `urlparse(url).hostname` here or where it was assigned."""
    return _mentions_host(checked) or any(_mentions_host(step.node) for step in taint.steps[1:])


def _flatten_add(node: cst.BaseExpression) -> list[cst.CSTNode | str]:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return [*_flatten_add(node.left), *_flatten_add(node.right)]
    literal = string_value(node)
    return [literal] if literal is not None else [node]


def _calls(body: cst.CSTNode):
    return (n for n in _walk(body) if isinstance(n, cst.Call))

