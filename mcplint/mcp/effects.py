"""What a tool does to the world: deletes, writes, runs commands — and what it claims.

The authorization and annotation rules (MCP110-MCP112) ask two questions of a tool:
does its code change anything, and do its annotations (`readOnlyHint`,
`destructiveHint`) say so. This module answers both from the syntax alone:

- `tool_effects(ctx, handler)`: the calls in the tool's body, and in functions of the
  same file it calls (two levels down), that delete (`os.remove`, `shutil.rmtree`,
  `DELETE`/`DROP` SQL, HTTP `DELETE`, `client.delete_issue(...)`), write (`open(p,
  "w")`, `write_text`, `INSERT`/`UPDATE` SQL, HTTP `PUT`/`PATCH`, `df.to_csv(p)`) or
  run a command the client chooses (`subprocess.run(cmd)`) or a command known to
  delete or write (`["kubectl", "delete", ...]`, `repo.git.reset(...)`), or execute
  SQL the client wrote with no read-only guard in sight.
- `declared_hints(ctx, handler)`: the literal annotations given where the tool is
  registered (`annotations=ToolAnnotations(readOnlyHint=True)`, `{"readOnlyHint":
  True}`, v2 `read_only_hint=`), each with the node that sets it.

Bounded on purpose: no effect is inferred from a call mcplint cannot name (a helper
in another module, an HTTP `POST`, which read-only search APIs use as often as
writing ones, a command whose program and subcommand are not in the tables below).
Effects found by a method's name only (`self.jira.create_issue`, `cache.delete`),
client-written SQL (the database user may be read-only) and deletes of a fixed path
(lock and state files) are marked `certain=False`; rules lower their confidence.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from mcplint.finding import Confidence
from mcplint.mcp import walk
from mcplint.mcp.builder import argument, call_args, function_params, is_none, name_assignments, string_value
from mcplint.mcp.model import Handler
from mcplint.mcp.names import dotted
from mcplint.mcp.taint import command_object

if TYPE_CHECKING:
    from mcplint.context import FileContext

EXECUTE = "execute"  # runs a command or code the client chooses
DELETE = "delete"  # removes or destroys: files, rows, tables, remote objects, processes
WRITE = "write"  # creates or changes (additive or overwriting)
DESTRUCTIVE = frozenset({EXECUTE, DELETE})
_KINDS = (EXECUTE, DELETE, WRITE)  # most serious first

MAX_DEPTH = 2  # helper functions of the same file followed from a tool

# -- known APIs -----------------------------------------------------------------------
PROCESS_CALLS = frozenset(
    {"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen",
     "subprocess.getoutput", "subprocess.getstatusoutput", "os.system", "os.popen", "os.execv", "os.execve",
     "os.execvp", "os.execvpe", "os.execl", "os.execle", "os.execlp", "os.execlpe", "os.spawnv", "os.spawnve",
     "os.spawnvp", "os.spawnvpe", "os.spawnl", "os.spawnle", "os.spawnlp", "os.spawnlpe", "os.posix_spawn",
     "os.posix_spawnp", "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell",
     "asyncio.subprocess.create_subprocess_exec", "asyncio.subprocess.create_subprocess_shell",
     "anyio.run_process", "anyio.open_process", "pty.spawn", "pexpect.spawn", "pexpect.run"}
)
# Process calls whose first argument is the program alone (the rest are its arguments).
PROGRAM_FIRST = frozenset({"asyncio.create_subprocess_exec", "asyncio.subprocess.create_subprocess_exec",
                           "os.execl", "os.execlp", "os.execle", "os.execlpe", "os.spawnl", "os.spawnlp"})
DELETE_CALLS = {
    "os.remove": "deletes a file", "os.unlink": "deletes a file", "os.rmdir": "deletes a directory",
    "os.removedirs": "deletes directories", "shutil.rmtree": "deletes a directory tree",
    "os.kill": "kills a process", "os.killpg": "kills a process group", "send2trash.send2trash": "trashes a file",
    "requests.delete": "sends an HTTP DELETE", "httpx.delete": "sends an HTTP DELETE",
}
WRITE_CALLS = {
    "shutil.copy": "copies a file", "shutil.copy2": "copies a file", "shutil.copyfile": "copies a file",
    "shutil.copytree": "copies a directory tree", "shutil.move": "moves a file", "os.rename": "renames a file",
    "os.renames": "renames a file", "os.replace": "replaces a file", "os.link": "creates a link",
    "os.symlink": "creates a link", "os.chmod": "changes file permissions", "os.chown": "changes file ownership",
    "os.truncate": "truncates a file",
    "requests.put": "sends an HTTP PUT", "requests.patch": "sends an HTTP PATCH",
    "httpx.put": "sends an HTTP PUT", "httpx.patch": "sends an HTTP PATCH",
}
OPENERS = frozenset({"open", "io.open", "codecs.open", "aiofiles.open", "gzip.open", "bz2.open", "lzma.open",
                     "tarfile.open", "zipfile.ZipFile"})
HTTP_REQUEST = frozenset({"requests.request", "httpx.request"})
# pathlib methods: specific enough to name their effect
PATH_METHODS = {"unlink": (DELETE, "deletes a file"), "rmdir": (DELETE, "deletes a directory"),
                "write_text": (WRITE, "writes a file"), "write_bytes": (WRITE, "writes a file")}
# pandas writers: a write only when given a target (`to_csv()` alone returns text)
FRAME_WRITERS = frozenset({"to_csv", "to_excel", "to_parquet", "to_json", "to_pickle", "to_feather", "to_sql",
                           "to_hdf", "to_stata", "to_orc"})
MONGO_WRITES = frozenset({"insert_one", "insert_many", "update_one", "update_many", "replace_one",
                          "find_one_and_update", "find_one_and_replace", "bulk_write"})
# Methods named for what they do to a remote or stored object (`jira.delete_issue`).
_DELETE_METHOD = re.compile(r"^(?:delete|destroy|purge)(?:_\w+)?$|^(?:remove|truncate|drop)_\w+$")
_WRITE_METHOD = re.compile(r"^(?:create|update|upload|insert|put|patch|modify|overwrite)_\w+$")
_NOT_WRITES = frozenset(
    {"create_task", "create_future", "create_connection", "create_default_context", "create_session",
     "create_pool", "create_client", "create_engine", "create_async_engine", "create_model", "create_server",
     "create_unix_connection", "create_datagram_endpoint", "update_wrapper", "update_forward_refs",
     "drop_duplicates", "remove_handler"}
)
_LIBRARY_MODULES = frozenset({"asyncio", "ssl", "os", "sys", "socket", "json", "re", "tempfile", "logging",
                              "typing", "functools", "itertools", "contextlib", "threading", "multiprocessing",
                              "concurrent", "importlib", "inspect", "pydantic", "sqlalchemy", "anyio", "trio"})
_HTTP_RECEIVER = re.compile(r"client|session|http|api", re.IGNORECASE)
SQL_EXECUTORS = frozenset({"execute", "executemany", "executescript", "exec_driver_sql", "execute_query", "query",
                           "sql", "run_query", "fetch", "fetchrow", "fetchval", "raw", "command"})
# Running a statement the client wrote: any write is possible, unless the code only lets
# SELECT through or uses a read-only connection (which mcplint sees by those words).
RAW_SQL_METHODS = frozenset({"execute", "executemany", "executescript", "exec_driver_sql"})
_DB_RECEIVER = re.compile(r"conn|cursor|^cur$|^db$|database|duckdb|clickhouse|engine", re.IGNORECASE)
_SELECT = re.compile(r"^\W*select\b", re.IGNORECASE)
_READ_ONLY_NAME = re.compile(r"read[ _-]?only|readonly|query_only|sqlparse|is_read|is_select|allowed_statements",
                             re.IGNORECASE)
_CHECKS = frozenset({"startswith", "match", "fullmatch", "search"})
_SQL_DELETE = re.compile(
    r"^\s*(?:DELETE\s+FROM\b|DROP\s+(?:TABLE|DATABASE|SCHEMA|INDEX|VIEW|USER|ROLE|COLUMN|IF\s+EXISTS)\b"
    r"|TRUNCATE\s+(?:TABLE\s+)?[\w.\"`\[{])", re.IGNORECASE)
_SQL_WRITE = re.compile(
    r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO\b|REPLACE\s+INTO\b|UPDATE\s+[\w.\"`\[\]{}]+\s+SET\b|MERGE\s+INTO\b"
    r"|UPSERT\b|CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?"
    r"(?:TABLE|DATABASE|SCHEMA|INDEX|VIEW|UNIQUE|USER|ROLE)\b"
    r"|ALTER\s+(?:TABLE|DATABASE|USER|ROLE)\b|GRANT\s|REVOKE\s)", re.IGNORECASE)

_SQL_OBJECTS = frozenset({"FROM", "INTO", "TABLE", "DATABASE", "SCHEMA", "INDEX", "VIEW", "USER", "ROLE", "COLUMN",
                          "IF", "OR", "TEMP", "TEMPORARY", "UNIQUE"})

# Commands: programs that delete or write whatever their arguments, and CLIs whose
# subcommand says what they do.
DELETE_PROGRAMS = frozenset({"rm", "rmdir", "unlink", "shred", "kill", "pkill", "killall", "shutdown", "reboot",
                             "poweroff", "halt", "mkfs", "dd", "truncate", "wipefs", "srm"})
WRITE_PROGRAMS = frozenset({"mv", "cp", "mkdir", "touch", "tee", "chmod", "chown", "ln", "rsync", "install", "patch"})
VERB_PROGRAMS = frozenset({"git", "kubectl", "docker", "podman", "systemctl", "service", "helm", "npm", "pnpm", "yarn",
                           "pip", "pip3", "uv", "apt", "apt-get", "yum", "dnf", "brew", "aws", "gcloud", "az",
                           "terraform", "gh", "heroku", "oc", "nerdctl", "crictl", "supervisorctl", "pm2"})
# `docker compose down`, `kubectl rollout undo`: the verb is the next word
VERB_GROUPS = frozenset({"compose", "container", "image", "volume", "network", "rollout", "system", "stash", "remote",
                         "branch", "config", "s3", "s3api", "ec2", "repo", "release", "pr", "issue", "secret"})
EXEC_VERBS = frozenset({"exec"})  # `kubectl exec pod -- <anything>`, `docker exec`
DELETE_VERBS = frozenset({"delete", "rm", "rmi", "remove", "kill", "stop", "restart", "drop", "destroy", "purge",
                          "prune", "uninstall", "reset", "clean", "terminate", "drain", "evict", "rollback", "undo",
                          "unset", "disable", "down", "rb", "close"})
WRITE_VERBS = frozenset({"apply", "create", "commit", "push", "add", "install", "set", "patch", "update", "upgrade",
                         "scale", "label", "annotate", "edit", "replace", "rename", "mv", "merge", "rebase",
                         "checkout", "switch", "tag", "run", "start", "enable", "up", "deploy", "pull",
                         "cp", "restore", "revert", "cherry-pick", "init", "clone", "mb", "sync", "put", "write"})


@dataclass(frozen=True)
class Effect:
    kind: str  # EXECUTE, DELETE or WRITE
    node: cst.Call  # the call, in the scanned file
    what: str  # "deletes a directory tree (`shutil.rmtree`)"
    certain: bool  # a known API; False: a method named like one (`client.delete_issue`)
    via: str | None = None  # the helper of this file it sits in; None: the tool's own body

    @property
    def destructive(self) -> bool:
        return self.kind in DESTRUCTIVE

    def describe(self) -> str:
        return self.what + (f" in `{self.via}()`" if self.via else "")


@dataclass(frozen=True)
class Hint:
    value: object  # the literal (True/False), or None when not a literal
    node: cst.CSTNode  # the element or keyword that sets it


@dataclass(frozen=True)
class Hints:
    given: bool  # `annotations=` was passed (literal or not)
    literal: bool  # ...and mcplint could read it
    hints: dict[str, Hint]  # camelCase key -> hint

    def get(self, key: str) -> Hint | None:
        return self.hints.get(key)


_CAMEL = {"read_only_hint": "readOnlyHint", "destructive_hint": "destructiveHint",
          "idempotent_hint": "idempotentHint", "open_world_hint": "openWorldHint"}


def effect_confidence(effect: Effect) -> Confidence:
    """High for a known API in the tool's own body, medium in a helper, low for a method
    recognised by its name only (`client.delete_issue`)."""
    if not effect.certain:
        return Confidence.LOW
    return Confidence.HIGH if effect.via is None else Confidence.MEDIUM


def _rank(effect: Effect) -> tuple[bool, bool, int]:
    return (not effect.certain, effect.via is not None, _KINDS.index(effect.kind))


def strongest(effects: list[Effect], kinds: frozenset[str] | None = None) -> Effect | None:
    """The effect to report: a known API before a guess, the tool's body before a helper."""
    chosen = [e for e in effects if kinds is None or e.kind in kinds]
    return min(chosen, key=_rank) if chosen else None


