import re

import libcst as cst

from mcplint.mcp import walk
from mcplint.finding import Confidence, Severity
from mcplint.mcp import sdk
from mcplint.mcp.builder import argument, string_value
from mcplint.mcp.effects import temporary_path
from mcplint.mcp.model import Handler
from mcplint.mcp.names import dotted
from mcplint.mcp.taint import Taint
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule

# Calls that open, list, create or delete the path they are given: qualified name ->
# the (position, keyword) of each path argument.
FILE_CALLS: dict[str, tuple[tuple[int, str], ...]] = {
    "open": ((0, "file"),),
    "builtins.open": ((0, "file"),),
    "io.open": ((0, "file"),),
    "codecs.open": ((0, "filename"),),
    "os.open": ((0, "path"),),
    "aiofiles.open": ((0, "file"),),
    "anyio.open_file": ((0, "file"),),
    "os.remove": ((0, "path"),),
    "os.unlink": ((0, "path"),),
    "os.rmdir": ((0, "path"),),
    "os.removedirs": ((0, "name"),),
    "os.listdir": ((0, "path"),),
    "os.scandir": ((0, "path"),),
    "os.walk": ((0, "top"),),
    "os.mkdir": ((0, "path"),),
    "os.makedirs": ((0, "name"),),
    "os.chmod": ((0, "path"),),
    "os.chown": ((0, "path"),),
    "os.truncate": ((0, "path"),),
    "os.rename": ((0, "src"), (1, "dst")),
    "os.renames": ((0, "old"), (1, "new")),
    "os.replace": ((0, "src"), (1, "dst")),
    "os.symlink": ((0, "src"), (1, "dst")),
    "os.link": ((0, "src"), (1, "dst")),
    "aiofiles.os.remove": ((0, "path"),),
    "aiofiles.os.listdir": ((0, "path"),),
    "shutil.rmtree": ((0, "path"),),
    "shutil.copy": ((0, "src"), (1, "dst")),
    "shutil.copy2": ((0, "src"), (1, "dst")),
    "shutil.copyfile": ((0, "src"), (1, "dst")),
    "shutil.copytree": ((0, "src"), (1, "dst")),
    "shutil.move": ((0, "src"), (1, "dst")),
    "shutil.make_archive": ((0, "base_name"), (2, "root_dir")),
    "shutil.unpack_archive": ((0, "filename"), (1, "extract_dir")),
    "glob.glob": ((0, "pathname"),),
    "glob.iglob": ((0, "pathname"),),
    "tarfile.open": ((0, "name"),),
    "tarfile.TarFile": ((0, "name"),),
    "zipfile.ZipFile": ((0, "file"),),
    "flask.send_file": ((0, "path_or_file"),),
    "starlette.responses.FileResponse": ((0, "path"),),
    "fastapi.responses.FileResponse": ((0, "path"),),
    "PIL.Image.open": ((0, "fp"),),
    "openpyxl.load_workbook": ((0, "filename"),),
    "pandas.read_csv": ((0, "filepath_or_buffer"),),
    "pandas.read_excel": ((0, "io"),),
    "pandas.read_json": ((0, "path_or_buf"),),
    "pandas.read_parquet": ((0, "path"),),
    # The SDKs' content helpers read the file and send it to the client.
    **{f"{module}.{cls}": ((0, "path"),)
       for module in ("mcp.server.fastmcp", "mcp.server.fastmcp.utilities.types", "mcp.server.mcpserver",
                      "mcp.server.mcpserver.utilities.types", "fastmcp", "fastmcp.utilities.types")
       for cls in ("Image", "Audio", "File")},
}
# Methods only path objects have: a tainted receiver is a tainted path.
PATH_METHODS = frozenset(
    {"read_text", "read_bytes", "write_text", "write_bytes", "iterdir", "rglob", "unlink", "rmdir", "mkdir",
     "symlink_to", "hardlink_to", "lchmod", "readlink"}
)
# Methods other objects have too: reported only on a receiver known to be a path
# (`touch`: a session's, a cache entry's or a transaction's last-used stamp as often).
AMBIGUOUS_PATH_METHODS = frozenset({"open", "glob", "walk", "chmod", "rename", "replace", "copy", "move", "touch"})
# ... and of those, the ones whose first argument is a second path.
TWO_PATH_METHODS = frozenset({"rename", "replace", "copy", "move", "symlink_to", "hardlink_to"})
# Archive extraction: the destination directory.
EXTRACT_METHODS = {"extractall": (0, "path"), "extract": (1, "path")}
# Data frames written to a file (pandas, Polars): names no other common object has.
# (`to_json`, `to_html`, `to_markdown` are left out: other libraries' objects have them
# too, and pandas' also write to a buffer or return text.)
WRITER_METHODS = {
    **{method: (0, "path") for method in ("to_parquet", "to_feather", "to_pickle", "to_stata", "to_orc")},
    "to_csv": (0, "path_or_buf"), "to_excel": (0, "excel_writer"), "to_hdf": (0, "path_or_buf"),
    **{method: (0, "file") for method in ("write_csv", "write_parquet", "write_ipc", "write_ndjson", "write_avro")},
    "write_excel": (0, "workbook"),
}

