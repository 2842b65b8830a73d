from mcplint.finding import Confidence, Severity
from mcplint.rule import Rule


class FileNotAnalysedRule(Rule):
    """A file could not be read or decoded, so mcplint did not analyse it.

    ## What it does
    Reports files that cannot be opened, are binary, declare an unknown encoding, do not
    decode in their declared encoding, or are too deeply nested to analyse.

    ## Why is this bad?
    A file that was not analysed may hold exactly the tool that gives an agent a shell;
    reporting it keeps the scan honest about what it did not see.

    ## Example
    ```python
    # -*- coding: no-such-codec -*-
    from mcp.server.fastmcp import FastMCP
    ```

    ## Use instead
    Store Python source as UTF-8 (the default) or in an encoding Python knows.
    ```python
    # -*- coding: utf-8 -*-
    from mcp.server.fastmcp import FastMCP
    ```
    """

    code = "MCP002"
    name = "file-not-analysed"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = None
    checklist = None
    scope = "engine"
    message = "not analysed: {detail}"
