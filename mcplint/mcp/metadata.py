"""What a client shows the model about a server: the text of its tool, resource and
prompt metadata, read statically.

Names, `description=` of registrations, the docstrings the SDKs fall back to,
parameter descriptions (`Field(description=...)`, `Annotated[str, "..."]`), low-level
`types.Tool(...)`/`Prompt(...)` objects with the `"description"` entries of their
input schemas, and a server's `instructions=`. The rules of family MCP4 judge it.
"""

from __future__ import annotations

import ast
import re
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from mcplint.mcp import sdk
from mcplint.mcp.builder import argument, call_args, name_assignments, string_value
from mcplint.mcp.model import Handler, Server
from mcplint.mcp.names import dotted
from mcplint.outline import Outline, ast_string
from mcplint.prefilter import Literals, Prefilter

if TYPE_CHECKING:
    from mcplint.context import FileContext

# `description=` positions when passed positionally: official SDK `tool(name, title, description)`,
# `add_tool(fn, name, title, description)`; fastmcp takes them as keywords only.
_POSITIONAL_DESCRIPTION = {"tool": 2, "prompt": 2, "add_tool": 3, "add_prompt": None}
# A server's instructions when passed positionally, by dialect.
_POSITIONAL_INSTRUCTIONS = {sdk.MCP_V1: 1, sdk.FASTMCP: 1, sdk.MCP_V2: 3, sdk.LOWLEVEL: 2}
# Low-level metadata objects (`mcp.types.Tool(...)`) and their text fields.
METADATA_CLASSES = {
    "Tool": ("description", "title"),
    "Prompt": ("description", "title"),
    "PromptArgument": ("description",),
    "Resource": ("description", "title"),
    "ResourceTemplate": ("description", "title"),
}
_METADATA_MODULES = ("mcp.types", "mcp_types", "mcp.server.fastmcp", "mcp.server.mcpserver", "fastmcp")
FIELD_FUNCTIONS = frozenset({"pydantic.Field", "pydantic.fields.Field"})
# Wrappers that keep a literal's text: `textwrap.dedent("""...""")`, `"...".strip()`.
_TEXT_FUNCTIONS = frozenset({"textwrap.dedent", "inspect.cleandoc"})
_TEXT_METHODS = frozenset({"strip", "lstrip", "rstrip", "replace", "format", "lower", "upper"})


@dataclass(frozen=True)
class MetaText:
    """One piece of metadata text as written in the code."""

    owner: str  # "tool `add`", "server `mcp`", "a pydantic `Field`"
    part: str  # "description", "docstring", "instructions", "title", "parameter description", "schema description"
    node: cst.BaseExpression  # the expression that gives the text
    text: str | None  # its value when static
    handler: Handler | None = None

    @property
    def where(self) -> str:
        return f"{self.part} of {self.owner}"


class _FileInfo:
    def __init__(self, ctx: "FileContext") -> None:
        self.constants: dict[str, cst.BaseExpression] = dict(name_assignments(_top_level_statements(ctx.module.body)))


_CACHE: "weakref.WeakKeyDictionary[FileContext, _FileInfo]" = weakref.WeakKeyDictionary()


def _info(ctx: "FileContext") -> _FileInfo:
    info = _CACHE.get(ctx)
    if info is None:
        info = _CACHE[ctx] = _FileInfo(ctx)
    return info


def _top_level_statements(body):
    """Simple statements at module level, also inside top-level `if`/`try` blocks."""
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield statement
        elif isinstance(statement, (cst.If, cst.Try)):
            blocks = [statement.body]
            if isinstance(statement, cst.If) and statement.orelse is not None:
                blocks.append(statement.orelse.body if isinstance(statement.orelse, cst.Else) else statement.orelse)
            if isinstance(statement, cst.Try):
                blocks.extend(h.body for h in statement.handlers)
            for block in blocks:
                if isinstance(block, cst.IndentedBlock):
                    yield from _top_level_statements(block.body)
                elif isinstance(block, cst.If):
                    yield from _top_level_statements([block])


def module_constant(ctx: "FileContext", name: str) -> cst.BaseExpression | None:
    """The value a module-level name is assigned (the last assignment)."""
    return _info(ctx).constants.get(name)