PATH_CONSTRUCTORS = frozenset(
    {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePosixPath",
     "pathlib.PureWindowsPath", "anyio.Path", "trio.Path", "aiopath.AsyncPath", "zipfile.Path"}
)
PATH_RETURNING = frozenset(
    {"resolve", "absolute", "expanduser", "joinpath", "with_name", "with_suffix", "with_stem", "relative_to"}
)
PATH_ANNOTATION = lazy_compile(r"\b(?:Pure)?(?:Posix|Windows)?Path\b|\bAsyncPath\b")

# File objects in memory: `Image.open(io.BytesIO(data))` opens no path.
IN_MEMORY_FILES = frozenset({"io.BytesIO", "io.StringIO", "tempfile.SpooledTemporaryFile"})
# Calls that normalise a path (collapse `..`), which a containment check needs first.
NORMALISERS = frozenset({"os.path.realpath", "os.path.abspath", "os.path.normpath", "posixpath.normpath"})
# Library functions that join and confine in one go.
CONFINING_CALLS = frozenset(
    {"mcp.shared.path_security.safe_join", "werkzeug.utils.safe_join", "werkzeug.security.safe_join",
     "flask.safe_join", "flask.helpers.safe_join"}
)
# Functions defined elsewhere whose name promises a path check.
VALIDATOR_NAME = lazy_compile(r"safe|valid|saniti|secure|confine|allowed|permitted|check_?path|within|jail",
                            re.IGNORECASE)
# A trivially short `startswith` argument is a deny-list (`"/"`, `".."`), not a base directory.
DENYLIST_PREFIXES = frozenset({"/", "..", "~", "\\", ".", "../", "./"})

FULL, PARTIAL = 2, 1


_FUNCTIONS = frozenset({cst.FunctionDef, cst.Lambda})


def _subtree_calls(node: cst.CSTNode):
    """Every Call under `node`, not descending into nested function definitions."""
    return (n for n in walk.pruned(node, _FUNCTIONS) if type(n) is cst.Call)


class _GuardScan(walk.TableVisitor):
    """Containment checks in one function body: (checked expression, kind)."""

    def __init__(self, qualify) -> None:
        self.qualify = qualify
        self.checks: list[tuple[cst.BaseExpression, str]] = []  # kind: "contain" or "deny"
        self.calls: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)
        func = node.func
        qualified = self.qualify(func) or ""
        if qualified in ("os.path.commonpath", "os.path.commonprefix"):
            paths = argument(node, 0, "paths") or argument(node, 0, "list")
            if isinstance(paths, (cst.List, cst.Tuple)):
                self.checks.extend((e.value, "contain") for e in paths.elements)
            return
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method in ("is_relative_to", "relative_to"):
            self.checks.append((func.value, "contain"))
        elif method == "startswith":
            kind = _prefix_kind(argument(node, 0, "prefix"))
            if kind is not None:
                self.checks.append((func.value, kind))

    def visit_Comparison(self, node: cst.Comparison) -> None:
        left = node.left
        for target in node.comparisons:
            if not isinstance(target.operator, (cst.In, cst.NotIn)):
                continue
            right = target.comparator
            literal = string_value(left)
            if literal is not None and ".." in literal:
                self.checks.append((right, "deny"))  # `".." in path`
            elif isinstance(right, cst.Attribute) and right.attr.value == "parents":
                self.checks.append((right.value, "contain"))  # `base in path.parents`