# -- annotations ----------------------------------------------------------------------
def registration_call(handler: Handler) -> cst.Call | None:
    """The call whose keywords configure the tool: `@mcp.tool(...)`, `mcp.add_tool(fn, ...)`."""
    node = handler.registration
    if isinstance(node, cst.Decorator):
        return node.decorator if isinstance(node.decorator, cst.Call) else None
    if isinstance(node, cst.Call):
        return node.func if isinstance(node.func, cst.Call) else node
    if isinstance(node, cst.Arg) and isinstance(node.value, cst.Call):
        return node.value
    return None


def declared_hints(ctx: "FileContext", handler: Handler) -> Hints:
    call = registration_call(handler)
    given = argument(call, None, "annotations") if call is not None else None
    if given is None or is_none(given):
        return Hints(False, True, {})
    expr = _resolve_constant(ctx, given)
    # hints from a module constant are reported where the tool uses it
    site = next((a for a in call.args if a.keyword is not None and a.keyword.value == "annotations"), None) \
        if expr is not given else None
    items: list[tuple[str, cst.BaseExpression, cst.CSTNode]] = []
    literal = True
    if isinstance(expr, cst.Call) and (dotted(expr.func) or "").rsplit(".", 1)[-1] in ("ToolAnnotations", "dict"):
        _, keywords, star = call_args(expr)
        literal = not star
        items = [(key, arg.value, arg) for key, arg in keywords.items()]
    elif isinstance(expr, cst.Dict):
        for element in expr.elements:
            key = string_value(element.key) if isinstance(element, cst.DictElement) else None
            if key is None:
                literal = False
                continue
            items.append((key, element.value, element))
    else:
        return Hints(True, False, {})
    hints: dict[str, Hint] = {}
    for key, value, node in items:
        if isinstance(value, cst.Name) and value.value in ("True", "False", "None"):
            hints[_CAMEL.get(key, key)] = Hint({"True": True, "False": False, "None": None}[value.value], site or node)
        else:
            hints[_CAMEL.get(key, key)] = Hint(None, site or node)
    return Hints(True, literal, hints)


