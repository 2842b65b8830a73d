"""MCP507: a plaintext secret in an MCP client configuration or `fastmcp.json`."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from mcplint.finding import Confidence, Severity
from mcplint.rule import Rule
from mcplint.secrets import is_secret_name, redact
from mcplint.rules.mcp506_secret_in_env_file import describe, judge_setting

CONFIG_FILES = (
    "mcp.json",  # also .cursor/mcp.json, .vscode/mcp.json, .roo/mcp.json
    ".mcp.json",  # Claude Code project servers
    "claude_desktop_config.json",
    "mcp_config.json",  # Windsurf
    "cline_mcp_settings.json",
    "fastmcp.json",
    "*.fastmcp.json",
)


def _where(path: tuple) -> str:
    return ".".join(str(part) for part in path) or "(root)"


class SecretInMcpConfig(Rule):
    """An MCP client configuration (or `fastmcp.json`) holds a plaintext secret.

    ## What it does
    Reads the JSON files that configure MCP servers for clients and deployments:
    `mcp.json` (`.cursor/mcp.json`, `.vscode/mcp.json`), `.mcp.json`,
    `claude_desktop_config.json`, Windsurf's `mcp_config.json`, Cline's settings,
    and `fastmcp.json` / `*.fastmcp.json`. Comments and trailing commas are accepted.
    It reports string values that are secrets: under a secret-named key (`env`
    entries such as `GITHUB_TOKEN`, `headers` such as `Authorization: Bearer ...`,
    `apiKey`), after a secret-named option in `args` (`--api-key`, `--token=`), as a
    secret-named query parameter of a URL (`?api_key=`), or in a known credential
    format anywhere. Placeholders are not secrets: `${VAR}`, `${env:VAR}`,
    `${input:api-key}`, `<your-key>`, `YOUR_TOKEN_HERE`, empty strings. The report
    gives the line of the value and redacts it. JSON has no comments: silence a
    finding with `per-file-ignores` in the configuration.

    ## Why is this bad?
    These files are committed to share a project's servers with a team (`.mcp.json`,
    `.vscode/mcp.json`) or copied into gists and READMEs. A token written into them
    is readable by everyone with the repository and stays in its history; it usually
    grants the MCP server's full reach (a GitHub or database account).

    ## Example
    ```json
    {
      "mcpServers": {
        "github": {
          "command": "npx",
          "args": ["-y", "@modelcontextprotocol/server-github"],
          "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_R8x2Kq7LmZ4vN1pT9wYc3Hs6Jd0Fb5Ge2Ua7"}
        }
      }
    }
    ```

    ## Use instead
    Reference the secret: clients expand `${env:NAME}` (VS Code, Cursor) or prompt
    for `${input:...}`; keep the value in the environment or a secret store.
    ```json
    {
      "mcpServers": {
        "github": {
          "command": "npx",
          "args": ["-y", "@modelcontextprotocol/server-github"],
          "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${env:GITHUB_PERSONAL_ACCESS_TOKEN}"}
        }
      }
    }
    ```

    ## References
    - [CWE-798: Use of Hard-coded Credentials](https://cwe.mitre.org/data/definitions/798.html)
    - [VS Code: MCP configuration, input variables for sensitive data](https://code.visualstudio.com/docs/copilot/chat/mcp-servers)
    - [OWASP Secrets Management Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html)
    """

    code = "MCP507"
    name = "secret-in-mcp-config"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = 798
    checklist = "MCP-C08"
    redact = True
    scope = "text"
    files = CONFIG_FILES
    example_name = ".cursor/mcp.json"
    message = "`{file}` holds {what} {preview} at `{where}`"

    def check_text(self, doc) -> None:
        file = doc.path.rsplit("/", 1)[-1]
        strings = doc.json_strings()
        option: tuple[str, tuple] | None = None  # a secret-named `--option` and where its value would be
        for item in strings:
            name = item.key
            value = item.value
            if name is None and option is not None and option[1] == item.path:
                name = option[0]
            option = None
            if name is None and item.path and value.startswith("-"):
                flag, equals, rest = value.lstrip("-").partition("=")
                if is_secret_name(flag):
                    if not equals:
                        option = (flag, item.path[:-1] + (item.path[-1] + 1,))
                        continue
                    self._judge(doc, file, item, flag, rest, item.start + value.index("=") + 1)
                    continue
            if not self._judge(doc, file, item, name, value, item.start) and "://" in value:
                self._query_secrets(doc, file, item)

    def _judge(self, doc, file: str, item, name: str | None, value: str, offset: int) -> bool:
        verdict = judge_setting(name, value, doc.path)
        if verdict is None:
            return False
        kind, secret, confidence = verdict
        at = value.find(secret)
        start = offset + at if at >= 0 else offset
        end = start + len(secret) if at >= 0 else offset + len(value)
        if doc.text[start:end] != secret:  # escaped characters in the JSON string: mark the whole value
            start, end = item.start, item.end
        self.report_at(doc.span(start, end), confidence=confidence, snippet=f"{_where(item.path)} {redact(secret)}",
                       file=file, what=describe(kind), preview=redact(secret), where=_where(item.path))
        return True

    def _query_secrets(self, doc, file: str, item) -> None:
        try:
            query = urlsplit(item.value).query
        except ValueError:
            return
        for parameter, value in parse_qsl(query):
            if is_secret_name(parameter) and value:
                at = item.value.find(value)
                if at >= 0 and self._judge(doc, file, item, parameter, value, item.start + at):
                    return