def static_text(ctx: "FileContext", expr: cst.BaseExpression | None, depth: int = 0) -> str | None:
    """The text of a literal, a module constant naming one, `dedent(...)` or `"...".strip()` of
    one, an f-string or `+` of such (an f-string's expressions that are not static become `{...}`)."""
    if expr is None or depth > 4:
        return None
    literal = string_value(expr)
    if literal is not None:
        return literal
    if isinstance(expr, cst.Name):
        value = module_constant(ctx, expr.value)
        return static_text(ctx, value, depth + 1) if value is not None else None
    if isinstance(expr, cst.FormattedString):
        parts = []
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            else:
                inner = static_text(ctx, part.expression, depth + 1)
                parts.append(inner if inner is not None else "{...}")
        return "".join(parts)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        left, right = static_text(ctx, expr.left, depth + 1), static_text(ctx, expr.right, depth + 1)
        return left + right if left is not None and right is not None else None
    if isinstance(expr, cst.Call):
        qualified = ctx.qualify(expr.func) or ""
        if qualified in _TEXT_FUNCTIONS and expr.args:
            return static_text(ctx, expr.args[0].value, depth + 1)
        if isinstance(expr.func, cst.Attribute) and expr.func.attr.value in _TEXT_METHODS:
            return static_text(ctx, expr.func.value, depth + 1)
    return None


def registration_call(handler: Handler) -> cst.Call | None:
    """The call that registers a handler and may carry its `name=`/`description=`."""
    registration = handler.registration
    if isinstance(registration, cst.Decorator):
        return registration.decorator if isinstance(registration.decorator, cst.Call) else None
    if isinstance(registration, cst.Call):
        return registration
    return None


def docstring(function: cst.FunctionDef) -> cst.BaseExpression | None:
    body = function.body
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return None
    first = body.body[0]
    if isinstance(first, cst.SimpleStatementLine) and len(first.body) == 1 and isinstance(first.body[0], cst.Expr):
        value = first.body[0].value
        if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
            return value
    return None


def description_arg(handler: Handler) -> cst.BaseExpression | None:
    """The `description=` given at registration, if any."""
    call = registration_call(handler)
    if call is None:
        return None
    found = argument(call, None, "description")
    if found is not None:
        return found
    method = call.func.attr.value if isinstance(call.func, cst.Attribute) else ""
    dialect = handler.server.dialect if handler.server is not None else None
    position = _POSITIONAL_DESCRIPTION.get(method)
    if position is not None and dialect in (sdk.MCP_V1, sdk.MCP_V2):
        return argument(call, position, "description")
    return None


def handler_label(handler: Handler) -> str:
    """`tool `name``, the name escaped (it may hold invisible characters)."""
    return f"{handler.kind} `{quote(handler.name, 60)}`"


def handler_texts(ctx: "FileContext", handler: Handler) -> list[MetaText]:
    """The description (or the docstring the SDK sends instead), title and
    `Annotated[T, "..."]` parameter descriptions of a high-level handler."""
    if handler.lowlevel or handler.kind not in ("tool", "resource", "prompt"):
        return []  # a low-level dispatcher's metadata lives in its `types.Tool(...)` objects
    out: list[MetaText] = []
    label = handler_label(handler)
    description = description_arg(handler)
    if description is not None:
        out.append(MetaText(label, "description", description, static_text(ctx, description), handler))
    else:
        doc = docstring(handler.function)
        if doc is not None:
            out.append(MetaText(label, "docstring", doc, string_value(doc), handler))
    call = registration_call(handler)
    title = argument(call, None, "title") if call is not None else None
    if title is not None:
        out.append(MetaText(label, "title", title, static_text(ctx, title), handler))
    for param in handler.params:
        annotation = param.node.annotation.annotation if param.node.annotation is not None else None
        if isinstance(annotation, cst.Subscript) and (ctx.qualify(annotation.value) or "").endswith("Annotated"):
            for element in annotation.slice[1:]:
                if isinstance(element.slice, cst.Index):
                    text = string_value(element.slice.value)
                    if text is not None:
                        out.append(MetaText(label, f"description of parameter `{param.name}`", element.slice.value,
                                            text, handler))
    return out