def _resolve_constant(ctx: "FileContext", expr: cst.BaseExpression) -> cst.BaseExpression:
    """`annotations=READ_ONLY` with `READ_ONLY = ToolAnnotations(...)` at module level."""
    if not isinstance(expr, cst.Name):
        return expr
    return next((value for name, value in name_assignments(ctx.module.body) if name == expr.value), expr)


# -- effects ----------------------------------------------------------------------------
_CACHE: "weakref.WeakKeyDictionary[FileContext, _Index]" = weakref.WeakKeyDictionary()


def tool_effects(ctx: "FileContext", handler: Handler) -> list[Effect]:
    """Every effect of `handler` (its body first, then the helpers it calls), in source order."""
    index = _CACHE.get(ctx)
    if index is None:
        index = _CACHE[ctx] = _Index(ctx)
    return index.effects(handler)


class _Index:
    """Functions of one file by name, and the effects of each tool, computed once."""

    def __init__(self, ctx: "FileContext") -> None:
        self.ctx = ctx
        self.by_name: dict[str, list[cst.FunctionDef]] = {}
        self.methods: dict[int, dict[str, cst.FunctionDef]] = {}  # id(method) -> its class's methods
        self._effects: dict[int, list[Effect]] = {}
        self._sdk_roots: set[str] = set()
        self._tool: cst.FunctionDef | None = None
        self._collect(ctx.module.body, None)

    def _collect(self, body, klass: dict[str, cst.FunctionDef] | None) -> None:
        for statement in body:
            if isinstance(statement, cst.FunctionDef):
                self.by_name.setdefault(statement.name.value, []).append(statement)
                if klass is not None:
                    klass[statement.name.value] = statement
                    self.methods[id(statement)] = klass
                if isinstance(statement.body, cst.IndentedBlock):
                    self._collect(statement.body.body, None)
            elif isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
                self._collect(statement.body.body, {})
            elif isinstance(statement, cst.BaseCompoundStatement):
                for block in walk.children(statement):
                    inner = getattr(block, "body", None)
                    if isinstance(block, cst.IndentedBlock):
                        self._collect(block.body, klass)
                    elif isinstance(inner, cst.IndentedBlock):
                        self._collect(inner.body, klass)

    def effects(self, handler: Handler) -> list[Effect]:
        key = id(handler.function)
        if key not in self._effects:
            found: list[Effect] = []
            taint = lambda expr: self.ctx.taint(expr, handler) is not None  # noqa: E731
            # the MCP context and server objects: `ctx.session.create_message()` asks the
            # client to sample, `mcp.remove_tool()` changes the tool list; neither is a write
            self._sdk_roots = {p.name for p in handler.params if p.injected and _is_sdk_object(p)} | {
                "ctx", "context"} | {s.var for s in self.ctx.model.servers if s.var}
            self._tool = handler.function
            self._scan(handler.function, None, taint, found, {id(handler.function)}, 0)
            self._effects[key] = found
        return self._effects[key]

    def _scan(self, function: cst.FunctionDef, via: str | None, tainted, found: list[Effect], seen: set[int],
              depth: int) -> None:
        local = _Locals(function)
        for node in _body_nodes(function):
            if not isinstance(node, cst.Call):
                continue
            effect = self._classify(node, via, tainted, local)
            if effect is not None:
                found.append(effect)
                continue
            if depth >= MAX_DEPTH:
                continue
            callee = self._callee(node, function)
            if callee is None or id(callee) in seen:
                continue
            seen.add(id(callee))
            call_site = node
            inner = _LazyTaint(callee, self.ctx.imports, lambda call_site=call_site, tainted=tainted: any(
                tainted(arg.value) for arg in call_site.args))
            self._scan(callee, callee.name.value, inner, found, seen, depth + 1)

    def _callee(self, call: cst.Call, caller: cst.FunctionDef) -> cst.FunctionDef | None:
        func = call.func
        if isinstance(func, cst.Name):
            candidates = self.by_name.get(func.value, [])
            plain = [f for f in candidates if id(f) not in self.methods]
            return plain[0] if len(plain) == 1 else None
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            klass = self.methods.get(id(caller))
            return klass.get(func.attr.value) if klass is not None else None
        return None

    # -- one call ------------------------------------------------------------------------
    def _classify(self, call: cst.Call, via, tainted, local) -> Effect | None:
        qualified = self.ctx.qualify(call.func) or ""

        def effect(kind: str, what: str, certain: bool = True) -> Effect:
            return Effect(kind, call, what, certain, via)

        if qualified in PROCESS_CALLS:
            return self._command(call, qualified, tainted, effect, local)
        if qualified in DELETE_CALLS:
            target = argument(call, 0, "path")
            if qualified.startswith(("os.", "shutil.")) and "kill" not in qualified:
                if target is not None and _scratch_expr(target, local):
                    return None
                # a fixed path (a lock or state file) is housekeeping more often than not
                return effect(DELETE, f"{DELETE_CALLS[qualified]} (`{qualified}`)", certain=tainted(target))
            return effect(DELETE, f"{DELETE_CALLS[qualified]} (`{qualified}`)")
        if qualified in WRITE_CALLS:
            return effect(WRITE, f"{WRITE_CALLS[qualified]} (`{qualified}`)")
        if qualified in OPENERS:
            mode = string_value(argument(call, 1, "mode"))
            if mode and any(c in mode for c in "wax+") and not _scratch(call, 0, "file", local):
                return effect(WRITE, f"writes a file (`{qualified}(..., {mode!r})`)")
            return None
        if qualified in HTTP_REQUEST:
            return _http_method(string_value(argument(call, 0, "method")), qualified, effect)
        func = call.func
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        receiver = dotted(func.value)
        head = (receiver or "").split(".", 1)[0]
        if method in PATH_METHODS:
            kind, what = PATH_METHODS[method]
            if _scratch_expr(func.value, local):
                return None
            return effect(kind, f"{what} (`.{method}()`)", certain=kind == WRITE or tainted(func.value))
        if method in ("commit", "reset") and receiver is not None and receiver.endswith((".index", ".head")):
            kind = _verb_kind(method)  # GitPython: repo.index.commit(), repo.head.reset()
            return effect(kind, f"runs `git {method}` (`{receiver}.{method}()`)")
        if method == "open":
            mode = string_value(argument(call, 0, "mode"))
            if mode and any(c in mode for c in "wax+") and not _scratch_expr(func.value, local):
                return effect(WRITE, f"writes a file (`.open({mode!r})`)")
            return None
        if method in SQL_EXECUTORS and call.args:
            found = self._sql(call.args[0].value, local)
            if found is not None:
                kind, verb = found
                return effect(kind, f"runs `{verb}` SQL (`.{method}()`)")
            if method in RAW_SQL_METHODS or _DB_RECEIVER.search((receiver or "").rsplit(".", 1)[-1]):
                statement = call.args[0].value
                if isinstance(statement, cst.Call) and statement.args and \
                        (dotted(statement.func) or "").rsplit(".", 1)[-1] == "text":
                    statement = statement.args[0].value  # sqlalchemy.text(query)
                if not (_leading_text(statement) or "").strip() and tainted(statement) and \
                        not command_object(self.ctx, function_params(local.function, self.ctx.imports), statement) \
                        and not local.guards_read_only() and not _guards_read_only(self._tool):
                    return effect(EXECUTE, f"runs SQL chosen by the client (`{receiver or '…'}.{method}()`)",
                                  certain=False)
        if method in FRAME_WRITERS and (any(a.keyword is None and not a.star for a in call.args) or any(
                a.keyword is not None and a.keyword.value in ("path", "path_or_buf", "excel_writer", "name")
                for a in call.args)):
            return effect(WRITE, f"writes a file (`.{method}()`)")
        if receiver is not None and (receiver == "git" or receiver.endswith(".git")):  # GitPython: repo.git.reset()
            kind = _verb_kind(method.replace("_", "-"))
            if kind is not None:
                return effect(kind, f"runs `git {method.replace('_', '-')}` (`{receiver}.{method}()`)")
        if head in ("self", "cls") and "." not in (receiver or ""):
            return None  # the class's own method: followed, not guessed
        if self.ctx.imports.qualify_dotted(head).split(".", 1)[0] in _LIBRARY_MODULES or any(
                receiver == root or (receiver or "").startswith(root + ".") for root in self._sdk_roots):
            return None  # a library function (`asyncio.create_task`), the SDK's objects: not a client's method
        label = f"`{receiver or '…'}.{method}()`"
        if method in ("put", "patch") and receiver is not None and _HTTP_RECEIVER.search(receiver.rsplit(".", 1)[-1]):
            return effect(WRITE, f"sends an HTTP {method.upper()} ({label})", certain=False)
        if method in MONGO_WRITES:
            return effect(WRITE, f"writes documents ({label})", certain=False)
        if method in _NOT_WRITES:
            return None
        if _DELETE_METHOD.match(method):
            return effect(DELETE, f"deletes ({label})", certain=False)
        if _WRITE_METHOD.match(method):
            return effect(WRITE, f"writes ({label})", certain=False)
        if method == "save" and receiver is not None and not _scratch(call, 0, "fp", local):
            return effect(WRITE, f"saves ({label})", certain=False)  # not `image.save(buf)` into memory
        return None

    def _command(self, call: cst.Call, qualified: str, tainted, effect, local) -> Effect | None:
        first = argument(call, 0, "args") or argument(call, 0, "cmd") or argument(call, 0, "command")
        if first is None:
            return None
        if qualified in PROGRAM_FIRST:
            rest = [a.value for a in call.args[1:] if a.keyword is None and not a.star]
            if tainted(first):
                return effect(EXECUTE, f"runs a program chosen by the client (`{qualified}`)")
            kind, shown = _command_kind([_word(first), *(_word(e) for e in rest)])
            return effect(kind, f"runs `{shown}` (`{qualified}`)") if kind is not None else None
        found: Effect | None = None
        for candidate in _command_values(first, local):
            if isinstance(candidate, (cst.List, cst.Tuple)):
                elements = [e.value for e in candidate.elements]
                if elements and not isinstance(candidate.elements[0], cst.StarredElement) and tainted(elements[0]):
                    return effect(EXECUTE, f"runs a program chosen by the client (`{qualified}`)")
                words = [_word(e) if not isinstance(e, cst.StarredElement) else None for e in elements]
            elif (spliced := _list_sum(candidate)) is not None:
                # ["kubectl"] + context_args + ["get", "pods"]: a literal verb decides
                # (the spliced list holds options); without one, the client's input does
                if tainted(spliced[0]):
                    return effect(EXECUTE, f"runs a program chosen by the client (`{qualified}`)")
                words = [_word(e) if e is not None else None for e in spliced]
                if not _fixed_verb(words) and tainted(candidate):
                    return effect(EXECUTE, f"runs a command chosen by the client (`{qualified}`)")
            else:
                text = _leading_text(candidate)
                if not text or not text.strip():
                    if tainted(candidate):  # the whole command, or its first word, comes from the client
                        return effect(EXECUTE, f"runs a command chosen by the client (`{qualified}`)")
                    continue
                words = [*text.split(), None]
            kind, shown = _command_kind(words)
            if kind is not None and (found is None or _KINDS.index(kind) < _KINDS.index(found.kind)):
                found = effect(kind, f"runs `{shown}` (`{qualified}`)")
        return found

    def _sql(self, expr: cst.BaseExpression, local: "_Locals") -> tuple[str, str] | None:
        if isinstance(expr, cst.Call) and expr.args and (dotted(expr.func) or "").rsplit(".", 1)[-1] == "text":
            expr = expr.args[0].value  # sqlalchemy.text("DELETE ...")
        if isinstance(expr, cst.Name) and local.get(expr.value):
            expr = local.get(expr.value)[0]
        text = _leading_text(expr)
        if not text:
            return None
        for kind, pattern in ((DELETE, _SQL_DELETE), (WRITE, _SQL_WRITE)):
            match = pattern.match(text)
            if match:
                words = match.group(0).upper().split()
                keep = 2 if len(words) > 1 and words[1] in _SQL_OBJECTS else 1
                return kind, " ".join(words[:keep])
        return None


