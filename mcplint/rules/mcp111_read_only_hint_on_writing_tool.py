from mcplint.finding import Confidence, Severity
from mcplint.mcp.effects import declared_hints, effect_confidence, strongest, tool_effects
from mcplint.mcp.model import Handler
from mcplint.rule import Rule


class ReadOnlyHintOnWritingTool(Rule):
    """A tool annotated `readOnlyHint=True` writes, deletes or runs commands.

    ## What it does
    Reads the annotations given where a tool is registered —
    `annotations=ToolAnnotations(readOnlyHint=True)` (`read_only_hint=True` in the v2
    SDK), fastmcp's `annotations={"readOnlyHint": True}`, or a module constant holding
    either — and reports the hint when the tool's code, or a function of the same file
    it calls, changes something:

    - deletes: `os.remove`, `shutil.rmtree`, `Path.unlink()`, `DELETE`/`DROP`/`TRUNCATE`
      SQL, HTTP `DELETE`;
    - writes: `open(path, "w")` and other write modes, `write_text`, `shutil.copy`/`move`,
      `os.rename`/`chmod`, `INSERT`/`UPDATE`/`CREATE`/`ALTER` SQL, HTTP `PUT`/`PATCH`,
      pandas `to_csv(path)` and friends;
    - runs a command the client chooses, or a command whose program or subcommand
      deletes or writes (`rm`, `kubectl delete`, `git push`, GitPython's
      `repo.git.checkout()`);
    - executes SQL text the client wrote (`cursor.execute(query)`), unless the code
      lets only `SELECT` through or uses a read-only connection; an object of the
      project's own class (`bus.execute(ListTasks(owner=owner))`) is not SQL text.

    Confidence is high for a known API in the tool's own body, medium in a helper, and
    low when only a method's name says it writes (`client.create_issue(...)`,
    `cache.delete(key)`) and for client-written SQL (the database user may be
    read-only). Writes to temporary or in-memory targets (`tmp_path`, `BytesIO`) do
    not count, and neither do HTTP `POST` requests (read-only search APIs use them
    too). Annotations built by a function call are not read.

    ## Why is this bad?
    Clients use `readOnlyHint` to decide what needs the user's confirmation: many
    run read-only tools without asking. A tool that claims to be read-only but
    deletes files or rewrites rows does so without the prompt the user relies on,
    and an agent steered by injected instructions can use it as a quiet way to
    change things.

    ## Example
    ```python
    import os
    import shutil

    from mcp.server.fastmcp import FastMCP
    from mcp.types import ToolAnnotations

    mcp = FastMCP("workspace")

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=True))
    def clean_build(project: str) -> str:
        shutil.rmtree(os.path.join("/srv/builds", os.path.basename(project)))
        return "cleaned"
    ```

    ## Use instead
    Describe what the tool does: not read-only, and destructive.
    ```python
    import os
    import shutil

    from mcp.server.fastmcp import FastMCP
    from mcp.types import ToolAnnotations

    mcp = FastMCP("workspace")

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True))
    def clean_build(project: str) -> str:
        shutil.rmtree(os.path.join("/srv/builds", os.path.basename(project)))
        return "cleaned"
    ```

    ## References
    - [CWE-451: User Interface (UI) Misrepresentation of Critical Information](https://cwe.mitre.org/data/definitions/451.html)
    - [MCP specification: Tool annotations](https://modelcontextprotocol.io/specification/2025-06-18/server/tools#tool-annotations)
    """

    code = "MCP111"
    name = "read-only-hint-on-writing-tool"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 451
    checklist = "MCP-C02"
    in_imported_modules = False  # reports hang off the file's own servers or handlers
    message = "{handler} is annotated `readOnlyHint=True` but {effect}"

    def check_handler(self, handler: Handler) -> None:
        if handler.kind != "tool" or handler.lowlevel:
            return
        hint = declared_hints(self.ctx, handler).get("readOnlyHint")
        if hint is None or hint.value is not True:
            return
        effect = strongest(tool_effects(self.ctx, handler))
        if effect is None:
            return
        self.report(
            hint.node, in_handler=handler, handler_level=True, confidence=effect_confidence(effect),
            effect=effect.describe(),
        )
