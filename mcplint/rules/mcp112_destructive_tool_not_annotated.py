import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp.effects import DESTRUCTIVE, declared_hints, effect_confidence, registration_call, strongest, \
    tool_effects
from mcplint.mcp.model import Handler
from mcplint.rule import Rule


class DestructiveToolNotAnnotated(Rule):
    """A tool that deletes or runs commands is annotated as non-destructive, or its annotations leave the hint out.

    ## What it does
    For tools whose code (or a function of the same file it calls) clearly deletes —
    `os.remove`, `shutil.rmtree`, `Path.unlink()`, `DELETE`/`DROP`/`TRUNCATE` SQL, HTTP
    `DELETE`, `client.delete_issue(...)`, `rm`, `kubectl delete` — or runs a command
    or SQL statement the client chooses, reports:

    - `destructiveHint=False` (v2: `destructive_hint=False`): the tool says its
      updates are only additive (medium severity);
    - annotations that describe the tool (`title`, `readOnlyHint=False`,
      `idempotentHint`, ...) but leave `destructiveHint` out (low severity, low
      confidence: the protocol's default, `true`, still applies).

    A tool with no annotations at all is not reported: the MCP defaults
    (`readOnlyHint: false`, `destructiveHint: true`) already describe it as possibly
    destructive, and clients treat it so. `readOnlyHint=True` on such a tool is
    MCP111's finding. Writes that only add or update (`INSERT`, `open(p, "w")`,
    `git commit`) are not destructive in the protocol's sense and are not reported,
    nor are deletes of temporary files (`os.unlink(tmp_path)`, the `f.name` of a
    `with tempfile.NamedTemporaryFile() as f`, also kept in a variable first set to
    `None`). Annotations built by a function call are not read. Low-level servers, which
    declare annotations in `list_tools` apart from the code, are not checked.

    ## Why is this bad?
    `destructiveHint` is what a client shows or asks about before a call that can
    lose data. `destructiveHint=False` on a tool that deletes tells the client and
    the user that nothing can be lost, so the confirmation they would have seen
    (and the chance to stop a prompt-injected agent) is skipped. Stating the hint
    explicitly keeps the tool's description honest when it is later edited.

    ## Example
    ```python
    import os
    from mcp.server.fastmcp import FastMCP
    from mcp.types import ToolAnnotations

    mcp = FastMCP("files")

    @mcp.tool(annotations=ToolAnnotations(title="Remove upload", destructiveHint=False))
    def remove_upload(name: str) -> str:
        os.remove(os.path.join("/srv/uploads", os.path.basename(name)))
        return "removed"
    ```

    ## Use instead
    Say that the tool is destructive, so that clients ask before calling it.
    ```python
    import os
    from mcp.server.fastmcp import FastMCP
    from mcp.types import ToolAnnotations

    mcp = FastMCP("files")

    @mcp.tool(annotations=ToolAnnotations(title="Remove upload", destructiveHint=True))
    def remove_upload(name: str) -> str:
        os.remove(os.path.join("/srv/uploads", os.path.basename(name)))
        return "removed"
    ```

    ## References
    - [CWE-357: Insufficient UI Warning of Dangerous Operations](https://cwe.mitre.org/data/definitions/357.html)
    - [MCP specification: Tool annotations](https://modelcontextprotocol.io/specification/2025-06-18/server/tools#tool-annotations)
    """

    code = "MCP112"
    name = "destructive-tool-not-annotated"
    severity = Severity.LOW
    confidence = Confidence.MEDIUM
    cwe = 357
    checklist = "MCP-C02"
    in_imported_modules = False  # reports hang off the file's own servers or handlers
    message = "{handler} {effect} but {claim}"

    def check_handler(self, handler: Handler) -> None:
        if handler.kind != "tool" or handler.lowlevel:
            return
        hints = declared_hints(self.ctx, handler)
        if not hints.given or not hints.literal:
            return
        read_only = hints.get("readOnlyHint")
        if read_only is not None and read_only.value is True:
            return  # MCP111
        effect = strongest(tool_effects(self.ctx, handler), DESTRUCTIVE)
        if effect is None:
            return
        hint = hints.get("destructiveHint")
        if hint is not None and hint.value is True:
            return  # an honest hint asks for confirmation; it is not authorization, so no C02 evidence
        if hint is not None and hint.value is False:
            self.report(hint.node, in_handler=handler, handler_level=True, severity=Severity.MEDIUM,
                        confidence=effect_confidence(effect), effect=effect.describe(),
                        claim="is annotated `destructiveHint=False`")
            return
        if hint is not None:
            return  # not a literal: cannot tell
        self.report(self._annotations_node(handler), in_handler=handler, handler_level=True,
                    confidence=Confidence.LOW, effect=effect.describe(),
                    claim="its annotations do not set `destructiveHint=True`")

    def _annotations_node(self, handler: Handler) -> cst.CSTNode:
        call = registration_call(handler)
        for arg in call.args if call is not None else ():
            if arg.keyword is not None and arg.keyword.value == "annotations":
                return arg
        return handler.function.name
