from mcplint.finding import Confidence, Severity
from mcplint.rule import Rule


class SyntaxErrorRule(Rule):
    """A Python file that mcplint needed to analyse could not be parsed.

    ## What it does
    Reports a file that looks like part of an MCP server (or holds something another
    rule looks for) but is not valid Python, with the parser's message and position.

    ## Why is this bad?
    mcplint cannot check code it cannot parse, so a syntax error hides every problem in
    the file; a linter that skipped it silently would report a clean server.

    ## Example
    ```python
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("broken")

    @mcp.tool()
    def run(cmd: str)
        return cmd
    ```

    ## Use instead
    Fix the syntax so the file parses; mcplint then analyses it like any other.
    ```python
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("fixed")

    @mcp.tool()
    def run(cmd: str):
        return cmd
    ```
    """

    code = "MCP001"
    name = "syntax-error"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = None
    checklist = None
    scope = "engine"
    message = "cannot parse this file: {detail}"