def _is_sdk_object(param) -> bool:
    """An injected MCP context or session (not an application dependency from `Depends`)."""
    default = param.node.default
    name = (dotted(default.func) or "") if isinstance(default, cst.Call) else ""
    return "Context" in (param.annotation or "") or "Session" in (param.annotation or "") or \
        name.rsplit(".", 1)[-1].startswith(("Current", "OptionalCurrent"))


class _LazyTaint:
    """Inside a helper: does a value derive from the helper's parameters, when the tool
    passed it client input? Built on first use (most helpers never need it)."""

    def __init__(self, function: cst.FunctionDef, imports, passes_input) -> None:
        self.function, self.imports, self.passes_input = function, imports, passes_input
        self.flow = None
        self.ready = False

    def __call__(self, expr) -> bool:
        if not self.ready:
            self.ready = True
            if self.passes_input():
                from mcplint.mcp.taint import FunctionFlow

                params = [p for p in function_params(self.function, self.imports) if not p.star]
                self.flow = FunctionFlow(self.function, params, self.imports)
        return self.flow is not None and expr is not None and self.flow.taint_of(expr) is not None


class _Locals:
    """Every value assigned to each plain local name of a function, read on first use."""

    def __init__(self, function: cst.FunctionDef) -> None:
        self.function = function
        self._values: dict[str, list[cst.BaseExpression]] | None = None

    def get(self, name: str) -> list[cst.BaseExpression] | None:
        if self._values is None:
            self._values = _assignments(self.function)
        return self._values.get(name)

    def __bool__(self) -> bool:
        return True

    def guards_read_only(self) -> bool:
        return _guards_read_only(self.function)