def server_texts(ctx: "FileContext", server: Server) -> list[MetaText]:
    """A server's `instructions` (and, for 2.x, its `description`/`title`)."""
    if not isinstance(server.node, cst.Call) or not server.constructed:
        return []
    call = server.node
    label = f"server `{server.var}`" if server.var else "the MCP server"
    out = []
    instructions = argument(call, _POSITIONAL_INSTRUCTIONS.get(server.dialect), "instructions")
    if instructions is not None:
        out.append(MetaText(label, "instructions", instructions, static_text(ctx, instructions)))
    for key in ("description", "title"):
        value = argument(call, 2 if key == "description" and server.dialect == sdk.MCP_V2 else None, key)
        if value is not None:
            out.append(MetaText(label, key, value, static_text(ctx, value)))
    return out


class JudgesMetadata:
    """Mixin for rules (listed before `Rule`): every metadata text of the file's
    handlers, servers and metadata calls goes to `self._judge(text, handler)`."""

    def check_handler(self, handler: Handler) -> None:
        for text in handler_texts(self.ctx, handler):
            self._judge(text, handler)

    def check_server(self, server: Server) -> None:
        for text in server_texts(self.ctx, server):
            self._judge(text, None)

    def visit_Call(self, node: cst.Call) -> None:
        for text in call_texts(self.ctx, node):
            self._judge(text, text.handler)


def _callee_name(call: cst.Call) -> str:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""


CALL_NAMES = frozenset(METADATA_CLASSES) | {"Field"}
# Files that may write metadata in a call: a callee is known by the name it is called
# by, and what is judged is a description or title.
METADATA_CALLS = Prefilter(None, anchors=tuple(name.encode() for name in sorted(CALL_NAMES)),
                           requires=Literals(b"description", b"title"))


def metadata_class(ctx: "FileContext", call: cst.Call) -> str | None:
    """`Tool`, `Prompt`, ... when `call` builds an MCP metadata object."""
    if _callee_name(call) not in METADATA_CLASSES:
        return None  # the cheap test first: most calls are not these
    qualified = ctx.qualify(call.func) or ""
    head, _, last = qualified.rpartition(".")
    if last in METADATA_CLASSES and head.startswith(_METADATA_MODULES):
        return last
    return None


def call_texts(ctx: "FileContext", call: cst.Call) -> list[MetaText]:
    """Metadata written in a call: `types.Tool(name=..., description=..., inputSchema={...})`,
    `Prompt`/`PromptArgument`/`Resource` objects, and pydantic `Field(description=...)`."""
    if _callee_name(call) not in CALL_NAMES:
        return []
    qualified = ctx.qualify(call.func) or ""
    handler = ctx.handler if ctx.handler is not None and ctx.handler.kind in ("tool", "resource", "prompt") else None
    if qualified in FIELD_FUNCTIONS:
        value = argument(call, None, "description")
        if value is None:
            return []
        if handler is not None:
            return [MetaText(handler_label(handler), "parameter description", value, static_text(ctx, value), handler)]
        return [MetaText("a pydantic `Field`", "description", value, static_text(ctx, value))]
    kind = metadata_class(ctx, call)
    if kind is None:
        return []
    name = static_text(ctx, argument(call, 0, "name")) if kind != "Resource" else None
    owner = f"{kind.lower()} `{quote(name, 60)}`" if name else f"a `{kind}` object"
    if kind == "PromptArgument":
        owner = f"prompt argument `{quote(name, 60)}`" if name else "a prompt argument"
    out = []
    _, keywords, _ = call_args(call)
    for key in METADATA_CLASSES[kind]:
        arg = keywords.get(key)
        if arg is not None:
            out.append(MetaText(owner, key, arg.value, static_text(ctx, arg.value), handler))
    schema = keywords.get("inputSchema") or keywords.get("input_schema")
    if schema is not None:
        for node in _schema_descriptions(schema.value):
            out.append(MetaText(owner, "schema description", node, static_text(ctx, node), handler))
    return out