def _prefix_kind(prefix: cst.BaseExpression | None) -> str | None:
    """What `x.startswith(prefix)` checks: "deny" (`"/"`, `".."`), "contain" (a base directory), or None."""
    if prefix is None:
        return None
    if isinstance(prefix, cst.Tuple):
        kinds = {_prefix_kind(e.value) for e in prefix.elements}
        return "contain" if "contain" in kinds else "deny" if "deny" in kinds else None
    literal = string_value(prefix)
    if literal is None:
        return "contain"  # a base directory held in a variable: `str(BASE)`
    if literal in DENYLIST_PREFIXES:
        return "deny"
    # `name.startswith("_")` is about something else; `"/srv/data"` is a base directory.
    return "contain" if literal.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", literal) else None


def _is_digest(expr: cst.CSTNode | None, qualify) -> bool:
    """`hashlib.sha256(data).hexdigest()`, `uuid.uuid5(...)`: no trace of the input's text is left."""
    if not isinstance(expr, cst.Call):
        return False
    func = expr.func
    if isinstance(func, cst.Attribute) and func.attr.value in ("hexdigest", "digest"):
        return True
    return (qualify(func) or "").startswith(("hashlib.", "uuid."))


def _normalises(node: cst.CSTNode, qualify) -> bool:
    for call in _subtree_calls(node):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "resolve":
            return True
        if (qualify(func) or "") in NORMALISERS:
            return True
    return False


