from mcplint.finding import Confidence, Severity
from mcplint.rule import Rule


class UnusedSuppressionRule(Rule):
    """A `# mcplint: ignore[...]` comment that suppresses nothing.

    ## What it does
    Reports suppression comments naming an enabled rule that reported nothing on the
    lines the comment covers.

    ## Why is this bad?
    Stale suppressions outlive the code they were written for and later hide a real
    finding that appears on the same line.

    ## Example
    ```python
    TIMEOUT = 30  # mcplint: ignore[MCP301] -- left over from an old refactor
    ```

    ## Use instead
    Remove the comment once the finding it suppressed is gone.
    ```python
    TIMEOUT = 30
    ```
    """

    code = "MCP003"
    name = "unused-suppression"
    severity = Severity.LOW
    confidence = Confidence.HIGH
    cwe = None
    checklist = None
    scope = "engine"
    message = "unused suppression: {detail}"
