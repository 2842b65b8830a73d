import ast
import ipaddress
import re

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk, walk
from mcplint.mcp.builder import argument, string_value
from mcplint.mcp.names import dotted
from mcplint.outline import ast_dotted, ast_string, import_targets
from mcplint.prefilter import Literals, Prefilter, lazy_compile
from mcplint.rule import Rule
from mcplint.files import is_test_path
from mcplint.rules.mcp801_outbound_call_without_timeout import HTTP_VERBS, ClientScopes, module_constants

# A report needs credentials besides the `http://` URL: in the URL (a password before `@`,
# a key, token, password or secret in the query string), or passed by the call (`auth=`,
# or headers, params, data or json whose keys match CREDENTIAL_HEADER or CREDENTIAL_FIELD).
# Each of them holds `@` or one of these words, as its source text does.
PREFILTER = Prefilter(lazy_compile(rb"[\"']http://", re.IGNORECASE), anchors=(b"\"http://", b"'http://"), lowercase=True,
                      requires=Literals(b"auth", b"cookie", b"token", b"key", b"secret", b"passw", b"@"))

# Module-level functions that send a request: qualified name -> (position, keyword) of the URL.
SEND_CALLS: dict[str, tuple[int, str]] = {
    **{f"{lib}.{m}": (0, "url") for lib in ("requests", "httpx") for m in HTTP_VERBS},
    "requests.request": (1, "url"),
    "httpx.request": (1, "url"),
    "httpx.stream": (1, "url"),
    "urllib.request.Request": (0, "url"),
    "aiohttp.request": (1, "url"),
}
# Client constructors: their `base_url=` with their own credentials.
BASE_URL_CLIENTS = frozenset({"httpx.Client", "httpx.AsyncClient", "aiohttp.ClientSession"})
CLIENT_METHODS: dict[str, tuple[int, str]] = {
    **{m: (0, "url") for m in HTTP_VERBS}, "request": (1, "url"), "stream": (1, "url"),
}
CLIENT_NAME = lazy_compile(r"^_*(?:https?_?client|httpx?_?client|async_?client|session|sess|http|client_session)$",
                         re.IGNORECASE)
CREDENTIAL_HEADER = lazy_compile(
    r"^(?:(?:proxy-)?authorization|cookie|private-token)$|api[-_]?key|auth[-_]?token|access[-_]?token|secret|password"
    r"|^x-[\w-]*token$", re.IGNORECASE)
CREDENTIAL_FIELD = lazy_compile(
    r"^(?:api[-_]?key|apikey|key|token|access[-_]?token|auth[-_]?token|auth|password|passwd|client[-_]?secret"
    r"|secret|private[-_]?token)$", re.IGNORECASE)
CREDENTIAL_QUERY = lazy_compile(
    r"[?&](?:api[-_]?key|apikey|key|token|access[-_]?token|auth[-_]?token|password|client[-_]?secret|secret)=",
    re.IGNORECASE)
# Names that only resolve inside a private network: docker-compose services, mDNS, k8s.
INTERNAL_SUFFIXES = (".local", ".internal", ".lan", ".home.arpa", ".svc", ".cluster.local", ".localhost", ".test",
                     ".invalid", ".example")
UNKNOWN = "\x00"
# What a call `_target` takes for a request may be made with: the libraries whose calls
# and clients it knows (first names of what a callee, constructor or annotation qualifies to).
_LIBRARIES = frozenset({"requests", "httpx", "aiohttp", "urllib", "urllib3"})


def may_send_over_http(outline) -> bool:
    """Can the rule report in this file (CPython's tree, `mcplint.outline`)? Only if a
    string starts with `http://` (every URL it reports does: its first part is such a
    literal, or a constant or default that is one) and a call `_target` takes for a
    request may be made: the file names one of `_LIBRARIES` (in an import, or written
    as the first name of an attribute) or calls a request method on something named
    like a client (`session.get(...)`)."""
    if not any((ast_string(node) or "")[:7].lower() == "http://" for node in outline.of(ast.Constant)):
        return False
    if any(t.split(".", 1)[0] in _LIBRARIES for found in import_targets(outline).values() for t in found):
        return True
    if any((ast_dotted(node) or "").split(".", 1)[0] in _LIBRARIES for node in outline.of(ast.Attribute)):
        return True
    return any(type(call.func) is ast.Attribute and call.func.attr in CLIENT_METHODS
               and CLIENT_NAME.match((ast_dotted(call.func.value) or "").rsplit(".", 1)[-1])
               for call in outline.of(ast.Call))


