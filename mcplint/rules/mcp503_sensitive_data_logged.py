import ast
import re
from functools import lru_cache
from typing import Callable

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp.builder import argument, string_value
from mcplint.mcp.names import dotted
from mcplint.outline import ast_qualified, ast_string, import_targets
from mcplint.prefilter import Literals, Prefilter, lazy_compile
from mcplint.rule import Rule
from mcplint.rules.mcp501_hardcoded_secret import ENV_GETTERS
from mcplint.secrets import TOKEN_NOT_SECRET, is_secret_name, name_words

LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "msg", "success",
     "trace"}
)
LOGGING_FUNCS = frozenset(f"logging.{m}" for m in LOG_METHODS)
# What the MCP context's logging methods are called (they notify the client).
CONTEXT_METHODS = frozenset({"debug", "info", "warning", "error", "log"})
LOGGER_FACTORIES = ("getLogger", "get_logger", "getChild", "get_task_logger")
_LOGGER_NAME_RE = lazy_compile(r"^_*(?:\w*_)?(?:log|logger)$", re.IGNORECASE)
# Keyword arguments of sinks that carry no data.
CONTROL_KEYWORDS = frozenset({"exc_info", "stack_info", "stacklevel", "file", "end", "sep", "flush", "level",
                              "logger_name"})

# Containers that hold every value a client sent, or every header/variable.
ARGUMENT_CONTAINERS = frozenset({"arguments", "kwargs", "params", "tool_args", "tool_arguments", "tool_input"})
HEADER_CONTAINERS = frozenset({"headers", "cookies"})
# Names more sensitive in a log than in source: header values and cookies.
LOG_SECRET_WORDS = frozenset({"cookie", "authorization"})
# Calls whose result shows the argument's content.
PASS_THROUGH = frozenset(
    {"str", "repr", "format", "dict", "list", "tuple", "set", "sorted", "json.dumps", "pprint.pformat",
     "pformat", "ascii", "vars"}
)
STRING_METHODS = frozenset(
    {"strip", "lstrip", "rstrip", "lower", "upper", "decode", "encode", "removeprefix", "replace", "title",
     "casefold", "split", "items", "values", "copy", "to_dict", "model_dump", "dict", "get_secret_value"}
)
# An assigned value known to be harmless, whatever the variable is called.
NOT_SENSITIVE = ("", Confidence.LOW)
# Slices short enough to count as a redacted form: `token[:4]`, `key[-4:]`.
MAX_SHOWN = 8


def _int(expr: cst.BaseExpression | None) -> int | None:
    if isinstance(expr, cst.Integer):
        return int(expr.value)
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus) and isinstance(
        expr.expression, cst.Integer
    ):
        return -int(expr.expression.value)
    return None


def _is_redacting_slice(node: cst.Subscript) -> bool:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Slice):
        return False
    part = node.slice[0].slice
    lower, upper = _int(part.lower), _int(part.upper)
    if part.lower is None and upper is not None and 0 <= upper <= MAX_SHOWN:
        return True
    return part.upper is None and lower is not None and -MAX_SHOWN <= lower < 0


# What every sensitive value shown in a log has in its text (lower-cased): a word of a
# secret's name (`is_log_secret_name`), a container, the environment, a call that dumps
# variables.
SENSITIVE_WORDS = ("token", "secret", "credential", "authorization", "pass", "pw", "key", "cookie", "environ",
                   "headers", "locals", "globals", "vars", *sorted(ARGUMENT_CONTAINERS))
# Methods of the calls `_sink` may take for a log: logger and MCP context methods,
# `send_log_message`, `sys.stdout.write`.
_SINK_METHODS = LOG_METHODS | CONTEXT_METHODS | {"send_log_message", "write"}


def _shows_sensitive(targets: dict[str, set[str]]) -> Callable[..., tuple[bool, set[str]]]:
    """A judge of expressions for `may_log_sensitive` (CPython's tree): can `_sensitive`
    find something in one of them? Also the names it would look up as local aliases.
    `targets`: what the file's imports bind (`import_targets`)."""

    def shows(*nodes: ast.AST) -> tuple[bool, set[str]]:
        names: set[str] = set()
        return any(_may_show(node, targets, names) for node in nodes), names

    return shows