def _body_nodes(function: cst.FunctionDef):
    """Nodes of a function body, nested functions included (callbacks such as
    `anyio.to_thread.run_sync(_run)` run as part of the call), classes not."""
    nodes = walk.pruned(function.body, (cst.ClassDef,))
    next(nodes)  # the body itself
    return nodes


def _guards_read_only(function: cst.FunctionDef | None) -> bool:
    """Does the function let only reading statements through (`q.upper().startswith("SELECT")`,
    `re.match(r"^\\s*select", q)`, `kind == "SELECT"`) or use a read-only connection?"""
    if function is None:
        return False
    for node in _body_nodes(function):
        if isinstance(node, cst.Call) and isinstance(node.func, (cst.Attribute, cst.Name)):
            name = node.func.attr.value if isinstance(node.func, cst.Attribute) else node.func.value
            if name in _CHECKS and any(_SELECT.match(text) for a in node.args for text in _literals(a.value)):
                return True
        elif isinstance(node, cst.Comparison):
            if any(_SELECT.match(text) for part in (node.left, *(c.comparator for c in node.comparisons))
                   for text in _literals(part)):
                return True
        elif isinstance(node, (cst.Name, cst.Attribute)) and _READ_ONLY_NAME.search(dotted(node) or ""):
            return True
        elif isinstance(node, cst.SimpleString) and _READ_ONLY_NAME.search(string_value(node) or ""):
            return True
    return False