class ToolPathTraversal(Rule):
    """A tool parameter is used as a file path that is not confined to a base directory.

    ## What it does
    Reports file operations (`open`, `os.remove`, `os.listdir`, `shutil.rmtree`,
    `shutil.copy`, `tarfile.open`, `Path(...).read_text()`, `.write_bytes()`,
    `.unlink()`, archive `.extractall()`, `pandas.read_csv` and similar, data frames'
    `.to_csv()`, `.to_parquet()`, `.write_csv()` and similar) whose path
    derives from an untrusted parameter of a tool, resource template or prompt,
    including values joined onto a base directory with `os.path.join(base, x)` or
    `base / x`.

    Stays silent when the path is confined before the operation, on the same branch:
    resolved (`Path.resolve()`, `os.path.realpath`/`abspath`) and checked
    (`is_relative_to(base)`, `relative_to(base)`, `os.path.commonpath`,
    `startswith(base)`), in the handler or in a function of the same file that the
    value is passed to; joined with a confining helper (`mcp.shared.path_security.safe_join`,
    werkzeug's `safe_join`); or a template variable of an `MCPServer` (SDK v2)
    resource, which the SDK's default `ResourceSecurity` checks. Also silent for
    `os.path.basename(x)`, `Path(x).name`, `secure_filename(x)`, hash digests,
    in-memory buffers (`io.BytesIO(data)`) and a file the code created with `tempfile`
    (`fd, path = tempfile.mkstemp(dir=x)`, `f.name` of a `NamedTemporaryFile`), which
    has a fresh name wherever it was put; and when the value is checked against an
    allow-list first (`if name not in ALLOWED: raise`, or the operation inside `if name
    in ALLOWED:`), in the tool or in a function on the way (a cache lookup that returns
    early is no such check). A check without normalisation, a deny-list
    (`".." in path`) or a validator from another module lowers the confidence to
    medium. Whether a check's outcome actually stops the operation is not verified.

    ## Why is this bad?
    A `..` segment or an absolute path (which `os.path.join` and `/` let replace the
    base entirely) lets whoever steers the agent read `~/.ssh/id_rsa` or `.env`, or
    overwrite and delete files anywhere the server's user can. A prompt injected into
    a document the agent reads is enough. A tool meant to "read any file" is the same
    exposure: the agent's caller, not the user, chooses the path.

    ## Example
    ```python
    from pathlib import Path
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("notes")
    NOTES = Path.home() / "notes"

    @mcp.resource("notes://{name}")
    def read_note(name: str) -> str:
        return (NOTES / name).read_text()
    ```

    ## Use instead
    Resolve the path and check that it is still inside the base directory.
    ```python
    from pathlib import Path
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("notes")
    NOTES = (Path.home() / "notes").resolve()

    @mcp.resource("notes://{name}")
    def read_note(name: str) -> str:
        path = (NOTES / name).resolve()
        if not path.is_relative_to(NOTES):
            raise ValueError("note outside the notes directory")
        return path.read_text()
    ```

    ## References
    - [CWE-22: Path Traversal](https://cwe.mitre.org/data/definitions/22.html)
    - [OWASP: Path Traversal](https://owasp.org/www-community/attacks/Path_Traversal)
    """

    code = "MCP202"
    name = "tool-path-traversal"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = 22
    checklist = "MCP-C03"
    allow_list_sanitizes = True
    in_imported_modules = False  # each report carries tool input
    message = "{handler} parameter `{param}` is used as a file path in `{sink}`{detail}"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._path_names: dict[int, set[str]] = {}
        self._guard_lists: dict[int, list[tuple[str, int, str, cst.CSTNode]]] = {}
        self._parent_maps: dict[int, Parents] = {}
        self._function_levels: dict[str, int] = {}
        self._functions: dict[str, list[cst.FunctionDef]] | None = None

    # -- sinks -------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        handler = self.ctx.handler
        if handler is None:
            return
        for expr, sink in self._path_arguments(node, handler):
            taint = self.ctx.taint(expr)
            if taint is None or self._sanitised(expr, taint):
                continue
            if temporary_path(expr, handler.function, self.ctx.qualify):
                continue  # a file the code made with `tempfile`, in a directory the input chose
            level, why = self._guard_level(handler, taint.param, node)
            if level == FULL:
                return
            self.report(
                node,
                taint=taint,
                confidence=Confidence.MEDIUM if level == PARTIAL else None,
                param=taint.param,
                sink=sink,
                detail=f" ({why})" if why else "",
            )
            return

    def _path_arguments(self, node: cst.Call, handler: Handler):
        qualified = self.ctx.qualify(node.func) or ""
        spec = FILE_CALLS.get(qualified)
        if spec is not None:
            for position, keyword in spec:
                expr = argument(node, position, keyword)
                if expr is not None:
                    yield expr, qualified
            return
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method in EXTRACT_METHODS or method in WRITER_METHODS:
            position, keyword = EXTRACT_METHODS.get(method) or WRITER_METHODS[method]
            expr = argument(node, position, keyword)
            if expr is not None:
                yield expr, f".{method}()"
            return
        if method in PATH_METHODS or (method in AMBIGUOUS_PATH_METHODS and self._is_path(func.value, handler)):
            yield func.value, f"Path.{method}()"
            if method in TWO_PATH_METHODS:
                target = argument(node, 0, "target")
                if target is not None:
                    yield target, f"Path.{method}()"

    # -- what is a path ------------------------------------------------------------
    def _is_path(self, expr: cst.BaseExpression, handler: Handler, names: set[str] | None = None) -> bool:
        names = self._names(handler) if names is None else names
        if isinstance(expr, cst.Call):
            qualified = self.ctx.qualify(expr.func) or ""
            if qualified in PATH_CONSTRUCTORS or qualified.startswith("pathlib."):
                return True
            func = expr.func
            return isinstance(func, cst.Attribute) and func.attr.value in PATH_RETURNING and \
                self._is_path(func.value, handler, names)
        if isinstance(expr, cst.BinaryOperation):
            return isinstance(expr.operator, cst.Divide)
        if isinstance(expr, cst.Attribute) and expr.attr.value == "parent":
            return self._is_path(expr.value, handler, names)
        name = dotted(expr)
        return name is not None and name in names

    def _names(self, handler: Handler) -> set[str]:
        """Local names bound to path objects in the handler (and `Path`-typed parameters)."""
        key = id(handler.function)
        if key in self._path_names:
            return self._path_names[key]
        names = {p.name for p in handler.params if p.annotation and PATH_ANNOTATION.search(p.annotation)}
        self._path_names[key] = names
        for node in walk.iter_nodes(handler.function.body):
            if type(node) is cst.Assign:
                if self._is_path(node.value, handler, names):
                    names.update(n for t in node.targets if (n := dotted(t.target)))
            elif type(node) is cst.AnnAssign:
                target = dotted(node.target)
                annotated = PATH_ANNOTATION.search(self.ctx.code_for(node.annotation.annotation))
                if target and (annotated or (node.value is not None and self._is_path(node.value, handler, names))):
                    names.add(target)
        return names

    # -- what makes it safe ----------------------------------------------------------
    def _sanitised(self, expr: cst.BaseExpression, taint: Taint) -> bool:
        if "os.path.basename" in taint.sanitizers:
            return True
        for node in (expr, *(step.node for step in taint.steps)):
            value = node.value if isinstance(node, (cst.Assign, cst.AnnAssign)) else node
            if _is_digest(value, self.ctx.qualify) or (
                    isinstance(value, cst.Call) and (self.ctx.qualify(value.func) or "") in IN_MEMORY_FILES):
                return True
            for call in _subtree_calls(node):
                if (self.ctx.qualify(call.func) or "").endswith("secure_filename") and self.ctx.taint(call):
                    return True
            if self._takes_name(node):
                return True
        return False

    def _takes_name(self, node: cst.CSTNode) -> bool:
        """`Path(x).name` / `.stem` under `node`: only the last component survives."""
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Attribute) and current.attr.value in ("name", "stem"):
                value = current.value
                if isinstance(value, cst.Call) and (self.ctx.qualify(value.func) or "") in PATH_CONSTRUCTORS \
                        and self.ctx.taint(value) is not None:
                    return True
            stack.extend(walk.children(current))
        return False

    def _guard_level(self, handler: Handler, param: str, sink: cst.Call) -> tuple[int, str]:
        """The strongest check of `param` that runs before `sink`: (level, note)."""
        best = (0, "")
        for checked_param, level, why, node in self._guards(handler):
            if checked_param == param and level > best[0] and self._parents(handler).precedes(node, sink):
                best = (level, why)
        return best

    def _parents(self, handler: Handler) -> "Parents":
        key = id(handler.function)
        if key not in self._parent_maps:
            self._parent_maps[key] = Parents(handler.function)
        return self._parent_maps[key]

    def _guards(self, handler: Handler) -> list[tuple[str, int, str, cst.CSTNode]]:
        """Confinement checks in the handler: (parameter, level, note, where)."""
        key = id(handler.function)
        if key in self._guard_lists:
            return self._guard_lists[key]
        guards: list[tuple[str, int, str, cst.CSTNode]] = []
        self._guard_lists[key] = guards
        for param in _sdk_checked_params(handler):
            guards.append((param, FULL, "", handler.function))

        scan = _GuardScan(self.ctx.qualify)
        walk.visit(handler.function.body, scan)
        for checked, kind in scan.checks:
            taint = self.ctx.taint(checked, handler)
            if taint is None:
                continue
            if kind == "deny":
                level, why = PARTIAL, "a deny-list check does not stop absolute paths or symlinks"
            elif any(_normalises(n, self.ctx.qualify) for n in (checked, *(s.node for s in taint.steps))):
                level, why = FULL, ""
            else:
                level, why = PARTIAL, "the containment check does not resolve `..` first"
            guards.append((taint.param, level, why, checked))
        for call in scan.calls:
            name = dotted(call.func)
            if name is None or name in FILE_CALLS:
                continue
            taint = next((t for a in call.args if (t := self.ctx.taint(a.value, handler))), None)
            if taint is None:
                continue
            if self.ctx.imports.qualify_dotted(name) in CONFINING_CALLS:
                guards.append((taint.param, FULL, "", call))
                continue
            short = name.rsplit(".", 1)[-1]
            level = self._function_level(short)
            if level == FULL:
                guards.append((taint.param, FULL, "", call))
            elif level == PARTIAL:
                guards.append((taint.param, PARTIAL, f"`{short}()` checks containment without resolving `..` first",
                               call))
            elif level is None and VALIDATOR_NAME.search(short) and not self.ctx.imports.qualify_dotted(name) \
                    .startswith(("os.", "pathlib.", "shutil.")):
                guards.append((taint.param, PARTIAL, f"checked by `{short}()`, which mcplint cannot see", call))
        return guards

    def _function_level(self, name: str, depth: int = 0) -> int | None:
        """How well a function of this file confines a path: FULL, PARTIAL, 0; None if not defined here."""
        if self._functions is None:
            self._functions = {}
            for node in _all_functions(self.ctx.module):
                self._functions.setdefault(node.name.value, []).append(node)
        functions = self._functions.get(name)
        if not functions:
            return None
        if name in self._function_levels:
            return self._function_levels[name]
        self._function_levels[name] = 0  # recursion guard
        level = 0
        for function in functions:
            scan = _GuardScan(self.ctx.qualify)
            walk.visit(function.body, scan)
            contain = [c for c, kind in scan.checks if kind == "contain"]
            if contain:
                level = max(level, FULL if _normalises(function.body, self.ctx.qualify) else PARTIAL)
            elif depth < 2:
                for call in scan.calls:
                    callee = dotted(call.func)
                    if callee is not None and callee.rsplit(".", 1)[-1] != name:
                        level = max(level, self._function_level(callee.rsplit(".", 1)[-1], depth + 1) or 0)
        self._function_levels[name] = level
        return level