class PlaintextHttpCredentialed(ClientScopes, Rule):
    """Credentials are sent to a remote host over plain `http://`.

    ## What it does
    Reports requests (requests, httpx, aiohttp, `urllib.request.Request`, and the
    methods of their sessions and clients) to an `http://` URL on a remote host that
    carry credentials: an `Authorization` (or API-key, token, cookie) header,
    `auth=`, an API key or token in the query string, `params=`, `data=` or
    `json=`, or a password in the URL itself. Also an httpx/aiohttp client built
    with an `http://` `base_url` and such headers or `auth=`.

    The URL is read from literals, f-strings, concatenations and constants of the
    module or function. Loopback (`localhost`, `127.0.0.1`) and names that only exist
    inside a private network (`http://qdrant:6333`, `*.internal`, `*.local`) are not
    reported; private IP addresses are reported at low confidence, and a URL that is
    only the default of an environment variable at medium confidence.

    ## Why is this bad?
    Plain HTTP is readable and rewritable by everyone on the path between the MCP
    server and the API: a shared Wi-Fi, a cloud network, any proxy. The token it
    sends is then theirs, with every permission the server's tools have.

    ## Example
    ```python
    import os

    import httpx
    from mcp.server.fastmcp import FastMCP

    API = "http://api.crm.example.com/v2"
    mcp = FastMCP("crm")

    @mcp.tool()
    async def find_contact(email: str) -> str:
        headers = {"Authorization": f"Bearer {os.environ['CRM_TOKEN']}"}
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{API}/contacts", params={"email": email}, headers=headers)
            return response.text
    ```

    ## Use instead
    Call the API over `https://`.
    ```python
    import os

    import httpx
    from mcp.server.fastmcp import FastMCP

    API = "https://api.crm.example.com/v2"
    mcp = FastMCP("crm")

    @mcp.tool()
    async def find_contact(email: str) -> str:
        headers = {"Authorization": f"Bearer {os.environ['CRM_TOKEN']}"}
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{API}/contacts", params={"email": email}, headers=headers)
            return response.text
    ```

    ## References
    - [CWE-319: Cleartext Transmission of Sensitive Information](https://cwe.mitre.org/data/definitions/319.html)
    - [OWASP: Transport Layer Security Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/Transport_Layer_Security_Cheat_Sheet.html)
    """

    code = "MCP703"
    name = "plaintext-http-credentialed"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 319
    checklist = "MCP-C05"
    message = "`{sink}` sends {what} to `{url}` over plain HTTP"
    scope = "python"
    prefilter = PREFILTER
    file_if = staticmethod(may_send_over_http)  # an `http://` string, and a request that may carry it

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._skip = is_test_path(ctx.path)
        self._constants: dict[str, cst.BaseExpression] | None = None

    def visit_Call(self, node: cst.Call) -> None:
        if self._skip:
            return
        found = self._target(node)
        if found is None:
            return
        url_expr, sink = found
        resolved = self._url_text(url_expr)
        if resolved is None:
            return
        text, from_env = resolved
        judged = _judge_url(text)
        if judged is None:
            return
        shown, confidence, url_secret = judged
        what = url_secret or self._credentials(node)
        if what is None:
            return
        if from_env:
            confidence = min(confidence, Confidence.MEDIUM)
        self.report(node, sink=sink, what=what, url=shown, confidence=confidence)

    # -- which calls, which URL ------------------------------------------------------
    def _target(self, node: cst.Call) -> tuple[cst.BaseExpression, str] | None:
        name = dotted(node.func) or ""
        qualified = self.ctx.imports.qualify_dotted(name) if self.ctx.imports.is_imported(name) else ""
        if qualified in SEND_CALLS:
            position, keyword = SEND_CALLS[qualified]
            url = argument(node, position, keyword)
            return (url, qualified) if url is not None else None
        if qualified in BASE_URL_CLIENTS:
            url = argument(node, None, "base_url")
            return (url, qualified) if url is not None else None
        func = node.func
        if qualified or not isinstance(func, cst.Attribute) or func.attr.value not in CLIENT_METHODS:
            return None
        receiver = func.value
        kind = self._client_kind(receiver)
        if kind is None and not CLIENT_NAME.match((dotted(receiver) or "").rsplit(".", 1)[-1]):
            return None
        position, keyword = CLIENT_METHODS[func.attr.value]
        url = argument(node, position, keyword)
        return (url, f"{self.ctx.code_for(receiver)}.{func.attr.value}") if url is not None else None

    def _url_text(self, expr: cst.BaseExpression, depth: int = 0) -> tuple[str, bool] | None:
        """The URL's text with unknown parts as placeholders, and whether it is only
        the default of an environment variable; None when nothing of it is known."""
        literal = string_value(expr)
        if literal is not None:
            return literal, False
        if depth > 4:
            return None
        if isinstance(expr, cst.FormattedString):
            parts = [p.value if isinstance(p, cst.FormattedStringText) else p.expression for p in expr.parts]
        elif isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            parts = [expr.left, expr.right]
        elif isinstance(expr, cst.Name):
            value = self._binding(expr.value)
            return self._url_text(value, depth + 1) if value is not None else None
        elif isinstance(expr, cst.Call) and (self.ctx.qualify(expr.func) or "") in sdk.ENV_GETTERS:
            default = argument(expr, 1, "default")
            text = string_value(default) if default is not None else None
            return (text, True) if text is not None else None
        else:
            return None
        text, from_env = "", False
        for index, part in enumerate(parts):
            if isinstance(part, str):
                text += part
                continue
            known = self._url_text(part, depth + 1) if index == 0 else None
            if known is None and index > 0:
                value = string_value(part) if not isinstance(part, cst.Name) else None
                known = (value, False) if value is not None else None
            if known is None:
                text += UNKNOWN
            else:
                text += known[0]
                from_env = from_env or known[1]
        return text, from_env

    def _binding(self, name: str) -> cst.BaseExpression | None:
        """A name's value: its one assignment in the enclosing function, else the module's."""
        if self._functions:
            values = [n.value for n in walk.iter_nodes(self._functions[-1].body)
                      if isinstance(n, cst.Assign) and any(dotted(t.target) == name for t in n.targets)]
            if values:
                return values[0] if len(values) == 1 else None
        return self._module_constants().get(name)

    def _module_constants(self) -> dict[str, cst.BaseExpression]:
        if self._constants is None:
            self._constants = module_constants(self.ctx.module)
        return self._constants

    # -- what credentials ------------------------------------------------------------
    def _credentials(self, call: cst.Call) -> str | None:
        auth = argument(call, None, "auth")
        if auth is not None and not (isinstance(auth, cst.Name) and auth.value == "None"):
            return "credentials (`auth=`)"
        headers = argument(call, None, "headers")
        if headers is None and (self.ctx.qualify(call.func) or "") == "urllib.request.Request":
            headers = argument(call, 2, "headers")
        key = self._credential_key(headers, CREDENTIAL_HEADER)
        if key is not None:
            return f"the `{key}` header"
        for field in ("params", "data", "json"):
            key = self._credential_key(argument(call, None, field), CREDENTIAL_FIELD)
            if key is not None:
                return f"`{key}` in `{field}=`"
        return None

    def _credential_key(self, expr: cst.BaseExpression | None, pattern: re.Pattern[str], depth: int = 0) -> str | None:
        if expr is None or depth > 3:
            return None
        if isinstance(expr, cst.Name):
            return self._credential_key(self._binding(expr.value), pattern, depth + 1)
        keys: list[str] = []
        if isinstance(expr, cst.Dict):
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    key = string_value(element.key)
                    if key is not None:
                        keys.append(key)
                elif isinstance(element, cst.StarredDictElement):
                    inner = self._credential_key(element.value, pattern, depth + 1)
                    if inner is not None:
                        return inner
        elif isinstance(expr, cst.Call) and (dotted(expr.func) or "") == "dict":
            keys = [a.keyword.value for a in expr.args if a.keyword is not None]
        return next((key for key in keys if pattern.search(key)), None)


