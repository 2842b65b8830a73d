import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp.builder import argument, call_args
from mcplint.rule import Rule

# Calls that always hand their first argument to a shell.
SHELL_CALLS = {
    "os.system": "os.system",
    "os.popen": "os.popen",
    "subprocess.getoutput": "subprocess.getoutput",
    "subprocess.getstatusoutput": "subprocess.getstatusoutput",
    "asyncio.create_subprocess_shell": "asyncio.create_subprocess_shell",
    "commands.getoutput": "commands.getoutput",
}
# Calls that use a shell only with shell=True.
SHELL_OPTIONAL = frozenset(
    {"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen"}
)


def _is_true(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


class ToolShellInjection(Rule):
    """A tool parameter reaches a command run through a shell.

    ## What it does
    Reports `os.system`, `os.popen`, `asyncio.create_subprocess_shell` and
    `subprocess.*(..., shell=True)` calls whose command is built from an untrusted
    parameter of a tool, resource or prompt handler.

    Silent when the value is checked against an allow-list first (`if service not in
    ALLOWED: raise`, or the call inside `if service in ALLOWED:`), in the tool or in a
    function on the way (`in` a string is a substring test, not an allow-list).

    ## Why is this bad?
    Whoever controls the agent's input (a user, or a prompt injected into a web page the
    agent read) chooses the argument, and shell metacharacters such as `;`, `|` and
    `$(...)` turn it into arbitrary commands on the server.

    ## Example
    ```python
    import subprocess
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("files")

    @mcp.tool()
    def grep(pattern: str) -> str:
        return subprocess.run(f"grep -r {pattern} .", shell=True, capture_output=True, text=True).stdout
    ```

    ## Use instead
    Pass an argument list without a shell, so the input stays one argument.
    ```python
    import subprocess
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("files")

    @mcp.tool()
    def grep(pattern: str) -> str:
        return subprocess.run(["grep", "-r", "--", pattern, "."], capture_output=True, text=True).stdout
    ```

    ## References
    - [CWE-78: OS Command Injection](https://cwe.mitre.org/data/definitions/78.html)
    - [Python docs: security considerations of subprocess](https://docs.python.org/3/library/subprocess.html#security-considerations)
    """

    code = "MCP301"
    name = "tool-shell-injection"
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    cwe = 78
    checklist = "MCP-C04"
    in_imported_modules = False  # each report carries tool input
    escape_sanitizes = True
    allow_list_sanitizes = True
    message = "{handler} parameter `{param}` reaches shell command `{sink}`"

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.handler is None:
            return
        qualified = self.ctx.qualify(node.func) or ""
        if qualified in SHELL_CALLS:
            command = argument(node, 0, "cmd") or argument(node, 0, "command")
        elif qualified in SHELL_OPTIONAL:
            shell = argument(node, None, "shell")
            if shell is None or not _is_true(shell):
                return
            command = argument(node, 0, "args")
        else:
            return
        if command is None:
            positional, _, _ = call_args(node)
            command = positional[0].value if positional else None
        taint = self.ctx.taint(command) if command is not None else None
        if taint is None or taint.sanitizers & {"shlex.quote", "shlex.join"}:
            return
        self.report(node, taint=taint, param=taint.param, sink=qualified)