def _sdk_checked_params(handler: Handler) -> list[str]:
    """URI template variables that SDK v2's default `ResourceSecurity` checks.

    `MCPServer` rejects `..` components, absolute paths and NUL bytes in template
    parameters unless the server or the resource sets its own `security`.
    """
    server = handler.server
    if handler.kind != "resource" or handler.lowlevel or not handler.uri or server is None:
        return []
    if server.dialect != sdk.MCP_V2 or "resource_security" in server.kwargs or server.has_star_kwargs:
        return []
    registration = handler.registration
    call = registration.decorator if isinstance(registration, cst.Decorator) else registration
    if not isinstance(call, cst.Call) or argument(call, None, "security") is not None:
        return []
    return re.findall(r"\{[+#./;?&]?(\w+)\*?\}", handler.uri)


class Parents:
    """Parent links inside one function, to tell whether a check is on the sink's path."""

    def __init__(self, root: cst.CSTNode) -> None:
        self._parent: dict[int, cst.CSTNode] = {}
        stack = [root]
        while stack:
            node = stack.pop()
            for child in walk.children(node):
                self._parent[id(child)] = node
                stack.append(child)

    def chain(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """`node` and its ancestors, outermost first."""
        out = [node]
        while id(out[-1]) in self._parent:
            out.append(self._parent[id(out[-1])])
        return out[::-1]

    def precedes(self, check: cst.CSTNode, sink: cst.CSTNode) -> bool:
        """Whether `check` runs before `sink` on every path to it, roughly.

        True when the check's statement comes earlier in a block that holds the sink,
        when it is the test of an `if`/`while`/`with` around the sink, or when it is part
        of the sink's own expression. False for a check in a sibling branch
        (`if name == "a": check(x)` / `elif name == "b": open(x)`) or after the sink.
        """
        a, b = self.chain(check), self.chain(sink)
        depth = 0
        while depth < min(len(a), len(b)) and a[depth] is b[depth]:
            depth += 1
        if depth == 0:
            return False
        if depth == len(a) or depth == len(b):
            return True  # one contains the other
        common, via_check, via_sink = a[depth - 1], a[depth], b[depth]
        # A check inside a branch that the sink is not in runs only on that branch.
        for parent, child in zip(a[depth:], a[depth + 1:]):
            if isinstance(parent, (cst.If, cst.While, cst.For, cst.Else, cst.ExceptHandler, cst.Match, cst.MatchCase)) \
                    and isinstance(child, (cst.BaseSuite, cst.Else, cst.If, cst.MatchCase)):
                return False
        body = getattr(common, "body", None)
        if isinstance(common, (cst.IndentedBlock, cst.Module, cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            statements = list(body)
            return statements.index(via_check) <= statements.index(via_sink)
        if isinstance(common, cst.Try):
            return via_check is common.body
        if isinstance(common, (cst.BaseCompoundStatement, cst.Else, cst.ExceptHandler, cst.MatchCase)):
            return not isinstance(via_check, (cst.BaseSuite, cst.Else, cst.If, cst.ExceptHandler, cst.Finally,
                                              cst.MatchCase))
        return True  # inside one expression: `open(_confine(x))`


def _all_functions(module: cst.Module):
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        if type(node) is cst.FunctionDef:
            yield node
        if isinstance(node, walk.STATEMENT_HOLDERS):
            stack.extend(walk.children(node))
