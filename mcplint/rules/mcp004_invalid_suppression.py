from mcplint.finding import Confidence, Severity
from mcplint.rule import Rule


class InvalidSuppressionRule(Rule):
    """A suppression comment without codes, or naming a rule that does not exist.

    ## What it does
    Reports `# mcplint: ignore` comments that name no rule, and ones that name a code or
    rule name mcplint does not know.

    ## Why is this bad?
    A blanket suppression hides every present and future finding on the line, and a
    mistyped code suppresses nothing while looking as if it did.

    ## Example
    ```python
    import os

    os.system("make clean")  # mcplint: ignore
    ```

    ## Use instead
    Name the rule being suppressed and say why.
    ```python
    import os

    os.system("make clean")  # mcplint: ignore[MCP301] -- constant command
    ```
    """

    code = "MCP004"
    name = "invalid-suppression"
    severity = Severity.LOW
    confidence = Confidence.HIGH
    cwe = None
    checklist = None
    scope = "engine"
    message = "invalid suppression: {detail}"