def _literals(expr: cst.BaseExpression) -> list[str]:
    """The string literals of an expression, or of a tuple/list/set of them."""
    if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
        return [t for e in expr.elements if (t := string_value(e.value)) is not None]
    text = string_value(expr)
    return [text] if text is not None else []


def _assignments(function: cst.FunctionDef) -> dict[str, list[cst.BaseExpression]]:
    """Every value assigned to each plain local name in the function (`cmd = f"..."` on two branches);
    `with tempfile.NamedTemporaryFile() as f` assigns the context manager to `f`."""
    out: dict[str, list[cst.BaseExpression]] = {}
    for node in _body_nodes(function):
        if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            out.setdefault(node.targets[0].target.value, []).append(node.value)
        elif isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name) and node.value is not None:
            out.setdefault(node.target.value, []).append(node.value)
        elif isinstance(node, cst.With):
            for item in node.items:
                if item.asname is not None and isinstance(item.asname.name, cst.Name):
                    out.setdefault(item.asname.name.value, []).append(item.item)
    return out


def _command_values(expr: cst.BaseExpression, local: "_Locals", depth: int = 0):
    """What a command argument may hold: `cmd.split()`, `shlex.split(cmd)` and local names resolved."""
    if isinstance(expr, cst.Call):
        func = expr.func
        if isinstance(func, cst.Attribute) and func.attr.value == "split" and not expr.args:
            yield from _command_values(func.value, local, depth)
            return
        if (dotted(func) or "").endswith("shlex.split") or dotted(func) == "split" and expr.args:
            yield from _command_values(expr.args[0].value, local, depth)
            return
    if isinstance(expr, cst.Name) and depth < 2 and local.get(expr.value):
        for value in local.get(expr.value):
            yield from _command_values(value, local, depth + 1)
        return
    yield expr