def _judge_url(text: str) -> tuple[str, Confidence, str | None] | None:
    """(the URL to show, confidence, credentials carried in the URL itself) for a
    remote `http://` URL; None for https, loopback, internal names, unknown hosts."""
    if not text.lower().startswith("http://"):
        return None
    rest = text[7:]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if not authority or UNKNOWN in authority:
        return None
    userinfo, _, hostport = authority.rpartition("@")
    host = hostport[1:].split("]", 1)[0] if hostport.startswith("[") else hostport.rsplit(":", 1)[0]
    host = host.lower().rstrip(".")
    if not host or host in sdk.LOOPBACK_HOSTS or host in ("0.0.0.0", "::") or host.startswith("127."):
        return None
    confidence = Confidence.HIGH
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if "." not in host or host.endswith(INTERNAL_SUFFIXES) or host == "host.docker.internal":
            return None
    else:
        if address.is_loopback or address.is_unspecified:
            return None
        if address.is_private or address.is_link_local:
            confidence = Confidence.LOW
    shown = f"http://{hostport}"
    secret = None
    if ":" in userinfo:
        secret = "a password in the URL"
    elif CREDENTIAL_QUERY.search(rest.replace(UNKNOWN, "")):
        secret = "a key in the query string"
    return shown, confidence, secret