def _schema_descriptions(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The values of `"description": ...` entries in a JSON schema written as a dict literal."""
    out = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Dict):
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    if string_value(element.key) == "description":
                        out.append(element.value)
                    else:
                        stack.append(element.value)
        elif isinstance(node, (cst.List, cst.Tuple)):
            stack.extend(e.value for e in node.elements)
        elif isinstance(node, cst.Call) and dotted(node.func) == "dict":
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "description":
                    out.append(arg.value)
                else:
                    stack.append(arg.value)
    return out


# -- the same reading on CPython's tree, for the rules' `imported_if` (`mcplint.outline`) ---
# In a module MCP code only imports (no server or handler of its own), MCP402, MCP403,
# MCP404 and MCP405 judge only metadata written in calls (`call_texts`): the
# `description=` of `Field(...)`, and the `description=`, `title=` and input-schema
# descriptions of `Tool(...)`, `Prompt(...)`, ... (any callee of those names: the
# qualified name only narrows), as `static_text` reads them.


def metadata_values(call: ast.Call, name: str) -> list[ast.expr]:
    """The expressions `call_texts` may read texts from in a call made by `name`
    (one of `CALL_NAMES`)."""
    values: list[ast.expr] = []
    schemas: list[ast.expr] = []
    for item in call.keywords:
        if item.arg == "description" or (item.arg == "title" and name in METADATA_CLASSES):
            values.append(item.value)
        elif item.arg in ("inputSchema", "input_schema") and name in METADATA_CLASSES:
            schemas.append(item.value)
    return values + _ast_schema_descriptions(schemas) if schemas else values


def _ast_schema_descriptions(stack: list[ast.expr]) -> list[ast.expr]:
    """`_schema_descriptions`: the values of `"description"` entries of a JSON
    schema written as dict literals, lists, tuples and `dict(...)` calls."""
    out = []
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Dict:
            for key, value in zip(node.keys, node.values):
                if key is not None:  # `**rest`: not looked into
                    (out if ast_string(key) == "description" else stack).append(value)
        elif kind is ast.List or kind is ast.Tuple:
            stack.extend(e.value if type(e) is ast.Starred else e for e in node.elts)
        elif kind is ast.Call and type(node.func) is ast.Name and node.func.id == "dict":
            stack.extend(a.value if type(a) is ast.Starred else a for a in node.args)
            for item in node.keywords:
                (out if item.arg == "description" else stack).append(item.value)
    return out


class StaticTexts:
    """What `static_text` can make of an expression, read on CPython's tree of
    the file. `of` gives a superset of the texts it may give (every value a module
    constant is assigned, not only the last; any call as if it were `dedent(...)`), or
    None where this cannot tell: an f-string (the rule reads its text as written, escapes
    not decoded, and an f-string concatenated with another literal as no text at all),
    or too many texts."""

    LIMIT = 32  # texts for one expression
    DEPTH = 4  # as `static_text`

    def __init__(self, tree: ast.Module) -> None:
        self._constants = self._module_constants(tree)
        self._names: dict[tuple[str, int], set[str] | None] = {}
        self._certain: dict[tuple[str, int], bool] = {}

    @staticmethod
    def _module_constants(tree: ast.Module) -> dict[str, list[ast.expr]]:
        """Every value `module_constant` may give a name: `name = value` and
        `name: T = value` at module level, also in top-level `if`/`try` blocks."""
        out: dict[str, list[ast.expr]] = {}
        blocks = [tree.body]
        while blocks:
            for statement in blocks.pop():
                kind = type(statement)
                if kind is ast.Assign:
                    if len(statement.targets) == 1 and type(statement.targets[0]) is ast.Name:
                        out.setdefault(statement.targets[0].id, []).append(statement.value)
                elif kind is ast.AnnAssign:
                    if type(statement.target) is ast.Name and statement.value is not None:
                        out.setdefault(statement.target.id, []).append(statement.value)
                elif kind is ast.If:
                    blocks += (statement.body, statement.orelse)
                elif kind is ast.Try:
                    blocks.append(statement.body)
                    blocks.extend(handler.body for handler in statement.handlers)
        return out

    def of(self, node: ast.AST | None, depth: int = 0) -> set[str] | None:
        if node is None or depth > self.DEPTH:
            return set()
        kind = type(node)
        if kind is ast.Constant:
            text = ast_string(node)
            return set() if text is None else {text}
        if kind is ast.JoinedStr:
            return None
        if kind is ast.Name:
            key = (node.id, depth)  # asked again and again in generated files
            if key not in self._names:
                self._names[key] = self._union(self._constants.get(node.id, ()), depth + 1)
            return self._names[key]
        if kind is ast.BinOp and type(node.op) is ast.Add:
            left = self.of(node.left, depth + 1)
            if not left:
                return left  # None, or no text
            right = self.of(node.right, depth + 1)
            if right is None or len(left) * len(right) > self.LIMIT:
                return None
            return {a + b for a in left for b in right}
        if kind is ast.Call:
            # `dedent(x)`, `cleandoc(x)` by any name (the first argument as written, which is
            # `args[0]` or the first keyword), and `x.strip()`, `x.format(...)`, ...
            values = [node.args[0].value if type(node.args[0]) is ast.Starred else node.args[0]] if node.args else []
            if node.keywords:
                values.append(node.keywords[0].value)
            if type(node.func) is ast.Attribute and node.func.attr in _TEXT_METHODS:
                values.append(node.func.value)
            return self._union(values, depth + 1)
        return set()

    def _union(self, nodes, depth: int) -> set[str] | None:
        out: set[str] = set()
        for node in nodes:
            texts = self.of(node, depth)
            if texts is None:
                return None
            out |= texts
        return out if len(out) <= self.LIMIT else None

    def certain(self, node: ast.AST | None, depth: int = 0) -> bool:
        """Does `static_text` give this expression a text, whatever the file runs?"""
        if node is None or depth > self.DEPTH:
            return False
        kind = type(node)
        if kind is ast.Constant:
            return ast_string(node) is not None
        if kind is ast.Name:
            key = (node.id, depth)
            if key not in self._certain:
                values = self._constants.get(node.id)
                self._certain[key] = bool(values) and all(self.certain(value, depth + 1) for value in values)
            return self._certain[key]
        if kind is ast.BinOp and type(node.op) is ast.Add:
            return self.certain(node.left, depth + 1) and self.certain(node.right, depth + 1)
        if kind is ast.Call:
            return type(node.func) is ast.Attribute and node.func.attr in _TEXT_METHODS \
                and self.certain(node.func.value, depth + 1)
        return False  # an f-string may be two literals concatenated, which have no text


_STATIC_TEXTS: "weakref.WeakKeyDictionary[Outline, StaticTexts]" = weakref.WeakKeyDictionary()


def static_texts(outline: Outline) -> StaticTexts:
    """The file's `StaticTexts`, one for all the rules' tests of it (MCP402, MCP404, MCP405)."""
    texts = _STATIC_TEXTS.get(outline)
    if texts is None:
        texts = _STATIC_TEXTS[outline] = StaticTexts(outline.tree)
    return texts


def quote(text: str, limit: int = 90) -> str:
    """Text for a message: one line, control and invisible characters escaped, truncated."""
    flat = " ".join(text.split())
    if flat.isascii() and flat.isprintable() and "`" not in flat:
        return flat if len(flat) <= limit else flat[: limit - 1] + "…"
    out = []
    for char in flat:
        code = ord(char)
        if char == "`":
            out.append("'")
        elif code < 0x20 or 0x7F <= code < 0xA0 or is_invisible(char):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    joined = "".join(out)
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


INVISIBLE_RANGES = (
    (0x200B, 0x200F),  # zero-width space, non-joiner, joiner, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x2064),  # word joiner, invisible operators
    (0x2066, 0x2069),  # bidi isolates
    (0xFEFF, 0xFEFF),  # zero-width no-break space (BOM)
    (0x180E, 0x180E),  # Mongolian vowel separator
    (0x00AD, 0x00AD),  # soft hyphen
    (0xE0000, 0xE007F),  # tag characters (ASCII smuggling)
    (0xE0100, 0xE01EF),  # variation selectors supplement (byte smuggling)
)
BIDI_RANGES = ((0x202A, 0x202E), (0x2066, 0x2069))
BIDI_BYTES = tuple(chr(code).encode() for low, high in BIDI_RANGES for code in range(low, high + 1))  # as UTF-8


def _char_class(ranges) -> "re.Pattern[str]":
    return re.compile("[" + "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in ranges) + "]")


INVISIBLE_RE = _char_class(INVISIBLE_RANGES)
BIDI_RE = _char_class(BIDI_RANGES)


def is_invisible(char: str) -> bool:
    return INVISIBLE_RE.match(char) is not None


def is_bidi(char: str) -> bool:
    return BIDI_RE.match(char) is not None
