"""mcplint: a security linter for the source code of MCP servers."""

__version__ = "0.1.0"
