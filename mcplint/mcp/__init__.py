"""Understanding MCP servers: SDK tables, the per-file model and the taint engine."""