def _may_show(expr: ast.AST | None, targets: dict[str, set[str]], names: set[str]) -> bool:
    """`_sensitive` on CPython's tree, wider where that tree says less: the same walk over
    the same structure (an attribute's owner, a subscript's value, the arguments of most
    calls and the prose of a string are never read), with every name a call or a name
    may qualify to (`ast_qualified`), and no redaction, loop variable or assigned value
    taken to hide anything. Adds the names it would look up as aliases to `names`. As
    in a module the server only imports (`FileContext.imported_only`), where argument
    containers are not a tool's."""
    kind = type(expr)
    if kind is ast.Name:
        names.add(expr.id)
        return expr.id in HEADER_CONTAINERS or is_log_secret_name(expr.id) or "os.environ" in ast_qualified(expr, targets)
    if kind is ast.Attribute:
        return expr.attr in HEADER_CONTAINERS or is_log_secret_name(expr.attr) \
            or "os.environ" in ast_qualified(expr, targets)
    if kind is ast.Subscript:
        if type(expr.slice) is ast.Slice:
            return _may_show(expr.value, targets, names)
        return is_log_secret_name(ast_string(expr.slice))
    if kind is ast.Call:
        return _call_may_show(expr, targets, names)
    if kind is ast.JoinedStr:
        return any(_may_show(part.value, targets, names) for part in expr.values if type(part) is ast.FormattedValue)
    if kind is ast.BinOp:
        return _may_show(expr.left, targets, names) or _may_show(expr.right, targets, names)
    if kind in (ast.Tuple, ast.List, ast.Set):
        return any(_may_show(element, targets, names) for element in expr.elts)
    if kind is ast.Dict:
        return any((key is not None and is_log_secret_name(ast_string(key)) and ast_string(value) is None)
                   or _may_show(value, targets, names) for key, value in zip(expr.keys, expr.values))
    if kind is ast.IfExp:
        return _may_show(expr.body, targets, names) or _may_show(expr.orelse, targets, names)
    if kind is ast.BoolOp:
        return any(_may_show(value, targets, names) for value in expr.values)
    if kind in (ast.Await, ast.Starred):
        return _may_show(expr.value, targets, names)
    return False


def _call_may_show(call: ast.Call, targets: dict[str, set[str]], names: set[str]) -> bool:
    """`_call` on CPython's tree (`_may_show`)."""
    qualified = ast_qualified(call.func, targets)
    arguments = (*call.args, *(k.value for k in call.keywords))
    if qualified & {"locals", "globals"} or ("vars" in qualified and not call.args):
        return True
    key = next((ast_string(k.value) for k in call.keywords if k.arg == "key"),
               ast_string(call.args[0]) if call.args and type(call.args[0]) is not ast.Starred else None)
    if qualified & ENV_GETTERS and is_secret_name(key):
        return True
    if qualified & PASS_THROUGH and any(_may_show(a, targets, names) for a in arguments):
        return True
    if type(call.func) is not ast.Attribute:
        return False
    method = call.func.attr
    if method == "get":
        return is_log_secret_name(key)
    if method in ("format", "join"):
        return any(_may_show(e, targets, names) for e in (call.func.value, *arguments))
    return method in STRING_METHODS and _may_show(call.func.value, targets, names)


def may_log_sensitive(outline) -> bool:
    """Can the rule report in this file (CPython's tree, `mcplint.outline`)? Only at a call
    `_sink` may take for a log whose arguments show something sensitive, directly or
    through a name assigned it (a local alias)."""
    logging_names = {alias.asname or alias.name for node in outline.of(ast.ImportFrom)
                     if (node.module or "").split(".")[0] == "logging" for alias in node.names}
    shows = None
    bound = None
    for call in outline.of(ast.Call):
        func = call.func
        if not ((type(func) is ast.Attribute and func.attr in _SINK_METHODS)
                or (type(func) is ast.Name and (func.id == "print" or func.id in logging_names))):
            continue
        shows = shows or _shows_sensitive(import_targets(outline))
        # the rule reads every argument but the control keywords and `**kwargs`
        found, names = shows(*call.args, *(k.value for k in call.keywords
                                           if k.arg is not None and k.arg not in CONTROL_KEYWORDS))
        if found:
            return True
        if names:
            bound = outline.bound_from(shows) if bound is None else bound
            if names & bound:
                return True
    return False


@lru_cache(maxsize=8192)  # asked for the same few names again and again
def is_log_secret_name(name: str | None) -> bool:
    if is_secret_name(name):
        return True
    words = name_words(name or "")
    if not words or words[-1] not in LOG_SECRET_WORDS:
        return False
    # `page_token.token`, `next_cursor_token`: pagination, not credentials
    before = [w for w in words[:-1] if w != words[-1]]
    return not (words[-1] == "token" and before and before[-1] in TOKEN_NOT_SECRET)