def _list_sum(expr: cst.BaseExpression) -> list[cst.BaseExpression | None] | None:
    """`["kubectl"] + args + ["get", name]`: its elements, None for each spliced list,
    when the sum starts with a literal list."""
    operands: list[cst.BaseExpression] = []
    while isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        operands.append(expr.right)
        expr = expr.left
    operands.append(expr)
    operands.reverse()
    first = operands[0]
    if len(operands) < 2 or not isinstance(first, (cst.List, cst.Tuple)) or not first.elements \
            or isinstance(first.elements[0], cst.StarredElement):
        return None
    elements: list[cst.BaseExpression | None] = []
    for operand in operands:
        if isinstance(operand, (cst.List, cst.Tuple)):
            elements += [None if isinstance(e, cst.StarredElement) else e.value for e in operand.elements]
        else:
            elements.append(None)
    return elements


def _fixed_verb(words: list[str | None]) -> bool:
    """Does a literal word after the program say what a verb program does (`kubectl
    [options] get`)? A program that takes no verb is judged by its name alone."""
    if not words or words[0] is None or _program(words[0]) not in VERB_PROGRAMS:
        return False
    for before, word in zip(words[1:], words[2:]):
        if word is None or word.startswith("-") or "=" in word or word.lower() in VERB_GROUPS:
            continue
        if before is None or not before.startswith("-"):  # `-n default`: an option's value
            return True
    return len(words) > 1 and words[1] is not None and not words[1].startswith("-") \
        and words[1].lower() not in VERB_GROUPS


def _leading_text(expr: cst.BaseExpression) -> str | None:
    """The constant text a string expression starts with (up to its first placeholder)."""
    literal = string_value(expr)
    if literal is not None:
        return literal
    if isinstance(expr, cst.FormattedString):
        text = ""
        for part in expr.parts:
            if not isinstance(part, cst.FormattedStringText):
                break
            text += part.value
        return text
    if isinstance(expr, cst.ConcatenatedString):
        return _leading_text(expr.left)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Add, cst.Modulo)):
        return _leading_text(expr.left)
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "format":
        return _leading_text(expr.func.value)
    return None


def _word(expr: cst.BaseExpression) -> str | None:
    return string_value(expr)


def _program(word: str) -> str:
    return word.rsplit("/", 1)[-1].lower()


def _verb_kind(verb: str) -> str | None:
    verb = verb.lstrip("-").lower()
    if verb in EXEC_VERBS:
        return EXECUTE
    if verb in DELETE_VERBS:
        return DELETE
    if verb in WRITE_VERBS:
        return WRITE
    return None


def _command_kind(words: list[str | None]) -> tuple[str | None, str]:
    """What a command does, from its constant words: (kind, the words that say so)."""
    if not words or words[0] is None:
        return None, ""
    if len(words) == 1 and " " in words[0]:
        words = words[0].split()  # ["rm -rf /tmp/x"] with shell=True
    program = _program(words[0])
    if program in ("sudo", "doas", "nohup", "env", "time") and len(words) > 1 and words[1] is not None:
        words = words[1:]
        program = _program(words[0])
    if program in DELETE_PROGRAMS:
        return DELETE, program
    if program in WRITE_PROGRAMS:
        return WRITE, program
    if program not in VERB_PROGRAMS:
        return None, ""
    shown = [program]
    for word in words[1:]:
        if word is None or word.startswith("-") or "=" in word or "{" in word:
            continue  # options, their values given inline, and unknown parts
        shown.append(word)
        if word.lower() in VERB_GROUPS and len(shown) < 3:
            continue
        kind = _verb_kind(word)
        return kind, " ".join(shown)
    return None, ""


def _http_method(method: str | None, qualified: str, effect) -> Effect | None:
    method = (method or "").upper()
    if method == "DELETE":
        return effect(DELETE, f"sends an HTTP DELETE (`{qualified}`)")
    if method in ("PUT", "PATCH"):
        return effect(WRITE, f"sends an HTTP {method} (`{qualified}`)")
    return None


_SCRATCH_WORDS = frozenset({"tmp", "temp", "tempdir", "tmpdir", "tempfile", "tmpfile", "mkdtemp", "mkstemp",
                            "gettempdir", "temporarydirectory", "namedtemporaryfile", "devnull", "stdout", "stderr",
                            "buffer", "buf", "bytesio", "stringio", "scratch"})


def _scratch_name(name: str) -> bool:
    return any(part in _SCRATCH_WORDS for part in re.split(r"[._]", name.lower()))


