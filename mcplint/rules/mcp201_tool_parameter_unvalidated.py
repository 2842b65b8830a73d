import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp.builder import node_source, string_value
from mcplint.mcp.model import Handler, Param
from mcplint.rule import Rule

# Annotations that put no constraint at all on the value.
OPEN_TYPES = frozenset({"Any", "object", "JsonValue"})
# Containers whose contents are unconstrained unless parameterized.
MAPPINGS = frozenset({"dict", "Dict", "Mapping", "MutableMapping"})
SEQUENCES = frozenset({"list", "List", "Sequence", "MutableSequence", "set", "Set", "frozenset", "FrozenSet",
                       "tuple", "Tuple", "Iterable", "Collection"})
# `Annotated[Any, AfterValidator(check)]`: the author validates the value by hand.
VALIDATORS = frozenset({"AfterValidator", "BeforeValidator", "PlainValidator", "WrapValidator"})


def _last(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def _slice_values(node: cst.Subscript) -> list[cst.BaseExpression]:
    return [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]


def open_type(annotation: cst.BaseExpression) -> tuple[str, cst.BaseExpression] | None:
    """The part of an annotation that lets anything through, and what it leaves open.

    "value": the value itself (`Any`); "contents": what a container holds (`dict`,
    `list[Any]`). None if the annotation constrains the value.
    """
    if isinstance(annotation, cst.SimpleString):  # a forward reference: "dict"
        value = string_value(annotation)
        try:
            return open_type(cst.parse_expression(value)) if value is not None else None
        except Exception:
            return None
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        return open_type(annotation.left) or open_type(annotation.right)
    name = _last(annotation)
    if name is not None:
        if name in OPEN_TYPES:
            return "value", annotation
        if name in MAPPINGS or name in SEQUENCES:
            return "contents", annotation
        return None
    if not isinstance(annotation, cst.Subscript):
        return None
    base = _last(annotation.value)
    args = _slice_values(annotation)
    if base == "Annotated" and args:
        if any(_last(m.func) in VALIDATORS for m in args[1:] if isinstance(m, cst.Call)):
            return None
        return open_type(args[0])
    if base in ("Optional", "Union"):
        return next((found for found in map(open_type, args) if found), None)
    # JSON object keys are strings anyway: only the value type constrains anything.
    items = args[1:] if base in MAPPINGS and len(args) == 2 else args if base in SEQUENCES else []
    for item in items:
        found = None if isinstance(item, cst.Ellipsis) else open_type(item)
        if found is not None and found[0] == "value":
            return "contents", annotation
    return None


def _why(param: Param) -> str | None:
    if param.star:
        return f"is `{param.star}{param.name}`, which is no part of a validated input schema"
    annotation = param.node.annotation
    if annotation is None:
        return "has no type annotation, so the SDK accepts any JSON value for it"
    found = open_type(annotation.annotation)
    if found is None:
        return None
    what, node = found
    text = " ".join(node_source(node).split())
    if what == "value":
        return f"is typed `{text}`, so the SDK accepts any JSON value for it"
    return f"is typed `{text}`, so the SDK accepts anything inside it"


class ToolParameterUnvalidated(Rule):
    """A tool parameter accepts any JSON value: it is untyped, `Any`, a bare `dict` or `**kwargs`.

    ## What it does
    Reports parameters of high-level tools (`@mcp.tool`, `mcp.add_tool(fn)`) that are
    not annotated, or annotated `Any`, `object`, a bare `dict`/`list` (or one whose
    values are `Any`), and `*args`/`**kwargs`. The SDK builds the tool's input schema
    and validates arguments from these annotations, so such a parameter reaches the
    function unchecked: a string, a number, a nested object, whatever the client sent.

    Not reported: parameters of resource templates and prompts (the protocol delivers
    them as strings, so an annotation adds no protection), parameters the SDK injects
    (`Context`), leading untyped parameters named for an object (`service`,
    `drive_client`, `db_session`) that a decorator factory of the project applied
    before registration fills in (`@require_service("drive")`: its wrapper gives the
    SDK a signature without them), `Annotated[Any, AfterValidator(...)]` and friends
    (validated by hand), typed mappings such as `dict[str, str]`, pydantic models and other classes,
    and low-level `Server.call_tool` handlers, whose `arguments` are validated against
    the declared `inputSchema` by SDK v1. (SDK v2 low-level handlers validate nothing;
    their checks belong in the handler.)

    ## Why is this bad?
    The arguments come from a model that may be steered by injected prompts. Types are
    the cheapest validation there is: `limit: int` rejects `"1; DROP TABLE"`, and a
    pydantic model rejects unknown keys. Without them, every later use of the value has
    to defend itself, and the tool's schema tells the client nothing about what is
    expected. In standalone `fastmcp`, `*args`/`**kwargs` even fail tool registration.

    ## Example
    ```python
    from typing import Any

    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("crm")

    @mcp.tool()
    def update_contact(contact_id, fields: dict[str, Any]) -> str:
        return f"updated {contact_id}"
    ```

    ## Use instead
    Declare what the tool accepts; a pydantic model or `Literal` narrows it further.
    ```python
    from pydantic import BaseModel, EmailStr, Field

    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("crm")

    class ContactFields(BaseModel, extra="forbid"):
        email: EmailStr | None = None
        phone: str | None = Field(None, max_length=32)

    @mcp.tool()
    def update_contact(contact_id: int, fields: ContactFields) -> str:
        return f"updated {contact_id}"
    ```

    ## References
    - [CWE-20: Improper Input Validation](https://cwe.mitre.org/data/definitions/20.html)
    - [MCP specification: tools and input schemas](https://modelcontextprotocol.io/specification/2025-06-18/server/tools)
    """

    code = "MCP201"
    name = "tool-parameter-unvalidated"
    severity = Severity.LOW
    confidence = Confidence.HIGH
    cwe = 20
    checklist = "MCP-C03"
    in_imported_modules = False  # reports hang off the file's own servers or handlers
    message = "{handler} parameter `{param}` {why}"

    def check_handler(self, handler: Handler) -> None:
        if handler.lowlevel or handler.kind != "tool":
            return
        for param in handler.untrusted_params:
            why = _why(param)
            if why is not None:
                self.report(param.node, in_handler=handler, handler_level=True, param=param.name, why=why)