class SensitiveDataLogged(Rule):
    """A secret, the request headers or all of a tool's arguments are written to a log.

    ## What it does
    In MCP server files, reports calls to `logging.*`, loggers (`logger`, `log`,
    `self._logger`, `LOGGER`, names bound to `logging.getLogger(...)` and
    `structlog.get_logger()`), `print`, `sys.stdout.write`/`sys.stderr.write` and the
    MCP context's `ctx.debug/info/warning/error/log` (which send the message to the
    client) when an argument shows:

    - a secret-named value (`password`, `token`, `api_key`, `client_secret`,
      `authorization`, `cookie`, ...), also through f-strings, `%`/`.format`,
      `str()`/`json.dumps()`, `headers.get("Authorization")`, `os.getenv("API_KEY")`
      and local variables assigned from such values;
    - a whole container: `request.headers`, `cookies`, `os.environ`, `locals()`, or
      every argument of a tool (`arguments`, `kwargs`, `params`; low confidence, since
      they hold secrets only sometimes). Not in a module the server only imports, which
      no handler hands tool input to: its `params` are not a tool's (an LSP client's
      notification, an HTTP query).

    Redacted forms are not reported: `len(token)`, `bool(token)`, `token is None`,
    `token[:4]` or `token[-4:]` (at most 8 characters), and the result of any other
    function (`mask(token)`, `hashlib.sha256(...)`). Loop variables (`for token in
    text.split()`) are words, not credentials. Objects such as a settings instance
    are not followed into their fields. Keyword arguments passed on with `**`
    (a logging facade forwarding `exc_info` or `extra`) are not part of the message.

    ## Why is this bad?
    Logs are copied to files, terminals, log services and support tickets, and are
    read by far more people than the secret's owner. A bearer token or API key in a
    log line is a working credential for anyone who can read it. `ctx.info()` goes
    further: it sends the text to the MCP client and, through it, to the model.

    ## Example
    ```python
    import logging
    import os
    from mcp.server.fastmcp import FastMCP

    logger = logging.getLogger(__name__)
    mcp = FastMCP("crm")
    API_KEY = os.environ["CRM_API_KEY"]

    @mcp.tool()
    def find_contact(email: str) -> str:
        logger.debug("calling CRM with key %s", API_KEY)
        return email
    ```

    ## Use instead
    Log that a credential is present, or a short prefix, never the value.
    ```python
    import logging
    import os
    from mcp.server.fastmcp import FastMCP

    logger = logging.getLogger(__name__)
    mcp = FastMCP("crm")
    API_KEY = os.environ["CRM_API_KEY"]

    @mcp.tool()
    def find_contact(email: str) -> str:
        logger.debug("calling CRM with key %s…", API_KEY[:4])
        return email
    ```

    ## References
    - [CWE-532: Insertion of Sensitive Information into Log File](https://cwe.mitre.org/data/definitions/532.html)
    - [OWASP Logging Cheat Sheet: data to exclude](https://cheatsheetseries.owasp.org/cheatsheets/Logging_Cheat_Sheet.html#data-to-exclude)
    """

    code = "MCP503"
    name = "sensitive-data-logged"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    cwe = 532
    checklist = "MCP-C06"
    # a log call (its function or method name), and a sensitive value's name in the file
    in_imported_modules = Prefilter(
        None,
        anchors=(b"print", b"stdout", b"stderr", b"send_log_message", b"logging", *(m.encode() for m in LOG_METHODS)),
        requires=Literals(*(word.encode() for word in SENSITIVE_WORDS)),
        lowercase=True,
    )
    # ... and those words in the arguments of a call that may log, or in a value
    # assigned to a name those arguments use
    imported_if = staticmethod(may_log_sensitive)
    message = "`{sink}` {action}"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._loggers: set[str] = set()
        # per scope (module, then each function): sensitive local names, loop variables
        self._aliases: list[dict[str, tuple[str, Confidence]]] = [{}]
        self._loop_names: list[set[str]] = [set()]

    # -- scopes ---------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._aliases.append({})
        self._loop_names.append(set())

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._aliases.pop()
        self._loop_names.pop()

    def visit_For(self, node: cst.For) -> None:
        self._loop_target(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._loop_target(node.target)

    def _loop_target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self._loop_names[-1].add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._loop_target(element.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if isinstance(value, cst.Call) and self._is_logger_factory(value):
            for target in node.targets:
                name = dotted(target.target)
                if name:
                    self._loggers.add(name)
            return
        found = self._sensitive(value)
        other = found is None and self._names_other_value(value)
        for target in node.targets:
            if not isinstance(target.target, cst.Name):
                continue
            name = target.target.value
            if found is not None:
                if name in ARGUMENT_CONTAINERS or name in HEADER_CONTAINERS:
                    what = found[0]  # arguments = params.arguments
                elif is_log_secret_name(name):
                    what = f"`{name}`"
                else:
                    what = f"`{name}` (holding {found[0]})"
                self._aliases[-1][name] = (what, found[1])
            elif other or name in ARGUMENT_CONTAINERS or name in HEADER_CONTAINERS:
                # headers = {"Accept": ...}: a dict built here holds what we see
                self._aliases[-1][name] = NOT_SENSITIVE
            else:
                self._aliases[-1].pop(name, None)

    def _names_other_value(self, value: cst.BaseExpression) -> bool:
        """`ssh_key = os.getenv("SSH_KEY_PATH")`: the variable says what the name does not."""
        if isinstance(value, cst.Call) and self.ctx.qualify(value.func) in ENV_GETTERS:
            return not is_secret_name(string_value(argument(value, 0, "key")))
        if isinstance(value, cst.Subscript) and self.ctx.qualify(value.value) == "os.environ":
            index = value.slice[0].slice if len(value.slice) == 1 else None
            return isinstance(index, cst.Index) and not is_secret_name(string_value(index.value))
        return False

    def _is_logger_factory(self, call: cst.Call) -> bool:
        qualified = self.ctx.qualify(call.func) or ""
        return qualified.rsplit(".", 1)[-1] in LOGGER_FACTORIES

    # -- sinks ----------------------------------------------------------------------
    def _sink(self, call: cst.Call) -> tuple[str, str] | None:
        """(how the sink is written, where the data goes) for a logging call."""
        func = call.func
        qualified = self.ctx.qualify(func) or ""
        if qualified in LOGGING_FUNCS:
            return qualified, "writes {} to the log"
        if isinstance(func, cst.Name) and func.value == "print":
            return "print", "prints {}"
        if qualified in ("sys.stderr.write", "sys.stdout.write"):
            return qualified, "writes {} to " + qualified.split(".")[1]
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        receiver = func.value
        label = f"{dotted(receiver) or '…'}.{method}"
        if method == "send_log_message":
            return label, "sends {} to the MCP client"
        if method in CONTEXT_METHODS and self._is_context(receiver):
            return label, "sends {} to the MCP client"
        if method not in LOG_METHODS:
            return None
        if isinstance(receiver, cst.Call) and self._is_logger_factory(receiver):
            return label.replace("….", "logger."), "writes {} to the log"
        name = dotted(receiver)
        if name is None:
            return None
        if name in self._loggers or _LOGGER_NAME_RE.match(name.rsplit(".", 1)[-1]):
            return label, "writes {} to the log"
        return None

    def _is_context(self, receiver: cst.BaseExpression) -> bool:
        if not isinstance(receiver, cst.Name):
            return False
        handler = self.ctx.handler
        if handler is not None:
            for param in handler.params:
                if param.name == receiver.value and param.injected:
                    return True
        return receiver.value in ("ctx", "context")

    def visit_Call(self, node: cst.Call) -> None:
        sink = self._sink(node)
        if sink is None:
            return
        label, verb = sink
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in CONTROL_KEYWORDS:
                continue
            if arg.star == "**":
                continue  # keyword arguments passed on (`exc_info`, `extra`): not in the message
            found = self._sensitive(arg.value)
            if found is not None:
                what, confidence = found
                self.report(node, confidence=confidence, sink=label, action=verb.format(what))
                return

    # -- what an expression shows -----------------------------------------------------
    def _alias(self, name: str) -> tuple[str, Confidence] | None:
        for scope in (self._aliases[-1], self._aliases[0]):
            if name in scope:
                return scope[name]
        return None


    def _sensitive(self, expr: cst.BaseExpression | None) -> tuple[str, Confidence] | None:
        """(a description, confidence) if `expr`'s text would show a secret or a whole container."""
        kind = type(expr)  # exact types: isinstance on libcst's classes is slow
        if kind is cst.Name:
            if self.ctx.qualify(expr) == "os.environ":
                return "the whole environment (`os.environ`)", Confidence.MEDIUM
            return self._name(expr.value)
        if kind is cst.Attribute:
            qualified = self.ctx.qualify(expr)
            if qualified == "os.environ":
                return "the whole environment (`os.environ`)", Confidence.MEDIUM
            attr = expr.attr.value
            if attr in HEADER_CONTAINERS:
                return f"all request {attr} (`{dotted(expr) or attr}`)", Confidence.MEDIUM
            if attr in ARGUMENT_CONTAINERS:
                if self.ctx.imported_only:
                    return None
                return f"every argument (`{dotted(expr) or attr}`)", Confidence.LOW
            # judged with its owner: `page_token.token` is a cursor, `auth.token` is not
            if is_log_secret_name(attr) and is_log_secret_name(dotted(expr) or attr):
                return f"`{dotted(expr) or attr}`", Confidence.HIGH
            return None
        if kind is cst.Subscript:
            if _is_redacting_slice(expr):
                return None
            if len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Slice):
                return self._sensitive(expr.value)  # a long slice still shows the secret
            key = string_value(expr.slice[0].slice.value) if len(expr.slice) == 1 and isinstance(
                expr.slice[0].slice, cst.Index) else None
            if is_log_secret_name(key):
                return f"`{key}`", Confidence.HIGH
            return None
        if kind is cst.Call:
            return self._call(expr)
        if kind is cst.FormattedString:
            return self._first(p.expression for p in expr.parts if isinstance(p, cst.FormattedStringExpression))
        if kind is cst.BinaryOperation:
            return self._first((expr.left, expr.right))
        if kind is cst.ConcatenatedString:
            return self._first((expr.left, expr.right))
        if kind in (cst.Tuple, cst.List, cst.Set):
            return self._first(e.value for e in expr.elements)
        if kind is cst.Dict:
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    key = string_value(element.key)
                    if is_log_secret_name(key) and string_value(element.value) is None:
                        return f"`{key}`", Confidence.HIGH
                    found = self._sensitive(element.value)
                else:
                    found = self._sensitive(element.value)
                if found is not None:
                    return found
            return None
        if kind is cst.IfExp:
            return self._first((expr.body, expr.orelse))
        if kind is cst.BooleanOperation:
            return self._first((expr.left, expr.right))
        if kind is cst.Await:
            return self._sensitive(expr.expression)
        if kind is cst.StarredElement:
            return self._sensitive(expr.value)
        return None

    def _first(self, exprs) -> tuple[str, Confidence] | None:
        for expr in exprs:
            found = self._sensitive(expr)
            if found is not None:
                return found
        return None

    def _name(self, name: str) -> tuple[str, Confidence] | None:
        alias = self._alias(name)
        if alias is NOT_SENSITIVE:
            return None
        if alias is not None:
            return alias
        if name in self._loop_names[-1]:
            return None  # `for token in text.split()`: a word, not a credential
        if name in ARGUMENT_CONTAINERS:  # a tool's, unless nothing of a tool's reaches this module
            return None if self.ctx.imported_only else (f"every argument (`{name}`)", Confidence.LOW)
        if name in HEADER_CONTAINERS:
            return f"all request {name} (`{name}`)", Confidence.MEDIUM
        if is_log_secret_name(name):
            bare = name.strip("_").lower() in ("token", "secret", "key")
            return f"`{name}`", Confidence.MEDIUM if bare else Confidence.HIGH
        return None

    def _call(self, call: cst.Call) -> tuple[str, Confidence] | None:
        qualified = self.ctx.qualify(call.func) or ""
        if qualified in ("locals", "globals") or (qualified == "vars" and not call.args):
            return f"every local variable (`{qualified}()`)", Confidence.MEDIUM
        if qualified in ENV_GETTERS:
            key = string_value(argument(call, 0, "key"))
            return (f"`{key}`", Confidence.HIGH) if is_secret_name(key) else None
        if qualified in PASS_THROUGH:
            return self._first(a.value for a in call.args)
        if not isinstance(call.func, cst.Attribute):
            return None  # mask(token), len(token), hashlib.sha256(...): not the value
        method = call.func.attr.value
        receiver = call.func.value
        if method == "get":
            key = string_value(argument(call, 0, "key"))
            if is_log_secret_name(key):
                return f"`{key}`", Confidence.HIGH
            return None
        if method in ("format", "join"):
            return self._first((receiver, *(a.value for a in call.args)))
        if method in STRING_METHODS:
            return self._sensitive(receiver)
        return None