def _scratch_expr(expr: cst.BaseExpression, local: "_Locals | None" = None,
                  depth: int = 0) -> bool:
    """A temporary or in-memory target: writing there changes nothing that lasts.
    A local name is judged by what was assigned to it (`out = Path(tmp_dir) / "x"`), past a
    `path = None` placeholder (`values_file = None` before `with tempfile.NamedTemporaryFile()
    as f: values_file = f.name`)."""
    for node in walk.iter_nodes(expr):
        name = dotted(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
        if name is None:
            continue
        if _scratch_name(name):
            return True
        if local and depth < 2 and isinstance(node, cst.Name):
            values = [v for v in local.get(name) or () if not is_none(v)]
            if values and all(_scratch_expr(value, local, depth + 1) for value in values):
                return True
    return False


# tempfile calls that create a file or directory under a fresh name: (kind of value, index of
# the path in a returned tuple). "path" is the path itself, "holder" an object whose `.name` is.
_TEMP_CREATORS = {
    "tempfile.mkstemp": ("path", 1), "tempfile.mkdtemp": ("path", None),
    "tempfile.NamedTemporaryFile": ("holder", None), "tempfile.TemporaryDirectory": ("holder", None),
}


def temporary_path(expr: cst.BaseExpression, function: cst.FunctionDef, qualify) -> bool:
    """A path the code created itself with `tempfile` (`fd, path = tempfile.mkstemp(dir=d)`,
    `f.name` of `with tempfile.NamedTemporaryFile() as f`, `tempfile.mkdtemp()`): a new file
    or directory with a fresh name, whatever directory or prefix it was given, so deleting or
    rewriting it touches nothing else. A local name counts when every value it is given, past
    a `path = None` placeholder, is such a path; a parameter or a loop variable does not."""
    return _temporary(expr, function, qualify, "path", 0)


def _temporary(expr, function, qualify, kind: str, depth: int) -> bool:
    if isinstance(expr, cst.Call):
        created = _TEMP_CREATORS.get(qualify(expr.func) or "")
        return created is not None and created == (kind, None)
    if kind == "path" and isinstance(expr, cst.Attribute) and expr.attr.value == "name":
        return _temporary(expr.value, function, qualify, "holder", depth)
    if not isinstance(expr, cst.Name) or depth > 2:
        return False
    bindings = _bindings(function, expr.value)
    if not bindings:
        return False
    for value, index, entered in bindings:
        if value is None:
            return False  # bound some other way (a loop, a parameter, an augmented assignment)
        if is_none(value):
            continue
        if isinstance(value, cst.Call):
            created = _TEMP_CREATORS.get(qualify(value.func) or "")
            if created is not None:
                made, at = created
                # `with TemporaryDirectory() as d`: `d` is the path; `with NamedTemporaryFile() as f`: the file
                if entered and made == "holder" and (qualify(value.func) or "").endswith("Directory"):
                    made = "path"
                if made == kind and at == index:
                    continue
                return False
        if index is None and _temporary(value, function, qualify, kind, depth + 1):
            continue
        return False
    return any(not is_none(v) for v, _, _ in bindings)


# The node types `_bindings` reads (libcst's concrete node classes have no subclasses).
_BINDERS = frozenset({cst.FunctionDef, cst.Lambda, cst.Assign, cst.AnnAssign, cst.With, cst.For, cst.CompFor,
                      cst.AugAssign, cst.NamedExpr, cst.ExceptHandler})


def _bindings(function: cst.FunctionDef, name: str) -> list[tuple[cst.BaseExpression | None, int | None, bool]]:
    """How `name` is bound in the function: (value, index in an unpacked tuple, bound by `with`);
    a value of None for a binding that is not an assignment."""
    out: list[tuple[cst.BaseExpression | None, int | None, bool]] = []
    for node in (function, *_body_nodes(function)):
        if type(node) not in _BINDERS:
            continue  # most nodes: one set lookup, not nine `isinstance` checks against libcst's ABCs
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            params = node.params
            every = (*params.posonly_params, *params.params, *params.kwonly_params)
            star = [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
            if any(p.name.value == name for p in (*every, *star)):
                out.append((None, None, False))
        elif isinstance(node, cst.Assign):
            for target in node.targets:
                out.extend((node.value, index, False) for index in _positions(target.target, name))
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            out.extend((node.value, index, False) for index in _positions(node.target, name))
        elif isinstance(node, cst.With):
            for item in node.items:
                if item.asname is not None:
                    out.extend((item.item, index, True) for index in _positions(item.asname.name, name))
        elif isinstance(node, (cst.For, cst.CompFor)):
            out.extend((None, None, False) for _ in _positions(node.target, name))
        elif isinstance(node, cst.AugAssign):
            out.extend((None, None, False) for _ in _positions(node.target, name))
        elif isinstance(node, cst.NamedExpr):
            out.extend((None, None, False) for _ in _positions(node.target, name))
        elif isinstance(node, cst.ExceptHandler) and node.name is not None:
            out.extend((None, None, False) for _ in _positions(node.name.name, name))
    return out


def _positions(target: cst.BaseExpression, name: str) -> list[int | None]:
    """Where `name` sits in an assignment target: [None] for the whole value, [i] for the
    i-th element of a tuple unpacked, [] when it is not assigned there."""
    if isinstance(target, cst.Name):
        return [None] if target.value == name else []
    if isinstance(target, (cst.Tuple, cst.List)):
        found: list[int | None] = []
        for i, element in enumerate(target.elements):
            if isinstance(element, cst.Element) and isinstance(element.value, cst.Name):
                found.extend([i] if element.value.value == name else [])
            elif _positions(element.value, name):
                found.append(-1)  # starred or nested deeper: no tempfile path sits there
        return found
    return []


def _scratch(call: cst.Call, position: int, keyword: str, local) -> bool:
    target = argument(call, position, keyword)
    return target is not None and _scratch_expr(target, local)
